from django.urls import path

from . import api as correlations

urlpatterns = [
    path("correlations/", correlations.CorrelationListApi.as_view(), name="api-correlations"),
    path("correlations/hits/", correlations.HitListApi.as_view(), name="api-correlation-hits"),
    path("correlations/hits/<int:pk>/share/", correlations.HitShareApi.as_view(), name="api-correlation-hit-share"),
    path(
        "correlations/hits/<int:pk>/dismiss/", correlations.HitDismissApi.as_view(), name="api-correlation-hit-dismiss"
    ),
]
