"""The on-disk queue and the command's handling of settings, without a portal."""

import http.server
import json
import os
import stat
import subprocess
import sys
import threading

import pytest
from alliance_scanner import signing
from alliance_scanner.queue import Queue, QueueConflict

from .helpers import cli


def _payload(scan_id: str, **extra) -> tuple[str, bytes]:
    return signing.scan_payload({"scan_id": scan_id, "node": "n", **extra})


def test_enqueue_is_idempotent_and_refuses_a_changed_payload(tmp_path):
    queue = Queue(tmp_path / "q.sqlite3")
    assert queue.enqueue([_payload("a"), _payload("b")]) == {"added": 2, "known": 0}
    assert queue.enqueue([_payload("a")]) == {"added": 0, "known": 1}
    with pytest.raises(QueueConflict):
        queue.enqueue([_payload("c"), _payload("a", verdict="positive")])
    # The whole call is refused: c was not kept either.
    assert [i.scan_id for i in queue.pending(10)] == ["a", "b"]


def test_queued_scans_survive_the_process(tmp_path):
    path = tmp_path / "q.sqlite3"
    queue = Queue(path)
    queue.enqueue([_payload(f"s{i}") for i in range(5)])
    del queue  # no close: as if the process died
    again = Queue(path)
    assert [i.scan_id for i in again.pending(10)] == [f"s{i}" for i in range(5)]
    assert again.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert again.db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_only_the_portal_answer_takes_a_scan_out_of_pending(tmp_path):
    queue = Queue(tmp_path / "q.sqlite3")
    queue.enqueue([_payload("a"), _payload("b"), _payload("c")])
    items = queue.pending(10)
    for _ in range(20):  # failures never drop anything
        queue.attempted([i.seq for i in items], "connection refused")
    assert queue.counts() == {"pending": 3, "delivered": 0, "rejected": 0}
    queue.record(
        [
            (items[0].seq, {"status": "created", "id": "1"}),
            (items[1].seq, {"status": "rejected", "code": "invalid_document", "errors": {"container": ["bad"]}}),
        ]
    )
    assert queue.counts() == {"pending": 1, "delivered": 1, "rejected": 1}
    assert queue.item("a")["attempts"] == 21
    assert queue.rejected()[0]["errors"] == {"container": ["bad"]}
    assert queue.requeue(None) == 1
    assert [i.scan_id for i in queue.pending(10)] == ["b", "c"]


ENQUEUE_MANY = """
import sys
from pathlib import Path
from alliance_scanner import signing
from alliance_scanner.queue import Queue
queue = Queue(Path(sys.argv[1]))
start = int(sys.argv[2])
for i in range(start, start + 100):
    queue.enqueue([signing.scan_payload({"scan_id": f"s{i % 150}", "node": "n"})])
"""


def test_two_processes_enqueueing_the_same_scans_keep_each_once(tmp_path):
    path = tmp_path / "q.sqlite3"
    Queue(path)
    procs = [subprocess.Popen([sys.executable, "-c", ENQUEUE_MANY, str(path), str(s)]) for s in (0, 50)]
    assert [p.wait(60) for p in procs] == [0, 0]
    assert Queue(path).counts()["pending"] == 150


def test_the_token_is_never_taken_on_the_command_line(tmp_path):
    for args in (["push", "--token", "secret", "x.json"], ["status", "--token=secret"]):
        result = cli(tmp_path / "n", "http://127.0.0.1:9", *args)
        assert result.returncode == 2
        assert "never taken on the command line" in result.stderr
        assert "secret" not in result.stdout


def test_keygen_writes_a_private_key_only_the_node_reads(tmp_path):
    result = cli(tmp_path / "n", "http://127.0.0.1:9", "keygen", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["kid"] == signing.kid_of(data["x"])
    assert stat.S_IMODE(os.stat(tmp_path / "n" / "node.key").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(tmp_path / "n").st_mode) == 0o700
    again = cli(tmp_path / "n", "http://127.0.0.1:9", "keygen")
    assert again.returncode == 2
    assert "already exists" in again.stderr


def test_push_without_a_token_says_where_to_put_it_and_queues_nothing(tmp_path):
    cli(tmp_path / "n", "http://127.0.0.1:9", "keygen")
    result = cli(tmp_path / "n", "http://127.0.0.1:9", "push", "-", input='{"scan_id": "a", "node": "n"}')
    assert result.returncode == 2
    assert "ALLIANCE_SCANNER_TOKEN" in result.stderr
    assert Queue(tmp_path / "n" / "queue.sqlite3").counts()["pending"] == 0


def test_the_token_may_come_from_the_environment(tmp_path):
    cli(tmp_path / "n", "http://127.0.0.1:9", "keygen")
    result = cli(
        tmp_path / "n",
        "http://127.0.0.1:9",
        "push",
        "-",
        "--json",
        input='{"scan_id": "a", "node": "n"}',
        env={"ALLIANCE_SCANNER_TOKEN": "from-env", "ALLIANCE_SCANNER_TOKEN_FILE": str(tmp_path / "missing")},
    )
    # Port 9 refuses: the scan is queued on disk, exit 75 (try again later).
    assert result.returncode == 75, result.stderr
    assert json.loads(result.stdout)["pending"] == 1


class _Impostor(http.server.BaseHTTPRequestHandler):
    """What sits at the portal's address when something is wrong: a captive portal, a proxy error page,
    a half-deployed API. None of its answers may set a scan aside."""

    answers: list[tuple[int, str, bytes]] = []

    def do_POST(self):  # noqa: N802 - http.server's naming
        self.rfile.read(int(self.headers["Content-Length"]))
        status, content_type, body = self.answers.pop(0)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.mark.parametrize(
    "answer",
    [
        (200, "text/html", b"<html>Sign in to the hotel wifi</html>"),
        (502, "text/html", b"<html>Bad gateway</html>"),
        (200, "application/json", b'{"ok": true}'),
        (200, "application/json", b'{"results": [{"index": 0}]}'),
        (200, "application/json", b'{"results": [{"index": 0, "status": "weird"}]}'),
        (200, "application/json", b'{"results": []}'),
        (404, "text/html", b"<html>Not found</html>"),
        (503, "application/json", b'{"code": "unavailable", "errors": {}}'),
    ],
)
def test_answers_that_are_not_the_portals_leave_scans_pending(tmp_path, answer):
    from alliance_scanner import Node, Unavailable

    _Impostor.answers = [answer]
    server = http.server.HTTPServer(("127.0.0.1", 0), _Impostor)
    thread = threading.Thread(target=server.handle_request, daemon=True)
    thread.start()
    node = Node(tmp_path / "n", url=f"http://127.0.0.1:{server.server_port}", token="t", timeout=10)
    node.keys.create_active()
    node.queue.set_meta({"node": "n"})  # as after a first contact: delivery goes straight to the batch
    node.enqueue([{"scan_id": "a", "node": "n"}])
    try:
        with pytest.raises(Unavailable):
            node.deliver()
    finally:
        thread.join(10)
        server.server_close()
    assert node.queue.counts() == {"pending": 1, "delivered": 0, "rejected": 0}
    assert node.queue.item("a")["attempts"] == 1
