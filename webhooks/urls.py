"""Webhook administration pages (agency admins, second-factor session)."""

from django.urls import path

from . import views

urlpatterns = [
    path("agency/webhooks/", views.webhook_list, name="webhook_list"),
    path("agency/webhooks/<int:endpoint_id>/delete/", views.webhook_delete, name="webhook_delete"),
    path("agency/webhooks/dead-letters/<uuid:attempt_id>/replay/", views.webhook_replay, name="webhook_replay"),
]
