"""Deliveries inbox and subscription routes, mounted under /api/v1/."""

from django.urls import path

from . import deliveries

urlpatterns = [
    path("deliveries/", deliveries.DeliveryListApi.as_view(), name="api-deliveries"),
    path("deliveries/<str:delivery_id>/ack/", deliveries.DeliveryAckApi.as_view(), name="api-delivery-ack"),
    path("subscriptions/", deliveries.SubscriptionListCreateApi.as_view(), name="api-subscriptions"),
    path("subscriptions/<str:subscription_id>/", deliveries.SubscriptionDetailApi.as_view(), name="api-subscription"),
]
