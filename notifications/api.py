"""`GET /api/v1/notifications/` (the caller's own notices) and `POST /api/v1/notifications/{id}/read/`."""

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

import access
from alliance.api import ApiError
from ports.permissions import IsMember

from . import services
from .models import Notification


class NotificationListApi(ListAPIView):
    permission_classes = [IsMember]

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        kind = serializers.CharField()
        subject = serializers.CharField(source="text", help_text="In the language of the request (Accept-Language).")
        url = serializers.CharField()
        agency = serializers.CharField(source="membership.agency.slug")
        created_at = serializers.DateTimeField()
        read_at = serializers.DateTimeField(allow_null=True)

    serializer_class = OutputSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return Notification.objects.none()
        qs = access.notifications_for(self.request.user)
        unread = self.request.query_params.get("unread")
        if unread in ("true", "1"):
            qs = qs.filter(read_at__isnull=True)
        return qs


class NotificationReadApi(APIView):
    permission_classes = [IsMember]

    @extend_schema(request=None, responses=inline_serializer("NotificationRead", {"read": serializers.IntegerField()}))
    def post(self, request, pk: int):
        if not access.notifications_for(request.user).filter(id=pk).exists():
            raise ApiError("not_found", {"detail": [_("No such notification.")]}, 404)
        return Response({"read": services.mark_read(user=request.user, notification_id=pk)})
