"""The agency admins' two access reports (SPEC section 4), as pages and CSV downloads, mounted under /agency/.

Reads come from `access.reports`; the admin's own agency from `ports.admin_selectors` (another agency is a 404).
"""

import csv

from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone

import access
from ports import admin_selectors
from ports.decorators import verified_admin_required

REPORT_PAGE_SIZE = 20
READS_PAGE_SIZE = 50


class _Echo:
    def write(self, value):
        return value


# A text cell starting with one of these is run as a formula by spreadsheets (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value):
    """Text a spreadsheet would run as a formula (a reader chooses their own display name) gets a
    leading quote, so it shows as text; numbers stay numbers."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _csv_response(filename: str, header: list[str], rows) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())

    def lines():
        yield writer.writerow(header)
        for row in rows:
            yield writer.writerow([_csv_cell(cell) for cell in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _local(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M %Z") if value else ""


@verified_admin_required
def agency_report_readers(request, slug):
    agency = admin_selectors.admin_agency(request.user, slug)
    items = access.agency_items(agency)
    if request.GET.get("format") == "csv":
        return _csv_response(f"{agency.slug}-readers.csv", _READERS_HEADER, _readers_csv_rows(items, request.user))
    page = Paginator(items, REPORT_PAGE_SIZE).get_page(request.GET.get("page"))
    rows = access.readers_for_items(list(page.object_list), viewer=request.user)
    return render(
        request,
        "ports/admin/report_readers.html",
        {"agency": agency, "page": page, "rows": rows, "tab": "readers", "show_identities": _show_identities(request)},
    )


def _show_identities(request) -> bool:
    """Who is behind a handle is for the public sector only (SPEC section 2): private-sector admins see handles."""
    return access.reader_for(request.user).is_public_sector


_READERS_HEADER = ["kind", "id", "created", "tlp", "status", "author", "readers", "agency", "members", "by name"]


def _readers_csv_rows(items, viewer):
    # A page at a time: the per-item queries stay bounded in memory, the download streams.
    paginator = Paginator(items, 200)
    for number in paginator.page_range:
        for row in access.readers_for_items(list(paginator.page(number).object_list), viewer=viewer):
            obj = row.item
            base = [row.kind, str(obj.pk), _local(obj.created_at), obj.tlp, obj.status, obj.author]
            if row.everyone:
                yield [*base, "everyone", "", row.member_count, ""]
                continue
            for agency in row.agencies:
                yield [*base, "agency", agency.slug, agency.member_count, ""]
            for member in row.members:
                yield [*base, "member", member.agency.slug, 1, member.handle]
            if not row.agencies and not row.members:
                yield [*base, "nobody", "", 0, ""]


@verified_admin_required
def agency_report_reads(request, slug):
    agency = admin_selectors.admin_agency(request.user, slug)
    entries = access.agency_read_entries(agency)
    if request.GET.get("format") == "csv":
        return _csv_response(
            f"{agency.slug}-reads.csv",
            ["time", "reader", "name", "memberships", "via", "kind", "id", "tlp"],
            _reads_csv_rows(agency, entries, show_identities=_show_identities(request)),
        )
    page = Paginator(entries, READS_PAGE_SIZE).get_page(request.GET.get("page"))
    events = access.read_events(agency, page.object_list)
    return render(
        request,
        "ports/admin/report_reads.html",
        {
            "agency": agency,
            "page": page,
            "events": events,
            "tab": "reads",
            "show_identities": _show_identities(request),
        },
    )


def _reads_csv_rows(agency, entries, *, show_identities: bool):
    paginator = Paginator(entries, 500)
    for number in paginator.page_range:
        for event in access.read_events(agency, paginator.page(number).object_list):
            name = event.reader.get_full_name() if event.reader and show_identities else ""
            handles = " ".join(m.handle for m in event.reader_memberships)
            for item in event.items:
                kind = item._meta.model_name
                yield [
                    _local(event.entry.at),
                    event.entry.actor if show_identities else "",
                    name,
                    handles,
                    event.entry.data.get("via", ""),
                    kind,
                    str(item.pk),
                    item.tlp,
                ]
