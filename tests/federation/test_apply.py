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


# ---------------------------------------------------------------- the bulk page apply


def _page(be, n: int, *, start: int = 0, member: str = "") -> list[dict]:
    """A page as a peer sends it: GREEN, CLEAR, AMBER for an agency, AMBER for a port, RED for a member."""
    shapes = [
        {"tlp": "GREEN"},
        {"tlp": "CLEAR"},
        {"tlp": "AMBER", "audience": {"agencies": ["nlrtm-customs"], "ports": [], "users": []}},
        {"tlp": "AMBER", "audience": {"agencies": [], "ports": ["NLRTM"], "users": []}},
        {"tlp": "RED", "audience": {"agencies": [], "ports": [], "users": [member]}},
    ]
    return [be.alert("beanr-customs", title=f"Bulk {start + i}", **shapes[i % len(shapes)]) for i in range(n)]


def _doc(obj: dict) -> dict:
    return obj["extensions"][services.stix.EXTENSION_ID]["document"]


@pytest.mark.postgres  # SQLite splits a bulk insert by its limit on variables; PostgreSQL sends each in one
def test_a_page_costs_the_same_number_of_queries_whatever_its_size(be, cast, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    member = cast["memberships"]["rotterdam_customs"].handle  # RED names a member by handle
    small = _page(be, 5, member=member)
    with CaptureQueriesContext(connection) as five:
        assert apply_objects(be.peer, small).applied == 5
    # 200 new objects, then a page of new versions of them (the head rows updated in one bulk update).
    big = _page(be, 200, start=5, member=member)
    with django_assert_max_num_queries(len(five)):
        assert apply_objects(be.peer, big).applied == 200
    newer = [be.alert("beanr-customs", title="Bulk v2", version=2, doc_id=_doc(o)["id"]) for o in big]
    with django_assert_max_num_queries(len(five) + 2):  # + the bulk update of the heads (and its batch)
        assert apply_objects(be.peer, newer).applied == 200
    with django_assert_max_num_queries(len(five)):
        again = apply_objects(be.peer, big + newer)
    assert (again.applied, again.already, again.refused) == (0, 400, {})
    assert AlertVersion.objects.count() == 405
    assert Alert.objects.filter(version=2).count() == 200


def test_bulk_apply_leaves_what_a_one_by_one_apply_leaves(be, cast):
    """The same page through the bulk path and through store_copy one by one: same rows, grants, readers,
    feed entries, audit entries, federated copies and search vectors."""
    from interop.models import FeedEntry
    from ports.models import AuditEntry

    def state(ids):
        out = {}
        for alert_id in ids:
            alert = Alert.objects.get(pk=alert_id)
            out[alert_id] = {
                "version": alert.version,
                "title": alert.title,
                "versions": sorted(AlertVersion.objects.filter(alert_id=alert_id).values_list("version", flat=True)),
                "grants": sorted(g.value for g in alert.grants.all()),
                "identifiers": sorted(alert.identifiers.values_list("kind", "value")),
                "feed": sorted(
                    FeedEntry.objects.filter(object_id=alert_id).values_list("kind", "version", "tlp", "author")
                ),
                "audit": sorted(AuditEntry.objects.filter(object_id=str(alert_id)).values_list("action", flat=True)),
                "copy": FederatedCopy.objects.filter(object_id=alert_id).values_list("version", "origin").first(),
                "readers": sorted(
                    name for name, user in cast["users"].items() if access.alerts_visible_to(user).filter(pk=alert_id)
                ),
                "signature": access.get_alert_for(cast["users"]["superuser"], alert_id).signature_status
                if access.alerts_visible_to(cast["users"]["superuser"]).filter(pk=alert_id).exists()
                else None,
            }
        return out

    def twin_pages():
        first = _page(be, 5, member=cast["memberships"]["rotterdam_customs"].handle)
        firsts = [_doc(o)["id"] for o in first]
        later = [
            be.alert("beanr-customs", title="v2", version=2, doc_id=firsts[0], containers=["MSCU1234566"]),
            be.alert("beanr-customs", title="v3", version=3, doc_id=firsts[0], tlp="CLEAR"),
        ]
        return first + later, firsts

    bulk_page, bulk_ids = twin_pages()
    one_page, one_ids = twin_pages()
    assert apply_objects(be.peer, bulk_page).applied == 7
    assert services.apply_objects_one_by_one(be.peer, one_page).applied == 7
    bulk, one = state(bulk_ids), state(one_ids)
    assert list(bulk.values()) == list(one.values())
    # Every entry carries its head's tlp and author (the TAXII walk's copies): v3 made the alert CLEAR.
    head = Alert.objects.get(pk=bulk_ids[0])
    assert bulk[bulk_ids[0]]["feed"] == [("alert", v, "CLEAR", head.author) for v in (1, 2, 3)]
    assert bulk[bulk_ids[0]]["audit"] == ["alert.federated"] * 3


def test_a_tombstone_and_a_later_version_in_one_page_apply_in_page_order(be, cast):
    obj = be.alert("beanr-customs", tlp="GREEN")
    doc_id = _doc(obj)["id"]
    apply_objects(be.peer, [obj])
    v2 = be.alert("beanr-customs", tlp="GREEN", title="back again", version=2, doc_id=doc_id)
    result = apply_objects(be.peer, [be.tombstone(doc_id, 1, "audience"), v2])
    assert (result.applied, result.refused) == (2, {})
    assert Alert.objects.get(pk=doc_id).title == "back again"
    # A page replayed with version 1 after the tombstone for version 1: it stays gone from the history.
    again = apply_objects(be.peer, [obj])
    assert (again.applied, again.already) == (0, 1)
    assert list(AlertVersion.objects.filter(alert_id=doc_id).values_list("version", flat=True)) == [2]


def test_a_container_alert_copy_is_correlated_like_a_published_one(be, cast):
    from correlation.models import Correlation
    from sharing.services.alerts import alert_publish

    from ..sharing.conftest import alert_fields

    ours = alert_publish(
        membership=cast["memberships"]["hamburg_customs"], data=alert_fields(port="DEHAM", containers=["MSCU1234566"])
    )
    copy = be.alert("beanr-customs", containers=["MSCU1234566"])
    assert apply_objects(be.peer, [copy]).applied == 1
    assert Correlation.objects.filter(alert_a_id=_doc(copy)["id"], alert_b_id=ours.pk).exists()
