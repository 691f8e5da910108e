"""Logs are JSON lines (SPEC section 9): a real gunicorn request and a real Celery task, read back from their
log files line by line, each line parsed as JSON with time, level, logger and the request or task id."""

import io
import json
import time
import uuid
from pathlib import Path

import pytest
import requests
from celery import Celery
from django.core.management import call_command

from ports import audit
from tests.conftest import WebServer, Worker

pytestmark = pytest.mark.integration


def _lines(path: Path) -> list[dict]:
    """Every line of the file parsed as JSON: a line that is not JSON fails the test."""
    out = []
    for raw in path.read_text().splitlines():
        if not raw.strip():
            continue
        try:
            line = json.loads(raw)
        except ValueError:
            pytest.fail(f"a log line is not JSON: {raw[:300]!r}")
        assert {"time", "level", "logger", "message"} <= set(line), raw
        out.append(line)
    return out


def _wait_for(predicate, path: Path, timeout: float = 30) -> list[dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = _lines(path) if path.exists() else []
        if predicate(lines):
            return lines
        time.sleep(0.2)
    pytest.fail(f"the expected log lines did not appear in {path.name}")


def test_gunicorn_access_and_application_lines_share_the_request_id(transactional_db, redis_server, tmp_path):
    log = tmp_path / "web.log"
    web = WebServer(redis_server.url, log, extra_env={"PROMETHEUS_MULTIPROC_DIR": tmp_path / "prom"})
    try:
        web.start()
        secret = "TLPREDTERM" + uuid.uuid4().hex[:6]
        response = requests.get(f"{web.url}/api/v1/alerts/?q={secret}", timeout=10)
        assert response.status_code in (401, 403)
        request_id = response.headers["X-Request-ID"]
        uuid.UUID(request_id)  # one fresh id per request, never taken from the caller

        # Our request's own access line: the start-up probes' lines may be written first.
        lines = _wait_for(
            lambda ls: any(
                line.get("message") == "http_access" and line.get("request_id") == request_id for line in ls
            ),
            log,
        )
        ours = [line for line in lines if line.get("request_id") == request_id]
        access = [line for line in ours if line["message"] == "http_access"]
        assert len(access) == 1
        assert access[0]["logger"] == "gunicorn.access"
        assert access[0]["level"] == "INFO"
        assert access[0]["status"] == response.status_code
        assert access[0]["path"] == "/api/v1/alerts/"
        assert access[0]["method"] == "GET"
        assert isinstance(access[0]["duration_ms"], float)
        # The application's own line for the refused request carries the same id.
        app_lines = [line for line in ours if line["logger"] == "django_structlog.middlewares.request"]
        assert [line["message"] for line in app_lines] == ["request_finished"]
        assert app_lines[0]["level"] == "WARNING"
        assert app_lines[0]["request"] == "GET /api/v1/alerts/"
        # A search term never reaches the log stream.
        assert secret not in log.read_text()

        # A caller cannot choose its request id.
        forged = requests.get(f"{web.url}/livez", headers={"X-Request-ID": "forged-id"}, timeout=10)
        assert forged.headers["X-Request-ID"] != "forged-id"
    finally:
        web.stop()


def test_celery_task_lines_carry_the_task_id_and_the_checkpoint_reaches_the_log(
    transactional_db, redis_server, tmp_path
):
    log = tmp_path / "worker.log"
    audit.record(
        "tester", "test.event", None, {"n": 1}, object_type="test", object_id="1"
    )  # something for the checkpoint to sign
    # This machine runs tests as root, the image as uid 10001: celery's warning about root comes before any
    # logging is configured (plain text), so it is silenced here; every other line must be JSON.
    quiet_root = {"PYTHONWARNINGS": "ignore:You're running the worker with superuser privileges"}
    worker = Worker(redis_url=redis_server.url, log=log, extra_env=quiet_root).start().wait_ready()
    client = Celery(broker=redis_server.url)
    try:
        task_id = str(uuid.uuid4())
        client.send_task("ports.audit_checkpoint", task_id=task_id)
        lines = _wait_for(
            lambda ls: any(line.get("task_id") == task_id and line["message"] == "task_succeeded" for line in ls),
            log,
        )
        ours = [line for line in lines if line.get("task_id") == task_id]
        assert {"task_started", "task_succeeded"} <= {line["message"] for line in ours}
        # The signed checkpoint was written to the log stream by that task, with its id.
        checkpoints = [line for line in ours if line["logger"] == "ports.audit"]
        assert len(checkpoints) == 1
        assert json.loads(checkpoints[0]["message"])["event"] == audit.CHECKPOINT_EVENT
        # ... and the raw log line, as an operator would copy it, is taken back by audit_verify.
        raw = next(r for r in log.read_text().splitlines() if '"ports.audit"' in r and task_id in r)
        out = io.StringIO()
        call_command("audit_verify", "--checkpoint", raw, stdout=out)
        assert "consistent with 1 given" in out.getvalue()
    finally:
        client.close()
        worker.stop()


def test_every_line_is_json_even_with_debug_on(tmp_path):
    """Django's default config prints `django.*` records as plain text when DEBUG is on (`make run`)."""
    import subprocess
    import sys

    from tests.conftest import ROOT, _env

    code = (
        "import django, logging; django.setup(); "
        "logging.getLogger('django.request').error('Service Unavailable: /healthz'); "
        "logging.getLogger('alliance.test').warning('plain')"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=_env(DJANGO_SETTINGS_MODULE="alliance.settings.local", DEBUG="true"),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 2, lines
    assert [json.loads(line)["message"] for line in lines] == ["Service Unavailable: /healthz", "plain"]
