"""TAXII 2.1 benchmark: first page and full paging of the `alerts` collection, and medallion 3.0.0 beside it.

Everything goes through the whole stack over HTTP: a live gunicorn (one worker, as the live tests run it) on the
benchmark database, a personal token, `Accept: application/taxii+json;version=2.1`, `requests` parsing every
page as a client would. Alerts are bulk-loaded as bench/bench_feed.py does (every row signed for real), then
announced to the feed as the migration's backfill does (one `FeedEntry` per alert version, the identities of
the agencies) and numbered by the production sequencer (`interop.services.sequence_all`).

Two readers, since the access filter's cost differs:
- wide: a customs analyst on a GREEN-heavy mix (CLEAR 10 %, GREEN 60 %, AMBER 20 %, AMBER+STRICT 5 %, RED 5 %):
  sees about three quarters of the objects;
- narrow: another public-sector analyst on an AMBER-heavy alliance: for that run the CLEAR and GREEN alerts'
  head rows are switched to AMBER (no grants) in SQL, so the reader sees only what their agency wrote and what
  names their agency, port or themselves (about 1 %); the switch is undone afterwards. Visibility follows the
  head row; the versions served keep their signed TLP, so every object the reader receives still verifies.

Per size and reader: first page p50/p95 at `limit=100` (the default) and at the server's maximum, then full
paging at the maximum (following `next` to the end: objects received, objects/s).

medallion 3.0.0 (memory backend, its own Flask server in a subprocess) at the small sizes: a data file of every
STIX object our server holds at that size (reports built by our own mapping, the agencies' identities), with
`date_added` shared by the objects of one writing transaction (1 to 10 objects, as a bulk import or a
multi-object publish stamps them). Beside our server: first page p95 and full paging by `next` (both at
`limit=100`, medallion's page size). Then a client that pages medallion by `added_after` (the last page's
`X-TAXII-Date-Added-Last`, as incremental TAXII clients do) counts the objects it received against the objects
present (oasis-tcs/cti-taxii2#50); the same walk against our server for comparison.

Run by `make bench` (scripts/bench.sh: throwaway PostgreSQL, migrated), or alone with DATABASE_URL set.
Environment: BENCH_TAXII_SIZES (default "1000,10000,100000"; the full run adds 1000000), BENCH_TAXII_LOADED (the
number of alerts a database loaded by an earlier run holds: measure only, at that size), BENCH_TAXII_BASELINE (another
checkout served beside this one on the same database: before and after, reader by reader, in one run),
BENCH_TAXII_MEDALLION_SIZES (default "1000": medallion answers one page in about 7 s at 1,000
objects and quadratically more beyond, see docs/benchmarks.md), BENCH_TAXII_REQUESTS (first-page samples, default 40).
Figures are recorded in docs/benchmarks.md ("TAXII 2.1").
"""

import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alliance.settings.test")

import requests  # noqa: E402
from django.db import connection  # noqa: E402

from bench import bench_feed as feed  # noqa: E402 - sets Django up
from interop import selectors, stix  # noqa: E402
from interop.models import FeedEntry, FeedKind  # noqa: E402
from interop.services import _identity_fields, copy_heads, sequence_all  # noqa: E402
from ports import signing  # noqa: E402
from ports.models import Membership, Role, Sector  # noqa: E402
from ports.services import agency_key_ensure, token_issue  # noqa: E402
from sharing.models import AlertVersion, Tlp  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TAXII = "application/taxii+json;version=2.1"
COLLECTION = "0c9c6a57-3b8e-4f3e-9f0a-2d4c1b7e8a11"  # `alerts`
OBJECTS = f"/taxii2/alliance/collections/{COLLECTION}/objects/"
GREEN_HEAVY = [(Tlp.CLEAR, 10), (Tlp.GREEN, 60), (Tlp.AMBER, 20), (Tlp.AMBER_STRICT, 5), (Tlp.RED, 5)]
p95 = feed.p95


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(url: str, proc: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            requests.get(url, timeout=5)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        proc.wait(timeout=20)


# ---------------------------------------------------------------- the feed, as the backfill writes it

_STIX_ID_SQL = """
    'report--' || encode(set_byte(set_byte(d, 6, (get_byte(d, 6) & 15) | 64), 8, (get_byte(d, 8) & 63) | 128),
                         'hex')::uuid::text
"""


def announce() -> int:
    """One entry per alert version not yet announced (stix ids derived in SQL exactly as `stix.report_id`),
    the agencies' identities, then the production sequencer numbers them; returns the entries made."""
    namespace = stix.NAMESPACE.bytes.hex()
    with connection.cursor() as cur:
        cur.execute(
            f"""
            INSERT INTO interop_feedentry (kind, object_id, version, agency_id, row_id, handling, stix_id, modified,
                                           created_at)
            SELECT 'alert', v.alert_id, v.version, v.agency_id, v.id, v.handling, {_STIX_ID_SQL},
                   date_trunc('second', v.created_at) + v.version * interval '1 millisecond', now()
            FROM (SELECT v.*, substring(sha256(decode(%s, 'hex') || convert_to('alert' || chr(31) || v.alert_id::text,
                                                                                'UTF8')) FROM 1 FOR 16) AS d
                  FROM sharing_alertversion v) AS v
            ORDER BY v.id
            ON CONFLICT DO NOTHING
            """,
            [namespace],
        )
        made = cur.rowcount
    from ports.models import Agency

    FeedEntry.objects.bulk_create(
        [FeedEntry(**f) for f in _identity_fields(Agency.objects.all())], ignore_conflicts=True
    )
    copy_heads()  # the head tlp and author each entry carries, as migration 0004 and the publish hooks set them
    sample = FeedEntry.objects.filter(kind=FeedKind.ALERT).order_by("?").first()
    assert sample is not None
    assert sample.stix_id == stix.report_id(FeedKind.ALERT, sample.object_id), sample
    version = AlertVersion.objects.get(pk=sample.row_id)
    assert sample.modified == stix.version_modified(version.created_at, version.version), sample
    sequence_all()
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE interop_feedentry")
    return made


def narrow_switch(on: bool) -> None:
    """The AMBER-heavy alliance for the narrow reader: CLEAR and GREEN head rows become AMBER (and back)."""
    with connection.cursor() as cur:
        if on:
            cur.execute("UPDATE sharing_alert SET tlp = 'AMBER' WHERE tlp IN ('CLEAR', 'GREEN')")
        else:
            cur.execute(
                "UPDATE sharing_alert a SET tlp = v.tlp FROM sharing_alertversion v "
                "WHERE v.alert_id = a.id AND v.version = a.version AND a.tlp <> v.tlp"
            )
        # The feed entries' copies of the head tlp follow, as `interop.services` keeps them on a new version.
        cur.execute(
            "UPDATE interop_feedentry e SET tlp = a.tlp FROM sharing_alert a "
            "WHERE e.kind = 'alert' AND e.object_id = a.id AND e.tlp IS DISTINCT FROM a.tlp"
        )
        cur.execute("VACUUM ANALYZE sharing_alert")
        cur.execute("VACUUM ANALYZE interop_feedentry")


# ---------------------------------------------------------------- HTTP measurements (any TAXII 2.1 server)


class Reader:
    def __init__(self, base: str, objects_path: str, auth: dict | tuple):
        self.url = base + objects_path
        self.session = requests.Session()
        self.session.headers["Accept"] = TAXII
        if isinstance(auth, tuple):
            self.session.auth = auth
        else:
            self.session.headers.update(auth)

    def get(self, **params) -> requests.Response:
        response = self.session.get(self.url, params=params, timeout=600)
        assert response.status_code == 200, (response.status_code, response.text[:300])
        return response

    def first_page(self, limit: int, n: int, warm: bool = True) -> tuple[float, float, int]:
        if warm:
            self.get(limit=limit)
        samples, count = [], 0
        for _ in range(n):
            start = time.perf_counter()
            body = self.get(limit=limit).json()
            samples.append((time.perf_counter() - start) * 1000)
            count = len(body.get("objects", []))
        return statistics.median(samples), p95(samples), count

    def page_by_next(self, limit: int) -> tuple[int, int, float]:
        """Follow `next` to the end: (objects, distinct ids+versions, seconds)."""
        seen: set[tuple[str, str]] = set()
        received = 0
        start = time.perf_counter()
        params: dict = {"limit": limit}
        while True:
            body = self.get(**params).json()
            objects = body.get("objects", [])
            received += len(objects)
            seen.update((o["id"], o.get("modified", "")) for o in objects)
            if not body.get("more"):
                return received, len(seen), time.perf_counter() - start
            params = {"limit": limit, "next": body["next"]}

    def page_by_added_after(self, limit: int) -> tuple[int, int]:
        """An incremental client: `added_after` = the last page's X-TAXII-Date-Added-Last; (received, distinct)."""
        seen: set[tuple[str, str]] = set()
        received = 0
        params: dict = {"limit": limit}
        while True:
            response = self.get(**params)
            objects = response.json().get("objects", [])
            if not objects:
                return received, len(seen)
            received += len(objects)
            seen.update((o["id"], o.get("modified", "")) for o in objects)
            params = {"limit": limit, "added_after": response.headers["X-TAXII-Date-Added-Last"]}


def side_by_side(readers: dict[str, Reader], limit: int, n: int) -> dict[str, tuple[float, float]]:
    """First page p50 and p95 of each server, one request to each in turn: both see the same load."""
    for reader in readers.values():
        reader.get(limit=limit)
    samples: dict[str, list[float]] = {label: [] for label in readers}
    for _ in range(n):
        for label, reader in readers.items():
            start = time.perf_counter()
            reader.get(limit=limit).json()
            samples[label].append((time.perf_counter() - start) * 1000)
    return {label: (statistics.median(xs), p95(xs)) for label, xs in samples.items()}


def page_in_lockstep(readers: dict[str, Reader], limit: int) -> dict[str, tuple[int, int, float]]:
    """Full paging by `next` on each server, a page from each in turn; (objects, distinct, seconds spent in that
    server's own requests)."""
    state = {label: {"params": {"limit": limit}, "seen": set(), "received": 0, "seconds": 0.0} for label in readers}
    running = set(readers)
    while running:
        for label in sorted(running):
            own = state[label]
            start = time.perf_counter()
            body = readers[label].get(**own["params"]).json()
            own["seconds"] += time.perf_counter() - start
            objects = body.get("objects", [])
            own["received"] += len(objects)
            own["seen"].update((o["id"], o.get("modified", "")) for o in objects)
            if body.get("more"):
                own["params"] = {"limit": limit, "next": body["next"]}
            else:
                running.discard(label)
    return {label: (own["received"], len(own["seen"]), own["seconds"]) for label, own in state.items()}


def start_alliance(root: Path = ROOT) -> tuple[subprocess.Popen, str]:
    """A gunicorn of the checkout at `root` (this one, or BENCH_TAXII_BASELINE's) on the benchmark database."""
    port = free_port()
    env = dict(os.environ, DJANGO_SETTINGS_MODULE=os.environ["DJANGO_SETTINGS_MODULE"], PYTHONPATH=str(root))
    cmd = [sys.executable, "-m", "gunicorn", "alliance.wsgi:application", "--bind", f"127.0.0.1:{port}",
           "--workers", "1", "--threads", "4", "--timeout", "600", "--log-level", "warning"]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=root, env=env, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    wait_until_up(base + "/login/", proc)
    return proc, base


# ---------------------------------------------------------------- medallion 3.0.0 (memory backend)


def medallion_data(path: Path, seed: int) -> int:
    """Every STIX object our feed holds (built by our mapping), date_added shared per writing transaction."""
    rng = random.Random(seed)
    objects: list[dict] = []
    entries = FeedEntry.objects.filter(seq__isnull=False).order_by("seq").select_related("agency")
    batch: list[FeedEntry] = []
    for entry in entries.iterator(chunk_size=2000):
        batch.append(entry)
        if len(batch) == 2000:
            objects += selectors.stix_objects(selectors.Page(entries=batch, more=False, next=""))
            batch = []
    objects += selectors.stix_objects(selectors.Page(entries=batch, more=False, next=""))
    manifest, clock, left = [], 1_700_000_000.0, 0
    for obj in objects:
        if left == 0:  # a new transaction: 1 to 10 objects stamped with its one time
            clock += 0.25
            left = rng.randint(1, 10)
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(clock)) + f".{int(clock % 1 * 1e6):06d}Z"
        left -= 1
        manifest.append(
            {"id": obj["id"], "date_added": stamp, "version": obj["modified"], "media_type": stix.MEDIA_TYPE}
        )
    data = {
        "/discovery": {
            "title": "medallion",
            "default": "http://127.0.0.1/api1/",
            "api_roots": ["http://127.0.0.1/api1/"],
        },
        "api1": {
            "information": {"title": "api1", "versions": [TAXII], "max_content_length": 10_000_000},
            "status": [],
            "collections": [
                {
                    "id": COLLECTION,
                    "title": "alerts",
                    "can_read": True,
                    "can_write": False,
                    "media_types": [stix.MEDIA_TYPE],
                    "objects": objects,
                    "manifest": manifest,
                }  # fmt: skip
            ],
        },
    }
    path.write_text(json.dumps(data))
    return len(objects)


def start_medallion(data_file: Path, workdir: Path) -> tuple[subprocess.Popen, str]:
    config = workdir / "medallion.json"
    config.write_text(
        json.dumps(
            {
                "backend": {
                    "module": "medallion.backends.memory_backend",
                    "module_class": "MemoryBackend",
                    "filename": str(data_file),
                    "session_timeout": 3600,
                },  # fmt: skip
                "users": {"bench": "bench-pass"},
                "taxii": {"max_page_size": 100},
            }
        )
    )
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "medallion.scripts.run", "--host", "127.0.0.1", "--port", str(port), str(config)],
        cwd=workdir, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    wait_until_up(base + "/taxii2/", proc)
    return proc, base


# ---------------------------------------------------------------- the run


def main() -> None:
    if connection.vendor != "postgresql":
        sys.exit("bench_taxii needs PostgreSQL (DATABASE_URL)")
    sizes = [int(s) for s in os.environ.get("BENCH_TAXII_SIZES", "1000,10000,100000").split(",")]
    medallion_sizes = {int(s) for s in os.environ.get("BENCH_TAXII_MEDALLION_SIZES", "1000").split(",") if s}
    requests_n = int(os.environ.get("BENCH_TAXII_REQUESTS", "40"))
    started = time.perf_counter()
    feed.TLP_MIX = GREEN_HEAVY
    preloaded = int(os.environ.get("BENCH_TAXII_LOADED", "0"))
    if preloaded:  # a database an earlier run loaded: measure only, at that size
        sizes = [preloaded]
        memberships = list(Membership.objects.select_related("agency").order_by("id"))
        agencies, keys = [], {}
    else:
        agencies, memberships = feed.setup_world()
        keys = {}
        for agency in agencies:
            key = agency_key_ensure(agency)
            keys[agency.id] = (signing.held_private_key(key), key.kid)
    analysts = [m for m in memberships if m.role == Role.ANALYST and m.agency.sector == Sector.PUBLIC]
    wide = next(m for m in analysts if m.agency.kind == "customs")
    narrow = next(m for m in analysts if m.agency.kind == "police" and m.agency_id != wide.agency_id)
    tokens = {}
    for name, member in (("wide", wide), ("narrow", narrow)):
        _, tokens[name] = token_issue(user=member.user, name="bench")
    print(f"world: {len(memberships)} members ({time.perf_counter() - started:.1f}s)")
    print(f"readers: wide {wide.handle}, narrow {narrow.handle}; TLP mix {[(str(t), w) for t, w in GREEN_HEAVY]}")
    max_limit = selectors.MAX_LIMIT

    # BENCH_TAXII_BASELINE: another checkout of this project (e.g. `git worktree add` of the commit before a
    # change), served by its own gunicorn on the same database and measured in turn with this one, reader by
    # reader, one request to each in turn (first pages) and a page from each in turn (full paging, timed by each
    # server's own requests): a before/after in one run, on one loaded database, under the same load.
    servers = {"": start_alliance()}
    if os.environ.get("BENCH_TAXII_BASELINE"):
        servers["before"] = start_alliance(Path(os.environ["BENCH_TAXII_BASELINE"]))
        servers = {"before": servers["before"], "after": servers[""]}
    results: list[str] = []
    comparison: list[str] = []
    skips: list[str] = []
    try:
        loaded = preloaded
        for size in sizes:
            if not preloaded:
                t = time.perf_counter()
                feed.bulk_alerts(size - loaded, agencies, memberships, keys)
                loaded = size
                announced = announce()
                load_s = time.perf_counter() - t
                print(f"\n== {size:,} alerts (loaded and announced {announced:,} entries in {load_s:.0f}s)", flush=True)
            for name in ("wide", "narrow"):
                if name == "narrow":
                    narrow_switch(True)
                readers = {
                    label: Reader(base, OBJECTS, {"Authorization": f"Token {tokens[name]}"})
                    for label, (_, base) in servers.items()
                }
                at_100 = side_by_side(readers, 100, requests_n)
                at_max = side_by_side(readers, max_limit, max(requests_n // 2, 20))
                paged = page_in_lockstep(readers, max_limit)
                for label, reader in readers.items():
                    (p50_100, p95_100), (p50_max, p95_max) = at_100[label], at_max[label]
                    received, distinct, seconds = paged[label]
                    line = (
                        f"{size:>9,} {name:>6} {label:>6} {received:>9,} {p50_100:>7.1f}ms {p95_100:>7.1f}ms"
                        f" {p50_max:>7.1f}ms {p95_max:>7.1f}ms {received / seconds:>9,.0f} {seconds:>7.1f}s"
                    )
                    assert received == distinct, (received, distinct)
                    results.append(line)
                    print(line, flush=True)
                    if name == "wide" and size in medallion_sizes and label != "before":
                        comparison += compare_with_medallion(size, reader, requests_n, skips)
                if name == "narrow":
                    narrow_switch(False)
    finally:
        for server, _ in servers.values():
            stop(server)
    print("\nalliance, over HTTP (gunicorn, 1 worker):")
    print(
        f"{'objects':>9} {'reader':>6} {'':>6} {'received':>9} {'p50@100':>9} {'p95@100':>9} {f'p50@{max_limit}':>9}"
        f" {f'p95@{max_limit}':>9} {'objects/s':>9} {'paging':>8}"
    )
    print("\n".join(results))
    if comparison:
        print("\nside by side at limit=100 (first page p95; full paging by `next`):")
        print(f"{'objects':>9} {'server':>10} {'objects':>8} {'p95':>9} {'objects/s':>9}")
        print("\n".join(comparison))
    if skips:
        print("\npaging by added_after (X-TAXII-Date-Added-Last of the previous page), limit=100:")
        print("\n".join(skips))


def compare_with_medallion(size: int, ours: Reader, requests_n: int, skips: list[str]) -> list[str]:
    lines = []
    _, p95_ours, _ = ours.first_page(100, requests_n)
    received, _, seconds = ours.page_by_next(100)
    lines.append(f"{size:>9,} {'alliance':>10} {received:>8,} {p95_ours:>7.1f}ms {received / seconds:>9,.0f}")
    got, distinct = ours.page_by_added_after(100)
    skips.append(f"  alliance  at {size:>7,}: {received:,} objects present to the reader, {distinct:,} received")
    with tempfile.TemporaryDirectory() as tmp:
        data_file = Path(tmp) / "data.json"
        present = medallion_data(data_file, seed=size)
        proc, base = start_medallion(data_file, Path(tmp))
        try:
            theirs = Reader(base, f"/api1/collections/{COLLECTION}/objects/", ("bench", "bench-pass"))
            n = 5  # each first page matches the whole manifest against every object: O(n^2), 7 s at 1,000
            _, p95_theirs, _ = theirs.first_page(100, n, warm=False)
            received, distinct, seconds = theirs.page_by_next(100)
            lines.append(
                f"{size:>9,} {'medallion':>10} {received:>8,} {p95_theirs:>7.1f}ms {received / seconds:>9,.0f}"
                + f"   ({n} first-page samples)"
            )
            if size <= 1000:  # each added_after page re-filters the whole collection: O(n^2) per request
                got, distinct = theirs.page_by_added_after(100)
                skips.append(f"  medallion at {size:>7,}: {present:,} objects present, {distinct:,} received")
        finally:
            stop(proc)
    for line in lines:
        print(line, flush=True)
    return lines


if __name__ == "__main__":
    main()
