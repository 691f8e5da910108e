"""Personal tokens made on the account page (SPEC section 2): shown once, named, expiring within a year,
optionally read-only; they act with their one membership's rights and stop at expiry or revocation.
The attacker's side first: nobody else sees, lists or revokes my tokens, and their ids say nothing."""

import re
import uuid
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from ports.models import ApiToken

RAW = re.compile(r'id="raw-token">(axp_[A-Za-z0-9_-]+)<')


def _session(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _create(client: Client, membership, **fields) -> tuple[ApiToken, str]:
    data = {"name": "laptop script", "membership": membership.pk, "days": 90, **fields}
    response = client.post("/account/tokens/", data)
    assert response.status_code == 201, response.content.decode()[:2000]
    assert "no-store" in response["Cache-Control"]
    raw = RAW.search(response.content.decode()).group(1)
    return ApiToken.objects.get(user=membership.user, name=data["name"]), raw


def _api(raw: str) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
    return api


def test_token_is_shown_once_and_only_its_hash_is_kept(cast):
    officer = cast["memberships"]["author"]
    client = _session(officer.user)
    token, raw = _create(client, officer)
    assert raw not in ApiToken.objects.filter(pk=token.pk).values_list("key_hash", "prefix", "name").get()
    page = client.get("/account/").content.decode()
    assert raw not in page  # the list shows the name and a prefix, never the token again
    assert "laptop script" in page
    assert token.prefix in page
    assert str(token.public_id) in page


def test_default_expiry_is_90_days_and_at_most_a_year(cast):
    officer = cast["memberships"]["author"]
    client = _session(officer.user)
    before = timezone.now()
    token, _ = _create(client, officer)
    assert timedelta(days=89, hours=23) < token.expires_at - before <= timedelta(days=90, minutes=1)
    for days in (0, 366, -5, "a year", ""):
        response = client.post("/account/tokens/", {"name": "x", "membership": officer.pk, "days": days})
        assert response.status_code == 400, days
        assert 'id="token-form"' in response.content.decode()
    token, _ = _create(client, officer, name="yearly", days=365)
    assert token.expires_at - before <= timedelta(days=365, minutes=1)


def test_name_is_required_and_hostile_names_refused(cast):
    officer = cast["memberships"]["author"]
    client = _session(officer.user)
    for name in ("", "   ", "bad\x00name", "x" * 101):
        response = client.post("/account/tokens/", {"name": name, "membership": officer.pk, "days": 30})
        assert response.status_code == 400, repr(name)
    assert not ApiToken.objects.filter(user=officer.user).exists()


def test_token_acts_with_its_membership_rights(cast, make_member):
    """A token for one membership of a two-agency member reads as that membership only."""
    make_member("double.hat", "beanr-customs", "officer")
    police = make_member("double.hat", "beanr-police", "analyst")
    client = _session(police.user)  # the second call set the password again: the fresh object
    _, raw = _create(client, police, name="police only")
    me = _api(raw).get("/api/v1/me/").json()
    assert [m["agency"] for m in me["memberships"]] == ["beanr-police"]
    # An analyst cannot publish alerts: the token does not borrow the customs officer's role.
    response = _api(raw).post("/api/v1/alerts/", {"title": "x"}, format="json")
    assert response.status_code == 403


def test_read_only_token_refuses_unsafe_methods(cast):
    officer = cast["memberships"]["author"]
    _, raw = _create(_session(officer.user), officer, read_only="on")
    api = _api(raw)
    assert api.get("/api/v1/alerts/").status_code == 200
    for method in ("post", "put", "patch", "delete"):
        response = getattr(api, method)("/api/v1/alerts/", {}, format="json")
        assert response.status_code == 403, method


def test_token_stops_at_expiry(cast):
    officer = cast["memberships"]["author"]
    token, raw = _create(_session(officer.user), officer, days=1)
    assert _api(raw).get("/api/v1/me/").status_code == 200
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = _api(raw).get("/api/v1/me/")
    assert response.status_code == 401
    page = _session(officer.user).get("/account/").content.decode()
    assert "expired" in page


def test_token_stops_at_revocation_and_last_use_is_listed(cast):
    officer = cast["memberships"]["author"]
    client = _session(officer.user)
    token, raw = _create(client, officer)
    assert _api(raw).get("/api/v1/me/").status_code == 200
    token.refresh_from_db()
    assert token.last_used_at is not None
    page = client.get("/account/").content.decode()
    assert "never" not in page.split(str(token.public_id))[1].split("</tr>")[0]
    response = client.post(f"/account/tokens/{token.public_id}/revoke/")
    assert response.status_code == 302
    assert _api(raw).get("/api/v1/me/").status_code == 401
    assert str(token.public_id) not in client.get("/account/").content.decode()


def test_another_member_cannot_see_or_revoke_my_tokens(cast):
    officer = cast["memberships"]["author"]
    token, raw = _create(_session(officer.user), officer, name="officer's secret job")
    for intruder in ("colleague", "antwerp_admin", "hamburg_customs", "rotterdam_terminal", "superuser"):
        other = _session(cast["users"][intruder])
        page = other.get("/account/").content.decode()
        assert "officer&#x27;s secret job" not in page, intruder
        assert str(token.public_id) not in page, intruder
        assert other.post(f"/account/tokens/{token.public_id}/revoke/").status_code == 404, intruder
    # Nor by a token of someone else, nor with a malformed or made-up id.
    intruder = _session(cast["users"]["colleague"])
    assert intruder.post(f"/account/tokens/{uuid.uuid4()}/revoke/").status_code == 404
    assert intruder.post(f"/account/tokens/{token.pk}/revoke/").status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None
    assert _api(raw).get("/api/v1/me/").status_code == 200


def test_a_token_cannot_be_made_for_someone_elses_membership(cast):
    officer, other = cast["memberships"]["author"], cast["memberships"]["hamburg_customs"]
    response = _session(officer.user).post("/account/tokens/", {"name": "x", "membership": other.pk, "days": 30})
    assert response.status_code == 400
    assert not ApiToken.objects.filter(membership=other).exists()


def test_token_ids_are_random_not_sequential(cast):
    officer = cast["memberships"]["author"]
    client = _session(officer.user)
    ids = [_create(client, officer, name=f"t{i}")[0].public_id for i in range(3)]
    assert len(set(ids)) == 3
    assert all(i.version == 4 for i in ids)
    page = client.get("/account/").content.decode()
    for token in ApiToken.objects.filter(user=officer.user):
        # Pages and forms name tokens by their random id, never by the database's sequence.
        assert f"/account/tokens/{token.pk}/" not in page


def test_a_token_cannot_use_the_account_page(cast):
    """Pages take the session only: a token holder cannot make more tokens with it."""
    officer = cast["memberships"]["author"]
    _, raw = _create(_session(officer.user), officer)
    response = _api(raw).post("/account/tokens/", {"name": "more", "membership": officer.pk, "days": 30})
    assert response.status_code == 302
    assert "/login/" in response["Location"]
    assert ApiToken.objects.filter(user=officer.user).count() == 1


@pytest.mark.parametrize("method", ["get", "post"])
def test_anonymous_gets_the_login_page(db, method):
    response = getattr(Client(), method)("/account/tokens/")
    assert response.status_code in (302, 405)
