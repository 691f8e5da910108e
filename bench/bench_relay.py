"""Relay latency and backlog drain, side by side in one run (ratios, not absolute times).

Against gunicorn, a real Celery worker, Redis and the database of DATABASE_URL
(PostgreSQL under `make bench`):

1. Steady load: scanner nodes push signed batches of 10 at a paced rate (50 and
   then 100 scans/s); a poller stamps when each scan's relay became visible
   (outbox row processed, deliveries committed). Latency = visible - push sent.
2. Backlog: 100,000 scans stored with their relay never enqueued (as if the
   broker had been down), then drained by the worker through the sweep task,
   and, for comparison, a smaller backlog drained in process with claim sizes
   of 50 and 500.
"""

import os
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
os.environ.setdefault("RELAY_PENDING_AFTER_SECONDS", "0")

import django  # noqa: E402

django.setup()

import requests  # noqa: E402
from celery import Celery  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402

from bench.bench_ingest import BenchNode, free_port, start_gunicorn  # noqa: E402
from ports.models import AgencyKind, Port  # noqa: E402
from ports.services import agency_ensure, reference_ports_load  # noqa: E402
from scans.models import Scan, ScanOutbox  # noqa: E402
from scans.services.relay import relay_batch  # noqa: E402
from scans.services.scans import scan_ingest_batch  # noqa: E402

STEADY_SECONDS = int(os.environ.get("BENCH_RELAY_SECONDS", 30))
BACKLOG = int(os.environ.get("BENCH_RELAY_BACKLOG", 100_000))
INPROCESS = int(os.environ.get("BENCH_RELAY_INPROCESS", 10_000))
BATCH = 10


def setup():
    reference_ports_load()
    agencies = {}
    for locode in ("BEANR", "NLRTM", "DEHAM"):
        port = Port.objects.get(locode=locode)
        for kind in (AgencyKind.CUSTOMS, AgencyKind.POLICE):
            agencies[(locode, kind)] = agency_ensure(kind=kind, port=port, name=f"{port.name} {kind}")
    stamp = int(time.time())
    return [
        BenchNode(f"{locode.lower()}-relay-{stamp}", agencies[(locode, AgencyKind.CUSTOMS)])
        for locode in ("BEANR", "NLRTM")
    ]


def start_worker(log: Path) -> subprocess.Popen:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "alliance",
            "worker",
            "--concurrency",
            "2",
            "--loglevel",
            "WARNING",
            "--without-gossip",
            "--without-mingle",
            "-n",
            f"bench-relay-{os.getpid()}@%h",
        ],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings"},
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    probe = Celery(broker=settings.CELERY_BROKER_URL)
    for _ in range(150):
        if probe.control.ping(timeout=0.5):
            probe.close()
            return proc
        time.sleep(0.2)
    raise RuntimeError("worker did not start")


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def steady(url: str, nodes: list[BenchNode], rate: int, seconds: int = STEADY_SECONDS) -> dict:
    """Push `rate` scans/s for `seconds` in batches of 10; stamp when each relay is visible."""
    total = rate * seconds
    batches = [(nodes[i % len(nodes)], nodes[i % len(nodes)].signed(BATCH)) for i in range(total // BATCH)]
    sent: dict[str, float] = {}
    seen: dict[str, float] = {}
    stop = threading.Event()
    lock = threading.Lock()
    errors = []

    def poll():
        from django.db import connections

        while not stop.is_set():
            with lock:
                waiting = [k for k in sent if k not in seen]
            if waiting:
                done = ScanOutbox.objects.filter(scan_id__in=waiting, processed_at__isnull=False).values_list(
                    "scan_id", flat=True
                )
                now = time.monotonic()
                for pk in done:
                    seen[str(pk)] = now
            time.sleep(0.02)
        connections.close_all()

    session = requests.Session()

    def push(item):
        i, (node, items) = item
        due = start + i * BATCH / rate
        time.sleep(max(0.0, due - time.monotonic()))
        t = time.monotonic()
        r = session.post(
            f"{url}/api/v1/scans/batch/", json={"items": items}, headers={"Authorization": f"Token {node.token}"}
        )
        if r.status_code != 200:
            errors.append(r.status_code)
            return
        with lock:
            for result in r.json()["results"]:
                if result["status"] == "created":
                    sent[result["id"]] = t

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(push, enumerate(batches)))
    pushed_for = time.monotonic() - start
    deadline = time.monotonic() + 120
    while len(seen) < len(sent) and time.monotonic() < deadline:
        time.sleep(0.1)
    stop.set()
    poller.join()
    latencies = [seen[k] - sent[k] for k in sent if k in seen]
    return {
        "rate": rate,
        "pushed": len(sent),
        "achieved": len(sent) / pushed_for,
        "visible": len(latencies),
        "p50": pct(latencies, 50),
        "p99": pct(latencies, 99),
        "max": max(latencies),
        "mean": statistics.fmean(latencies),
        "errors": len(errors),
    }


def store_backlog(nodes: list[BenchNode], count: int) -> None:
    """Scans stored with their outbox rows, their relay never enqueued (the broker 'was down')."""
    from scans.services import scans as scan_services

    original = scan_services._enqueue_relay
    scan_services._enqueue_relay = lambda ids: None
    try:
        for start in range(0, count, 500):
            node = nodes[(start // 500) % len(nodes)]
            results = scan_ingest_batch(node=node.node_model, items=node.signed(min(500, count - start)))
            assert all(r.status == "created" for r in results)
    finally:
        scan_services._enqueue_relay = original


def pending() -> int:
    return ScanOutbox.objects.filter(processed_at__isnull=True).count()


def drain_with_worker() -> float:
    client = Celery(broker=settings.CELERY_BROKER_URL)
    start = time.monotonic()
    # What beat does every minute, asked more often so the measure is the drain rate, not the schedule.
    while pending():
        client.send_task("sharing.relay_sweep")
        client.send_task("sharing.relay_sweep")
        time.sleep(1.0)
    client.close()
    return time.monotonic() - start


def drain_in_process(limit: int) -> float:
    start = time.monotonic()
    while relay_batch(older_than=None, limit=limit):
        pass
    return time.monotonic() - start


def main() -> None:
    nodes = setup()
    from ports.models import ScannerNode

    for node in nodes:
        node.node_model = ScannerNode.objects.get(pk=node.id)
    port = free_port()
    web = start_gunicorn(port)
    worker = start_worker(ROOT / "bench" / "out" / "relay-worker.log")
    url = f"http://127.0.0.1:{port}"
    try:
        print("# 1. push -> relay visible, steady load (gunicorn 2x2, worker concurrency 2, batches of 10)")
        print(f"{'rate/s':>7} {'achieved':>9} {'scans':>7} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'errors':>7}")
        steady(url, nodes, 20, seconds=5)  # warm-up: first connections, imports, plans; not reported
        rows = []
        for rate in (50, 100):
            r = steady(url, nodes, rate)
            rows.append(r)
            print(
                f"{r['rate']:>7} {r['achieved']:>9.1f} {r['visible']:>7} {r['p50'] * 1000:>8.0f} "
                f"{r['p99'] * 1000:>8.0f} {r['max'] * 1000:>8.0f} {r['errors']:>7}"
            )
        print(f"p99 at 100/s vs 50/s: {rows[1]['p99'] / rows[0]['p99']:.2f}x")
        web.terminate()

        print(f"\n# 2. backlog drain: {BACKLOG:,} scans pending, relayed by the worker through the sweep task")
        worker.terminate()
        worker.wait(timeout=30)
        t = time.monotonic()
        store_backlog(nodes, BACKLOG)
        print(f"stored {BACKLOG:,} scans + outbox rows in {time.monotonic() - t:.1f} s (in process, batches of 500)")
        Celery(broker=settings.CELERY_BROKER_URL).control.purge()
        worker = start_worker(ROOT / "bench" / "out" / "relay-worker.log")
        seconds = drain_with_worker()
        print(f"drained {BACKLOG:,} in {seconds:.1f} s = {BACKLOG / seconds:,.0f} scans/s")

        print(f"\n# 3. in-process drain of {INPROCESS:,} pending scans, claim size side by side")
        worker.terminate()
        worker.wait(timeout=30)
        results = {}
        for limit in (50, 500):
            store_backlog(nodes, INPROCESS)
            results[limit] = drain_in_process(limit)
            print(f"claim {limit:>4}: {results[limit]:.1f} s = {INPROCESS / results[limit]:,.0f} scans/s")
        print(f"claim 500 vs 50: {results[50] / results[500]:.2f}x faster")
        print(f"\nscans in database: {Scan.objects.count():,}; pending relays: {pending()}")
    finally:
        for proc in (web, worker):
            if proc.poll() is None:
                proc.terminate()
        connection.close()


if __name__ == "__main__":
    main()
