"""Scanner ingestion, side by side in one run (ratios, not absolute times).

Against gunicorn on loopback with the database of DATABASE_URL (PostgreSQL under
`make bench`): batched signed ingest, single signed pushes, and a plain DRF
ModelViewSet create of the same fields without signatures; plus the in-process
Ed25519 verification ceiling and a profile of where a batch's CPU goes.
"""

import cProfile
import io
import os
import pstats
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"

import django  # noqa: E402

django.setup()

import requests  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402

from ports import signing  # noqa: E402
from ports.keys import public_x, thumbprint  # noqa: E402
from ports.models import Agency, AgencyKind, Port, ScannerNode, SigningKey  # noqa: E402
from ports.services import agency_ensure, node_register, reference_ports_load  # noqa: E402
from scans.models import Scan  # noqa: E402
from tests.scans.helpers import iso6346, now_z  # noqa: E402

BATCHES = int(os.environ.get("BENCH_BATCHES", 12))
SINGLES = int(os.environ.get("BENCH_SINGLES", 1000))
THREADS = int(os.environ.get("BENCH_THREADS", 4))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class BenchNode:
    def __init__(self, node_id: str, agency: Agency):
        self.private = Ed25519PrivateKey.generate()
        self.x = public_x(self.private.public_key())
        self.kid = thumbprint(self.x)
        self.id = node_id
        node, self.token = node_register(node_id=node_id, agency=agency, public_key=self.x)
        self.port = node.port_id
        self.n = 0

    def document(self) -> dict:
        self.n += 1
        return {
            "scan_id": f"{self.id}-{self.n:08d}",
            "node": self.id,
            "port": self.port,
            "scanned_at": now_z(),
            "container": iso6346(f"MSCU{self.n % 10**6:06d}"),
            "origin": "ECGYE",
            "mode": "import",
            "verdict": "clear",
            "next_port": "DEHAM",
            "score": 0.12,
        }

    def signed(self, count: int) -> list[str]:
        return [
            signing.sign_with_private_key(self.document(), self.private, self.kid, "scan+json") for _ in range(count)
        ]


def start_gunicorn(port: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "alliance.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--threads",
            "2",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings"},
    )
    for _ in range(100):
        try:
            requests.get(f"http://127.0.0.1:{port}/login/", timeout=5)
            return proc
        except requests.RequestException:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("gunicorn did not start")


def timed(label: str, count: int, fn) -> float:
    start = time.perf_counter()
    fn()
    elapsed = time.perf_counter() - start
    rate = count / elapsed
    print(f"{label:<44} {count:>7} in {elapsed:6.2f} s = {rate:8.0f}/s")
    return rate


def main() -> None:
    reference_ports_load()
    customs = agency_ensure(kind=AgencyKind.CUSTOMS, port=Port.objects.get(locode="BEANR"), name="Antwerp customs")
    run = int(time.time())
    batch_node = BenchNode(f"bench-batch-{run}", customs)
    single_node = BenchNode(f"bench-single-{run}", customs)
    if not ScannerNode.objects.filter(id="bench-baseline").exists():
        BenchNode("bench-baseline", customs)

    # The verification ceiling on one core, in process.
    jws = batch_node.signed(2000)
    key = SigningKey.objects.get(kid=batch_node.kid)
    parsed = [signing.parse(j, "scan+json") for j in jws]
    verify_rate = timed("Ed25519 verify only (1 core)", len(parsed), lambda: [signing.verify(p, key) for p in parsed])
    parse_rate = timed(
        "parse + canonical check + verify (1 core)",
        len(jws),
        lambda: [signing.verify(signing.parse(j, "scan+json"), key) for j in jws],
    )

    port = free_port()
    server = start_gunicorn(port)
    url = f"http://127.0.0.1:{port}"
    try:
        batches = [batch_node.signed(500) for _ in range(BATCHES)]
        singles = single_node.signed(SINGLES)
        baseline_docs = [single_node.document() for _ in range(SINGLES)]

        def post_batches():
            def one(items):
                r = requests.post(
                    url + "/api/v1/scans/batch/",
                    json={"items": items},
                    headers={"Authorization": f"Token {batch_node.token}"},
                    timeout=120,
                )
                assert r.status_code == 200, r.text
                assert all(x["status"] == "created" for x in r.json()["results"]), r.text

            with ThreadPoolExecutor(2) as pool:
                list(pool.map(one, batches))

        def post_singles(items, path, token):
            sessions = threading.local()

            def one(item):
                s = getattr(sessions, "s", None) or setattr(sessions, "s", requests.Session()) or sessions.s
                headers = {"Authorization": f"Token {token}"} if token else {}
                body = {"jws": item} if token else item
                r = s.post(url + path, json=body, headers=headers, timeout=30)
                assert r.status_code == 201, r.text

            with ThreadPoolExecutor(THREADS) as pool:
                list(pool.map(one, items))

        print()
        batch_rate = timed("batched signed ingest (500/batch, HTTP)", BATCHES * 500, post_batches)
        single_rate = timed(
            "single signed pushes (HTTP)", SINGLES, lambda: post_singles(singles, "/api/v1/scans/", single_node.token)
        )
        base_rate = timed(
            "baseline DRF ModelViewSet create (HTTP)",
            SINGLES,
            lambda: post_singles(baseline_docs, "/bench/baseline/", None),
        )
    finally:
        server.terminate()
        server.wait(timeout=20)

    print()
    print(f"batched / verify ceiling      = {batch_rate / verify_rate:5.2f}")
    print(f"batched / single              = {batch_rate / single_rate:5.2f}")
    print(f"single / baseline create      = {single_rate / base_rate:5.2f}")
    print(f"verify ceiling (1 core)       = {verify_rate:.0f}/s; with parsing {parse_rate:.0f}/s")

    # Where a batch's CPU goes (in process, one batch of 500).
    from scans.services.scans import scan_ingest_batch

    node = ScannerNode.objects.get(id=batch_node.id)
    items = batch_node.signed(500)
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.enable()
    scan_ingest_batch(node=node, items=items)
    profiler.disable()
    elapsed = time.perf_counter() - start
    print(f"\nin-process batch of 500: {elapsed * 1000:.0f} ms = {elapsed / 500 * 1e6:.0f} us CPU+DB per scan")
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(18)
    print("\n".join(line for line in out.getvalue().splitlines() if line.strip())[:4000])
    print(f"\nscans stored: {Scan.objects.count()}")


if __name__ == "__main__":
    main()
