"""Feedback travels back (SPEC 3 and 10.2): signed by the reporting agency, offered to the alert's home instance
only, and at that instance verified and stored for the alert's author agency; refusals carry their reason."""

import uuid

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from federation.models import Direction, Peer, PeerReason
from federation.services import _new_peer_token, apply_objects, peer_add
from interop import stix
from interop.models import FeedEntry, FeedKind
from interop.services import sequence_all
from interop.taxii import COLLECTIONS, TAXII
from notifications.models import Notification
from ports import signing
from ports.models import Agency
from sharing.models import Feedback
from sharing.services.alerts import alert_publish

from ..sharing.conftest import alert_fields
from .conftest import Origin

pytestmark = pytest.mark.django_db
FED = COLLECTIONS["federation"][0]
FOR_ROTTERDAM = {"agencies": ["nlrtm-customs"], "ports": [], "users": []}


def refused(peer_id: str) -> dict:
    return {r.reason: r.count for r in PeerReason.objects.filter(peer_id=peer_id, direction=Direction.IN)}


def feedback_doc(alert_id, *, agency: str = "nlrtm-customs", **fields) -> dict:
    return {
        "id": str(uuid.uuid4()),
        "type": "feedback",
        "alert": str(alert_id),
        "alert_version": 1,
        "agency": agency,
        "author": f"{agency}/k3y9x2",
        "outcome": "seized",
        "seized_kg": 120.5,
        "container": None,
        "note": "Found behind the reefer unit.",
        "created_at": signing.rfc3339(timezone.now()),
        **fields,
    }


def stix_feedback(origin: Origin, doc: dict, *, key_slug: str | None = None) -> dict:
    slug = key_slug or doc["agency"]
    jws = signing.sign_with_private_key(doc, origin.keys[slug], origin.kid(slug), "feedback+json")
    return {
        "type": stix.FEEDBACK_TYPE,
        "spec_version": "2.1",
        "id": stix.feedback_id(doc["id"]),
        "extensions": {stix.EXTENSION_ID: {"extension_type": "new-sdo", "document": doc, "jws": jws}},
    }


# ---------------------------------------------------------------- at `nl`: feedback on be's alert, offered to be only


@pytest.fixture
def nl_world(at_nl, cast, api_as):
    be = Origin("be", "http://be.test", list(Agency.objects.filter(port_id="BEANR")))
    be_token = peer_add(peer_id="be", url=be.url, key_thumbprint=be.portal_kid, document_jws=be.document())
    Agency.objects.filter(slug="europol").update(home_instance="europol")
    Peer.objects.create(id="europol", url="http://europol.test", key_thumbprint="x" * 43)
    alert_obj = be.alert("beanr-customs", tlp="AMBER", audience=FOR_ROTTERDAM)
    assert apply_objects(Peer.objects.get(pk="be"), [alert_obj]).applied == 1
    alert_id = alert_obj["extensions"][stix.EXTENSION_ID]["document"]["id"]
    return {"alert_id": alert_id, "be_token": be_token, "cast": cast, "api_as": api_as}


def taxii(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}", HTTP_ACCEPT=TAXII)
    return client


def test_feedback_at_nl_is_signed_by_the_reporting_agency_and_offered_to_be_only(nl_world):
    analyst = nl_world["api_as"](nl_world["cast"]["users"]["rotterdam_customs"])
    response = analyst.post(
        f"/api/v1/alerts/{nl_world['alert_id']}/feedback/", {"outcome": "checked_negative"}, format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["signature_status"] == "verified"
    parsed = signing.parse(body["jws"], "feedback+json")
    assert parsed.payload["agency"] == "nlrtm-customs"
    assert parsed.payload["alert"] == nl_world["alert_id"]
    assert parsed.payload["id"] == body["document_id"]

    sequence_all()
    objects = taxii(nl_world["be_token"]).get(f"/taxii2/alliance/collections/{FED}/objects/").json()["objects"]
    sent = [o for o in objects if o["type"] == stix.FEEDBACK_TYPE]
    assert len(sent) == 1
    assert sent[0]["extensions"][stix.EXTENSION_ID]["jws"] == body["jws"]
    europol = taxii(_new_peer_token("europol")).get(f"/taxii2/alliance/collections/{FED}/objects/").json()
    assert not [o for o in europol.get("objects", []) if o["type"] == stix.FEEDBACK_TYPE]


def test_feedback_on_our_own_alert_stays_here(at_nl, cast, make_member, api_as):
    officer = make_member("rotterdam.officer", "nlrtm-customs", "officer")
    alert = alert_publish(membership=officer, data=alert_fields(tlp="GREEN", port="NLRTM"))
    response = api_as(cast["users"]["hamburg_customs"]).post(
        f"/api/v1/alerts/{alert.pk}/feedback/", {"outcome": "checked_negative"}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["signature_status"] == "verified"
    assert not FeedEntry.objects.filter(kind=FeedKind.FEEDBACK).exists()


# ---------------------------------------------------------------- at `be`: nl's feedback reaches the alert's author


@pytest.fixture
def be_world(at_be, cast):
    nl = Origin("nl", "http://nl.test", list(Agency.objects.filter(port_id="NLRTM")))
    peer_add(peer_id="nl", url=nl.url, key_thumbprint=nl.portal_kid, document_jws=nl.document())
    nl.peer = Peer.objects.get(pk="nl")
    alert = alert_publish(
        membership=cast["memberships"]["author"], data=alert_fields(tlp="AMBER", audience=FOR_ROTTERDAM)
    )
    return {"nl": nl, "alert": alert, "cast": cast}


def test_feedback_from_nl_reaches_the_authors_agency_at_be(be_world, api_as):
    nl, alert, cast = be_world["nl"], be_world["alert"], be_world["cast"]
    doc = feedback_doc(alert.pk)
    obj = stix_feedback(nl, doc)
    result = apply_objects(nl.peer, [obj])
    assert (result.applied, result.refused) == (1, {})

    response = api_as(cast["users"]["author"]).get(f"/api/v1/alerts/{alert.pk}/feedback/")
    assert response.status_code == 200
    [item] = response.json()["results"]
    assert item["jws"] == obj["extensions"][stix.EXTENSION_ID]["jws"]
    assert item["signature_status"] == "verified"
    assert (item["agency"], item["author"], item["outcome"], item["seized_kg"]) == (
        "nlrtm-customs",
        "nlrtm-customs/k3y9x2",
        "seized",
        120.5,
    )
    assert Notification.objects.filter(membership__user=cast["users"]["author"], kind="alert.feedback").exists()
    # The alert's page shows it to the author agency too.
    page = api_as(cast["users"]["colleague"]).get(f"/api/v1/alerts/{alert.pk}/feedback/")
    assert len(page.json()["results"]) == 1
    for name in ("antwerp_police", "hamburg_customs", "europol_analyst"):
        assert api_as(cast["users"][name]).get(f"/api/v1/alerts/{alert.pk}/feedback/").status_code == 404, name

    again = apply_objects(nl.peer, [obj])
    assert (again.applied, again.already) == (0, 1)
    assert Feedback.objects.count() == 1


def test_refused_feedback_carries_its_reason(be_world):
    nl, alert = be_world["nl"], be_world["alert"]
    nl.keys["deham-customs"] = nl.keys["nlrtm-customs"]  # nl signing for an agency it is not home to
    tampered = stix_feedback(nl, feedback_doc(alert.pk))
    ext = tampered["extensions"][stix.EXTENSION_ID]
    header, payload, signature = ext["jws"].split(".")
    ext["jws"] = f"{header}.{payload}.{signature[:-4]}AAAA"
    page = [
        tampered,
        stix_feedback(nl, feedback_doc(alert.pk, agency="deham-customs")),
        stix_feedback(nl, feedback_doc(alert.pk, agency="nlrtm-police")),  # not in the alert's audience
        stix_feedback(nl, feedback_doc(uuid.uuid4())),  # no such alert here
        stix_feedback(nl, feedback_doc(alert.pk, outcome="checked_negative")),  # kilograms without a seizure
        stix_feedback(nl, feedback_doc(alert.pk, alert_version=2)),  # a version the alert never had
        stix_feedback(nl, feedback_doc(alert.pk, author="beanr-customs/k3y9x2")),  # a handle of another agency
        stix_feedback(nl, feedback_doc(alert.pk), key_slug="nlrtm-police"),  # another agency's key
    ]
    result = apply_objects(nl.peer, page)
    assert result.applied == 0
    assert refused("nl") == {
        "signature:invalid": 1,
        "origin:not-home": 1,
        "document:invalid": 5,
        "key:unknown": 1,
    }
    assert not Feedback.objects.exists()
