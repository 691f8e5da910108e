"""/healthz with real processes: healthy with Redis and a worker; 503 naming what is down."""

import pytest
import requests

from tests.conftest import WebServer, Worker

pytestmark = pytest.mark.integration


def test_healthz_reports_database_broker_and_worker(transactional_db, redis_server, tmp_path):
    web = WebServer(redis_server.url, tmp_path / "web.log")
    worker = Worker(redis_url=redis_server.url, log=tmp_path / "worker.log")
    try:
        web.start()
        worker.start().wait_ready()
        healthy = requests.get(web.url + "/healthz", timeout=10)
        assert healthy.status_code == 200, healthy.text
        body = healthy.json()
        assert body["status"] == "ok"
        assert body["down"] == []
        assert all(check["ok"] for check in body["checks"].values())

        worker.stop()
        no_worker = requests.get(web.url + "/healthz", timeout=10)
        assert no_worker.status_code == 503
        assert no_worker.json()["down"] == ["worker"]

        redis_server.stop()
        no_broker = requests.get(web.url + "/healthz", timeout=15)
        assert no_broker.status_code == 503
        body = no_broker.json()
        assert "broker" in body["down"]
        assert body["checks"]["database"]["ok"] is True
    finally:
        worker.stop()
        web.stop()
