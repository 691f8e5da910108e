"""GET /healthz: readiness of database, broker and worker, 503 naming what is down; GET /livez: the process serves.

The answer is public, so a failure is named by a fixed phrase; the exception (hosts, ports, driver text)
goes only to the log. The worker check reads the heartbeats the workers write to Redis (alliance.heartbeat):
one HGETALL per probe, never a broadcast to every worker.
"""

import logging

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from kombu import Connection

from . import heartbeat

logger = logging.getLogger(__name__)

UNREACHABLE = "unreachable"
NO_HEARTBEAT = "no worker heartbeat"


def _down(check: str, exc: Exception) -> str:
    logger.warning("healthz: %s is down (%s)", check, exc.__class__.__name__)
    return UNREACHABLE


def _database() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # noqa: BLE001 - report any failure
        return _down("database", exc)
    return None


def _broker() -> str | None:
    # Read from settings at each request, not the Celery app's cached copy, so the probe follows the configuration.
    url = settings.CELERY_BROKER_URL
    try:
        with Connection(url, connect_timeout=1, transport_options={"socket_timeout": 1}) as conn:
            conn.ensure_connection(max_retries=1, timeout=1)
            conn.default_channel.client.ping()
    except Exception as exc:  # noqa: BLE001
        return _down("broker", exc)
    return None


def _worker() -> str | None:
    try:
        ages = heartbeat.ages("worker")
    except Exception as exc:  # noqa: BLE001
        return _down("worker", exc)
    if not any(age <= settings.WORKER_HEARTBEAT_MAX_AGE for age in ages.values()):
        return NO_HEARTBEAT
    return None


def _relay_pending() -> int | None:
    """Scans accepted but not yet relayed (the outbox backlog): a number to watch, not a failure."""
    from scans.services.relay import pending_count

    try:
        return pending_count()
    except Exception:  # noqa: BLE001 - health must answer even if this query fails
        return None


def livez(request):
    """Liveness: answers while the process serves requests; touches neither the database nor the broker."""
    return JsonResponse({"status": "ok"})


CHECKS = ("database", "broker", "worker")


def healthz(request):
    """Readiness of everything (SPEC), or of a part: `?checks=database,broker` is what the TLS proxy asks before
    sending traffic to this process, so a stopped worker alone does not take the portal offline (pages and
    pushes still work; the outbox keeps what waits for relay). Monitors ask for all three."""
    wanted = [name for name in request.GET.get("checks", "").split(",") if name in CHECKS] or list(CHECKS)
    checks: dict[str, str | None] = {}
    if "database" in wanted:
        checks["database"] = _database()
    if "broker" in wanted or "worker" in wanted:
        broker = _broker()
        if "broker" in wanted:
            checks["broker"] = broker
        if "worker" in wanted:
            checks["worker"] = _worker() if broker is None else "broker unreachable"
    down = [name for name, error in checks.items() if error]
    body = {
        "status": "ok" if not down else "down",
        "down": down,
        "checks": {name: {"ok": error is None, "error": error} for name, error in checks.items()},
        "relay_pending": _relay_pending() if checks.get("database", "skipped") is None else None,
    }
    return JsonResponse(body, status=503 if down else 200)
