"""Faults during a stream of publishes at `be` (SPEC 10.2: "a peer down, restarted or cut off catches up from its
cursor with nothing lost, duplicated or leaked; clocks may differ by minutes").

Three real instances (`be`, `nl`, `europol`: web, worker, beat each, their own PostgreSQL database), the sync on
beat at its default interval. While `be` publishes FAULT_PUBLISHES alerts (500 by default, 2,000 in the issue) (mixed TLPs and audiences, some
narrowed or withdrawn by a new version, some H2 that never leaves `be`):
- `nl` is stopped and restarted;
- `nl`'s connection to `be` is cut for FAULT_CUT_SECONDS (60): `nl` reads `be` through a TCP proxy run by this
  test, which drops every connection and refuses new ones for that long;
- `nl`'s clock is five minutes ahead the whole time (CLOCK_SKEW_SECONDS=300, federation's clock).
Afterwards, at every instance, what each member reads through the API (`GET /api/v1/alerts/`) equals what the
access rule of SPEC section 4 computes at `be` from the originals for that member's agencies: nothing lost,
nothing duplicated, nothing leaked, every version the latest.
"""

import contextlib
import json
import os
import socket
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from .test_live import _api, _now, figures, running_federation

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

# The issue asks for 2,000 publishes. On the shared 2-core machine (load 15-20) be publishes about 3 alerts a second
# through its API, so 2,000 take over ten minutes; 500 keep the faults phase near three minutes. The run with
# FAULT_PUBLISHES=2000 passed (docs/federation.md, "Tests").
PUBLISHES = int(os.environ.get("FAULT_PUBLISHES", "500"))
CUT_SECONDS = float(os.environ.get("FAULT_CUT_SECONDS", "60"))
SKEW_SECONDS = 300
PUBLISHERS = 3  # concurrent clients at be
CATCH_UP_TIMEOUT = 240.0
MEMBERS = {
    "be": ["antwerp.officer"],
    "nl": ["rotterdam.analyst", "rotterdam.officer", "rotterdam.terminal"],
    "europol": ["europol.analyst", "europol.liaison"],
}


class Proxy:
    """A TCP forwarder on a fixed local port: `cut()` drops every connection and refuses new ones, `restore()`
    listens again. Test infrastructure between nl's puller and be, not a stand-in for either."""

    def __init__(self, upstream_port: int):
        self.upstream = ("127.0.0.1", upstream_port)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.lock = threading.Lock()
        self.sockets: set[socket.socket] = set()
        self.listener: socket.socket | None = None
        self.cuts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        self.cuts += 1
        listener, self.listener = self.listener, None
        if listener is not None:
            listener.close()
        with self.lock:
            for s in list(self.sockets):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()
            self.sockets.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut
            try:
                upstream = socket.create_connection(self.upstream, timeout=10)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.sockets.update((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.close()
            with self.lock:
                self.sockets.discard(src)
                self.sockets.discard(dst)


@pytest.fixture(scope="module")
def faulty(tmp_path_factory):
    """The three instances, `nl` five minutes ahead and reading `be` through a proxy."""
    base = tmp_path_factory.mktemp("faults")
    with running_federation(base, env={"nl": {"CLOCK_SKEW_SECONDS": str(SKEW_SECONDS)}}) as fed:
        proxy = Proxy(fed.instances["be"].port)
        proxy.restore()
        fed.instances["nl"].shell(
            f"from federation.models import Peer\nPeer.objects.filter(pk='be').update(url='{proxy.url}')"
        )
        fed.proxy = proxy
        yield fed
        proxy.cut()


def _shape(n: int, members: dict[str, str]) -> dict:
    """Publish n's fields: GREEN, CLEAR, AMBER for an agency at nl, at europol or at both, AMBER for the port of
    Rotterdam, AMBER+STRICT for Rotterdam customs, and GREEN with handling H2 (never leaves be)."""
    none = {"agencies": [], "ports": [], "users": []}
    shapes = [
        {"tlp": "GREEN", "audience": none},
        {"tlp": "CLEAR", "audience": none},
        {"tlp": "AMBER", "audience": {**none, "agencies": ["nlrtm-customs"]}},
        {"tlp": "AMBER", "audience": {**none, "agencies": ["europol"]}},
        {"tlp": "AMBER", "audience": {**none, "agencies": ["europol", "nlrtm-customs"]}},
        {"tlp": "AMBER", "audience": {**none, "ports": ["NLRTM"]}},
        {"tlp": "AMBER+STRICT", "audience": {**none, "agencies": ["nlrtm-customs"]}},
        {"tlp": "GREEN", "audience": none, "handling": "H2"},
    ]
    return shapes[n % len(shapes)]


class Publisher:
    """PUBLISHES alerts at be through its API from PUBLISHERS threads; every 25th a new version narrowing a
    GREEN alert to Rotterdam customs (a tombstone for europol), every 40th a withdrawal."""

    def __init__(self, fed, total: int):
        self.base, self.session_token = _api(fed, "be", "antwerp.officer")[0], fed.tokens[("be", "antwerp.officer")]
        self.total = total
        self.done = 0
        self.errors: list[str] = []
        self.ids: list[str] = []
        self.lock = threading.Lock()
        self.next = 0
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(PUBLISHERS)]

    def start(self) -> None:
        for t in self.threads:
            t.start()

    def join(self, timeout: float) -> None:
        for t in self.threads:
            t.join(timeout)

    def _claim(self) -> int | None:
        with self.lock:
            if self.next >= self.total:
                return None
            self.next += 1
            return self.next - 1

    def _run(self) -> None:
        from ..sharing.conftest import alert_fields

        session = requests.Session()
        session.headers["Authorization"] = f"Token {self.session_token}"
        while (n := self._claim()) is not None:
            fields = alert_fields(title=f"Fault run {n}", **_shape(n, {}))
            for attempt in range(5):
                try:
                    response = session.post(f"{self.base}/api/v1/alerts/", json=fields, timeout=60)
                    break
                except requests.RequestException as exc:
                    if attempt == 4:
                        self.errors.append(f"publish {n}: {exc}")
                        response = None
                    time.sleep(1)
            if response is None:
                continue
            if response.status_code != 201:
                self.errors.append(f"publish {n}: {response.status_code} {response.text[:200]}")
                continue
            alert_id = response.json()["id"]
            change = None
            if n % 25 == 0 and fields["tlp"] == "GREEN" and not fields.get("handling"):
                change = {"tlp": "AMBER", "audience": {"agencies": ["nlrtm-customs"], "ports": [], "users": []}}
            elif n % 40 == 1:
                change = {"status": "withdrawn"}
            if change is not None:
                again = session.post(f"{self.base}/api/v1/alerts/{alert_id}/versions/", json=change, timeout=60)
                if again.status_code != 201:
                    self.errors.append(f"version of {n}: {again.status_code} {again.text[:200]}")
            with self.lock:
                self.ids.append(alert_id)
                self.done += 1


def _wait(check, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.5)
    pytest.fail(f"{what}: not within {timeout} s")


def _reads(fed, instance_id: str, username: str, since: str) -> list[tuple[str, int, str]]:
    """Every alert of beanr-customs published since `since` that the member reads at that instance."""
    base, session = _api(fed, instance_id, username)
    url = f"{base}/api/v1/alerts/"
    params: dict | None = {"agency": "beanr-customs", "since": since, "page_size": 200}
    out = []
    while url:
        response = session.get(url, params=params, timeout=60)
        assert response.status_code == 200, response.text
        body = response.json()
        out += [(item["id"], item["version"], item["status"]) for item in body["results"]]
        url, params = body["next"], None
    return out


def _agencies_of(fed) -> dict[tuple[str, str], list[str]]:
    out = {}
    for instance_id, usernames in MEMBERS.items():
        code = (
            "import json\nfrom ports.models import Membership\n"
            f"print(json.dumps({{u: sorted(Membership.objects.filter(user__username=u, is_active=True)"
            f".values_list('agency__slug', flat=True)) for u in {usernames!r}}}))"
        )
        found = json.loads(fed.instances[instance_id].shell(code).strip().splitlines()[-1])
        for username, slugs in found.items():
            assert slugs, f"{username} has no membership at {instance_id}"
            out[(instance_id, username)] = slugs
    return out


def _expected(fed, agencies: dict[tuple[str, str], list[str]], since: str) -> dict[tuple[str, str], set]:
    """At be, from the originals: what each member's agencies may read (section 4), and of that what may leave
    be (no H2/H3) for a member homed elsewhere. The member's reads are their agencies' (no RED in this run)."""
    wanted = {f"{i}:{u}": [i, slugs] for (i, u), slugs in agencies.items()}
    code = (
        "import json\nimport access\nfrom ports.models import Agency\nfrom access.reader import reader_for_agencies\n"
        f"wanted = {wanted!r}\nout = {{}}\n"
        "for key, (instance, slugs) in wanted.items():\n"
        "    reader = reader_for_agencies(Agency.objects.filter(slug__in=slugs, is_active=True))\n"
        "    qs = access.alerts_visible_to(reader) if instance == 'be' else access.alerts_exportable_to(reader)\n"
        f"    qs = qs.filter(agency__slug='beanr-customs', created_at__gte='{since}')\n"
        "    out[key] = [[str(i), v, s] for i, v, s in qs.values_list('id', 'version', 'status')]\n"
        "print(json.dumps(out))"
    )
    found = json.loads(fed.instances["be"].shell(code).strip().splitlines()[-1])
    return {tuple(key.split(":", 1)): {tuple(x) for x in rows} for key, rows in found.items()}


def test_faults_lose_duplicate_and_leak_nothing(faulty, tmp_path: Path):
    fed = faulty
    nl = fed.instances["nl"]
    since = _now()[:19] + "Z"
    started = time.monotonic()
    publisher = Publisher(fed, PUBLISHES)
    publisher.start()
    timeline: list[str] = []

    def mark(what: str) -> None:
        timeline.append(f"{time.monotonic() - started:6.1f} s  {publisher.done:5d} published  {what}")

    # Fault 1: nl stopped (web, worker, beat) while be publishes, then restarted.
    _wait(lambda: publisher.done >= PUBLISHES // 10, 300, "the first tenth published")
    nl.stop()
    mark("nl stopped")
    _wait(lambda: publisher.done >= PUBLISHES // 4, 300, "a quarter published")
    nl.start()
    nl.wait_web()
    mark("nl restarted")
    # Fault 2: nl's connection to be cut, then restored.
    _wait(lambda: publisher.done >= PUBLISHES * 2 // 5, 300, "two fifths published")
    cut_at = (datetime.now(UTC) + timedelta(seconds=SKEW_SECONDS)).isoformat().replace("+00:00", "Z")  # nl's clock
    fed.proxy.cut()
    mark(f"nl cut off from be for {CUT_SECONDS:.0f} s")
    time.sleep(CUT_SECONDS)
    fed.proxy.restore()
    mark("connection restored")
    publisher.join(600)
    mark("publishing done")
    assert not publisher.errors, publisher.errors[:5]
    assert publisher.done == PUBLISHES

    # The cut was seen at nl as an error (recorded on nl's clock, five minutes ahead).
    error = figures(fed, "nl")["be"]["last_error"]
    assert error is not None
    assert error["at"] > cut_at, error

    agencies = _agencies_of(fed)
    expected = _expected(fed, agencies, since)
    assert sum(1 for (i, _), rows in expected.items() if i == "nl" and rows) >= 2

    def compare() -> dict:
        report = {}
        for (instance_id, username), want in expected.items():
            got = _reads(fed, instance_id, username, since)
            ids = Counter(alert_id for alert_id, _, _ in got)
            report[(instance_id, username)] = {
                "expected": len(want),
                "read": len(got),
                "lost": sorted(want - set(got))[:5],
                "leaked": sorted(set(got) - want)[:5],
                "duplicated": [i for i, c in ids.items() if c > 1][:5],
            }
        return report

    last: dict = {}

    def caught_up() -> bool:
        nonlocal last
        last = compare()
        return all(not (r["lost"] or r["leaked"] or r["duplicated"]) for r in last.values())

    deadline = time.monotonic() + CATCH_UP_TIMEOUT
    while not caught_up():
        if time.monotonic() > deadline:
            pytest.fail(
                "not caught up:\n" + "\n".join(timeline) + "\n" + json.dumps({str(k): v for k, v in last.items()})
            )
        time.sleep(5)
    mark("every member at every instance reads exactly what section 4 computes")
    print("\n".join(timeline))
    for (instance_id, username), r in sorted(last.items()):
        print(f"{instance_id:8} {username:20} expected {r['expected']:5d} read {r['read']:5d}")
    # Both faults happened while objects were pending, and nl saw them through (not an idle instance).
    assert fed.proxy.cuts == 1
    nl_figures = figures(fed, "nl")["be"]
    assert nl_figures["applied"] >= len(expected[("nl", "rotterdam.analyst")])
    assert nl_figures["lag"]["seconds"] == 0  # caught up; never negative with a clock five minutes ahead
    # And the tombstones of the narrowed alerts reached europol: none of them is read there.
    assert figures(fed, "be")["europol"]["reasons"]["left_out"].get("audience:no-home-reader", 0) > 0
