"""Scan browser, deliveries inbox and subscription pages."""

from django.urls import path

from . import inbox_views, views

urlpatterns = [
    path("scans/", views.scan_list, name="scan_list"),
    path("scans/<uuid:scan_id>/", views.scan_detail, name="scan_detail"),
    path("inbox/", inbox_views.delivery_inbox, name="delivery_inbox"),
    path("inbox/<uuid:delivery_id>/ack/", inbox_views.delivery_ack, name="delivery_ack"),
    path("agency/subscriptions/", inbox_views.subscription_list, name="subscription_list"),
]
