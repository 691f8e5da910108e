"""TAXII 2.1 under /taxii2/ and the MISP feed under /feeds/misp/ (SPEC section 10.3)."""

from django.urls import path

from . import misp_views

urlpatterns: list = []

# ---------------------------------------------------------------- MISP feed (SPEC section 10.3)
urlpatterns += [
    path("feeds/misp/manifest.json", misp_views.MispManifestView.as_view(), name="misp-manifest"),
    path("feeds/misp/hashes.csv", misp_views.MispHashesView.as_view(), name="misp-hashes"),
    path("feeds/misp/<uuid:event_uuid>.json", misp_views.MispEventView.as_view(), name="misp-event"),
]
