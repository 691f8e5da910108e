"""Scan ingestion, nodes, deliveries and subscriptions, mounted under /api/v1/."""

from django.urls import path

from .api import deliveries, scans

urlpatterns = [
    path("scans/", scans.ScanListCreateApi.as_view(), name="api-scans"),
    path("scans/batch/", scans.ScanBatchApi.as_view(), name="api-scans-batch"),
    path("scans/<str:scan_id>/", scans.ScanDetailApi.as_view(), name="api-scan"),
    path("scans/<str:scan_id>/outcome/", scans.ScanOutcomeApi.as_view(), name="api-scan-outcome"),
    path("nodes/me/", scans.NodeMeApi.as_view(), name="api-node-me"),
    path("nodes/me/keys/", scans.NodeKeysApi.as_view(), name="api-node-keys"),
    path("deliveries/", deliveries.DeliveryListApi.as_view(), name="api-deliveries"),
    path("deliveries/<str:delivery_id>/ack/", deliveries.DeliveryAckApi.as_view(), name="api-delivery-ack"),
    path("subscriptions/", deliveries.SubscriptionListCreateApi.as_view(), name="api-subscriptions"),
    path("subscriptions/<str:subscription_id>/", deliveries.SubscriptionDetailApi.as_view(), name="api-subscription"),
]
