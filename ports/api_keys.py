"""Keys (SPEC section 3): the public JWKS, the members' key set, and key management for agency admins."""

from typing import cast

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from alliance.api import ApiError

from . import services as key_services
from .keys import public_jwk
from .models import Agency, KeyOwner, Role, SigningKey
from .permissions import IsVerifiedSession
from .selectors import memberships_with_role

JwkOutput = inline_serializer(
    "Jwk",
    {
        "kty": serializers.CharField(),
        "crv": serializers.CharField(),
        "x": serializers.CharField(),
        "kid": serializers.CharField(help_text="RFC 7638 thumbprint."),
        "use": serializers.CharField(),
        "alg": serializers.CharField(),
        "owner": serializers.CharField(help_text="Agency slug, `portal`, or `node:<id>`."),
        "status": serializers.ChoiceField(choices=["active", "retired", "revoked"]),
    },
)
JwksOutput = inline_serializer("Jwks", {"keys": serializers.ListField(child=JwkOutput)})


def jwk(key: SigningKey) -> dict:
    return {**public_jwk(key.x), "owner": key.owner_label, "status": key.status}


def key_set(*, include_nodes: bool) -> dict:
    owners = [KeyOwner.AGENCY, KeyOwner.PORTAL] + ([KeyOwner.NODE] if include_nodes else [])
    keys = (
        SigningKey.objects.filter(owner_kind__in=owners).select_related("agency", "node").order_by("created_at", "kid")
    )
    return {"keys": [jwk(k) for k in keys]}


class JwksView(APIView):
    """Public, no login: agency and portal keys ever registered."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(responses=JwksOutput, auth=[])
    def get(self, request):
        key_services.portal_key_ensure()  # the portal's own key is always listed, from the first request on
        response = Response(key_set(include_nodes=False))
        response["Cache-Control"] = "public, max-age=300"
        return response


def _admin_agency(user, slug) -> Agency:
    """The agency named, when the caller is its admin; 403 otherwise (a role that may not do this)."""
    if not isinstance(slug, str) or not slug:
        raise ApiError("invalid", {"agency": [_("This field is required.")]})
    for membership in memberships_with_role(user, Role.ADMIN):
        if membership.agency.slug == slug:
            return membership.agency
    if not Agency.objects.filter(slug=slug).exists():
        raise ApiError("invalid", {"agency": [_("Unknown agency %(agency)s.") % {"agency": repr(slug)}]})
    raise ApiError("permission_denied", {"agency": [_("You are not an admin of %(agency)s.") % {"agency": slug}]}, 403)


def _body(request) -> dict:
    """The JSON object sent; a list or a string is a 400, not an AttributeError."""
    if not isinstance(request.data, dict):
        raise ApiError("invalid", {"non_field_errors": [_("A JSON object is expected.")]})
    return request.data


def _validation(exc: ValidationError) -> ApiError:
    return ApiError("invalid", exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages})


class KeyListRegisterApi(APIView):
    def get_permissions(self):
        if self.request.method == "POST":
            return [IsVerifiedSession()]
        return super().get_permissions()

    @extend_schema(responses=JwksOutput)
    def get(self, request):
        return Response(key_set(include_nodes=True))

    @extend_schema(
        request=inline_serializer(
            "KeyRegister",
            {
                "agency": serializers.CharField(),
                "x": serializers.CharField(required=False, help_text="Raw public key, base64url."),
                "pem": serializers.CharField(required=False, help_text="SubjectPublicKeyInfo PEM."),
            },
        ),
        responses={201: JwkOutput},
    )
    def post(self, request):
        data = _body(request)
        agency = _admin_agency(request.user, data.get("agency"))
        x, pem = data.get("x"), data.get("pem")
        if bool(x) == bool(pem):
            raise ApiError("invalid", {"x": [_("Give the public key as `x` (base64url) or `pem`, one of the two.")]})
        try:
            key = key_services.agency_key_register_external(
                agency=agency, public_key=cast(str, x or pem), actor=request.user
            )
        except ValidationError as exc:
            raise _validation(exc)
        return Response(jwk(key), status=status.HTTP_201_CREATED)


class KeyRotateApi(APIView):
    permission_classes = [IsVerifiedSession]

    @extend_schema(
        request=inline_serializer("KeyRotate", {"agency": serializers.CharField()}), responses={201: JwkOutput}
    )
    def post(self, request):
        agency = _admin_agency(request.user, _body(request).get("agency"))
        key = key_services.agency_key_generate(agency=agency, actor=request.user)
        return Response(jwk(key), status=status.HTTP_201_CREATED)


class KeyRevokeApi(APIView):
    permission_classes = [IsVerifiedSession]

    @extend_schema(request=inline_serializer("KeyRevoke", {"reason": serializers.CharField()}), responses=JwkOutput)
    def post(self, request, kid):
        key = SigningKey.objects.select_related("agency", "node__agency").filter(kid=kid).first()
        owner_agency = None
        if key is not None:
            owner_agency = key.agency if key.owner_kind == KeyOwner.AGENCY else getattr(key.node, "agency", None)
        admin_of = {m.agency_id for m in memberships_with_role(request.user, Role.ADMIN)}
        if owner_agency is None or owner_agency.id not in admin_of:
            if key is None or key.owner_kind == KeyOwner.PORTAL:
                raise ApiError("not_found", {}, 404)
            raise ApiError(
                "permission_denied", {"non_field_errors": [_("You are not an admin of this key's owner.")]}, 403
            )
        try:
            key = key_services.key_revoke(
                key=cast(SigningKey, key), reason=_body(request).get("reason") or "", actor=request.user
            )
        except ValidationError as exc:
            raise _validation(exc)
        return Response(jwk(key))
