"""Logs as JSON lines (SPEC section 9): time, level, logger, message, and the request or task id.

One formatter for everything that logs: structlog loggers, Django's and Celery's stdlib loggers, and
gunicorn's access and error logs (`alliance/gunicorn_conf.py`). The request id is bound by
django-structlog's middleware, the task id by its Celery receivers; both live in context variables that
the formatter merges into every line written while the request or task runs.

`LOG_FORMAT=console` gives coloured lines for a human at a terminal; anything else is JSON.
"""

import logging
from typing import Any

import structlog

# What every line carries, whether it came from structlog or from a stdlib logger.
_SHARED: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True, key="time"),
]


def _uppercase_level(_logger: Any, _name: str, event: dict) -> dict:
    """`INFO`, not `info`: what log shippers and grep for `ERROR` expect."""
    if isinstance(event.get("level"), str):
        event["level"] = event["level"].upper()
    return event


def _request_as_line(_logger: Any, _name: str, event: dict) -> dict:
    """Django's own request loggers pass the request object as `extra`: log its method and path, not its
    repr (which holds the query string) nor anything else it carries."""
    request = event.get("request")
    if request is not None and not isinstance(request, str):
        event["request"] = request_line(request) if hasattr(request, "path") else type(request).__name__
    event.pop("server_time", None)
    return event


def formatter(fmt: str) -> dict:
    """The logging.config entry of the one formatter, JSON or console."""
    renderer: Any
    if fmt == "console":
        renderer = structlog.dev.ConsoleRenderer(colors=False)
        final = [structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer]
    else:
        final = [
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            _uppercase_level,
            # `message`, as most log stores name it; audit checkpoints are read back from it (ports.audit).
            structlog.processors.EventRenamer("message"),
            structlog.processors.dict_tracebacks,
            structlog.processors.JSONRenderer(sort_keys=False),
        ]
    return {
        "()": structlog.stdlib.ProcessorFormatter,
        "processors": final,
        # stdlib records (Django, Celery, gunicorn): the same fields, plus whatever `extra=` they carry.
        "foreign_pre_chain": [*_SHARED, structlog.stdlib.ExtraAdder(), _request_as_line],
    }


def make_formatter(fmt: str) -> logging.Formatter:
    """The formatter itself (for gunicorn's handlers, which logging.config does not build)."""
    config = formatter(fmt)
    factory = config.pop("()")
    return factory(**config)


def logging_config(*, level: str = "INFO", fmt: str = "json") -> dict:
    """The LOGGING setting: one handler on stdout, the formatter above, quiet third parties."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"structured": formatter(fmt)},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "structured"}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # Django's default config gives `django` a plain-text console handler when DEBUG is on: drop it,
            # its records reach the root handler (JSON) like every other.
            "django": {"handlers": [], "level": "INFO", "propagate": True},
            "axes": {"level": "WARNING"},
            # ports.audit stays at INFO whatever LOG_LEVEL says: its lines are the signed audit checkpoints' copy.
            "ports.audit": {"level": "INFO"},
            # The access log is gunicorn's; django-structlog's own request lines add only 4xx and 5xx.
            "django.server": {"level": "WARNING"},
        },
    }


def configure_structlog() -> None:
    """structlog loggers hand their event dicts to the stdlib formatter above (one output path)."""
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_SHARED,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.UnicodeDecoder(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def request_line(request: Any) -> str:
    """Method and path, never the query string: a search term may be TLP:RED intelligence."""
    return f"{request.method} {request.path}"


def current_request_id() -> str | None:
    return structlog.contextvars.get_contextvars().get("request_id")


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
