"""Sharing portal pages and public endpoints (JWKS)."""

from django.urls import include, path

from .api.keys import JwksView

urlpatterns = [
    path(".well-known/jwks.json", JwksView.as_view(), name="jwks"),
    path("", include("sharing.scan_urls_portal")),
    path("", include("sharing.alert_urls")),
    path("", include("sharing.correlation_urls")),
]
