"""The stored feed cursor (SPEC section 10.2 and 10.3): one row per object version that leaves by TAXII.

A `FeedEntry` is written in the same transaction as what it announces (an alert or practice version, a relayed
scan, an inspection outcome, and the `identity` of an agency the first time one of its objects is announced).
It gets its `seq` only after that transaction commits, from a serialized sequencer (`interop.services`): the
sequencer locks the single `FeedHead` row and numbers the committed, unnumbered rows in id order. So a reader
only ever sees numbered rows, and a row numbered later always gets a higher number: nothing can appear below
a `next` already handed out, whatever the writers do concurrently, and the cursor lives in the database, not
in a server's memory.
"""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ports.models import Agency

__all__ = ["FeedEntry", "FeedHead", "FeedKind", "FeedTombstone"]


class FeedKind(models.TextChoices):
    IDENTITY = "identity", _("Agency identity")
    ALERT = "alert", _("Alert version")
    PRACTICE = "practice", _("Best-practice version")
    SCAN = "scan", _("Relayed scan")
    OUTCOME = "outcome", _("Inspection outcome")
    TOMBSTONE = "tombstone", _("Tombstone for one peer")  # SPEC 10.2: in that peer's federation collection only
    FEEDBACK = "feedback", _("Signed feedback")  # SPEC 10.2: to the alert's home instance only


class FeedEntry(models.Model):
    id = models.BigAutoField(primary_key=True)
    kind = models.CharField(max_length=10, choices=FeedKind.choices)
    # The alert, practice or scan id (an outcome: its scan's); for an identity, the agency's STIX UUID.
    object_id = models.UUIDField()
    version = models.PositiveIntegerField()  # 1, 2, ... (a scan is version 1, its outcome version 2)
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")  # the author / node agency
    row_id = models.BigIntegerField(null=True, blank=True)  # the AlertVersion / PracticeVersion / Feedback row
    handling = models.CharField(max_length=2, null=True, blank=True)  # noqa: DJ001 - this version's handling code
    # Copies of the alert's or practice's head row (the whole history follows the latest version's TLP), kept by
    # `interop.services` in the publishing transaction: `access.feeds` skips entries by them before probing the
    # object itself (which still decides). Null for identities, scans, outcomes and tombstones.
    tlp = models.CharField(max_length=12, null=True, blank=True)  # noqa: DJ001
    author = models.CharField(max_length=96, null=True, blank=True)  # noqa: DJ001
    stix_id = models.CharField(max_length=80)  # `report--...`, `x-alliance-scan--...`, `identity--...`
    modified = models.DateTimeField()  # the STIX `modified` of this version
    seq = models.BigIntegerField(null=True, blank=True, unique=True)  # null until the sequencer numbers it
    added_at = models.DateTimeField(null=True, blank=True)  # TAXII date_added, strictly increasing with seq
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "object_id", "version"], name="feed_entry_unique"),
            models.CheckConstraint(condition=Q(kind__in=FeedKind.values), name="feed_entry_kind_valid"),
        ]
        indexes = [
            models.Index(fields=["id"], condition=Q(seq__isnull=True), name="feed_entry_pending"),
            models.Index(fields=["kind", "object_id", "seq"], name="feed_entry_object"),
            models.Index(fields=["stix_id", "seq"], name="feed_entry_stix_id"),
            models.Index(fields=["added_at"], name="feed_entry_added"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.object_id} v{self.version} #{self.seq}"


class FeedHead(models.Model):
    """The one row the sequencer locks: the last number and time handed out."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_seq = models.BigIntegerField(default=0)
    last_added = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(id=1), name="feed_head_single_row")]

    def __str__(self) -> str:
        return f"feed head #{self.last_seq}"


class FeedTombstone(models.Model):
    """A signed tombstone (SPEC 10.2, typ `tombstone+json`) offered to one peer instance in its federation collection.

    `jws` is signed by the portal key: `{"type": "tombstone", "object", "version", "reason", "at"}`. Its feed entry
    has kind `tombstone`, the tombstone's own `uuid` as object id and this row's id as `row_id`.
    """

    uuid = models.UUIDField(unique=True)
    peer_instance = models.SlugField(max_length=64)
    object_kind = models.CharField(max_length=10)  # alert / practice
    object_id = models.UUIDField()
    version = models.PositiveIntegerField()
    reason = models.CharField(max_length=10)  # audience / withdrawn / retention / purged
    at = models.DateTimeField()
    jws = models.TextField()

    class Meta:
        indexes = [models.Index(fields=["peer_instance", "object_id"], name="feed_tombstone_peer")]

    def __str__(self) -> str:
        return f"tombstone {self.object_kind} {self.object_id} v{self.version} for {self.peer_instance}"
