"""The Celery app: `celery -A alliance worker` and `celery -A alliance beat` run every task.

Operations (SPEC section 9): the worker and beat log JSON lines through Django's LOGGING (each line of a
task carries its `task_id`, bound by django-structlog), the worker beats a heartbeat (alliance.heartbeat)
from its event loop, counts its tasks for Prometheus and serves them on `METRICS_WORKER_PORT`, and beat
beats from its scheduler's tick.
"""

import logging.config
import os
import socket
import time
from typing import Any

from celery import Celery, bootsteps, signals
from celery.beat import PersistentScheduler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alliance.settings.local")

app = Celery("alliance")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

logger = logging.getLogger(__name__)


@app.task(name="alliance.ping")
def ping() -> str:
    """Answered by a live worker (a manual check: `celery -A alliance call alliance.ping`)."""
    return "pong"


@signals.setup_logging.connect
def _logging_from_django(**kwargs: Any) -> None:
    """Celery keeps its hands off the root logger: Django's LOGGING (JSON lines) applies to worker and beat."""
    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)
    logging.captureWarnings(True)  # a Python warning becomes a JSON line too, not raw text on stderr


class _StructlogStep(bootsteps.Step):
    """django-structlog's receivers: each task's lines carry its task_id (and the request id that queued it)."""

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        from django_structlog.celery.steps import DjangoStructLogInitStep

        self.inner = DjangoStructLogInitStep(parent, **kwargs)


class HeartbeatStep(bootsteps.StartStopStep):
    """Beats from the worker's event loop every HEARTBEAT_SECONDS; forgets itself on a clean stop."""

    requires = {"celery.worker.components:Timer"}

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        self.tref = None
        self.name = ""

    def start(self, parent: Any) -> None:
        from django.conf import settings

        from . import heartbeat

        self.name = parent.hostname or socket.gethostname()
        heartbeat.beat("worker", self.name)
        self.tref = parent.timer.call_repeatedly(
            settings.HEARTBEAT_SECONDS, heartbeat.beat, ("worker", self.name), priority=10
        )

    def stop(self, parent: Any) -> None:
        from . import heartbeat

        if self.tref is not None:
            self.tref.cancel()
            self.tref = None
        if self.name:
            heartbeat.forget("worker", self.name)


app.steps["worker"].add(_StructlogStep)
app.steps["worker"].add(HeartbeatStep)


@signals.worker_init.connect
def _serve_metrics(**kwargs: Any) -> None:
    """The worker's own /metrics (task figures of all its processes), when METRICS_WORKER_PORT is set."""
    from django.conf import settings

    port = settings.METRICS_WORKER_PORT
    if not port:
        return
    from .metrics import serve_worker_metrics

    try:
        serve_worker_metrics(port, settings.METRICS_WORKER_ADDR)
    except OSError:
        # A second worker on the same host: its tasks still count in the shared directory, served by the first.
        logger.warning("worker metrics port %s is taken; not serving metrics from this worker", port)


@signals.task_prerun.connect
def _task_started(task: Any = None, **kwargs: Any) -> None:
    if task is not None:
        task.request._alliance_started = time.perf_counter()


@signals.task_postrun.connect
def _task_finished(task: Any = None, state: str | None = None, **kwargs: Any) -> None:
    from .metrics import TASK_DURATION, TASKS

    if task is None:
        return
    started = getattr(task.request, "_alliance_started", None)
    if started is not None:
        TASK_DURATION.labels(task.name).observe(time.perf_counter() - started)
    TASKS.labels(task.name, state or "UNKNOWN").inc()


@signals.worker_process_shutdown.connect
def _process_gone(pid: int | None = None, **kwargs: Any) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid or os.getpid())


class HeartbeatScheduler(PersistentScheduler):
    """Beat's scheduler, beating at most every HEARTBEAT_SECONDS from its tick (so a stuck loop goes stale)."""

    _last_beat = 0.0

    def tick(self, *args: Any, **kwargs: Any) -> float:
        interval = super().tick(*args, **kwargs)
        now = time.monotonic()
        from django.conf import settings

        if now - self._last_beat >= settings.HEARTBEAT_SECONDS:
            from . import heartbeat

            heartbeat.beat("beat", "beat")
            self._last_beat = now
        return min(interval, settings.HEARTBEAT_SECONDS)
