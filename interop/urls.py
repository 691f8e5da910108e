"""TAXII 2.1 under /taxii2/ and the MISP feed under /feeds/misp/ (SPEC section 10.3)."""

from django.urls import path

from . import misp_views, taxii

urlpatterns: list = []

# ---- TAXII 2.1 (interop/taxii.py)
_COLLECTION = "taxii2/alliance/collections/<str:collection_id>/"
urlpatterns += [
    path("taxii2/", taxii.DiscoveryView.as_view(), name="taxii-discovery"),
    path("taxii2/alliance/", taxii.ApiRootView.as_view(), name="taxii-api-root"),
    path(
        "taxii2/alliance/extension-definition/",
        taxii.ExtensionDefinitionView.as_view(),
        name="taxii-extension-definition",
    ),
    path("taxii2/alliance/collections/", taxii.CollectionsView.as_view(), name="taxii-collections"),
    path(_COLLECTION, taxii.CollectionView.as_view(), name="taxii-collection"),
    path(_COLLECTION + "objects/", taxii.ObjectsView.as_view(), name="taxii-objects"),
    path(_COLLECTION + "manifest/", taxii.ManifestView.as_view(), name="taxii-manifest"),
    path(_COLLECTION + "objects/<str:object_id>/", taxii.ObjectView.as_view(), name="taxii-object"),
    path(_COLLECTION + "objects/<str:object_id>/versions/", taxii.VersionsView.as_view(), name="taxii-versions"),
]
# ---- end TAXII

# ---------------------------------------------------------------- MISP feed (SPEC section 10.3)
urlpatterns += [
    path("feeds/misp/manifest.json", misp_views.MispManifestView.as_view(), name="misp-manifest"),
    path("feeds/misp/hashes.csv", misp_views.MispHashesView.as_view(), name="misp-hashes"),
    path("feeds/misp/<uuid:event_uuid>.json", misp_views.MispEventView.as_view(), name="misp-event"),
]
