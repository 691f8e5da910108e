"""How a scan, its outcome and the reader's delivery are shown: by the API, and in webhook bodies (the same bytes).

Shared here (not in `scans.api`) because webhooks sign exactly what the API shows.
"""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .models import Mode, Verdict
from .services import outcomes as outcome_services


class OutcomeOutput(serializers.Serializer):
    id = serializers.UUIDField()
    type = serializers.SerializerMethodField()
    scan = serializers.UUIDField(source="scan_id")
    agency = serializers.CharField(source="agency.slug")
    author = serializers.CharField()
    result = serializers.CharField()
    seized_kg = serializers.FloatField(allow_null=True)
    substance = serializers.CharField(allow_null=True)
    note = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    jws = serializers.CharField()
    kid = serializers.CharField(source="key_id")
    signature_status = serializers.SerializerMethodField()

    def get_type(self, obj) -> str:
        return "outcome"

    def get_signature_status(self, obj) -> str:
        return outcome_services.outcome_signature_status(obj)


class DeliveryStateOutput(serializers.Serializer):
    id = serializers.UUIDField()
    agency = serializers.CharField(source="agency.slug")
    reason = serializers.CharField()
    created_at = serializers.DateTimeField()
    acknowledged_at = serializers.DateTimeField(allow_null=True)


class ScanOutput(serializers.Serializer):
    id = serializers.UUIDField()
    scan_id = serializers.CharField()
    node = serializers.CharField(source="node_id")
    port = serializers.CharField(source="port_id")
    scanned_at = serializers.DateTimeField()
    container = serializers.CharField()
    vessel_imo = serializers.CharField(allow_null=True)
    voyage = serializers.CharField(allow_null=True)
    origin = serializers.CharField(source="origin_id")
    route = serializers.ListField(child=serializers.CharField())
    next_port = serializers.CharField(source="next_port_id", allow_null=True)
    onward_route = serializers.ListField(child=serializers.CharField())
    mode = serializers.ChoiceField(choices=Mode.choices)
    verdict = serializers.ChoiceField(choices=Verdict.choices)
    anomalies = serializers.ListField(child=serializers.CharField())
    score = serializers.FloatField(allow_null=True)
    image_sha256 = serializers.CharField(allow_null=True)
    seized_kg = serializers.FloatField(allow_null=True)
    received_at = serializers.DateTimeField()
    jws = serializers.CharField()
    kid = serializers.CharField(source="key_id")
    signature_status = serializers.CharField()
    outcome = serializers.SerializerMethodField()
    delivery = serializers.SerializerMethodField(help_text="The reader's own delivery of this scan, or null.")
    url = serializers.CharField(source="get_absolute_url")

    def to_representation(self, instance):
        data = super().to_representation(instance)
        for name in ("route", "onward_route", "anomalies"):
            data[name] = data[name] or []
        return data

    @extend_schema_field(OutcomeOutput(allow_null=True))
    def get_outcome(self, obj):
        outcome = getattr(obj, "outcome", None)  # a missing reverse one-to-one raises an AttributeError
        return OutcomeOutput(outcome).data if outcome is not None else None

    @extend_schema_field(DeliveryStateOutput(allow_null=True))
    def get_delivery(self, obj):
        delivery = self.context.get("deliveries", {}).get(obj.pk)
        return DeliveryStateOutput(delivery).data if delivery is not None else None
