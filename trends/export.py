"""CSV export of the trends the dashboard shows (SPEC section 7).

Rows come from the trends response itself (`selectors.trends_for`), so the file holds exactly what the
API returns to this reader for the same filters, masking included: another port's figures come from its
release cells (access.release) and `cells_left_out` says how many cells with a `<3` each row left out. Numbers are written as numbers (the csv
module leaves them unquoted); text cells that a spreadsheet would read as a formula (starting with `=`, `+`,
`-`, `@`, or a tab or carriage return, which some spreadsheets strip first) get a leading `'`.
"""

import csv
import io
from collections.abc import Iterable, Iterator

HEADER = ("bucket", "port", "origin", "scans", "suspect", "positive", "seized_kg", "cells_left_out")
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def escape_cell(value):
    """A cell as written: numbers unchanged, None empty, formula-like text prefixed with a quote."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return value
    text = str(value)
    if text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


def trend_rows(trends: dict) -> Iterator[tuple]:
    """One row per (bucket, port) of a trends response; `origin` is the origin filter ("" = every origin)."""
    origins = trends["filters"].get("origin") or []
    origin = ",".join(origins)
    for port in trends["ports"]:
        for point in port["series"]:
            yield (
                point["bucket"],
                port["port"],
                origin,
                point["scans"],
                point["suspect"],
                point["positive"],
                point["seized_kg"],
                point.get("cells_left_out", 0),
            )


def write_csv(rows: Iterable[Iterable], header: Iterable[str] = HEADER) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([escape_cell(h) for h in header])
    for row in rows:
        writer.writerow([escape_cell(v) for v in row])
    return buffer.getvalue()


def trends_csv(trends: dict) -> str:
    return write_csv(trend_rows(trends))
