"""Alerts and best practices API (SPEC section 3): thin views over the access layer, selectors and services."""

import json

import django_filters
from django import forms
from django.core.paginator import Paginator
from django.db import connection
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

import access
from alliance.api import ApiError, Pagination
from alliance.filters import IsoDateTimeFilter
from ports import signing
from ports.models import Role

from .. import documents, selectors
from ..models import (
    CATEGORY_DEFINITIONS,
    Alert,
    AlertVersion,
    Category,
    DocumentStatus,
    Handling,
    IdentifierKind,
    InformationReliability,
    Practice,
    PracticeVersion,
    Severity,
    SourceReliability,
    Tlp,
)
from ..services import alerts as alert_services
from ..services import practices as practice_services

# A body larger than this is refused before it is parsed: the largest signed
# document (a practice body of 50,000 characters) fits as a JWS well below it.
MAX_REQUEST_BYTES = signing.MAX_JWS_BYTES + 4096

CATEGORY_CHOICES = [(c.value, f"{c.label}: {CATEGORY_DEFINITIONS[c.value]}") for c in Category]

# ---------------------------------------------------------------- serializers (schema and output)


class AudienceSerializer(serializers.Serializer):
    agencies = serializers.ListField(child=serializers.CharField(), help_text="Agency slugs (AMBER, AMBER+STRICT).")
    ports = serializers.ListField(child=serializers.CharField(), help_text="LOCODEs (AMBER).")
    users = serializers.ListField(child=serializers.CharField(), help_text="Member handles (RED).")


class AlertFieldsSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=DocumentStatus.choices)
    port = serializers.CharField(allow_null=True, help_text="LOCODE or null.")
    title = serializers.CharField(max_length=documents.MAX_TITLE)
    body = serializers.CharField(max_length=documents.MAX_ALERT_BODY)
    category = serializers.ChoiceField(choices=CATEGORY_CHOICES, help_text="The fixed vocabulary, defined below.")
    severity = serializers.ChoiceField(choices=Severity.choices)
    tlp = serializers.ChoiceField(choices=Tlp.choices, help_text="TLP 2.0 label as written, e.g. AMBER+STRICT.")
    audience = AudienceSerializer(help_text="Lists the TLP does not use must be empty.")
    containers = serializers.ListField(child=serializers.CharField(), help_text="ISO 6346 container numbers.")
    vessels = serializers.ListField(child=serializers.CharField(), help_text="IMO numbers, 7-digit strings.")
    origin = serializers.CharField(allow_null=True, help_text="LOCODE of the port of loading, or null.")
    valid_until = serializers.CharField(allow_null=True, help_text="RFC 3339 UTC time ending in Z, or null.")
    source_reliability = serializers.ChoiceField(choices=SourceReliability.choices, allow_null=True)
    information_reliability = serializers.ChoiceField(choices=InformationReliability.choices, allow_null=True)
    handling = serializers.ChoiceField(choices=Handling.choices, allow_null=True)


def _optional(serializer: serializers.Serializer, *names: str) -> None:
    for name in names:
        serializer.fields[name].required = False


class AlertCreateInput(AlertFieldsSerializer):
    """The document fields (the portal signs), or `{"jws": ...}` signed with an external agency key.

    On a new version every field is optional: what is not sent carries over from the latest version.
    """

    agency = serializers.CharField(required=False, help_text="The acting agency, for an officer in several.")
    jws = serializers.CharField(required=False, help_text="A compact JWS (typ alert+json) instead of the fields.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _optional(self, "status", "port", "audience", "containers", "vessels", "origin", "valid_until")
        _optional(self, "source_reliability", "information_reliability", "handling")


class SignedOutput(serializers.Serializer):
    id = serializers.UUIDField()
    version = serializers.IntegerField()
    type = serializers.CharField()
    agency = serializers.CharField()
    author = serializers.CharField(help_text="The author's pseudonymous membership handle.")
    created_at = serializers.CharField()
    jws = serializers.CharField(help_text="The compact JWS, byte for byte as signed.")
    signature_status = serializers.ChoiceField(choices=signing.SignatureStatus.CHOICES)
    kid = serializers.CharField()
    url = serializers.CharField(help_text="The object's portal page.")

    document = staticmethod(documents.alert_document)

    def to_representation(self, obj):
        head_id = getattr(obj, "alert_id", None) or getattr(obj, "practice_id", None) or obj.pk
        return {
            **self.document(obj),
            "jws": obj.jws,
            "signature_status": obj.signature_status,
            "kid": obj.key_id,
            "url": self.page_url(head_id),
            **self.more_fields(obj),
        }

    def page_url(self, head_id) -> str:
        return f"/alerts/{head_id}/"

    def more_fields(self, obj) -> dict:
        return {}


class AlertOutput(SignedOutput, AlertFieldsSerializer):
    expired = serializers.BooleanField(help_text="True once valid_until has passed.")

    def more_fields(self, obj) -> dict:
        return {"expired": obj.valid_until is not None and obj.valid_until <= timezone.now()}


class PracticeFieldsSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=DocumentStatus.choices)
    title = serializers.CharField(max_length=documents.MAX_TITLE)
    body = serializers.CharField(max_length=documents.MAX_PRACTICE_BODY, help_text="Markdown.")
    tags = serializers.ListField(child=serializers.CharField(max_length=documents.MAX_TAG))
    tlp = serializers.ChoiceField(choices=Tlp.choices)
    audience = AudienceSerializer()


class PracticeCreateInput(PracticeFieldsSerializer):
    agency = serializers.CharField(required=False, help_text="The acting agency, for an officer in several.")
    jws = serializers.CharField(required=False, help_text="A compact JWS (typ practice+json) instead of the fields.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _optional(self, "status", "tags", "audience")


class PracticeOutput(SignedOutput, PracticeFieldsSerializer):
    document = staticmethod(documents.practice_document)

    def page_url(self, head_id) -> str:
        return f"/practices/{head_id}/"


# ---------------------------------------------------------------- filters


class TlpField(forms.ChoiceField):
    def to_python(self, value):
        # An unencoded "+" in a query string arrives as a space.
        return super().to_python(value).replace(" ", "+")


class TlpFilter(django_filters.ChoiceFilter):
    field_class = TlpField


class UpperCharFilter(django_filters.CharFilter):
    def filter(self, qs, value):
        return super().filter(qs, value.strip().upper() if value else value)


class DocumentFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", help_text="Full-text search in title and body.")
    tlp = TlpFilter(choices=Tlp.choices, help_text="AMBER+STRICT is URL-encoded as AMBER%2BSTRICT.")
    agency = django_filters.CharFilter(field_name="agency__slug", help_text="Author agency slug.")
    since = IsoDateTimeFilter(field_name="created_at", lookup_expr="gte", help_text="RFC 3339.")
    status = django_filters.ChoiceFilter(choices=DocumentStatus.choices)

    def filter_q(self, qs, name, value):
        return selectors.full_text(qs, value)


class AlertFilter(DocumentFilter):
    category = django_filters.ChoiceFilter(choices=CATEGORY_CHOICES)
    severity = django_filters.ChoiceFilter(choices=Severity.choices)
    port = UpperCharFilter(field_name="port_id", help_text="LOCODE")
    origin = UpperCharFilter(field_name="origin_id", help_text="LOCODE")
    container = django_filters.CharFilter(method="filter_container", help_text="ISO 6346 container number.")
    vessel = django_filters.CharFilter(method="filter_vessel", help_text="IMO number.")

    class Meta:
        model = Alert
        fields = [
            "q",
            "tlp",
            "category",
            "severity",
            "agency",
            "port",
            "origin",
            "container",
            "vessel",
            "since",
            "status",
        ]

    def filter_container(self, qs, name, value):
        return selectors.with_identifier(qs, IdentifierKind.CONTAINER, value.replace(" ", "").upper())

    def filter_vessel(self, qs, name, value):
        return selectors.with_identifier(qs, IdentifierKind.VESSEL, value.upper().removeprefix("IMO").strip())


class PracticeFilter(DocumentFilter):
    tag = django_filters.CharFilter(method="filter_tag")

    class Meta:
        model = Practice
        fields = ["q", "tlp", "agency", "tag", "since", "status"]

    def filter_tag(self, qs, name, value):
        return selectors.with_tag(qs, " ".join(value.split()).lower())


# ---------------------------------------------------------------- pagination

# Up to this many matches the feed's `count` is exact; past it, PostgreSQL's
# estimate. An exact count over a million visible rows costs a scan on every
# request; the first page does not.
EXACT_COUNT_UP_TO = 10_000


class FeedPaginator(Paginator):
    estimated = False

    @cached_property
    def count(self) -> int:
        qs = self.object_list.order_by().values("pk")  # the access columns only: an index-only scan
        exact = qs[: EXACT_COUNT_UP_TO + 1].count()  # bounded: stops after the cap
        if exact <= EXACT_COUNT_UP_TO or connection.vendor != "postgresql":
            return exact if exact <= EXACT_COUNT_UP_TO else qs.count()
        sql, params = qs.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
            plan = cursor.fetchone()[0]
        plan = json.loads(plan) if isinstance(plan, str) else plan
        self.estimated = True
        return max(int(plan[0]["Plan"]["Plan Rows"]), EXACT_COUNT_UP_TO + 1)


class FeedPagination(Pagination):
    """The SPEC envelope; `count` is exact up to EXACT_COUNT_UP_TO, an estimate beyond (header X-Count-Estimated)."""

    django_paginator_class = FeedPaginator

    def get_paginated_response(self, data):
        response = super().get_paginated_response(data)
        if self.page.paginator.estimated:
            response["X-Count-Estimated"] = "true"
        return response


# ---------------------------------------------------------------- views


def _body(request) -> dict:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_REQUEST_BYTES:
        raise ApiError(
            "too_large",
            {"non_field_errors": [_("The request body exceeds %(limit)s bytes.") % {"limit": MAX_REQUEST_BYTES}]},
        )
    data = request.data
    if not isinstance(data, dict):
        raise ApiError("invalid", {"non_field_errors": [_("A JSON object is expected.")]})
    return data


def _require_officer(user) -> None:
    if not access.reader_for(user).agencies_with_role(Role.OFFICER):
        raise ApiError("permission_denied", {"non_field_errors": [_("Only officers publish.")]}, 403)


class _Documents:
    """What differs between alerts and practices; the views below are written once."""

    name: str
    typ: str
    output: type[SignedOutput]
    visible = None
    get_for = None
    rows = None
    publish = None
    publish_signed = None
    version_create = None
    version_create_signed = None
    version_model = None


class _AlertDocs(_Documents):
    name = "alert"
    typ = documents.ALERT_TYP
    output = AlertOutput
    visible = staticmethod(access.alerts_visible_to)
    get_for = staticmethod(access.get_alert_for)
    rows = staticmethod(access.alert_rows)
    version_model = AlertVersion

    @staticmethod
    def publish(membership, data):
        return alert_services.alert_publish(membership=membership, data=data)

    @staticmethod
    def publish_signed(user, jws):
        return alert_services.alert_publish_signed(user=user, jws=jws)

    @staticmethod
    def version_create(membership, obj, data):
        return alert_services.alert_version_create(membership=membership, alert=obj, data=data)

    @staticmethod
    def version_create_signed(user, obj, jws):
        return alert_services.alert_version_create_signed(user=user, alert=obj, jws=jws)


class _PracticeDocs(_Documents):
    name = "practice"
    typ = documents.PRACTICE_TYP
    output = PracticeOutput
    visible = staticmethod(access.practices_visible_to)
    get_for = staticmethod(access.get_practice_for)
    rows = staticmethod(access.practice_rows)
    version_model = PracticeVersion

    @staticmethod
    def publish(membership, data):
        return practice_services.practice_publish(membership=membership, data=data)

    @staticmethod
    def publish_signed(user, jws):
        return practice_services.practice_publish_signed(user=user, jws=jws)

    @staticmethod
    def version_create(membership, obj, data):
        return practice_services.practice_version_create(membership=membership, practice=obj, data=data)

    @staticmethod
    def version_create_signed(user, obj, jws):
        return practice_services.practice_version_create_signed(user=user, practice=obj, jws=jws)


class _ListCreate(GenericAPIView):
    docs: type[_Documents]
    pagination_class = FeedPagination

    def get_queryset(self):
        return self.docs.visible(self.request.user).order_by("-created_at", "-id")

    def get(self, request):
        qs = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(self.docs.rows(qs))
        # Verify the page returned (bounded work); invalid objects are left out for other readers.
        objects = access.verified_for(request.user, page, typ=self.docs.typ)
        selectors.audit_reads(request.user, objects, object_type=self.docs.name, via="list")
        return self.get_paginated_response(self.docs.output(objects, many=True).data)

    def post(self, request):
        _require_officer(request.user)
        data = _body(request)
        if "jws" in data:
            if set(data) != {"jws"}:
                raise ApiError("invalid", {"jws": [_('Send the signed document alone: {"jws": ...}.')]})
            obj = self.docs.publish_signed(request.user, data["jws"])
        else:
            membership = access.acting_officer_membership(request.user, data.get("agency"))
            obj = self.docs.publish(membership, data)
        obj = self.docs.get_for(request.user, obj.pk)
        return Response(self.docs.output(obj).data, status=status.HTTP_201_CREATED)


class _Detail(GenericAPIView):
    docs: type[_Documents]
    pagination_class = None

    def get(self, request, object_id):
        obj = self.docs.get_for(request.user, object_id)
        selectors.audit_reads(request.user, [obj], object_type=self.docs.name, via="detail")
        return Response(self.docs.output(obj).data)


class _Versions(GenericAPIView):
    docs: type[_Documents]

    def get(self, request, object_id):
        head = self.docs.get_for(request.user, object_id)
        versions = (
            self.docs.version_model.objects.filter(**{self.docs.name: head})
            .select_related("agency", "key")
            .order_by("-version")
        )
        page = self.paginate_queryset(versions)
        objects = access.verified_for(request.user, page, typ=self.docs.typ)
        selectors.audit_reads(request.user, objects, object_type=self.docs.name, via="versions")
        return self.get_paginated_response(self.docs.output(objects, many=True).data)

    def post(self, request, object_id):
        # Access before anything else: a 404, not a 403 or 400, for an object the caller cannot read.
        head = self.docs.get_for(request.user, object_id)
        data = _body(request)
        if "jws" in data:
            if set(data) != {"jws"}:
                raise ApiError("invalid", {"jws": [_('Send the signed document alone: {"jws": ...}.')]})
            access.editor_membership(request.user, head)
            obj = self.docs.version_create_signed(request.user, head, data["jws"])
        else:
            membership = access.editor_membership(request.user, head)
            obj = self.docs.version_create(membership, head, data)
        obj = self.docs.get_for(request.user, obj.pk)
        return Response(self.docs.output(obj).data, status=status.HTTP_201_CREATED)


_ID = OpenApiParameter("object_id", OpenApiTypes.UUID, OpenApiParameter.PATH)


class AlertListCreateApi(_ListCreate):
    docs = _AlertDocs
    serializer_class = AlertOutput
    filterset_class = AlertFilter

    @extend_schema(responses=AlertOutput(many=True))
    def get(self, request):
        return super().get(request)

    @extend_schema(request=AlertCreateInput, responses={201: AlertOutput})
    def post(self, request):
        return super().post(request)


class AlertDetailApi(_Detail):
    docs = _AlertDocs
    serializer_class = AlertOutput

    @extend_schema(parameters=[_ID], responses=AlertOutput)
    def get(self, request, object_id):
        return super().get(request, object_id)


class AlertVersionsApi(_Versions):
    docs = _AlertDocs
    queryset = AlertVersion.objects.none()  # for the schema; reads go through the access layer
    serializer_class = AlertOutput

    @extend_schema(parameters=[_ID], responses=AlertOutput(many=True))
    def get(self, request, object_id):
        return super().get(request, object_id)

    @extend_schema(parameters=[_ID], request=AlertCreateInput, responses={201: AlertOutput})
    def post(self, request, object_id):
        return super().post(request, object_id)


class PracticeListCreateApi(_ListCreate):
    docs = _PracticeDocs
    serializer_class = PracticeOutput
    filterset_class = PracticeFilter

    @extend_schema(responses=PracticeOutput(many=True))
    def get(self, request):
        return super().get(request)

    @extend_schema(request=PracticeCreateInput, responses={201: PracticeOutput})
    def post(self, request):
        return super().post(request)


class PracticeDetailApi(_Detail):
    docs = _PracticeDocs
    serializer_class = PracticeOutput

    @extend_schema(parameters=[_ID], responses=PracticeOutput)
    def get(self, request, object_id):
        return super().get(request, object_id)


class PracticeVersionsApi(_Versions):
    docs = _PracticeDocs
    queryset = PracticeVersion.objects.none()  # for the schema; reads go through the access layer
    serializer_class = PracticeOutput

    @extend_schema(parameters=[_ID], responses=PracticeOutput(many=True))
    def get(self, request, object_id):
        return super().get(request, object_id)

    @extend_schema(parameters=[_ID], request=PracticeCreateInput, responses={201: PracticeOutput})
    def post(self, request, object_id):
        return super().post(request, object_id)
