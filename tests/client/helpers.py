"""What the scanner client tests share: the command run as a real process, scan documents, and a TCP
proxy that loses answers the way a field link does (the portal behind it is the real one)."""

import json
import os
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from stdnum import iso6346

from ports.services import node_register
from scans.models import NodeCounter


def cli(home: Path, url: str, *args: str, input: str | None = None, timeout: float = 120, env: dict | None = None):
    """`alliance-scanner ARGS` as an operator runs it: settings and the token file from the environment."""
    environment = {
        **os.environ,
        "ALLIANCE_SCANNER_HOME": str(home),
        "ALLIANCE_SCANNER_URL": url,
        "ALLIANCE_SCANNER_TOKEN_FILE": str(home.parent / f"{home.name}.token"),
    }
    environment.pop("ALLIANCE_SCANNER_TOKEN", None)
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "alliance_scanner", *args],
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=environment,
    )


def start_cli(home: Path, url: str, *args: str, log: Path) -> subprocess.Popen:
    environment = {
        **os.environ,
        "ALLIANCE_SCANNER_HOME": str(home),
        "ALLIANCE_SCANNER_URL": url,
        "ALLIANCE_SCANNER_TOKEN_FILE": str(home.parent / f"{home.name}.token"),
    }
    environment.pop("ALLIANCE_SCANNER_TOKEN", None)
    return subprocess.Popen(
        [sys.executable, "-m", "alliance_scanner", *args],
        stdout=open(log, "ab"),  # noqa: SIM115 - the child owns it
        stderr=subprocess.STDOUT,
        env=environment,
    )


class ClientNode:
    """A node set up as a vendor would: `keygen` on the node, the agency registers the public key, the
    token goes into a 0600 file next to the node's state directory."""

    def __init__(self, tmp_path: Path, agency, node_id: str = "beanr-xr-01", url: str = "http://127.0.0.1:9"):
        self.home = tmp_path / node_id
        self.url = url
        self.id = node_id
        keygen = cli(self.home, url, "keygen", "--json")
        assert keygen.returncode == 0, keygen.stderr
        self.x = json.loads(keygen.stdout)["x"]
        self.kid = json.loads(keygen.stdout)["kid"]
        self.node, token = node_register(node_id=node_id, agency=agency, public_key=self.x)
        self.port = self.node.port_id
        token_file = tmp_path / f"{node_id}.token"
        token_file.write_text(token + "\n")
        token_file.chmod(0o600)
        self.token = token
        self._n = 0

    def run(self, *args: str, **kwargs):
        return cli(self.home, self.url, *args, **kwargs)

    def document(self, **overrides) -> dict:
        self._n += 1
        stem = f"MSCU{self._n:06d}"
        doc = {
            "scan_id": f"{self.id}-{self._n:06d}",
            "node": self.id,
            "port": self.port,
            "scanned_at": (datetime.now(UTC) - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "container": stem + iso6346.calc_check_digit(stem),
            "origin": "ECGYE",
            "mode": "import",
            "verdict": "clear",
            "score": 0.125,
        }
        doc.update(overrides)
        return doc

    def counters(self) -> dict:
        counter = NodeCounter.objects.filter(node=self.node).first()
        return {"duplicate": counter.duplicate if counter else 0, "rejected": counter.rejected if counter else 0}

    def status(self) -> dict:
        result = self.run("status", "--json")
        return json.loads(result.stdout)


def wait_for(predicate, timeout: float = 90, interval: float = 0.3, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")


class LossyProxy:
    """Forwards HTTP requests to the portal one connection at a time. For a request whose path starts with
        a prefix given to `drop`, the portal gets the request and answers, but the node's connection is closed
        without a byte of the answer (the outcome is unknown to the node). For `hold`, the request is read and
        never forwarded (the node waits until it is killed or times out); for `cut`, it is read and the
    connection closed without forwarding it."""

    def __init__(self, upstream_port: int):
        self.upstream_port = upstream_port
        self.server = socket.socket()
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(16)
        self.port = self.server.getsockname()[1]
        self.rules: list[list] = []
        self.max_body: int | None = None  # larger requests get a 413, as from a reverse proxy's body limit
        self.too_large = 0
        self.retry_after = 2
        self.seen: list[str] = []
        self.dropped: list[str] = []
        self.held = threading.Event()
        self._closing = threading.Event()
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def drop(self, prefix: str, times: int = 1) -> None:
        with self._lock:
            self.rules.append([prefix, "drop", times])

    def throttle(self, prefix: str, times: int = 1) -> None:
        """Answer 429 with Retry-After, as the portal's node throttle does."""
        with self._lock:
            self.rules.append([prefix, "throttle", times])

    def cut(self, prefix: str, times: int = 1) -> None:
        with self._lock:
            self.rules.append([prefix, "cut", times])

    def hold(self, prefix: str) -> None:
        with self._lock:
            self.rules.append([prefix, "hold", 1])

    def close(self) -> None:
        self._closing.set()
        self.server.close()

    def _action(self, path: str) -> str:
        with self._lock:
            self.seen.append(path)
            for rule in self.rules:
                if path.startswith(rule[0]) and rule[2] > 0:
                    rule[2] -= 1
                    return rule[1]
        return "forward"

    def _accept(self) -> None:
        while not self._closing.is_set():
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(client,), daemon=True).start()

    def _handle(self, client: socket.socket) -> None:
        with client:
            buf = b""
            while b"\r\n\r\n" not in buf:
                data = client.recv(65536)
                if not data:
                    return
                buf += data
            head, _, body = buf.partition(b"\r\n\r\n")
            lines = head.split(b"\r\n")
            path = lines[0].split(b" ")[1].decode()
            length = 0
            for line in lines[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value.strip())
            while len(body) < length:
                data = client.recv(65536)
                if not data:
                    return
                body += data
            if self.max_body is not None and length > self.max_body:
                self.too_large += 1
                client.sendall(
                    b"HTTP/1.1 413 Request Entity Too Large\r\nContent-Type: text/html\r\nContent-Length: 20\r\n"
                    b"Connection: close\r\n\r\n<h1>Too large</h1>\r\n"
                )
                return
            action = self._action(path)
            if action == "throttle":
                body = b'{"code": "throttled", "errors": {}}'
                client.sendall(
                    b"HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\nRetry-After: "
                    + str(self.retry_after).encode()
                    + b"\r\nContent-Length: "
                    + str(len(body)).encode()
                    + b"\r\nConnection: close\r\n\r\n"
                    + body
                )
                return
            if action == "cut":
                self.dropped.append(path)
                return  # the link dies before the portal hears of the request
            if action == "hold":
                self.held.set()
                self._closing.wait()
                return
            # One request per upstream connection: the answer ends when the portal closes it.
            kept = [line for line in lines if not line.lower().startswith((b"connection:", b"keep-alive:"))]
            request = b"\r\n".join([*kept, b"Connection: close"]) + b"\r\n\r\n" + body
            with socket.create_connection(("127.0.0.1", self.upstream_port), timeout=60) as upstream:
                upstream.sendall(request)
                response = b""
                while True:
                    data = upstream.recv(65536)
                    if not data:
                        break
                    response += data
            if action == "drop":
                self.dropped.append(path)
                return  # the portal has done the work; the node hears nothing
            client.sendall(response)
