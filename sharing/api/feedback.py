"""Feedback on alerts API (SPEC section 3): `GET/POST /api/v1/alerts/{id}/feedback/`."""

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

import access
from alliance.api import ApiError
from ports import signing
from ports.permissions import IsMember

from ..models import Feedback, FeedbackOutcome
from ..services import feedback as feedback_services


class FeedbackInput(serializers.Serializer):
    """For the schema; the service validates (after the access check)."""

    outcome = serializers.ChoiceField(choices=FeedbackOutcome.choices)
    seized_kg = serializers.FloatField(required=False, allow_null=True, min_value=0, help_text="With 'seized' only.")
    container = serializers.CharField(required=False, allow_blank=True, help_text="ISO 6346 container number.")
    note = serializers.CharField(required=False, allow_blank=True, max_length=feedback_services.MAX_NOTE)
    agency = serializers.CharField(required=False, help_text="The reporting agency, for a member of several.")


class FeedbackOutput(serializers.Serializer):
    id = serializers.IntegerField()
    alert = serializers.UUIDField()
    alert_version = serializers.IntegerField(help_text="The alert version the reporter acted on.")
    agency = serializers.CharField(help_text="The reporting agency's slug.")
    author = serializers.CharField(help_text="The reporter's pseudonymous membership handle.")
    outcome = serializers.ChoiceField(choices=FeedbackOutcome.choices)
    seized_kg = serializers.FloatField(allow_null=True)
    container = serializers.CharField(allow_null=True)
    note = serializers.CharField(allow_null=True)
    created_at = serializers.CharField()
    document_id = serializers.UUIDField(allow_null=True, help_text="The signed document's `id`.")
    jws = serializers.CharField(allow_null=True, help_text="Compact JWS made with the reporting agency's key.")
    kid = serializers.CharField(allow_null=True)
    signature_status = serializers.CharField(help_text="`verified`, ..., or `unsigned` (recorded before signing).")

    def to_representation(self, obj: Feedback) -> dict:
        return {
            "id": obj.id,
            "alert": str(obj.alert_id),
            "alert_version": obj.alert_version,
            "agency": obj.agency.slug,
            "author": obj.handle,
            "outcome": obj.outcome,
            "seized_kg": obj.seized_kg,
            "container": obj.container or None,
            "note": obj.note or None,
            "created_at": signing.rfc3339(obj.created_at),
            "document_id": str(obj.uuid) if obj.uuid else None,
            "jws": obj.jws or None,
            "kid": obj.key_id,
            "signature_status": access.feedback_signature_status_of(obj),
        }


_ID = OpenApiParameter("object_id", OpenApiTypes.UUID, OpenApiParameter.PATH)


class AlertFeedbackApi(GenericAPIView):
    """Feedback the caller may read (GET: any member, e.g. a private author agency, through the feedback
    audience) or report (POST: public-sector readers only)."""

    permission_classes = [IsMember]
    serializer_class = FeedbackOutput
    queryset = Feedback.objects.none()  # for the schema; reads go through the access layer

    @extend_schema(parameters=[_ID], responses=FeedbackOutput(many=True))
    def get(self, request, object_id):
        alert = access.get_alert_for(request.user, object_id)
        qs = access.feedback_visible_to(request.user, alert).order_by("-created_at", "-id")
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(FeedbackOutput(page, many=True).data)

    @extend_schema(parameters=[_ID], request=FeedbackInput, responses={201: FeedbackOutput})
    def post(self, request, object_id):
        # Access before anything else: a 404, not a 400, for an alert the caller cannot read.
        alert = access.get_alert_for(request.user, object_id)
        data = request.data
        if not isinstance(data, dict):
            raise ApiError("invalid", {"non_field_errors": [_("A JSON object is expected.")]})
        agency = data.get("agency")
        membership = access.feedback_membership(request.user, alert, agency if isinstance(agency, str) else None)
        feedback = feedback_services.feedback_submit(membership=membership, alert=alert, data=data)
        return Response(FeedbackOutput(feedback).data, status=status.HTTP_201_CREATED)
