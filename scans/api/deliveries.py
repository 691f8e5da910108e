"""Deliveries inbox and subscriptions API (SPEC section 6): thin views over selectors and services."""

import django_filters
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

import access
from alliance.api import ApiError, Pagination
from ports.permissions import IsPublicSectorMember, IsVerifiedSession

from .. import selectors
from ..models import Delivery, DeliveryReason, Subscription, Verdict
from ..services import deliveries as services
from .scans import ERROR, ScanOutput

# ---------------------------------------------------------------- deliveries


class DeliveryOutput(serializers.Serializer):
    id = serializers.UUIDField()
    agency = serializers.CharField(source="agency.slug", help_text="Your agency that received it.")
    reason = serializers.ChoiceField(choices=DeliveryReason.choices)
    created_at = serializers.DateTimeField()
    acknowledged_at = serializers.DateTimeField(allow_null=True)
    acknowledged_by = serializers.SerializerMethodField(help_text="Handle of the member who acknowledged it.")
    scan = serializers.SerializerMethodField()

    def get_acknowledged_by(self, obj) -> str | None:
        return obj.acknowledged_by.handle if obj.acknowledged_by_id else None

    @extend_schema_field(ScanOutput)
    def get_scan(self, obj):
        # The reader's own delivery state is this very delivery: no extra query per row.
        return ScanOutput(obj.scan, context={"deliveries": {obj.scan_id: obj}}).data


class DeliveryFilter(django_filters.FilterSet):
    verdict = django_filters.ChoiceFilter(choices=Verdict.choices, method="filter_verdict")
    port = django_filters.CharFilter(method="filter_port", help_text="LOCODE of the port where it was scanned")
    acknowledged = django_filters.BooleanFilter(method="filter_acknowledged")

    class Meta:
        model = Delivery
        fields = ["verdict", "port", "acknowledged"]

    def filter_verdict(self, queryset, name, value):
        return selectors.delivery_filter(queryset, verdict=value)

    def filter_port(self, queryset, name, value):
        return selectors.delivery_filter(queryset, port=value)

    def filter_acknowledged(self, queryset, name, value):
        return selectors.delivery_filter(queryset, acknowledged=value)


class DeliveryListApi(GenericAPIView):
    """The caller's agencies' inbox, newest first. Closed to the private sector (it never receives scans)."""

    permission_classes = [IsPublicSectorMember]
    pagination_class = Pagination
    filterset_class = DeliveryFilter
    serializer_class = DeliveryOutput
    queryset = Delivery.objects.none()

    def get_queryset(self):
        return selectors.inbox(self.request.user)

    @extend_schema(responses={200: DeliveryOutput(many=True), 400: ERROR, 403: ERROR})
    def get(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        deliveries = access.signed_deliveries(request.user, page)
        return self.get_paginated_response(DeliveryOutput(deliveries, many=True).data)


class DeliveryAckApi(GenericAPIView):
    """Acknowledge one delivery of your agency (idempotent: the first acknowledgement stands)."""

    permission_classes = [IsPublicSectorMember]
    serializer_class = DeliveryOutput

    @extend_schema(request=None, responses={200: DeliveryOutput, 403: ERROR, 404: ERROR})
    def post(self, request, delivery_id):
        delivery = access.get_delivery_for(request.user, delivery_id)
        delivery, _changed = services.delivery_acknowledge(user=request.user, delivery=delivery)
        return Response(DeliveryOutput(delivery).data)


# ---------------------------------------------------------------- subscriptions


class SubscriptionOutput(serializers.Serializer):
    id = serializers.IntegerField()
    agency = serializers.CharField(source="agency.slug")
    port = serializers.CharField(source="port_id", allow_null=True, help_text="Null: any port.")
    origin = serializers.CharField(source="origin_id", allow_null=True, help_text="Null: any origin.")
    min_verdict = serializers.ChoiceField(choices=Verdict.choices)
    is_active = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    created_by = serializers.SerializerMethodField()

    def get_created_by(self, obj) -> str | None:
        return obj.created_by.handle if obj.created_by_id else None


class SubscriptionInput(serializers.Serializer):
    agency = serializers.CharField(required=False, help_text="Subscribing agency slug, when admin of several.")
    port = serializers.CharField(required=False, allow_null=True, allow_blank=True, help_text="LOCODE; empty: any.")
    origin = serializers.CharField(required=False, allow_null=True, allow_blank=True, help_text="LOCODE; empty: any.")
    min_verdict = serializers.ChoiceField(choices=Verdict.choices, required=False, default=Verdict.SUSPECT)


def _as_api_error(exc: ValidationError) -> ApiError:
    errors = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
    return ApiError("invalid", errors)


class _SubscriptionAdmin(IsVerifiedSession):
    """A TOTP-verified portal session of an admin of a public-sector agency."""

    message = gettext_lazy(
        "Subscriptions are managed by admins of public-sector agencies, in a session verified with TOTP."
    )

    def has_permission(self, request, view) -> bool:
        return super().has_permission(request, view) and bool(access.subscription_admin_agency_ids(request.user))


class SubscriptionListCreateApi(GenericAPIView):
    permission_classes = [_SubscriptionAdmin]
    pagination_class = Pagination
    serializer_class = SubscriptionOutput
    queryset = Subscription.objects.none()
    filter_backends: list = []

    def get_queryset(self):
        return access.subscriptions_managed_by(self.request.user)

    @extend_schema(responses={200: SubscriptionOutput(many=True), 403: ERROR})
    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(SubscriptionOutput(page, many=True).data)

    @extend_schema(request=SubscriptionInput, responses={201: SubscriptionOutput, 400: ERROR, 403: ERROR})
    def post(self, request):
        serializer = SubscriptionInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            membership = services.subscription_admin_membership(request.user, data.get("agency"))
            subscription = services.subscription_create(
                membership=membership,
                port=data.get("port"),
                origin=data.get("origin"),
                min_verdict=data.get("min_verdict"),
            )
        except ValidationError as exc:
            raise _as_api_error(exc) from exc
        except PermissionDenied as exc:
            raise ApiError("permission_denied", {"agency": [str(exc)]}, status_code=403) from exc
        except services.SubscriptionExists as exc:
            raise ApiError("duplicate", {"non_field_errors": [str(exc)]}) from exc
        return Response(SubscriptionOutput(subscription).data, status=status.HTTP_201_CREATED)


class SubscriptionDetailApi(GenericAPIView):
    permission_classes = [_SubscriptionAdmin]
    serializer_class = SubscriptionOutput

    @extend_schema(responses={200: SubscriptionOutput, 403: ERROR, 404: ERROR})
    def get(self, request, subscription_id):
        return Response(SubscriptionOutput(access.get_subscription_for(request.user, subscription_id)).data)

    @extend_schema(responses={204: None, 403: ERROR, 404: ERROR})
    def delete(self, request, subscription_id):
        subscription = access.get_subscription_for(request.user, subscription_id)
        services.subscription_deactivate(user=request.user, subscription=subscription)
        return Response(status=status.HTTP_204_NO_CONTENT)
