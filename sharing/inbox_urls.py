"""Deliveries inbox and subscription pages."""

from django.urls import path

from . import inbox_views

urlpatterns = [
    path("inbox/", inbox_views.delivery_inbox, name="delivery_inbox"),
    path("inbox/<uuid:delivery_id>/ack/", inbox_views.delivery_ack, name="delivery_ack"),
    path("agency/subscriptions/", inbox_views.subscription_list, name="subscription_list"),
]
