from django.urls import path

from . import scans

urlpatterns = [
    path("scans/", scans.ScanListCreateApi.as_view(), name="api-scans"),
    path("scans/batch/", scans.ScanBatchApi.as_view(), name="api-scans-batch"),
    path("scans/<str:scan_id>/", scans.ScanDetailApi.as_view(), name="api-scan"),
    path("scans/<str:scan_id>/outcome/", scans.ScanOutcomeApi.as_view(), name="api-scan-outcome"),
    path("nodes/me/", scans.NodeMeApi.as_view(), name="api-node-me"),
    path("nodes/me/keys/", scans.NodeKeysApi.as_view(), name="api-node-keys"),
]
