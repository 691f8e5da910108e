"""OpenAPI generation: every operation documents the error answers it can give (SPEC section 2).

Errors are rendered by `alliance.api.exception_handler` in one shape, `{"code", "errors"}`, whatever the view;
so the schema says so once, here, instead of on every view. A view's own `@extend_schema` responses win.
"""

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from rest_framework.permissions import AllowAny

from .api import ErrorSerializer

_DESCRIPTIONS = {
    "400": "Invalid input: `errors` maps each field (dotted path) to its messages (for any operation: a query "
    "string holding a NUL character).",
    "401": "No credentials, or a token that is unknown, revoked or expired.",
    "403": "This caller (session, personal token, node token or role) may not use this endpoint.",
    "404": "No such object, or not one the caller may read (existence does not leak); or a page past the end.",
    "429": "Throttled: retry after `Retry-After` seconds.",
}


class AutoSchema(SpectacularAutoSchema):
    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        responses = operation["responses"]
        for code in self._error_codes(operation):
            if code not in responses:
                response = self._get_response_for_code(ErrorSerializer, code)
                response["description"] = _DESCRIPTIONS[code]
                if code == "429":
                    response["headers"] = {
                        "Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}
                    }
                responses[code] = response
        return operation

    def _error_codes(self, operation) -> list[str]:
        parameters = operation.get("parameters", [])
        # Any operation can answer 400: a query string holding a NUL character is refused before the view
        # (`alliance.middleware`), whatever parameters the operation takes.
        codes = ["400"]
        if self.view.get_authenticators():
            codes.append("401")
        if not all(isinstance(permission, AllowAny) for permission in self.view.get_permissions()):
            codes.append("403")
        if any(p["in"] == "path" or p["name"] == "page" for p in parameters):
            codes.append("404")
        if self.view.get_throttles():
            codes.append("429")
        return codes
