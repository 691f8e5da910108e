"""Federation benchmark (SPEC 10.2, issue 15): the pull sync's throughput, its lag under a steady flow, and the
catch-up of a backlog.

1. The apply step alone, before and after side by side: on the benchmark database playing instance `nl`, a
   peer `be` (its portal and agency keys held by this script, its signed instance document applied as
   `add_peer` applies it) sends pages of 1,000 STIX reports, each a real Ed25519-signed alert (GREEN, one in
   five AMBER for `nlrtm-customs`, one in ten naming a container); each page in its own transaction, through
   `apply_objects_one_by_one` (before: `store_copy` per object) and `apply_objects` (after: the bulk path of
   `federation/apply.py`). *fresh*: every object new; *replay*: the same pages again (nothing stored).
2. Two real instances, `be` and `nl`, started as `make federation` starts them (web, worker and beat each, a
   database each on the benchmark's PostgreSQL), peered: a backlog of BENCH_FEDERATION_BACKLOG (20,000) alerts
   published at `be` while `nl`'s beat is stopped, then the time until `nl` holds them all (end to end: pages
   served by `be`'s TAXII federation collection, fetched, verified, stored); then 100 alerts a second published
   at `be` for BENCH_FEDERATION_STEADY_SECONDS (60), each one's lag from its commit at `be` to the moment it is
   seen stored at `nl` (polled every 0.25 s), p50/p95/p99.

Run by `make bench` (scripts/bench.sh), or alone with DATABASE_URL, PG_ADMIN_URL and REDIS_URL set.
BENCH_FEDERATION_SIZE (10,000) and BENCH_FEDERATION_SIZE_BEFORE (1,000) size step 1; BENCH_FEDERATION_LIVE=0 skips
step 2. Figures in docs/benchmarks.md ("Federation").
"""

import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alliance.settings.test")

import django  # noqa: E402

django.setup()

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402
from django.db import transaction  # noqa: E402
from django.test import override_settings  # noqa: E402
from django.utils import timezone  # noqa: E402

from correlation.models import Correlation  # noqa: E402
from federation.models import FederatedCopy, Peer, PeerReason  # noqa: E402
from federation.services import apply_instance_document, apply_objects, apply_objects_one_by_one  # noqa: E402
from interop import stix  # noqa: E402
from ports import signing  # noqa: E402
from ports.keys import public_jwk, public_x  # noqa: E402
from ports.models import Agency, AgencyKind, Port  # noqa: E402
from ports.services import agency_ensure, reference_ports_load  # noqa: E402
from sharing.models import Alert, AlertVersion  # noqa: E402

PAGE = 1000  # FEDERATION_PAGE_SIZE
SIZE = int(os.environ.get("BENCH_FEDERATION_SIZE", "10000"))
SIZE_BEFORE = int(os.environ.get("BENCH_FEDERATION_SIZE_BEFORE", "1000"))  # the one-by-one path is slow


def _container(i: int) -> str:
    """A valid ISO 6346 number of its own per alert: correlation looks each up (and finds nothing)."""
    from stdnum import iso6346

    prefix = f"BNCU{i % 1_000_000:06d}"
    return prefix + iso6346.calc_check_digit(prefix)


LIVE_BACKLOG = int(os.environ.get("BENCH_FEDERATION_BACKLOG", "20000"))
LIVE_STEADY_SECONDS = float(os.environ.get("BENCH_FEDERATION_STEADY_SECONDS", "60"))
STEADY_RATE = 100.0
ROOT = Path(__file__).resolve().parent.parent


def _jwk(key: Ed25519PrivateKey, owner: str) -> dict:
    return {**public_jwk(public_x(key.public_key())), "owner": owner, "status": "active"}


def _setup() -> tuple[Peer, dict, Ed25519PrivateKey]:
    reference_ports_load()
    port = Port.objects.get(locode="BEANR")
    customs = agency_ensure(kind=AgencyKind.CUSTOMS, port=port, name="Antwerp Customs")
    agency_ensure(kind=AgencyKind.CUSTOMS, port=Port.objects.get(locode="NLRTM"), name="Rotterdam Customs")
    portal, key = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    payload = {
        "instance": "be",
        "url": "http://be.bench",
        "agencies": [{"slug": customs.slug, "name": customs.name, "kind": customs.kind, "port": "BEANR"}],
        "keys": [_jwk(portal, "portal"), _jwk(key, customs.slug)],
        "issued_at": signing.rfc3339(timezone.now()),
    }
    Peer.objects.filter(pk="be").delete()
    peer = Peer.objects.create(id="be", url="http://be.bench", key_thumbprint=payload["keys"][0]["kid"])
    apply_instance_document(peer, payload)
    return peer, {"slug": customs.slug, "kid": payload["keys"][1]["kid"]}, key


def _objects(n: int, signer: dict, key: Ed25519PrivateKey) -> list[dict]:
    now = signing.rfc3339(timezone.now().replace(microsecond=0))
    out = []
    for i in range(n):
        amber = i % 5 == 0
        doc = {
            "id": str(uuid.uuid4()),
            "version": 1,
            "type": "alert",
            "status": "active",
            "agency": signer["slug"],
            "author": f"{signer['slug']}/bench1",
            "port": "BEANR",
            "title": f"Benchmark alert {i}",
            "body": "Seals replaced, cloned seal numbers attached. Check the doors of the reefer containers.",
            "category": "seal_tampering",
            "severity": "medium",
            "tlp": "AMBER" if amber else "GREEN",
            "audience": {"agencies": ["nlrtm-customs"] if amber else [], "ports": [], "users": []},
            "containers": [_container(i)] if i % 10 == 0 else [],
            "vessels": [],
            "origin": "ECGYE",
            "valid_until": None,
            "source_reliability": "B",
            "information_reliability": "2",
            "handling": None,
            "created_at": now,
        }
        jws = signing.sign_with_private_key(doc, key, signer["kid"], "alert+json")
        out.append(
            {
                "type": "report",
                "spec_version": "2.1",
                "id": stix.report_id("alert", doc["id"]),
                "extensions": {
                    stix.EXTENSION_ID: {"extension_type": "property-extension", "document": doc, "jws": jws}
                },
            }
        )
    return out


def _apply(apply, peer: Peer, objects: list[dict]) -> tuple[float, int, int]:
    started, applied, already = time.perf_counter(), 0, 0
    for start in range(0, len(objects), PAGE):
        with transaction.atomic():
            result = apply(peer, objects[start : start + PAGE])
        applied += result.applied
        already += result.already
        assert not result.refused, result.refused
    return time.perf_counter() - started, applied, already


def _cleanup(objects: list[dict]) -> None:
    ids = [o["extensions"][stix.EXTENSION_ID]["document"]["id"] for o in objects]
    FederatedCopy.objects.filter(object_id__in=ids).delete()
    Correlation.objects.all().delete()
    AlertVersion.objects.filter(alert_id__in=ids).delete()
    Alert.objects.filter(pk__in=ids).delete()


def apply_step() -> float:
    """The receiving side alone, one-by-one (before) and bulk (after); returns the bulk fresh rate."""
    rows = []
    with override_settings(INSTANCE_ID="nl", HOME_AGENCIES=["port:NLRTM"]):
        peer, signer, key = _setup()
        for name, apply, size in (
            ("before (one by one)", apply_objects_one_by_one, SIZE_BEFORE),
            ("after (bulk)", apply_objects, SIZE),
        ):
            objects = _objects(size, signer, key)
            fresh, applied, _ = _apply(apply, peer, objects)
            replay, _, already = _apply(apply, peer, objects)
            assert (applied, already) == (size, size), (applied, already)
            rows.append((name, size, fresh, replay))
            _cleanup(objects)
        PeerReason.objects.filter(peer=peer).delete()
        Agency.objects.filter(home_instance="be").update(home_instance="")
    print(f"apply step (no HTTP), pages of {PAGE}, one in ten alerts names a container of its own (correlated)")
    print(f"{'variant':<22} {'objects':>8} {'fresh s':>8} {'fresh obj/s':>12} {'replay obj/s':>13}")
    for name, size, fresh, replay in rows:
        print(f"{name:<22} {size:>8} {fresh:>8.2f} {size / fresh:>12.0f} {size / replay:>13.0f}")
    before, after = rows[0][1] / rows[0][2], rows[1][1] / rows[1][2]
    print(f"bulk/one-by-one fresh rate: x{after / before:.1f}")
    return after


# ---------------------------------------------------------------- two real instances

PUBLISHER = """
import sys, time
from sharing.services.alerts import alert_publish
from ports.models import Membership
total, rate, first = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
member = Membership.objects.get(user__username="antwerp.officer", agency__slug="beanr-customs")
from stdnum import iso6346
started = time.time()
for n in range(total):
    if rate:
        time.sleep(max(0.0, started + n / rate - time.time()))
    i = first + n
    amber = i % 5 == 0
    alert = alert_publish(membership=member, data={
        "title": f"Live benchmark alert {i}", "body": "Seals replaced, cloned seal numbers attached.",
        "category": "seal_tampering", "severity": "medium", "tlp": "AMBER" if amber else "GREEN",
        "audience": {"agencies": ["nlrtm-customs"] if amber else [], "ports": [], "users": []},
        "containers": [f"BNCU{i:06d}" + iso6346.calc_check_digit(f"BNCU{i:06d}")] if i % 10 == 0 else [],
        "vessels": [],
        "port": "BEANR", "origin": "ECGYE", "valid_until": None, "source_reliability": "B",
        "information_reliability": "2", "handling": None,
    })
    print(alert.pk, time.time(), flush=True)
"""


def _harness():
    import importlib.util

    spec = importlib.util.spec_from_file_location("federation_local", ROOT / "scripts" / "federation_local.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _pair(base: Path):
    """Instances `be` and `nl` on the benchmark's PostgreSQL (a database each) and Redis, as `make federation`
    runs them: web, worker and beat each, the sync on beat at its default interval."""
    import psycopg

    harness = _harness()
    admin = os.environ["PG_ADMIN_URL"]
    with psycopg.connect(admin, autocommit=True) as conn:
        for name in ("be", "nl"):
            conn.execute(f'DROP DATABASE IF EXISTS "bench_fed_{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "bench_fed_{name}"')
    pg_base, redis_base = admin.rsplit("/", 1)[0], os.environ["REDIS_URL"].rsplit("/", 1)[0]
    secrets = {"SECRET_KEY": "bench-federation", "ALLIANCE_KEK": "bench-federation-kek", "DEMO_PASSWORD": "bench"}
    instances = {}
    for number, (instance_id, home) in enumerate((("be", "port:BEANR"), ("nl", "port:NLRTM")), start=5):
        instances[instance_id] = harness.Instance(
            id=instance_id,
            home=home,
            port=harness.free_port(),
            database_url=f"{pg_base}/bench_fed_{instance_id}",
            redis_url=f"{redis_base}/{number}",
            var=base / instance_id,
            secrets={**secrets, "SECRET_KEY": f"bench-federation-{instance_id}"},
            extra_env={"FEDERATION_SETTINGS": os.environ.get("DJANGO_SETTINGS_MODULE", "alliance.settings.test")},
        )
    return harness.Federation(instances)


def _publish(be, total: int, rate: float, first: int, *, processes: int = 1, sink: dict | None = None) -> dict:
    """Publish at `be` through the service (validate, sign, store, hooks), `rate` a second (0: as fast as it
    goes) over `processes`; each id lands in `sink` with its commit time as soon as it is published."""
    code = PUBLISHER
    share = total // processes
    sink = {} if sink is None else sink
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import django\ndjango.setup()\n" + code,
                str(share),
                str(rate / processes),
                str(first + k * share),
            ],
            cwd=ROOT,
            env=be.env(),
            stdout=subprocess.PIPE,
            text=True,
        )
        for k in range(processes)
    ]

    def read(proc):
        for line in proc.stdout:
            alert_id, at = line.split()
            sink[alert_id] = float(at)

    readers = [threading.Thread(target=read, args=(p,)) for p in procs]
    for t in readers:
        t.start()
    for p in procs:
        assert p.wait() == 0, "a publisher failed"
    for t in readers:
        t.join()
    return sink


def _held_at(nl_db: str, ids: list[str]) -> set[str]:
    import psycopg

    with psycopg.connect(nl_db) as conn:
        rows = conn.execute(
            "SELECT object_id::text FROM federation_federatedcopy WHERE object_id = ANY(%s::uuid[])", (ids,)
        ).fetchall()
    return {r[0] for r in rows}


def _watch(nl_db: str, published: dict[str, float], busy, timeout: float, every: float = 0.25) -> dict[str, float]:
    """When each published id is first seen stored at nl; polls while `busy()` and until all are seen."""
    seen: dict[str, float] = {}
    deadline = None
    while True:
        pending = [i for i in list(published) if i not in seen]
        if pending:
            now = time.time()
            for alert_id in _held_at(nl_db, pending):
                seen[alert_id] = now
        if not busy():
            deadline = deadline or time.time() + timeout
            if len(seen) >= len(published) or time.time() > deadline:
                return seen
        time.sleep(every)


def live() -> None:
    import tempfile

    with tempfile.TemporaryDirectory(prefix="bench-federation-") as tmp:
        fed = _pair(Path(tmp))
        be, nl = fed.instances["be"], fed.instances["nl"]
        try:
            fed.prepare()
            fed.start()
            fed.peer()
            nl.stop("beat")  # nl does not pull while be's backlog is made
            t0 = time.time()
            backlog = _publish(be, LIVE_BACKLOG, 0, 0, processes=2)
            made = time.time() - t0
            started = time.time()
            nl.start_beat()
            seen = _watch(nl.database_url, backlog, lambda: False, 3600, every=1.0)
            assert len(seen) == len(backlog), (len(seen), len(backlog))
            catch_up = max(seen.values()) - started
            # Steady: STEADY_RATE a second for LIVE_STEADY_SECONDS, each object's lag from its commit at be to
            # the moment it is seen stored at nl.
            published: dict[str, float] = {}
            thread = threading.Thread(
                target=_publish,
                args=(be, int(STEADY_RATE * LIVE_STEADY_SECONDS), STEADY_RATE, len(backlog)),
                kwargs={"processes": 2, "sink": published},
            )
            thread.start()
            arrived = _watch(nl.database_url, published, thread.is_alive, 120)
            thread.join()
        finally:
            fed.stop()
    lags = sorted(arrived[i] - published[i] for i in published if i in arrived)
    span = max(published.values()) - min(published.values())

    def pct(p: float) -> float:
        return lags[min(len(lags) - 1, int(p * len(lags)))]

    print()
    print("two instances be -> nl (web, worker and beat each; the sync on beat every 10 s; pages of 1000)")
    print(f"backlog: {len(backlog)} alerts published at be in {made:.0f} s (two publishers)")
    print(
        f"catch-up: nl held all {len(backlog)} after {catch_up:.1f} s = {len(backlog) / catch_up:.0f} verified "
        "objects/s end to end (page served by be, fetched, verified, stored, feed and audit written at nl)"
    )
    print(f"catch-up of 100,000 at that rate: {100_000 / (len(backlog) / catch_up):.0f} s")
    print(
        f"steady: {len(published)} alerts over {span:.0f} s ({len(published) / span:.0f}/s achieved, "
        f"{STEADY_RATE:.0f}/s asked); lag commit at be -> stored at nl: p50 {pct(0.5):.1f} s, "
        f"p95 {pct(0.95):.1f} s, p99 {pct(0.99):.1f} s, max {lags[-1]:.1f} s; not arrived: {len(published) - len(lags)}"
    )


def main() -> None:
    rate = apply_step()
    print(f"catch-up of 100,000 objects at the bulk apply rate (apply only): {100_000 / rate:.0f} s")
    if os.environ.get("BENCH_FEDERATION_LIVE", "1") != "0":
        live()


if __name__ == "__main__":
    main()
