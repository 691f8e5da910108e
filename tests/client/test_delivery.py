"""Store and forward against the real portal (gunicorn on the test database): nothing is dropped while the
portal is away, and everything is stored exactly once when it comes back, even when answers are lost."""

import json
import signal
import sqlite3

import pytest

from scans.documents import signature_status
from scans.models import Scan

from .helpers import ClientNode, LossyProxy, start_cli, wait_for

pytestmark = [pytest.mark.integration]


def _pending(node: ClientNode) -> int:
    with sqlite3.connect(node.home / "queue.sqlite3") as db:
        return db.execute("SELECT COUNT(*) FROM scans WHERE state = 'pending'").fetchone()[0]


def _failures(node: ClientNode) -> int:
    with sqlite3.connect(node.home / "queue.sqlite3") as db:
        row = db.execute("SELECT value FROM meta WHERE name = 'failures'").fetchone()
        return int(row[0]) if row and row[0] else 0


def test_scans_queue_while_the_portal_is_down_and_arrive_once_when_it_returns(agency, web, tmp_path):
    node = ClientNode(tmp_path, agency, url=web.url)  # nothing listens on web.url yet
    daemon = start_cli(
        node.home,
        web.url,
        "run",
        "--poll",
        "0.2",
        "--min-backoff",
        "0.2",
        "--max-backoff",
        "1",
        log=tmp_path / "run.log",
    )
    try:
        singles = [node.document() for _ in range(5)]
        for document in singles:
            result = node.run("push", "-", "--json", input=json.dumps(document))
            assert result.returncode == 75, result.stdout + result.stderr  # queued on disk, not delivered
            assert json.loads(result.stdout)["pending"] == 1
        many = [node.document(verdict="suspect", anomalies=["organic_density"], score=0.91) for _ in range(620)]
        (tmp_path / "scans.jsonl").write_text("\n".join(json.dumps(d) for d in many))
        result = node.run("batch", str(tmp_path / "scans.jsonl"), "--json")
        assert result.returncode == 75, result.stdout + result.stderr
        assert json.loads(result.stdout)["queued"] == 620
        # The old script gave up after six retries: this one keeps every scan through many more.
        wait_for(lambda: _failures(node) >= 8, timeout=60, what="eight failed attempts")
        assert _pending(node) == 625
        status = node.status()
        assert status["portal"]["reachable"] is False
        assert status["queue"]["pending"] == 625
        assert Scan.objects.count() == 0

        web.start()  # the portal comes back on the same address
        wait_for(lambda: _pending(node) == 0, timeout=120, what="the queue to drain")
    finally:
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(30) == 0
    assert "stopped" in (tmp_path / "run.log").read_text()

    scans = Scan.objects.filter(node_id=node.id)
    assert scans.count() == 625
    sent = {d["scan_id"] for d in singles + many}
    assert set(scans.values_list("scan_id", flat=True)) == sent
    # Once: the portal saw no duplicate and refused nothing.
    assert node.counters() == {"duplicate": 0, "rejected": 0}
    sample = scans.order_by("scan_id")[:3]
    assert all(signature_status(s) == "verified" for s in sample)
    status = node.status()
    assert status["queue"] == {**status["queue"], "pending": 0, "delivered": 625, "rejected": 0}
    assert status["portal"]["counters"]["accepted"] == 625
    assert status["portal"]["key_matches"] is True


def test_a_lost_answer_is_sent_again_and_stored_once(agency, web, tmp_path):
    web.start()
    proxy = LossyProxy(web.port)
    try:
        node = ClientNode(tmp_path, agency, url=proxy.url)
        documents = [node.document() for _ in range(30)]
        (tmp_path / "scans.json").write_text(json.dumps(documents))
        proxy.drop("/api/v1/scans/batch/", times=2)  # the portal stores them; the node hears nothing, twice
        first = node.run("batch", str(tmp_path / "scans.json"), "--json")
        assert first.returncode == 75, first.stdout + first.stderr
        assert Scan.objects.filter(node_id=node.id).count() == 30  # stored, though the node does not know
        second = node.run("deliver", "--json")
        assert second.returncode == 75  # lost again
        third = node.run("deliver", "--json")
        assert third.returncode == 0, third.stdout + third.stderr
        assert json.loads(third.stdout) == {**json.loads(third.stdout), "duplicate": 30, "created": 0, "pending": 0}
        assert proxy.dropped == ["/api/v1/scans/batch/", "/api/v1/scans/batch/"]
    finally:
        proxy.close()
    assert Scan.objects.filter(node_id=node.id).count() == 30
    assert sorted(Scan.objects.filter(node_id=node.id).values_list("scan_id", flat=True)) == sorted(
        d["scan_id"] for d in documents
    )
    # The portal recognised the re-sends as the same scans (payload digests equal), not conflicts.
    assert node.counters() == {"duplicate": 60, "rejected": 0}


def test_refused_scans_are_kept_aside_with_the_reasons_and_the_rest_delivered(agency, web, tmp_path):
    web.start()
    node = ClientNode(tmp_path, agency, url=web.url)
    good = [node.document() for _ in range(3)]
    bad = node.document(container="MSCU1234567")  # wrong check digit
    (tmp_path / "scans.json").write_text(json.dumps([good[0], bad, *good[1:]]))
    result = node.run("batch", str(tmp_path / "scans.json"), "--json")
    assert result.returncode == 1, result.stdout + result.stderr
    body = json.loads(result.stdout)
    assert body["delivered"] == 3
    assert body["rejected_items"][0]["scan_id"] == bad["scan_id"]
    assert body["rejected_items"][0]["code"] == "invalid_document"
    assert "container" in body["rejected_items"][0]["errors"]
    assert Scan.objects.filter(node_id=node.id).count() == 3
    # Kept on disk, not retried by later passes, listed for the operator.
    assert node.run("deliver").returncode == 0
    rejected = json.loads(node.run("rejected", "--json").stdout)
    assert [r["scan_id"] for r in rejected] == [bad["scan_id"]]
    assert node.counters()["rejected"] == 1
    # Feeding the same file again changes nothing at the portal.
    again = node.run("batch", str(tmp_path / "scans.json"), "--json")
    assert json.loads(again.stdout)["already_known"] == 4
    assert Scan.objects.filter(node_id=node.id).count() == 3
    assert node.counters() == {"duplicate": 0, "rejected": 1}


def test_a_changed_scan_under_a_known_id_is_refused_locally(agency, web, tmp_path):
    web.start()
    node = ClientNode(tmp_path, agency, url=web.url)
    document = node.document()
    assert node.run("push", "-", input=json.dumps(document)).returncode == 0
    changed = {**document, "verdict": "positive"}
    result = node.run("push", "-", input=json.dumps(changed))
    assert result.returncode == 1
    assert "different payload" in result.stderr
    assert Scan.objects.get(node_id=node.id).verdict == "clear"
    assert node.counters() == {"duplicate": 0, "rejected": 0}


def test_a_bad_token_keeps_scans_queued(agency, web, tmp_path):
    web.start()
    node = ClientNode(tmp_path, agency, url=web.url)
    (tmp_path / f"{node.id}.token").write_text("not-the-token")
    result = node.run("push", "-", "--json", input=json.dumps(node.document()))
    assert result.returncode == 75
    assert "401" in json.loads(result.stdout)["error"]
    (tmp_path / f"{node.id}.token").write_text(node.token)
    assert node.run("deliver").returncode == 0
    assert Scan.objects.filter(node_id=node.id).count() == 1


def test_a_proxy_body_limit_splits_batches_and_throttling_is_waited_out(agency, web, tmp_path):
    web.start()
    proxy = LossyProxy(web.port)
    proxy.max_body = 60_000  # a reverse proxy in front of the portal with a small body limit
    proxy.retry_after = 3
    try:
        node = ClientNode(tmp_path, agency, url=proxy.url)
        documents = [node.document() for _ in range(400)]
        (tmp_path / "scans.jsonl").write_text("\n".join(json.dumps(d) for d in documents))
        queued = node.run("batch", "--queue-only", str(tmp_path / "scans.jsonl"))
        assert queued.returncode == 0, queued.stdout + queued.stderr
        proxy.throttle("/api/v1/scans/batch/", times=1)
        daemon = start_cli(
            node.home, proxy.url, "run", "--poll", "0.2", "--min-backoff", "0.1", "--max-backoff", "0.2",
            log=tmp_path / "run.log",
        )  # fmt: skip
        try:
            wait_for(lambda: _pending(node) == 0, timeout=120, what="the queue to drain")
        finally:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(30)
    finally:
        proxy.close()
    assert proxy.too_large >= 1  # 500 did not fit; smaller batches did
    log = (tmp_path / "run.log").read_text()
    assert "throttled (429)" in log
    # The wait after a 429 is the portal's Retry-After, not the (shorter) backoff.
    waits = [float(line.split("retrying in ")[1].rstrip("s")) for line in log.splitlines() if "throttled" in line]
    assert waits
    assert all(w >= 3 for w in waits)
    assert Scan.objects.filter(node_id=node.id).count() == 400
    assert node.counters() == {"duplicate": 0, "rejected": 0}


def test_after_first_contact_a_document_of_another_node_is_refused_when_queued(agency, web, tmp_path):
    web.start()
    node = ClientNode(tmp_path, agency, url=web.url)
    first = node.document()
    assert node.run("push", "-", input=json.dumps(first)).returncode == 0  # learns it is beanr-xr-01
    stray = node.document(node="deham-xr-01")
    result = node.run("push", "-", "--json", input=json.dumps(stray))
    assert result.returncode == 1
    assert "this node (beanr-xr-01)" in result.stderr
    assert json.loads(result.stdout)["queued"] == 0
    assert node.status()["queue"]["rejected"] == 0
    assert node.counters() == {"duplicate": 0, "rejected": 0}  # the portal never saw it
