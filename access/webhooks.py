"""Webhook administration: only the endpoints and attempts of public-sector agencies the caller administers."""

import uuid
from typing import Any

from django.db.models import QuerySet
from django.http import Http404

from ports.models import Role
from webhooks.models import Endpoint, State, WebhookDelivery

from .reader import reader_for


def webhook_admin_agency_ids(user: Any) -> frozenset[int]:
    """Public-sector agencies the user administers (the only ones with webhooks: the private sector gets no scans)."""
    return reader_for(user).agencies_with_role(Role.ADMIN, public_only=True)


def endpoints_for(user: Any) -> QuerySet[Endpoint]:
    return Endpoint.objects.filter(agency_id__in=webhook_admin_agency_ids(user), is_active=True).select_related(
        "agency", "created_by"
    )


def get_endpoint_for(user: Any, endpoint_id: str | int) -> Endpoint:
    """404 for missing and for other agencies' endpoints alike."""
    endpoint = endpoints_for(user).filter(pk=endpoint_id).first() if str(endpoint_id).isdigit() else None
    if endpoint is None:
        raise Http404("No such webhook endpoint.")
    return endpoint


def attempts_for(user: Any) -> QuerySet[WebhookDelivery]:
    return (
        WebhookDelivery.objects.filter(endpoint__in=endpoints_for(user))
        .select_related("endpoint", "endpoint__agency", "delivery")
        .order_by("-created_at", "-id")
    )


def dead_letters_for(user: Any) -> QuerySet[WebhookDelivery]:
    return attempts_for(user).filter(state=State.DEAD).order_by("-last_attempt_at", "-id")


def get_dead_letter_for(user: Any, attempt_id: object) -> WebhookDelivery:
    try:
        pk = uuid.UUID(str(attempt_id))
    except ValueError:
        raise Http404("No such dead letter.")
    attempt = dead_letters_for(user).filter(pk=pk).first()
    if attempt is None:
        raise Http404("No such dead letter.")
    return attempt
