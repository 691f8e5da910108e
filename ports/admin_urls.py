"""Agency administration pages, mounted at /agency/."""

from django.urls import path

from . import admin_views as views

urlpatterns = [
    path("", views.agency_admin, name="agency_admin"),
    path("<slug:slug>/", views.agency_overview, name="agency_overview"),
    path("<slug:slug>/members/", views.agency_members, name="agency_members"),
    path("<slug:slug>/members/invite/", views.agency_member_invite, name="agency_member_invite"),
    path("<slug:slug>/members/<int:membership_id>/role/", views.agency_member_role, name="agency_member_role"),
    path(
        "<slug:slug>/members/<int:membership_id>/offboard/",
        views.agency_member_offboard,
        name="agency_member_offboard",
    ),
    path("<slug:slug>/tokens/<int:token_id>/revoke/", views.agency_token_revoke, name="agency_token_revoke"),
    path("<slug:slug>/keys/", views.agency_keys, name="agency_keys"),
    path("<slug:slug>/keys/rotate/", views.agency_key_rotate, name="agency_key_rotate"),
    path("<slug:slug>/keys/<slug:kid>/revoke/", views.agency_key_revoke, name="agency_key_revoke"),
    path("<slug:slug>/nodes/", views.agency_nodes, name="agency_nodes"),
    path("<slug:slug>/nodes/<slug:node_id>/key/", views.agency_node_key, name="agency_node_key"),
    path("<slug:slug>/nodes/<slug:node_id>/token/", views.agency_node_token, name="agency_node_token"),
    path("<slug:slug>/nodes/<slug:node_id>/deactivate/", views.agency_node_deactivate, name="agency_node_deactivate"),
]
