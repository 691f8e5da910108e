"""Alert and best-practice portal pages."""

from django.urls import path

from . import report_views
from . import views as alert_views

urlpatterns = [
    path("alerts/", alert_views.alert_feed, name="alert_feed"),
    path("alerts/new/", alert_views.alert_create, name="alert_create"),
    path("alerts/<uuid:alert_id>/", alert_views.alert_detail, name="alert_detail"),
    path("alerts/<uuid:alert_id>/edit/", alert_views.alert_edit, name="alert_edit"),
    path("alerts/<uuid:alert_id>/withdraw/", alert_views.alert_withdraw, name="alert_withdraw"),
    # <str:...>, parsed in the view: a non-number is a 404 like any missing version.
    path("alerts/<uuid:alert_id>/versions/<str:version>/", alert_views.alert_version, name="alert_version"),
    path("alerts/<uuid:alert_id>/feedback/", alert_views.alert_feedback, name="alert_feedback"),
    path("practices/", alert_views.practice_list, name="practice_list"),
    path("practices/new/", alert_views.practice_create, name="practice_create"),
    path("practices/<uuid:practice_id>/", alert_views.practice_detail, name="practice_detail"),
    path("practices/<uuid:practice_id>/edit/", alert_views.practice_edit, name="practice_edit"),
    path("practices/<uuid:practice_id>/withdraw/", alert_views.practice_withdraw, name="practice_withdraw"),
    path("agency/<slug:slug>/reports/readers/", report_views.agency_report_readers, name="agency_report_readers"),
    path("agency/<slug:slug>/reports/reads/", report_views.agency_report_reads, name="agency_report_reads"),
]
