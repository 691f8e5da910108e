"""/metrics carries each peer's sync figures (SPEC 10.2, issue 17's `alliance_peer_sync_lag_seconds` alert)."""

import pytest
from django.utils import timezone

from federation.models import Direction, Peer, PeerReason
from tests.ops.test_metrics import scrape, value

pytestmark = pytest.mark.django_db


def test_peer_lag_cursor_and_reason_counts_are_exported(client):
    now = timezone.now()
    nl = Peer.objects.create(
        id="nl", url="http://nl.test", key_thumbprint="x" * 43, cursor=41, lag_objects=7, lag_seconds=12.5
    )
    Peer.objects.filter(pk=nl.pk).update(last_success_at=now, applied=40)
    Peer.objects.create(id="europol", url="http://europol.test", key_thumbprint="y" * 43)
    PeerReason.objects.create(peer=nl, direction=Direction.OUT, reason="audience:no-home-reader", count=3)
    PeerReason.objects.create(peer=nl, direction=Direction.IN, reason="signature:invalid", count=1)

    fams = scrape(client)

    assert value(fams, "alliance_peer_sync_lag_seconds", peer="nl") == 12.5
    assert value(fams, "alliance_peer_sync_lag_objects", peer="nl") == 7
    assert value(fams, "alliance_peer_sync_cursor", peer="nl") == 41
    assert value(fams, "alliance_peer_sync_lag_seconds", peer="europol") == 0
    assert value(fams, "alliance_peer_sync_last_success_timestamp_seconds", peer="nl") == pytest.approx(now.timestamp())
    assert value(fams, "alliance_peer_sync_applied", "alliance_peer_sync_applied_total", peer="nl") == 40
    reasons = "alliance_peer_sync_objects_by_reason"
    assert value(fams, reasons, reasons + "_total", peer="nl", direction="out", reason="audience:no-home-reader") == 3
    assert value(fams, reasons, reasons + "_total", peer="nl", direction="in", reason="signature:invalid") == 1
