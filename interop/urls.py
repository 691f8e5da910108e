"""TAXII 2.1 under /taxii2/ and the MISP feed under /feeds/misp/ (SPEC section 10.3)."""

from django.urls import path  # noqa: F401 - the routes are added by the TAXII and MISP modules

urlpatterns: list = []
