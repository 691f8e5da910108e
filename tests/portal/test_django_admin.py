"""Django admin: superusers only, behind a session verified with the second factor (SPEC section 8);
metadata only, never alert, practice, feedback or scan content (SPEC section 4); every change in the
audit chain; what a service owns is read-only there."""

import pytest
from django.contrib import admin
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from ports.audit import verify_chain
from ports.models import AuditEntry, KeyStatus, Port
from ports.services import agency_key_generate, key_revoke, token_issue
from sharing.services.alerts import alert_publish
from sharing.services.feedback import feedback_submit
from sharing.services.practices import practice_publish
from tests.conftest import PASSWORD, login_verified

pytestmark = pytest.mark.django_db

SECRET_WORDS = [
    "Rip-on bags",
    "cloned seal",
    "MSCU1234566",
    "Reefer unit checks",
    "exit gate drill",
    "behind the doors",
]


@pytest.fixture
def content(cast):
    alert = alert_publish(
        membership=cast["memberships"]["author"],
        data={
            "title": "Rip-on bags in reefers from Guayaquil",
            "body": "Seals replaced; cloned seal numbers.",
            "category": "rip_on_rip_off",
            "severity": "high",
            "tlp": "GREEN",
            "audience": {"agencies": [], "ports": [], "users": []},
            "containers": ["MSCU1234566"],
            "vessels": [],
            "port": "BEANR",
            "origin": "ECGYE",
        },
    )
    practice = practice_publish(
        membership=cast["memberships"]["author"],
        data={
            "title": "Reefer unit checks at the scanner exit",
            "body": "An exit gate drill for reefers.",
            "tags": ["reefer"],
            "tlp": "GREEN",
            "audience": {"agencies": [], "ports": [], "users": []},
        },
    )
    feedback_submit(
        membership=cast["memberships"]["rotterdam_customs"],
        alert=alert,
        data={"outcome": "checked_negative", "note": "Nothing behind the doors."},
    )
    return alert, practice


@pytest.fixture
def operator(cast):
    """The superuser's browser, verified with the second factor."""
    return login_verified(Client(), cast["users"]["superuser"])


def test_admin_lists_metadata_but_no_content(content, operator):
    alert, practice = content
    listing = operator.get("/django-admin/sharing/alert/")
    assert listing.status_code == 200
    html = listing.content.decode()
    assert str(alert.pk) in html
    assert "Rip-on bags" not in html
    assert "MSCU1234566" not in html
    detail = operator.get(f"/django-admin/sharing/alert/{alert.pk}/change/").content.decode()
    assert "Rip-on bags" not in detail
    assert "cloned seal" not in detail
    assert "MSCU1234566" not in detail
    assert "eyJ" not in detail  # no JWS either
    assert operator.get("/django-admin/sharing/alert/?q=Rip").status_code == 200
    assert "Rip-on bags" not in operator.get("/django-admin/sharing/alert/?q=Rip").content.decode()


def test_no_admin_page_shows_content(content, operator):
    """Every registered model's list, and the alert and practice pages, hold no title, body, note or container."""
    alert, practice = content
    pages = [f"/django-admin/{m._meta.app_label}/{m._meta.model_name}/" for m in admin.site._registry]
    pages += [
        f"/django-admin/sharing/alert/{alert.pk}/change/",
        f"/django-admin/sharing/alert/{alert.pk}/history/",
        f"/django-admin/sharing/practice/{practice.pk}/change/",
        "/django-admin/",
    ]
    for path in pages:
        response = operator.get(path)
        assert response.status_code == 200, path
        html = response.content.decode()
        assert not [w for w in SECRET_WORDS if w in html], path


def test_a_password_alone_does_not_open_django_admin(cast):
    root = cast["users"]["superuser"]
    # Without a device: logged in by password, sent to enrol one, never shown the admin.
    client = Client()
    assert client.post("/login/", {"username": "root", "password": PASSWORD}).status_code == 302
    response = client.get("/django-admin/", follow=True)
    assert response.redirect_chain[-1][0] == "/account/2fa/setup/"
    assert client.get("/django-admin/ports/port/").status_code == 302
    # With a device, by password only: sent to the verify form.
    TOTPDevice.objects.create(user=root, name="phone", confirmed=True)
    client = Client()
    client.post("/login/", {"username": "root", "password": PASSWORD})
    response = client.get("/django-admin/ports/port/")
    assert response.status_code == 302
    assert response["Location"].startswith("/account/2fa/verify/")
    # The admin's own login form is no back door: it hands over to the portal's login.
    anonymous = Client()
    response = anonymous.post("/django-admin/login/", {"username": "root", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
    assert anonymous.get("/django-admin/ports/port/").status_code == 302


def test_a_verified_member_who_is_not_staff_is_refused(cast):
    client = login_verified(Client(), cast["users"]["antwerp_admin"])
    response = client.get("/django-admin/", follow=True)
    assert response.status_code == 403


def test_a_change_made_in_django_admin_is_in_the_audit_chain(cast, operator, django_user_model):
    port = Port.objects.get(locode="BEANR")
    form = {
        "locode": port.locode,
        "name": "Antwerp-Bruges",
        "country": port.country,
        "hub": port.hub,
        "latitude": port.latitude,
        "longitude": port.longitude,
        "is_member": "on",
    }
    response = operator.post(f"/django-admin/ports/port/{port.pk}/change/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    port.refresh_from_db()
    assert port.name == "Antwerp-Bruges"
    entry = AuditEntry.objects.get(action="admin.changed", object_type="ports.port", object_id=port.pk)
    assert entry.actor == "root"
    assert entry.data == {"via": "django-admin", "changes": [{"changed": {"fields": ["Name"]}}]}
    # Third-party models too: deleting a user account is audited the same way.
    user = django_user_model.objects.create_user("stray.account")
    response = operator.post(f"/django-admin/auth/user/{user.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert AuditEntry.objects.filter(action="admin.deleted", object_type="auth.user", object_id=str(user.pk)).exists()
    assert verify_chain()[0]


def test_the_operator_changing_their_own_password_in_django_admin_is_audited(cast, operator):
    response = operator.post(
        "/django-admin/password_change/",
        {
            "old_password": PASSWORD,
            "new_password1": "a-new-long-passphrase-42",
            "new_password2": "a-new-long-passphrase-42",
        },
    )
    assert response.status_code == 302
    assert AuditEntry.objects.filter(action="admin.password_changed", actor="root").exists()


def test_a_revoked_key_cannot_be_set_active_in_django_admin(cast, make_agency, operator):
    key = agency_key_generate(agency=make_agency("beanr-customs"))
    key_revoke(key=key, reason="laptop stolen")
    page = operator.get(f"/django-admin/ports/signingkey/{key.pk}/change/")
    assert page.status_code == 200
    assert 'name="status"' not in page.content.decode()
    operator.post(f"/django-admin/ports/signingkey/{key.pk}/change/", {"status": "active", "revocation_reason": ""})
    key.refresh_from_db()
    assert key.status == KeyStatus.REVOKED
    assert key.revocation_reason == "laptop stolen"
    assert operator.post(f"/django-admin/ports/signingkey/{key.pk}/delete/", {"post": "yes"}).status_code == 403
    assert operator.get("/django-admin/ports/signingkey/add/").status_code == 403


def test_a_revoked_token_cannot_be_brought_back_in_django_admin(cast, operator):
    from ports.services import token_revoke

    token, _ = token_issue(user=cast["users"]["colleague"], name="scripts")
    token_revoke(token=token, actor=cast["users"]["colleague"])
    operator.post(f"/django-admin/ports/apitoken/{token.pk}/change/", {"revoked_at_0": "", "revoked_at_1": ""})
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert "key_hash" not in operator.get(f"/django-admin/ports/apitoken/{token.pk}/change/").content.decode()


def test_memberships_and_nodes_change_only_through_their_services(cast, operator):
    membership = cast["memberships"]["colleague"]
    page = operator.get(f"/django-admin/ports/membership/{membership.pk}/change/").content.decode()
    assert 'name="role"' not in page
    assert 'name="is_active"' not in page
    operator.post(f"/django-admin/ports/membership/{membership.pk}/change/", {"role": "admin", "is_active": ""})
    membership.refresh_from_db()
    assert membership.role == "analyst"
    assert membership.is_active
    agency = membership.agency
    page = operator.get(f"/django-admin/ports/agency/{agency.pk}/change/").content.decode()
    assert 'name="kind"' not in page
    assert 'name="slug"' not in page
    assert operator.get("/django-admin/ports/agency/add/").status_code == 403


def test_no_admin_page_shows_a_second_factor_secret(cast, operator):
    """django-otp's own device admin showed each TOTP secret (and its QR code) to the operator."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.create(user=cast["users"]["author"], name="phone", confirmed=True)
    for url in (
        "/django-admin/otp_totp/totpdevice/",
        f"/django-admin/otp_totp/totpdevice/{device.pk}/change/",
        f"/django-admin/otp_totp/totpdevice/{device.pk}/config/",
        f"/django-admin/otp_totp/totpdevice/{device.pk}/qrcode/",
    ):
        response = operator.get(url)
        assert device.key not in response.content.decode(errors="replace"), url
        assert device.bin_key.hex() not in response.content.decode(errors="replace"), url
    assert "phone" in operator.get("/django-admin/otp_totp/totpdevice/").content.decode()
