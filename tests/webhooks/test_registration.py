"""Registering webhook endpoints: https to public addresses only, by public-sector agency admins."""

import socket

import pytest

from ports.models import AuditEntry
from webhooks.models import Endpoint

PUBLIC_ADDRESS = "93.184.215.14"


def _resolves_to(monkeypatch, mapping: dict[str, list[str]]):
    """Stand-in DNS: host -> addresses (anything else does not resolve)."""

    def fake(host, port, *args, **kwargs):
        if host not in mapping:
            raise socket.gaierror("Name or service not known")
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in mapping[host]
        ]

    monkeypatch.setattr(socket, "getaddrinfo", fake)


def _register(client, url: str, **extra):
    return client.post("/api/v1/webhooks/", {"url": url, **extra}, format="json")


def test_an_admin_registers_a_public_https_endpoint(cast, admin_client, monkeypatch):
    _resolves_to(monkeypatch, {"siem.example.org": [PUBLIC_ADDRESS]})
    response = _register(admin_client, "https://siem.example.org/alliance?src=epa", description="SIEM")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["agency"] == "beanr-customs"
    assert body["url"] == "https://siem.example.org/alliance?src=epa"
    assert body["created_by"] == cast["memberships"]["antwerp_admin"].handle
    listed = admin_client.get("/api/v1/webhooks/").json()
    assert listed["count"] == 1
    assert listed["results"][0]["id"] == body["id"]
    assert AuditEntry.objects.filter(action="webhook.endpoint_created", object_id=str(body["id"])).exists()
    # The same URL twice for one agency is refused.
    again = _register(admin_client, "https://siem.example.org/alliance?src=epa")
    assert again.status_code == 400
    assert "url" in again.json()["errors"]


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("http://siem.example.org/hook", "Only https://"),
        ("ftp://siem.example.org/hook", "Only https://"),
        ("https://user:secret@siem.example.org/hook", "Credentials"),
        ("https:///hook", "host name is required"),
        ("not a url", "Only https://"),
        ("https://127.0.0.1/hook", "loopback"),
        ("https://10.1.2.3/hook", "private"),
        ("https://192.168.1.10:8443/hook", "private"),
        ("https://[::1]/hook", "loopback"),
        ("https://169.254.169.254/latest/meta-data", "link-local"),
        ("https://0.0.0.0/hook", "unspecified"),
        ("https://224.0.0.1/hook", "multicast"),
        ("https://[::ffff:127.0.0.1]/hook", "loopback"),
        ("https://100.64.0.1/hook", "non-public"),
        ("https://sneaky.example.org/hook", "loopback"),
        ("https://half.example.org/hook", "private"),
        ("https://nowhere.invalid/hook", "does not resolve"),
    ],
)
def test_refused_targets_get_a_field_error(cast, admin_client, monkeypatch, url, fragment):
    real = socket.getaddrinfo
    fake_dns = {"sneaky.example.org": ["127.0.0.1"], "half.example.org": [PUBLIC_ADDRESS, "10.0.0.7"]}

    def dns(host, port, *args, **kwargs):
        if host in fake_dns:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in fake_dns[host]]
        if host.endswith(".invalid"):
            raise socket.gaierror("Name or service not known")
        return real(host, port, *args, **kwargs)  # IP literals resolve locally, without a network

    monkeypatch.setattr(socket, "getaddrinfo", dns)
    response = _register(admin_client, url)
    assert response.status_code == 400, response.json()
    assert response.json()["code"] == "invalid"
    messages = response.json()["errors"]["url"]
    assert any(fragment in m for m in messages), messages
    assert not Endpoint.objects.exists()


def test_localhost_resolving_to_loopback_is_refused_unless_allow_listed(cast, admin_client, settings):
    # The real resolver: localhost is loopback on every machine.
    settings.WEBHOOK_ALLOWED_HOSTS = []
    refused = _register(admin_client, "https://localhost:8443/hook")
    assert refused.status_code == 400
    assert "loopback" in refused.json()["errors"]["url"][0]
    settings.WEBHOOK_ALLOWED_HOSTS = ["localhost", "10.9.8.7"]
    assert _register(admin_client, "https://localhost:8443/hook").status_code == 201
    assert _register(admin_client, "https://10.9.8.7/hook").status_code == 201
    # Still https only, even for an allowed host.
    assert _register(admin_client, "http://localhost:8443/other").status_code == 400


def test_a_private_sector_admin_and_non_admins_are_refused(cast, make_member, verified_session, api_as, monkeypatch):
    _resolves_to(monkeypatch, {"siem.example.org": [PUBLIC_ADDRESS]})
    terminal_admin = make_member("rotterdam.terminal.admin", "nlrtm-terminal-operator", "admin").user
    for user in (terminal_admin, cast["users"]["author"], cast["users"]["colleague"]):
        client = verified_session(user)
        response = _register(client, "https://siem.example.org/hook")
        assert response.status_code == 403, (user.username, response.json())
        assert client.get("/api/v1/webhooks/").status_code == 403
        assert client.get("/api/v1/webhooks/dead-letters/").status_code == 403
    # An admin by personal token (not a second-factor session) is refused too.
    by_token = api_as(cast["users"]["antwerp_admin"])
    assert _register(by_token, "https://siem.example.org/hook").status_code == 403
    assert not Endpoint.objects.exists()


def test_another_agency_cannot_see_or_delete_our_endpoints(
    cast, admin_client, make_member, verified_session, monkeypatch
):
    _resolves_to(monkeypatch, {"siem.example.org": [PUBLIC_ADDRESS], "hh.example.org": [PUBLIC_ADDRESS]})
    ours = _register(admin_client, "https://siem.example.org/hook").json()
    hamburg_admin = verified_session(make_member("hamburg.admin", "deham-customs", "admin").user)
    theirs = _register(hamburg_admin, "https://hh.example.org/hook").json()
    assert theirs["agency"] == "deham-customs"
    assert [e["id"] for e in hamburg_admin.get("/api/v1/webhooks/").json()["results"]] == [theirs["id"]]
    assert [e["id"] for e in admin_client.get("/api/v1/webhooks/").json()["results"]] == [ours["id"]]
    # Deleting another agency's endpoint answers 404 (existence does not leak) and changes nothing.
    assert hamburg_admin.delete(f"/api/v1/webhooks/{ours['id']}/").status_code == 404
    assert hamburg_admin.delete("/api/v1/webhooks/999999/").status_code == 404
    assert Endpoint.objects.get(pk=ours["id"]).is_active
    # Naming an agency one does not administer is refused.
    response = _register(hamburg_admin, "https://hh.example.org/other", agency="beanr-customs")
    assert response.status_code == 400
    assert "agency" in response.json()["errors"]
    # Our own delete works, is audited, and the endpoint leaves the list.
    assert admin_client.delete(f"/api/v1/webhooks/{ours['id']}/").status_code == 204
    assert admin_client.get("/api/v1/webhooks/").json()["count"] == 0
    assert AuditEntry.objects.filter(action="webhook.endpoint_deleted", object_id=str(ours["id"])).exists()
