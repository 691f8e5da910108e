"""Scan browser (portal): the scans a public-sector member may read, with inspection outcomes."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponseForbidden
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

import access

from .models import Delivery, OutcomeResult, Verdict
from .services import outcomes as outcome_services

SCANS_PUBLIC_ONLY = access.public_sector_required(gettext_lazy("Scans are shared with public-sector agencies only."))


@SCANS_PUBLIC_ONLY
def scan_list(request):
    qs = access.scan_rows(access.scans_visible_to(request.user)).order_by("-received_at", "-id")
    filters = {k: request.GET.get(k, "").strip() for k in ("port", "verdict", "container", "origin")}
    if filters["port"]:
        qs = qs.filter(port_id=filters["port"].upper())
    if filters["origin"]:
        qs = qs.filter(origin_id=filters["origin"].upper())
    if filters["verdict"] in Verdict.values:
        qs = qs.filter(verdict=filters["verdict"])
    if filters["container"]:
        qs = qs.filter(container=filters["container"].replace(" ", "").upper())
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    scans = access.verified_scans(request.user, page.object_list)
    return render(
        request,
        "sharing/scans/list.html",
        {
            "page": page,
            "scans": scans,
            "filters": filters,
            "verdicts": Verdict.choices,
        },
    )


@SCANS_PUBLIC_ONLY
@require_http_methods(["GET", "POST"])
def scan_detail(request, scan_id):
    scan = access.get_scan_for(request.user, scan_id)  # verified; an invalid scan fails closed (404)
    outcome = getattr(scan, "outcome", None)
    errors = {}
    can_record = False
    try:
        membership = outcome_services.outcome_membership(request.user, scan)
        can_record = outcome is None
    except PermissionDenied:
        membership = None
    if request.method == "POST":
        if not can_record:
            return HttpResponseForbidden(_("You may not record this scan's outcome."))
        # Raw form strings: the service reads and checks them, as it does the API's JSON.
        data = {name: request.POST.get(name) for name in outcome_services.FIELDS}
        try:
            outcome_services.outcome_record(membership=membership, scan=scan, data=data)
        except ValidationError as exc:
            errors = exc.message_dict
        except outcome_services.OutcomeExists:
            errors["result"] = [_("This scan already has an outcome.")]
        else:
            messages.success(request, _("Inspection outcome recorded and signed by your agency."))
            return redirect("scan_detail", scan_id=scan.pk)
    reader = access.reader_for(request.user)
    delivery = Delivery.objects.filter(scan=scan, agency_id__in=reader.agency_ids).select_related("agency").first()
    return render(
        request,
        "sharing/scans/detail.html",
        {
            "scan": scan,
            "outcome": outcome,
            "delivery": delivery,
            "can_record": can_record,
            "errors": errors,
            "outcome_status": outcome_services.outcome_signature_status(outcome) if outcome else None,
            "results": OutcomeResult.choices,
        },
        status=400 if errors else 200,
    )
