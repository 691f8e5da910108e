"""Request guards that hold for every page and API endpoint."""

from django.http import HttpResponseBadRequest, JsonResponse


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
