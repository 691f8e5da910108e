"""Attacker tests for federation (SPEC 10.1, 10.2): peer tokens read the federation collection and nothing else,
members never see it, and a peer gets exactly what its home agencies may read, by every TAXII path."""

import pytest
from rest_framework.test import APIClient

from federation.models import Peer
from federation.services import _new_peer_token
from interop import stix
from interop.services import sequence_all
from interop.taxii import COLLECTIONS, TAXII
from ports.models import Agency
from sharing.services.alerts import alert_publish

from ..sharing.conftest import alert_fields

pytestmark = pytest.mark.django_db
FED = COLLECTIONS["federation"][0]
ALERTS = COLLECTIONS["alerts"][0]


@pytest.fixture
def world(at_be, cast):
    Agency.objects.filter(port_id="NLRTM").update(home_instance="nl")
    Agency.objects.filter(slug="europol").update(home_instance="europol")
    clients, tokens = {}, {}
    for peer_id in ("nl", "europol"):
        Peer.objects.create(id=peer_id, url=f"http://{peer_id}.test", key_thumbprint="x" * 43)
        client = APIClient()
        tokens[peer_id] = _new_peer_token(peer_id)
        client.credentials(HTTP_AUTHORIZATION=f"Token {tokens[peer_id]}", HTTP_ACCEPT=TAXII)
        clients[peer_id] = client
    amber = alert_publish(
        membership=cast["memberships"]["author"],
        data=alert_fields(tlp="AMBER", audience={"agencies": ["nlrtm-customs"], "ports": [], "users": []}),
    )
    sequence_all()
    return {"clients": clients, "tokens": tokens, "amber": amber, "cast": cast}


def _ids(response) -> set[str]:
    assert response.status_code == 200, response.content
    return {o["id"] for o in response.json().get("objects", [])}


def test_a_peer_sees_the_federation_collection_only(world):
    nl = world["clients"]["nl"]
    listed = nl.get("/taxii2/alliance/collections/").json()["collections"]
    assert [c["title"] for c in listed] == ["federation"]
    assert nl.get(f"/taxii2/alliance/collections/{ALERTS}/objects/").status_code == 404


def test_a_peer_token_opens_no_member_endpoint(world):
    nl = APIClient()
    nl.credentials(HTTP_AUTHORIZATION=f"Token {world['tokens']['nl']}")
    for url in (
        "/api/v1/alerts/",
        "/api/v1/scans/",
        "/api/v1/keys/",
        "/feeds/misp/manifest.json",
        "/api/v1/federation/peers/",
        f"/api/v1/alerts/{world['amber'].pk}/",
    ):
        assert nl.get(url).status_code in (401, 403), url
    taxii = world["clients"]["nl"]
    assert taxii.post(f"/taxii2/alliance/collections/{FED}/objects/", {}, format="json").status_code == 403


def test_members_never_see_the_federation_collection(world, api_as):
    client = api_as(world["cast"]["users"]["rotterdam_customs"])
    client.credentials(HTTP_AUTHORIZATION=client._credentials["HTTP_AUTHORIZATION"], HTTP_ACCEPT=TAXII)
    titles = [c["title"] for c in client.get("/taxii2/alliance/collections/").json()["collections"]]
    assert "federation" not in titles
    assert client.get(f"/taxii2/alliance/collections/{FED}/objects/").status_code == 404


def test_europol_gets_the_amber_alert_by_no_path(world):
    europol, nl = world["clients"]["europol"], world["clients"]["nl"]
    stix_id = stix.report_id("alert", world["amber"].pk)
    base = f"/taxii2/alliance/collections/{FED}"
    assert stix_id in _ids(nl.get(f"{base}/objects/"))
    assert stix_id not in _ids(europol.get(f"{base}/objects/"))
    assert stix_id not in _ids(europol.get(f"{base}/objects/?match[id]={stix_id}&match[version]=all"))
    assert stix_id not in {o["id"] for o in europol.get(f"{base}/manifest/").json().get("objects", [])}
    assert europol.get(f"{base}/objects/{stix_id}/").status_code == 404
    assert europol.get(f"{base}/objects/{stix_id}/versions/").status_code == 404


def test_a_removed_peers_token_stops_working(world):
    from federation.services import peer_remove

    peer_remove(peer=Peer.objects.get(pk="nl"))
    assert world["clients"]["nl"].get("/taxii2/alliance/collections/").status_code == 401


def test_the_instance_document_is_public_and_verifies(world, api):
    from ports.instance import verify_instance_document
    from ports.services import portal_key_ensure

    response = api.get("/.well-known/alliance-instance.json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/jose"
    verified = verify_instance_document(response.content.decode(), portal_key_ensure().kid)
    assert verified.payload["instance"] == "be"
    assert api.get("/.well-known/alliance-instance.json?signed_by=nope").status_code == 404


def test_the_operator_sees_each_peers_figures_on_the_page_and_in_the_api(world):
    from django.test import Client

    from federation.models import Direction
    from federation.services import count_reason
    from tests.conftest import login_verified

    count_reason("europol", Direction.OUT, "audience:no-home-reader", 3)
    count_reason("nl", Direction.IN, "signature:invalid")
    root = login_verified(Client(), world["cast"]["users"]["superuser"])
    page = root.get("/operator/peers/").content.decode()
    assert 'id="peer-europol"' in page
    assert "audience:no-home-reader</span>: 4" in page  # 3 + the AMBER alert
    body = root.get("/api/v1/federation/peers/").json()
    assert body["instance"] == "be"
    by_peer = {p["peer"]: p for p in body["peers"]}
    assert by_peer["europol"]["reasons"]["left_out"] == {"audience:no-home-reader": 4}
    assert by_peer["nl"]["reasons"]["refused"] == {"signature:invalid": 1}
    assert set(by_peer["nl"]) >= {"cursor", "lag", "last_success", "last_error"}
    # The operator reads figures, never content: no alert title or body is on the page.
    assert world["amber"].title not in page
