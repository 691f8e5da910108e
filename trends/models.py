"""Trends data (SPEC section 7): daily rollups, imported statistics, declared measures, displacement flags."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from ports.models import Agency, Port
from scans.models import Verdict


class DailyRollup(models.Model):
    """Scans per (day, port, origin, verdict): kept current by the relay and by inspection outcomes.

    `day` is the UTC date of `scanned_at`. `seized_kg` sums, per scan, its inspection outcome's kilograms
    when it has one, else the scan's own figure. `inspected_positive` counts positive inspection outcomes.
    """

    day = models.DateField()
    port = models.ForeignKey(Port, on_delete=models.PROTECT, related_name="+", db_index=False)
    origin = models.ForeignKey(Port, on_delete=models.PROTECT, related_name="+", db_index=False)
    verdict = models.CharField(max_length=16, choices=Verdict.choices)
    scans = models.PositiveIntegerField(default=0)
    seized_kg = models.FloatField(default=0.0)
    inspected_positive = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["day", "port", "origin", "verdict"]
        constraints = [
            # The upsert's conflict target; also the trends query's index (a range on day first).
            models.UniqueConstraint(fields=["day", "port", "origin", "verdict"], name="rollup_unique_cell"),
            models.CheckConstraint(condition=Q(verdict__in=Verdict.values), name="rollup_verdict_valid"),
            models.CheckConstraint(condition=Q(seized_kg__gte=0), name="rollup_seized_non_negative"),
        ]
        indexes = [
            # Trends for one port (or a few) over a long range.
            models.Index(fields=["port", "day"], name="rollup_port_day"),
            models.Index(fields=["origin", "day"], name="rollup_origin_day"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.port_id}<-{self.origin_id} {self.verdict}: {self.scans}"


class PeriodRollup(models.Model):
    """Scans per (period, port, origin), verdicts as columns: the daily rollups summed over a whole week or month.

    Kept by the same hooks and in the same transaction as `DailyRollup` (one upsert per table), rebuilt with
    it, and equal to it summed by period (tested). The trends API reads whole periods from here and the
    range's partial periods at its edges from the daily table (trends.selectors.read_plan).
    """

    start = models.DateField()
    port = models.ForeignKey(Port, on_delete=models.PROTECT, related_name="+", db_index=False)
    origin = models.ForeignKey(Port, on_delete=models.PROTECT, related_name="+", db_index=False)
    scans = models.PositiveIntegerField(default=0)  # every verdict
    suspect = models.PositiveIntegerField(default=0)
    positive = models.PositiveIntegerField(default=0)
    seized_kg = models.FloatField(default=0.0)
    inspected_positive = models.PositiveIntegerField(default=0)

    class Meta:
        abstract = True
        ordering = ["start", "port", "origin"]

    def __str__(self) -> str:
        return f"{self.start} {self.port_id}<-{self.origin_id}: {self.scans}"


class WeeklyRollup(PeriodRollup):
    """`start` is the Monday of the ISO week (UTC days, as `DailyRollup.day`)."""

    class Meta(PeriodRollup.Meta):
        constraints = [
            models.UniqueConstraint(fields=["start", "port", "origin"], name="weekly_rollup_unique_cell"),
            models.CheckConstraint(condition=Q(suspect__lte=F("scans") - F("positive")), name="weekly_rollup_hits"),
        ]
        indexes = [
            models.Index(fields=["port", "start"], name="weekly_rollup_port"),
            models.Index(fields=["origin", "start"], name="weekly_rollup_origin"),
        ]


class MonthlyRollup(PeriodRollup):
    """`start` is the first day of the month."""

    class Meta(PeriodRollup.Meta):
        constraints = [
            models.UniqueConstraint(fields=["start", "port", "origin"], name="monthly_rollup_unique_cell"),
            models.CheckConstraint(condition=Q(suspect__lte=F("scans") - F("positive")), name="monthly_rollup_hits"),
        ]
        indexes = [
            models.Index(fields=["port", "start"], name="monthly_rollup_port"),
            models.Index(fields=["origin", "start"], name="monthly_rollup_origin"),
        ]


class StatisticsRow(models.Model):
    """Aggregate statistics of a port without connected scanners, over [period_start, period_end] inclusive."""

    period_start = models.DateField()
    period_end = models.DateField()
    port = models.ForeignKey(Port, on_delete=models.PROTECT, related_name="+")
    origin = models.ForeignKey(Port, on_delete=models.PROTECT, related_name="+")
    scans = models.PositiveIntegerField()
    suspect = models.PositiveIntegerField()
    positive = models.PositiveIntegerField()
    seized_kg = models.FloatField(default=0.0)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    agency = models.ForeignKey(Agency, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    source = models.CharField(max_length=200, blank=True)
    imported_at = models.DateTimeField()

    class Meta:
        ordering = ["period_start", "port", "origin"]
        constraints = [
            # A re-import of the same period, port and origin replaces the row.
            models.UniqueConstraint(fields=["period_start", "period_end", "port", "origin"], name="statistics_unique"),
            models.CheckConstraint(condition=Q(period_end__gte=F("period_start")), name="statistics_period_order"),
            models.CheckConstraint(
                condition=Q(suspect__lte=F("scans") - F("positive")), name="statistics_hits_within_scans"
            ),
            models.CheckConstraint(condition=Q(seized_kg__gte=0), name="statistics_seized_non_negative"),
        ]
        indexes = [
            models.Index(fields=["period_end", "period_start"], name="statistics_period"),
            models.Index(fields=["port", "origin", "period_start"], name="statistics_port_origin"),
        ]

    def __str__(self) -> str:
        return f"{self.port_id}<-{self.origin_id} {self.period_start}..{self.period_end}"

    @property
    def days(self) -> int:
        return (self.period_end - self.period_start).days + 1


class Measure(models.Model):
    """A declared tightening of controls at a port, on one origin or (origin null) on every origin."""

    port = models.ForeignKey(Port, on_delete=models.PROTECT, related_name="+")
    origin = models.ForeignKey(Port, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    starts_on = models.DateField()
    description = models.TextField()
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    author = models.CharField(max_length=96)  # the officer's membership handle
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-starts_on", "-id"]
        indexes = [models.Index(fields=["port", "starts_on"], name="measure_port_start")]

    def __str__(self) -> str:
        return f"measure at {self.port_id} on {self.origin_id or 'all'} from {self.starts_on}"


class FlagStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CONFIRMED = "confirmed", _("Confirmed")
    DISMISSED = "dismissed", _("Dismissed")


class Confidence(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")


class TighteningSource(models.TextChoices):
    MEASURE = "measure", _("Declared measure")
    CHANGEPOINT = "changepoint", _("Change point in scan intensity")


class DisplacementFlag(models.Model):
    """A stored displacement flag; identity (from_port, to_port, origin, tightening) so re-runs update it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    from_port = models.ForeignKey(Port, on_delete=models.PROTECT, related_name="+")
    to_port = models.ForeignKey(Port, on_delete=models.PROTECT, related_name="+")
    origin = models.ForeignKey(Port, on_delete=models.PROTECT, related_name="+")
    # The tightening's identity (its port and origin are from_port and origin).
    tightening_starts_on = models.DateField()
    tightening_source = models.CharField(max_length=16, choices=TighteningSource.choices)
    window_before_start = models.DateField()
    window_before_end = models.DateField()  # exclusive
    window_after_start = models.DateField()
    window_after_end = models.DateField()  # exclusive
    lag_weeks = models.PositiveSmallIntegerField(default=0)
    wdq = models.FloatField()
    effect = models.FloatField()
    p_value = models.FloatField()  # adjusted
    p_raw = models.FloatField()
    confidence = models.CharField(max_length=8, choices=Confidence.choices)
    seized_kg_before = models.FloatField(default=0.0)
    seized_kg_after = models.FloatField(default=0.0)
    evidence = models.JSONField(default=list)
    status = models.CharField(max_length=12, choices=FlagStatus.choices, default=FlagStatus.OPEN)
    status_reason = models.TextField(null=True, blank=True)  # noqa: DJ001 - null: no decision yet
    status_changed_at = models.DateTimeField(null=True, blank=True)
    status_changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    detected_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-detected_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["from_port", "to_port", "origin", "tightening_starts_on", "tightening_source"],
                name="displacement_flag_identity",
            ),
            models.CheckConstraint(condition=Q(status__in=FlagStatus.values), name="displacement_status_valid"),
            models.CheckConstraint(condition=Q(confidence__in=Confidence.values), name="displacement_confidence_valid"),
            models.CheckConstraint(condition=~Q(from_port=F("to_port")), name="displacement_two_ports"),
        ]
        indexes = [
            models.Index(fields=["from_port", "-detected_at"], name="displacement_from"),
            models.Index(fields=["to_port", "-detected_at"], name="displacement_to"),
        ]

    def __str__(self) -> str:
        return f"{self.from_port_id} -> {self.to_port_id} on {self.origin_id} ({self.status})"

    def get_absolute_url(self) -> str:
        return f"/trends/?flag={self.id}"
