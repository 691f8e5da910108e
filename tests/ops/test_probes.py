"""Probes (SPEC section 9): /healthz reads worker heartbeats (no broadcast per probe), a killed worker goes
stale, worker and beat answer their own container health checks (python -m alliance.heartbeat)."""

import os
import signal
import subprocess
import sys
import time

import pytest
import requests

from tests.conftest import _STARTED, ROOT, WebServer, Worker, _database_url, _env

pytestmark = pytest.mark.integration


def _check(kind: str, heartbeat_dir, max_age: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "alliance.heartbeat", kind, "--max-age", str(max_age)],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], "HEARTBEAT_DIR": str(heartbeat_dir)},  # no Django, no Redis needed
        capture_output=True,
        text=True,
        timeout=30,
    )


def _until(predicate, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    pytest.fail("condition not met in time")


def test_worker_heartbeat_drives_healthz_and_the_container_check(transactional_db, redis_server, tmp_path):
    beats = tmp_path / "hb"
    web = WebServer(redis_server.url, tmp_path / "web.log", extra_env={"WORKER_HEARTBEAT_MAX_AGE": 3})
    worker = Worker(
        redis_url=redis_server.url,
        log=tmp_path / "worker.log",
        extra_env={"HEARTBEAT_DIR": beats, "HEARTBEAT_SECONDS": 0.5},
    )
    try:
        web.start()
        assert _check("worker", beats).returncode == 1  # nothing yet
        down = requests.get(web.url + "/healthz", timeout=10)
        assert down.status_code == 503
        assert down.json()["checks"]["worker"]["error"] == "no worker heartbeat"

        worker.start().wait_ready()
        _until(lambda: _check("worker", beats, max_age=2).returncode == 0)
        healthy = requests.get(web.url + "/healthz", timeout=10)
        assert healthy.status_code == 200, healthy.text

        # Killed, not stopped: no goodbye; the heartbeat goes stale and readiness follows.
        worker.kill(signal.SIGKILL)
        _until(lambda: requests.get(web.url + "/healthz", timeout=10).status_code == 503, timeout=20)
        assert requests.get(web.url + "/healthz", timeout=10).json()["down"] == ["worker"]
        time.sleep(2.5)
        stale = _check("worker", beats, max_age=2)
        assert stale.returncode == 1
        assert "last heartbeat" in stale.stdout
        # Liveness does not depend on the worker.
        assert requests.get(web.url + "/livez", timeout=10).status_code == 200
    finally:
        worker.stop()
        web.stop()


def test_beat_beats_from_its_scheduler(transactional_db, redis_server, tmp_path):
    beats = tmp_path / "hb"
    log = open(tmp_path / "beat.log", "ab")  # noqa: SIM115
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "--quiet",
            "-A",
            "alliance",
            "beat",
            "--schedule",
            str(tmp_path / "schedule"),
        ],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env=_env(
            DATABASE_URL=_database_url(),
            REDIS_URL=redis_server.url,
            CELERY_BROKER_URL=redis_server.url,
            DJANGO_SETTINGS_MODULE="alliance.settings.test",
            HEARTBEAT_DIR=beats,
            HEARTBEAT_SECONDS=0.5,
        ),
    )
    _STARTED.append(proc)
    try:
        _until(lambda: _check("beat", beats, max_age=5).returncode == 0)
        os.killpg(proc.pid, signal.SIGSTOP)  # a hung scheduler: the process lives, its loop does not turn
        time.sleep(2.5)
        assert _check("beat", beats, max_age=2).returncode == 1
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=20)
        log.close()


@pytest.mark.django_db
def test_the_proxy_readiness_leaves_the_worker_out(client):
    """`?checks=database,broker` (the proxy's) stays 200 with no worker; the full /healthz names the worker."""
    from alliance import heartbeat

    heartbeat._redis().delete(heartbeat.HASH.format(kind="worker"))  # no worker has ever beaten here
    full = client.get("/healthz")
    assert full.status_code == 503
    assert full.json()["down"] == ["worker"]
    proxy = client.get("/healthz?checks=database,broker")
    assert proxy.status_code == 200
    assert set(proxy.json()["checks"]) == {"database", "broker"}
    # Unknown names are ignored: the full check, never an error echoing the input.
    assert client.get("/healthz?checks=<script>").json()["checks"].keys() == {"database", "broker", "worker"}
