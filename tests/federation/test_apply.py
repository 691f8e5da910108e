"""The pull sync's apply step on one database (SPEC 10.2): store, verify, refuse with a reason, idempotent."""

import pytest

import access
from federation import services
from federation.models import Direction, FederatedCopy, PeerReason, ReceivedTombstone
from federation.services import apply_objects, peer_add
from ports.models import Agency, KeyStatus, SigningKey
from sharing.models import Alert, AlertVersion

from .conftest import Origin

pytestmark = pytest.mark.django_db


@pytest.fixture
def be(at_nl, cast):
    """Instance `be` (Antwerp's agencies), peered with us (`nl`) from its signed document."""
    agencies = list(Agency.objects.filter(port_id="BEANR"))
    origin = Origin("be", "http://be.test", agencies)
    peer_add(peer_id="be", url=origin.url, key_thumbprint=origin.portal_kid, document_jws=origin.document())
    origin.peer = services.Peer.objects.get(pk="be")
    return origin


def refused(peer_id: str) -> dict:
    rows = PeerReason.objects.filter(peer_id=peer_id, direction=Direction.IN)
    return {r.reason: r.count for r in rows}


def test_peer_document_homes_the_agencies_and_registers_their_keys(be):
    customs = Agency.objects.get(slug="beanr-customs")
    assert customs.home_instance == "be"
    key = SigningKey.objects.get(kid=be.kid("beanr-customs"))
    assert key.agency_id == customs.pk
    assert not key.held_by_portal
    assert Agency.objects.get(slug="nlrtm-customs").home_instance == ""  # ours: HOME_AGENCIES decides


def test_amber_alert_for_rotterdam_customs_is_stored_and_read_by_them_only(be, cast):
    obj = be.alert("beanr-customs", tlp="AMBER", audience={"agencies": ["nlrtm-customs"], "ports": [], "users": []})
    result = apply_objects(be.peer, [obj])
    assert (result.applied, result.refused) == (1, {})
    alert_id = obj["extensions"][services.stix.EXTENSION_ID]["document"]["id"]
    users = cast["users"]
    assert access.alerts_visible_to(users["rotterdam_customs"]).filter(pk=alert_id).exists()
    for name in ("rotterdam_police", "rotterdam_terminal", "hamburg_customs", "europol_analyst"):
        assert not access.alerts_visible_to(users[name]).filter(pk=alert_id).exists(), name
    # The stored copy verifies from the stored JWS and keys, like a local alert.
    alert = access.get_alert_for(users["rotterdam_customs"], alert_id)
    assert alert.signature_status == "verified"
    assert FederatedCopy.objects.get(object_id=alert_id).origin == "be"


def test_applying_a_page_twice_changes_nothing(be):
    page = [be.alert("beanr-customs"), be.alert("beanr-police", tlp="CLEAR")]
    assert apply_objects(be.peer, page).applied == 2
    counts = (Alert.objects.count(), AlertVersion.objects.count(), FederatedCopy.objects.count())
    again = apply_objects(be.peer, page)
    assert (again.applied, again.already) == (0, 2)
    assert (Alert.objects.count(), AlertVersion.objects.count(), FederatedCopy.objects.count()) == counts


def test_versions_follow_and_an_older_one_arriving_late_does_not_roll_back(be):
    v1 = be.alert("beanr-customs", title="first")
    doc_id = v1["extensions"][services.stix.EXTENSION_ID]["document"]["id"]
    v2 = be.alert("beanr-customs", title="second", version=2, doc_id=doc_id)
    assert apply_objects(be.peer, [v2, v1]).applied == 2
    alert = Alert.objects.get(pk=doc_id)
    assert (alert.version, alert.title) == (2, "second")
    assert AlertVersion.objects.filter(alert=alert).count() == 2


def test_refusals_are_counted_by_reason(be, cast):
    good = be.alert("beanr-customs")
    tampered = be.alert("beanr-customs")
    ext = tampered["extensions"][services.stix.EXTENSION_ID]
    header, payload, signature = ext["jws"].split(".")
    ext["jws"] = f"{header}.{payload}.{signature[:-4]}AAAA"
    not_home = be.alert("deham-customs", key_slug="beanr-customs")  # be signs for an agency homed elsewhere
    ours = be.alert("nlrtm-customs", key_slug="beanr-customs")  # ... or for one of ours
    wrong_key = be.alert("beanr-police", key_slug="beanr-customs")
    invalid = be.alert("beanr-customs", category="not-a-category")
    result = apply_objects(be.peer, [good, tampered, not_home, ours, wrong_key, invalid])
    assert result.applied == 1
    assert refused("be") == {
        "signature:invalid": 1,
        "origin:not-home": 2,
        "key:unknown": 1,
        "document:invalid": 1,
    }
    assert Alert.objects.count() == 1


def test_a_revoked_key_is_refused(be):
    kid = be.kid("beanr-customs")
    be.key_status[kid] = KeyStatus.REVOKED
    services.apply_instance_document(be.peer, services.stix.signed_document(be.document()))
    assert SigningKey.objects.get(kid=kid).status == KeyStatus.REVOKED
    apply_objects(be.peer, [be.alert("beanr-customs")])
    assert refused("be") == {"key:revoked": 1}
    assert not Alert.objects.exists()


def test_a_tombstone_removes_the_copy_and_is_kept(be, cast):
    obj = be.alert("beanr-customs", tlp="AMBER", audience={"agencies": ["nlrtm-customs"], "ports": [], "users": []})
    apply_objects(be.peer, [obj])
    doc_id = obj["extensions"][services.stix.EXTENSION_ID]["document"]["id"]
    stone = be.tombstone(doc_id, 2, "audience")
    assert apply_objects(be.peer, [stone]).applied == 1
    assert not Alert.objects.filter(pk=doc_id).exists()
    assert not access.alerts_visible_to(cast["users"]["rotterdam_customs"]).filter(pk=doc_id).exists()
    assert ReceivedTombstone.objects.get(object_id=doc_id).reason == "audience"
    again = apply_objects(be.peer, [stone])
    assert (again.applied, again.already) == (0, 1)


def test_a_tombstone_not_signed_by_the_pinned_portal_key_is_refused(be):
    obj = be.alert("beanr-customs")
    apply_objects(be.peer, [obj])
    doc_id = obj["extensions"][services.stix.EXTENSION_ID]["document"]["id"]
    impostor = Origin("be", be.url, [])
    apply_objects(be.peer, [impostor.tombstone(doc_id, 2, "withdrawn")])
    assert refused("be") == {"signature:invalid": 1}
    assert Alert.objects.filter(pk=doc_id).exists()


def test_a_peer_cannot_tombstone_another_instances_copy(be, cast):
    de_agencies = list(Agency.objects.filter(port_id="DEHAM"))
    de = Origin("de", "http://de.test", de_agencies)
    peer_add(peer_id="de", url=de.url, key_thumbprint=de.portal_kid, document_jws=de.document())
    de.peer = services.Peer.objects.get(pk="de")
    obj = be.alert("beanr-customs")
    apply_objects(be.peer, [obj])
    doc_id = obj["extensions"][services.stix.EXTENSION_ID]["document"]["id"]
    apply_objects(de.peer, [de.tombstone(doc_id, 2, "withdrawn")])
    assert refused("de") == {"origin:not-home": 1}
    assert Alert.objects.filter(pk=doc_id).exists()


def test_add_peer_refuses_a_document_not_signed_by_the_pinned_key(at_nl, cast):
    agencies = list(Agency.objects.filter(port_id="BEANR"))
    origin = Origin("be", "http://be.test", agencies)
    other = Origin("be", "http://be.test", [])
    with pytest.raises(services.FederationError):
        # Signed by another key than the pinned one, and no announcement can be fetched: refused.
        peer_add(
            peer_id="be",
            url="http://127.0.0.1:9",
            key_thumbprint=origin.portal_kid,
            document_jws=origin.document(signer=other.portal),
        )
    assert not services.Peer.objects.exists()
    assert Agency.objects.get(slug="beanr-customs").home_instance == ""


def test_a_peer_cannot_claim_an_agency_homed_here_nor_take_over_its_keys(be):
    ours = Agency.objects.get(slug="nlrtm-customs")
    thief = Origin("be", be.url, [*be.agencies, ours])
    services.apply_instance_document(be.peer, services.stix.signed_document(thief.document()))
    assert Agency.objects.get(pk=ours.pk).home_instance == ""  # still ours
    assert not SigningKey.objects.filter(kid=thief.kid("nlrtm-customs")).exists()
    apply_objects(be.peer, [thief.alert("nlrtm-customs")])
    assert refused("be") == {"origin:not-home": 1}


def test_set_peer_token_refuses_an_empty_token_and_stores_it_encrypted(be):
    with pytest.raises(services.FederationError):
        services.peer_set_token(peer=be.peer, token="  \n")
    services.peer_set_token(peer=be.peer, token="s3cret-token\n")
    be.peer.refresh_from_db()
    assert b"s3cret-token" not in bytes(be.peer.token_encrypted)
    assert services.peer_token(be.peer) == "s3cret-token"
