"""Nothing lost, nothing doubled (SPEC section 6): 2,000 pushes over real HTTP while the Celery worker
is SIGKILLed twice and Redis is restarted; afterwards every accepted scan has exactly one delivery
per recipient. Real gunicorn, real worker, real Redis, the suite's database."""

import itertools
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.db.models import Count

from ports.models import Agency, Sector
from scans.models import Delivery, Scan, ScanGroupObjectPermission, ScanOutbox
from tests.conftest import WebServer, Worker
from tests.scans.helpers import Node as SigningNode
from tests.scans.helpers import iso6346, now_z

PUSHES = 2000
ROUTES = [None, "DEHAM", "NLRTM", "ESVLC"]
VERDICTS = ["clear", "clear", "inconclusive", "suspect", "positive"]


def _documents(node: SigningNode, start: int):
    for n in itertools.count(start):
        yield {
            "scan_id": f"{node.id}-fault-{n:06d}",
            "node": node.id,
            "port": node.port,
            "scanned_at": now_z(),
            "container": iso6346(f"TGHU{n:06d}"),
            "origin": "ECGYE",
            "mode": "import",
            "verdict": VERDICTS[n % len(VERDICTS)],
            **({"next_port": ROUTES[n % len(ROUTES)]} if ROUTES[n % len(ROUTES)] else {}),
        }


def _expected_recipients(scan: Scan) -> set[int]:
    public = Agency.objects.filter(sector=Sector.PUBLIC, is_active=True, port__is_member=True)
    ports = {scan.port_id}
    if scan.verdict in ("suspect", "positive") and scan.next_port_id:
        ports.add(scan.next_port_id)
    return set(public.filter(port_id__in=ports).values_list("id", flat=True))


@pytest.mark.django_db(transaction=True)
def test_no_scan_lost_or_doubled_when_worker_and_redis_die(cast, make_agency, redis_server, tmp_path):
    for slug in ("deham-customs", "deham-police", "nlrtm-customs", "esvlc-customs", "beanr-police"):
        make_agency(slug)
    nodes = [
        SigningNode("beanr-fault-01", make_agency("beanr-customs")),
        SigningNode("nlrtm-fault-01", make_agency("nlrtm-customs")),
    ]
    # The worker sweeps rows pending for 3 s (production: two minutes) when asked, as beat would.
    env = {"RELAY_PENDING_AFTER_SECONDS": "3"}
    web = WebServer(redis_server.url, tmp_path / "web.log", extra_env=env).start()
    worker = Worker(redis_url=redis_server.url, log=tmp_path / "worker.log", extra_env=env).start().wait_ready()
    session = requests.Session()
    accepted: dict[str, str] = {}
    failures: list = []
    lock = threading.Lock()
    counter = itertools.count()
    streams = [_documents(node, 0) for node in nodes]

    def push(_):
        i = next(counter)
        node = nodes[i % 2]
        with lock:
            doc = next(streams[i % 2])
        jws = node.sign(doc)
        for _attempt in range(3):
            try:
                r = session.post(
                    f"{web.url}/api/v1/scans/",
                    json={"jws": jws},
                    headers={"Authorization": f"Token {node.token}"},
                    timeout=30,
                )
            except requests.ConnectionError:
                time.sleep(0.2)
                continue
            break
        with lock:
            if r.status_code in (200, 201):
                accepted[doc["scan_id"]] = r.json()["id"]
            else:
                failures.append((r.status_code, r.text[:200]))
        return i

    faults = {400: "kill worker", 800: "kill worker", 1100: "stop redis", 1400: "start redis"}
    with ThreadPoolExecutor(max_workers=4) as pool:
        for done, _ in enumerate(pool.map(push, range(PUSHES)), start=1):
            action = faults.get(done)
            if action:
                print(f"{time.strftime('%X')} {done} pushes: {action}", flush=True)
            if action == "kill worker":
                worker.kill()
                worker = Worker(redis_url=redis_server.url, log=tmp_path / "worker.log", extra_env=env).start()
            elif action == "stop redis":
                redis_server.stop()
            elif action == "start redis":
                redis_server.start()
    # A push never turns into an error because the broker or a worker is down.
    assert failures == []
    assert len(accepted) == PUSHES
    worker.wait_ready(timeout=60)

    # What beat does every minute: the sweep re-enqueues what is pending (lost with the killed workers
    # or never enqueued while Redis was down).
    from celery import Celery

    client = Celery(broker=redis_server.url)
    deadline = time.monotonic() + 240
    while ScanOutbox.objects.filter(processed_at__isnull=True).exists() and time.monotonic() < deadline:
        client.send_task("sharing.relay_sweep")
        time.sleep(4)
    client.close()
    worker.stop()
    web.stop()

    assert not ScanOutbox.objects.filter(processed_at__isnull=True).exists(), "relay backlog did not drain"
    scans = list(Scan.objects.filter(scan_id__contains="-fault-"))
    assert len(scans) == PUSHES == len({(s.node_id, s.scan_id) for s in scans})
    assert {str(s.pk) for s in scans} == set(accepted.values())
    # Exactly one delivery per (scan, recipient): the expected set, nothing missing, nothing extra.
    got: dict = {}
    for scan_id, agency_id in Delivery.objects.filter(scan__in=scans).values_list("scan_id", "agency_id"):
        got.setdefault(scan_id, []).append(agency_id)
    for scan in scans:
        assert sorted(got.get(scan.pk, [])) == sorted(_expected_recipients(scan)), scan.scan_id
    doubled = Delivery.objects.filter(scan__in=scans).values("scan", "agency").annotate(n=Count("id")).filter(n__gt=1)
    assert not doubled.exists()
    # Every delivery came with its read grant, once.
    grants = ScanGroupObjectPermission.objects.filter(content_object__in=scans).count()
    assert grants == Delivery.objects.filter(scan__in=scans).count()
    # Private-sector agencies never receive scans.
    assert not Delivery.objects.filter(scan__in=scans, agency__sector=Sector.PRIVATE).exists()
