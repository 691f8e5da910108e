"""GET /metrics (SPEC section 9): Prometheus text, open only to METRICS_ALLOWED_IPS, X-Forwarded-For believed
only from the proxy; requests, pushes by code, relay backlog and lag, webhooks, queues, tasks; collectors
registered in alliance.hooks."""

import time

import pytest
import requests
from django.test import override_settings
from prometheus_client.parser import text_string_to_metric_families

from alliance import hooks
from tests.conftest import WebServer, Worker
from tests.scans.helpers import Node


def families(text: str) -> dict:
    return {f.name: f for f in text_string_to_metric_families(text)}


def value(fams: dict, name: str, sample: str | None = None, **labels) -> float:
    """The sum of the samples of `name` (or of its `sample` series) whose labels include `labels`."""
    family = fams[name]
    wanted = sample or family.name
    return sum(
        s.value for s in family.samples if s.name == wanted and all(s.labels.get(k) == v for k, v in labels.items())
    )


def scrape(client, **extra) -> dict:
    response = client.get("/metrics", **extra)
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"].startswith("text/plain; version=")
    return families(response.content.decode())


# ---------------------------------------------------------------- who may scrape


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("remote", "forwarded", "trusted", "allowed"),
    [
        ("127.0.0.1", None, [], True),  # the default: the host itself
        ("10.1.2.3", None, [], False),  # anyone else
        ("10.1.2.3", "127.0.0.1", [], False),  # claims to be the host, through no trusted proxy
        ("10.0.0.2", "127.0.0.1", ["10.0.0.2"], True),  # the proxy says so: believed
        ("10.0.0.2", "127.0.0.1, 198.51.100.7", ["10.0.0.2"], False),  # a client's forged first hop is ignored
        ("10.0.0.2", None, ["10.0.0.2"], False),  # the proxy itself is not a scraper
    ],
)
def test_metrics_only_for_allowed_addresses(client, remote, forwarded, trusted, allowed):
    extra = {"REMOTE_ADDR": remote}
    if forwarded:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    with override_settings(TRUSTED_PROXIES=trusted, METRICS_ALLOWED_IPS=["127.0.0.1", "::1"]):
        response = client.get("/metrics", **extra)
    assert response.status_code == (200 if allowed else 403)
    if not allowed:
        assert b"alliance_" not in response.content


@pytest.mark.django_db
def test_networks_are_allowed_by_prefix(client):
    with override_settings(METRICS_ALLOWED_IPS=["172.30.0.0/24"]):
        assert client.get("/metrics", REMOTE_ADDR="172.30.0.9").status_code == 200
        assert client.get("/metrics", REMOTE_ADDR="172.30.1.9").status_code == 403


# ---------------------------------------------------------------- what is exported


def test_pushes_by_result_and_code_requests_by_view_and_relay_backlog(antwerp_node, client):
    before = scrape(client)
    assert antwerp_node.push().status_code == 201
    document = antwerp_node.document()
    assert antwerp_node.push(document).status_code == 201
    assert antwerp_node.push(document).status_code == 200  # a duplicate
    changed = dict(document, verdict="positive", seized_kg=12.5)
    assert antwerp_node.push(changed).status_code == 409  # same scan_id, another payload
    assert antwerp_node.batch(["not-a-jws"]).status_code in (200, 207, 400)
    after = scrape(client)

    def delta(**labels) -> float:
        return value(after, "alliance_scans_pushed", "alliance_scans_pushed_total", **labels) - value(
            before, "alliance_scans_pushed", "alliance_scans_pushed_total", **labels
        )

    assert delta(result="accepted") == 2
    assert delta(result="duplicate") == 1
    assert delta(result="rejected", code="conflict") == 1
    assert delta(result="rejected") == 2  # the conflict and the malformed item
    # Requests by view name (never the raw path) and status, with a latency histogram.
    assert value(after, "alliance_http_requests", "alliance_http_requests_total", status="201") >= 2
    views = {s.labels["view"] for s in after["alliance_http_requests"].samples}
    assert not any(view.startswith("/") for view in views)
    assert value(after, "alliance_http_request_duration_seconds", "alliance_http_request_duration_seconds_count") > 0
    # The two accepted scans wait in the outbox (no worker in this test).
    assert value(after, "alliance_relay_backlog") == 2
    assert value(after, "alliance_relay_oldest_pending_seconds") >= 0
    assert value(after, "alliance_webhook_dead_letters") == 0
    assert {s.labels["collector"] for s in after["alliance_metrics_collector_up"].samples} == set(
        hooks.HOOKS["metrics_collectors"]
    )


def example_figures():
    """A collector as another app would write it: a plain function returning plain mappings."""
    return [
        {
            "name": "alliance_example_lag_seconds",
            "help": "Seconds behind each peer.",
            "type": "gauge",
            "samples": [({"peer": "rotterdam"}, 12.5), ({"peer": "hamburg"}, 3)],
        }
    ]


def broken_collector():
    raise RuntimeError("peer table missing")


@pytest.mark.django_db
def test_registered_collectors_are_served_and_a_failing_one_does_not_hide_the_others(client, monkeypatch):
    monkeypatch.setitem(
        hooks.HOOKS,
        "metrics_collectors",
        (
            *hooks.HOOKS["metrics_collectors"],
            "tests.ops.test_metrics.example_figures",
            "tests.ops.test_metrics.broken_collector",
        ),
    )
    hooks.hooks.cache_clear()
    try:
        fams = scrape(client)
    finally:
        monkeypatch.undo()
        hooks.hooks.cache_clear()
    assert value(fams, "alliance_example_lag_seconds", peer="rotterdam") == 12.5
    assert value(fams, "alliance_example_lag_seconds", peer="hamburg") == 3
    up = {s.labels["collector"]: s.value for s in fams["alliance_metrics_collector_up"].samples}
    assert up["tests.ops.test_metrics.broken_collector"] == 0
    assert up["tests.ops.test_metrics.example_figures"] == 1
    assert up["scans.metrics.relay_backlog"] == 1
    assert "alliance_relay_backlog" in fams


@pytest.mark.django_db
def test_queue_length_and_heartbeats_are_read_from_redis(client):
    from alliance.celery import app

    with app.connection_for_write() as conn:
        conn.default_channel.client.delete("celery")
    fams = scrape(client)
    assert value(fams, "alliance_queue_length", queue="celery") == 0
    assert "alliance_workers_alive" in fams


# ---------------------------------------------------------------- with gunicorn and a worker, as deployed


@pytest.mark.integration
def test_gunicorn_workers_and_celery_tasks_are_summed_across_processes(transactional_db, redis_server, tmp_path, cast):
    from ports.models import Agency

    node = Node("beanr-xr-77", Agency.objects.get(slug="beanr-customs"))
    worker_port = _free_port()
    web = WebServer(
        redis_server.url,
        tmp_path / "web.log",
        extra_env={"PROMETHEUS_MULTIPROC_DIR": tmp_path / "prom-web", "GUNICORN_WORKERS": 2},
    )
    worker = Worker(
        redis_url=redis_server.url,
        log=tmp_path / "worker.log",
        extra_env={
            "PROMETHEUS_MULTIPROC_DIR": tmp_path / "prom-worker",
            "METRICS_WORKER_PORT": worker_port,
        },
    )
    (tmp_path / "prom-worker").mkdir()
    try:
        web.start()
        worker.start().wait_ready()
        session = requests.Session()
        session.headers["Authorization"] = f"Token {node.token}"
        for _ in range(6):  # spread over both gunicorn workers
            jws = node.sign(node.document(verdict="clear"))
            assert session.post(web.url + "/api/v1/scans/", json={"jws": jws}, timeout=10).status_code == 201

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            fams = families(requests.get(web.url + "/metrics", timeout=10).text)
            if value(fams, "alliance_relay_backlog") == 0:
                break
            time.sleep(0.5)
        assert value(fams, "alliance_scans_pushed", "alliance_scans_pushed_total", result="accepted") == 6
        assert value(fams, "alliance_http_requests", "alliance_http_requests_total", status="201") == 6
        assert value(fams, "alliance_relay_backlog") == 0
        assert value(fams, "alliance_workers_alive") == 1

        tasks = families(requests.get(f"http://127.0.0.1:{worker_port}/metrics", timeout=10).text)
        assert value(tasks, "alliance_relay_lag_seconds", "alliance_relay_lag_seconds_count") == 6
        assert value(tasks, "alliance_scans_relayed", "alliance_scans_relayed_total") == 6
        ran = value(tasks, "alliance_celery_tasks", "alliance_celery_tasks_total", state="SUCCESS")
        assert ran >= 1
        assert (
            value(tasks, "alliance_celery_task_duration_seconds", "alliance_celery_task_duration_seconds_count") >= ran
        )
    finally:
        worker.stop()
        web.stop()


def _free_port() -> int:
    from tests.conftest import _free_port as free

    return free()


def test_a_process_may_be_the_first_to_use_the_multiprocess_directory(tmp_path):
    """The image sets PROMETHEUS_MULTIPROC_DIR for every process (migrate, beat, a manage.py command)."""
    import subprocess
    import sys

    from tests.conftest import ROOT, _env

    directory = tmp_path / "not-yet" / "metrics"
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=_env(PROMETHEUS_MULTIPROC_DIR=directory),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert directory.is_dir()
