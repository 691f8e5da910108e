"""Trends benchmark: the trends API's p95 and a full displacement detection run as the rollups grow.

Rollups are daily per (port, origin, verdict), as stored by the relay: 40 member ports x 20 origins, one
row per verdict present that day. The full size is 3 years (1096 days): about 0.88 M cells a day-port-origin,
~1.6 M rollup rows, ~10 M scans (printed exactly). 1/4 and 1/2 are the same alliance with a shorter history
(the way the data grow). Rows are generated in PostgreSQL (INSERT ... SELECT generate_series), then
VACUUM ANALYZE, as autovacuum would.

The weekly and monthly rollups (kept by the same hooks in production) are then rebuilt from the daily rows
(`trends.services.rollups.rebuild_periods`, as the migration that introduced them does).

Requests go through the whole stack (Django test client, token auth, DRF). A liaison (exact counts) runs four
dashboard queries two ways side by side: "daily" reads every day from the daily rollups (the path before the
period rollups, `selectors.PERIOD_ROLLUPS = False`), "periods" reads whole weeks and months from the period
rollups and only the range's edges from the daily table; both answers are compared (identical JSON) before
timing. Then the outsider path: a Rotterdam analyst, who sees every other port only through release cells
(access.release), runs the same queries (the daily one on Rotterdam, the only port they may ask by day), and,
after the detection run, the displacement flag list with its evidence.

Run by `make bench` (scripts/bench.sh: throwaway PostgreSQL, migrated), or alone with DATABASE_URL set.
Environment: BENCH_TRENDS_DAYS (default "274,548,1096"), BENCH_TRENDS_REQUESTS (per query, default 20).
Figures are recorded in docs/benchmarks.md ("Trends and displacement detection").
"""

import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alliance.settings.test")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.db.models import Sum  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from ports.models import Hub, Port  # noqa: E402
from ports.services import agency_ensure, member_add, reference_ports_load, token_issue  # noqa: E402
from trends import selectors  # noqa: E402
from trends.analytics.synthetic import ORIGIN_CODES, PORT_CODES  # noqa: E402
from trends.models import DailyRollup, MonthlyRollup, WeeklyRollup  # noqa: E402
from trends.services.displacement import detect_and_store  # noqa: E402
from trends.services.rollups import rebuild_periods  # noqa: E402

N_PORTS, N_ORIGINS = 40, 20
TABLE = DailyRollup._meta.db_table


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[18] if len(samples) >= 20 else max(samples)


def world() -> tuple[list[str], list[str]]:
    reference_ports_load()
    members = list(Port.objects.filter(is_member=True).order_by("locode").values_list("locode", flat=True))
    for code in PORT_CODES:
        if len(members) >= N_PORTS:
            break
        if code not in members:
            Port.objects.update_or_create(
                locode=code, defaults={"name": code, "country": code[:2], "hub": Hub.SOUTHERN, "is_member": True}
            )
            members.append(code)
    ports = sorted(members)[:N_PORTS]
    Port.objects.filter(is_member=True).exclude(locode__in=ports).update(is_member=False, hub=None)
    origins = list(ORIGIN_CODES[:N_ORIGINS])
    for code in origins:
        Port.objects.get_or_create(locode=code, defaults={"name": code, "country": code[:2]})
    return ports, origins


def fill(days: int, ports: list[str], origins: list[str]) -> tuple[int, int]:
    """Daily rollups for the last `days` days, generated in the database, then the period rollups from them;
    returns (daily rows, scans)."""
    end = timezone.now().date()
    start = end - timedelta(days=days - 1)
    with connection.cursor() as cur:
        cur.execute(f"TRUNCATE {TABLE}, {WeeklyRollup._meta.db_table}, {MonthlyRollup._meta.db_table}")
        # Per (day, port, origin): clear ~10.5 scans always; inconclusive half the days; suspect a quarter;
        # positive one day in twenty; a port's size varies its volume (x0.5 .. x1.5).
        cur.execute(
            f"""
            INSERT INTO {TABLE} (day, port_id, origin_id, verdict, scans, seized_kg, inspected_positive)
            SELECT d::date, p.code, o.code, v.verdict,
                   CASE v.verdict WHEN 'clear' THEN 1 + floor(random() * 19 * p.size)::int ELSE 1 END,
                   CASE v.verdict WHEN 'positive' THEN round((random() * 200)::numeric, 1)::float ELSE 0 END,
                   CASE v.verdict WHEN 'positive' THEN 1 ELSE 0 END
            FROM generate_series(%s::date, %s::date, interval '1 day') AS d
            CROSS JOIN (SELECT unnest(%s::text[]) AS code, 0.5 + random() AS size) AS p
            CROSS JOIN unnest(%s::text[]) AS o(code)
            CROSS JOIN (VALUES ('clear', 1.0), ('inconclusive', 0.5), ('suspect', 0.25), ('positive', 0.05))
                AS v(verdict, share)
            -- a per-row pseudo-random draw (a bare random() here is evaluated once per verdict, not per row)
            WHERE abs(hashtext(d::text || p.code || o.code || v.verdict)) %% 10000 < v.share * 10000
            """,
            [start, end, ports, origins],
        )
        cur.execute(f"SELECT count(*), coalesce(sum(scans), 0) FROM {TABLE}")
        rows, scans = cur.fetchone()
    rebuild_periods()
    with connection.cursor() as cur:
        for model in (DailyRollup, WeeklyRollup, MonthlyRollup):
            cur.execute(f"VACUUM ANALYZE {model._meta.db_table}")
    return rows, scans


def clients() -> dict[str, Client]:
    out = {}
    for username, slug, role in [
        ("bench.liaison", "europol", "liaison"),
        ("bench.analyst", "nlrtm-customs", "analyst"),
    ]:
        if slug == "europol":
            agency = agency_ensure(kind="eu_agency", port=None, name="Europol", slug="europol")
        else:
            agency = agency_ensure(kind="customs", port=Port.objects.get(pk="NLRTM"), name="Rotterdam customs")
        user = member_add(username=username, agency=agency, role=role, password="bench-password", display_name=username)
        user = getattr(user, "user", user)
        _, raw = token_issue(user=user, name="bench")
        out[role] = Client(HTTP_AUTHORIZATION=f"Token {raw}", HTTP_HOST="localhost")
    return out


def queries(origins: list[str], day_port: str = "BEANR") -> dict[str, str]:
    today = timezone.now().date()
    three_years = (today - timedelta(days=1095)).isoformat()
    return {
        "default (1 year, weekly, all ports)": "/api/v1/trends/",
        "one origin, 3 years, monthly": f"/api/v1/trends/?origin={origins[0]}&since={three_years}&bucket=month",
        f"one port ({day_port}), 1 year, daily": f"/api/v1/trends/?port={day_port}&bucket=day",
        "one hub, 3 years, weekly": f"/api/v1/trends/?hub=north_west&since={three_years}&bucket=week",
    }


def outsider_timings(client: Client, urls: dict[str, str], n: int) -> None:
    """The analyst's requests: every port but their own through release cells."""
    for name, url in urls.items():
        samples = []
        for i in range(n + 2):
            elapsed, _ = timed(client, url)
            if i >= 2:
                samples.append(elapsed)
        print(f"  outsider {name:40s} median {statistics.median(samples):6.1f} ms p95 {p95(samples):6.1f} ms")


def _plan_lines(sql: str, params) -> str:
    with connection.cursor() as cur:
        cur.execute("EXPLAIN " + sql, params)
        plan = [r[0] for r in cur.fetchall()]
    return " | ".join(line.strip() for line in plan if "Scan" in line)


def explain() -> None:
    q = selectors.parse_trend_query({"port": "BEANR", "bucket": "day"})
    sql, params = selectors.rollup_cells(q, ["BEANR"]).query.sql_with_params()
    print("  EXPLAIN one port, 1 year, daily:", _plan_lines(sql, params))
    q = selectors.parse_trend_query({})
    ports = list(selectors._port_scope(q))
    sql, params = selectors.rollup_cells(q, ports).query.sql_with_params()
    print("  EXPLAIN all ports, 1 year (daily path):", _plan_lines(sql, params))
    plan = selectors.read_plan(q.since, q.until, q.bucket)
    print("  read plan all ports, 1 year (periods path):", ", ".join(f"{k} {lo}..{hi}" for k, lo, hi in plan))
    qs = WeeklyRollup.objects.filter(start__gte=q.since, start__lte=q.until, port_id__in=ports)
    sql, params = qs.values("port_id", "start").annotate(n=Sum("scans")).order_by().query.sql_with_params()
    print("  EXPLAIN its weekly span:", _plan_lines(sql, params))


def timed(client: Client, url: str) -> tuple[float, dict]:
    t = time.perf_counter()
    response = client.get(url)
    elapsed = (time.perf_counter() - t) * 1000
    assert response.status_code == 200, (url, response.status_code, response.content[:300])
    return elapsed, response.json()


def main() -> None:
    sizes = [int(s) for s in os.environ.get("BENCH_TRENDS_DAYS", "274,548,1096").split(",")]
    n = int(os.environ.get("BENCH_TRENDS_REQUESTS", "20"))
    ports, origins = world()
    by_role = clients()
    print(f"trends benchmark: {len(ports)} ports x {len(origins)} origins, daily rollups per verdict")
    for days in sizes:
        t = time.perf_counter()
        rows, scans = fill(days, ports, origins)
        weekly, monthly = WeeklyRollup.objects.count(), MonthlyRollup.objects.count()
        print(
            f"\n== {days} days: {rows:,} daily rollup rows ({weekly:,} weekly, {monthly:,} monthly), "
            f"{scans:,} scans (built in {time.perf_counter() - t:.1f} s)"
        )
        for name, url in queries(origins).items():
            samples: dict[bool, list[float]] = {False: [], True: []}
            for i in range(n + 2):
                client = by_role["liaison"]
                answers = {}
                # Both paths on the same request, in alternating order, so load on the machine hits both alike.
                for fast in (i % 2 == 0, i % 2 == 1):
                    selectors.PERIOD_ROLLUPS = fast
                    elapsed, answers[fast] = timed(client, url)
                    if i >= 2:  # two warm-up requests
                        samples[fast].append(elapsed)
                assert answers[True] == answers[False], f"the two paths answer differently: {url}"
            selectors.PERIOD_ROLLUPS = True
            print(
                f"  {name:40s} daily: median {statistics.median(samples[False]):6.1f} ms p95 "
                f"{p95(samples[False]):6.1f} ms | periods: median {statistics.median(samples[True]):6.1f} ms "
                f"p95 {p95(samples[True]):6.1f} ms"
            )
        outsider_timings(by_role["analyst"], queries(origins, day_port="NLRTM"), n)
        explain()
        t = time.perf_counter()
        result = detect_and_store()
        print(f"  full detection run: {time.perf_counter() - t:.2f} s ({result['flags']} flags)")
        outsider_timings(by_role["analyst"], {"displacement flags (first page)": "/api/v1/displacement/"}, n)


if __name__ == "__main__":
    main()
