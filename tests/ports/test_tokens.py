"""Tokens: hashed at rest; node tokens only on scanner endpoints; personal tokens not on admin actions."""

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from rest_framework.test import APIClient

from ports.keys import public_x
from ports.models import ApiToken, hash_token
from ports.permissions import IsVerifiedSession
from ports.services import member_offboard, node_register, token_issue

pytestmark = pytest.mark.django_db


def test_tokens_are_stored_hashed(cast):
    token, raw = token_issue(user=cast["users"]["author"])
    stored = ApiToken.objects.get(pk=token.pk)
    assert stored.key_hash == hash_token(raw)
    for value in ApiToken.objects.values_list("key_hash", "prefix", "name"):
        assert raw not in value


def test_personal_token_authenticates_members(cast, api_as):
    assert api_as(cast["users"]["author"]).get("/api/v1/me/").status_code == 200


def test_bad_and_revoked_tokens_are_401(cast):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    response = client.get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"
    token, raw = token_issue(user=cast["users"]["colleague"])
    member_offboard(membership=cast["memberships"]["colleague"], actor=None)
    client.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
    assert client.get("/api/v1/me/").status_code == 401


def test_node_token_refused_on_member_endpoints(cast, make_agency):
    node, raw = node_register(
        node_id="beanr-n1",
        agency=make_agency("beanr-customs"),
        public_key=public_x(Ed25519PrivateKey.generate().public_key()),
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
    for path in ["/api/v1/me/", "/api/v1/ports/", "/api/v1/agencies/", "/api/v1/members/"]:
        response = client.get(path)
        assert response.status_code == 403, path
        assert response.json()["code"] == "permission_denied"


class _Request:
    def __init__(self, user, auth):
        self.user, self.auth = user, auth


def test_admin_actions_need_a_verified_session_not_a_token(cast):
    admin = cast["users"]["antwerp_admin"]
    token, _ = token_issue(user=admin)
    permission = IsVerifiedSession()
    admin.is_verified = lambda: True
    assert permission.has_permission(_Request(admin, token), None) is False  # a personal token
    assert permission.has_permission(_Request(admin, None), None) is True  # a verified session
    admin.is_verified = lambda: False
    assert permission.has_permission(_Request(admin, None), None) is False  # session without TOTP
