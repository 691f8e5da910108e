"""The API's JSON parser: a body the decoder cannot read still answers 400 naming the field (SPEC section 5)."""

import json

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework import exceptions, parsers

from ports.validation import MAX_DEPTH, hostile_errors, too_deep_field


def _constant(name: str) -> float:
    return float(name)  # NaN, Infinity, -Infinity: read only to name the field that holds one


class JSONParser(parsers.JSONParser):
    """DRF's strict parser, with two answers it cannot give: which field holds NaN or Infinity (not JSON),
    and which field nests thousands of levels deep (the decoder runs out of recursion: a 500 before)."""

    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = stream.read().decode(encoding) if stream is not None else ""
        except UnicodeDecodeError as exc:
            raise exceptions.ParseError(f"JSON parse error - {exc}") from exc
        try:
            return json.loads(text, parse_constant=_refuse)
        except _NonFinite:
            errors = self._named(text)
            raise exceptions.ValidationError(
                errors or {"non_field_errors": [_("A finite number is expected.")]}
            ) from None
        except RecursionError:
            raise exceptions.ValidationError(self._too_deep(text)) from None
        except ValueError as exc:
            raise exceptions.ParseError(f"JSON parse error - {exc}") from exc

    @staticmethod
    def _named(text: str) -> dict[str, list[str]]:
        try:
            return hostile_errors(json.loads(text, parse_constant=_constant))
        except RecursionError:
            return JSONParser._too_deep(text)

    @staticmethod
    def _too_deep(text: str) -> dict[str, list[str]]:
        return {
            too_deep_field(text) or "non_field_errors": [
                _("Nested deeper than %(depth)s levels.") % {"depth": MAX_DEPTH}
            ]
        }


class _NonFinite(ValueError):
    pass


def _refuse(name: str):
    raise _NonFinite(name)
