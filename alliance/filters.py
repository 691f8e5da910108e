"""Query-string filters shared by the API (SPEC section 2: times are RFC 3339, compared in UTC)."""

from datetime import UTC

import django_filters
from django.core.exceptions import ValidationError
from django_filters.fields import IsoDateTimeField


class UtcIsoDateTimeField(IsoDateTimeField):
    """An RFC 3339 time with any offset, turned into UTC before it reaches the database.

    PostgreSQL refuses offsets beyond ±15:59 that ISO 8601 parsers accept; a time that leaves the calendar
    once in UTC (year 1 or 9999 at the edge) is invalid input, not a server error.
    """

    def to_python(self, value):
        parsed = super().to_python(value)
        try:
            return parsed.astimezone(UTC) if parsed is not None and parsed.tzinfo else parsed
        except OverflowError as exc:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from exc


class IsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField
