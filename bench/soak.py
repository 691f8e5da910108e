"""Soak test: ten minutes of mixed traffic against the whole stack (issue #8), `make soak`.

gunicorn (2 workers x 4 threads), a Celery worker (concurrency 2) and beat, PostgreSQL
and Redis, all on this machine, under the production settings (TLS is taken as
terminated by a proxy: every request says `X-Forwarded-Proto: https`). Traffic:

- scanner nodes at several ports push signed scans at SOAK_RATE scans/s in total
  (batches of 10-40, one node in batches of 50, one node pushing single scans); a share is
  suspect or positive with a next port, so deliveries fan out by route and subscription;
- analysts browse the API with tokens: the alert feed with `q`, scans, deliveries,
  trends, displacement flags;
- analysts browse the portal with a logged-in session: /alerts/, /inbox/, /trends/;
- officers post alerts (SOAK_ALERTS_PER_MIN), naming containers that were just scanned.

Reported: requests, 5xx, transport errors, p50/p99 per endpoint kind, the relay backlog
every 10 s (and how long it takes to drain after the load stops), RSS/USS of every
process at start, each minute and at the end, and nothing lost: every accepted scan is
stored, and the deliveries (and read grants) equal the recipients computed here, from
the scans as sent, by the rules of SPEC section 6.
"""

import json
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alliance.settings.production")

import django  # noqa: E402

django.setup()

import psutil  # noqa: E402
import requests  # noqa: E402
from celery import Celery  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connections  # noqa: E402
from django.utils import timezone  # noqa: E402
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402
from stdnum import iso6346  # noqa: E402

from ports import signing  # noqa: E402
from ports.keys import public_x, thumbprint  # noqa: E402
from ports.models import Agency, AgencyKind, Membership, Port, Sector  # noqa: E402
from ports.services import (  # noqa: E402
    agency_ensure,
    member_add,
    node_register,
    reference_ports_load,
    token_issue,
)
from scans.models import Delivery, Scan, ScanGroupObjectPermission, ScanOutbox, Subscription  # noqa: E402
from sharing.models import Alert  # noqa: E402
from sharing.services.alerts import alert_publish  # noqa: E402

SECONDS = int(os.environ.get("SOAK_SECONDS", 600))
RATE = float(os.environ.get("SOAK_RATE", 150))  # scans/s, all nodes together
ANALYSTS = int(os.environ.get("SOAK_ANALYSTS", 4))  # API browsing threads
PORTAL = int(os.environ.get("SOAK_PORTAL", 2))  # portal browsing threads
ALERTS_PER_MIN = float(os.environ.get("SOAK_ALERTS_PER_MIN", 4))
DRAIN_SECONDS = int(os.environ.get("SOAK_DRAIN_SECONDS", 300))
OUT = ROOT / "bench" / "out"
PASSWORD = "soak-password-" + uuid.uuid4().hex[:12]
HTTPS = {"X-Forwarded-Proto": "https"}  # believed: soak.sh names 127.0.0.1 in TRUSTED_PROXIES, as the proxy
PROM_WORKER = OUT / "prom-worker"  # the worker's Prometheus multiprocess directory
WORKER_METRICS_PORT = int(os.environ.get("SOAK_WORKER_METRICS_PORT", 0)) or None

# Ports with agencies of their own (customs + police public; a terminal operator, private, at two).
PORTS = ["BEANR", "NLRTM", "DEHAM", "FRLEH"]
PRIVATE_AT = ["NLRTM", "DEHAM"]
NEXT_PORTS = ["BEANR", "NLRTM", "DEHAM", "FRLEH", "NLAMS", "ESALG"]  # ESALG: a member port without agencies
ORIGINS = ["ECGYE", "ECPSJ", "COCTG", "COBUN", "BRSSZ"]
VERDICTS = [("clear", 0.85), ("inconclusive", 0.05), ("suspect", 0.07), ("positive", 0.03)]
WORDS = ["reefer", "cocaine", "seal", "Guayaquil", "bananas", "cloned", "rip-on", "hull", "pallets", "Santos"]


# ---------------------------------------------------------------- measurements

lock = threading.Lock()
latencies: dict[str, list[float]] = defaultdict(list)
statuses: dict[str, Counter] = defaultdict(Counter)
transport_errors: Counter = Counter()
stop = threading.Event()


def record(kind: str, started: float, response) -> None:
    elapsed = time.perf_counter() - started
    with lock:
        latencies[kind].append(elapsed)
        statuses[kind][response.status_code] += 1


def call(session: requests.Session, kind: str, method: str, url: str, **kwargs):
    started = time.perf_counter()
    try:
        response = session.request(method, url, timeout=60, **kwargs)
    except requests.RequestException as exc:
        with lock:
            # e.g. a keep-alive connection the server closed just as it was reused (no proxy here to retry)
            transport_errors[f"{kind}: {type(exc).__name__}: {str(exc)[:120]}"] += 1
        return None
    record(kind, started, response)
    return response


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))] if values else float("nan")


# ---------------------------------------------------------------- the alliance under test


class SoakNode:
    """A scanner node with its own key; remembers what it sent and who must receive it."""

    def __init__(self, node_id: str, agency: Agency, batch: tuple[int, int], share: float):
        self.private = Ed25519PrivateKey.generate()
        x = public_x(self.private.public_key())
        self.kid = thumbprint(x)
        node, self.token = node_register(node_id=node_id, agency=agency, public_key=x)
        self.id, self.port = node_id, node.port_id
        self.batch, self.share = batch, share
        self.n = 0
        self.owner = "".join(random.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(3)) + "U"

    def document(self) -> dict:
        self.n += 1
        verdict = random.choices([v for v, _ in VERDICTS], [w for _, w in VERDICTS])[0]
        doc = {
            "scan_id": f"{self.id}-{self.n:08d}",
            "node": self.id,
            "port": self.port,
            "scanned_at": timezone.now().replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "container": self.owner
            + f"{self.n % 10**6:06d}"
            + iso6346.calc_check_digit(f"{self.owner}{self.n % 10**6:06d}"),
            "origin": random.choice(ORIGINS),
            "mode": "import",
            "verdict": verdict,
            "score": round(random.random(), 3),
        }
        if random.random() < 0.8:
            doc["next_port"] = random.choice([p for p in NEXT_PORTS if p != self.port])
        if verdict in ("suspect", "positive"):
            doc["anomalies"] = random.sample(["organic_density", "rip_on_bag", "seal_mismatch", "reefer_unit"], 2)
            if random.random() < 0.3:
                doc["onward_route"] = [random.choice([p for p in NEXT_PORTS if p != self.port])]
        if verdict == "positive":
            doc["seized_kg"] = round(random.uniform(5, 400), 1)
        return doc

    def sign(self, doc: dict) -> str:
        return signing.sign_with_private_key(doc, self.private, self.kid, "scan+json")


class World:
    """What the soak creates before the load starts, and the rules to check deliveries against."""

    def __init__(self):
        reference_ports_load()
        stamp = uuid.uuid4().hex[:6]
        self.agencies: dict[str, Agency] = {}
        for locode in PORTS:
            port = Port.objects.get(locode=locode)
            for kind in (AgencyKind.CUSTOMS, AgencyKind.POLICE):
                self.agencies[f"{locode}-{kind}"] = agency_ensure(kind=kind, port=port, name=f"{port.name} {kind}")
        for locode in PRIVATE_AT:
            port = Port.objects.get(locode=locode)
            self.agencies[f"{locode}-terminal"] = agency_ensure(
                kind=AgencyKind.TERMINAL_OPERATOR, port=port, name=f"{port.name} terminal"
            )
        self.agencies["europol"] = agency_ensure(kind=AgencyKind.EU_AGENCY, port=None, name="Europol", slug="europol")

        # Subscriptions: Hamburg police wants suspect+ from Cartagena anywhere; Le Havre customs wants
        # positives scanned at Antwerp; the Rotterdam terminal (private) asks too and must get nothing.
        subs = [
            ("DEHAM-police", None, "COCTG", "suspect"),
            ("FRLEH-customs", "BEANR", None, "positive"),
            ("NLRTM-terminal", None, None, "clear"),
        ]
        for key, port, origin, verdict in subs:
            Subscription.objects.get_or_create(
                agency=self.agencies[key], port_id=port, origin_id=origin, min_verdict=verdict
            )

        def member(name: str, key: str, role: str) -> Membership:
            return member_add(username=f"soak-{stamp}-{name}", agency=self.agencies[key], role=role, password=PASSWORD)

        self.officers = [member(f"officer{i}", f"{p}-customs", "officer") for i, p in enumerate(PORTS[:3])]
        analyst_at = ["BEANR-customs", "NLRTM-police", "DEHAM-customs", "europol", "NLRTM-terminal", "FRLEH-police"]
        self.analysts = [member(f"analyst{i}", analyst_at[i % len(analyst_at)], "analyst") for i in range(ANALYSTS)]
        self.portal_users = [member(f"portal{i}", analyst_at[i % 4], "analyst") for i in range(PORTAL)]
        self.tokens = {m.pk: token_issue(user=m.user, name="soak")[1] for m in [*self.officers, *self.analysts]}

        node_plan = [  # (port, batch size range, share of the rate)
            ("BEANR", (10, 40), 0.25),
            ("BEANR", (50, 50), 0.25),
            ("NLRTM", (10, 40), 0.2),
            ("DEHAM", (10, 40), 0.15),
            ("FRLEH", (10, 40), 0.13),
            ("NLRTM", (1, 1), 0.02),  # single pushes, ~3/s at 150/s
        ]
        self.nodes = [
            SoakNode(f"soak-{stamp}-{port.lower()}-{i}", self.agencies[f"{port}-customs"], batch, share)
            for i, (port, batch, share) in enumerate(node_plan)
        ]
        # The recipients rule, from the agencies as they are now (SPEC section 6).
        self.public_by_port: dict[str, set[int]] = defaultdict(set)
        for agency in Agency.objects.filter(sector=Sector.PUBLIC, is_active=True, port__is_member=True):
            self.public_by_port[agency.port_id].add(agency.pk)
        self.subscriptions = [
            (s.agency_id, s.port_id, s.origin_id, s.min_verdict)
            for s in Subscription.objects.filter(is_active=True, agency__sector=Sector.PUBLIC, agency__is_active=True)
        ]
        self.seed_alerts()

    def expected(self, doc: dict) -> set[int]:
        rank = {"clear": 0, "inconclusive": 1, "suspect": 2, "positive": 3}
        out = set(self.public_by_port.get(doc["port"], ()))
        if doc["verdict"] in ("suspect", "positive"):
            for port in [doc.get("next_port"), *doc.get("onward_route", [])]:
                out |= self.public_by_port.get(port, set())
        for agency_id, port, origin, min_verdict in self.subscriptions:
            if (
                rank[min_verdict] <= rank[doc["verdict"]]
                and port in (None, doc["port"])
                and origin in (None, doc["origin"])
            ):
                out.add(agency_id)
        return out

    def alert_fields(self, officer: Membership, containers: list[str]) -> dict:
        tlp = random.choices(["GREEN", "CLEAR", "AMBER", "AMBER+STRICT", "RED"], [40, 10, 30, 10, 10])[0]
        audience = {"agencies": [], "ports": [], "users": []}
        if tlp in ("AMBER", "AMBER+STRICT"):
            audience["agencies"] = [a.slug for a in random.sample(list(self.agencies.values()), 2)]
            if tlp == "AMBER":
                audience["ports"] = [random.choice(PORTS)]
        if tlp == "RED":
            audience["users"] = [m.handle for m in random.sample(self.analysts, min(2, len(self.analysts)))]
        words = random.sample(WORDS, 3)
        return {
            "title": f"{words[0].capitalize()} {words[1]} on {random.choice(ORIGINS)} lines",
            "body": f"Observed {words[2]} with {words[0]}; check the doors and the seals. {uuid.uuid4().hex[:8]}",
            "category": random.choice(["rip_on_rip_off", "seal_tampering", "reefer_unit", "concealment_in_goods"]),
            "severity": random.choice(["low", "medium", "high", "critical"]),
            "tlp": tlp,
            "audience": audience,
            "containers": containers,
            "vessels": [],
            "port": officer.agency.port_id,
            "origin": random.choice(ORIGINS),
            "valid_until": None,
            "source_reliability": None,
            "information_reliability": None,
            "handling": None,
        }

    def seed_alerts(self, count: int = 300) -> None:
        """A feed with some history, so the first pages and `q` have something to find."""
        for i in range(count):
            officer = self.officers[i % len(self.officers)]
            alert_publish(membership=officer, data=self.alert_fields(officer, []))


# ---------------------------------------------------------------- processes


def start(name: str, args: list[str], extra_env: dict | None = None) -> subprocess.Popen:
    log = (OUT / f"soak-{name}.log").open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", *args],
        cwd=ROOT,
        env={**os.environ, **(extra_env or {})},
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def start_stack(port: int) -> dict[str, subprocess.Popen]:
    for old in OUT.glob("soak-beat-schedule*"):
        old.unlink()  # beat starts from a fresh schedule every run
    shutil.rmtree(PROM_WORKER, ignore_errors=True)
    PROM_WORKER.mkdir(parents=True)
    procs = {
        "gunicorn": start(
            "gunicorn",
            [
                "gunicorn",
                "-c",
                "python:alliance.gunicorn_conf",
                "alliance.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "2",
                "--threads",
                "4",
            ],
        ),
        "worker": start(
            "worker",
            [
                "celery",
                "--quiet",
                "-A",
                "alliance",
                "worker",
                "--concurrency",
                "2",
                "--loglevel",
                "WARNING",
                "-n",
                "soak@%h",
            ],
            {"PROMETHEUS_MULTIPROC_DIR": str(PROM_WORKER), "METRICS_WORKER_PORT": str(WORKER_METRICS_PORT)},
        ),
        "beat": start(
            "beat",
            [
                "celery",
                "--quiet",
                "-A",
                "alliance",
                "beat",
                "--loglevel",
                "WARNING",
                "--schedule",
                str(OUT / "soak-beat-schedule"),
            ],
        ),
    }
    for _ in range(150):
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code < 500:
                break
        except requests.RequestException:
            pass
        time.sleep(0.2)
    else:
        raise RuntimeError("gunicorn did not start")
    probe = Celery(broker=settings.CELERY_BROKER_URL)
    for _ in range(150):
        if probe.control.ping(timeout=0.5):
            break
        time.sleep(0.2)
    else:
        raise RuntimeError("the Celery worker did not start")
    probe.close()
    return procs


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pid_from(path: str | None) -> int | None:
    if not path or not Path(path).exists():
        return None
    return int(Path(path).read_text().split()[0])


def process_groups(procs: dict[str, subprocess.Popen]) -> dict[str, list[psutil.Process]]:
    groups: dict[str, list[psutil.Process]] = {}
    master = psutil.Process(procs["gunicorn"].pid)
    groups["gunicorn master"] = [master]
    for i, child in enumerate(sorted(master.children(), key=lambda p: p.pid)):
        groups[f"gunicorn worker {i + 1}"] = [child]
    worker = psutil.Process(procs["worker"].pid)
    groups["celery worker (main)"] = [worker]
    groups["celery worker (pool, total)"] = worker.children()
    groups["celery beat"] = [psutil.Process(procs["beat"].pid)]
    postmaster = _pid_from(os.environ.get("SOAK_PG_PIDFILE"))
    if postmaster:
        groups["postgres (postmaster + all backends)"] = [
            psutil.Process(postmaster),
            *psutil.Process(postmaster).children(),
        ]
    redis = _pid_from(os.environ.get("SOAK_REDIS_PIDFILE"))
    if redis:
        groups["redis"] = [psutil.Process(redis)]
    return groups


def memory(groups: dict[str, list[psutil.Process]]) -> dict[str, tuple[float, float, int]]:
    """Name -> (RSS MiB, USS MiB, processes). Postgres backends come and go: re-listed each time."""
    out = {}
    for name, procs in groups.items():
        if name.startswith("postgres"):
            procs = [procs[0], *procs[0].children()]
        rss = uss = 0
        alive = 0
        for proc in procs:
            try:
                info = proc.memory_full_info()
            except psutil.Error:
                continue
            rss, uss, alive = rss + info.rss, uss + info.uss, alive + 1
        out[name] = (rss / 2**20, uss / 2**20, alive)
    return out


# ---------------------------------------------------------------- traffic


class Accepted:
    def __init__(self):
        self.docs: dict[str, dict] = {}  # scan uuid -> document as sent
        self.rejected = 0
        self.containers: list[str] = []


accepted = Accepted()


def node_loop(url: str, node: SoakNode) -> None:
    session = requests.Session()
    session.headers.update({**HTTPS, "Authorization": f"Token {node.token}"})
    rate = RATE * node.share
    due = time.monotonic() + random.random()
    while not stop.is_set():
        size = random.randint(*node.batch)
        docs = [node.document() for _ in range(size)]
        items = [node.sign(d) for d in docs]
        time.sleep(max(0.0, due - time.monotonic()))
        if stop.is_set():
            return
        due = max(due + size / rate, time.monotonic() - 5)  # catch up at most 5 s, never burst forever
        if size == 1:
            r = call(session, "ingest single push", "POST", f"{url}/api/v1/scans/", json={"jws": items[0]})
            results = [{"status": "created", "id": r.json()["id"]}] if r is not None and r.status_code == 201 else []
        else:
            r = call(session, "ingest batch (10-50)", "POST", f"{url}/api/v1/scans/batch/", json={"items": items})
            results = r.json()["results"] if r is not None and r.status_code == 200 else []
        with lock:
            for doc, result in zip(docs, results, strict=False):
                if result["status"] == "created":
                    accepted.docs[result["id"]] = doc
                    accepted.containers.append(doc["container"])
                else:
                    accepted.rejected += 1


def think(low: float, high: float) -> None:
    stop.wait(random.uniform(low, high))


def analyst_loop(url: str, token: str, agency_locode: str | None) -> None:
    session = requests.Session()
    session.headers.update({**HTTPS, "Authorization": f"Token {token}"})
    api = f"{url}/api/v1"
    choices = [
        ("api alerts ?q=", lambda: f"{api}/alerts/?q={random.choice(WORDS)}"),
        ("api alerts (first page)", lambda: f"{api}/alerts/"),
        ("api scans", lambda: f"{api}/scans/" + random.choice(["", "?verdict=suspect", f"?port={agency_locode}"])),
        ("api deliveries", lambda: f"{api}/deliveries/"),
        ("api trends", lambda: f"{api}/trends/" + random.choice(["", "?bucket=week", f"?port={agency_locode}"])),
        ("api displacement", lambda: f"{api}/displacement/"),
    ]
    while not stop.is_set():
        kind, make = random.choice(choices)
        call(session, kind, "GET", make())
        think(0.2, 1.0)


def login(url: str, username: str) -> requests.Session:
    """A portal session as a browser behind the TLS proxy has it (secure cookies sent by hand)."""
    session = requests.Session()
    session.headers.update({**HTTPS, "Origin": "https://" + url.split("//")[1], "Referer": f"https{url[4:]}/login/"})
    page = session.get(f"{url}/login/")
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    cookie = page.cookies["csrftoken"]
    r = session.post(
        f"{url}/login/",
        data={"username": username, "password": PASSWORD, "csrfmiddlewaretoken": csrf},
        headers={"Cookie": f"csrftoken={cookie}"},
        allow_redirects=False,
    )
    assert r.status_code == 302, (r.status_code, r.text[:300])
    assert "sessionid" in r.cookies, (r.status_code, r.text[:300])
    session.headers["Cookie"] = f"csrftoken={cookie}; sessionid={r.cookies['sessionid']}"
    return session


def portal_loop(url: str, username: str) -> None:
    session = login(url, username)
    pages = [("portal /alerts/", "/alerts/"), ("portal /inbox/", "/inbox/"), ("portal /trends/", "/trends/")]
    while not stop.is_set():
        kind, path = random.choice(pages)
        r = call(session, kind, "GET", url + path, allow_redirects=False)
        if r is not None and r.status_code == 302:
            with lock:
                transport_errors[f"{kind}: redirected to {r.headers.get('Location')}"] += 1
        think(1.0, 2.0)


def officer_loop(url: str, world: World, posted: list) -> None:
    sessions = {}
    for officer in world.officers:
        sessions[officer.pk] = requests.Session()
        sessions[officer.pk].headers.update({**HTTPS, "Authorization": f"Token {world.tokens[officer.pk]}"})
    interval = 60.0 / ALERTS_PER_MIN
    stop.wait(random.uniform(0, interval))
    while not stop.is_set():
        officer = random.choice(world.officers)
        with lock:
            recent = accepted.containers[-500:]
        containers = random.sample(recent, min(2, len(recent)))
        r = call(
            sessions[officer.pk],
            "api POST alert",
            "POST",
            f"{url}/api/v1/alerts/",
            json=world.alert_fields(officer, containers),
        )
        if r is not None and r.status_code == 201:
            posted.append(r.json()["id"])
        elif r is not None:
            with lock:
                transport_errors[f"api POST alert: {r.status_code} {r.text[:200]}"] += 1
        stop.wait(interval)


# ---------------------------------------------------------------- monitoring


def backlog() -> tuple[int, float]:
    pending = ScanOutbox.objects.filter(processed_at__isnull=True)
    oldest = pending.order_by("created_at").values_list("created_at", flat=True).first()
    age = (timezone.now() - oldest).total_seconds() if oldest else 0.0
    return pending.count(), age


def queue_depth() -> int:
    import redis

    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    try:
        return client.llen("celery")
    finally:
        client.close()


def monitor(t0: float, samples: list, groups, mem_samples: list) -> None:
    next_mem = t0 + 60
    while not stop.wait(10):
        now = time.monotonic()
        with lock:
            sent = len(accepted.docs)
        count, age = backlog()
        samples.append((now - t0, sent, count, age, queue_depth()))
        if now >= next_mem:
            mem_samples.append((round(now - t0), memory(groups)))
            next_mem += 60
    connections.close_all()


# ---------------------------------------------------------------- the run


def main() -> None:
    OUT.mkdir(exist_ok=True)
    random.seed(int(os.environ.get("SOAK_SEED", 8)))
    print(
        f"soak: {SECONDS} s, {RATE:.0f} scans/s, {ANALYSTS} API analysts, {PORTAL} portal sessions, "
        f"{ALERTS_PER_MIN:g} alerts/min; settings {os.environ['DJANGO_SETTINGS_MODULE']}"
    )
    print(f"machine: {psutil.cpu_count()} CPUs, load average at start {os.getloadavg()}")
    world = World()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    global WORKER_METRICS_PORT
    WORKER_METRICS_PORT = WORKER_METRICS_PORT or free_port()
    procs = start_stack(port)
    try:
        time.sleep(3)
        groups = process_groups(procs)
        mem_start = memory(groups)
        cpu_start = psutil.cpu_times()
        samples: list = []
        mem_samples: list = [(0, mem_start)]
        posted: list = []
        threads = [threading.Thread(target=node_loop, args=(url, n), daemon=True) for n in world.nodes]
        threads += [
            threading.Thread(
                target=analyst_loop, args=(url, world.tokens[m.pk], m.agency.port_id or "BEANR"), daemon=True
            )
            for m in world.analysts
        ]
        threads += [
            threading.Thread(target=portal_loop, args=(url, m.user.username), daemon=True) for m in world.portal_users
        ]
        threads.append(threading.Thread(target=officer_loop, args=(url, world, posted), daemon=True))
        t0 = time.monotonic()
        mon = threading.Thread(target=monitor, args=(t0, samples, groups, mem_samples), daemon=True)
        for t in [*threads, mon]:
            t.start()
        stop.wait(SECONDS)
        stop.set()
        for t in threads:
            t.join(timeout=90)
        mon.join(timeout=30)
        ran = time.monotonic() - t0
        load_end = os.getloadavg()
        cpu_end = psutil.cpu_times()
        mem_end = memory(groups)

        # Drain: how long until every accepted scan is relayed, with no more load.
        drain_start = time.monotonic()
        drain = []
        while True:
            count, age = backlog()
            drain.append((time.monotonic() - drain_start, count, queue_depth()))
            if count == 0 or time.monotonic() - drain_start > DRAIN_SECONDS:
                break
            time.sleep(5)
        drained_in = time.monotonic() - drain_start
        time.sleep(2)
        mem_idle = memory(groups)
        report(
            world, ran, samples, drain, drained_in, mem_samples, mem_end, mem_idle, posted, load_end, cpu_start, cpu_end
        )
        report_metrics(url, world)
    finally:
        stop.set()
        for proc in procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in procs.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        connections.close_all()


def report(
    world, ran, samples, drain, drained_in, mem_samples, mem_end, mem_idle, posted, load_end, cpu_start, cpu_end
):
    total = sum(sum(c.values()) for c in statuses.values())
    five = sum(n for c in statuses.values() for code, n in c.items() if code >= 500)
    print(
        f"\n# Requests: {total:,} in {ran:.0f} s ({total / ran:.1f}/s); 5xx: {five}; "
        f"transport errors: {sum(transport_errors.values())}"
    )
    busy = sum(getattr(cpu_end, f) - getattr(cpu_start, f) for f in ("user", "system", "nice", "irq", "softirq"))
    print(
        f"machine CPU busy over the run: {busy / ran / psutil.cpu_count() * 100:.0f} % of {psutil.cpu_count()} "
        f"cores; load average at the end {tuple(round(x, 2) for x in load_end)}"
    )
    print(f"\n{'endpoint kind':<26} {'requests':>9} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}  statuses")
    for kind in sorted(latencies):
        values = latencies[kind]
        codes = ", ".join(f"{code}: {n}" for code, n in sorted(statuses[kind].items()))
        print(
            f"{kind:<26} {len(values):>9,} {pct(values, 50) * 1000:>8.0f} {pct(values, 99) * 1000:>8.0f} "
            f"{max(values) * 1000:>8.0f}  {codes}"
        )
    for what, n in transport_errors.most_common():
        print(f"  ! {what}: {n}")

    scans = len(accepted.docs)
    print(f"\n# Ingest: {scans:,} scans accepted ({scans / ran:.1f}/s), {accepted.rejected} rejected")
    print("\n# Relay backlog (outbox rows not yet relayed), every 10 s")
    print(f"{'t s':>5} {'accepted':>9} {'pending':>8} {'oldest s':>9} {'queue':>6}")
    for t, sent, count, age, queue in samples:
        print(f"{t:>5.0f} {sent:>9,} {count:>8,} {age:>9.1f} {queue:>6}")
    pend = [s[2] for s in samples]
    if pend:
        print(
            f"pending during the run: median {statistics.median(pend):.0f}, max {max(pend)}; "
            f"oldest pending at most {max(s[3] for s in samples):.1f} s"
        )
    print(f"after the load stopped: {drain[0][1]} pending -> {drain[-1][1]} in {drained_in:.1f} s")

    print("\n# Memory per process: RSS MiB (USS MiB)")
    names = list(mem_samples[0][1])
    cols = [*mem_samples, ("end", mem_end), ("idle", mem_idle)]
    print(f"{'process':<38}" + "".join(f"{str(t) + ('' if isinstance(t, str) else ' s'):>16}" for t, _ in cols))
    for name in names:
        row = ""
        for _, mem in cols:
            rss, uss, n = mem.get(name, (0, 0, 0))
            row += f"{f'{rss:.0f} ({uss:.0f})' + (f' x{n}' if n > 1 else ''):>16}"
        print(f"{name:<38}{row}")

    print("\n# Nothing lost")
    stored = set(map(str, Scan.objects.filter(node_id__in=[n.id for n in world.nodes]).values_list("id", flat=True)))
    sent = set(accepted.docs)
    print(
        f"scans: accepted {len(sent):,}, stored {len(stored):,}, accepted but missing {len(sent - stored)}, "
        f"stored but never acknowledged {len(stored - sent)}"
    )
    expected = {(scan_id, a) for scan_id, doc in accepted.docs.items() for a in world.expected(doc)}
    actual = set()
    reasons = Counter()
    for scan_id, agency_id, reason in (
        Delivery.objects.filter(scan__node_id__in=[n.id for n in world.nodes])
        .values_list("scan_id", "agency_id", "reason")
        .iterator(chunk_size=5000)
    ):
        reasons[reason] += 1
        if reason != "shared":
            actual.add((str(scan_id), agency_id))
    private = set(Agency.objects.filter(sector=Sector.PRIVATE).values_list("pk", flat=True))
    print(
        f"deliveries: expected {len(expected):,}, stored {len(actual):,} ({', '.join(f'{k} {v:,}' for k, v in sorted(reasons.items()))}); "
        f"missing {len(expected - actual)}, unexpected {len(actual - expected)}, to private agencies "
        f"{sum(1 for _, a in actual if a in private)}"
    )
    grants = ScanGroupObjectPermission.objects.filter(content_object__node_id__in=[n.id for n in world.nodes]).count()
    print(f"read grants on the soak's scans: {grants:,} (one per delivery: {grants == len(actual)})")
    alerts = Alert.objects.filter(pk__in=posted).count()
    print(f"alerts: posted (201) {len(posted)}, stored {alerts}")

    print("\n# Errors in the server logs")
    for name in ("gunicorn", "worker", "beat"):
        text = (OUT / f"soak-{name}.log").read_text(errors="replace")
        tracebacks = text.count("Traceback (most recent call last)") + text.count('"exception"')
        levels: Counter = Counter()
        not_json = 0
        for line in text.splitlines():
            try:
                levels[json.loads(line).get("level", "?")] += 1
            except ValueError:
                not_json += 1 if line.strip() else 0
        errors = levels["ERROR"] + levels["CRITICAL"]
        print(f"{name}: {tracebacks} tracebacks, {errors} ERROR/CRITICAL lines, {not_json} lines that are not JSON")


def _scrape(url: str) -> dict:
    text = requests.get(url, timeout=30).text
    return {f.name: f for f in text_string_to_metric_families(text)}


def _sum(families: dict, name: str, sample: str, **labels) -> float:
    family = families.get(name)
    if family is None:
        return 0.0
    return sum(
        s.value for s in family.samples if s.name == sample and all(s.labels.get(k) == v for k, v in labels.items())
    )


def _quantile(families: dict, name: str, q: float) -> float:
    """A quantile from a histogram's cumulative buckets (the upper bound of the bucket it falls in)."""
    buckets = sorted((float(s.labels["le"]), s.value) for s in families[name].samples if s.name == f"{name}_bucket")
    total = buckets[-1][1] if buckets else 0
    for bound, count in buckets:
        if total and count >= q * total:
            return bound
    return float("nan")


def report_metrics(url: str, world) -> None:
    """The same run as /metrics and the worker's endpoint saw it, beside what the database and the client saw."""
    print("\n# From /metrics (web) and the worker's metrics endpoint")
    web = _scrape(f"{url}/metrics")
    worker = _scrape(f"http://127.0.0.1:{WORKER_METRICS_PORT}/metrics")
    pushed = "alliance_scans_pushed_total"
    accepted_m = _sum(web, "alliance_scans_pushed", pushed, result="accepted")
    rejected_m = _sum(web, "alliance_scans_pushed", pushed, result="rejected")
    stored = Scan.objects.filter(node_id__in=[n.id for n in world.nodes]).count()
    print(f"scans accepted: /metrics {accepted_m:,.0f}, database {stored:,}, client {len(accepted.docs):,}")
    print(f"scans rejected: /metrics {rejected_m:,.0f}, client {accepted.rejected:,}")
    requests_m = _sum(web, "alliance_http_requests", "alliance_http_requests_total")
    five_m = sum(
        s.value
        for s in web["alliance_http_requests"].samples
        if s.name == "alliance_http_requests_total" and s.labels["status"].startswith("5")
    )
    client_total = sum(sum(c.values()) for c in statuses.values())
    print(f"requests: /metrics {requests_m:,.0f} (5xx {five_m:,.0f}), client {client_total:,}")
    print(
        "request time from /metrics: p50 <= {:.3f} s, p99 <= {:.3f} s".format(
            _quantile(web, "alliance_http_request_duration_seconds", 0.5),
            _quantile(web, "alliance_http_request_duration_seconds", 0.99),
        )
    )
    relayed = _sum(worker, "alliance_scans_relayed", "alliance_scans_relayed_total")
    print(
        "relay: {:,.0f} relayed; lag p50 <= {:.2f} s, p99 <= {:.2f} s; backlog now {:.0f}".format(
            relayed,
            _quantile(worker, "alliance_relay_lag_seconds", 0.5),
            _quantile(worker, "alliance_relay_lag_seconds", 0.99),
            _sum(web, "alliance_relay_backlog", "alliance_relay_backlog"),
        )
    )
    tasks = worker.get("alliance_celery_tasks")
    if tasks:
        by_state: Counter = Counter()
        for s in tasks.samples:
            if s.name == "alliance_celery_tasks_total":
                by_state[s.labels["state"]] += s.value
        print("celery tasks: " + ", ".join(f"{state} {n:,.0f}" for state, n in sorted(by_state.items())))
    print(
        "webhook attempts: "
        + (
            ", ".join(
                f"{s.labels['result']} {s.value:,.0f}"
                for s in worker.get("alliance_webhook_attempts", web["alliance_relay_backlog"]).samples
                if s.name == "alliance_webhook_attempts_total"
            )
            or "none"
        )
        + f"; dead letters now {_sum(web, 'alliance_webhook_dead_letters', 'alliance_webhook_dead_letters'):.0f}"
    )


if __name__ == "__main__":
    main()
