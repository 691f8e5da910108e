"""Sharing API routes, mounted under /api/v1/."""

from django.urls import include, path

urlpatterns = [
    path("", include("sharing.api.alerts_urls")),
    path("", include("sharing.api.scans_urls")),
    path("", include("sharing.api.deliveries_urls")),
    path("", include("sharing.api.correlations_urls")),
]
