"""Trends portal pages: the dashboard, a displacement flag, and the CSV export of what the dashboard shows."""

from django.urls import path

from . import views

urlpatterns = [
    path("trends/", views.dashboard, name="trends"),
    path("trends/export.csv", views.export_csv, name="trends_export"),
    path("trends/flags/<uuid:flag_id>/", views.flag_detail, name="trends_flag"),
]
