"""Feedback on alerts (SPEC section 3): a public-sector reader reports what they did with an alert.

Feedback is a signed document (typ `feedback+json`) made with the reporting agency's key. Feedback on an alert
homed at another instance travels back there in the federation collection (hook `feedback_submitted`), where
`feedback_store_copy` stores it, signature unchanged, for the alert's author agency (SPEC 10.2).
"""

import uuid
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from alliance import hooks
from notifications.services import notify
from notifications.subjects import message, term
from ports import audit, signing
from ports.models import Agency, Membership, Sector, SigningKey
from ports.services import agency_key_ensure
from ports.validation import clean_text, finite_number, hostile_errors

from ..documents import FEEDBACK_TYP, feedback_document
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
        author_handle=membership.handle,
        created_at=timezone.now().replace(microsecond=0),  # signed times are whole seconds
        uuid=uuid.uuid4(),
        **values,
    )
    feedback.full_clean(exclude=["alert", "agency", "author", "key"])
    key = agency_key_ensure(membership.agency)
    feedback.key = key
    feedback.jws = signing.sign(feedback_document(feedback), key, FEEDBACK_TYP)
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
    _tell_author(feedback)
    hooks.run("feedback_submitted", feedback)
    return feedback


def _tell_author(feedback: Feedback) -> None:
    alert = feedback.alert
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


@transaction.atomic
def feedback_store_copy(*, agency: Agency, key: SigningKey, jws: str, payload: dict) -> tuple[Feedback, bool]:
    """Store feedback signed at the reporting agency's home instance, on an alert homed here; (row, created).

    The caller (the federation sync) has checked that the agency is homed at the sender and the signature with
    `key`. Validated as a submit is, the fields must say exactly what the payload says (the stored row verifies
    from its JWS on every read). Raises ValidationError.
    """
    expected = {"id", "type", "alert", "alert_version", "agency", "author", "outcome", "seized_kg", "container"}
    if set(payload) != expected | {"note", "created_at"} or payload.get("type") != "feedback":
        raise ValidationError({"jws": ["A feedback document has exactly the fields of SPEC section 3."]})
    try:
        feedback_id = uuid.UUID(str(payload["id"]))
        alert = Alert.objects.select_for_update().get(pk=uuid.UUID(str(payload["alert"])))
    except (ValueError, Alert.DoesNotExist) as exc:
        raise ValidationError({"alert": ["No such alert here."]}) from exc
    held = Feedback.objects.filter(uuid=feedback_id).first()
    if held is not None:
        if held.jws != jws:
            raise ValidationError({"id": ["This feedback is held with another document."]})
        return held, False
    version = payload.get("alert_version")
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= alert.version:
        raise ValidationError({"alert_version": ["Not a version of the alert."]})
    created_at = _signed_time(payload.get("created_at"))
    if created_at is None or agency.slug != payload.get("agency") or agency.sector != Sector.PUBLIC:
        raise ValidationError({"agency": ["Feedback comes from public-sector agencies, at a whole-second time."]})
    values = _clean({k: payload.get(k) for k in FIELDS})
    feedback = Feedback(
        uuid=feedback_id,
        alert=alert,
        alert_version=version,
        agency=agency,
        author=None,
        author_handle=str(payload.get("author") or ""),
        created_at=created_at,
        jws=jws,
        key=key,
        **values,
    )
    feedback.full_clean(exclude=["alert", "agency", "author", "key"])
    if not feedback.author_handle.startswith(f"{agency.slug}/") or signing.canonical(
        feedback_document(feedback)
    ) != signing.canonical(payload):
        raise ValidationError({"jws": ["The document is not in its normalised form."]})
    feedback.save(force_insert=True)
    audit.record(
        None,
        "feedback.received",
        feedback,
        {"alert": str(alert.pk), "alert_version": version, "agency": agency.slug, "outcome": feedback.outcome},
    )
    _tell_author(feedback)
    return feedback, True


def _signed_time(value) -> datetime | None:
    try:
        parsed = parse_datetime(value) if isinstance(value, str) else None
    except ValueError:
        return None
    return parsed if parsed is not None and parsed.tzinfo is not None else None
