"""End to end ingest with durable commits and the relay beside it, side by side in one run (ratios).

As an operator runs the system: gunicorn with the production configuration (alliance.gunicorn_conf,
GUNICORN_WORKERS of them, default 3), a real Celery worker relaying, correlating and rolling up, Redis,
and a PostgreSQL cluster of its own with the default durability (fsync, synchronous_commit and
full_page_writes on; the suite's cluster has them off). Two clients push pre-signed scans in batches
of 500, as fast as they are answered, for BENCH_PIPELINE_SECONDS (default 60; 600 for the issue's
ten-minute run). Reported side by side:

- accepted scans/s end to end, and the relay backlog (pending outbox rows) sampled every second;
- relay latency p50/p99, push sent (and push acknowledged) -> relay committed (outbox row processed,
  deliveries and grants visible), and how long the backlog takes to drain after the pushes stop;
- the same pushes with the worker stopped (the ingest-only figure, a separate row);
- single signed pushes against a plain DRF create of the same fields (bench/baseline_urls.py);
- the Ed25519 verification ceiling, in process, before and after the load.

Every figure comes with the load average when it was taken: the machine is shared, so ratios within
one run are what to compare. BENCH_PIPELINE_DATABASE_URL names an existing database (migrated)
instead of starting a cluster.
"""

import itertools
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SECONDS = int(os.environ.get("BENCH_PIPELINE_SECONDS", 60))
INGEST_ONLY_SECONDS = int(os.environ.get("BENCH_PIPELINE_INGEST_ONLY_SECONDS", min(SECONDS, 20)))
MAX_RATE = int(os.environ.get("BENCH_PIPELINE_MAX_RATE", 2200))  # pre-signed scans per second of pushing
SINGLES = int(os.environ.get("BENCH_PIPELINE_SINGLES", 400))
WEB_WORKERS = os.environ.get("GUNICORN_WORKERS", "3")
WORKER_CONCURRENCY = os.environ.get("BENCH_PIPELINE_CONCURRENCY", "2")
CLIENTS = 2
BATCH = 500
POLL = 0.1
WINDOW = 3000  # oldest unseen scans probed per poll
DRAIN_LIMIT = 120
SETTINGS = "bench.pipeline_settings"


def load() -> str:
    return "load {:.1f}/{:.1f}/{:.1f}".format(*os.getloadavg())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


# ---------------------------------------------------------------- a durable PostgreSQL of its own


class DurableCluster:
    """initdb + pg_ctl in a temporary directory, PostgreSQL's default durability, stopped on exit."""

    def __init__(self) -> None:
        bins = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
        if not bins:
            raise RuntimeError("no PostgreSQL server binaries found")
        self.bin = bins[-1]
        self.dir = Path(tempfile.mkdtemp(prefix="alliance-pipeline-"))
        self.port = free_port()
        self.as_postgres = os.geteuid() == 0  # PostgreSQL refuses to run as root

    def _run(self, *args: str) -> None:
        cmd = [str(self.bin / args[0]), *args[1:]]
        if self.as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)

    def start(self) -> str:
        self.dir.chmod(0o755)
        (self.dir / "pg").mkdir()
        (self.dir / "sock").mkdir()
        if self.as_postgres:
            shutil.chown(self.dir / "pg", "postgres", "postgres")
            shutil.chown(self.dir / "sock", "postgres", "postgres")
        self._run(
            "initdb", "-D", str(self.dir / "pg"), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C.UTF-8"
        )
        options = (
            f"-p {self.port} -k {self.dir / 'sock'} -c listen_addresses=127.0.0.1 -c max_connections=200"
            " -c shared_buffers=256MB -c shared_preload_libraries=pg_stat_statements"
        )
        self._run(
            "pg_ctl",
            "-D",
            str(self.dir / "pg"),
            "-l",
            str(self.dir / "pg" / "server.log"),
            "-w",
            "-o",
            options,
            "start",
        )
        admin = f"postgres://postgres@127.0.0.1:{self.port}/postgres"
        subprocess.run(["psql", admin, "-qc", "CREATE DATABASE alliance"], check=True, stdout=subprocess.DEVNULL)
        url = f"postgres://postgres@127.0.0.1:{self.port}/alliance"
        subprocess.run(
            ["psql", url, "-qc", "CREATE EXTENSION pg_stat_statements"], check=True, stdout=subprocess.DEVNULL
        )
        return url

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.dir / "pg"), "-m", "fast", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


def migrate(env: dict) -> None:
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)


# ---------------------------------------------------------------- nodes and pre-signed scans

VERDICTS = ["clear"] * 90 + ["inconclusive"] * 5 + ["suspect"] * 4 + ["positive"]


class Node:
    def __init__(self, node_id: str, agency) -> None:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        from ports.keys import public_x, thumbprint
        from ports.services import node_register

        self.private = Ed25519PrivateKey.generate()
        self.kid = thumbprint(public_x(self.private.public_key()))
        self.id = node_id
        node, self.token = node_register(node_id=node_id, agency=agency, public_key=public_x(self.private.public_key()))
        self.port = node.port_id
        self.n = 0
        self.random = random.Random(node_id)

    def document(self) -> dict:
        from tests.scans.helpers import iso6346, now_z

        self.n += 1
        verdict = self.random.choice(VERDICTS)
        return {
            "scan_id": f"{self.id}-{self.n:09d}",
            "node": self.id,
            "port": self.port,
            "scanned_at": now_z(),
            "container": iso6346(f"MSCU{self.random.randrange(20_000):06d}"),
            "origin": "ECGYE",
            "mode": "import",
            "verdict": verdict,
            "next_port": "DEHAM",
            "score": 0.12,
        }

    def signed(self, count: int) -> list[str]:
        from ports import signing

        return [
            signing.sign_with_private_key(self.document(), self.private, self.kid, "scan+json") for _ in range(count)
        ]

    def write_batches(self, path: Path, scans: int) -> int:
        """Pre-signed batches, one JSON body per line (a ten-minute run does not fit in memory)."""
        batches = 0
        with path.open("wb") as out:
            for _ in range(max(1, scans // BATCH)):
                out.write(json.dumps({"items": self.signed(BATCH)}).encode() + b"\n")
                batches += 1
        return batches


# ---------------------------------------------------------------- processes


def start_web(port: int, env: dict, log: Path) -> subprocess.Popen:
    import requests

    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "python:alliance.gunicorn_conf", "alliance.wsgi:application"],
        cwd=ROOT,
        env={
            **env,
            "GUNICORN_BIND": f"127.0.0.1:{port}",
            "GUNICORN_WORKERS": WEB_WORKERS,
            "LOG_LEVEL": "warning",
        },
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    for _ in range(300):
        try:
            requests.get(f"http://127.0.0.1:{port}/login/", timeout=5)
            return proc
        except requests.RequestException:
            if proc.poll() is not None:
                break
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("gunicorn did not start")


def start_worker(env: dict, log: Path) -> subprocess.Popen:
    from celery import Celery
    from django.conf import settings

    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "alliance",
            "worker",
            "--concurrency",
            WORKER_CONCURRENCY,
            "--loglevel",
            "WARNING",
            "--without-gossip",
            "--without-mingle",
            "-n",
            f"bench-pipeline-{os.getpid()}@%h",
        ],
        cwd=ROOT,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    probe = Celery(broker=settings.CELERY_BROKER_URL)
    try:
        for _ in range(300):
            if proc.poll() is not None:
                break
            if probe.control.ping(timeout=0.5):
                return proc
            time.sleep(0.2)
    finally:
        probe.close()
    proc.kill()
    raise RuntimeError("worker did not start")


def stop(proc: subprocess.Popen | None) -> None:
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# ---------------------------------------------------------------- measuring


def verify_ceiling(node: Node, count: int = 2000) -> float:
    """Ed25519 verifications per second on one core, in process (signatures only: the ceiling)."""
    from ports import signing
    from ports.models import SigningKey

    key = SigningKey.objects.get(kid=node.kid)
    parsed = [signing.parse(j, "scan+json") for j in node.signed(count)]
    start = time.perf_counter()
    for p in parsed:
        signing.verify(p, key)
    return count / (time.perf_counter() - start)


@dataclass
class Tracker:
    """Push and relay times per scan id; a poller sees the relay commit through the pending outbox rows."""

    sent: dict = field(default_factory=dict)  # scan id -> (push sent, push acknowledged)
    seen: dict = field(default_factory=dict)  # scan id -> relay visible
    unseen: dict = field(default_factory=dict)  # scan id -> push acknowledged, relay not seen yet
    backlog: list = field(default_factory=list)  # (seconds since start, pending outbox rows, accepted so far)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)
    start: float = field(default_factory=time.monotonic)
    track: bool = True

    def pushed(self, ids: list[str], sent: float, acked: float) -> None:
        with self.lock:
            for scan_id in ids:
                self.sent[scan_id] = (sent, acked)
                if self.track:
                    self.unseen[scan_id] = acked

    def poll_once(self, cursor) -> None:
        """Which of the oldest unseen scans have their outbox row processed (committed) now.

        The relay claims the oldest rows first, so a window of the oldest unseen ids is enough; asking by
        primary key keeps the probe cheap however long the backlog grows (listing the pending rows ten
        times a second was the run's most expensive statement)."""
        asked = time.monotonic()
        with self.lock:
            # Only pushes acknowledged before the query began: their rows were committed by then.
            window = [k for k, acked in itertools.islice(self.unseen.items(), WINDOW) if acked < asked]
        if not window:
            return
        cursor.execute(
            "SELECT scan_id::text FROM sharing_scanoutbox WHERE scan_id = ANY(%s::uuid[]) AND processed_at IS NOT NULL",
            [window],
        )
        now = time.monotonic()
        with self.lock:
            for (scan_id,) in cursor.fetchall():
                self.seen[scan_id] = now
                self.unseen.pop(scan_id, None)

    def poll(self, dsn: str) -> None:
        import psycopg

        with psycopg.connect(dsn, autocommit=True) as conn, conn.cursor() as cursor:
            last_sample = 0.0
            while not self.stop.is_set():
                if self.track:
                    self.poll_once(cursor)
                if time.monotonic() - last_sample >= 1.0:
                    last_sample = time.monotonic()
                    cursor.execute("SELECT count(*) FROM sharing_scanoutbox WHERE processed_at IS NULL")
                    backlog = cursor.fetchone()[0]
                    self.backlog.append((last_sample - self.start, backlog, len(self.sent)))
                time.sleep(POLL)

    def latencies(self, since: str = "sent") -> list[float]:
        which = 0 if since == "sent" else 1
        return [self.seen[k] - times[which] for k, times in self.sent.items() if k in self.seen]


def push_batches(url: str, clients: list[tuple[Node, Path]], seconds: float, tracker: Tracker) -> dict:
    """Each client posts its pre-signed batches back to back until `seconds` have passed."""
    import requests

    deadline = time.monotonic() + seconds
    counts = {"accepted": 0, "rejected": 0, "failed": 0, "exhausted": 0}
    lock = threading.Lock()
    ends = []

    def client(node: Node, path: Path) -> None:
        session = requests.Session()
        headers = {"Authorization": f"Token {node.token}", "Content-Type": "application/json"}
        with path.open("rb") as batches:
            for body in batches:
                if time.monotonic() >= deadline:
                    break
                sent = time.monotonic()
                r = session.post(f"{url}/api/v1/scans/batch/", data=body, headers=headers, timeout=120)
                acked = time.monotonic()
                if r.status_code != 200:
                    with lock:
                        counts["failed"] += 1
                    continue
                created = [x["id"] for x in r.json()["results"] if x["status"] == "created"]
                tracker.pushed(created, sent, acked)
                with lock:
                    counts["accepted"] += len(created)
                    counts["rejected"] += BATCH - len(created)
            else:
                counts["exhausted"] += 1
        ends.append(time.monotonic())

    start = time.monotonic()
    with ThreadPoolExecutor(len(clients)) as pool:
        list(pool.map(lambda c: client(*c), clients))
    elapsed = max(ends) - start
    return {**counts, "seconds": elapsed, "rate": counts["accepted"] / elapsed}


def wait_drained(tracker: Tracker, limit: float = DRAIN_LIMIT) -> float | None:
    """Seconds until every pushed scan's relay is visible (None if not within `limit`)."""
    start = time.monotonic()
    while time.monotonic() - start < limit:
        if len(tracker.seen) >= len(tracker.sent):
            return time.monotonic() - start
        time.sleep(POLL)
    return None


def single_vs_baseline(url: str, node: Node, baseline_docs: list[dict], threads: int = 4) -> tuple[float, float]:
    import requests

    singles = node.signed(len(baseline_docs))
    local = threading.local()

    def post(path: str, body: dict, headers: dict) -> None:
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
        r = session.post(url + path, json=body, headers=headers, timeout=60)
        assert r.status_code == 201, r.text

    def run(path: str, bodies: list[dict], headers: dict) -> float:
        start = time.perf_counter()
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(lambda b: post(path, b, headers), bodies))
        return len(bodies) / (time.perf_counter() - start)

    # Interleaved halves, so a change in the machine's load touches both alike.
    half = len(singles) // 2
    auth = {"Authorization": f"Token {node.token}"}
    single = run("/api/v1/scans/", [{"jws": j} for j in singles[:half]], auth)
    base = run("/bench/baseline/", baseline_docs[:half], {})
    single = (single + run("/api/v1/scans/", [{"jws": j} for j in singles[half:]], auth)) / 2
    base = (base + run("/bench/baseline/", baseline_docs[half:], {})) / 2
    return single, base


def top_statements(limit: int = 12) -> list[tuple]:
    from django.db import connection

    if not statements_available():
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT round(total_exec_time::numeric / 1000, 1), calls, round(mean_exec_time::numeric, 2), "
            "left(regexp_replace(query, '\\s+', ' ', 'g'), 110) FROM pg_stat_statements "
            "ORDER BY total_exec_time DESC LIMIT %s",
            [limit],
        )
        return cursor.fetchall()


def statements_available() -> bool:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'")
        return cursor.fetchone() is not None


def reset_statements() -> None:
    from django.db import connection

    if not statements_available():
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_statements_reset()")


# ---------------------------------------------------------------- the run


def setup_nodes():
    from ports.models import AgencyKind, Port, ScannerNode
    from ports.services import agency_ensure, reference_ports_load

    reference_ports_load()
    agencies = {}
    for locode in ("BEANR", "NLRTM", "DEHAM"):
        port = Port.objects.get(locode=locode)
        for kind in (AgencyKind.CUSTOMS, AgencyKind.POLICE):
            agencies[(locode, kind)] = agency_ensure(kind=kind, port=port, name=f"{port.name} {kind}")
    stamp = int(time.time())
    pushers = [Node(f"{lc.lower()}-pipe-{stamp}", agencies[(lc, AgencyKind.CUSTOMS)]) for lc in ("BEANR", "NLRTM")]
    single = Node(f"beanr-single-{stamp}", agencies[("BEANR", AgencyKind.CUSTOMS)])
    if not ScannerNode.objects.filter(id="bench-baseline").exists():
        Node("bench-baseline", agencies[("BEANR", AgencyKind.CUSTOMS)])
    return pushers, single


def main() -> None:
    cluster = None
    dsn = os.environ.get("BENCH_PIPELINE_DATABASE_URL")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": SETTINGS}
    if not dsn:
        cluster = DurableCluster()
        dsn = cluster.start()
        env["DATABASE_URL"] = dsn
        t = time.monotonic()
        migrate(env)
        print(
            f"durable cluster (fsync, synchronous_commit, full_page_writes on) migrated in {time.monotonic() - t:.0f} s"
        )
    env["DATABASE_URL"] = dsn
    os.environ.update({"DATABASE_URL": dsn, "DJANGO_SETTINGS_MODULE": SETTINGS})

    import django

    django.setup()
    from celery import Celery
    from django.conf import settings
    from django.db import connection

    Celery(broker=settings.CELERY_BROKER_URL).control.purge()
    out = ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="alliance-pipeline-batches-"))
    web = worker = None
    try:
        with connection.cursor() as cursor:
            cursor.execute("SHOW fsync")
            fsync = cursor.fetchone()[0]
            cursor.execute("SHOW synchronous_commit")
            sync = cursor.fetchone()[0]
        pushers, single_node = setup_nodes()
        t = time.monotonic()
        end_to_end = [(node, scratch / f"{node.id}-e2e.jsonl") for node in pushers]
        ingest_only = [(node, scratch / f"{node.id}-ingest.jsonl") for node in pushers]
        for node, path in end_to_end:
            node.write_batches(path, MAX_RATE * SECONDS // CLIENTS)
        for node, path in ingest_only:
            node.write_batches(path, MAX_RATE * INGEST_ONLY_SECONDS // CLIENTS)
        warmup = [(node, scratch / f"{node.id}-warm.jsonl") for node in pushers]
        for node, path in warmup:
            node.write_batches(path, 2 * BATCH)
        baseline_docs = [single_node.document() for _ in range(SINGLES)]
        print(f"pre-signed in {time.monotonic() - t:.0f} s; fsync={fsync} synchronous_commit={sync}")

        ceiling_before = verify_ceiling(pushers[0])
        ceiling_load = load()
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        web = start_web(port, env, out / "pipeline-web.log")
        worker = start_worker(env, out / "pipeline-worker.log")

        warm = Tracker(track=True)
        poller = threading.Thread(target=warm.poll, args=(dsn,), daemon=True)
        poller.start()
        push_batches(url, warmup, 60, warm)
        wait_drained(warm)
        warm.stop.set()
        poller.join()

        single, base = single_vs_baseline(url, single_node, baseline_docs)
        single_load = load()

        reset_statements()
        tracker = Tracker()
        poller = threading.Thread(target=tracker.poll, args=(dsn,), daemon=True)
        poller.start()
        pushed = push_batches(url, end_to_end, SECONDS, tracker)
        push_load = load()
        drained = wait_drained(tracker)
        tracker.stop.set()
        poller.join()
        statements = top_statements()
        sent_lat, acked_lat = tracker.latencies("sent"), tracker.latencies("acked")

        stop(worker)
        worker = None
        only_tracker = Tracker(track=False)
        only = push_batches(url, ingest_only, INGEST_ONLY_SECONDS, only_tracker)
        only_load = load()
        ceiling_after = verify_ceiling(pushers[0])
        after_load = load()
    finally:
        stop(web)
        stop(worker)
        connection.close()
        shutil.rmtree(scratch, ignore_errors=True)
        if cluster is not None:
            cluster.stop()

    ceiling = (ceiling_before + ceiling_after) / 2
    drained_text = f"{drained:.1f} s" if drained is not None else f"NOT within {DRAIN_LIMIT} s"
    cores = os.cpu_count() or 1
    print()
    print(
        f"# gunicorn (production conf) {WEB_WORKERS} workers, Celery worker concurrency {WORKER_CONCURRENCY}, "
        f"CONN_MAX_AGE={os.environ.get('CONN_MAX_AGE', '60')}, {CLIENTS} clients x batches of {BATCH}, "
        f"{SECONDS} s, fsync={fsync}"
    )
    print(f"{'':<58} {'scans':>8} {'rate/s':>8} {'ratio':>6}  load (1/5/15 min)")
    print(
        f"{'Ed25519 verify only, 1 core, in process (before)':<58} {2000:>8} {ceiling_before:>8.0f} {'':>6}  {ceiling_load}"
    )
    print(
        f"{'Ed25519 verify only, 1 core, in process (after)':<58} {2000:>8} {ceiling_after:>8.0f} {'':>6}  {after_load}"
    )
    print(f"{f'Ed25519 ceiling of the machine ({cores} cores)':<58} {'':>8} {ceiling * cores:>8.0f} {1:>6.2f}")
    print(
        f"{'end to end: accepted with the relay beside it':<58} {pushed['accepted']:>8} {pushed['rate']:>8.0f} "
        f"{pushed['rate'] / (ceiling * cores):>6.2f}  {push_load}"
    )
    print(
        f"{'ingest only (worker stopped), same cluster':<58} {only['accepted']:>8} {only['rate']:>8.0f} "
        f"{only['rate'] / (ceiling * cores):>6.2f}  {only_load}"
    )
    print(f"{'single signed pushes (4 threads)':<58} {SINGLES:>8} {single:>8.0f} {'':>6}  {single_load}")
    print(f"{'plain DRF create, same fields, unsigned (baseline)':<58} {SINGLES:>8} {base:>8.0f} {'':>6}")
    print()
    print(f"end to end / ingest only       = {pushed['rate'] / only['rate']:.2f}")
    print(f"single / baseline              = {single / base:.2f}")
    print(
        f"relay push sent -> visible     p50 {percentile(sent_lat, 50) * 1000:.0f} ms, "
        f"p99 {percentile(sent_lat, 99) * 1000:.0f} ms, max {max(sent_lat, default=0) * 1000:.0f} ms"
    )
    print(
        f"relay push acked -> visible    p50 {percentile(acked_lat, 50) * 1000:.0f} ms, "
        f"p99 {percentile(acked_lat, 99) * 1000:.0f} ms (poll every {POLL * 1000:.0f} ms)"
    )
    print(f"drained after the pushes stop  {drained_text}; visible {len(tracker.seen)} of {len(tracker.sent)}")
    print(
        f"failed requests {pushed['failed'] + only['failed']}; rejected items {pushed['rejected'] + only['rejected']}"
    )
    if pushed["exhausted"]:
        print("NOTE: the pre-signed scans ran out before the time was up (raise BENCH_PIPELINE_MAX_RATE)")
    backlog = tracker.backlog
    if backlog:
        step = max(1, len(backlog) // 30)
        print("\nrelay backlog (s since start: pending outbox rows / accepted so far)")
        print(", ".join(f"{t:.0f}s: {b}/{a}" for t, b, a in backlog[::step]))
        print(f"backlog max {max(b for _, b, _ in backlog)}, mean {statistics.fmean(b for _, b, _ in backlog):.0f}")
    print("\nslowest statements during the end-to-end run (total s, calls, mean ms, query)")
    for total, calls, mean, query in statements:
        print(f"{total:>8} {calls:>8} {mean:>8} {query}")


if __name__ == "__main__":
    main()
