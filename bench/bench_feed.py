"""Alert feed benchmark: first page of the feed for a typical analyst as the table grows, and publish + sign.

Run by `make bench` against a throwaway PostgreSQL (scripts/bench.sh migrates it first), or alone with
DATABASE_URL set. Every bulk-loaded alert carries its own real signature (Ed25519 signing is cheap next
to the insert), so the feed verifies and serves them as it would in production.

Environment: BENCH_FEED_SIZES (default "10000,100000"), BENCH_FEED_REQUESTS (default 40).
Figures are ratios between sizes on the same machine, recorded in docs/benchmarks.md ("Alert feed").
"""

import os
import random
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alliance.settings.test")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402
from stdnum import iso6346  # noqa: E402

import access  # noqa: E402
from ports import signing  # noqa: E402
from ports.models import Agency, AgencyKind, Membership, Port, Role, Sector  # noqa: E402
from ports.services import agency_key_ensure, reference_ports_load, token_issue  # noqa: E402
from sharing.models import Alert, AlertGrant, AlertIdentifier, AlertVersion, Category, GrantKind, Tlp  # noqa: E402
from sharing.services.alerts import alert_publish  # noqa: E402

RNG = random.Random(20261122)
AGENCIES = 200
MEMBERS = 10_000
TLP_MIX = [(Tlp.GREEN, 40), (Tlp.CLEAR, 10), (Tlp.AMBER, 30), (Tlp.AMBER_STRICT, 10), (Tlp.RED, 10)]
KINDS = [AgencyKind.CUSTOMS, AgencyKind.POLICE, AgencyKind.PORT_AUTHORITY, AgencyKind.TERMINAL_OPERATOR,
         AgencyKind.SHIPPING_LINE, "customs", "police"]  # fmt: skip
WORDS = "reefer seal rip-on bags divers hull cocaine cloned container compressor pallets bananas coffee".split()


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[18] if len(samples) >= 20 else max(samples)


def setup_world():
    """200 agencies at the member ports (plus Europol) and 10,000 members, in bulk."""
    reference_ports_load()
    ports = list(Port.objects.filter(is_member=True).order_by("locode"))
    agencies = []
    for i in range(AGENCIES):
        port = ports[i % len(ports)]
        kind = str(KINDS[(i // len(ports)) % len(KINDS)])
        slug = f"{port.locode.lower()}-{kind.replace('_', '-')}-{i}"
        agency = Agency(slug=slug, name=slug, kind=kind, port=port)
        agency.sector = Sector.PRIVATE if kind in ("terminal_operator", "shipping_line") else Sector.PUBLIC
        agencies.append(agency)
    Agency.objects.bulk_create(agencies, batch_size=500)
    agencies = list(Agency.objects.order_by("id"))
    User = get_user_model()
    User.objects.bulk_create([User(username=f"bench{i}") for i in range(MEMBERS)], batch_size=2000)
    users = list(User.objects.filter(username__startswith="bench").order_by("id"))
    memberships = []
    for i, user in enumerate(users):
        agency = agencies[i % len(agencies)]
        role = Role.OFFICER if i % 5 == 0 else Role.ANALYST
        memberships.append(
            Membership(
                user=user, agency=agency, role=role, agency_sector=agency.sector, handle=f"{agency.slug}/{i:06x}"
            )
        )
    Membership.objects.bulk_create(memberships, batch_size=2000)
    return agencies, list(Membership.objects.select_related("agency").order_by("id"))


def _container() -> str:
    body = f"MSCU{RNG.randrange(1_000_000):06d}"
    return body + iso6346.calc_check_digit(body)


def bulk_alerts(n: int, agencies, memberships, keys) -> None:
    """n alerts, each signed for real with its agency's held key, inserted in bulk."""
    by_agency: dict[int, list[Membership]] = {}
    for m in memberships:
        by_agency.setdefault(m.agency_id, []).append(m)
    ports = [a.port_id for a in agencies if a.port_id]
    tlps = [t for t, w in TLP_MIX for _ in range(w)]
    now = timezone.now().replace(microsecond=0)
    batch_alerts, batch_versions, batch_grants, batch_ids = [], [], [], []

    def flush():
        with transaction.atomic():
            Alert.objects.bulk_create(batch_alerts, batch_size=2000)
            AlertVersion.objects.bulk_create(batch_versions, batch_size=2000)
            AlertGrant.objects.bulk_create(batch_grants, batch_size=5000)
            AlertIdentifier.objects.bulk_create(batch_ids, batch_size=5000)
        for batch in (batch_alerts, batch_versions, batch_grants, batch_ids):
            batch.clear()

    for _ in range(n):
        agency = RNG.choice(agencies)
        author = RNG.choice(by_agency[agency.id])
        tlp = RNG.choice(tlps)
        audience = {"agencies": [], "ports": [], "users": []}
        grants = []
        if tlp in (Tlp.AMBER, Tlp.AMBER_STRICT):
            named = RNG.sample(agencies, RNG.randint(1, 3))
            audience["agencies"] = sorted({a.slug for a in named})
            grants += [dict(kind=GrantKind.AGENCY, agency=a) for a in {a.id: a for a in named}.values()]
        if tlp == Tlp.AMBER:
            named_ports = sorted(set(RNG.sample(ports, RNG.randint(0, 2))))
            audience["ports"] = named_ports
            grants += [dict(kind=GrantKind.PORT, port_id=p) for p in named_ports]
        if tlp == Tlp.RED:
            named_members = {m.id: m for m in RNG.sample(memberships, RNG.randint(1, 4))}.values()
            audience["users"] = sorted(m.handle for m in named_members)
            grants += [dict(kind=GrantKind.USER, member=m) for m in named_members]
        created = now - timezone.timedelta(seconds=RNG.randrange(365 * 86400))
        box = _container()
        fields = {
            "status": "active",
            "port": agency.port_id,
            "title": f"{RNG.choice(WORDS)} {RNG.choice(WORDS)} {RNG.choice(WORDS)}",
            "body": " ".join(RNG.choice(WORDS) for _ in range(40)),
            "category": RNG.choice(Category.values),
            "severity": RNG.choice(["low", "medium", "high", "critical"]),
            "tlp": str(tlp),
            "containers": [box],
            "vessels": [],
            "origin": "ECGYE",
            "valid_until": None,
            "source_reliability": None,
            "information_reliability": None,
            "handling": None,
        }
        alert_id = uuid.uuid4()
        doc = {
            **fields,
            "id": str(alert_id),
            "version": 1,
            "type": "alert",
            "agency": agency.slug,
            "author": author.handle,
            "audience": audience,
            "created_at": signing.rfc3339(created),
        }
        private, kid = keys[agency.id]
        jws = signing.sign_with_private_key(doc, private, kid, "alert+json")
        columns = {k: v for k, v in fields.items() if k not in ("port", "origin")}
        common = dict(columns, version=1, agency_id=agency.id, author=author.handle, port_id=agency.port_id,
                      origin_id="ECGYE", created_at=created, key_id=kid, jws=jws)  # fmt: skip
        alert = Alert(id=alert_id, first_created_at=created, **common)
        batch_alerts.append(alert)
        batch_versions.append(AlertVersion(alert=alert, audience=audience, **common))
        batch_grants += [AlertGrant(alert=alert, **g) for g in grants]
        batch_ids.append(AlertIdentifier(alert=alert, kind="container", value=box))
        if len(batch_alerts) >= 5000:
            flush()
    flush()
    from sharing.search import document_vector

    Alert.objects.filter(search_vector__isnull=True).update(
        search_vector=document_vector(("title", "body", "category"))
    )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")  # what autovacuum does after a load: visibility map for index-only scans


def measure_feed(client: Client, requests: int, params: dict | None = None) -> tuple[float, float, int]:
    samples = []
    count = 0
    for _ in range(requests):
        start = time.perf_counter()
        response = client.get("/api/v1/alerts/", params or {})
        samples.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.content[:300]
        body = response.json()
        count = body["count"]
        assert len(body["results"]) == 50, len(body["results"])
    return statistics.median(samples), p95(samples), count


def measure_sql(user, requests: int) -> tuple[float, float]:
    """p95 of the two queries the feed runs for the reader: the first page, and the capped count."""
    from sharing.api.alerts import EXACT_COUNT_UP_TO

    qs = access.alerts_visible_to(user).order_by("-created_at", "-id")
    page, count = [], []
    for _ in range(requests):
        start = time.perf_counter()
        list(qs.values_list("id", flat=True)[:50])
        page.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        qs.order_by().values("pk")[: EXACT_COUNT_UP_TO + 1].count()
        count.append((time.perf_counter() - start) * 1000)
    return p95(page), p95(count)


def main() -> None:
    if connection.vendor != "postgresql":
        sys.exit("bench_feed needs PostgreSQL (DATABASE_URL)")
    sizes = [int(s) for s in os.environ.get("BENCH_FEED_SIZES", "10000,100000").split(",")]
    requests = int(os.environ.get("BENCH_FEED_REQUESTS", "40"))
    started = time.perf_counter()
    agencies, memberships = setup_world()
    keys = {}
    for agency in agencies:
        key = agency_key_ensure(agency)
        keys[agency.id] = (signing.held_private_key(key), key.kid)
    # A typical analyst: public-sector customs at a busy member port.
    analyst = next(m for m in memberships if m.role == Role.ANALYST and m.agency.kind == "customs")
    _, raw = token_issue(user=analyst.user, name="bench")
    client = Client(HTTP_AUTHORIZATION=f"Token {raw}", HTTP_HOST="localhost")
    print(f"world: {len(agencies)} agencies, {len(memberships)} members ({time.perf_counter() - started:.1f}s)")
    print(f"reader: {analyst.handle} ({analyst.agency.kind} at {analyst.agency.port_id})")
    print()
    print(
        f"{'alerts':>9} {'visible':>9} {'count':>9} {'feed p50':>9} {'feed p95':>9} {'q p95':>8}"
        f" {'page SQL':>9} {'count SQL':>9} {'load s':>7}"
    )
    loaded = 0
    baseline = None
    for size in sizes:
        t = time.perf_counter()
        bulk_alerts(size - loaded, agencies, memberships, keys)
        loaded = size
        load_s = time.perf_counter() - t
        measure_feed(client, 3)  # warm caches
        p50, p95_ms, reported = measure_feed(client, requests)
        _, q95, _ = measure_feed(client, max(requests // 4, 5), {"q": "reefer"})
        visible = access.alerts_visible_to(analyst.user).count()  # the exact figure, for comparison
        page_sql, count_sql = measure_sql(analyst.user, requests)
        baseline = baseline or p95_ms
        print(
            f"{size:>9} {visible:>9} {reported:>9} {p50:>7.1f}ms {p95_ms:>7.1f}ms {q95:>6.1f}ms"
            f" {page_sql:>7.1f}ms {count_sql:>7.1f}ms {load_s:>7.1f}   p95 x{p95_ms / baseline:.2f}"
        )
    officer = next(m for m in memberships if m.role == Role.OFFICER and m.agency.sector == Sector.PUBLIC)
    samples = []
    for i in range(40):
        start = time.perf_counter()
        alert_publish(
            membership=officer,
            data={"title": f"bench {i}", "body": "Seals replaced.", "category": "seal_tampering",
                  "severity": "high", "tlp": "AMBER",
                  "audience": {"agencies": [agencies[1].slug], "ports": ["NLRTM"], "users": []}},
        )  # fmt: skip
        samples.append((time.perf_counter() - start) * 1000)
    print()
    print(f"publish + sign: p50 {statistics.median(samples):.1f}ms, p95 {p95(samples):.1f}ms (40 publishes)")


if __name__ == "__main__":
    main()
