"""Trends API routes, mounted under /api/v1/."""

from django.urls import path

from . import api

urlpatterns = [
    path("trends/", api.TrendsApi.as_view(), name="api-trends"),
    path("statistics/", api.StatisticsImportApi.as_view(), name="api-statistics"),
    path("measures/", api.MeasuresApi.as_view(), name="api-measures"),
    path("displacement/", api.FlagListApi.as_view(), name="api-displacement-list"),
    path("displacement/<uuid:flag_id>/", api.FlagDetailApi.as_view(), name="api-displacement"),
    path("displacement/<uuid:flag_id>/status/", api.FlagStatusApi.as_view(), name="api-displacement-status"),
]
