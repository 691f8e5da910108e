"""Webhooks (SPEC section 6): registration, the send pipeline, backoff, dead letters and replay.

Only scans are ever relayed by webhook: the single entry point is the relay's
after-commit hook (`on_relayed`), so alerts, and with them H2/H3 handling
alerts that must never leave the portal, have no path here at all.

A send is at least once: a worker killed after the POST but before recording
it leaves a claim that expires, and the sweep sends again. Receivers dedupe on
`X-Alliance-Delivery`.
"""

import ipaddress
import json
import logging
import socket
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any, cast
from urllib.parse import urlsplit

import certifi
import rfc8785
import urllib3
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

import access
from alliance import metrics
from ports import audit, signing
from ports.models import Membership, Role, Sector
from ports.services import portal_key_ensure
from ports.validation import clean_text, text_problem
from scans import documents as scan_documents
from scans.models import Delivery, Scan

from .models import Endpoint, State, WebhookDelivery

logger = logging.getLogger(__name__)

MAX_URL = 500
MAX_DESCRIPTION = 200
SWEEP_LIMIT = 500
# Headroom over the request timeout before another worker may take a claimed attempt over.
LEASE_MARGIN = timedelta(seconds=60)
DUE_STATES = (State.PENDING, State.FAILED)


# ---------------------------------------------------------------- who administers webhooks


def acting_admin(user, agency_slug: str | None = None) -> Membership:
    """The admin membership acting on webhooks: PermissionDenied (403) for anyone who may not manage them."""
    admins = access.memberships_with_role(user, Role.ADMIN)
    if not admins:
        raise PermissionDenied(_("Webhooks are managed by agency admins."))
    public = access.memberships_with_role(user, Role.ADMIN, public_only=True)
    if not public:
        raise PermissionDenied(_("Private-sector agencies never receive scans, so they have no webhooks."))
    if agency_slug:
        for membership in public:
            if membership.agency.slug == agency_slug:
                return membership
        if any(m.agency.slug == agency_slug for m in admins):
            raise PermissionDenied(_("Private-sector agencies never receive scans, so they have no webhooks."))
        raise ValidationError({"agency": [_("You are not an admin of %(agency)s.") % {"agency": repr(agency_slug)}]})
    if len(public) > 1:
        raise ValidationError({"agency": [_("You administer several agencies: say which one registers the webhook.")]})
    return public[0]


# ---------------------------------------------------------------- target checks


@dataclass(frozen=True)
class Target:
    url: str
    host: str
    port: int
    path: str
    netloc: str
    # Validated addresses to connect to; empty for an allow-listed host (connect by name).
    addresses: tuple[str, ...]


def _allowed_hosts() -> set[str]:
    return {h.strip().lower().strip("[]").rstrip(".") for h in settings.WEBHOOK_ALLOWED_HOSTS if h.strip()}


def _address_problem(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for attribute, name in (
        ("is_unspecified", "unspecified"),
        ("is_loopback", "loopback"),
        ("is_link_local", "link-local"),
        ("is_multicast", "multicast"),
        ("is_private", "private"),
        ("is_reserved", "reserved"),
    ):
        if getattr(ip, attribute):
            return name
    if not ip.is_global:  # shared address space (100.64/10), documentation ranges and the like
        return "non-public"
    return None


def resolve_target(url) -> Target:
    """Check a webhook URL and the addresses its host resolves to now.

    Raises ValidationError({"url": [...]}) for anything but https to public
    addresses; a host in WEBHOOK_ALLOWED_HOSTS may be loopback or private.
    Called at registration and again before every send (DNS may change).
    """

    def refuse(message: str) -> ValidationError:
        return ValidationError({"url": [message]})

    if not isinstance(url, str) or not url.strip():
        raise refuse(_("This field is required."))
    problem = text_problem(url)
    if problem:
        raise refuse(problem)
    url = url.strip()
    if len(url) > MAX_URL:
        raise refuse(_("At most %(limit)s characters.") % {"limit": MAX_URL})
    parts = urlsplit(url)
    if parts.scheme.lower() != "https":
        raise refuse(_("Only https:// URLs are accepted."))
    if parts.username is not None or parts.password is not None:
        raise refuse(_("Credentials in the URL are not accepted; the portal signs every request instead."))
    if parts.fragment:
        raise refuse(_("A URL fragment (#...) is never sent; leave it out."))
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise refuse(_("A host name is required."))
    try:
        port = parts.port or 443
    except ValueError:
        raise refuse(_("The port is not a number from 1 to 65535."))
    try:
        host.encode("idna")
    except UnicodeError:
        raise refuse(_("%(host)s is not a valid host name.") % {"host": repr(host)})
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    target = partial(Target, url=url, host=host, port=port, path=path, netloc=parts.netloc)
    if host in _allowed_hosts():
        return target(addresses=())
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise refuse(_("The host %(host)s does not resolve.") % {"host": host})
    addresses: list[str] = []
    for info in infos:
        address = str(info[4][0]).split("%")[0]
        problem = _address_problem(ipaddress.ip_address(address))
        if problem:
            raise refuse(
                _(
                    "%(host)s resolves to %(address)s, a %(problem)s address: webhooks go to public addresses only "
                    "(an operator may allow a host with WEBHOOK_ALLOWED_HOSTS)."
                )
                % {"host": host, "address": address, "problem": problem}
            )
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise refuse(_("The host %(host)s does not resolve.") % {"host": host})
    return target(addresses=tuple(addresses))


# ---------------------------------------------------------------- endpoints


def endpoint_register(*, membership: Membership, url, description="", actor) -> Endpoint:
    """Register an endpoint for the membership's agency (the caller must be its public-sector admin)."""
    if not access.membership_holds(membership, Role.ADMIN, public_only=True):
        raise PermissionDenied(_("Webhooks are managed by public-sector agency admins."))
    errors: dict[str, list[str]] = {}
    target = None
    try:
        target = resolve_target(url)  # DNS before the transaction: no network I/O while it is open
    except ValidationError as exc:
        errors.update(exc.message_dict)
    description, problem = clean_text(description, max_length=MAX_DESCRIPTION)
    if problem:
        errors["description"] = [problem]
    description = description or ""
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        target = cast(Target, target)  # resolve_target returned it: errors would have been raised above
        if Endpoint.objects.filter(agency_id=membership.agency_id, url=target.url, is_active=True).exists():
            raise ValidationError({"url": [_("This URL is already registered for your agency.")]})
        endpoint = Endpoint(
            agency_id=membership.agency_id, url=target.url, description=description.strip(), created_by=membership
        )
        endpoint.full_clean()
        endpoint.save()
        audit.record(
            actor,
            "webhook.endpoint_created",
            endpoint,
            {"agency": membership.agency.slug, "url": endpoint.url},
        )
    return endpoint


@transaction.atomic
def endpoint_remove(*, endpoint: Endpoint, actor) -> Endpoint:
    """Deactivate the endpoint; what was still waiting for it is dropped (nothing more is sent there)."""
    endpoint = Endpoint.objects.select_for_update().select_related("agency").get(pk=endpoint.pk)
    if not endpoint.is_active:
        return endpoint
    endpoint.is_active = False
    endpoint.deleted_at = timezone.now()
    endpoint.save(update_fields=["is_active", "deleted_at"])
    WebhookDelivery.objects.filter(endpoint=endpoint, state__in=(*DUE_STATES, State.DEAD)).update(
        state=State.DROPPED, last_error="endpoint removed", claim_token=None, claimed_until=None
    )
    audit.record(actor, "webhook.endpoint_deleted", endpoint, {"agency": endpoint.agency.slug, "url": endpoint.url})
    return endpoint


# ---------------------------------------------------------------- attempts from relayed deliveries


def attempts_create(*, delivery_ids: Iterable) -> list:
    """One attempt per (delivery, active endpoint of its agency registered before it). Idempotent."""
    delivery_ids = list(delivery_ids)
    if not delivery_ids:
        return []
    rows = list(Delivery.objects.filter(pk__in=delivery_ids).values_list("pk", "agency_id", "created_at"))
    endpoints: dict[int, list[Endpoint]] = {}
    for endpoint in Endpoint.objects.filter(
        is_active=True,
        agency__sector=Sector.PUBLIC,
        agency__is_active=True,
        agency_id__in={row[1] for row in rows},
    ):
        endpoints.setdefault(endpoint.agency_id, []).append(endpoint)
    if not endpoints:
        return []
    now = timezone.now()
    new = [
        WebhookDelivery(endpoint=endpoint, delivery_id=pk, next_attempt_at=now)
        for pk, agency_id, created_at in rows
        for endpoint in endpoints.get(agency_id, [])
        if created_at >= endpoint.created_at
    ]
    WebhookDelivery.objects.bulk_create(new, ignore_conflicts=True, batch_size=1000)
    return list(
        WebhookDelivery.objects.filter(
            delivery_id__in=[w.delivery_id for w in new], state=State.PENDING, attempts=0
        ).values_list("pk", flat=True)
    )


def queue_sends(attempt_ids: Iterable) -> None:
    """Queue one task per attempt once the current transaction (if any) commits."""
    ids = [str(i) for i in attempt_ids]
    if ids:
        transaction.on_commit(partial(_enqueue, ids), robust=True)


def _enqueue(ids: list[str], countdown: float | None = None) -> None:
    from .tasks import send_attempt

    try:
        for attempt_id in ids:
            send_attempt.apply_async(args=[attempt_id], countdown=countdown)
    except Exception:  # noqa: BLE001 - the broker may be down; the sweep re-queues due attempts
        logger.warning("webhook enqueue failed for %d attempt(s); the sweep will pick them up", len(ids))


def on_relayed(delivery_ids: list, scan_ids: list) -> None:
    """The relay's after-commit hook: attempts for the new deliveries, sent by the worker."""
    with transaction.atomic():
        attempt_ids = attempts_create(delivery_ids=delivery_ids)
        queue_sends(attempt_ids)


# ---------------------------------------------------------------- sending


def backoff(attempts: int) -> timedelta:
    """Delay after the n-th failed attempt: the base doubling each time, capped."""
    seconds = settings.WEBHOOK_BACKOFF_SECONDS * (2 ** max(attempts - 1, 0))
    return timedelta(seconds=min(seconds, settings.WEBHOOK_BACKOFF_MAX_SECONDS))


def _lease() -> timedelta:
    return timedelta(seconds=settings.WEBHOOK_TIMEOUT_SECONDS * 2) + LEASE_MARGIN


def _claim(attempt_id) -> uuid.UUID | None:
    """A conditional UPDATE: of two workers handed the same attempt, exactly one gets it."""
    now = timezone.now()
    token = uuid.uuid4()
    claimed = (
        WebhookDelivery.objects.filter(pk=attempt_id, state__in=DUE_STATES, next_attempt_at__lte=now)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(claim_token=token, claimed_until=now + _lease())
    )
    return token if claimed else None


def undeliverable_reason(attempt: WebhookDelivery) -> str | None:
    """Why this attempt may not be sent now (access is checked again on every send and replay)."""
    endpoint, delivery = attempt.endpoint, attempt.delivery
    agency, scan = endpoint.agency, delivery.scan
    if not endpoint.is_active:
        return "endpoint removed"
    if endpoint.agency_id != delivery.agency_id:
        return "the delivery belongs to another agency"
    if not access.scan_readable_by_agency(scan, agency):
        return "the agency may no longer read this scan"
    if scan.integrity_failed or scan_documents.signature_status(scan) == signing.SignatureStatus.INVALID:
        return "the scan failed its integrity check"
    return None


def _attempt_rows():
    return WebhookDelivery.objects.select_related(
        "endpoint",
        "endpoint__agency",
        "delivery",
        "delivery__agency",
        "delivery__scan",
        "delivery__scan__node",
        "delivery__scan__key",
    )


def body_bytes(attempt: WebhookDelivery, sent_at) -> bytes:
    """The exact bytes POSTed and signed: `delivery_id`, `sent_at` and the scan as the API shows it."""
    from scans.serializers import ScanOutput

    scan = access.scan_rows(Scan.objects.filter(pk=attempt.delivery.scan_id)).get()
    cast(Any, scan).signature_status = scan_documents.signature_status(scan)  # read by ScanOutput
    scan_json = ScanOutput(scan, context={"deliveries": {scan.pk: attempt.delivery}}).data
    body = {
        "delivery_id": str(attempt.delivery_id),
        "sent_at": signing.rfc3339(sent_at),
        "scan": json.loads(json.dumps(scan_json)),
    }
    return rfc8785.dumps(body)


class SendError(Exception):
    pass


def _post(url: str, body: bytes, headers: dict[str, str]) -> int:
    """POST once: no redirects, no retries, TLS verified, connected to the address just checked."""
    try:
        target = resolve_target(url)
    except ValidationError as exc:
        raise SendError(exc.message_dict["url"][0])
    timeout = settings.WEBHOOK_TIMEOUT_SECONDS
    # Connect to the address validated a moment ago (not a second, possibly different DNS answer),
    # while TLS still checks the certificate against the host name.
    pool = urllib3.HTTPSConnectionPool(
        target.addresses[0] if target.addresses else target.host,
        target.port,
        cert_reqs="CERT_REQUIRED",
        ca_certs=settings.WEBHOOK_CA_BUNDLE or certifi.where(),
        server_hostname=target.host,
        assert_hostname=target.host,
        timeout=urllib3.Timeout(connect=min(timeout, 5.0), read=timeout),
        retries=False,
        maxsize=1,
    )
    try:
        response = pool.urlopen(
            "POST",
            target.path,
            body=body,
            headers={**headers, "Host": target.netloc},
            redirect=False,
            retries=False,
            assert_same_host=False,
            preload_content=False,
        )
        response.read(65536)  # a little of the answer, never a large or endless body
        response.release_conn()
        return response.status
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise SendError(f"{type(exc).__name__}: {exc}")
    finally:
        pool.close()


def attempt_send(attempt_id) -> str:
    """Claim, re-check access, sign and POST one attempt, then record the result. Safe twice.

    Returns the attempt's new state, or "skipped" when it was not due or
    another worker holds it.
    """
    key = portal_key_ensure()
    token = _claim(attempt_id)
    if token is None:
        return "skipped"
    try:
        return _send_claimed(attempt_id, token, key)
    except Exception as exc:  # noqa: BLE001 - never leave a claimed row behind: count it as a failed attempt
        logger.exception("webhook attempt %s failed inside the portal", attempt_id)
        attempt = WebhookDelivery.objects.get(pk=attempt_id)
        return _record(attempt, token, status=None, error=f"internal error: {type(exc).__name__}")


def _send_claimed(attempt_id, token: uuid.UUID, key) -> str:
    attempt = _attempt_rows().get(pk=attempt_id)
    reason = undeliverable_reason(attempt)
    if reason:
        WebhookDelivery.objects.filter(pk=attempt.pk, claim_token=token).update(
            state=State.DROPPED, last_error=reason, claim_token=None, claimed_until=None
        )
        metrics.webhook_attempt(str(State.DROPPED))
        return State.DROPPED
    now = timezone.now()
    body = body_bytes(attempt, now)
    signature = signing.sign_detached(body, key)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "AllianceExchange-Webhook/1",
        "X-Alliance-Delivery": str(attempt.delivery_id),
        "X-Alliance-Signature": signature,
    }
    status, error = None, ""
    try:
        status = _post(attempt.endpoint.url, body, headers)  # outside any transaction
        if not 200 <= status < 300:
            error = f"HTTP {status}" + (" (redirects are not followed)" if 300 <= status < 400 else "")
    except SendError as exc:
        error = str(exc)
    return _record(attempt, token, status=status, error=error[:300])


def _record(attempt: WebhookDelivery, token: uuid.UUID, *, status: int | None, error: str) -> str:
    now = timezone.now()
    first = attempt.first_attempt_at or now
    attempts = attempt.attempts + 1
    fields: dict[str, Any] = {
        "attempts": F("attempts") + 1,
        "first_attempt_at": first,
        "last_attempt_at": now,
        "last_status": status,
        "last_error": error,
        "claim_token": None,
        "claimed_until": None,
    }
    delay = None
    if not error:
        fields.update(state=State.SENT, sent_at=now)
    elif now - first >= timedelta(hours=settings.WEBHOOK_RETRY_HOURS):
        fields.update(state=State.DEAD)
    else:
        delay = backoff(attempts)
        fields.update(state=State.FAILED, next_attempt_at=now + delay)
    if not WebhookDelivery.objects.filter(pk=attempt.pk, claim_token=token).update(**fields):
        return "skipped"  # the claim was lost (endpoint removed meanwhile): nothing to record
    metrics.webhook_attempt(str(fields["state"]))
    if delay is not None:
        # The fast path; if the broker forgets this countdown, the sweep finds the attempt due.
        _enqueue([str(attempt.pk)], countdown=delay.total_seconds() + 0.1)
    return fields["state"]


def sweep(*, limit: int = SWEEP_LIMIT) -> int:
    """Beat, every minute: attempts for deliveries the after-relay hook missed, and every due attempt queued."""
    now = timezone.now()
    window = timedelta(hours=settings.WEBHOOK_RETRY_HOURS)
    missing: list = []
    for endpoint in Endpoint.objects.filter(is_active=True, agency__sector=Sector.PUBLIC, agency__is_active=True):
        since = max(endpoint.created_at, now - window)
        missing += list(
            Delivery.objects.filter(agency_id=endpoint.agency_id, created_at__gte=since)
            .exclude(webhook_deliveries__endpoint=endpoint)
            .values_list("pk", flat=True)[:limit]
        )
    if missing:
        attempts_create(delivery_ids=missing)
    now = timezone.now()  # the attempts just created are due too
    due = list(
        WebhookDelivery.objects.filter(state__in=DUE_STATES, next_attempt_at__lte=now)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    _enqueue([str(pk) for pk in due])
    return len(due)


# ---------------------------------------------------------------- dead letters


def dead_letter_replay(*, attempt: WebhookDelivery, actor) -> WebhookDelivery:
    """Send a dead letter again from a fresh 24-hour window, after checking access once more. Audited."""
    attempt = _attempt_rows().get(pk=attempt.pk)
    if attempt.state != State.DEAD:
        raise ValidationError({"non_field_errors": [_("Only dead letters can be replayed.")]})
    reason = undeliverable_reason(attempt)
    with transaction.atomic():
        locked = WebhookDelivery.objects.select_for_update().filter(pk=attempt.pk, state=State.DEAD)
        if not locked.exists():
            raise ValidationError({"non_field_errors": [_("Only dead letters can be replayed.")]})
        if reason:
            locked.update(state=State.DROPPED, last_error=reason)
            audit.record(actor, "webhook.replay_refused", attempt, {"reason": reason})
        else:
            locked.update(
                state=State.PENDING,
                attempts=0,
                first_attempt_at=None,
                next_attempt_at=timezone.now(),
                last_error="",
                claim_token=None,
                claimed_until=None,
            )
            audit.record(
                actor,
                "webhook.replayed",
                attempt,
                {"endpoint": attempt.endpoint_id, "delivery": str(attempt.delivery_id)},
            )
            queue_sends([attempt.pk])
    if reason:
        raise ValidationError({"non_field_errors": [_("Not replayed: %(reason)s.") % {"reason": reason}]})
    attempt.refresh_from_db()
    return attempt
