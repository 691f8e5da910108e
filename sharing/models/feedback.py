"""Feedback on alerts (SPEC section 3): what a public-sector reader did with an alert.

Warning, feedback, seizure: the loop customs close in CENcomm. Feedback has its
own audience (the author agency, the reporting agency and liaisons, of those
only who can also read the alert); `access.feedback_visible_to` is the
one place that rule lives.
"""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from stdnum import iso6346

from ports.models import Agency, Membership, SigningKey

from .alerts import Alert

__all__ = ["Feedback", "FeedbackOutcome", "validate_container"]


class FeedbackOutcome(models.TextChoices):
    CHECKED_NEGATIVE = "checked_negative", _("Checked: nothing found")
    CHECKED_POSITIVE = "checked_positive", _("Checked: confirmed")
    SEIZED = "seized", _("Seized")
    NOT_APPLICABLE = "not_applicable", _("Not applicable to us")


def validate_container(value: str) -> None:
    if not value or len(value) != 11 or not iso6346.is_valid(value):
        raise ValidationError(f"{value!r} is not an ISO 6346 container number with a valid check digit.")


class Feedback(models.Model):
    alert = models.ForeignKey(Alert, on_delete=models.PROTECT, related_name="feedback")
    # The alert version the reporter read when they acted on it.
    alert_version = models.PositiveIntegerField()
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    # Null for feedback received from the reporting agency's home instance (SPEC 10.2): no member of it here.
    author = models.ForeignKey(Membership, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    outcome = models.CharField(max_length=20, choices=FeedbackOutcome.choices)
    # Only with a seizure, and optional then: the weight is often known days later.
    seized_kg = models.FloatField(null=True, blank=True)
    container = models.CharField(max_length=11, blank=True, default="", validators=[validate_container])
    note = models.TextField(blank=True, default="")
    created_at = models.DateTimeField()
    # The signed document (SPEC section 3, typ `feedback+json`): its `id`, the reporter's handle, the JWS made with
    # the reporting agency's key and that key. Empty for feedback recorded before feedback was signed.
    uuid = models.UUIDField(unique=True, null=True, blank=True, editable=False)
    author_handle = models.CharField(max_length=96, blank=True, default="")
    jws = models.TextField(blank=True, default="")
    key = models.ForeignKey(
        SigningKey, on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_column="kid"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(outcome__in=[c.value for c in FeedbackOutcome]), name="feedback_outcome_valid"
            ),
            models.CheckConstraint(
                condition=Q(seized_kg__isnull=True) | Q(seized_kg__gte=0), name="feedback_seized_non_negative"
            ),
            models.CheckConstraint(
                condition=Q(seized_kg__isnull=True) | Q(outcome="seized"), name="feedback_kg_only_when_seized"
            ),
            models.CheckConstraint(
                condition=Q(container="") | Q(container__regex=r"^[A-Z]{4}[0-9]{7}$"), name="feedback_container_syntax"
            ),
        ]
        indexes = [
            models.Index(fields=["alert", "-created_at"], name="feedback_alert"),
            models.Index(fields=["agency", "alert"], name="feedback_agency_alert"),
        ]

    def __str__(self) -> str:
        return f"feedback on {self.alert_id}: {self.outcome}"

    @property
    def handle(self) -> str:
        """The reporter's handle: the signed one, or the member's for feedback recorded before signing."""
        return self.author_handle or (self.author.handle if self.author else "")
