"""API conventions shared by every endpoint (SPEC section 2): pagination, error shape, throttles."""

from collections import OrderedDict

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_paginated_response(self, data):
        return Response(
            OrderedDict(
                [
                    ("count", self.page.paginator.count),
                    ("next", self.get_next_link()),
                    ("previous", self.get_previous_link()),
                    ("results", data),
                ]
            )
        )

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["count", "next", "previous", "results"],
            "properties": {
                "count": {"type": "integer"},
                "next": {"type": "string", "format": "uri", "nullable": True},
                "previous": {"type": "string", "format": "uri", "nullable": True},
                "results": schema,
            },
        }


_CODES = {
    status.HTTP_400_BAD_REQUEST: "invalid",
    status.HTTP_401_UNAUTHORIZED: "not_authenticated",
    status.HTTP_403_FORBIDDEN: "permission_denied",
    status.HTTP_404_NOT_FOUND: "not_found",
    status.HTTP_405_METHOD_NOT_ALLOWED: "method_not_allowed",
    status.HTTP_406_NOT_ACCEPTABLE: "not_acceptable",
    status.HTTP_409_CONFLICT: "conflict",
    status.HTTP_415_UNSUPPORTED_MEDIA_TYPE: "unsupported_media_type",
    status.HTTP_429_TOO_MANY_REQUESTS: "throttled",
}


class ErrorSerializer(serializers.Serializer):
    """Every error answer: a code, and messages per field (SPEC section 2)."""

    code = serializers.CharField(help_text="What went wrong, e.g. `invalid`, `not_found`, `permission_denied`.")
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Messages per field (dotted path for nested input); may be empty.",
    )


class ApiError(exceptions.APIException):
    """An error with an explicit code and field errors, in the SPEC's shape."""

    def __init__(self, code: str, errors: dict | None = None, status_code: int = 400, detail: str | None = None):
        self.status_code = status_code
        self.code = code
        self.errors = errors or {}
        super().__init__(detail=detail or code, code=code)


def _flatten(detail) -> dict[str, list[str]]:
    """DRF's nested ValidationError detail -> {field: [messages]} with dotted paths."""
    out: dict[str, list[str]] = {}

    def walk(prefix: str, value):
        if isinstance(value, dict):
            for key, inner in value.items():
                name = "non_field_errors" if key == "non_field_errors" and not prefix else key
                walk(f"{prefix}.{name}" if prefix else str(name), inner)
        elif isinstance(value, list):
            if all(not isinstance(v, (dict, list)) for v in value):
                out.setdefault(prefix or "non_field_errors", []).extend(str(v) for v in value)
            else:
                for index, inner in enumerate(value):
                    if inner:
                        walk(f"{prefix}.{index}" if prefix else str(index), inner)
        else:
            out.setdefault(prefix or "non_field_errors", []).append(str(value))

    walk("", detail)
    return out


def exception_handler(exc, context):
    """Every error answers {"code": ..., "errors": {field: [messages]}}."""
    if isinstance(exc, ApiError):
        response = Response({"code": exc.code, "errors": exc.errors}, status=exc.status_code)
        if exc.status_code == 429 and exc.errors.get("retry_after"):
            response["Retry-After"] = exc.errors["retry_after"][0]
        return response
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    if isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = _flatten(exc.detail)
        code = "invalid"
    else:
        code = getattr(exc, "default_code", None) or _CODES.get(response.status_code, "error")
        detail = getattr(exc, "detail", "")
        errors = {} if response.status_code in (404,) else {"non_field_errors": [str(detail)]}
    response.data = {"code": code, "errors": errors}
    return response
