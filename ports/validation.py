"""Hostile input (SPEC section 5): what no input path may let through, whatever the kind of document.

Valid Unicode strings without NUL characters, finite numbers, at most 8 levels of nesting, and times and
dates that exist. Services call these on the raw values they are given (API, page, command or signed
payload), so the rule is written once; each answers a message for the field, never echoing the value.
Messages are translated when they are made (the reader's language, from the page or Accept-Language).
"""

import math
import re
from datetime import date, datetime

from django.utils import formats
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

MAX_DEPTH = 8
SURROGATE = re.compile(r"[\ud800-\udfff]")
RFC3339_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def number(value: float) -> str:
    """A number as the reader writes it (100,000 / 100.000 / 100 000), whole numbers without decimals."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return formats.number_format(value, force_grouping=True)


def text_problem(value: str) -> str | None:
    """Why a string cannot be stored or signed (PostgreSQL text holds neither NUL nor lone surrogates)."""
    if "\x00" in value:
        return _("NUL characters are not allowed.")
    if SURROGATE.search(value):
        return _("Not valid Unicode text (a lone surrogate).")
    return None


def _problem(value, depth: int, max_depth: int) -> str | None:
    if depth > max_depth:
        return _("Nested deeper than %(depth)s levels.") % {"depth": max_depth}
    if isinstance(value, str):
        return text_problem(value)
    if isinstance(value, float) and not math.isfinite(value):
        return _("A finite number is expected.")
    if isinstance(value, list):
        for item in value:
            problem = _problem(item, depth + 1, max_depth)
            if problem:
                return problem
    elif isinstance(value, dict):
        for key, item in value.items():
            problem = _problem(key, depth + 1, max_depth) or _problem(item, depth + 1, max_depth)
            if problem:
                return problem
    return None


def hostile_errors(document, *, max_depth: int = MAX_DEPTH) -> dict[str, list[str]]:
    """{top-level field: [message]} for every member holding a hostile value; empty when there is none.

    The document itself is level 1. A member whose name is itself hostile is reported as
    `non_field_errors`: its name cannot be echoed back.
    """
    if not isinstance(document, dict):
        problem = _problem(document, 1, max_depth)
        return {"non_field_errors": [problem]} if problem else {}
    errors: dict[str, list[str]] = {}
    for key, value in document.items():
        if isinstance(key, str) and text_problem(key):
            errors.setdefault("non_field_errors", []).append(
                _("A field name: %(problem)s") % {"problem": text_problem(key)}
            )
            continue
        problem = _problem(value, 2, max_depth)
        if problem:
            errors.setdefault(str(key), []).append(problem)
    return errors


_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def too_deep_field(text: str, max_depth: int = MAX_DEPTH) -> str | None:
    """The top-level member of JSON `text` that nests deeper than `max_depth`, without parsing it.

    For text the JSON decoder cannot read at all (thousands of levels exhaust its recursion): the
    answer still names the field. `non_field_errors` when the document itself is not an object.
    """
    depth = 0
    key = None
    top_is_object = None
    for match in _TOKEN.finditer(text):
        token = match.group()
        if token in "[{":
            if depth == 0:
                top_is_object = token == "{"
            depth += 1
            if depth > max_depth:
                return key if top_is_object and key is not None else "non_field_errors"
        elif token in "]}":
            depth -= 1
        elif depth == 1 and top_is_object:
            key = token[1:-1]  # at level 1 of an object, the last string before a nested value is its name
    return None


def finite_number(
    value,
    *,
    minimum: float,
    maximum: float,
    strings: bool = False,
    what: str | None = None,
    too_low: str | None = None,
) -> tuple[float | None, str | None]:
    """(number, None), or (None, message): a finite number in [minimum, maximum].

    `strings`: a numeric string is read too (form fields); JSON booleans are never numbers. `what`: the
    message when the value is not a number at all (translated by the caller), "A number is expected." else;
    `too_low`: the message below `minimum`, "At least <minimum>." else.
    """
    expected = what or _("A number is expected.")
    if isinstance(value, bool):
        return None, expected
    if isinstance(value, str) and strings:
        try:
            found = float(value.strip())
        except ValueError:
            return None, expected
    elif isinstance(value, (int, float)):
        try:
            found = float(value)
        except OverflowError:  # an integer of hundreds of digits
            return None, _("At most %(maximum)s.") % {"maximum": number(maximum)}
    else:
        return None, expected
    if not math.isfinite(found):
        return None, _("A finite number is expected.")
    if found < minimum:
        return None, too_low or _("At least %(minimum)s.") % {"minimum": number(minimum)}
    if found > maximum:
        return None, _("At most %(maximum)s.") % {"maximum": number(maximum)}
    return found, None


def clean_text(value, *, max_length: int, required: bool = False) -> tuple[str | None, str | None]:
    """(text stripped, or None when blank and optional), or (None, message)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, (_("This field is required.") if required else None)
    if not isinstance(value, str):
        return None, _("Text is expected.")
    problem = text_problem(value)
    if problem:
        return None, problem
    value = value.strip()
    if len(value) > max_length:
        return None, _("At most %(limit)s characters (this has %(length)s).") % {
            "limit": max_length,
            "length": len(value),
        }
    return value, None


def strict_datetime(value) -> datetime | None:
    """An RFC 3339 UTC time with whole seconds ending in Z that exists (no 30 February, no hour 25)."""
    if not isinstance(value, str) or not RFC3339_Z.match(value):
        return None
    try:
        return parse_datetime(value)
    except ValueError:
        return None


def strict_date(value) -> date | None:
    """A date written YYYY-MM-DD that exists."""
    if not isinstance(value, str) or not ISO_DATE.match(value.strip()):
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        return None
