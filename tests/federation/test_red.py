"""RED across instances (SPEC 4, 10.1, 10.2): a RED alert naming one `nl` member reaches only `nl`, and only that
member reads it there. Attackers: another member of the same agency, a europol member, a member of the author's
own agency not named; none sees, lists, searches or receives it (API, TAXII, MISP feed, notifications)."""

import json

import pytest
from rest_framework.test import APIClient

import access
from federation.models import Direction, Peer, PeerReason
from federation.services import _new_peer_token, apply_objects, peer_add
from interop import stix
from interop.services import sequence_all
from interop.taxii import COLLECTIONS, TAXII
from notifications.models import Notification
from ports.models import Agency
from sharing.models import AlertGrant, GrantKind

from ..sharing.conftest import alert_fields
from .conftest import Origin

pytestmark = pytest.mark.django_db
FED = COLLECTIONS["federation"][0]
ALERTS = COLLECTIONS["alerts"][0]
NL_HANDLE = "nlrtm-customs/c0ffee"  # a member homed at nl: not a member here at be


def red(*handles: str, **fields) -> dict:
    return alert_fields(tlp="RED", audience={"agencies": [], "ports": [], "users": sorted(handles)}, **fields)


def taxii(client: APIClient, collection: str) -> set[str]:
    response = client.get(f"/taxii2/alliance/collections/{collection}/objects/", HTTP_ACCEPT=TAXII)
    if response.status_code == 404:
        return set()
    assert response.status_code == 200, response.content
    return {o["id"] for o in response.json().get("objects", [])}


def misp_manifest(client: APIClient) -> dict:
    response = client.get("/feeds/misp/manifest.json")
    assert response.status_code == 200
    return json.loads(b"".join(response.streaming_content) if response.streaming else response.content)


def peer_client(peer_id: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {_new_peer_token(peer_id)}")
    return client


# ---------------------------------------------------------------- at `be`: the author's instance


@pytest.fixture
def at_be_with_peers(at_be, cast):
    Agency.objects.filter(port_id="NLRTM").update(home_instance="nl")
    Agency.objects.filter(slug="europol").update(home_instance="europol")
    for peer_id in ("nl", "europol"):
        Peer.objects.create(id=peer_id, url=f"http://{peer_id}.test", key_thumbprint="x" * 43)
    return cast


def test_a_red_audience_may_name_a_member_homed_at_a_peer(at_be_with_peers, api_as):
    author = api_as(at_be_with_peers["users"]["author"])
    response = author.post("/api/v1/alerts/", red(NL_HANDLE), format="json")
    assert response.status_code == 201, response.content
    assert response.json()["audience"]["users"] == [NL_HANDLE]
    assert response.json()["signature_status"] == "verified"
    grant = AlertGrant.objects.get(alert_id=response.json()["id"])
    assert (grant.kind, grant.handle, grant.agency.slug, grant.member_id) == (
        GrantKind.REMOTE_USER,
        NL_HANDLE,
        "nlrtm-customs",
        None,
    )


@pytest.mark.parametrize(
    "handle",
    [
        "nowhere-agency/c0ffee",  # no such agency
        "beanr-customs/c0ffee",  # an agency homed here: its members are known here, and this one is not
        "deham-customs/c0ffee",  # an agency whose home we have not learnt from any peer
        "nlrtm-customs",  # not a handle
        "nlrtm-customs/../x",
    ],
)
def test_a_handle_must_name_a_member_here_or_an_agency_homed_at_a_peer(at_be_with_peers, api_as, handle):
    author = api_as(at_be_with_peers["users"]["author"])
    response = author.post("/api/v1/alerts/", red(handle), format="json")
    assert response.status_code == 400
    assert "audience.users" in response.json()["errors"]


def test_red_naming_an_nl_member_is_offered_to_nl_only_and_read_by_nobody_else_here(at_be_with_peers, api_as):
    cast = at_be_with_peers
    response = api_as(cast["users"]["author"]).post(
        "/api/v1/alerts/", red(NL_HANDLE, title="Red herring"), format="json"
    )
    alert_id = response.json()["id"]
    sequence_all()
    report = stix.report_id("alert", alert_id)
    assert report in taxii(peer_client("nl"), FED)
    assert report not in taxii(peer_client("europol"), FED)
    out = {r.reason: r.count for r in PeerReason.objects.filter(peer_id="europol", direction=Direction.OUT)}
    assert out == {"audience:no-home-reader": 1}
    # Here, even a member of the named member's agency (a row in this test database) reads nothing of it.
    for name in ("rotterdam_customs", "colleague", "europol_analyst", "europol_liaison", "antwerp_admin"):
        client = api_as(cast["users"][name])
        assert client.get(f"/api/v1/alerts/{alert_id}/").status_code == 404, name
        listed = client.get("/api/v1/alerts/", {"q": "Red herring"}).json()["results"]
        assert alert_id not in {a["id"] for a in listed}, name
        assert report not in taxii(client, ALERTS), name
        assert alert_id not in misp_manifest(client), name
        assert not Notification.objects.filter(membership__user=cast["users"][name], url__contains=alert_id).exists()
    assert api_as(cast["users"]["author"]).get(f"/api/v1/alerts/{alert_id}/").status_code == 200


# ---------------------------------------------------------------- at `nl`: only the named member reads it


@pytest.fixture
def nl_world(at_nl, cast, make_member):
    be = Origin("be", "http://be.test", list(Agency.objects.filter(port_id="BEANR")))
    peer_add(peer_id="be", url=be.url, key_thumbprint=be.portal_kid, document_jws=be.document())
    officer = make_member("rotterdam.officer", "nlrtm-customs", "officer")  # the same agency, not named
    named = cast["memberships"]["rotterdam_customs"]
    obj = be.alert("beanr-customs", **red(named.handle, title="Red herring"))
    result = apply_objects(Peer.objects.get(pk="be"), [obj])
    assert (result.applied, result.refused) == (1, {})
    return {
        "cast": cast,
        "officer": officer,
        "named": named,
        "id": obj["extensions"][stix.EXTENSION_ID]["document"]["id"],
    }


def test_at_nl_only_the_named_member_reads_the_red_alert(nl_world, api_as):
    cast, alert_id = nl_world["cast"], nl_world["id"]
    named = api_as(cast["users"]["rotterdam_customs"])
    body = named.get(f"/api/v1/alerts/{alert_id}/").json()
    assert body["signature_status"] == "verified"
    assert alert_id in {a["id"] for a in named.get("/api/v1/alerts/", {"q": "Red herring"}).json()["results"]}
    report = stix.report_id("alert", alert_id)
    attackers = {
        "same agency": nl_world["officer"].user,
        "europol": cast["users"]["europol_analyst"],
        "europol liaison": cast["users"]["europol_liaison"],
        "be member not named": cast["users"]["colleague"],
        "rotterdam police": cast["users"]["rotterdam_police"],
    }
    for name, user in attackers.items():
        client = api_as(user)
        assert client.get(f"/api/v1/alerts/{alert_id}/").status_code == 404, name
        listed = client.get("/api/v1/alerts/", {"q": "Red herring"}).json()["results"]
        assert alert_id not in {a["id"] for a in listed}, name
        assert report not in taxii(client, ALERTS), name
        assert alert_id not in misp_manifest(client), name
        assert not access.alerts_visible_to(user).filter(pk=alert_id).exists(), name
        assert not Notification.objects.filter(membership__user=user, url__contains=alert_id).exists(), name
