"""Scan results pushed by scanner nodes, their inspection outcomes, relay outbox and read grants."""

import uuid

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from guardian.models import GroupObjectPermissionBase

from ports.models import Agency, Port, ScannerNode, SigningKey

__all__ = [
    "Verdict",
    "Mode",
    "Anomaly",
    "Scan",
    "ScanOutbox",
    "ScanGroupObjectPermission",
    "NodeCounter",
    "OutcomeResult",
    "InspectionOutcome",
    "VERDICT_RANK",
]


class Verdict(models.TextChoices):
    CLEAR = "clear", _("Clear")
    INCONCLUSIVE = "inconclusive", _("Inconclusive")
    SUSPECT = "suspect", _("Suspect")
    POSITIVE = "positive", _("Positive")


# Order used by subscriptions' minimum verdict.
VERDICT_RANK: dict[str, int] = {Verdict.CLEAR: 0, Verdict.INCONCLUSIVE: 1, Verdict.SUSPECT: 2, Verdict.POSITIVE: 3}


class Mode(models.TextChoices):
    IMPORT = "import", _("Import")
    EXPORT = "export", _("Export")
    TRANSSHIPMENT = "transshipment", _("Transshipment")


class Anomaly(models.TextChoices):
    ORGANIC_DENSITY = "organic_density", _("Organic density")
    HIDDEN_COMPARTMENT = "hidden_compartment", _("Hidden compartment")
    RIP_ON_BAG = "rip_on_bag", _("Rip-on bag")
    MODIFIED_STRUCTURE = "modified_structure", _("Modified structure")
    REEFER_UNIT = "reefer_unit", _("Reefer unit")
    SEAL_MISMATCH = "seal_mismatch", _("Seal mismatch")
    CARGO_SUBSTITUTION = "cargo_substitution", _("Cargo substitution")
    DOOR_AREA_LOAD = "door_area_load", _("Door-area load")


class Scan(models.Model):
    """One inspection result, stored exactly as the node signed it (`jws`) with its fields alongside."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    node = models.ForeignKey(ScannerNode, on_delete=models.PROTECT, related_name="scans")
    scan_id = models.CharField(max_length=64)
    port = models.ForeignKey(Port, on_delete=models.PROTECT, related_name="scans")
    scanned_at = models.DateTimeField()
    container = models.CharField(max_length=11)
    vessel_imo = models.CharField(max_length=7, null=True, blank=True)  # noqa: DJ001 - null: not given
    voyage = models.CharField(max_length=32, null=True, blank=True)  # noqa: DJ001 - null: not given
    origin = models.ForeignKey(Port, on_delete=models.PROTECT, related_name="+")
    route = models.JSONField(null=True, blank=True)
    next_port = models.ForeignKey(Port, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    onward_route = models.JSONField(null=True, blank=True)
    mode = models.CharField(max_length=16, choices=Mode.choices)
    verdict = models.CharField(max_length=16, choices=Verdict.choices)
    anomalies = models.JSONField(null=True, blank=True)
    score = models.FloatField(null=True, blank=True)
    image_sha256 = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001 - null: not given
    seized_kg = models.FloatField(null=True, blank=True)
    jws = models.TextField()
    key = models.ForeignKey(SigningKey, on_delete=models.PROTECT, related_name="+", db_column="kid")
    payload_sha256 = models.CharField(max_length=64)  # tells an identical re-send from a conflicting one
    received_at = models.DateTimeField(db_index=False)
    integrity_failed = models.BooleanField(default=False)

    class Meta:
        db_table = "sharing_scan"  # kept from the sharing app (SeparateDatabaseAndState)
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["node", "scan_id"], name="scan_id_unique_per_node"),
            models.CheckConstraint(condition=Q(verdict__in=Verdict.values), name="scan_verdict_valid"),
            models.CheckConstraint(condition=Q(mode__in=Mode.values), name="scan_mode_valid"),
            models.CheckConstraint(
                condition=Q(score__isnull=True) | Q(score__gte=0, score__lte=1), name="scan_score_0_1"
            ),
            models.CheckConstraint(
                condition=Q(seized_kg__isnull=True) | Q(seized_kg__gte=0), name="scan_seized_non_negative"
            ),
        ]
        indexes = [
            models.Index(fields=["port", "-received_at"], name="scan_port_recent"),
            models.Index(fields=["-received_at"], name="scan_recent"),
            models.Index(fields=["container", "-scanned_at"], name="scan_container"),
            models.Index(fields=["vessel_imo", "-scanned_at"], name="scan_vessel"),
            models.Index(fields=["verdict", "-received_at"], name="scan_verdict_recent"),
            models.Index(fields=["node", "-received_at"], name="scan_node_recent"),
            models.Index(fields=["port", "origin", "scanned_at"], name="scan_rollup"),
        ]

    def __str__(self) -> str:
        return f"{self.node_id}/{self.scan_id}"

    def get_absolute_url(self) -> str:
        return f"/scans/{self.id}/"


class ScanOutbox(models.Model):
    """Written in the scan's transaction: the scan will be relayed even if the broker is down right now."""

    scan = models.OneToOneField(Scan, on_delete=models.CASCADE, primary_key=True, related_name="outbox")
    created_at = models.DateTimeField()
    attempts = models.PositiveIntegerField(default=0)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "sharing_scanoutbox"  # kept from the sharing app (SeparateDatabaseAndState)
        indexes = [
            models.Index(fields=["created_at"], condition=Q(processed_at__isnull=True), name="outbox_pending"),
        ]

    def __str__(self) -> str:
        return f"outbox {self.scan_id}"


class ScanGroupObjectPermission(GroupObjectPermissionBase):
    """Direct-FK guardian grant: read access to a scan for an agency's group (relay, shared hits)."""

    content_object = models.ForeignKey(Scan, on_delete=models.CASCADE, related_name="group_grants")

    class Meta(GroupObjectPermissionBase.Meta):
        db_table = "sharing_scangroupobjectpermission"  # kept from the sharing app (SeparateDatabaseAndState)
        abstract = False
        indexes = [models.Index(fields=["group", "content_object"], name="scan_grant_group")]

    def __str__(self) -> str:
        return f"{self.group_id} may {self.permission_id} {self.content_object_id}"


class NodeCounter(models.Model):
    """Duplicate and rejected pushes per node; accepted is the count of the node's scans.

    Updated after the ingest transaction, once per request, so the scan
    transaction never waits on a hot row.
    """

    node = models.OneToOneField(ScannerNode, on_delete=models.CASCADE, primary_key=True, related_name="counter")
    duplicate = models.PositiveBigIntegerField(default=0)
    rejected = models.PositiveBigIntegerField(default=0)

    class Meta:
        db_table = "sharing_nodecounter"  # kept from the sharing app (SeparateDatabaseAndState)

    def __str__(self) -> str:
        return f"counters of {self.node_id}"


class OutcomeResult(models.TextChoices):
    NEGATIVE = "negative", _("Negative")
    POSITIVE = "positive", _("Positive")


class InspectionOutcome(models.Model):
    """The physical inspection's result, signed by the recording agency's key (outcome+json)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    scan = models.OneToOneField(Scan, on_delete=models.PROTECT, related_name="outcome")
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    author = models.CharField(max_length=96)
    result = models.CharField(max_length=8, choices=OutcomeResult.choices)
    seized_kg = models.FloatField(null=True, blank=True)
    substance = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001 - null: not given
    note = models.TextField(null=True, blank=True)  # noqa: DJ001 - null: not given
    created_at = models.DateTimeField()
    jws = models.TextField()
    key = models.ForeignKey(SigningKey, on_delete=models.PROTECT, related_name="+", db_column="kid")

    class Meta:
        db_table = "sharing_inspectionoutcome"  # kept from the sharing app (SeparateDatabaseAndState)
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(result__in=OutcomeResult.values), name="outcome_result_valid"),
            models.CheckConstraint(
                condition=Q(seized_kg__isnull=True) | Q(seized_kg__gte=0), name="outcome_seized_non_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"outcome {self.result} for {self.scan_id}"
