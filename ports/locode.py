"""UN/LOCODE syntax as the SPEC defines it: a real ISO 3166 country and three of [A-Z2-9]."""

import re

import pycountry
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

LOCODE_REGEX = r"^[A-Z]{2}[A-Z2-9]{3}$"
_LOCODE = re.compile(LOCODE_REGEX)


def locode_error(value) -> str | None:
    """The reason `value` is not a valid LOCODE, or None when it is."""
    if not isinstance(value, str):
        return _("A LOCODE is a string of 5 characters.")
    if len(value) != 5:
        return _("A LOCODE has exactly 5 characters.")
    if value != value.upper():
        return _("A LOCODE is written in upper case.")
    if not _LOCODE.match(value):
        return _("A LOCODE is 2 letters of country then 3 of A-Z or 2-9.")
    if pycountry.countries.get(alpha_2=value[:2]) is None:
        return _("%(code)s is not an ISO 3166-1 country code.") % {"code": value[:2]}
    return None


def validate_locode(value) -> None:
    error = locode_error(value)
    if error:
        raise ValidationError(error, code="invalid_locode")
