"""TOTP on the account page: enrol (the existing setup flow, one mechanism: django-otp), and remove with a
current code; agency admins cannot remove theirs."""

from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from ports.models import AuditEntry
from tests.conftest import login_verified


def _code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"


def test_without_a_device_the_page_offers_enrolment(cast):
    client = Client()
    client.force_login(cast["users"]["colleague"])
    page = client.get("/account/").content.decode()
    assert 'id="totp-setup-link"' in page
    assert "/account/2fa/setup/" in page
    assert client.get("/account/2fa/setup/").status_code == 200
    assert TOTPDevice.objects.filter(user=cast["users"]["colleague"], confirmed=False).exists()


def test_a_member_removes_their_device_with_a_current_code(cast):
    user = cast["users"]["colleague"]
    client = login_verified(Client(), user)
    device = TOTPDevice.objects.get(user=user)
    assert 'id="totp-remove-form"' in client.get("/account/").content.decode()
    response = client.post("/account/2fa/remove/", {"code": "000000" if _code(device) != "000000" else "111111"})
    assert response.status_code == 400
    assert TOTPDevice.objects.filter(user=user).exists()
    response = client.post("/account/2fa/remove/", {"code": _code(device)})
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=user).exists()
    assert AuditEntry.objects.filter(action="auth.totp_removed", actor=user.username).exists()


def test_an_admin_cannot_remove_theirs(cast):
    admin = cast["users"]["antwerp_admin"]
    client = login_verified(Client(), admin)
    device = TOTPDevice.objects.get(user=admin)
    page = client.get("/account/").content.decode()
    assert 'id="totp-removal-refused"' in page
    assert 'id="totp-remove-form"' not in page
    response = client.post("/account/2fa/remove/", {"code": _code(device)})
    assert response.status_code == 400
    assert "admins must keep a second factor" in response.content.decode()
    assert TOTPDevice.objects.filter(user=admin, confirmed=True).exists()


def test_an_unverified_session_cannot_reach_the_removal(cast):
    """With a confirmed device, the session is good for nothing but the verify form (the gate)."""
    user = cast["users"]["colleague"]
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    client = Client()
    client.force_login(user)
    response = client.post("/account/2fa/remove/", {"code": _code(device)})
    assert response.status_code == 302
    assert "/account/2fa/verify/" in response["Location"]
    assert TOTPDevice.objects.filter(user=user).exists()
