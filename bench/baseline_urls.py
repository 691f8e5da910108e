"""The project's URLs plus a plain DRF ModelViewSet create of the same scan fields, without signatures."""

import hashlib
import uuid

from django.urls import include, path
from django.utils import timezone
from rest_framework import serializers, viewsets
from rest_framework.permissions import AllowAny

from ports.models import ScannerNode, SigningKey
from scans.models import Scan


class BaselineScanSerializer(serializers.ModelSerializer):
    class Meta:
        model = Scan
        fields = [
            "scan_id",
            "port",
            "scanned_at",
            "container",
            "vessel_imo",
            "voyage",
            "origin",
            "route",
            "next_port",
            "onward_route",
            "mode",
            "verdict",
            "anomalies",
            "score",
            "image_sha256",
            "seized_kg",
        ]


class BaselineScanViewSet(viewsets.ModelViewSet):
    serializer_class = BaselineScanSerializer
    permission_classes = [AllowAny]
    authentication_classes = []
    queryset = Scan.objects.none()

    def perform_create(self, serializer):
        node = ScannerNode.objects.get(id="bench-baseline")
        key = SigningKey.objects.filter(node=node).first()
        serializer.save(
            id=uuid.uuid4(),
            node=node,
            key=key,
            jws="",
            received_at=timezone.now(),
            payload_sha256=hashlib.sha256(uuid.uuid4().bytes).hexdigest(),
        )


urlpatterns = [
    path("bench/baseline/", BaselineScanViewSet.as_view({"post": "create"})),
    path("", include("alliance.urls")),
]
