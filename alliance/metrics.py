"""Prometheus metrics (SPEC section 9): `GET /metrics`, open only to `METRICS_ALLOWED_IPS`.

Two kinds of figures:

- events counted where they happen (requests, latency, scans pushed and their rejection codes, relays and
  their lag, webhook attempts, Celery task runtimes and outcomes). gunicorn and Celery run several processes,
  so these use prometheus_client's multiprocess mode when `PROMETHEUS_MULTIPROC_DIR` is set (gunicorn's
  config sets it; the worker container sets it and serves its own figures on `METRICS_WORKER_PORT`).
- states read at scrape time (relay backlog and age, dead letters, queue lengths, heartbeats) from the
  collectors registered under `metrics_collectors` in `alliance.hooks.HOOKS`: a collector is a plain
  function without arguments returning an iterable of prometheus_client metric families, or of mappings
  `{"name", "help", "type": "gauge"|"counter", "samples": [({label: value}, number), ...]}`. Any app adds one
  by naming it there (federation's per-peer sync lag is meant to). A collector that fails is logged and
  reported as `alliance_metrics_collector_up{collector="..."} 0`; the others are still served.
"""

import ipaddress
import logging
import os
import time
from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings
from django.http import HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

logger = logging.getLogger(__name__)

# Every process of the image has PROMETHEUS_MULTIPROC_DIR set (a tmpfs path): a one-off command or a worker
# may be the first to get here, and prometheus_client opens its files there as the metrics below are made.
if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
LAG_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0, 3600.0)

REQUESTS = Counter(
    "alliance_http_requests", "HTTP requests answered, by view name, method and status.", ["view", "method", "status"]
)
LATENCY = Histogram(
    "alliance_http_request_duration_seconds",
    "Time to answer an HTTP request inside Django, by view name and method.",
    ["view", "method"],
    buckets=LATENCY_BUCKETS,
)
SCANS_PUSHED = Counter(
    "alliance_scans_pushed",
    "Scans pushed by scanner nodes, by result (accepted, duplicate, rejected) and rejection code.",
    ["result", "code"],
)
SCANS_RELAYED = Counter("alliance_scans_relayed", "Scans relayed to their recipients.")
RELAY_LAG = Histogram("alliance_relay_lag_seconds", "Time from a scan's acceptance to its relay.", buckets=LAG_BUCKETS)
WEBHOOK_ATTEMPTS = Counter(
    "alliance_webhook_attempts",
    "Webhook sends, by result: sent, failed (will retry), dead (a dead letter), skipped or dropped.",
    ["result"],
)
TASK_DURATION = Histogram(
    "alliance_celery_task_duration_seconds", "Celery task run time, by task.", ["task"], buckets=LATENCY_BUCKETS
)
TASKS = Counter(
    "alliance_celery_tasks", "Celery tasks run, by task and final state (SUCCESS, FAILURE, RETRY).", ["task", "state"]
)


# ---------------------------------------------------------------- recording helpers (called by the apps)


def scans_pushed(results: Iterable[Any]) -> None:
    """One count per pushed item: `results` are the ingest service's PushResults."""
    for result in results:
        if result.status == "created":
            SCANS_PUSHED.labels("accepted", "").inc()
        elif result.status == "duplicate":
            SCANS_PUSHED.labels("duplicate", "").inc()
        else:
            SCANS_PUSHED.labels("rejected", result.code or "invalid").inc()


def scan_push_refused(code: str) -> None:
    """A push refused as a whole (a malformed envelope): one rejected push."""
    SCANS_PUSHED.labels("rejected", code).inc()


def scans_relayed(lags_seconds: Iterable[float]) -> None:
    for lag in lags_seconds:
        SCANS_RELAYED.inc()
        RELAY_LAG.observe(max(0.0, lag))


def webhook_attempt(result: str) -> None:
    WEBHOOK_ATTEMPTS.labels(result).inc()


# ---------------------------------------------------------------- requests


class RequestMetricsMiddleware:
    """Counts and times every request by the name of the view that answered (never the raw path: bounded)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        view = (match.view_name or match._func_path) if match else "unmatched"
        if view == "metrics":
            return response  # the scrape itself is not traffic
        method = request.method if request.method in _METHODS else "other"
        LATENCY.labels(view, method).observe(time.perf_counter() - started)
        REQUESTS.labels(view, method, str(response.status_code)).inc()
        return response


_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


# ---------------------------------------------------------------- collectors read at scrape time


def gauge(name: str, documentation: str, value: float | None = None, **families: Any) -> GaugeMetricFamily:
    """A one-sample gauge (a helper for collectors)."""
    metric = GaugeMetricFamily(name, documentation, **families)
    if value is not None:
        metric.add_metric([], value)
    return metric


def queue_lengths() -> Iterable[Metric]:
    """Messages waiting in each Celery queue of the Redis broker (the consumers' backlog)."""
    import redis

    from .celery import app

    queues = sorted({q.name for q in (app.amqp.queues or {}).values()} | {app.conf.task_default_queue})
    metric = GaugeMetricFamily("alliance_queue_length", "Messages waiting in each Celery queue.", labels=["queue"])
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_connect_timeout=0.5, socket_timeout=0.5)
    try:
        for name in queues:
            metric.add_metric([name], client.llen(name))
    finally:
        client.close()
    yield metric


def heartbeats() -> Iterable[Metric]:
    """Seconds since each worker and beat last beat (`alliance.heartbeat`)."""
    from . import heartbeat

    workers = heartbeat.ages("worker")
    metric = GaugeMetricFamily(
        "alliance_worker_heartbeat_age_seconds", "Seconds since each Celery worker last beat.", labels=["worker"]
    )
    for name, age in sorted(workers.items()):
        metric.add_metric([name], age)
    yield metric
    yield gauge(
        "alliance_workers_alive",
        "Workers whose heartbeat is fresher than WORKER_HEARTBEAT_MAX_AGE.",
        sum(1 for age in workers.values() if age <= settings.WORKER_HEARTBEAT_MAX_AGE),
    )
    beats = heartbeat.ages("beat")
    if beats:
        yield gauge(
            "alliance_beat_heartbeat_age_seconds", "Seconds since beat's scheduler last ticked.", min(beats.values())
        )


def _families(collected: Iterable[Any]) -> Iterable[Metric]:
    for item in collected:
        if isinstance(item, Metric):
            yield item
            continue
        if not isinstance(item, Mapping):
            raise TypeError(f"a collector yielded {type(item).__name__}, not a metric family or a mapping")
        samples = list(item.get("samples", ()))
        labels = sorted({key for labelset, _ in samples for key in labelset})
        family_class = CounterMetricFamily if item.get("type") == "counter" else GaugeMetricFamily
        family = family_class(item["name"], item.get("help", item["name"]), labels=labels)
        for labelset, value in samples:
            family.add_metric([str(labelset.get(key, "")) for key in labels], float(value))
        yield family


class HookCollector:
    """Runs every collector of `metrics_collectors` at scrape time, each on its own."""

    def collect(self) -> Iterable[Metric]:
        from .hooks import HOOKS, hooks

        up = GaugeMetricFamily(
            "alliance_metrics_collector_up", "1 when the collector answered this scrape.", labels=["collector"]
        )
        for path, collector in zip(HOOKS["metrics_collectors"], hooks("metrics_collectors"), strict=True):
            try:
                families = list(_families(collector()))
            except Exception:  # noqa: BLE001 - one failing collector must not hide the others
                logger.warning("metrics collector %s failed", path, exc_info=True)
                up.add_metric([path], 0)
                continue
            up.add_metric([path], 1)
            yield from families
        yield up


class _Default:
    """The process's own registry (single-process mode: runserver, tests, a worker without a multiproc dir)."""

    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()


def event_registry() -> CollectorRegistry:
    """The counters and histograms: summed over every process that wrote to the multiproc directory."""
    registry = CollectorRegistry()
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry, path=directory)
    else:
        registry.register(_Default())  # type: ignore[arg-type]
    return registry


# ---------------------------------------------------------------- who may scrape


def client_address(request) -> str:
    """The caller's address: REMOTE_ADDR, or, when that is a trusted proxy, the last X-Forwarded-For hop that
    is not one (a client cannot forge its way in by sending the header itself)."""
    remote = request.META.get("REMOTE_ADDR", "")
    if not _in(remote, settings.TRUSTED_PROXIES):
        return remote
    hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
    for hop in reversed(hops):
        if not _in(hop, settings.TRUSTED_PROXIES):
            return hop
    return remote


def _in(address: str, networks: Iterable[str]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    for network in networks:
        try:
            if ip in ipaddress.ip_network(network, strict=False):
                return True
        except ValueError:
            continue
    return False


def metrics_view(request):
    """`GET /metrics` in the Prometheus text format; 403 to any address not in METRICS_ALLOWED_IPS."""
    if not _in(client_address(request), settings.METRICS_ALLOWED_IPS):
        return HttpResponse("Forbidden.\n", status=403, content_type="text/plain; charset=utf-8")
    registry = event_registry()
    registry.register(HookCollector())  # type: ignore[arg-type]
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)


# ---------------------------------------------------------------- the worker's own endpoint


def serve_worker_metrics(port: int, addr: str = "0.0.0.0") -> None:  # noqa: S104 - inside the container network
    """The worker's task figures on `port` (its processes' multiproc directory); Prometheus scrapes it."""
    from prometheus_client import start_http_server

    start_http_server(port, addr=addr, registry=event_registry())
