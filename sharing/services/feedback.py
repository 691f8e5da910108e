"""Feedback on alerts (SPEC section 3): a public-sector reader reports what they did with an alert."""

import math

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from notifications.services import notify
from ports import audit
from ports.models import Membership, Sector

from ..models import Alert, Feedback, FeedbackOutcome, Tlp

MAX_NOTE = 4000
MAX_KG = 1_000_000  # a million kilograms: more than any seizure on record, less than a typo of units


def _clean(data: dict) -> dict:
    """{field: [messages]} errors in the API's shape; normalised values otherwise."""
    errors: dict[str, list[str]] = {}
    outcome = data.get("outcome")
    if outcome not in FeedbackOutcome.values:
        errors["outcome"] = [f"Choose one of {', '.join(FeedbackOutcome.values)}."]
    seized_kg = data.get("seized_kg")
    if seized_kg in ("", None):
        seized_kg = None
    else:
        try:
            seized_kg = float(seized_kg)
        except (TypeError, ValueError):
            errors["seized_kg"] = ["A number of kilograms is expected."]
            seized_kg = None
        else:
            if isinstance(data.get("seized_kg"), bool) or not math.isfinite(seized_kg):
                errors["seized_kg"] = ["A number of kilograms is expected."]
            elif seized_kg < 0:
                errors["seized_kg"] = ["Kilograms cannot be negative."]
            elif seized_kg > MAX_KG:
                errors["seized_kg"] = [f"At most {MAX_KG} kg."]
            elif outcome != FeedbackOutcome.SEIZED:
                errors["seized_kg"] = ["Kilograms go with the outcome 'seized' only."]
    container = data.get("container") or ""
    if not isinstance(container, str):
        errors["container"] = ["A container number is expected."]
        container = ""
    container = container.replace(" ", "").replace("-", "").upper()
    note = data.get("note") or ""
    if not isinstance(note, str):
        errors["note"] = ["Text is expected."]
        note = ""
    elif len(note) > MAX_NOTE:
        errors["note"] = [f"At most {MAX_NOTE} characters (this has {len(note)})."]
    if errors:
        raise ValidationError(errors)
    return {"outcome": outcome, "seized_kg": seized_kg, "container": container, "note": note.strip()}


def _notice_subject(feedback: Feedback) -> str:
    what = dict(FeedbackOutcome.choices)[feedback.outcome]
    if feedback.seized_kg is not None:
        what = f"{what} {feedback.seized_kg:g} kg"
    return f"Feedback from {feedback.agency.slug} on your alert: {what}"


@transaction.atomic
def feedback_submit(*, membership: Membership, alert: Alert, data: dict) -> Feedback:
    """Record feedback from `membership`'s agency on an alert the caller has already been shown (access checked).

    The caller resolves `alert` through the access layer first: an alert the reader
    cannot read answers 404 before the body is looked at.
    """
    if membership.agency_sector != Sector.PUBLIC or not membership.is_active:
        raise ValidationError({"agency": ["Feedback comes from public-sector readers only."]})
    values = _clean(data)
    feedback = Feedback(
        alert=alert,
        alert_version=alert.version,
        agency=membership.agency,
        author=membership,
        created_at=timezone.now(),
        **values,
    )
    feedback.full_clean(exclude=["alert", "agency", "author"])
    feedback.save(force_insert=True)
    # Metadata only: the audit log must not become a copy of what the feedback says.
    audit.record(
        membership.user,
        "feedback.submitted",
        feedback,
        {
            "alert": str(alert.pk),
            "alert_version": alert.version,
            "agency": membership.agency.slug,
            "outcome": values["outcome"],
        },
    )
    # The author agency is told; of a RED alert only the author can read it, so only the author is told.
    if alert.tlp == Tlp.RED:
        author = Membership.objects.filter(handle=alert.author, is_active=True).values_list("id", flat=True)
        notify(
            kind="alert.feedback", subject=_notice_subject(feedback), url=alert.get_absolute_url(), memberships=author
        )
    else:
        notify(
            kind="alert.feedback",
            subject=_notice_subject(feedback),
            url=alert.get_absolute_url(),
            agencies=[alert.agency_id],
        )
    return feedback
