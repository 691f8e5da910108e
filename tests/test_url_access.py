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
SCRAPER = "scraper"  # by address only: METRICS_ALLOWED_IPS (the Prometheus server), whoever is logged in
OPERATOR = "operator"  # API for the alliance operator: a superuser's TOTP-verified session (never a token)
OPERATOR_PAGE = "operator_page"  # portal page for the alliance operator, same rule

CLASSES = {
    "healthz": PUBLIC,
    "livez": PUBLIC,
    "metrics": SCRAPER,
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
    "account": LOGIN,
    "account_preferences": LOGIN,
    "account_password": LOGIN,
    "account_totp_remove": LOGIN,
    "account_token_create": LOGIN,
    "account_token_revoke": LOGIN,
    "mail_list": LOGIN,
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
    # Federation (SPEC 10.1): the signed instance document is public; peers are the operator's.
    "alliance-instance": PUBLIC,
    "federation_peers": OPERATOR_PAGE,
    "api-federation-peers": OPERATOR,
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
    # From an address that is not the scraper's (the test client's default, 127.0.0.1, is allowed to scrape).
    client = APIClient(REMOTE_ADDR="192.0.2.10")
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
    # Metrics: a member, a node or an agency admin from an address that is not the scraper's is refused.
    for client in (node, private, admin_by_token):
        assert client.get(_url("metrics"), REMOTE_ADDR="192.0.2.10").status_code == 403
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


@pytest.mark.django_db
def test_account_pages_show_and_touch_only_the_holders_own_objects(cast, settings, tmp_path):
    """/account/ (tokens, invitations), /mail/ and the home page: another member cannot see, list, search,
    revoke, answer or receive what is the holder's."""
    from django.core.mail import EmailMessage
    from django.test import Client

    from ports.models import Agency, Invitation
    from ports.services import invitation_send
    from sharing.services.alerts import alert_publish
    from tests.sharing.conftest import alert_fields

    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path)
    holder, intruder = cast["users"]["author"], cast["users"]["hamburg_customs"]
    holder.email, intruder.email = "holder@example.org", "intruder@example.org"
    holder.save(update_fields=["email"])
    intruder.save(update_fields=["email"])
    token, _ = token_issue(membership=cast["memberships"]["author"], name="holder-only-token")
    invitation_send(
        agency=Agency.objects.get(slug="beanr-police"), username=holder.username, role="analyst", actor=None
    )
    invitation = Invitation.objects.get(user=holder)
    EmailMessage("holder-only-subject", "holder-only-body", to=[holder.email]).send()
    alert_publish(
        membership=cast["memberships"]["author"],
        data=alert_fields(
            tlp="RED",
            title="holder-only-red-title",
            audience={"agencies": [], "ports": [], "users": [cast["memberships"]["colleague"].handle]},
        ),
    )

    client = Client()
    client.force_login(intruder)
    for path in ("/account/", "/mail/", "/", "/notifications/", "/account/invitations/"):
        page = client.get(path).content.decode()
        for secret in ("holder-only-token", str(token.public_id), "holder-only-subject", "holder-only-body"):
            assert secret not in page, (path, secret)
        assert "holder-only-red-title" not in page, path
        assert 'data-agency="beanr-police"' not in page, path
    assert client.post(f"/account/tokens/{token.public_id}/revoke/").status_code == 404
    assert client.post(f"/account/invitations/{invitation.pk}/accept/").status_code == 404
    token.refresh_from_db()
    invitation.refresh_from_db()
    assert token.revoked_at is None
    assert invitation.status == "pending"


def test_operator_endpoints_need_a_verified_superuser(cast):
    """Agency admins (even verified) get 403; a superuser without the second factor is sent to set it up (pages)
    or refused (API); tokens never pass (tests/federation/test_access.py covers peer tokens)."""
    from django.test import Client

    from tests.conftest import login_verified

    admin = login_verified(Client(), cast["users"]["antwerp_admin"])
    unverified_root = Client()
    unverified_root.force_login(cast["users"]["superuser"])
    root = login_verified(Client(), cast["users"]["superuser"])
    for name in sorted(n for n, c in CLASSES.items() if c in (OPERATOR, OPERATOR_PAGE)):
        url = _url(name)
        assert admin.get(url).status_code == 403, name
        response = unverified_root.get(url)
        if CLASSES[name] == OPERATOR_PAGE:
            assert response.status_code == 302, name
            assert "/account/2fa/" in response["Location"], name
        else:
            assert response.status_code == 403, name
        assert root.get(url).status_code == 200, name
