"""Deliveries inbox and subscriptions (portal): what was relayed to the reader's agencies, and what they ask for."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseForbidden
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

import access
from ports.decorators import verified_admin_required

from . import selectors
from .models import Verdict
from .services import deliveries as services

ACKNOWLEDGED = {"true": True, "false": False}


INBOX_PUBLIC_ONLY = access.public_sector_required(gettext_lazy("Scans are relayed to public-sector agencies only."))


@INBOX_PUBLIC_ONLY
def delivery_inbox(request):
    filters = {k: request.GET.get(k, "").strip() for k in ("verdict", "port", "acknowledged")}
    qs = selectors.inbox(
        request.user,
        verdict=filters["verdict"] if filters["verdict"] in Verdict.values else None,
        port=filters["port"] or None,
        acknowledged=ACKNOWLEDGED.get(filters["acknowledged"]),
    )
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    reader = access.reader_for(request.user)
    return render(
        request,
        "sharing/inbox/list.html",
        {
            "page": page,
            "deliveries": access.signed_deliveries(request.user, page.object_list),
            "filters": filters,
            "verdicts": Verdict.choices,
            "unacknowledged": selectors.unacknowledged_count(request.user),
            "several_agencies": len(reader.public_agency_ids) > 1,
            "manages_subscriptions": bool(access.subscription_admin_agency_ids(request.user)),
            "query": request.GET.urlencode(),
        },
    )


@INBOX_PUBLIC_ONLY
@require_POST
def delivery_ack(request, delivery_id):
    delivery = access.get_delivery_for(request.user, delivery_id)
    delivery, changed = services.delivery_acknowledge(user=request.user, delivery=delivery)
    if changed:
        messages.success(
            request,
            _("Acknowledged %(container)s for %(agency)s.")
            % {"container": delivery.scan.container, "agency": delivery.agency.slug},
        )
    else:
        messages.info(request, _("%(container)s was already acknowledged.") % {"container": delivery.scan.container})
    back = request.POST.get("next", "")
    if back.startswith("/inbox/") and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        return redirect(back)
    return redirect("delivery_inbox")


@verified_admin_required
@require_http_methods(["GET", "POST"])
def subscription_list(request):
    admin = access.subscription_admin_memberships(request.user)
    if not admin:
        return HttpResponseForbidden(_("Private-sector agencies do not receive scans and cannot subscribe."))
    errors: dict[str, list[str]] = {}
    form = {"agency": "", "port": "", "origin": "", "min_verdict": Verdict.SUSPECT}
    if request.method == "POST" and request.POST.get("action") == "deactivate":
        try:
            subscription = access.get_subscription_for(request.user, request.POST.get("subscription", ""))
        except Http404:  # another agency's, or a malformed id
            messages.error(request, _("No such subscription."))
            return redirect("subscription_list")
        if services.subscription_deactivate(user=request.user, subscription=subscription):
            messages.success(request, _("Subscription %(subscription)s stopped.") % {"subscription": subscription})
        return redirect("subscription_list")
    if request.method == "POST":
        form = {k: request.POST.get(k, "").strip() for k in form}
        try:
            membership = services.subscription_admin_membership(
                request.user, form["agency"] or (admin[0].agency.slug if len(admin) == 1 else None)
            )
            subscription = services.subscription_create(
                membership=membership,
                port=form["port"] or None,
                origin=form["origin"] or None,
                min_verdict=form["min_verdict"] or None,
            )
        except ValidationError as exc:
            errors = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        except PermissionDenied as exc:
            errors = {"agency": [str(exc)]}
        except services.SubscriptionExists as exc:
            errors = {"non_field_errors": [str(exc)]}
        else:
            messages.success(request, _("Subscribed: %(subscription)s.") % {"subscription": subscription})
            return redirect("subscription_list")
    return render(
        request,
        "sharing/inbox/subscriptions.html",
        {
            "subscriptions": access.subscriptions_managed_by(request.user, include_inactive=True),
            "admin_agencies": [m.agency for m in admin],
            "verdicts": Verdict.choices,
            "form": form,
            "errors": errors,
        },
        status=400 if errors else 200,
    )
