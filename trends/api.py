"""Trends, statistics, measures and displacement API (SPEC section 7; shapes in docs/trends-api.md). Thin views."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer, inline_serializer
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

import access
from access import reader_for
from alliance.api import ApiError, Pagination
from ports.permissions import IsPublicSectorMember

from . import selectors
from .models import FlagStatus, Measure
from .services import statistics as statistics_services
from .services.displacement import flag_set_status
from .services.measures import measure_declare

# ---------------------------------------------------------------- trends


class TrendsApi(APIView):
    permission_classes = [IsPublicSectorMember]

    @extend_schema(
        parameters=[
            OpenApiParameter("port", str, description="LOCODE(s), comma-separated"),
            OpenApiParameter("origin", str, description="LOCODE(s), comma-separated"),
            OpenApiParameter("hub", str),
            OpenApiParameter("since", OpenApiTypes.DATE),
            OpenApiParameter("until", OpenApiTypes.DATE),
            OpenApiParameter("bucket", str, enum=list(selectors.BUCKETS)),
        ],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request):
        query = selectors.parse_trend_query(request.query_params)
        return Response(selectors.trends_for(request.user, query))


# ---------------------------------------------------------------- statistics


class StatisticsImportApi(APIView):
    permission_classes = [IsPublicSectorMember]

    @extend_schema_serializer(component_name="StatisticsImport")
    class InputSerializer(serializers.Serializer):
        """For the schema; the service validates every row."""

        rows = serializers.ListField(child=serializers.DictField(), allow_empty=False, max_length=5000)

    @extend_schema(
        request=InputSerializer,
        responses={
            201: inline_serializer(
                "StatisticsImported", {"created": serializers.IntegerField(), "replaced": serializers.IntegerField()}
            )
        },
    )
    def post(self, request):
        ports = statistics_services.officer_ports(request.user)
        if not ports:
            raise PermissionDenied(_("Only officers of a public-sector agency import statistics."))
        data = request.data
        rows, errors = statistics_services.statistics_validate(
            data.get("rows") if isinstance(data, dict) else None,
            allowed_ports=set(ports),
            max_rows=statistics_services.MAX_ROWS,
        )
        if errors:
            raise ApiError(
                "invalid",
                {
                    f"rows.{i}.{field}" if i >= 0 else field: messages
                    for i, fields in sorted(errors.items())
                    for field, messages in fields.items()
                },
            )
        agencies = {ports[r.port].agency for r in rows}
        created, replaced = statistics_services.statistics_import(
            rows, user=request.user, agency=agencies.pop() if len(agencies) == 1 else None, source="api"
        )
        return Response({"created": created, "replaced": replaced}, status=status.HTTP_201_CREATED)


# ---------------------------------------------------------------- measures


class MeasureOutput(serializers.ModelSerializer):
    port = serializers.CharField(source="port_id")
    origin = serializers.CharField(source="origin_id", allow_null=True)
    agency = serializers.CharField(source="agency.slug")

    class Meta:
        model = Measure
        fields = ["id", "port", "origin", "starts_on", "description", "agency", "author", "created_at"]


class MeasuresApi(GenericAPIView):
    permission_classes = [IsPublicSectorMember]
    pagination_class = Pagination
    serializer_class = MeasureOutput

    @extend_schema_serializer(component_name="MeasureDeclare")
    class InputSerializer(serializers.Serializer):
        """For the schema; measure_declare validates."""

        port = serializers.CharField(max_length=5)
        origin = serializers.CharField(max_length=5, allow_null=True, required=False)
        starts_on = serializers.DateField()
        description = serializers.CharField(max_length=2000)
        agency = serializers.SlugField(required=False)

    def get_queryset(self):
        qs = selectors.measures_visible_to(self.request.user)
        params = self.request.query_params
        if params.get("port"):
            qs = qs.filter(port_id=params["port"].upper())
        if params.get("origin"):
            origin = params["origin"]
            qs = qs.filter(origin__isnull=True) if origin == "none" else qs.filter(origin_id=origin.upper())
        if params.get("since"):
            try:
                qs = qs.filter(starts_on__gte=params["since"])
            except ValidationError:
                raise ApiError("invalid", {"since": [_("A date is written YYYY-MM-DD.")]})
        return qs

    @extend_schema(
        parameters=[
            OpenApiParameter("port", str),
            OpenApiParameter("origin", str),
            OpenApiParameter("since", OpenApiTypes.DATE),
        ],
        responses=MeasureOutput(many=True),
    )
    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(MeasureOutput(page, many=True).data)

    @extend_schema(request=InputSerializer, responses={201: MeasureOutput})
    def post(self, request):
        data = request.data if isinstance(request.data, dict) else {}
        measure = measure_declare(  # raw values: the service validates them, whatever the path
            user=request.user,
            port=data.get("port"),
            origin=data.get("origin"),
            starts_on=data.get("starts_on"),
            description=data.get("description"),
            agency_slug=data.get("agency"),
        )
        return Response(MeasureOutput(measure).data, status=status.HTTP_201_CREATED)


# ---------------------------------------------------------------- displacement flags


class FlagOutput(serializers.Serializer):
    id = serializers.UUIDField()
    from_port = serializers.CharField(source="from_port_id")
    to_port = serializers.CharField(source="to_port_id")
    origin = serializers.CharField(source="origin_id")
    tightening = serializers.SerializerMethodField()
    window_before = serializers.SerializerMethodField()
    window_after = serializers.SerializerMethodField()
    lag_weeks = serializers.IntegerField()
    wdq = serializers.FloatField()
    effect = serializers.FloatField()
    p_value = serializers.FloatField()
    confidence = serializers.CharField()
    seized_kg_before = serializers.SerializerMethodField(help_text="Null when it would show a single seizure.")
    seized_kg_after = serializers.SerializerMethodField(help_text="Null when it would show a single seizure.")
    status = serializers.CharField()
    status_reason = serializers.CharField(allow_null=True)
    status_changed_at = serializers.DateTimeField(allow_null=True)
    detected_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    evidence = serializers.SerializerMethodField()
    growth = serializers.SerializerMethodField(
        help_text="Per week since the after window began: B's observed and expected hits (from the control's risk "
        "and B's before-window ratio to it), running sums, cumulative excess and z; computed from the evidence rows "
        "shown, so hidden cells contribute nothing (complete: false)."
    )
    url = serializers.CharField(source="get_absolute_url")

    def get_tightening(self, obj) -> dict:
        return {
            "port": obj.from_port_id,
            "origin": obj.origin_id,
            "starts_on": obj.tightening_starts_on.isoformat(),
            "source": obj.tightening_source,
        }

    def get_window_before(self, obj) -> dict:
        return {"start": obj.window_before_start.isoformat(), "end": obj.window_before_end.isoformat()}

    def get_window_after(self, obj) -> dict:
        return {"start": obj.window_after_start.isoformat(), "end": obj.window_after_end.isoformat()}

    def _release(self, obj) -> dict:
        # Evidence and window kilograms come from one read of the release cells per flag.
        cache = self.context.setdefault("flag_release", {})
        if obj.pk not in cache:
            cache[obj.pk] = selectors.flag_release_for(self.context["user"], obj)
        return cache[obj.pk]

    def get_seized_kg_before(self, obj) -> float | None:
        return self._release(obj)["seized"]["before"]

    def get_seized_kg_after(self, obj) -> float | None:
        return self._release(obj)["seized"]["after"]

    def get_evidence(self, obj) -> list:
        return self._release(obj)["evidence"]

    def get_growth(self, obj) -> list:
        return self._release(obj)["growth"]


class FlagListApi(GenericAPIView):
    permission_classes = [IsPublicSectorMember]
    pagination_class = Pagination
    serializer_class = FlagOutput

    def get_queryset(self):
        qs = access.flags_visible_to(self.request.user)
        params = self.request.query_params
        if params.get("status"):
            qs = qs.filter(status=params["status"])
        if params.get("confidence"):
            qs = qs.filter(confidence=params["confidence"])
        if params.get("origin"):
            qs = qs.filter(origin_id=params["origin"].upper())
        if params.get("port"):
            port = params["port"].upper()
            qs = qs.filter(from_port_id=port) | qs.filter(to_port_id=port)
        return qs.order_by("-detected_at", "-id")

    @extend_schema(
        parameters=[
            OpenApiParameter("status", str, enum=FlagStatus.values),
            OpenApiParameter("confidence", str),
            OpenApiParameter("origin", str),
            OpenApiParameter("port", str),
        ],
        responses=FlagOutput(many=True),
    )
    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(FlagOutput(page, many=True, context={"user": request.user}).data)


class FlagDetailApi(APIView):
    permission_classes = [IsPublicSectorMember]

    @extend_schema(responses=FlagOutput)
    def get(self, request, flag_id):
        flag = access.get_flag_for(request.user, flag_id)
        return Response(FlagOutput(flag, context={"user": request.user}).data)


class FlagStatusApi(APIView):
    permission_classes = [IsPublicSectorMember]

    @extend_schema_serializer(component_name="FlagStatusChange")
    class InputSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=[FlagStatus.CONFIRMED, FlagStatus.DISMISSED])
        reason = serializers.CharField(max_length=2000)

    @extend_schema(request=InputSerializer, responses=FlagOutput)
    def post(self, request, flag_id):
        flag = access.get_flag_for(request.user, flag_id)  # 404 first: existence does not leak
        if not reader_for(request.user).is_liaison:
            raise PermissionDenied(_("Only a liaison confirms or dismisses a flag."))
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        flag = flag_set_status(user=request.user, flag=flag, **body.validated_data)
        return Response(FlagOutput(flag, context={"user": request.user}).data)
