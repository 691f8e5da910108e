"""The TLP 2.0 access rule, cell by cell: every level x every kind of reader x (list, detail, q, container).

Two alerts per level: one names Europol (agency, or the liaison for RED), one does not.
Each has a unique word in its title and a unique container number, so a search or a
filter that returned an unrelated object would show up as an unexpected id.
"""

import pytest
from django.http import Http404

import access
from sharing.models import Alert

from .conftest import container

LEVELS = ["CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"]
WORDS = iter(f"zq{n}marker" for n in range(1000))

# Which alert each reader may read: (level, names_europol) -> readers. The cast (tests/conftest.py):
# the author is an Antwerp customs officer; the audiences below name Rotterdam customs (agency or member)
# and the port of Hamburg (AMBER), and Europol for the "named" variant.
EVERYONE = {
    "author",
    "colleague",
    "antwerp_admin",
    "antwerp_police",
    "rotterdam_customs",
    "rotterdam_police",
    "rotterdam_terminal",
    "hamburg_customs",
    "hamburg_police",
    "hamburg_terminal",
    "valencia_customs",
    "europol_liaison",
    "europol_analyst",
}
AUTHOR_AGENCY = {"author", "colleague", "antwerp_admin"}
HAMBURG_PUBLIC = {"hamburg_customs", "hamburg_police"}
EUROPOL = {"europol_liaison", "europol_analyst"}

EXPECTED = {
    ("CLEAR", True): EVERYONE,
    ("CLEAR", False): EVERYONE,
    ("GREEN", True): EVERYONE,
    ("GREEN", False): EVERYONE,
    ("AMBER", True): AUTHOR_AGENCY | {"rotterdam_customs"} | HAMBURG_PUBLIC | EUROPOL,
    ("AMBER", False): AUTHOR_AGENCY | {"rotterdam_customs"} | HAMBURG_PUBLIC,
    ("AMBER+STRICT", True): AUTHOR_AGENCY | {"rotterdam_customs"} | EUROPOL,
    ("AMBER+STRICT", False): AUTHOR_AGENCY | {"rotterdam_customs"},
    ("RED", True): {"author", "rotterdam_customs", "europol_liaison"},
    ("RED", False): {"author", "rotterdam_customs"},
}
READERS = sorted(EVERYONE)


def _audience(level: str, europol: bool, cast) -> dict:
    m = cast["memberships"]
    if level == "AMBER":
        agencies = ["nlrtm-customs"] + (["europol"] if europol else [])
        return {"agencies": sorted(agencies), "ports": ["DEHAM"], "users": []}
    if level == "AMBER+STRICT":
        agencies = ["nlrtm-customs"] + (["europol"] if europol else [])
        return {"agencies": sorted(agencies), "ports": [], "users": []}
    if level == "RED":
        users = [m["rotterdam_customs"].handle] + ([m["europol_liaison"].handle] if europol else [])
        return {"agencies": [], "ports": [], "users": sorted(users)}
    return {"agencies": [], "ports": [], "users": []}


@pytest.fixture
def world(cast, make_member, publish):
    """Ten alerts (5 levels x Europol named or not), each with a unique word and container."""
    readers = {**cast["users"], "valencia_customs": make_member("valencia.officer", "esvlc-customs", "officer").user}
    alerts = {}
    for level in LEVELS:
        for europol in (True, False):
            word, box = next(WORDS), container()
            body = publish(
                cast["users"]["author"],
                title=f"Reefer rip-on {word}",
                tlp=level,
                audience=_audience(level, europol, cast),
                containers=[box],
            )
            alerts[(level, europol)] = {"id": body["id"], "word": word, "container": box}
    return readers, alerts


@pytest.mark.parametrize("reader", READERS)
def test_every_cell(reader, world, api_as):
    readers, alerts = world
    client = api_as(readers[reader])
    listed = {a["id"] for a in client.get("/api/v1/alerts/", {"page_size": 200}).json()["results"]}
    expected_ids = {alerts[cell]["id"] for cell, who in EXPECTED.items() if reader in who}
    assert listed == expected_ids
    for cell, info in alerts.items():
        visible = reader in EXPECTED[cell]
        detail = client.get(f"/api/v1/alerts/{info['id']}/")
        assert detail.status_code == (200 if visible else 404), (reader, cell)
        if not visible:
            assert detail.json() == {"code": "not_found", "errors": {}}
        versions = client.get(f"/api/v1/alerts/{info['id']}/versions/")
        assert versions.status_code == (200 if visible else 404), (reader, cell)
        searched = [a["id"] for a in client.get("/api/v1/alerts/", {"q": info["word"]}).json()["results"]]
        assert searched == ([info["id"]] if visible else []), (reader, cell, "q")
        filtered = [a["id"] for a in client.get("/api/v1/alerts/", {"container": info["container"]}).json()["results"]]
        assert filtered == ([info["id"]] if visible else []), (reader, cell, "container")
    # The count agrees with what is listed: the rule is the same query for both.
    assert client.get("/api/v1/alerts/").json()["count"] == len(expected_ids)
    # The access layer itself, as every page, export and relay uses it.
    assert set(map(str, access.alerts_visible_to(readers[reader]).values_list("id", flat=True))) == expected_ids


def test_superuser_reads_nothing(world, api_as):
    readers, alerts = world
    superuser = readers["superuser"]
    assert access.alerts_visible_to(superuser).count() == 0
    client = api_as(superuser, token=False)  # no membership, so no personal token: a session
    assert client.get("/api/v1/alerts/").status_code == 403  # not a member: the endpoint is not for them
    for info in alerts.values():
        with pytest.raises(Http404):
            access.get_alert_for(superuser, info["id"])
        assert client.get(f"/api/v1/alerts/{info['id']}/").status_code == 403


def test_superuser_with_a_membership_reads_as_that_member_only(world, make_member, api_as):
    readers, alerts = world
    superuser = readers["superuser"]
    make_member(superuser.username, "esvlc-police", "analyst")
    listed = {a["id"] for a in api_as(superuser).get("/api/v1/alerts/").json()["results"]}
    assert listed == {alerts[(level, e)]["id"] for level in ("CLEAR", "GREEN") for e in (True, False)}


def test_anonymous_reads_nothing(world, api):
    _, alerts = world
    assert api.get("/api/v1/alerts/").status_code == 401
    for info in alerts.values():
        assert api.get(f"/api/v1/alerts/{info['id']}/").status_code == 401
    assert access.alerts_visible_to(None).count() == 0


def test_the_rule_is_one_query(world, django_assert_num_queries):
    readers, _ = world
    reader = readers["hamburg_police"]
    access.reader_for(reader)  # the reader context is computed once per request
    with django_assert_num_queries(1):
        ids = list(access.alerts_visible_to(reader).values_list("id", flat=True))
    assert len(ids) == 6  # CLEAR x2, GREEN x2, AMBER x2 (public agency at a named port)


def test_offboarded_member_loses_access(world, api_as):
    readers, alerts = world
    from ports.services import member_offboard

    membership = readers["rotterdam_customs"].memberships.get()
    member_offboard(membership=membership, actor=None)
    red = alerts[("RED", False)]["id"]
    assert (
        not Alert.objects.filter(pk=red).filter(pk__in=access.alerts_visible_to(readers["rotterdam_customs"])).exists()
    )


def test_h2_and_h3_alerts_never_leave_the_portal(cast, publish):
    reader = cast["users"]["hamburg_police"]
    kept = {publish(cast["users"]["author"], handling=code)["id"] for code in (None, "H0", "H1")}
    held = {publish(cast["users"]["author"], handling=code)["id"] for code in ("H2", "H3")}
    assert set(map(str, access.alerts_visible_to(reader).values_list("id", flat=True))) == kept | held
    assert set(map(str, access.alerts_exportable_to(reader).values_list("id", flat=True))) == kept
