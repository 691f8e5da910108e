"""gunicorn's configuration: `gunicorn -c python:alliance.gunicorn_conf alliance.wsgi:application`.

Access and error logs are JSON lines in the same format as the application's (alliance.logs), each access
line with the request id the application answered with (`X-Request-ID`), the path without its query string
(a search term may be TLP:RED intelligence) and the duration. Prometheus multiprocess mode: every worker
writes its counters to PROMETHEUS_MULTIPROC_DIR (a fresh temporary directory unless set), `/metrics` sums them.
Every number here can be set from the environment (GUNICORN_*, PORT).
"""

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from gunicorn import glogging

from alliance import logs

# Before any import of prometheus_client (workers import the application after this file is read).
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="alliance-metrics-")

bind = os.environ.get("GUNICORN_BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")
workers = int(os.environ.get("GUNICORN_WORKERS", "4"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "75"))  # longer than the proxy's idle timeout
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "0"))
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", "0"))
# The worker heartbeat files live in memory, not on the (read-only) root filesystem.
worker_tmp_dir = os.environ.get("GUNICORN_WORKER_TMP_DIR", "/dev/shm" if Path("/dev/shm").is_dir() else None)
# gunicorn sets wsgi.url_scheme from X-Forwarded-Proto only for these; the application's own check is
# TRUSTED_PROXIES (alliance.middleware.TrustedProxyMiddleware).
forwarded_allow_ips = os.environ.get("TRUSTED_PROXIES", "127.0.0.1") or "127.0.0.1"
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()


class JsonLogger(glogging.Logger):
    """gunicorn's logger with our formatter: error log lines and one structured access line per request."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        formatter = logs.make_formatter(os.environ.get("LOG_FORMAT", "json"))
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(formatter)

    def access(self, resp: Any, req: Any, environ: dict, request_time: Any) -> None:
        if not (self.cfg.accesslog or self.cfg.logconfig or self.cfg.logconfig_dict or self.cfg.syslog):
            return
        headers = dict((name.lower(), value) for name, value in (resp.headers or []))
        fields = {
            "request_id": headers.get("x-request-id"),
            "method": environ.get("REQUEST_METHOD"),
            "path": environ.get("PATH_INFO"),
            "status": resp.status_code,
            "bytes": getattr(resp, "sent", None),
            "duration_ms": round(request_time.total_seconds() * 1000, 1),
            "remote_addr": environ.get("REMOTE_ADDR"),
            "forwarded_for": environ.get("HTTP_X_FORWARDED_FOR"),
            "user_agent": environ.get("HTTP_USER_AGENT"),
        }
        try:
            self.access_log.info("http_access", extra={k: v for k, v in fields.items() if v is not None})
        except Exception:  # noqa: BLE001 - a log line must never fail a request
            self.error("Failed to log the access line")


logger_class = JsonLogger


def on_starting(server: Any) -> None:
    """A fresh metrics directory at each start: counters of a previous run are not this run's."""
    directory = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    if directory.exists():
        for child in directory.iterdir():
            if child.is_file():
                child.unlink()
            else:
                shutil.rmtree(child, ignore_errors=True)
    directory.mkdir(parents=True, exist_ok=True)


def child_exit(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
