"""The shapes of `GET /api/v1/federation/peers/` for the OpenAPI document (they describe; selectors decide)."""

from rest_framework import serializers


class LagSerializer(serializers.Serializer):
    objects = serializers.IntegerField(help_text="Entries the peer's feed held above our cursor at the last pull.")
    seconds = serializers.FloatField(help_text="Age of the oldest object not yet applied, on the peer's clock.")


class LastErrorSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    message = serializers.CharField()


class ReasonsSerializer(serializers.Serializer):
    left_out = serializers.DictField(
        child=serializers.IntegerField(), help_text="Objects we did not offer the peer, by reason code."
    )
    refused = serializers.DictField(
        child=serializers.IntegerField(), help_text="Objects we refused from the peer, by reason code."
    )


class PeerSerializer(serializers.Serializer):
    peer = serializers.CharField(help_text="The peer's INSTANCE_ID.")
    url = serializers.URLField()
    key_thumbprint = serializers.CharField(help_text="The pinned portal key (RFC 7638 thumbprint).")
    cursor = serializers.CharField(help_text="Our `next` in the peer's federation collection.")
    lag = LagSerializer()
    applied = serializers.IntegerField()
    last_success = serializers.DateTimeField(allow_null=True)
    last_error = LastErrorSerializer(allow_null=True)
    reasons = ReasonsSerializer()
    reading = serializers.BooleanField(help_text="Whether we hold a token to read the peer.")


class PeersSerializer(serializers.Serializer):
    instance = serializers.CharField()
    url = serializers.URLField()
    peers = PeerSerializer(many=True)
