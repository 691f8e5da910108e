"""Every URL pattern is classified (public, member, public-sector, node, admin session, superuser);
an unclassified one fails this test. Then anonymous and wrong-kind callers are refused on each."""

import uuid

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.test import APIClient

from ports.services import node_register, token_issue

PUBLIC = "public"  # no login: health, login, schema, JWKS
LOGIN = "login"  # portal page behind login
MEMBER = "member"  # API for any member (personal token or session)
PUBLIC_SECTOR = "public_sector"  # API closed to the private sector
NODE = "node"  # scanner node token only
ADMIN = "admin"  # agency admin with a TOTP-verified session
ADMIN_PAGE = "admin_page"  # portal page for an agency admin with a TOTP-verified session (never a token)

CLASSES = {
    "healthz": PUBLIC,
    "livez": PUBLIC,
    "agency_admin": ADMIN_PAGE,
    "agency_overview": ADMIN_PAGE,
    "agency_members": ADMIN_PAGE,
    "agency_member_invite": ADMIN_PAGE,
    "agency_member_role": ADMIN_PAGE,
    "agency_member_offboard": ADMIN_PAGE,
    "agency_token_revoke": ADMIN_PAGE,
    "agency_keys": ADMIN_PAGE,
    "agency_key_rotate": ADMIN_PAGE,
    "agency_key_revoke": ADMIN_PAGE,
    "agency_nodes": ADMIN_PAGE,
    "agency_node_key": ADMIN_PAGE,
    "agency_node_token": ADMIN_PAGE,
    "agency_node_deactivate": ADMIN_PAGE,
    "agency_report_readers": ADMIN_PAGE,
    "agency_report_reads": ADMIN_PAGE,
    "schema": PUBLIC,
    "swagger-ui": PUBLIC,
    "jwks": PUBLIC,
    "login": PUBLIC,
    "logout": PUBLIC,
    "set_language": PUBLIC,
    "javascript-catalog": PUBLIC,
    "home": LOGIN,
    "totp_setup": LOGIN,
    "totp_verify": LOGIN,
    "account_invitations": LOGIN,
    "account_invitation_accept": LOGIN,
    "account_invitation_decline": LOGIN,
    "scan_list": LOGIN,
    "scan_detail": LOGIN,
    "api-ports": MEMBER,
    "api-agencies": MEMBER,
    "api-me": MEMBER,
    "api-members": PUBLIC_SECTOR,
    "api-alerts": MEMBER,
    "api-alert": MEMBER,
    "api-alert-versions": MEMBER,
    "api-practices": MEMBER,
    "api-practice": MEMBER,
    "api-practice-versions": MEMBER,
    "api-keys": MEMBER,
    "api-keys-rotate": ADMIN,
    "api-key-revoke": ADMIN,
    "api-scans": MEMBER,
    "api-scans-batch": NODE,
    "api-scan": PUBLIC_SECTOR,
    "api-scan-outcome": PUBLIC_SECTOR,
    "api-node-me": NODE,
    "api-node-keys": NODE,
    "api-trends": PUBLIC_SECTOR,
    "api-statistics": PUBLIC_SECTOR,
    "api-measures": PUBLIC_SECTOR,
    "api-displacement-list": PUBLIC_SECTOR,
    "api-displacement": PUBLIC_SECTOR,
    "api-displacement-status": PUBLIC_SECTOR,
    "trends": LOGIN,
    "trends_export": LOGIN,
    "trends_flag": LOGIN,
    "alert_feed": LOGIN,
    "alert_create": LOGIN,
    "alert_detail": LOGIN,
    "alert_edit": LOGIN,
    "alert_withdraw": LOGIN,
    "alert_version": LOGIN,
    "alert_feedback": LOGIN,
    "practice_list": LOGIN,
    "practice_create": LOGIN,
    "practice_detail": LOGIN,
    "practice_edit": LOGIN,
    "practice_withdraw": LOGIN,
    "api-alert-feedback": MEMBER,
    "webhook_list": LOGIN,
    "webhook_delete": LOGIN,
    "webhook_replay": LOGIN,
    "api-webhooks": ADMIN,
    "api-webhook": ADMIN,
    "api-webhook-dead-letters": ADMIN,
    "api-webhook-replay": ADMIN,
    "delivery_inbox": LOGIN,
    "delivery_ack": LOGIN,
    "subscription_list": ADMIN_PAGE,
    "api-deliveries": PUBLIC_SECTOR,
    "api-delivery-ack": PUBLIC_SECTOR,
    "api-subscriptions": ADMIN,
    "api-subscription": ADMIN,
    "notification_list": LOGIN,
    "correlation_list": LOGIN,
    "correlation_hit_share": LOGIN,
    "correlation_hit_dismiss": LOGIN,
    "api-correlations": MEMBER,
    "api-correlation-hits": MEMBER,
    "api-correlation-hit-share": MEMBER,
    "api-correlation-hit-dismiss": MEMBER,
    "api-notifications": MEMBER,
    "api-notification-read": MEMBER,
    # TAXII 2.1 (SPEC section 10.3): a personal token (Token, Bearer or Basic); collections follow the reader.
    "taxii-discovery": MEMBER,
    "taxii-api-root": MEMBER,
    "taxii-extension-definition": MEMBER,
    "taxii-collections": MEMBER,
    "taxii-collection": MEMBER,
    "taxii-objects": MEMBER,
    "taxii-manifest": MEMBER,
    "taxii-object": MEMBER,
    "taxii-versions": MEMBER,
    # The MISP feed (SPEC section 10.3): a personal token only.
    "misp-manifest": MEMBER,
    "misp-hashes": MEMBER,
    "misp-event": MEMBER,
}


def _patterns(patterns=None, prefix=""):
    for p in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(p, URLResolver):
            if str(p.pattern).startswith("django-admin"):
                continue
            yield from _patterns(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), p.name


def test_every_url_pattern_is_classified():
    unclassified = [(route, name) for route, name in _patterns() if name not in CLASSES]
    assert unclassified == [], f"classify these URL patterns in CLASSES: {unclassified}"


def _url(name: str) -> str:
    route = next(r for r, n in _patterns() if n == name)
    kwargs = {}
    for part in route.split("<")[1:]:
        converter_name = part.split(">")[0]
        arg = converter_name.split(":")[-1]
        if converter_name.startswith("uuid"):
            kwargs[arg] = uuid.uuid4()
        elif converter_name.startswith("int"):
            kwargs[arg] = 987654321
        else:
            kwargs[arg] = str(uuid.uuid4())
    return reverse(name, kwargs=kwargs)


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(n for n, c in CLASSES.items() if c != PUBLIC))
def test_anonymous_is_refused(name):
    client = APIClient()
    url = _url(name)
    for method in ("get", "post"):
        response = getattr(client, method)(url)
        if response.status_code == 405:
            continue
        assert response.status_code in (302, 401, 403), (name, method, response.status_code)
        if response.status_code == 302:
            assert "/login/" in response["Location"]


@pytest.mark.django_db
def test_wrong_kind_of_caller_is_refused(cast, make_agency):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from ports.keys import public_x

    _, node_token = node_register(
        node_id="beanr-acl-01",
        agency=make_agency("beanr-customs"),
        public_key=public_x(Ed25519PrivateKey.generate().public_key()),
    )
    node = APIClient()
    node.credentials(HTTP_AUTHORIZATION=f"Token {node_token}")
    _, personal = token_issue(user=cast["users"]["rotterdam_terminal"])
    private = APIClient()
    private.credentials(HTTP_AUTHORIZATION=f"Token {personal}")
    _, admin_token = token_issue(user=cast["users"]["antwerp_admin"])
    admin_by_token = APIClient()
    admin_by_token.credentials(HTTP_AUTHORIZATION=f"Token {admin_token}")
    for name, kind in CLASSES.items():
        url = _url(name)
        if kind in (MEMBER, PUBLIC_SECTOR, ADMIN) and name != "api-scans":
            response = node.get(url) if kind != ADMIN else node.post(url, {}, format="json")
            assert response.status_code in (401, 403, 405), (name, "node", response.status_code)
        if kind == NODE:
            for method in ("get", "post"):
                response = getattr(private, method)(url, {}, format="json")
                assert response.status_code in (401, 405), (name, "member on node endpoint", response.status_code)
        if kind == PUBLIC_SECTOR:
            response = private.get(url)
            assert response.status_code in (403, 405), (name, "private sector", response.status_code)
        if kind == ADMIN:
            response = admin_by_token.post(url, {"agency": "beanr-customs", "reason": "x"}, format="json")
            assert response.status_code == 403, (name, "admin by token", response.status_code)
        if kind == ADMIN_PAGE:  # pages never accept a token: the caller is anonymous there
            for client in (node, admin_by_token):
                response = client.post(url, {"agency": "beanr-customs"}, format="json")
                assert response.status_code == 302, (name, response.status_code)
                assert "/login/" in response["Location"], (name, response.status_code)
    # The scans collection: members read (GET), nodes push (POST); each refused the other's verb.
    assert node.get("/api/v1/scans/").status_code == 403
    assert private.post("/api/v1/scans/", {}, format="json").status_code == 401


@pytest.mark.django_db
def test_admin_pages_need_an_admin_with_a_verified_session(cast):
    """A member who is not an admin gets 403; an admin without the second factor is sent to set it up."""
    from django.test import Client

    analyst, admin = Client(), Client()
    analyst.force_login(cast["users"]["colleague"])
    admin.force_login(cast["users"]["antwerp_admin"])
    for name in sorted(n for n, c in CLASSES.items() if c == ADMIN_PAGE):
        url = _url(name)
        for method in ("get", "post"):
            assert getattr(analyst, method)(url).status_code == 403, (name, method)
            response = getattr(admin, method)(url)
            assert response.status_code == 302, (name, method)
            assert "/account/2fa/" in response["Location"], (name, method)
