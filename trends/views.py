"""Trends portal pages (SPEC section 7): the Europol liaison's dashboard, a displacement flag, the CSV export.

The pages are thin: the dashboard's charts and map are drawn in the browser from the trends and displacement
APIs (same origin, session auth); the export and the flag page read through the same selectors and access
rules as those APIs, so a page never shows more than the API would.
"""

from datetime import date, timedelta
from urllib.parse import urlencode

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

import access
from access import get_flag_for
from ports.models import Hub, Port

from . import export, selectors
from .models import FlagStatus, TighteningSource
from .services.statistics import officer_ports

BUCKETS = [("day", gettext_lazy("Day")), ("week", gettext_lazy("Week")), ("month", gettext_lazy("Month"))]
DEFAULT_PERIOD = timedelta(days=364)


TRENDS_PUBLIC_ONLY = access.public_sector_required(gettext_lazy("Trends are shared with public-sector agencies only."))


def _parse_date(value: str) -> date | None:
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        return None


def dashboard_filters(params) -> dict[str, str]:
    """The dashboard's filters from a query string, defaults filled in (the last 52 weeks by week).

    The page, its API calls and the export all use these values, so the export holds what is shown.
    """
    today = timezone.now().date()  # UTC, as the trends API's default
    until = _parse_date(params.get("until", "")) or today
    since = _parse_date(params.get("since", "")) or until - DEFAULT_PERIOD
    bucket = params.get("bucket", "")
    return {
        "since": since.isoformat(),
        "until": until.isoformat(),
        "bucket": bucket if bucket in dict(BUCKETS) else "week",
        "hub": params.get("hub", "").strip() if params.get("hub", "").strip() in Hub.values else "",
        "port": params.get("port", "").strip().upper()[:5],
        "origin": params.get("origin", "").strip().upper()[:5],
    }


def _map_ports() -> list[dict]:
    return [
        {"locode": p.locode, "name": p.name, "hub": p.hub, "lat": p.latitude, "lon": p.longitude}
        for p in Port.objects.filter(is_member=True, latitude__isnull=False, longitude__isnull=False)
    ]


@TRENDS_PUBLIC_ONLY
def dashboard(request):
    filters = dashboard_filters(request.GET)
    members = list(Port.objects.filter(is_member=True).order_by("name"))
    origins = list(Port.objects.filter(is_member=False).order_by("name"))
    if request.GET.get("flag"):
        # Notifications link flags as /trends/?flag=<id>: show that flag.
        return redirect("trends_flag", flag_id=get_flag_for(request.user, request.GET["flag"]).pk)
    query = urlencode({k: v for k, v in filters.items() if v})
    return render(
        request,
        "trends/dashboard.html",
        {
            "filters": filters,
            "buckets": BUCKETS,
            "hubs": Hub.choices,
            "member_ports": members,
            "origin_ports": origins,
            "map_ports": _map_ports(),
            "export_url": f"{reverse('trends_export')}?{query}",
            "is_liaison_reader": access.reader_for(request.user).is_liaison,
            "officer_ports": [
                m.agency.port for m in sorted(officer_ports(request.user).values(), key=lambda m: m.agency.port.name)
            ],
        },
    )


@TRENDS_PUBLIC_ONLY
def export_csv(request):
    """The trends shown for these filters as CSV, from the same selector as the API (same masking)."""
    try:
        query = selectors.parse_trend_query(request.GET)
        trends = selectors.trends_for(request.user, query)  # refuses day buckets of another port
    except ValidationError as exc:
        problems = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())
        return HttpResponseBadRequest(f"Bad filters: {problems}", content_type="text/plain")
    body = export.trends_csv(trends)
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    name = f"trends_{query.since.isoformat()}_{query.until.isoformat()}_{query.bucket}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store"
    return response


@TRENDS_PUBLIC_ONLY
def flag_detail(request, flag_id):
    """A displacement flag with its evidence; the figures and the status form are driven by the flag API."""
    flag = get_flag_for(request.user, flag_id)
    reader = access.reader_for(request.user)
    measure = None
    if flag.tightening_source == TighteningSource.MEASURE:
        # The declared measure behind the tightening (on this origin, or on every origin).
        measure = (
            selectors.measures_visible_to(request.user)
            .filter(port_id=flag.from_port_id, starts_on=flag.tightening_starts_on)
            .filter(Q(origin_id=flag.origin_id) | Q(origin__isnull=True))
            .first()
        )
    return render(
        request,
        "trends/flag.html",
        {
            "flag": flag,
            "seized": selectors.flag_seized_for(request.user, flag),
            "measure": measure,
            "can_decide": reader.is_liaison,
            "decisions": [(FlagStatus.CONFIRMED, _("Confirm")), (FlagStatus.DISMISSED, _("Dismiss"))],
        },
    )
