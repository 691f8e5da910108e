from django.urls import path

from . import scan_views

urlpatterns = [
    path("scans/", scan_views.scan_list, name="scan_list"),
    path("scans/<uuid:scan_id>/", scan_views.scan_detail, name="scan_detail"),
]
