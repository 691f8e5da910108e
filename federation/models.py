"""Peers and what crosses to and from them (SPEC sections 10.1 and 10.2).

A `Peer` is another instance of the alliance: its id, URL, pinned portal key, its last verified instance document,
the token we read it with (encrypted at rest under `ALLIANCE_KEK`), our cursor in its federation collection and
the sync figures. `PeerReason` counts, per peer and direction, every object left out (outgoing) or refused
(incoming) by reason code. `PeerOffer` remembers which objects were offered to a peer, so that an object it may
no longer read leaves a tombstone there. `FederatedCopy` marks a stored copy with its origin instance (read-only
here); `ReceivedTombstone` keeps every tombstone applied.
"""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Direction(models.TextChoices):
    OUT = "out", _("Left out of what we offer the peer")
    IN = "in", _("Refused from the peer")


class Peer(models.Model):
    id = models.SlugField(primary_key=True, max_length=64)  # the peer's INSTANCE_ID
    url = models.URLField(max_length=300)
    key_thumbprint = models.CharField(max_length=64)  # the pinned portal key (RFC 7638), as SSH pins a host key
    document_jws = models.TextField(blank=True)  # the last instance document that verified
    document_fetched_at = models.DateTimeField(null=True, blank=True)
    token_encrypted = models.BinaryField(null=True, blank=True, editable=False)  # what we read the peer with
    cursor = models.BigIntegerField(default=0)  # the `next` of the last page applied
    lag_objects = models.BigIntegerField(default=0)  # objects the peer still had above our cursor last time
    lag_seconds = models.FloatField(default=0)  # age of the oldest object not yet applied (0 when caught up)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    applied = models.BigIntegerField(default=0)  # objects applied since the peer was added
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"peer {self.id}"


class PeerReason(models.Model):
    peer = models.ForeignKey(Peer, on_delete=models.CASCADE, related_name="reasons")
    direction = models.CharField(max_length=3, choices=Direction.choices)
    reason = models.CharField(max_length=40)  # `audience:no-home-reader`, `signature:invalid`, ...
    count = models.BigIntegerField(default=0)
    last_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["peer", "direction", "reason"]
        constraints = [
            models.UniqueConstraint(fields=["peer", "direction", "reason"], name="peer_reason_unique"),
            models.CheckConstraint(condition=Q(direction__in=Direction.values), name="peer_reason_direction_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.peer_id} {self.direction} {self.reason}: {self.count}"


class PeerOffer(models.Model):
    """An alert or practice offered to a peer (its latest version readable by the peer's home agencies)."""

    peer = models.ForeignKey(Peer, on_delete=models.CASCADE, related_name="offers")
    kind = models.CharField(max_length=10)  # FeedKind: alert / practice
    object_id = models.UUIDField()
    version = models.PositiveIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["peer", "kind", "object_id"], name="peer_offer_unique")]
        indexes = [models.Index(fields=["kind", "object_id"], name="peer_offer_object")]

    def __str__(self) -> str:
        return f"{self.kind} {self.object_id} v{self.version} to {self.peer_id}"


class FederatedCopy(models.Model):
    """A read-only copy of an object homed at another instance: where it came from, which version we hold."""

    kind = models.CharField(max_length=10)
    object_id = models.UUIDField()
    version = models.PositiveIntegerField()
    origin = models.SlugField(max_length=64)  # the origin instance id
    received_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "object_id"], name="federated_copy_unique")]

    def __str__(self) -> str:
        return f"{self.kind} {self.object_id} v{self.version} from {self.origin}"


class ReceivedTombstone(models.Model):
    kind = models.CharField(max_length=10)
    object_id = models.UUIDField()
    version = models.PositiveIntegerField()
    reason = models.CharField(max_length=10)
    origin = models.SlugField(max_length=64)
    at = models.DateTimeField()
    jws = models.TextField()
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["object_id", "version"], name="received_tombstone_unique")]

    def __str__(self) -> str:
        return f"tombstone {self.kind} {self.object_id} v{self.version} ({self.reason})"
