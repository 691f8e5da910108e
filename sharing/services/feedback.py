"""Feedback on alerts (SPEC section 3): a public-sector reader reports what they did with an alert."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from notifications.services import notify
from notifications.subjects import message, term
from ports import audit
from ports.models import Membership, Sector
from ports.validation import clean_text, finite_number, hostile_errors

from ..models import Alert, Feedback, FeedbackOutcome, Tlp

MAX_NOTE = 4000
MAX_CONTAINER = 32  # spaces and dashes included; the model keeps the compact form
MAX_KG = 1_000_000  # a million kilograms: more than any seizure on record, less than a typo of units


FIELDS = ("outcome", "seized_kg", "container", "note")


def _clean(data) -> dict:
    """{field: [messages]} errors in the API's shape; normalised values otherwise (raw API JSON or form strings)."""
    if not isinstance(data, dict):
        raise ValidationError({"non_field_errors": [_("A JSON object is expected.")]})
    errors: dict[str, list[str]] = {
        name: messages for name, messages in hostile_errors(data).items() if name in (*FIELDS, "non_field_errors")
    }
    outcome = data.get("outcome")
    if "outcome" not in errors and outcome not in FeedbackOutcome.values:
        errors["outcome"] = [_("Choose one of %(choices)s.") % {"choices": ", ".join(FeedbackOutcome.values)}]
    seized_kg = data.get("seized_kg")
    if "seized_kg" in errors or seized_kg in ("", None):
        seized_kg = None
    else:
        seized_kg, problem = finite_number(
            seized_kg,
            minimum=0,
            maximum=MAX_KG,
            strings=True,
            what=_("A number of kilograms is expected."),
            too_low=_("Kilograms cannot be negative."),
        )
        if problem:
            errors["seized_kg"] = [problem]
        elif outcome != FeedbackOutcome.SEIZED:
            errors["seized_kg"] = [_("Kilograms go with the outcome 'seized' only.")]
    container, problem = clean_text(data.get("container"), max_length=MAX_CONTAINER)
    if problem and "container" not in errors:
        errors["container"] = [problem if problem != _("Text is expected.") else _("A container number is expected.")]
    container = (container or "").replace(" ", "").replace("-", "").upper()
    note, problem = clean_text(data.get("note"), max_length=MAX_NOTE)
    if problem and "note" not in errors:
        errors["note"] = [problem]
    if errors:
        raise ValidationError(errors)
    return {"outcome": outcome, "seized_kg": seized_kg, "container": container, "note": note or ""}


def _notice_subject(feedback: Feedback) -> dict:
    """Stored as a message: each recipient reads it in their own language, whatever the sender's was."""
    outcome = term(FeedbackOutcome(feedback.outcome).label)
    if feedback.seized_kg is not None:
        return message("feedback.seized", agency=feedback.agency.slug, outcome=outcome, kg=f"{feedback.seized_kg:g}")
    return message("feedback", agency=feedback.agency.slug, outcome=outcome)


@transaction.atomic
def feedback_submit(*, membership: Membership, alert: Alert, data: dict) -> Feedback:
    """Record feedback from `membership`'s agency on an alert the caller has already been shown (access checked).

    The caller resolves `alert` through the access layer first: an alert the reader
    cannot read answers 404 before the body is looked at.
    """
    if membership.agency_sector != Sector.PUBLIC or not membership.is_active:
        raise ValidationError({"agency": [_("Feedback comes from public-sector readers only.")]})
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
