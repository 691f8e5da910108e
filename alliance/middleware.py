"""Request guards that hold for every page and API endpoint."""

from django.http import HttpResponseBadRequest, JsonResponse
from django_structlog.middlewares import RequestMiddleware

from .logs import current_request_id, request_line


class RejectNulQueryMiddleware:
    """A query string carrying a NUL character is refused with a 400 before any view runs.

    No filter, page or search term legitimately contains one, and PostgreSQL cannot compare text with it
    (a view filtering on such a value would answer 500). API paths answer in the error shape (SPEC section 2).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        bad = sorted(
            {
                key.replace("\x00", "") or "non_field_errors"
                for key, values in request.GET.lists()
                if "\x00" in key or any("\x00" in v for v in values)
            }
        )
        if bad:
            if request.path.startswith("/api/"):
                return JsonResponse(
                    {"code": "invalid", "errors": {name: ["NUL characters are not allowed."] for name in bad}},
                    status=400,
                )
            return HttpResponseBadRequest("NUL characters are not allowed in a query string.")
        return self.get_response(request)


FORWARDED_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_HOST", "HTTP_X_FORWARDED_PORT")


class TrustedProxyMiddleware:
    """X-Forwarded-* headers count only when the TLS proxy (`TRUSTED_PROXIES`) sent them.

    First in the stack: from any other caller they are dropped before SecurityMiddleware (which reads
    X-Forwarded-Proto to decide on HTTPS), axes and the request log (which read X-Forwarded-For) see them, so
    a client reaching gunicorn directly cannot claim HTTPS or another address.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.conf import settings

        from .metrics import _in

        if not _in(request.META.get("REMOTE_ADDR", ""), settings.TRUSTED_PROXIES):
            for header in FORWARDED_HEADERS:
                request.META.pop(header, None)
        return self.get_response(request)


class RequestLogMiddleware(RequestMiddleware):
    """django-structlog's request middleware (binds request_id, user_id, ip), logging paths without queries."""

    format_request = staticmethod(request_line)


class RequestIdHeaderMiddleware:
    """Answers with `X-Request-ID`, the id of every log line of this request (a user can quote it).

    Sits after django-structlog's middleware: that one binds the id on the way in and forgets it on the way
    out, after this one has copied it. gunicorn's access line reads it back from the header.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        request_id = current_request_id()
        if request_id:
            response["X-Request-ID"] = request_id
        return response
