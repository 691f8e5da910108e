"""The scanner client and the simulator push real signed traffic over HTTP (a real gunicorn)."""

import pytest

from demo.seed import seed
from scans.models import Scan
from tests.conftest import WebServer

pytestmark = [pytest.mark.integration]


def test_simulator_pushes_signed_scans_over_http(transactional_db, settings, tmp_path, redis_server):
    settings.VAR_DIR = tmp_path
    seed(password="simulator-test-password")
    before = Scan.objects.count()  # the demo content holds a few scans of its own
    web = WebServer(redis_server.url, tmp_path / "web.log", extra_env={"ALLIANCE_VAR_DIR": str(tmp_path)})
    try:
        web.start()
        from demo.simulator import run

        stats = run(url=web.url, rate=40, duration=3, displacement=True, start_after=0, seed=7, only=None)
    finally:
        web.stop()
    assert stats["errors"] == 0
    assert stats["rejected"] == 0
    assert stats["created"] > 20
    assert stats["created"] == Scan.objects.count() - before
    scan = Scan.objects.order_by("?").first()
    from scans.documents import signature_status

    assert signature_status(scan) == "verified"
    assert set(Scan.objects.values_list("verdict", flat=True)) <= {"clear", "inconclusive", "suspect", "positive"}
