"""Sharing portal pages and public endpoints (JWKS)."""

urlpatterns: list = []
