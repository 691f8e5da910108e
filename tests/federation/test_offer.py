"""What an instance offers a peer (SPEC 10.2): the access rule with the peer's home agencies as the reader."""

import pytest

import access
from federation.models import Direction, Peer, PeerOffer, PeerReason
from interop.models import FeedEntry, FeedKind, FeedTombstone
from interop.services import sequence_all
from ports import signing
from ports.auth import PeerPrincipal
from ports.instance import instance_document, signed_instance_document, verify_instance_document
from ports.models import Agency
from ports.services import agency_key_ensure, portal_key_ensure, portal_key_rotate
from sharing.services.alerts import alert_publish, alert_version_create

from ..sharing.conftest import alert_fields

pytestmark = pytest.mark.django_db


@pytest.fixture
def peers(at_be, cast):
    """We are `be`; `nl` (Rotterdam) and `europol` are peers whose homes we learnt."""
    Agency.objects.filter(port_id="NLRTM").update(home_instance="nl")
    Agency.objects.filter(slug="europol").update(home_instance="europol")
    Agency.objects.filter(port_id="DEHAM").update(home_instance="de")
    for peer_id in ("nl", "europol"):
        Peer.objects.create(id=peer_id, url=f"http://{peer_id}.test", key_thumbprint="x" * 43)
    return cast


def offered(peer_id: str) -> dict:
    sequence_all()
    entries = access.feed_entries_for(PeerPrincipal(peer_id), access.FEDERATION)
    return {(e.kind, str(e.object_id)): e for e in entries}


def publish(cast, **fields):
    return alert_publish(membership=cast["memberships"]["author"], data=alert_fields(**fields))


def left_out(peer_id: str) -> dict:
    rows = PeerReason.objects.filter(peer_id=peer_id, direction=Direction.OUT)
    return {r.reason: r.count for r in rows}


def test_amber_for_rotterdam_customs_goes_to_nl_only(peers):
    alert = publish(peers, tlp="AMBER", audience={"agencies": ["nlrtm-customs"], "ports": [], "users": []})
    assert (FeedKind.ALERT, str(alert.pk)) in offered("nl")
    assert (FeedKind.ALERT, str(alert.pk)) not in offered("europol")
    assert left_out("europol") == {"audience:no-home-reader": 1}
    assert left_out("nl") == {}


def test_h2_never_leaves_and_is_counted(peers):
    alert = publish(peers, tlp="GREEN", handling="H2")
    assert (FeedKind.ALERT, str(alert.pk)) not in offered("nl")
    assert left_out("nl") == {"handling:h2-h3": 1}


def test_red_stays_home(peers):
    handle = peers["memberships"]["colleague"].handle
    alert = publish(peers, tlp="RED", audience={"agencies": [], "ports": [], "users": [handle]})
    assert (FeedKind.ALERT, str(alert.pk)) not in offered("nl")
    assert left_out("nl") == {"audience:no-home-reader": 1}


def test_copies_and_identities_of_other_instances_are_not_passed_on(peers):
    publish(peers, tlp="GREEN")
    kinds = {(e.kind, e.agency.home_instance or "be") for e in offered("nl").values()}
    assert all(home == "be" for _, home in kinds)


def test_narrowing_leaves_a_signed_tombstone_for_the_peer_that_held_it(peers):
    membership = peers["memberships"]["author"]
    alert = publish(peers, tlp="AMBER", audience={"agencies": ["nlrtm-customs"], "ports": [], "users": []})
    assert PeerOffer.objects.filter(peer_id="nl", object_id=alert.pk).exists()
    alert_version_create(
        membership=membership, alert=alert, data={"audience": {"agencies": ["deham-customs"], "ports": [], "users": []}}
    )
    feed = offered("nl")
    assert (FeedKind.ALERT, str(alert.pk)) not in feed
    stones = [e for e in feed.values() if e.kind == FeedKind.TOMBSTONE]
    assert len(stones) == 1
    stone = FeedTombstone.objects.get(pk=stones[0].row_id)
    payload = signing.parse(stone.jws, "tombstone+json").payload
    assert payload == {
        "type": "tombstone",
        "object": str(alert.pk),
        "version": 2,
        "reason": "audience",
        "at": payload["at"],
    }
    assert signing.parse(stone.jws, "tombstone+json").kid == portal_key_ensure().kid
    # europol never held it: no tombstone there, and the tombstone for nl is nobody else's.
    assert not [e for e in offered("europol").values() if e.kind == FeedKind.TOMBSTONE]


def test_withdrawal_travels_as_a_version(peers):
    alert = publish(peers, tlp="GREEN")
    alert_version_create(membership=peers["memberships"]["author"], alert=alert, data={"status": "withdrawn"})
    versions = FeedEntry.objects.filter(kind=FeedKind.ALERT, object_id=alert.pk).count()
    assert versions == 2
    assert (FeedKind.ALERT, str(alert.pk)) in offered("nl")


def test_retention_purge_leaves_tombstones(peers, settings):
    from datetime import timedelta

    from django.utils import timezone

    from retention.services import purge_expired
    from sharing.models import Alert

    alert = publish(peers, tlp="GREEN")
    Alert.objects.filter(pk=alert.pk).update(created_at=timezone.now() - timedelta(days=4000))
    settings.RETENTION_DAYS_ALERTS = 365
    purge_expired()
    assert not Alert.objects.filter(pk=alert.pk).exists()
    reasons = {FeedTombstone.objects.get(pk=e.row_id).reason for e in offered("nl").values() if e.kind == "tombstone"}
    assert reasons == {"retention"}


def test_the_instance_document_is_signed_and_a_new_portal_key_is_announced_under_the_old(peers):
    old = portal_key_ensure()
    agency_key_ensure(Agency.objects.get(slug="beanr-customs"))
    agency_key_ensure(Agency.objects.get(slug="nlrtm-customs"))  # held here for a test; not ours to announce
    doc = verify_instance_document(signed_instance_document(old), old.kid).payload
    assert doc["instance"] == "be"
    assert {a["slug"] for a in doc["agencies"]} == set(
        Agency.objects.filter(port_id="BEANR").values_list("slug", flat=True)
    )
    assert {k["owner"] for k in doc["keys"]} >= {"portal", "beanr-customs"}
    assert "nlrtm-customs" not in {k["owner"] for k in doc["keys"]}
    new = portal_key_rotate()
    announced = verify_instance_document(signed_instance_document(new, signed_by=old.kid), old.kid)
    assert announced.active_portal_kid == new.kid
    assert set(instance_document()) == {"instance", "url", "agencies", "keys", "issued_at"}
