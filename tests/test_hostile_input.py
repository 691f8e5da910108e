"""Hostile input (SPEC section 5): every kind of document x every hostile value, through the API and the pages.

Each answer is a 4xx naming the field (the error shape of SPEC section 2), nothing is stored, and in a scan
batch the hostile item alone is rejected. Bodies are written by hand (`json.dumps` with ASCII escapes) so that
NaN, Infinity, lone surrogates and 5,000 levels of nesting reach the server exactly as an attacker sends them.
"""

import json

import pytest
from django.core.management import CommandError, call_command

from ports.models import AuditEntry, SigningKey
from scans.models import InspectionOutcome, Scan
from sharing.models import Alert, Feedback, Practice
from tests.scans.helpers import Node
from tests.sharing.conftest import alert_fields, b64, verified_session  # noqa: F401 - a shared fixture
from trends.models import Measure, StatisticsRow
from webhooks.models import Endpoint

pytestmark = pytest.mark.django_db

DEEP = "__deep__"
# What an attacker puts where a value is expected; DEEP stands for 5,000 nested lists (spliced into the text).
HOSTILE = {
    "nul": "cocaine\x00",
    "lone_surrogate": "\ud800",
    "nan": float("nan"),
    "infinity": float("inf"),
    "huge": 1e308,
    "deep": DEEP,
    "nested_9": [[[[[[[[["x"]]]]]]]]],
    "string_100kb": "x" * 100_000,
    "list_for_scalar": ["a", "b"],
    "object_for_scalar": {"kg": 5},
}
BAD_DATES = {"february_30": "2026-02-30", "hour_25": "2026-03-01T25:00:00Z"}


def _text(document) -> str:
    """JSON text as an attacker writes it: NaN/Infinity literals, surrogate escapes, 5,000 levels of nesting."""
    text = json.dumps(document, ensure_ascii=True, allow_nan=True)
    return text.replace(json.dumps(DEEP), "[" * 5000 + "]" * 5000)


def _post(client, url: str, document):
    return client.post(url, data=_text(document), content_type="application/json")


def _names(response, field: str) -> bool:
    """The 400 names `field` (or, for a value the parser cannot read at all, its top-level member)."""
    errors = response.json()["errors"]
    top = field.split(".")[0]
    return field in errors or top in errors


def _counts() -> dict:
    models = (Alert, Practice, Feedback, InspectionOutcome, Scan, StatisticsRow, Measure, Endpoint, SigningKey)
    return {m.__name__: m.objects.count() for m in models} | {
        "audit": AuditEntry.objects.exclude(action__endswith=".read").count()
    }


def _row(**overrides) -> dict:
    row = {
        "period_start": "2025-01-06",
        "period_end": "2025-01-12",
        "port": "BEANR",
        "origin": "ECGYE",
        "scans": 120,
        "suspect": 4,
        "positive": 1,
        "seized_kg": 35.5,
    }
    row.update(overrides)
    return row


# ---------------------------------------------------------------- the API, every kind x every value


@pytest.fixture
def world(cast, api_as, verified_session, make_agency, monkeypatch):  # noqa: F811 - the fixture imported above
    """An officer, an admin with a verified session, a scanner node with a scan, an alert to give feedback on."""
    officer = api_as(cast["users"]["author"])
    node = Node("beanr-xr-01", make_agency("beanr-customs"))
    scan = node.push().json()
    alert = officer.post("/api/v1/alerts/", alert_fields(), format="json").json()
    monkeypatch.setattr("webhooks.services._allowed_hosts", lambda: {"siem.example.org"})
    return {
        "officer": officer,
        "analyst": api_as(cast["users"]["colleague"]),
        "admin": verified_session(cast["users"]["antwerp_admin"]),
        "node": node,
        "scan": scan,
        "alert": alert,
    }


PRACTICE = {"title": "Check reefer motors", "body": "Open the motor housing.", "tlp": "GREEN", "tags": ["reefer"]}
MEASURE = {"port": "BEANR", "origin": "ECGYE", "starts_on": "2026-01-05", "description": "All reefers scanned."}

# kind -> (client, url, a good body, the fields to poison: text, number, date)
KINDS = {
    "alert": ("officer", "/api/v1/alerts/", alert_fields(), ["title", "body"], [], ["valid_until"]),
    "practice": ("officer", "/api/v1/practices/", PRACTICE, ["title"], [], []),
    "feedback": (
        "analyst",
        "/api/v1/alerts/{alert}/feedback/",
        {"outcome": "seized", "seized_kg": 5, "note": "Found it."},
        ["note", "container"],
        ["seized_kg"],
        [],
    ),
    "outcome": (
        "officer",
        "/api/v1/scans/{scan}/outcome/",
        {"result": "positive", "seized_kg": 85.5, "substance": "cocaine"},
        ["substance", "note"],
        ["seized_kg"],
        [],
    ),
    "statistics": ("officer", "/api/v1/statistics/", {"rows": [_row()]}, ["rows.0.port"], ["rows.0.scans"], []),
    "statistics_kg": ("officer", "/api/v1/statistics/", {"rows": [_row()]}, [], ["rows.0.seized_kg"], []),
    "statistics_date": ("officer", "/api/v1/statistics/", {"rows": [_row()]}, [], [], ["rows.0.period_start"]),
    "measure": ("officer", "/api/v1/measures/", MEASURE, ["description"], [], ["starts_on"]),
    "key": ("admin", "/api/v1/keys/", {"agency": "beanr-customs", "x": None}, ["x"], [], []),
    "webhook": (
        "admin",
        "/api/v1/webhooks/",
        {"url": "https://siem.example.org/alliance", "description": "SIEM"},
        ["url", "description"],
        [],
        [],
    ),
}
NUMBERS_ONLY = {"nan", "infinity", "huge"}


def _cases():
    for kind, (_, _, _, texts, numbers, dates) in KINDS.items():
        for field in texts + numbers:
            for name in HOSTILE:
                if name == "huge" and field in texts:
                    continue  # 1e308 is a fine wrong type for text, covered by the other wrong types
                yield pytest.param(kind, field, HOSTILE[name], id=f"{kind}-{field}-{name}")
        for field in dates:
            for name, value in {**BAD_DATES, "nul": "2026-03-01\x00", "list": ["2026-03-01"]}.items():
                yield pytest.param(kind, field, value, id=f"{kind}-{field}-{name}")


def _set(body: dict, path: str, value) -> dict:
    body = json.loads(json.dumps(body))
    target = body
    *parents, last = path.split(".")
    for part in parents:
        target = target[int(part)] if isinstance(target, list) else target[part]
    if isinstance(target, list):
        target[int(last)] = value
    else:
        target[last] = value
    return body


@pytest.mark.parametrize(("kind", "field", "value"), list(_cases()))
def test_api_refuses_hostile_values_by_name(kind, field, value, world):
    who, url, good, *_ = KINDS[kind]
    url = url.format(alert=world["alert"]["id"], scan=world["scan"]["id"])
    before = _counts()
    response = _post(world[who], url, _set(good, field, value))
    assert response.status_code == 400, (response.status_code, response.content[:500])
    body = response.json()
    assert body["code"], body
    assert _names(response, field), body
    assert _counts() == before


def test_the_good_bodies_of_the_table_are_accepted(world):
    """The table above poisons bodies that are otherwise accepted: each kind stores its good body."""
    for kind in ("alert", "practice", "feedback", "outcome", "statistics", "measure", "webhook"):
        who, url, good, *_ = KINDS[kind]
        response = _post(world[who], url.format(alert=world["alert"]["id"], scan=world["scan"]["id"]), good)
        assert response.status_code == 201, (kind, response.json())


@pytest.mark.parametrize("body", ["[1, 2]", '"text"', "[" * 5000 + "]" * 5000, '{"x": NaN}'])
def test_api_bodies_that_are_not_objects(body, world):
    before = _counts()
    for who, url in [("officer", "/api/v1/measures/"), ("admin", "/api/v1/keys/"), ("officer", "/api/v1/statistics/")]:
        response = world[who].post(url, data=body, content_type="application/json")
        assert response.status_code == 400, (url, body[:20], response.content[:300])
        assert set(response.json()) == {"code", "errors"}
    assert _counts() == before


# ---------------------------------------------------------------- signed scans: single and batch


SCAN_FIELDS = {"voyage": "text", "seized_kg": "number", "score": "number", "scanned_at": "date"}


def _scan_cases():
    for field, kind in SCAN_FIELDS.items():
        values = BAD_DATES if kind == "date" else HOSTILE
        for name, value in values.items():
            if kind == "number" and name == "string_100kb":
                continue
            yield pytest.param(field, value, id=f"{field}-{name}")
    yield pytest.param("seized_kg", 100_000.5, id="seized_kg-over-100000")
    yield pytest.param("seized_kg", -1, id="seized_kg-negative")


def _canonical_is_possible(value) -> bool:
    text = json.dumps(value, ensure_ascii=True, allow_nan=True)
    return DEEP not in text and "\\ud8" not in text and "NaN" not in text and "Infinity" not in text


def _signed(node: Node, document: dict) -> str:
    """Signed by the node: canonical when the value allows it (1e308, -1: the field rules answer), else written
    by hand (NaN, a lone surrogate, 5,000 levels cannot be canonicalized; they must still be named)."""
    if _canonical_is_possible(document):
        return node.sign(document)
    header = b64(json.dumps({"alg": "EdDSA", "kid": node.kid, "typ": "scan+json"}).encode())
    payload = b64(_text(document).encode())
    return f"{header}.{payload}.{b64(node.private.sign(f'{header}.{payload}'.encode()))}"


@pytest.mark.parametrize(("field", "value"), list(_scan_cases()))
def test_a_hostile_scan_is_refused_by_name(field, value, world):
    node = world["node"]
    before = _counts()
    response = node.client.post("/api/v1/scans/", {"jws": _signed(node, node.document(**{field: value}))}, "json")
    assert response.status_code == 400, response.content[:500]
    assert field in response.json()["errors"], response.json()
    assert _counts() == before


@pytest.mark.parametrize(("field", "value"), list(_scan_cases()))
def test_a_hostile_item_is_rejected_alone_in_a_batch(field, value, world):
    node = world["node"]
    items = [node.sign(node.document()), _signed(node, node.document(**{field: value})), node.sign(node.document())]
    response = node.batch(items)
    assert response.status_code == 200, response.content[:500]
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["created", "rejected", "created"]
    assert field in results[1]["errors"], results[1]
    assert Scan.objects.count() == 3  # the world's scan and the two good items


def test_batch_items_that_are_not_strings_are_rejected_alone(world):
    node = world["node"]
    response = node.batch([node.sign(node.document()), 42, {"jws": "x"}, "a\x00b", node.sign(node.document())])
    assert response.status_code == 200, response.content[:500]
    statuses = [r["status"] for r in response.json()["results"]]
    assert statuses == ["created", "rejected", "rejected", "rejected", "created"]
    assert all("jws" in r["errors"] for r in response.json()["results"][1:4])


def test_a_batch_envelope_that_is_not_a_list_is_a_400(world):
    node = world["node"]
    for items in ("abc", {"0": "x"}, [], None):
        response = node.client.post("/api/v1/scans/batch/", {"items": items}, format="json")
        assert response.status_code == 400, items
        assert "items" in response.json()["errors"], items


# ---------------------------------------------------------------- trends: nothing out of bounds gets in


def test_a_scan_of_a_huge_seizure_cannot_reach_the_trends(world, cast, api_as):
    node = world["node"]
    response = node.push(seized_kg=1e308, verdict="positive")
    assert response.status_code == 400
    assert "seized_kg" in response.json()["errors"]
    fine = node.push(seized_kg=100_000, verdict="positive")
    assert fine.status_code == 201, fine.json()
    trends = api_as(cast["users"]["author"]).get("/api/v1/trends/", {"port": "BEANR", "bucket": "week"})
    assert trends.status_code == 200


@pytest.mark.parametrize(
    ("column", "value"),
    [("scans", 10_000_001), ("suspect", 10**30), ("positive", "99999999999999999999"), ("seized_kg", 10_000_000.5)],
)
def test_statistics_beyond_the_spec_bounds_are_refused_by_name(column, value, world):
    row = _row(**{column: value}) if column != "suspect" else _row(scans=10_000_000, suspect=value)
    response = _post(world["officer"], "/api/v1/statistics/", {"rows": [_row(origin="PECLL"), row]})
    assert response.status_code == 400
    assert f"rows.1.{column}" in response.json()["errors"], response.json()
    assert StatisticsRow.objects.count() == 0


def test_statistics_at_the_bounds_are_stored(world):
    row = _row(scans=10_000_000, suspect=5_000_000, positive=5_000_000, seized_kg=10_000_000)
    assert _post(world["officer"], "/api/v1/statistics/", {"rows": [row]}).status_code == 201


HEADER = "period_start,period_end,port,origin,scans,suspect,positive,seized_kg\n"


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ("2025-01-06,2025-01-12,BEANR,ECGYE,10000001,0,0,0", "scans"),
        ("2025-01-06,2025-01-12,BEANR,ECGYE,10,0,0,1e308", "seized_kg"),
        ("2025-01-06,2025-01-12,BEANR,ECGYE,10,0,0,nan", "seized_kg"),
        ("2025-01-06,2025-01-12,BEANR,ECGYE,10,0,0,inf", "seized_kg"),
        ("2026-02-23,2026-02-30,BEANR,ECGYE,10,0,0,0", "period_end"),
        ("2025-01-06,2025-01-12,BEANR,EC\x00YE,10,0,0,0", "origin"),
        ("2025-01-06,2025-01-12,BEANR,ECGYE,1" + "0" * 5000 + ",0,0,0", "scans"),
    ],
)
def test_import_statistics_command_names_the_line_and_field(line, field, ports, tmp_path, capsys):
    path = tmp_path / "stats.csv"
    path.write_text(HEADER + "2025-01-06,2025-01-12,BEANR,PECLL,10,0,0,0\n" + line + "\n")
    with pytest.raises(CommandError, match="nothing imported"):
        call_command("import_statistics", str(path))
    assert f"line 3: {field}:" in capsys.readouterr().err
    assert StatisticsRow.objects.count() == 0


# ---------------------------------------------------------------- the pages: a form with an error, never a 500


def _login(client, user):
    client.force_login(user)
    return client


ALERT_FORM = {
    "title": "Rip-on bags in reefers",
    "body": "Seals replaced.",
    "category": "rip_on_rip_off",
    "severity": "high",
    "tlp": "GREEN",
    "port": "BEANR",
    "origin": "ECGYE",
}
PAGE_VALUES = {
    "nul": "cocaine\x00",
    "string_100kb": "x" * 100_000,
    "nan": "nan",
    "infinity": "inf",
    "huge": "1e308",
    "not_a_number": "abc",
    "negative": "-1",
    "february_30": "2026-02-30T10:00",
    "hour_25": "2026-03-01T25:00",
}
# page -> (url, good form, {field: values of PAGE_VALUES that are hostile there})
TEXT = ["nul", "string_100kb"]
NUMBER = ["nul", "string_100kb", "nan", "infinity", "huge", "not_a_number", "negative"]
PAGES = {
    "alert": ("/alerts/new/", ALERT_FORM, {"title": TEXT, "body": TEXT, "valid_until": ["february_30", "hour_25"]}),
    "practice": ("/practices/new/", {"title": "Reefers", "body": "Open it.", "tlp": "GREEN"}, {"title": TEXT}),
    "feedback": (
        "/alerts/{alert}/feedback/",
        {"outcome": "seized", "seized_kg": "5"},
        {"seized_kg": NUMBER, "note": TEXT},
    ),
    "outcome": (
        "/scans/{scan}/",
        {"result": "positive", "seized_kg": "85.5"},
        {"seized_kg": NUMBER, "substance": TEXT, "note": TEXT},
    ),
}


def _page_cases():
    for page, (_, _, fields) in PAGES.items():
        for field, names in fields.items():
            for name in names:
                yield pytest.param(page, field, PAGE_VALUES[name], id=f"{page}-{field}-{name}")


@pytest.mark.parametrize(("page", "field", "value"), list(_page_cases()))
def test_pages_refuse_hostile_values_with_the_form(page, field, value, world, cast, client):
    url, good, _ = PAGES[page]
    user = cast["users"]["colleague" if page == "feedback" else "author"]
    browser = _login(client, user)
    before = _counts()
    response = browser.post(url.format(alert=world["alert"]["id"], scan=world["scan"]["id"]), {**good, field: value})
    assert response.status_code == 400, response.status_code
    assert 'class="error' in response.content.decode() or "errorlist" in response.content.decode()
    assert _counts() == before


def test_the_good_forms_of_the_table_are_accepted(world, cast, client):
    for page in PAGES:
        url, good, _ = PAGES[page]
        browser = _login(client, cast["users"]["colleague" if page == "feedback" else "author"])
        response = browser.post(url.format(alert=world["alert"]["id"], scan=world["scan"]["id"]), good)
        assert response.status_code == 302, (page, response.content.decode()[:2000])
        client.logout()


# ---------------------------------------------------------------- the 64 KiB bound on a signed document


def test_a_signed_scan_over_64_kib_is_rejected_alone_naming_the_field(world):
    """SPEC section 5: a signed document is at most 64 KiB. An unknown member makes a valid-looking document
    larger (the field rules would refuse it later); the bound answers first, naming the member that is large."""
    node = world["node"]
    big = node.sign({**node.document(), "padding": "x" * (64 * 1024)})
    response = node.batch([node.sign(node.document()), big])
    assert response.status_code == 200, response.content[:500]
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["created", "rejected"]
    assert "padding" in results[1]["errors"]
    assert "65536" in results[1]["errors"]["padding"][0]


def test_a_practice_whose_document_passes_64_kib_is_refused_naming_the_body(world):
    """50,000 characters are allowed in a body, but 50,000 three-byte characters make a 150 KB document."""
    before = _counts()
    response = world["officer"].post("/api/v1/practices/", {**PRACTICE, "body": "€" * 30_000}, format="json")
    assert response.status_code == 400, response.content[:300]
    assert "body" in response.json()["errors"]
    assert _counts() == before
    fine = world["officer"].post("/api/v1/practices/", {**PRACTICE, "body": "€" * 20_000}, format="json")
    assert fine.status_code == 201, fine.content[:300]
