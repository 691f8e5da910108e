"""Sharing portal pages and public endpoints (JWKS)."""

from django.urls import path

from .api.keys import JwksView

urlpatterns = [
    path(".well-known/jwks.json", JwksView.as_view(), name="jwks"),
]
