"""Correlation notices and one-sided hits (SPEC section 6).

`GET /api/v1/correlations/` lists notices whose both sides the caller may read;
`GET /api/v1/correlations/hits/` the one-sided hits about the caller's agencies'
own objects; `POST .../hits/{id}/share/` and `.../dismiss/` decide one.
"""

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.generics import GenericAPIView, ListAPIView
from rest_framework.response import Response

import access
from alliance.api import Pagination
from ports.permissions import IsMember
from scans.models import Scan

from . import selectors, services


def side_data(obj) -> dict:
    if isinstance(obj, Scan):
        return {
            "type": "scan",
            "id": str(obj.pk),
            "port": obj.port_id,
            "verdict": obj.verdict,
            "at": obj.scanned_at,
            "url": f"/scans/{obj.pk}/",
        }
    return {
        "type": "alert",
        "id": str(obj.pk),
        "port": obj.agency.port_id or obj.port_id,
        "agency": obj.agency.slug,
        "title": obj.title,
        "at": obj.created_at,
        "url": obj.get_absolute_url(),
    }


class SideOutput(serializers.Serializer):
    """One side of a correlation: a scan or an alert."""

    type = serializers.CharField(help_text="`scan` or `alert`.")
    id = serializers.CharField()
    port = serializers.CharField(allow_null=True)
    verdict = serializers.CharField(required=False, help_text="Scans only.")
    agency = serializers.CharField(required=False, help_text="Alerts only: the author agency's slug.")
    title = serializers.CharField(required=False, help_text="Alerts only.")
    at = serializers.DateTimeField(help_text="When it was scanned or published.")
    url = serializers.CharField()


@extend_schema_field(SideOutput)
class SideField(serializers.Field):
    def to_representation(self, value):
        return side_data(value)


class CorrelationOutput(serializers.Serializer):
    id = serializers.UUIDField()
    kind = serializers.CharField()
    value = serializers.CharField()
    a = SideField(source="side_a", help_text="The newer object: {type, id, port, url, ...}")
    b = SideField(source="side_b", help_text="The earlier object it matches.")
    created_at = serializers.DateTimeField()


class HitOutput(serializers.Serializer):
    id = serializers.IntegerField()
    correlation = serializers.UUIDField(source="correlation_id")
    kind = serializers.CharField(source="correlation.kind")
    value = serializers.CharField(source="correlation.value")
    yours = SideField(source="hidden_object", help_text="Your object, hidden from `other_agency`.")
    other_agency = serializers.CharField(source="other_agency.slug")
    status = serializers.CharField()
    created_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)


def _with_sides(items):
    for c in items:
        c.side_a, c.side_b = c.side("a"), c.side("b")
    return items


class CorrelationListApi(ListAPIView):
    permission_classes = [IsMember]
    pagination_class = Pagination
    serializer_class = CorrelationOutput

    def get_queryset(self):
        return access.correlations_visible_to(self.request.user)

    def paginate_queryset(self, queryset):
        page = _with_sides(super().paginate_queryset(queryset))
        selectors.audit_side_reads(
            self.request.user, [c.side_a for c in page] + [c.side_b for c in page], via="correlations"
        )
        return page


class HitListApi(ListAPIView):
    permission_classes = [IsMember]
    pagination_class = Pagination
    serializer_class = HitOutput

    def get_queryset(self):
        qs = access.hits_for(self.request.user).select_related(
            "correlation__alert_a__agency", "correlation__alert_b__agency"
        )
        status = self.request.query_params.get("status")
        return qs.filter(status=status) if status else qs

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        for hit in page:
            hit.hidden_object = hit.correlation.side(hit.hidden_side)
        selectors.audit_side_reads(self.request.user, [hit.hidden_object for hit in page], via="hits")
        return page


class ShareInput(serializers.Serializer):
    users = serializers.ListField(
        child=serializers.CharField(max_length=96),
        required=False,
        help_text="For a RED alert: the member handles to add (default: the other agency's officers and admins).",
    )


class HitShareApi(GenericAPIView):
    permission_classes = [IsMember]
    serializer_class = ShareInput

    @extend_schema(responses=HitOutput)
    def post(self, request, pk: int):
        data = ShareInput(data=request.data)
        data.is_valid(raise_exception=True)
        hit = services.hit_share(user=request.user, hit_id=pk, users=data.validated_data.get("users"))
        hit.hidden_object = hit.correlation.side(hit.hidden_side)
        selectors.audit_side_reads(request.user, [hit.hidden_object], via="hit")
        return Response(HitOutput(hit).data)


class HitDismissApi(GenericAPIView):
    permission_classes = [IsMember]
    serializer_class = serializers.Serializer

    @extend_schema(request=None, responses=HitOutput)
    def post(self, request, pk: int):
        hit = services.hit_dismiss(user=request.user, hit_id=pk)
        hit.hidden_object = hit.correlation.side(hit.hidden_side)
        selectors.audit_side_reads(request.user, [hit.hidden_object], via="hit")
        return Response(HitOutput(hit).data)
