"""Alert and best-practice pages (SPEC section 8): feed, form, detail, versions, withdrawal, feedback, library.

Thin views: reads go through `access` (the one access rule) and the API's
filters; writes go through the same services the API uses (the portal signs).
"""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseForbidden
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

import access
from ports.models import Port, Role
from ports.selectors import agency_list

from . import documents, selectors
from .api.alerts import AlertFilter, FeedPaginator, PracticeFilter
from .forms import AlertForm, FeedbackForm, PracticeForm, apply_service_errors
from .markdown import render_markdown
from .models import (
    CATEGORY_DEFINITIONS,
    AlertVersion,
    Category,
    DocumentStatus,
    FeedbackOutcome,
    PracticeVersion,
    Severity,
    Tlp,
)
from .services import alerts as alert_services
from .services import feedback as feedback_services
from .services import practices as practice_services

PAGE_SIZE = 25
MAX_VERSIONS_SHOWN = 50
ALERT_FILTERS = ("q", "tlp", "category", "severity", "agency", "port", "origin", "container", "vessel", "status")
PRACTICE_FILTERS = ("q", "tlp", "agency", "tag", "status")


# ---------------------------------------------------------------- helpers


def _officer_memberships(user):
    return access.memberships_with_role(user, Role.OFFICER)


def _officer_required(view):
    @login_required
    def wrapper(request, *args, **kwargs):
        if not _officer_memberships(request.user):
            return HttpResponseForbidden(_("Only officers publish alerts and best practices."))
        return view(request, *args, **kwargs)

    return wrapper


def _acting_membership(user, slug: str | None):
    """Resolve the acting officer membership; a ValidationError names the agency field."""
    officers = _officer_memberships(user)
    if len(officers) == 1:
        return officers[0]
    return access.acting_officer_membership(user, slug or None)


def _filters(request, names) -> dict[str, str]:
    return {name: request.GET.get(name, "").strip() for name in names}


def _page(request, qs, typ: str):
    """One page of a feed, verified (bounded work); invalid objects left out for other readers."""
    paginator = FeedPaginator(qs, PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    objects = access.verified_for(request.user, page.object_list, typ=typ)
    return page, objects


def _querystring(filters: dict[str, str]) -> str:
    return urlencode({k: v for k, v in filters.items() if v})


def _mark_expiry(alerts) -> None:
    now = timezone.now()
    for alert in alerts:
        alert.expired = alert.valid_until is not None and alert.valid_until <= now


def _agency_options():
    return [(a.slug, a.name) for a in agency_list()]


# ---------------------------------------------------------------- alert feed


@login_required
@require_GET
def alert_feed(request):
    filters = _filters(request, ALERT_FILTERS)
    base = access.alerts_visible_to(request.user).order_by("-created_at", "-id")
    filterset = AlertFilter({k: v for k, v in filters.items() if v}, queryset=base)
    page, alerts = _page(request, access.alert_rows(filterset.qs), documents.ALERT_TYP)
    _mark_expiry(alerts)
    selectors.audit_reads(request.user, alerts, object_type="alert", via="feed")
    return render(
        request,
        "sharing/alerts/feed.html",
        {
            "page": page,
            "alerts": alerts,
            "filters": filters,
            "filter_errors": filterset.errors,
            "querystring": _querystring(filters),
            "tlps": Tlp.choices,
            "categories": Category.choices,
            "severities": Severity.choices,
            "statuses": DocumentStatus.choices,
            "agencies": _agency_options(),
            "ports": Port.objects.order_by("locode").values_list("locode", "name"),
            "can_publish": bool(_officer_memberships(request.user)),
        },
    )


# ---------------------------------------------------------------- alert form (create and edit)


def _alert_form_page(request, form, *, alert=None, status=200):
    if alert is not None:  # the edit form shows the alert: an audited read (SPEC section 9)
        selectors.audit_reads(request.user, [alert], object_type="alert", via="edit")
    return render(
        request,
        "sharing/alerts/form.html",
        {
            "form": form,
            "alert": alert,
            "picker": form.picker(),
            "categories": form.categories(),
            "category_definitions": CATEGORY_DEFINITIONS,
            "origins": Port.objects.filter(is_member=False).order_by("locode").values_list("locode", "name"),
        },
        status=status,
    )


@_officer_required
@require_http_methods(["GET", "POST"])
def alert_create(request):
    officers = _officer_memberships(request.user)
    agencies = [m.agency for m in officers]
    directory = access.reader_for(request.user).is_public_sector
    if request.method == "GET":
        initial = {"port": agencies[0].port_id or "", "agency": agencies[0].slug}
        form = AlertForm(initial=initial, officer_agencies=agencies, directory=directory)
        return _alert_form_page(request, form)
    form = AlertForm(request.POST, officer_agencies=agencies, directory=directory)
    if form.is_valid():
        try:
            membership = _acting_membership(request.user, form.cleaned_data.get("agency"))
            alert = alert_services.alert_publish(membership=membership, data=form.document())
        except ValidationError as exc:
            apply_service_errors(form, exc.message_dict)
        else:
            messages.success(
                request, _("Alert published and signed by %(agency)s.") % {"agency": membership.agency.slug}
            )
            return redirect("alert_detail", alert_id=alert.pk)
    return _alert_form_page(request, form, status=400)


@login_required
@require_http_methods(["GET", "POST"])
def alert_edit(request, alert_id):
    alert = access.get_alert_for(request.user, alert_id)  # 404 before anything else
    membership = access.editor_membership(request.user, alert)  # PermissionDenied: 403
    if alert.status == DocumentStatus.WITHDRAWN:
        messages.error(request, _("This alert is withdrawn; it takes no new versions."))
        return redirect("alert_detail", alert_id=alert.pk)
    directory = access.reader_for(request.user).is_public_sector
    if request.method == "GET":
        form = AlertForm(initial=AlertForm.initial_from(alert), directory=directory)
        return _alert_form_page(request, form, alert=alert)
    form = AlertForm(request.POST, directory=directory)
    if form.is_valid():
        try:
            alert = alert_services.alert_version_create(membership=membership, alert=alert, data=form.document())
        except ValidationError as exc:
            apply_service_errors(form, exc.message_dict)
        else:
            messages.success(
                request,
                _("Version %(version)s signed by %(agency)s.")
                % {"version": alert.version, "agency": membership.agency.slug},
            )
            return redirect("alert_detail", alert_id=alert.pk)
    return _alert_form_page(request, form, alert=alert, status=400)


def _withdraw(request, obj, sign_version, *, noun: str) -> None:
    """A withdrawal is a signed new version by whoever may edit (403 otherwise); refusals become a message."""
    membership = access.editor_membership(request.user, obj)
    try:
        obj = sign_version(membership, obj, {"status": DocumentStatus.WITHDRAWN})
    except ValidationError as exc:
        messages.error(request, " ".join(m for ms in exc.message_dict.values() for m in ms))
    else:
        messages.success(request, noun % {"version": obj.version})


@login_required
@require_POST
def alert_withdraw(request, alert_id):
    alert = access.get_alert_for(request.user, alert_id)
    _withdraw(
        request,
        alert,
        lambda m, a, data: alert_services.alert_version_create(membership=m, alert=a, data=data),
        noun=gettext_lazy("Alert withdrawn (version %(version)s, signed)."),
    )
    return redirect("alert_detail", alert_id=alert.pk)


# ---------------------------------------------------------------- alert detail, versions, feedback


def _can_edit(user, alert) -> bool:
    try:
        access.editor_membership(user, alert)
    except PermissionDenied:
        return False
    return alert.status != DocumentStatus.WITHDRAWN


def _public_memberships(user):
    return access.public_memberships(user)


def _alert_detail_page(request, alert, *, feedback_form=None, status=200):
    versions = list(
        AlertVersion.objects.filter(alert=alert)
        .select_related("agency", "key")
        .order_by("-version")[:MAX_VERSIONS_SHOWN]
    )
    shown_versions = access.verified_for(request.user, versions, typ=documents.ALERT_TYP)
    reporters = [m.agency for m in _public_memberships(request.user)]
    if feedback_form is None and reporters:
        feedback_form = FeedbackForm(agencies=reporters if len(reporters) > 1 else ())
    _mark_expiry([alert])
    return render(
        request,
        "sharing/alerts/detail.html",
        {
            "alert": alert,
            "audience": documents.alert_document(alert)["audience"],
            "category_definition": CATEGORY_DEFINITIONS.get(alert.category, ""),
            "versions": shown_versions,
            "can_edit": _can_edit(request.user, alert),
            "feedback": list(access.feedback_visible_to(request.user, alert).order_by("-created_at", "-id")[:200]),
            "feedback_form": feedback_form,
            "outcomes": FeedbackOutcome.choices,
        },
        status=status,
    )


@login_required
@require_GET
def alert_detail(request, alert_id):
    alert = access.get_alert_for(request.user, alert_id)
    selectors.audit_reads(request.user, [alert], object_type="alert", via="detail")
    return _alert_detail_page(request, alert)


@login_required
@require_GET
def alert_version(request, alert_id, version):
    alert = access.get_alert_for(request.user, alert_id)  # the whole history follows the latest version's TLP
    try:
        number = int(version)
    except ValueError:
        raise Http404(_("No such version."))
    row = AlertVersion.objects.filter(alert=alert, version=number).select_related("agency", "key").first()
    if row is None or not access.verified_for(request.user, [row], typ=documents.ALERT_TYP):
        raise Http404(_("No such version."))
    selectors.audit_reads(request.user, [row], object_type="alert", via="version")
    _mark_expiry([row])
    return render(
        request,
        "sharing/alerts/version.html",
        {
            "alert": alert,
            "version": row,
            "audience": row.audience,
            "category_definition": CATEGORY_DEFINITIONS.get(row.category, ""),
        },
    )


@login_required
@require_POST
def alert_feedback(request, alert_id):
    # Access before anything else: a 404, not a form error, for an alert the reader cannot read.
    alert = access.get_alert_for(request.user, alert_id)
    reporters = [m.agency for m in _public_memberships(request.user)]
    if not reporters:
        return HttpResponseForbidden(_("Feedback comes from public-sector readers only."))
    form = FeedbackForm(request.POST, agencies=reporters if len(reporters) > 1 else ())
    if form.is_valid():
        try:
            membership = access.feedback_membership(request.user, alert, form.cleaned_data.get("agency") or None)
            feedback_services.feedback_submit(membership=membership, alert=alert, data=form.cleaned_data)
        except ValidationError as exc:
            apply_service_errors(form, exc.message_dict)
        else:
            messages.success(request, _("Feedback recorded; %(agency)s has been told.") % {"agency": alert.agency.slug})
            return redirect(f"{alert.get_absolute_url()}#feedback")
    # The page shown again with the errors is the alert itself: an audited read.
    selectors.audit_reads(request.user, [alert], object_type="alert", via="feedback")
    return _alert_detail_page(request, alert, feedback_form=form, status=400)


# ---------------------------------------------------------------- best-practice library


@login_required
@require_GET
def practice_list(request):
    filters = _filters(request, PRACTICE_FILTERS)
    base = access.practices_visible_to(request.user).order_by("-created_at", "-id")
    filterset = PracticeFilter({k: v for k, v in filters.items() if v}, queryset=base)
    page, practices = _page(request, access.practice_rows(filterset.qs), documents.PRACTICE_TYP)
    selectors.audit_reads(request.user, practices, object_type="practice", via="feed")
    return render(
        request,
        "sharing/practices/list.html",
        {
            "page": page,
            "practices": practices,
            "filters": filters,
            "querystring": _querystring(filters),
            "tlps": Tlp.choices,
            "statuses": DocumentStatus.choices,
            "agencies": _agency_options(),
            "can_publish": bool(_officer_memberships(request.user)),
        },
    )


@login_required
@require_GET
def practice_detail(request, practice_id):
    practice = access.get_practice_for(request.user, practice_id)
    can_edit = _can_edit(request.user, practice)
    selectors.audit_reads(request.user, [practice], object_type="practice", via="detail")
    versions = list(
        PracticeVersion.objects.filter(practice=practice)
        .select_related("agency", "key")
        .order_by("-version")[:MAX_VERSIONS_SHOWN]
    )
    return render(
        request,
        "sharing/practices/detail.html",
        {
            "practice": practice,
            "body_html": render_markdown(practice.body),
            "audience": documents.practice_document(practice)["audience"],
            "versions": access.verified_for(request.user, versions, typ=documents.PRACTICE_TYP),
            "can_edit": can_edit,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def practice_edit(request, practice_id):
    """An edit is version n+1, signed by an officer of the author agency (as for alerts)."""
    practice = access.get_practice_for(request.user, practice_id)  # 404 before anything else
    membership = access.editor_membership(request.user, practice)  # PermissionDenied: 403
    if practice.status == DocumentStatus.WITHDRAWN:
        messages.error(request, _("This best practice is withdrawn; it takes no new versions."))
        return redirect("practice_detail", practice_id=practice.pk)
    agencies = [membership.agency]
    directory = access.reader_for(request.user).is_public_sector
    if request.method == "GET":
        form = PracticeForm(initial=PracticeForm.initial_from(practice), officer_agencies=agencies, directory=directory)
        status = 200
    else:
        form = PracticeForm(request.POST, officer_agencies=agencies, directory=directory)
        status = 400
        if form.is_valid():
            try:
                practice = practice_services.practice_version_create(
                    membership=membership, practice=practice, data=form.document()
                )
            except ValidationError as exc:
                apply_service_errors(form, exc.message_dict)
            else:
                messages.success(
                    request,
                    _("Version %(version)s signed by %(agency)s.")
                    % {"version": practice.version, "agency": membership.agency.slug},
                )
                return redirect("practice_detail", practice_id=practice.pk)
    # The edit form shows the practice (GET, or again after an error): an audited read.
    selectors.audit_reads(request.user, [practice], object_type="practice", via="edit")
    return render(
        request,
        "sharing/practices/form.html",
        {"form": form, "picker": form.picker(), "practice": practice},
        status=status,
    )


@login_required
@require_POST
def practice_withdraw(request, practice_id):
    practice = access.get_practice_for(request.user, practice_id)
    _withdraw(
        request,
        practice,
        lambda m, p, data: practice_services.practice_version_create(membership=m, practice=p, data=data),
        noun=gettext_lazy("Best practice withdrawn (version %(version)s, signed)."),
    )
    return redirect("practice_detail", practice_id=practice.pk)


@_officer_required
@require_http_methods(["GET", "POST"])
def practice_create(request):
    agencies = [m.agency for m in _officer_memberships(request.user)]
    directory = access.reader_for(request.user).is_public_sector
    if request.method == "GET":
        form = PracticeForm(initial={"agency": agencies[0].slug}, officer_agencies=agencies, directory=directory)
        status = 200
    else:
        form = PracticeForm(request.POST, officer_agencies=agencies, directory=directory)
        status = 400
        if form.is_valid():
            try:
                membership = _acting_membership(request.user, form.cleaned_data.get("agency"))
                practice = practice_services.practice_publish(membership=membership, data=form.document())
            except ValidationError as exc:
                apply_service_errors(form, exc.message_dict)
            else:
                messages.success(
                    request, _("Best practice published and signed by %(agency)s.") % {"agency": membership.agency.slug}
                )
                return redirect("practice_detail", practice_id=practice.pk)
    return render(request, "sharing/practices/form.html", {"form": form, "picker": form.picker()}, status=status)
