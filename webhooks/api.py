"""Webhook API (SPEC section 6): agency admins with a second-factor session; thin views over services."""

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

import access
from alliance.api import Pagination
from ports.permissions import IsVerifiedSession

from . import services


def _require_admin(user) -> None:
    if not access.webhook_admin_agency_ids(user):
        raise PermissionDenied(_("Webhooks are managed by public-sector agency admins."))


class EndpointOutput(serializers.Serializer):
    id = serializers.IntegerField()
    agency = serializers.CharField(source="agency.slug")
    url = serializers.CharField()
    description = serializers.CharField()
    is_active = serializers.BooleanField()
    created_by = serializers.CharField(source="created_by.handle", allow_null=True, default=None)
    created_at = serializers.DateTimeField()


class EndpointInput(serializers.Serializer):
    """For the schema; services.endpoint_register validates."""

    url = serializers.CharField(help_text="https only; loopback and private addresses are refused.")
    description = serializers.CharField(required=False, allow_blank=True, default="")
    agency = serializers.CharField(required=False, help_text="Needed only by an admin of several agencies.")


class AttemptOutput(serializers.Serializer):
    id = serializers.UUIDField()
    endpoint = serializers.IntegerField(source="endpoint_id")
    url = serializers.CharField(source="endpoint.url")
    delivery_id = serializers.UUIDField()
    scan = serializers.UUIDField(source="delivery.scan_id")
    state = serializers.CharField()
    attempts = serializers.IntegerField()
    first_attempt_at = serializers.DateTimeField(allow_null=True)
    last_attempt_at = serializers.DateTimeField(allow_null=True)
    next_attempt_at = serializers.DateTimeField()
    last_status = serializers.IntegerField(allow_null=True)
    last_error = serializers.CharField()
    sent_at = serializers.DateTimeField(allow_null=True)


class WebhookListCreateApi(GenericAPIView):
    permission_classes = [IsVerifiedSession]
    pagination_class = Pagination
    serializer_class = EndpointOutput

    def get_queryset(self):
        return access.endpoints_for(self.request.user)

    @extend_schema(responses=EndpointOutput(many=True))
    def get(self, request):
        _require_admin(request.user)
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(EndpointOutput(page, many=True).data)

    @extend_schema(request=EndpointInput, responses={201: EndpointOutput})
    def post(self, request):
        data = request.data if isinstance(request.data, dict) else {}
        agency = data.get("agency")
        membership = services.acting_admin(request.user, agency if isinstance(agency, str) else None)
        endpoint = services.endpoint_register(  # raw values: the service validates them, page and API alike
            membership=membership, url=data.get("url"), description=data.get("description", ""), actor=request.user
        )
        return Response(EndpointOutput(endpoint).data, status=status.HTTP_201_CREATED)


class WebhookDeleteApi(GenericAPIView):
    permission_classes = [IsVerifiedSession]
    serializer_class = EndpointOutput

    @extend_schema(responses={204: None})
    def delete(self, request, endpoint_id):
        _require_admin(request.user)
        endpoint = access.get_endpoint_for(request.user, endpoint_id)
        services.endpoint_remove(endpoint=endpoint, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class DeadLetterListApi(GenericAPIView):
    permission_classes = [IsVerifiedSession]
    pagination_class = Pagination
    serializer_class = AttemptOutput

    def get_queryset(self):
        return access.dead_letters_for(self.request.user)

    @extend_schema(responses=AttemptOutput(many=True))
    def get(self, request):
        _require_admin(request.user)
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(AttemptOutput(page, many=True).data)


class DeadLetterReplayApi(GenericAPIView):
    permission_classes = [IsVerifiedSession]
    serializer_class = AttemptOutput

    @extend_schema(request=None, responses={202: AttemptOutput})
    def post(self, request, attempt_id):
        _require_admin(request.user)
        attempt = access.get_dead_letter_for(request.user, attempt_id)
        attempt = services.dead_letter_replay(attempt=attempt, actor=request.user)
        return Response(AttemptOutput(attempt).data, status=status.HTTP_202_ACCEPTED)
