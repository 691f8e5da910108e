"""The account holder's own pages, mounted at /account/."""

from django.urls import path

from . import account_views as views

urlpatterns = [
    path("", views.account, name="account"),
    path("preferences/", views.preferences, name="account_preferences"),
    path("password/", views.password, name="account_password"),
    path("2fa/remove/", views.totp_remove, name="account_totp_remove"),
    path("tokens/", views.token_create, name="account_token_create"),
    path("tokens/<uuid:public_id>/revoke/", views.token_revoke, name="account_token_revoke"),
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
