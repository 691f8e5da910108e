"""Scanner ingestion and scan reading API (SPEC sections 5 and 6): thin views over services and access."""

import django_filters
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle

import access
from alliance.api import ApiError, ErrorSerializer, Pagination
from alliance.filters import IsoDateTimeFilter
from alliance.throttling import _FailOpen
from ports.keys import public_jwk
from ports.node_keys import node_key_rotate_signed
from ports.permissions import IsMember, is_node_request

from .. import documents as scan_documents
from ..models import Delivery, Scan, Verdict
from ..serializers import OutcomeOutput, ScanOutput
from ..services import outcomes as outcome_services
from ..services import scans as scan_services

# ---------------------------------------------------------------- auth and throttling for nodes


class IsNodeOr401(IsMember):
    """Scanner endpoints: anything but a valid node token is 'bad or missing token' (401)."""

    def has_permission(self, request, view) -> bool:
        if not is_node_request(request):
            raise exceptions.NotAuthenticated(_("A scanner node token is required."))
        return True


class NodeThrottle(_FailOpen, SimpleRateThrottle):
    scope = "node"

    def get_cache_key(self, request, view):
        node = getattr(request._request, "scanner_node", None)
        return None if node is None else self.cache_format % {"scope": self.scope, "ident": node.pk}


def _deliveries_for(user, scans: list[Scan]) -> dict:
    reader = access.reader_for(user)
    rows = Delivery.objects.filter(scan__in=scans, agency_id__in=reader.agency_ids).select_related("agency")
    return {d.scan_id: d for d in rows}


def _scan_body(scan: Scan) -> dict:
    scan.signature_status = scan_documents.signature_status(scan)
    return ScanOutput(scan, context={"deliveries": {}}).data


def _public_sector():
    from ports.permissions import IsPublicSectorMember

    return IsPublicSectorMember()


# ---------------------------------------------------------------- ingestion (node token)


class JwsInput(serializers.Serializer):
    jws = serializers.CharField(help_text="Compact JWS (typ scan+json) signed by the node's active key.")


class BatchInput(serializers.Serializer):
    items = serializers.ListField(child=serializers.CharField(), min_length=1, max_length=scan_services.MAX_BATCH)


class BatchItemOutput(serializers.Serializer):
    index = serializers.IntegerField()
    status = serializers.ChoiceField(choices=["created", "duplicate", "rejected"])
    id = serializers.UUIDField(allow_null=True)
    code = serializers.CharField(allow_null=True)
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


ERROR = ErrorSerializer


def _node_body(request, node) -> dict:
    """The JSON object a node sent; a body that is not one is a 400 that still counts as a rejected push.

    What the object holds is checked by the services (signing.parse for `jws`, the batch envelope for `items`):
    the serializers above only describe it for the schema."""
    try:
        data = request.data
    except exceptions.APIException:  # unreadable JSON (the parser names a field when it can)
        scan_services.reject_malformed(node)
        raise
    if not isinstance(data, dict):
        scan_services.reject_malformed(node)
        raise exceptions.ValidationError({"non_field_errors": [_("The body must be a JSON object.")]})
    return data


def _node_input(request, serializer_class, node):
    """Malformed bodies are 400s that still count as rejected pushes."""
    serializer = serializer_class(data=_node_body(request, node))
    if not serializer.is_valid():
        scan_services.reject_malformed(node)
        raise exceptions.ValidationError(serializer.errors)
    return serializer.validated_data


class ScanFilter(django_filters.FilterSet):
    node = django_filters.CharFilter(field_name="node_id")
    port = django_filters.CharFilter(field_name="port_id", help_text="LOCODE")
    verdict = django_filters.ChoiceFilter(choices=Verdict.choices)
    container = django_filters.CharFilter(method="filter_container", help_text="ISO 6346, any case or spacing")
    since = IsoDateTimeFilter(field_name="received_at", lookup_expr="gte")

    class Meta:
        model = Scan
        fields = ["node", "port", "verdict", "container", "since"]

    def filter_container(self, queryset, name, value):
        return queryset.filter(container=value.replace(" ", "").upper())


class ScanListCreateApi(GenericAPIView):
    """GET: the scans a public-sector member may read. POST: a scanner node pushes one signed scan."""

    pagination_class = Pagination
    filterset_class = ScanFilter
    serializer_class = ScanOutput
    queryset = Scan.objects.none()

    def get_permissions(self):
        return [IsNodeOr401()] if self.request.method == "POST" else [_public_sector()]

    def get_throttles(self):
        return [NodeThrottle()] if self.request.method == "POST" else super().get_throttles()

    def get_queryset(self):
        return access.scan_rows(access.scans_visible_to(self.request.user)).order_by("-received_at", "-id")

    @extend_schema(responses={200: ScanOutput(many=True)})
    def get(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        scans = access.verified_scans(request.user, page)
        context = {"deliveries": _deliveries_for(request.user, scans)}
        return self.get_paginated_response(ScanOutput(scans, many=True, context=context).data)

    @extend_schema(
        request=JwsInput,
        responses={201: ScanOutput, 200: ScanOutput, 400: ERROR, 401: ERROR, 403: ERROR, 409: ERROR, 429: ERROR},
    )
    def post(self, request):
        node = request.auth.node
        result = scan_services.scan_ingest(node=node, jws=_node_body(request, node).get("jws"))
        if result.status == "rejected":
            raise ApiError(result.code, result.errors, status_code=result.http)
        return Response(_scan_body(result.scan), status=result.http)


class ScanBatchApi(GenericAPIView):
    permission_classes = [IsNodeOr401]
    serializer_class = BatchInput

    def get_throttles(self):
        return [NodeThrottle()]

    @extend_schema(
        request=BatchInput,
        responses={
            200: inline_serializer("BatchResults", {"results": BatchItemOutput(many=True)}),
            400: ERROR,
            401: ERROR,
            429: ERROR,
        },
    )
    def post(self, request):
        node = request.auth.node
        try:
            results = scan_services.scan_ingest_batch(node=node, items=_node_body(request, node).get("items"))
        except scan_services.Rejected as exc:
            raise ApiError(exc.code, exc.errors, status_code=exc.http) from exc
        return Response(
            {
                "results": [
                    {
                        "index": i,
                        "status": r.status,
                        "id": str(r.scan.pk) if r.scan is not None else None,
                        "code": r.code,
                        "errors": r.errors,
                    }
                    for i, r in enumerate(results)
                ]
            }
        )


class ScanDetailApi(GenericAPIView):
    serializer_class = ScanOutput
    queryset = Scan.objects.none()

    def get_permissions(self):
        return [_public_sector()]

    def get(self, request, scan_id):
        scan = access.get_scan_for(request.user, scan_id)
        scans = access.verified_scans(request.user, [scan])
        if not scans:
            raise exceptions.NotFound()
        return Response(ScanOutput(scans[0], context={"deliveries": _deliveries_for(request.user, scans)}).data)


class OutcomeInput(serializers.Serializer):
    """For the schema; the service validates (outcome_services.outcome_clean)."""

    result = serializers.ChoiceField(choices=["negative", "positive"])
    seized_kg = serializers.FloatField(required=False, allow_null=True, min_value=0, max_value=100_000)
    substance = serializers.CharField(required=False, allow_null=True, max_length=outcome_services.MAX_SUBSTANCE)
    note = serializers.CharField(required=False, allow_null=True, max_length=outcome_services.MAX_NOTE)
    agency = serializers.CharField(required=False, help_text="Acting agency slug, when an officer in several.")


class ScanOutcomeApi(GenericAPIView):
    serializer_class = OutcomeInput

    def get_permissions(self):
        return [_public_sector()]

    @extend_schema(request=OutcomeInput, responses={201: OutcomeOutput, 400: ERROR, 403: ERROR, 404: ERROR, 409: ERROR})
    def post(self, request, scan_id):
        scan = access.get_scan_for(request.user, scan_id)  # 404 before the body is looked at
        agency = request.data.get("agency") if isinstance(request.data, dict) else None
        membership = outcome_services.outcome_membership(
            request.user, scan, agency if isinstance(agency, str) else None
        )
        try:
            outcome = outcome_services.outcome_record(membership=membership, scan=scan, data=request.data)
        except outcome_services.OutcomeExists as exc:
            raise ApiError("conflict", {"scan": [str(exc)]}, status_code=409) from exc
        return Response(OutcomeOutput(outcome).data, status=status.HTTP_201_CREATED)


# ---------------------------------------------------------------- the node itself


class NodeMeApi(GenericAPIView):
    permission_classes = [IsNodeOr401]

    @extend_schema(responses={200: OpenApiResponse(OpenApiTypes.OBJECT), 401: ERROR})
    def get(self, request):
        return Response(scan_services.node_status(request.auth.node))


class NodeKeysApi(GenericAPIView):
    permission_classes = [IsNodeOr401]
    serializer_class = JwsInput

    @extend_schema(
        request=JwsInput, responses={201: OpenApiResponse(OpenApiTypes.OBJECT), 400: ERROR, 401: ERROR, 403: ERROR}
    )
    def post(self, request):
        node = request.auth.node
        data = _node_input(request, JwsInput, node)
        try:
            key = node_key_rotate_signed(node=node, jws=data["jws"])
        except ValidationError as exc:
            raise ApiError("invalid", exc.message_dict) from exc
        except PermissionDenied as exc:
            raise ApiError("key_not_active", {"jws": [str(exc)]}, status_code=403) from exc
        return Response(
            {**public_jwk(key.x), "owner": key.owner_label, "status": key.status}, status=status.HTTP_201_CREATED
        )
