"""Alert, practice and feedback routes, mounted under /api/v1/."""

from django.urls import path

from .api import alerts, feedback

urlpatterns = [
    path("alerts/", alerts.AlertListCreateApi.as_view(), name="api-alerts"),
    path("alerts/<str:object_id>/", alerts.AlertDetailApi.as_view(), name="api-alert"),
    path("alerts/<str:object_id>/versions/", alerts.AlertVersionsApi.as_view(), name="api-alert-versions"),
    path("alerts/<str:object_id>/feedback/", feedback.AlertFeedbackApi.as_view(), name="api-alert-feedback"),
    path("practices/", alerts.PracticeListCreateApi.as_view(), name="api-practices"),
    path("practices/<str:object_id>/", alerts.PracticeDetailApi.as_view(), name="api-practice"),
    path("practices/<str:object_id>/versions/", alerts.PracticeVersionsApi.as_view(), name="api-practice-versions"),
]
