"""Agency administration pages: members and offboarding, tokens, keys, scanner nodes, the two access reports.

Every page is for an admin of the agency in the URL with a TOTP-verified session;
an admin of another agency gets 404 on all of it.
"""

import zoneinfo
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.contrib.auth import get_user_model
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

import access
from ports.keys import public_x
from ports.models import ApiToken, AuditEntry, KeyStatus, Membership, ScannerNode, SigningKey, UserProfile
from ports.services import agency_key_ensure, node_register, token_issue
from sharing.models import Alert
from tests.sharing.conftest import alert_fields

User = get_user_model()
BEANR = "/agency/beanr-customs"


@pytest.fixture
def verified(db):
    """A portal client logged in as `user` with a session verified by a confirmed TOTP device."""

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
def admin(cast, verified):
    return verified(cast["users"]["antwerp_admin"])


@pytest.fixture
def outsider_admin(make_member, verified):
    """An admin, verified, of another agency (Hamburg customs)."""
    return verified(make_member("hamburg.admin", "deham-customs", "admin").user)


@pytest.fixture
def publish(api_as):
    """POST an alert through the API as `user`; returns the response JSON."""

    def post(user, **overrides) -> dict:
        response = api_as(user).post("/api/v1/alerts/", alert_fields(**overrides), format="json")
        assert response.status_code == 201, response.json()
        return response.json()

    return post


def token_client(raw: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
    return client


def pem(private: Ed25519PrivateKey) -> str:
    return (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


# ---------------------------------------------------------------- who gets in


def test_overview_for_a_verified_admin(admin):
    response = admin.get("/agency/")
    assert response.status_code == 200
    html = response.content.decode()
    for path in ("members/", "keys/", "nodes/", "reports/readers/", "reports/reads/"):
        assert f"{BEANR}/{path}" in html


def test_admin_without_totp_is_sent_to_set_it_up_and_with_a_device_to_verify(cast):
    client = Client()
    client.force_login(cast["users"]["antwerp_admin"])
    response = client.get(f"{BEANR}/members/")
    assert response.status_code == 302
    assert response["Location"] == "/account/2fa/setup/"
    TOTPDevice.objects.create(user=cast["users"]["antwerp_admin"], name="phone", confirmed=True)
    response = client.get(f"{BEANR}/members/")
    assert response.status_code == 302
    assert response["Location"] == f"/account/2fa/verify/?next={BEANR}/members/"


@pytest.mark.parametrize("who", ["colleague", "author"])
def test_analysts_and_officers_get_403_even_verified(cast, verified, who):
    client = verified(cast["users"][who])
    for path in ("/agency/", f"{BEANR}/", f"{BEANR}/members/", f"{BEANR}/keys/", f"{BEANR}/reports/readers/"):
        assert client.get(path).status_code == 403, path


def test_admin_of_several_agencies_picks_one(cast, make_member, verified):
    make_member("antwerp.admin", "beanr-police", "admin")
    client = verified(User.objects.get(username="antwerp.admin"))
    response = client.get("/agency/")
    assert response.status_code == 200, response
    html = response.content.decode()
    assert 'id="agency-picker"' in html
    assert f"{BEANR}/" in html
    assert "/agency/beanr-police/" in html
    assert client.get("/agency/beanr-police/members/").status_code == 200
    assert client.get("/agency/beanr-police/nodes/").status_code == 404  # police operate no scanners


def test_admin_of_another_agency_sees_and_touches_nothing_of_ours(cast, outsider_admin):
    colleague = cast["memberships"]["colleague"]
    _, raw = token_issue(user=colleague.user, name="laptop")
    token = ApiToken.objects.get(user=colleague.user)
    key = agency_key_ensure(colleague.agency)
    node, _ = node_register(
        node_id="beanr-x-01", agency=colleague.agency, public_key=public_x(Ed25519PrivateKey.generate().public_key())
    )
    gets = [
        "/",
        "members/",
        "keys/",
        "nodes/",
        "reports/readers/",
        "reports/reads/",
        f"members/{colleague.pk}/offboard/",
    ]
    for path in gets:
        assert outsider_admin.get(f"{BEANR}/{path}").status_code == 404, path
    posts = {
        f"members/{colleague.pk}/offboard/": {"confirm": "antwerp.analyst"},
        f"members/{colleague.pk}/role/": {"role": "admin"},
        f"tokens/{token.pk}/revoke/": {},
        "keys/rotate/": {},
        f"keys/{key.kid}/revoke/": {"reason": "hostile"},
        f"nodes/{node.id}/token/": {},
        f"nodes/{node.id}/deactivate/": {},
        "members/": {"username": "intruder", "role": "admin"},
        "members/invite/": {"invite-username": "antwerp.analyst", "invite-role": "admin"},
    }
    for path, data in posts.items():
        assert outsider_admin.post(f"{BEANR}/{path}", data).status_code == 404, path
    # Their own agency's URLs do not reach our objects either.
    assert outsider_admin.post(f"/agency/deham-customs/members/{colleague.pk}/offboard/", {}).status_code == 404
    assert outsider_admin.post(f"/agency/deham-customs/tokens/{token.pk}/revoke/").status_code == 404
    assert outsider_admin.post(f"/agency/deham-customs/keys/{key.kid}/revoke/", {"reason": "x"}).status_code == 404
    assert outsider_admin.post(f"/agency/deham-customs/nodes/{node.id}/deactivate/").status_code == 404
    colleague.refresh_from_db()
    key.refresh_from_db()
    node.refresh_from_db()
    assert colleague.is_active
    assert colleague.role == "analyst"
    assert key.status == KeyStatus.ACTIVE
    assert node.is_active
    assert token_client(raw).get("/api/v1/me/").status_code == 200
    assert not User.objects.filter(username="intruder").exists()
    # And what they list holds only their own agency.
    html = outsider_admin.get("/agency/deham-customs/members/").content.decode()
    assert "antwerp.analyst" not in html
    assert "laptop" not in html


# ---------------------------------------------------------------- members and tokens


def test_members_list_in_the_readers_time_zone(cast, admin):
    colleague = cast["users"]["colleague"]
    colleague.last_login = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)
    colleague.save(update_fields=["last_login"])
    token_issue(user=colleague, name="laptop")
    UserProfile.objects.filter(user=cast["users"]["antwerp_admin"]).update(timezone="Asia/Tokyo")
    html = admin.get(f"{BEANR}/members/").content.decode()
    assert "02/03/2026 17:30 JST" in html  # 08:30 UTC in Tokyo, in the English short format
    assert cast["memberships"]["colleague"].handle in html
    row = html.split('data-username="antwerp.analyst"')[1].split("</tr>")[0]
    assert '<td class="num">1</td>' in row  # one live token
    assert "laptop" in html
    assert "hamburg.officer" not in html  # members of other agencies are not listed
    assert zoneinfo.ZoneInfo("Asia/Tokyo")


def test_add_a_new_member_shows_a_one_time_password_that_works(admin, cast):
    response = admin.post(
        f"{BEANR}/members/",
        {"username": "antwerp.newcomer", "display_name": "Nina Newcomer", "email": "", "role": "officer"},
    )
    assert response.status_code == 200
    password = response.context["new_account"]["password"]
    assert password in response.content.decode()
    membership = Membership.objects.get(user__username="antwerp.newcomer")
    assert membership.role == "officer"
    assert membership.agency.slug == "beanr-customs"
    assert AuditEntry.objects.filter(action="member.added", actor="antwerp.admin").exists()
    login = Client().post("/login/", {"username": "antwerp.newcomer", "password": password})
    assert login.status_code == 302
    assert login["Location"] == "/"
    # Not kept anywhere for later: the members page no longer shows it.
    assert password not in admin.get(f"{BEANR}/members/").content.decode()


def test_adding_an_existing_account_never_touches_its_password(admin, cast):
    hamburg = cast["users"]["hamburg_police"]
    before = hamburg.password
    # An existing account is not created again; its holder is invited and joins only by accepting.
    response = admin.post(f"{BEANR}/members/", {"username": "hamburg.police", "role": "analyst"})
    assert response.status_code == 400
    response = admin.post(f"{BEANR}/members/invite/", {"invite-username": "hamburg.police", "invite-role": "analyst"})
    assert response.status_code == 302
    hamburg.refresh_from_db()
    assert hamburg.password == before
    assert not Membership.objects.filter(user=hamburg, agency__slug="beanr-customs").exists()


def test_admin_cannot_grant_liaison_nor_change_their_own_role(admin, cast):
    colleague = cast["memberships"]["colleague"]
    response = admin.post(f"{BEANR}/members/", {"username": "someone.new", "role": "liaison"})
    assert response.status_code == 400
    admin.post(f"{BEANR}/members/{colleague.pk}/role/", {"role": "liaison"})
    own = cast["memberships"]["antwerp_admin"]
    admin.post(f"{BEANR}/members/{own.pk}/role/", {"role": "analyst"})
    colleague.refresh_from_db()
    own.refresh_from_db()
    assert colleague.role == "analyst"
    assert own.role == "admin"
    admin.post(f"{BEANR}/members/{colleague.pk}/role/", {"role": "officer"})
    colleague.refresh_from_db()
    assert colleague.role == "officer"
    assert AuditEntry.objects.filter(action="member.role_changed", actor="antwerp.admin").count() == 1


def test_offboarding_deactivates_revokes_tokens_and_is_audited(admin, cast):
    colleague = cast["memberships"]["colleague"]
    _, raw = token_issue(user=colleague.user, name="laptop")
    api = token_client(raw)
    assert api.get("/api/v1/alerts/").status_code == 200
    confirm = admin.get(f"{BEANR}/members/{colleague.pk}/offboard/")
    assert "revoke their 1 live API token" in confirm.content.decode()
    wrong = admin.post(f"{BEANR}/members/{colleague.pk}/offboard/", {"confirm": "someone else"})
    assert wrong.status_code == 400
    colleague.refresh_from_db()
    assert colleague.is_active
    done = admin.post(f"{BEANR}/members/{colleague.pk}/offboard/", {"confirm": "antwerp.analyst"})
    assert done.status_code == 200
    assert 'id="revoked-count">1<' in done.content.decode()
    colleague.refresh_from_db()
    assert not colleague.is_active
    assert colleague.deactivated_at is not None
    assert not ApiToken.objects.filter(user=colleague.user, revoked_at__isnull=True).exists()
    assert api.get("/api/v1/alerts/").status_code == 401
    entry = AuditEntry.objects.filter(action="member.offboarded").latest("seq")
    assert entry.actor == "antwerp.admin"
    assert entry.data["user"] == "antwerp.analyst"
    html = admin.get(f"{BEANR}/members/").content.decode()
    assert "offboarded" in html.split('data-username="antwerp.analyst"')[1].split("</tr>")[0]
    # An admin does not offboard themselves (the agency would be left without one).
    own = cast["memberships"]["antwerp_admin"]
    assert admin.post(f"{BEANR}/members/{own.pk}/offboard/", {"confirm": "antwerp.admin"}).status_code == 400


def test_revoke_a_members_personal_token(admin, cast):
    _, raw = token_issue(user=cast["users"]["author"], name="script")
    token = ApiToken.objects.get(user=cast["users"]["author"], name="script")
    assert admin.post(f"{BEANR}/tokens/{token.pk}/revoke/").status_code == 302
    assert token_client(raw).get("/api/v1/me/").status_code == 401
    assert AuditEntry.objects.filter(action="token.revoked", actor="antwerp.admin", object_id=str(token.pk)).exists()
    # A token of someone who was never our member is not ours to revoke.
    token_issue(user=cast["users"]["hamburg_police"], name="theirs")
    theirs = ApiToken.objects.get(name="theirs")
    assert admin.post(f"{BEANR}/tokens/{theirs.pk}/revoke/").status_code == 404


# ---------------------------------------------------------------- keys


def test_key_rotation_and_revocation_show_in_the_jwks(admin, cast, api):
    first = agency_key_ensure(cast["memberships"]["author"].agency)
    assert admin.post(f"{BEANR}/keys/rotate/").status_code == 302
    jwks = {k["kid"]: k for k in api.get("/.well-known/jwks.json").json()["keys"]}
    assert jwks[first.kid]["status"] == "retired"
    new = SigningKey.objects.get(agency__slug="beanr-customs", status=KeyStatus.ACTIVE)
    assert jwks[new.kid]["status"] == "active"
    assert jwks[new.kid]["owner"] == "beanr-customs"
    # A reason is required.
    admin.post(f"{BEANR}/keys/{first.kid}/revoke/", {"reason": "  "})
    first.refresh_from_db()
    assert first.status == KeyStatus.RETIRED
    admin.post(f"{BEANR}/keys/{first.kid}/revoke/", {"reason": "laptop with the backup was stolen"})
    jwks = {k["kid"]: k for k in api.get("/.well-known/jwks.json").json()["keys"]}
    assert jwks[first.kid]["status"] == "revoked"
    assert jwks[new.kid]["status"] == "active"
    html = admin.get(f"{BEANR}/keys/").content.decode()
    assert "laptop with the backup was stolen" in html
    actions = set(AuditEntry.objects.filter(actor="antwerp.admin").values_list("action", flat=True))
    assert {"key.retired", "key.created", "key.revoked"} <= actions


def test_a_signature_by_a_revoked_key_shows_revoked(admin, cast, publish, api_as):
    alert = publish(cast["users"]["author"], tlp="GREEN")
    key = SigningKey.objects.get(agency__slug="beanr-customs", status=KeyStatus.ACTIVE)
    admin.post(f"{BEANR}/keys/{key.kid}/revoke/", {"reason": "compromised"})
    body = api_as(cast["users"]["rotterdam_police"]).get(f"/api/v1/alerts/{alert['id']}/").json()
    assert "revoked" in str(body)


# ---------------------------------------------------------------- scanner nodes


def test_register_a_node_rotate_its_key_reissue_its_token_and_deactivate_it(admin, cast):
    private = Ed25519PrivateKey.generate()
    response = admin.post(
        f"{BEANR}/nodes/",
        {"node_id": "beanr-scanner-07", "description": "Gate 7 portal", "public_key": pem(private)},
    )
    assert response.status_code == 200
    first_token = response.context["token"]
    assert first_token in response.content.decode()
    node = ScannerNode.objects.get(pk="beanr-scanner-07")
    assert node.agency.slug == "beanr-customs"
    assert node.port_id == "BEANR"
    assert token_client(first_token).get("/api/v1/nodes/me/").status_code == 200
    html = admin.get(f"{BEANR}/nodes/").content.decode()
    assert "beanr-scanner-07" in html
    assert "Gate 7 portal" in html
    assert first_token not in html

    # Key rotation: the old key is retired (still verifies old scans), the new one is active.
    old_kid = node.keys.get().kid
    admin.post(f"{BEANR}/nodes/{node.id}/key/", {"public_key": public_x(Ed25519PrivateKey.generate().public_key())})
    statuses = dict(node.keys.values_list("kid", "status"))
    assert statuses[old_kid] == KeyStatus.RETIRED
    assert list(statuses.values()).count(KeyStatus.ACTIVE) == 1

    # Token reissue: the old token stops, the new one works.
    response = admin.post(f"{BEANR}/nodes/{node.id}/token/")
    second_token = response.context["token"]
    assert token_client(first_token).get("/api/v1/nodes/me/").status_code == 401
    assert token_client(second_token).get("/api/v1/nodes/me/").status_code == 200

    # Deactivation: nothing works any more.
    admin.post(f"{BEANR}/nodes/{node.id}/deactivate/")
    node.refresh_from_db()
    assert not node.is_active
    assert token_client(second_token).get("/api/v1/nodes/me/").status_code == 401
    actions = list(AuditEntry.objects.filter(actor="antwerp.admin").values_list("action", flat=True))
    for action in ("node.registered", "key.created", "key.retired", "token.revoked", "node.deactivated"):
        assert action in actions


def test_node_registration_refuses_bad_keys_and_taken_ids(admin, cast):
    response = admin.post(f"{BEANR}/nodes/", {"node_id": "beanr-scanner-08", "public_key": "not a key"})
    assert response.status_code == 400
    assert "Not an Ed25519 public key" in response.content.decode()
    node_register(
        node_id="deham-scanner-01",
        agency=cast["memberships"]["hamburg_customs"].agency,
        public_key=public_x(Ed25519PrivateKey.generate().public_key()),
    )
    response = admin.post(
        f"{BEANR}/nodes/",
        {"node_id": "deham-scanner-01", "public_key": public_x(Ed25519PrivateKey.generate().public_key())},
    )
    assert response.status_code == 400
    assert ScannerNode.objects.get(pk="deham-scanner-01").agency.slug == "deham-customs"


def test_node_registration_by_uploaded_pem_file(admin):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("node.pem", pem(Ed25519PrivateKey.generate()).encode(), "application/x-pem-file")
    response = admin.post(f"{BEANR}/nodes/", {"node_id": "beanr-scanner-09", "public_key_file": upload})
    assert response.status_code == 200
    assert ScannerNode.objects.filter(pk="beanr-scanner-09").exists()


# ---------------------------------------------------------------- report (a): who can read


def _publish_mix(cast, publish) -> dict:
    m = cast["memberships"]
    author = cast["users"]["author"]
    return {
        "GREEN": publish(author, tlp="GREEN", title="Green notice"),
        "AMBER": publish(
            author,
            tlp="AMBER",
            title="Amber notice",
            audience={"agencies": ["nlrtm-customs"], "ports": ["DEHAM"], "users": []},
        ),
        "AMBER+STRICT": publish(
            author,
            tlp="AMBER+STRICT",
            title="Strict notice",
            audience={"agencies": ["europol"], "ports": [], "users": []},
        ),
        "RED": publish(
            author,
            tlp="RED",
            title="Red notice for Rotterdam",
            audience={"agencies": [], "ports": [], "users": [m["rotterdam_customs"].handle]},
        ),
    }


def test_readers_report_agrees_with_the_access_rule(cast, publish, make_member):
    # A second Rotterdam customs member: RED names one person, not their agency.
    make_member("rotterdam.colleague", "nlrtm-customs", "analyst")
    published = _publish_mix(cast, publish)
    people = list(User.objects.all())
    for level, doc in published.items():
        alert = access.alert_rows(Alert.objects.filter(pk=doc["id"])).get()
        readership = access.readers_of(alert)
        expected = {u.username for u in people if access.alerts_visible_to(u).filter(pk=alert.pk).exists()}
        reported = set(
            Membership.objects.filter(agency__in=readership.agencies, is_active=True).values_list(
                "user__username", flat=True
            )
        ) | set(readership.members.values_list("user__username", flat=True))
        assert reported == expected, level
    assert "rotterdam.colleague" not in reported  # RED


def test_readers_report_page(cast, publish, admin):
    published = _publish_mix(cast, publish)
    response = admin.get(f"{BEANR}/reports/readers/")
    assert response.status_code == 200
    rows = {row.item.tlp: row for row in response.context["rows"]}
    assert sorted(rows) == ["AMBER", "AMBER+STRICT", "GREEN", "RED"]
    times = [r.item.created_at for r in response.context["rows"]]
    assert times == sorted(times, reverse=True)  # newest first
    assert rows["GREEN"].everyone
    assert {a.slug for a in rows["AMBER"].agencies} == {
        "beanr-customs",
        "nlrtm-customs",
        "deham-customs",
        "deham-police",
    }
    assert {a.slug for a in rows["AMBER+STRICT"].agencies} == {"beanr-customs", "europol"}
    assert rows["AMBER+STRICT"].member_count == 5  # three in Antwerp customs, two at Europol
    assert {m.handle for m in rows["RED"].members} == {
        cast["memberships"]["author"].handle,
        cast["memberships"]["rotterdam_customs"].handle,
    }
    html = response.content.decode()
    # The admin is no reader of the RED alert: its title stays hidden from them.
    assert "Red notice for Rotterdam" not in html
    assert "title withheld" in html
    assert "Strict notice" in html
    csv_body = b"".join(admin.get(f"{BEANR}/reports/readers/?format=csv").streaming_content).decode()
    assert published["RED"]["id"] in csv_body
    assert cast["memberships"]["rotterdam_customs"].handle in csv_body
    assert "Red notice" not in csv_body


def test_readers_report_lists_only_our_items(cast, publish, admin):
    other = publish(cast["users"]["hamburg_customs"], **alert_fields(tlp="GREEN", title="Hamburg", port="DEHAM"))
    response = admin.get(f"{BEANR}/reports/readers/")
    assert other["id"] not in response.content.decode()


# ---------------------------------------------------------------- report (b): who read


def test_reads_report_lists_a_red_read_by_a_named_member(cast, publish, admin, api_as, outsider_admin):
    published = _publish_mix(cast, publish)
    red = published["RED"]
    reader = api_as(cast["users"]["rotterdam_customs"])
    assert reader.get(f"/api/v1/alerts/{red['id']}/").status_code == 200  # a detail read
    assert reader.get("/api/v1/alerts/").status_code == 200  # a list read naming it among others
    # Reads of GREEN and AMBER are not audited; a read of another agency's RED is not ours.
    api_as(cast["users"]["rotterdam_police"]).get(f"/api/v1/alerts/{published['GREEN']['id']}/")
    theirs = publish(
        cast["users"]["hamburg_customs"],
        **alert_fields(
            tlp="RED",
            port="DEHAM",
            audience={"agencies": [], "ports": [], "users": [cast["memberships"]["hamburg_police"].handle]},
        ),
    )
    api_as(cast["users"]["hamburg_police"]).get(f"/api/v1/alerts/{theirs['id']}/")
    UserProfile.objects.filter(user=cast["users"]["antwerp_admin"]).update(timezone="America/Guayaquil")

    response = admin.get(f"{BEANR}/reports/reads/")
    assert response.status_code == 200
    events = response.context["events"]
    readers = [e.entry.actor for e in events]
    assert readers.count("rotterdam.analyst") == 2
    assert "hamburg.police" not in readers
    assert "rotterdam.police" not in readers
    assert {e.entry.data.get("via") for e in events if e.entry.actor == "rotterdam.analyst"} == {"detail", "list"}
    for event in events:
        assert {str(i.pk) for i in event.items} <= {published["RED"]["id"], published["AMBER+STRICT"]["id"]}
    html = response.content.decode()
    assert "Rotterdam Analyst" in html
    assert cast["memberships"]["rotterdam_customs"].handle in html
    assert " -05" in html  # times in the admin's own zone (Guayaquil, UTC-5)
    csv_body = b"".join(admin.get(f"{BEANR}/reports/reads/?format=csv").streaming_content).decode()
    assert "rotterdam.analyst" in csv_body
    assert red["id"] in csv_body
    # Hamburg's admin sees Hamburg's reads only.
    response = outsider_admin.get("/agency/deham-customs/reports/reads/")
    assert [e.entry.actor for e in response.context["events"]] == ["hamburg.police"]


def test_former_members_tokens_and_disabled_accounts_are_not_an_agency_admins(cast, make_member):
    from ports.admin_selectors import agency_member_tokens
    from ports.admin_services import admin_member_invite
    from ports.services import member_offboard, token_issue

    m, u = cast["memberships"], cast["users"]
    # The analyst moves to Antwerp police: still active there, so that membership's token lives on,
    # out of customs' sight; the customs membership's token ends with it.
    mover = make_member("antwerp.analyst", "beanr-police", "analyst")
    token, _ = token_issue(membership=mover, name="notebook")
    old, _ = token_issue(membership=m["colleague"], name="customs notebook")
    member_offboard(membership=m["colleague"], actor=u["antwerp_admin"])
    assert mover.is_active
    assert token.pk not in set(agency_member_tokens(m["author"].agency).values_list("pk", flat=True))
    assert token.pk in set(agency_member_tokens(mover.agency).values_list("pk", flat=True))
    old.refresh_from_db()
    assert old.revoked_at is not None
    # A disabled account is not switched back on by an agency admin inviting it (nor told apart).
    u["hamburg_terminal"].is_active = False
    u["hamburg_terminal"].save(update_fields=["is_active"])
    admin_member_invite(
        agency=m["author"].agency, username="hamburg.terminal", role="analyst", actor=u["antwerp_admin"]
    )
    u["hamburg_terminal"].refresh_from_db()
    assert not u["hamburg_terminal"].is_active
    assert not Membership.objects.filter(user=u["hamburg_terminal"], agency=m["author"].agency).exists()


def test_a_private_sector_admin_sees_handles_never_the_people_behind_them(cast, publish, verified, make_member, api_as):
    """SPEC section 2: private-sector members never see who is behind a handle, in the reports included."""
    terminal_officer = make_member("rotterdam.terminal.officer", "nlrtm-terminal-operator", "officer")
    terminal_admin = verified(make_member("rotterdam.terminal.admin", "nlrtm-terminal-operator", "admin").user)
    reader = cast["memberships"]["rotterdam_customs"]
    red = publish(
        terminal_officer.user,
        **alert_fields(tlp="RED", port="NLRTM", audience={"agencies": [], "ports": [], "users": [reader.handle]}),
    )
    assert api_as(reader.user).get(f"/api/v1/alerts/{red['id']}/").status_code == 200
    base = "/agency/nlrtm-terminal-operator/reports"
    for path in (f"{base}/reads/", f"{base}/reads/?format=csv", f"{base}/readers/", f"{base}/readers/?format=csv"):
        response = terminal_admin.get(path)
        assert response.status_code == 200, path
        body = b"".join(response.streaming_content) if response.streaming else response.content
        text = body.decode()
        assert reader.handle in text, path
        assert "rotterdam.analyst" not in text, path
        assert "Rotterdam Analyst" not in text, path
