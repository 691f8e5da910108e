"""Aggregate statistics for ports without connected scanners (SPEC section 7): validated whole, then stored.

Both entry points (the CSV command and the API) go through `statistics_validate` then `statistics_import`:
one bad row refuses everything, and every bad row is named. A row with the same (period_start, period_end,
port, origin) as a stored one replaces it; a row overlapping a stored one of the same port and origin with
other bounds is refused (the same days would count twice).
"""

import csv
import io
import re
from dataclasses import dataclass
from datetime import date
from typing import cast

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ports import audit
from ports.locode import locode_error
from ports.models import Agency, Membership, Port, Role, Sector
from ports.selectors import active_memberships
from ports.services import port_for_locode
from ports.validation import finite_number, strict_date, text_problem
from ports.validation import number as localized_number

from ..models import StatisticsRow

COLUMNS = ("period_start", "period_end", "port", "origin", "scans", "suspect", "positive", "seized_kg")
MIN_DAYS, MAX_DAYS = 7, 366
MAX_ROWS = 5000
MAX_COUNT = 10_000_000  # SPEC section 7: counts at most ten million
MAX_KG = 10_000_000  # and seized_kg at most ten million


@dataclass
class CleanRow:
    period_start: date
    period_end: date
    port: str
    origin: str
    scans: int
    suspect: int
    positive: int
    seized_kg: float


def _date(value, errors: list[str]) -> date | None:
    parsed = strict_date(value)  # 2026-02-30 matches the pattern but does not exist
    if parsed is None:
        errors.append(_("A date is written YYYY-MM-DD and exists."))
    return parsed


def _count(value, errors: list[str]) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        errors.append(_("A whole number is required."))
        return None
    text = value.strip() if isinstance(value, str) else ""
    if isinstance(value, str) and not re.fullmatch(r"[0-9]+", text):
        errors.append(_("A whole number is required."))  # digits only: no "1e3", no "nan", no other scripts' digits
        return None
    if isinstance(value, str) and len(text.lstrip("0")) > len(str(MAX_COUNT)):
        errors.append(
            _("At most %(maximum)s.") % {"maximum": localized_number(MAX_COUNT)}
        )  # thousands of digits: int() itself would refuse to read them
        return None
    number = int(text) if isinstance(value, str) else value
    if number < 0:
        errors.append(_("Must not be negative."))
        return None
    if number > MAX_COUNT:
        errors.append(_("At most %(maximum)s.") % {"maximum": localized_number(MAX_COUNT)})
        return None
    return number


def _kg(value, errors: list[str]) -> float | None:
    if value is None or (isinstance(value, str) and value.strip() == ""):
        return 0.0
    number, problem = finite_number(
        value, minimum=0, maximum=MAX_KG, strings=True, what=_("A number of kilograms is expected.")
    )
    if problem:
        errors.append(problem)
        return None
    return number


def _code(value, errors: list[str]) -> str | None:
    if not isinstance(value, str):
        errors.append(_("A LOCODE (5 characters) is expected."))
        return None
    problem = text_problem(value)
    if problem:
        errors.append(problem)
        return None
    return value.strip()


def _clean(raw: dict, member_ports: set[str]) -> tuple[CleanRow | None, dict[str, list[str]]]:
    errors: dict[str, list[str]] = {}

    def field(name, parse):
        problems: list[str] = []
        if name != "seized_kg" and (raw.get(name) is None or str(raw.get(name)).strip() == ""):
            problems.append(_("This field is required."))
            value = None
        else:
            value = parse(raw.get(name), problems)
        if problems:
            errors[name] = problems
        return value

    start = field("period_start", _date)
    end = field("period_end", _date)
    port = field("port", _code)
    origin = field("origin", _code)
    scans = field("scans", _count)
    suspect = field("suspect", _count)
    positive = field("positive", _count)
    kg = field("seized_kg", _kg)
    if port and "port" not in errors:
        if locode_error(port):
            errors["port"] = [cast(str, locode_error(port))]
        elif port not in member_ports:
            errors["port"] = [_("%(port)s is not a member port of the alliance.") % {"port": port}]
    if origin and "origin" not in errors and locode_error(origin):
        errors["origin"] = [cast(str, locode_error(origin))]
    if start and end:
        days = (end - start).days + 1
        if days < MIN_DAYS or days > MAX_DAYS:
            errors.setdefault("period_end", []).append(
                _("A period runs from a week to a year (7 to 366 days, both ends included); this one has %(days)s.")
                % {"days": days}
            )
    if None not in (scans, suspect, positive) and suspect + positive > scans:
        errors.setdefault("suspect", []).append(
            _("suspect + positive (%(sum)s) exceeds scans (%(scans)s).") % {"sum": suspect + positive, "scans": scans}
        )
    if errors:
        return None, errors
    return CleanRow(start, end, port, origin, scans, suspect, positive, kg), {}


def statistics_validate(
    rows: list[dict], *, allowed_ports: set[str] | None = None, max_rows: int | None = None
) -> tuple[list[CleanRow], dict]:
    """Clean every row; errors are {row index: {field: [messages]}} (every bad row, not just the first).

    `allowed_ports`: the ports the caller may report for (None: any member port, the operator's command).
    `max_rows`: the most rows one call may hold (the API's MAX_ROWS; a file has no limit). A `rows` that is
    not such a list is reported at index -1.
    """
    if not isinstance(rows, list) or (max_rows is not None and not 1 <= len(rows) <= max_rows):
        return [], {
            -1: {"rows": [_("A list of 1 to %(maximum)s rows is expected.") % {"maximum": max_rows or MAX_ROWS}]}
        }
    member_ports = set(Port.objects.filter(is_member=True).values_list("locode", flat=True))
    clean: list[CleanRow] = []
    errors: dict[int, dict[str, list[str]]] = {}
    seen: dict[tuple, int] = {}
    for index, raw in enumerate(rows):
        if not isinstance(raw, dict):
            errors[index] = {"non_field_errors": [_("Each row is an object with the statistics columns.")]}
            continue
        row, row_errors = _clean(raw, member_ports)
        if row is not None and allowed_ports is not None and row.port not in allowed_ports:
            row_errors = {
                "port": [_("You are not an officer of a public-sector agency at %(port)s.") % {"port": row.port}]
            }
        if row is not None and not row_errors:
            key = (row.period_start, row.period_end, row.port, row.origin)
            if key in seen:
                row_errors = {
                    "period_start": [_("The same period, port and origin as row %(row)s.") % {"row": seen[key]}]
                }
            else:
                seen[key] = index
        if row_errors:
            errors[index] = row_errors
        else:
            clean.append(cast(CleanRow, row))  # _clean returns a row whenever it finds no error
    if not errors:
        errors.update(_overlaps(clean))
    return clean, errors


def _overlaps(clean: list[CleanRow]) -> dict[int, dict[str, list[str]]]:
    """Rows whose period overlaps another (in the file or stored) of the same port and origin with other bounds."""
    errors: dict[int, dict[str, list[str]]] = {}
    # (start, end, row index in the file; None for a stored row)
    by_cell: dict[tuple[str, str], list[tuple[date, date, int | None]]] = {}
    pairs = {(r.port, r.origin) for r in clean}
    if not pairs:
        return errors
    stored = StatisticsRow.objects.filter(
        port_id__in={p for p, _ in pairs},
        origin_id__in={o for _, o in pairs},
        period_end__gte=min(r.period_start for r in clean),
        period_start__lte=max(r.period_end for r in clean),
    ).values_list("port_id", "origin_id", "period_start", "period_end")
    for port, origin, start, end in stored:
        by_cell.setdefault((port, origin), []).append((start, end, None))
    for index, row in enumerate(clean):
        by_cell.setdefault((row.port, row.origin), []).append((row.period_start, row.period_end, index))
    for index, row in enumerate(clean):
        for start, end, where in by_cell[(row.port, row.origin)]:
            if (start, end) == (row.period_start, row.period_end):
                continue  # the same period: a replacement (stored) or itself
            if start <= row.period_end and row.period_start <= end:
                params = {
                    "period": f"{row.period_start}..{row.period_end}",
                    "cell": f"{row.port}/{row.origin}",
                    "other": f"{start}..{end}",
                    "row": where,
                }
                overlap = (
                    _("%(period)s overlaps a stored row for %(cell)s (%(other)s); the same days would count twice.")
                    if where is None
                    else _("%(period)s overlaps row %(row)s for %(cell)s (%(other)s); the same days would count twice.")
                )
                errors[index] = {"period_start": [overlap % params]}
                break
    return errors


@transaction.atomic
def statistics_import(
    rows: list[CleanRow], *, user=None, agency: Agency | None = None, source: str = ""
) -> tuple[int, int]:
    """Store validated rows; returns (created, replaced). Call `statistics_validate` first."""
    now = timezone.now()
    # A valid origin code not yet known becomes a non-member port, once per code.
    origins = {code: port_for_locode(code).pk for code in {row.origin for row in rows}}
    keys = {(r.period_start, r.period_end, r.port, origins[r.origin]) for r in rows}
    existing = StatisticsRow.objects.filter(
        period_start__in={k[0] for k in keys}, port_id__in={k[2] for k in keys}
    ).values_list("period_start", "period_end", "port_id", "origin_id")
    replaced = len(keys & set(existing))
    created = len(keys) - replaced
    # One upsert per thousand rows, not a round trip per row: a year of weekly figures for every
    # port and origin is tens of thousands of rows.
    StatisticsRow.objects.bulk_create(
        [
            StatisticsRow(
                period_start=row.period_start,
                period_end=row.period_end,
                port_id=row.port,
                origin_id=origins[row.origin],
                scans=row.scans,
                suspect=row.suspect,
                positive=row.positive,
                seized_kg=row.seized_kg,
                imported_by=user,
                agency=agency,
                source=source[:200],
                imported_at=now,
            )
            for row in rows
        ],
        update_conflicts=True,
        unique_fields=["period_start", "period_end", "port", "origin"],
        update_fields=["scans", "suspect", "positive", "seized_kg", "imported_by", "agency", "source", "imported_at"],
        batch_size=1000,
    )
    audit.record(
        user,
        "statistics.imported",
        data={
            "rows": len(rows),
            "created": created,
            "replaced": replaced,
            "agency": agency.slug if agency else None,
            "source": source[:200],
        },
        object_type="trends.statisticsrow",
    )
    return created, replaced


def officer_ports(user) -> dict[str, Membership]:
    """Ports where the user is an officer of a public-sector agency -> that membership."""
    out: dict[str, Membership] = {}
    for m in active_memberships(user):
        if m.role == Role.OFFICER and m.agency_sector == Sector.PUBLIC and m.agency.port_id:
            out.setdefault(m.agency.port_id, m)
    return out


def read_csv(text: str) -> tuple[list[dict], dict[int, dict[str, list[str]]]]:
    """CSV text -> rows as dicts (index 0 is file line 2); header problems are reported as line 1 (index -1)."""
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        return [], {
            -1: {
                "header": [
                    _("Missing column(s): %(missing)s; expected %(columns)s.")
                    % {"missing": ", ".join(missing), "columns": ",".join(COLUMNS)}
                ]
            }
        }
    reader.fieldnames = header
    rows = []
    for raw in reader:
        rows.append({k: v for k, v in raw.items() if k in COLUMNS})
    return rows, {}
