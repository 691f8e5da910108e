"""Tokens and memberships (SPEC section 2): a personal token acts for one membership only; existing
accounts join an agency by invitation, and until they accept the agency learns nothing of them;
agency admins see only their own agency's memberships, handles and tokens.

Each test is an attack first: what a private-sector admin, or a token holder, must not get.
"""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from ports.models import ApiToken, AuditEntry, Invitation, Membership, hash_token
from ports.services import member_offboard, token_issue
from sharing.models import Alert
from tests.sharing.conftest import alert_fields

pytestmark = pytest.mark.django_db

User = get_user_model()
TERMINAL = "/agency/nlrtm-terminal-operator"


@pytest.fixture
def verified(db):
    """A portal client logged in as `user`, its session verified with a confirmed TOTP device."""

    def make(user) -> Client:
        device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
        client = Client()
        client.force_login(user)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
        return client

    return make


@pytest.fixture
def terminal_admin(make_member, verified):
    """A verified admin of a private-sector agency (Rotterdam's terminal operator)."""
    return verified(make_member("rotterdam.terminal.admin", "nlrtm-terminal-operator", "admin").user)


@pytest.fixture
def publish(api_as):
    """POST an alert through the API as `user` (one membership); returns the response JSON."""

    def post(user, **overrides) -> dict:
        response = api_as(user).post("/api/v1/alerts/", alert_fields(**overrides), format="json")
        assert response.status_code == 201, response.json()
        return response.json()

    return post


def token_client(raw: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
    return client


def members_page(admin_client) -> str:
    response = admin_client.get(f"{TERMINAL}/members/")
    assert response.status_code == 200
    return response.content.decode()


def invite(admin_client, username: str, role: str = "analyst"):
    return admin_client.post(
        f"{TERMINAL}/members/invite/", {"invite-username": username, "invite-role": role}, follow=True
    )


def accept(user):
    """The account holder signs in, finds the invitation (linked from the nav) and accepts it."""
    client = Client()
    client.force_login(user)
    home = client.get("/").content.decode()
    assert 'id="nav-invitations"' in home
    page = client.get("/account/invitations/")
    invitation = page.context["invitations"][0]
    assert client.post(f"/account/invitations/{invitation.pk}/accept/").status_code == 302
    return Membership.objects.get(user=user, agency=invitation.agency)


# ---------------------------------------------------------------- joining by invitation only


def test_a_private_admin_inviting_a_customs_officer_learns_nothing_until_they_accept(cast, terminal_admin):
    officer = cast["memberships"]["author"]  # antwerp.officer, Antwerp customs
    _, customs_raw = token_issue(membership=officer, name="customs script")

    response = invite(terminal_admin, "antwerp.officer")
    unknown = invite(terminal_admin, "no.such.person")
    # Inviting an existing account and a username nobody has look the same.
    assert response.status_code == unknown.status_code == 200
    assert [response.redirect_chain[-1][1]] == [unknown.redirect_chain[-1][1]] == [302]
    said = [str(m).replace("antwerp.officer", "X") for m in response.context["messages"]]
    said_unknown = [str(m).replace("no.such.person", "X") for m in unknown.context["messages"]]
    assert said == said_unknown
    assert said
    assert not User.objects.filter(username="no.such.person").exists()

    # No membership until accepted, and nothing of the account on the admin's pages.
    assert not Membership.objects.filter(user=officer.user, agency__slug="nlrtm-terminal-operator").exists()
    html = members_page(terminal_admin)
    for secret in ("antwerp.officer", "Antwerp Officer", officer.handle, "customs script"):
        assert secret not in html, secret
    overview = terminal_admin.get(f"{TERMINAL}/").content.decode()
    assert "antwerp.officer" not in overview
    for report in ("reads", "readers"):
        body = terminal_admin.get(f"{TERMINAL}/reports/{report}/?format=csv")
        assert "antwerp.officer" not in b"".join(body.streaming_content).decode()
    # The token stays the customs officer's, out of the terminal admin's reach.
    customs_token = ApiToken.objects.get(membership=officer)
    assert terminal_admin.post(f"{TERMINAL}/tokens/{customs_token.pk}/revoke/").status_code == 404
    assert token_client(customs_raw).get("/api/v1/me/").status_code == 200

    # The officer accepts; the terminal admin now sees that membership's handle and tokens only.
    joined = accept(officer.user)
    assert joined.role == "analyst"
    assert joined.is_active
    _, terminal_raw = token_issue(membership=joined, name="terminal script")
    html = members_page(terminal_admin)
    assert joined.handle in html
    assert "terminal script" in html
    assert officer.handle not in html
    assert "customs script" not in html
    row = html.split('data-username="antwerp.officer"')[1].split("</tr>")[0]
    assert '<td class="num">1</td>' in row  # the terminal membership's one token, not the customs one
    assert terminal_admin.post(f"{TERMINAL}/tokens/{customs_token.pk}/revoke/").status_code == 404
    customs_token.refresh_from_db()
    assert customs_token.revoked_at is None
    # Offboarding from the terminal revokes the terminal token only, and names no other agency.
    confirm = terminal_admin.get(f"{TERMINAL}/members/{joined.pk}/offboard/").content.decode()
    assert "beanr-customs" not in confirm
    assert "revoke their 1 live API token" in confirm
    terminal_admin.post(f"{TERMINAL}/members/{joined.pk}/offboard/", {"confirm": "antwerp.officer"})
    assert token_client(terminal_raw).get("/api/v1/me/").status_code == 401
    assert token_client(customs_raw).get("/api/v1/me/").status_code == 200


def test_an_invitation_is_the_holders_to_answer_and_declining_tells_nothing(cast, terminal_admin):
    officer, colleague = cast["users"]["author"], cast["users"]["colleague"]
    invite(terminal_admin, "antwerp.officer")
    invitation = Invitation.objects.get(user=officer)
    # Someone else cannot answer it, and an admin's page does not reach it either.
    other = Client()
    other.force_login(colleague)
    assert other.post(f"/account/invitations/{invitation.pk}/accept/").status_code == 404
    assert "nav-invitations" not in other.get("/").content.decode()
    assert not Membership.objects.filter(user=officer, agency__slug="nlrtm-terminal-operator").exists()
    # The holder declines: no membership, nothing shown to the agency, the nav link is gone.
    holder = Client()
    holder.force_login(officer)
    assert holder.post(f"/account/invitations/{invitation.pk}/decline/").status_code == 302
    assert not Membership.objects.filter(user=officer, agency__slug="nlrtm-terminal-operator").exists()
    assert "nav-invitations" not in holder.get("/").content.decode()
    assert holder.post(f"/account/invitations/{invitation.pk}/accept/").status_code == 404
    assert "antwerp.officer" not in members_page(terminal_admin)


def test_creating_an_account_never_takes_over_an_existing_one(cast, terminal_admin):
    hamburg = cast["users"]["hamburg_police"]
    before = hamburg.password
    response = terminal_admin.post(f"{TERMINAL}/members/", {"username": "hamburg.police", "role": "admin"})
    assert response.status_code == 400
    hamburg.refresh_from_db()
    assert hamburg.password == before
    assert not Membership.objects.filter(user=hamburg, agency__slug="nlrtm-terminal-operator").exists()
    assert "Hamburg Police" not in response.content.decode()


def test_reads_report_shows_only_the_handle_the_reader_read_with(cast, make_member, verified, publish):
    """A person in two agencies reads our RED alert through one: our report names that handle, not the other."""
    reader = cast["memberships"]["rotterdam_customs"]
    elsewhere = make_member("rotterdam.analyst", "nlrtm-police", "analyst")  # same person, second agency
    red = publish(
        cast["users"]["author"],
        tlp="RED",
        audience={"agencies": [], "ports": [], "users": [reader.handle]},
    )
    session = APIClient()  # a session acts for all the person's memberships
    session.force_login(User.objects.get(username="rotterdam.analyst"))
    assert session.get(f"/api/v1/alerts/{red['id']}/").status_code == 200
    admin = verified(cast["users"]["antwerp_admin"])
    html = admin.get("/agency/beanr-customs/reports/reads/").content.decode()
    assert reader.handle in html
    assert elsewhere.handle not in html
    csv_body = b"".join(admin.get("/agency/beanr-customs/reports/reads/?format=csv").streaming_content).decode()
    assert reader.handle in csv_body
    assert elsewhere.handle not in csv_body


# ---------------------------------------------------------------- a token acts for one membership


@pytest.fixture
def two_hats(cast, make_member):
    """rotterdam.analyst: analyst at Rotterdam customs and officer at Rotterdam police, one token each."""
    customs = cast["memberships"]["rotterdam_customs"]
    police = make_member("rotterdam.analyst", "nlrtm-police", "officer")
    return customs, police


def test_a_token_for_one_membership_cannot_read_what_only_the_other_agency_reads(cast, two_hats, publish):
    customs, police = two_hats
    amber = publish(
        cast["users"]["hamburg_customs"],
        tlp="AMBER",
        port="DEHAM",
        audience={"agencies": ["nlrtm-police"], "ports": [], "users": []},
    )
    _, as_customs = token_issue(membership=customs, name="customs")
    _, as_police = token_issue(membership=police, name="police")
    customs_client, police_client = token_client(as_customs), token_client(as_police)
    assert customs_client.get(f"/api/v1/alerts/{amber['id']}/").status_code == 404
    assert amber["id"] not in {a["id"] for a in customs_client.get("/api/v1/alerts/").json()["results"]}
    assert police_client.get(f"/api/v1/alerts/{amber['id']}/").status_code == 200
    assert amber["id"] in {a["id"] for a in police_client.get("/api/v1/alerts/").json()["results"]}
    me = customs_client.get("/api/v1/me/").json()
    assert [m["agency"] for m in me["memberships"]] == ["nlrtm-customs"]


def test_a_token_cannot_act_under_the_other_membership(cast, two_hats):
    customs, police = two_hats
    _, as_customs = token_issue(membership=customs, name="customs")
    response = token_client(as_customs).post(
        "/api/v1/alerts/", alert_fields(port="NLRTM", agency="nlrtm-police"), format="json"
    )
    assert response.status_code in (400, 403)
    assert not Alert.objects.filter(agency=police.agency).exists()
    # The same person's police token publishes for the police.
    _, as_police = token_issue(membership=police, name="police")
    response = token_client(as_police).post("/api/v1/alerts/", alert_fields(port="NLRTM"), format="json")
    assert response.status_code == 201
    assert response.json()["agency"] == "nlrtm-police"


def test_issue_token_needs_agency_when_the_user_has_two_memberships(two_hats):
    customs, police = two_hats
    with pytest.raises(CommandError, match=r"several agencies.*--agency"):
        call_command("issue_token", "rotterdam.analyst", stdout=io.StringIO())
    assert not ApiToken.objects.filter(user=customs.user).exists()
    with pytest.raises(CommandError, match="not an active member"):
        call_command("issue_token", "rotterdam.analyst", "--agency", "deham-police", stdout=io.StringIO())
    out = io.StringIO()
    call_command("issue_token", "rotterdam.analyst", "--agency", "nlrtm-police", stdout=out)
    raw = out.getvalue().strip().splitlines()[-1]
    token = ApiToken.objects.get(key_hash=hash_token(raw))
    assert token.membership == police
    assert not token.read_only
    assert [m["agency"] for m in token_client(raw).get("/api/v1/me/").json()["memberships"]] == ["nlrtm-police"]


def test_a_read_only_token_reads_but_gets_403_on_writes(cast):
    out = io.StringIO()
    call_command("issue_token", "antwerp.officer", "--read-only", stdout=out)
    client = token_client(out.getvalue().strip().splitlines()[-1])
    assert client.get("/api/v1/alerts/").status_code == 200
    response = client.post("/api/v1/alerts/", alert_fields(), format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert not Alert.objects.exists()


def test_personal_tokens_do_no_administration(cast):
    _, raw = token_issue(user=cast["users"]["antwerp_admin"], name="admin script")
    client = token_client(raw)
    for path in ("/api/v1/webhooks/", "/api/v1/webhooks/dead-letters/", "/api/v1/subscriptions/"):
        assert client.get(path).status_code == 403, path
    for path in ("/api/v1/keys/rotate/", "/api/v1/webhooks/", "/api/v1/subscriptions/"):
        assert client.post(path, {"agency": "beanr-customs"}, format="json").status_code == 403, path
    # Agency admin pages never take a token: the caller is anonymous there.
    response = client.get("/agency/beanr-customs/members/")
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_offboarding_one_membership_leaves_the_other_memberships_token(two_hats):
    customs, police = two_hats
    _, as_customs = token_issue(membership=customs, name="customs")
    _, as_police = token_issue(membership=police, name="police")
    member_offboard(membership=police, actor=None)
    assert token_client(as_police).get("/api/v1/me/").status_code == 401
    assert token_client(as_customs).get("/api/v1/me/").status_code == 200
    assert AuditEntry.objects.filter(action="member.offboarded").exists()


@pytest.mark.django_db(transaction=True)
def test_migration_keeps_single_membership_tokens_and_revokes_the_ambiguous_ones(ports):
    """Before this change a token served all its holder's agencies: one membership keeps it, several end it."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    executor.migrate([("ports", "0004_retention_state")])
    apps = executor.loader.project_state([("ports", "0004_retention_state")]).apps
    user_model, agency, membership, token = (
        apps.get_model("auth", "User"),
        apps.get_model("ports", "Agency"),
        apps.get_model("ports", "Membership"),
        apps.get_model("ports", "ApiToken"),
    )
    customs = agency.objects.create(slug="beanr-customs", name="c", kind="customs", sector="public", port_id="BEANR")
    police = agency.objects.create(slug="beanr-police", name="p", kind="police", sector="public", port_id="BEANR")
    one, two = user_model.objects.create(username="one.hat"), user_model.objects.create(username="two.hats")
    only = membership.objects.create(user=one, agency=customs, role="analyst", agency_sector="public", handle="c/1")
    membership.objects.create(user=two, agency=customs, role="analyst", agency_sector="public", handle="c/2")
    membership.objects.create(user=two, agency=police, role="analyst", agency_sector="public", handle="p/2")
    token.objects.create(key_hash="a" * 64, prefix="axp_a", kind="personal", user=one)
    token.objects.create(key_hash="b" * 64, prefix="axp_b", kind="personal", user=two)

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    kept, ended = ApiToken.objects.get(key_hash="a" * 64), ApiToken.objects.get(key_hash="b" * 64)
    assert kept.membership_id == only.pk
    assert kept.revoked_at is None
    assert ended.membership.user.username == "two.hats"
    assert ended.revoked_at is not None
