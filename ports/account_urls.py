"""The account holder's own pages, mounted at /account/."""

from django.urls import path

from . import account_views as views

urlpatterns = [
    path("invitations/", views.invitations, name="account_invitations"),
    path(
        "invitations/<int:invitation_id>/accept/",
        views.invitation_answer,
        {"answer": "accept"},
        name="account_invitation_accept",
    ),
    path(
        "invitations/<int:invitation_id>/decline/",
        views.invitation_answer,
        {"answer": "decline"},
        name="account_invitation_decline",
    ),
]
