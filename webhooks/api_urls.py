"""Webhook API routes, mounted under /api/v1/webhooks/."""

from django.urls import path

from . import api

urlpatterns = [
    path("", api.WebhookListCreateApi.as_view(), name="api-webhooks"),
    path("dead-letters/", api.DeadLetterListApi.as_view(), name="api-webhook-dead-letters"),
    path("dead-letters/<uuid:attempt_id>/replay/", api.DeadLetterReplayApi.as_view(), name="api-webhook-replay"),
    path("<int:endpoint_id>/", api.WebhookDeleteApi.as_view(), name="api-webhook"),
]
