"""X-Forwarded-* are believed from the TLS proxy alone (issue 17): a client reaching gunicorn directly cannot
claim HTTPS (and so skip the redirect or get secure cookies on plain HTTP) nor another address."""

import pytest
from django.http import HttpResponse
from django.test import RequestFactory, override_settings

from alliance.middleware import TrustedProxyMiddleware

PRODUCTION_TLS = {
    "SECURE_PROXY_SSL_HEADER": ("HTTP_X_FORWARDED_PROTO", "https"),
    "SECURE_SSL_REDIRECT": True,
    "TRUSTED_PROXIES": ["172.30.0.2"],
}


@pytest.mark.django_db
def test_forwarded_proto_from_a_stranger_is_ignored(client):
    with override_settings(**PRODUCTION_TLS):
        response = client.get("/login/", REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_PROTO="https")
    assert response.status_code == 301
    assert response["Location"].startswith("https://")


@pytest.mark.django_db
def test_forwarded_proto_from_the_proxy_is_believed(client):
    with override_settings(**PRODUCTION_TLS):
        response = client.get("/login/", REMOTE_ADDR="172.30.0.2", HTTP_X_FORWARDED_PROTO="https")
    assert response.status_code == 200


def test_a_forwarded_address_from_a_stranger_does_not_reach_the_log_or_the_lockout():
    seen = {}

    def view(request):
        seen.update(request.META)
        return HttpResponse()

    request = RequestFactory().get("/", REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR="10.0.0.1")
    with override_settings(TRUSTED_PROXIES=["172.30.0.2"]):
        TrustedProxyMiddleware(view)(request)
    assert "HTTP_X_FORWARDED_FOR" not in seen
    request = RequestFactory().get("/", REMOTE_ADDR="172.30.0.2", HTTP_X_FORWARDED_FOR="203.0.113.9")
    with override_settings(TRUSTED_PROXIES=["172.30.0.2"]):
        TrustedProxyMiddleware(view)(request)
    assert seen["HTTP_X_FORWARDED_FOR"] == "203.0.113.9"
