"""The MISP feed (SPEC section 10.3): what a stock MISP reads, and only what its token's member may read.

PyMISP (strict schema) loads every event file; the manifest lists each event once and exactly the event
files the reader can fetch; the reader matrix of the alerts API holds, minus AMBER+STRICT, RED, H2 and H3;
integrity failures are never fed; the manifest costs the same queries at any size and is streamed.
"""

import hashlib
import json
import re
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from pymisp import MISPEvent

from ports.services import node_register
from sharing.models import Alert
from sharing.tasks import verify_signatures
from tests.sharing.conftest import VESSELS, container
from tests.sharing.test_access_matrix import EXPECTED, READERS

MANIFEST = "/feeds/misp/manifest.json"
HASHES = "/feeds/misp/hashes.csv"
FED_LEVELS = {"CLEAR", "GREEN", "AMBER"}


def _event_url(event_uuid: str) -> str:
    return f"/feeds/misp/{event_uuid}.json"


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def manifest_of(client) -> dict:
    response = client.get(MANIFEST)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    return json.loads(_body(response), object_pairs_hook=_no_duplicate_keys)


def _no_duplicate_keys(pairs: list) -> dict:
    keys = [key for key, _ in pairs]
    assert len(keys) == len(set(keys)), f"listed twice: {sorted(k for k in keys if keys.count(k) > 1)}"
    return dict(pairs)


def load_event(client, event_uuid: str) -> MISPEvent:
    response = client.get(_event_url(event_uuid))
    assert response.status_code == 200, (event_uuid, response.status_code)
    event = MISPEvent(strict_validation=True)  # MISP's own event schema, strings where MISP writes strings
    event.load(response.content.decode())
    return event


def tag_names(tags) -> set[str]:
    return {t["name"] if isinstance(t, dict) else t.name for t in tags}


# ---------------------------------------------------------------- format


@pytest.fixture
def rich(cast, publish):
    """One alert with everything a feed event carries: containers, vessels, evaluation codes, handling H1."""
    return publish(
        cast["users"]["author"],
        title="Cocaine in reefer compressors from Guayaquil",
        tlp="AMBER",
        audience={"agencies": ["nlrtm-customs"], "ports": [], "users": []},
        severity="critical",
        containers=[container(), container("MAEU")],
        vessels=VESSELS[:2],
        source_reliability="C",
        information_reliability="4",
        handling="H1",
    )


def test_pymisp_loads_every_event_with_its_tags_and_attributes(cast, rich, publish, api_as):
    plain = publish(cast["users"]["author"], tlp="CLEAR", port=None, origin=None)
    client = api_as(cast["users"]["rotterdam_customs"])
    manifest = manifest_of(client)
    assert set(manifest) == {rich["id"], plain["id"]}
    for event_uuid in manifest:
        event = load_event(client, event_uuid)
        assert event.uuid == event_uuid
        assert event.published is True
        assert event.Orgc.uuid == manifest[event_uuid]["Orgc"]["uuid"]
        assert event.Orgc.name == manifest[event_uuid]["Orgc"]["name"]
        assert tag_names(event.tags) == tag_names(manifest[event_uuid]["Tag"])
        assert int(event.timestamp.timestamp()) == int(manifest[event_uuid]["timestamp"])
        assert event.info == manifest[event_uuid]["info"]

    event = load_event(client, rich["id"])
    assert event.info == rich["title"]
    assert event.date.isoformat() == rich["created_at"][:10]
    assert event.threat_level_id == 1  # critical
    assert tag_names(event.tags) == {
        "tlp:amber",
        'admiralty-scale:source-reliability="d"',  # Europol C: in most cases unreliable
        'admiralty-scale:information-credibility="6"',  # Europol 4: cannot be judged
        'alliance:source-reliability="C"',
        'alliance:information-reliability="4"',
        'alliance:handling="H1"',
        'alliance:category="rip_on_rip_off"',
    }
    by_comment: dict[str, list[str]] = {}
    for attribute in event.attributes:
        assert attribute.type == "text"
        assert attribute.category == "Other"
        assert attribute.to_ids is False
        by_comment.setdefault(attribute.comment, []).append(attribute.value)
    assert sorted(by_comment["container number (ISO 6346)"]) == sorted(rich["containers"])
    assert sorted(by_comment["vessel (IMO number)"]) == sorted(rich["vessels"])
    assert by_comment["alert body"] == [rich["body"]]
    assert by_comment["signed document (JWS, verify with /.well-known/jwks.json)"] == [rich["jws"]]
    assert by_comment["port of the alert (UN/LOCODE)"] == ["BEANR"]
    assert by_comment["port of loading (UN/LOCODE)"] == ["ECGYE"]
    # The author agency is one MISP organisation, the same uuid in every event it wrote.
    assert load_event(client, plain["id"]).Orgc.uuid == event.Orgc.uuid
    assert tag_names(load_event(client, plain["id"]).tags) == {"tlp:clear", 'alliance:category="rip_on_rip_off"'}


def test_uuids_are_stable_and_a_new_version_updates_the_same_event(cast, rich, api_as):
    client = api_as(cast["users"]["rotterdam_customs"])
    before = load_event(client, rich["id"])
    assert {a.uuid for a in before.attributes} == {a.uuid for a in load_event(client, rich["id"]).attributes}
    kept, dropped = rich["containers"]
    author = api_as(cast["users"]["author"])
    response = author.post(
        f"/api/v1/alerts/{rich['id']}/versions/",
        {"containers": [kept], "body": "Second look: one box only."},
        format="json",
    )
    assert response.status_code == 201, response.json()
    after = load_event(client, rich["id"])
    assert after.uuid == before.uuid
    assert int(after.timestamp.timestamp()) >= int(before.timestamp.timestamp())
    old = {a.uuid: a for a in before.attributes}
    new = {a.uuid: a for a in after.attributes}
    # Same uuids: MISP updates each attribute in place; the dropped container is marked deleted, not left behind.
    assert set(new) == set(old)
    assert [a.value for a in new.values() if a.get("deleted")] == [dropped]
    body = next(a for a in new.values() if a.comment == "alert body")
    assert body.value == "Second look: one box only."
    jws = next(a for a in new.values() if a.comment.startswith("signed document"))
    assert jws.value == response.json()["jws"]


def test_a_withdrawn_alert_stays_in_the_feed_tagged_withdrawn(cast, rich, api_as):
    author = api_as(cast["users"]["author"])
    assert (
        author.post(f"/api/v1/alerts/{rich['id']}/versions/", {"status": "withdrawn"}, format="json").status_code == 201
    )
    client = api_as(cast["users"]["rotterdam_customs"])
    assert 'alliance:status="withdrawn"' in tag_names(manifest_of(client)[rich["id"]]["Tag"])
    assert 'alliance:status="withdrawn"' in tag_names(load_event(client, rich["id"]).tags)


def test_hashes_csv_hashes_every_attribute_of_every_listed_event(cast, rich, publish, api_as):
    publish(cast["users"]["author"], tlp="GREEN", containers=[container()])
    client = api_as(cast["users"]["rotterdam_customs"])
    response = client.get(HASHES)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    lines = _body(response).decode().splitlines()
    assert all(re.fullmatch(r"[0-9a-f]{32},[0-9a-f-]{36}", line) for line in lines)
    listed = {line.split(",")[1] for line in lines}
    assert listed == set(manifest_of(client))
    expected = set()
    for event_uuid in listed:
        for attribute in load_event(client, event_uuid).attributes:
            expected.add(f"{hashlib.md5(attribute.value.encode(), usedforsecurity=False).hexdigest()},{event_uuid}")
    assert set(lines) == expected


# ---------------------------------------------------------------- who reads what


@pytest.mark.parametrize("reader", READERS)
def test_the_reader_matrix_minus_strict_red_holds(reader, world, api_as):
    readers, alerts = world
    client = api_as(readers[reader])
    expected = {alerts[cell]["id"] for cell, who in EXPECTED.items() if reader in who and cell[0] in FED_LEVELS}
    manifest = manifest_of(client)
    assert set(manifest) == expected
    missing = client.get(_event_url(str(uuid.uuid4())))
    assert missing.status_code == 404
    for cell, info in alerts.items():
        response = client.get(_event_url(info["id"]))
        if info["id"] in expected:
            assert response.status_code == 200, (reader, cell)
            assert load_event(client, info["id"]).info.endswith(info["word"])
        else:  # forbidden answers exactly as missing: existence does not leak
            assert (response.status_code, response.content) == (404, missing.content), (reader, cell)
    hashed = {line.split(",")[1] for line in _body(client.get(HASHES)).decode().splitlines()}
    assert hashed == expected


def test_strict_and_red_never_reach_even_their_author(world, api_as):
    readers, alerts = world
    client = api_as(readers["author"])
    manifest = manifest_of(client)
    for (level, _), info in alerts.items():
        assert (info["id"] in manifest) == (level in FED_LEVELS)
        assert client.get(_event_url(info["id"])).status_code == (200 if level in FED_LEVELS else 404)


@pytest.mark.parametrize("handling", ["H2", "H3"])
def test_h2_and_h3_never_leave(handling, cast, publish, api_as):
    held = publish(cast["users"]["author"], tlp="CLEAR", handling=handling)
    shared = publish(cast["users"]["author"], tlp="CLEAR", handling="H0")
    for name in ("author", "rotterdam_customs", "hamburg_terminal"):
        client = api_as(cast["users"][name])
        assert set(manifest_of(client)) == {shared["id"]}
        assert client.get(_event_url(held["id"])).status_code == 404
        assert held["id"] not in _body(client.get(HASHES)).decode()


def test_the_private_sector_reads_what_tlp_lets_it(cast, publish, api_as):
    author = cast["users"]["author"]
    green = publish(author, tlp="GREEN")
    to_terminal = publish(
        author, tlp="AMBER", audience={"agencies": ["nlrtm-terminal-operator"], "ports": [], "users": []}
    )
    to_port = publish(author, tlp="AMBER", audience={"agencies": [], "ports": ["NLRTM"], "users": []})
    terminal = api_as(cast["users"]["rotterdam_terminal"])
    assert set(manifest_of(terminal)) == {green["id"], to_terminal["id"]}
    assert terminal.get(_event_url(to_port["id"])).status_code == 404  # AMBER to a port: its public sector only
    assert set(manifest_of(api_as(cast["users"]["rotterdam_police"]))) == {green["id"], to_port["id"]}


def test_integrity_failures_are_never_fed_not_even_to_their_agency(cast, rich, publish, api_as):
    clean = publish(cast["users"]["author"], tlp="GREEN")
    with connection.cursor() as cursor:
        pk = Alert._meta.pk.get_db_prep_value(Alert._meta.pk.to_python(rich["id"]), connection)
        cursor.execute("UPDATE sharing_alert SET title = 'Nothing to see' WHERE id = %s", [pk])
    # Before the verifier runs: the event file verifies on read and fails closed, for the author's agency too.
    for name in ("author", "antwerp_admin", "rotterdam_customs"):
        assert api_as(cast["users"][name]).get(_event_url(rich["id"])).status_code == 404
    verify_signatures.apply()
    assert Alert.objects.get(pk=rich["id"]).integrity_failed is True
    # Once marked, the manifest and hashes.csv leave it out as well.
    for name in ("author", "antwerp_admin", "rotterdam_customs"):
        client = api_as(cast["users"][name])
        assert set(manifest_of(client)) == {clean["id"]}
        assert rich["id"] not in _body(client.get(HASHES)).decode()


# ---------------------------------------------------------------- authentication


def test_a_personal_token_only(cast, rich, api, api_as, make_agency):
    for url in (MANIFEST, HASHES, _event_url(rich["id"])):
        assert api.get(url).status_code == 401
        assert api.get(url, HTTP_AUTHORIZATION="Token not-a-token").status_code == 401
        session = api_as(cast["users"]["rotterdam_customs"], token=False)  # a portal session is not enough
        assert session.get(url).status_code == 401
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from ports.keys import public_x

    _, node_token = node_register(
        node_id="beanr-misp-01",
        agency=make_agency("beanr-customs"),
        public_key=public_x(Ed25519PrivateKey.generate().public_key()),
    )
    assert api.get(MANIFEST, HTTP_AUTHORIZATION=f"Token {node_token}").status_code == 403
    # MISP sends Accept: application/json; any other Accept still gets the file (a feed is static files).
    client = api_as(cast["users"]["rotterdam_customs"])
    assert client.get(MANIFEST, HTTP_ACCEPT="text/html").status_code == 200
    assert client.get(HASHES, HTTP_ACCEPT="text/csv").status_code == 200


# ---------------------------------------------------------------- scale


def _manifest_queries(client) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as queries:
        size = len(manifest_of(client))
    return len(queries), size


def test_the_manifest_costs_the_same_queries_at_any_size(cast, publish, api_as, django_assert_max_num_queries):
    client = api_as(cast["users"]["rotterdam_customs"])
    publish(cast["users"]["author"], tlp="GREEN", containers=[container()])
    manifest_of(client)  # the token's first use records it (once a minute): not a cost of the manifest
    small, small_size = _manifest_queries(client)
    amber = {"tlp": "AMBER", "audience": {"agencies": ["nlrtm-customs"], "ports": [], "users": []}}
    for n in range(12):
        publish(cast["users"]["author"], containers=[container()], **(amber if n % 2 else {"tlp": "GREEN"}))
    large, large_size = _manifest_queries(client)
    assert (small_size, large_size) == (1, 13)
    assert large == small
    with django_assert_max_num_queries(small):
        manifest_of(client)
    with django_assert_max_num_queries(small):
        _body(client.get(HASHES))


def test_the_manifest_and_hashes_are_streamed(cast, rich, api_as):
    client = api_as(cast["users"]["rotterdam_customs"])
    for url in (MANIFEST, HASHES):
        response = client.get(url)
        assert response.streaming  # written as rows arrive, never built whole in memory
        assert _body(response)
