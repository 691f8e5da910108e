"""Login lockout (django-axes, per username and address, with a cool-off) and the TOTP second factor.

Agency administration needs an admin whose session is verified with TOTP;
codes are computed from the device key in the database, as a phone would.
"""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.test import Client
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from ports.models import AuditEntry
from tests.conftest import PASSWORD

ADDRESS_A, ADDRESS_B = "192.0.2.10", "198.51.100.20"


def attempt(username: str, password: str, address: str):
    return Client(REMOTE_ADDR=address).post("/login/", {"username": username, "password": password})


def fail(username: str, address: str, times: int) -> None:
    for _ in range(times):
        response = attempt(username, "wrong-password", address)
        assert response.status_code in (200, 429)


def locked(response) -> bool:
    return response.status_code == 429 and "Too many failed logins" in response.content.decode()


def throttle_passes(device: TOTPDevice) -> None:
    """django-otp throttles a device for a growing delay after each wrong code; let that delay pass."""
    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_timestamp=timezone.now() - timedelta(minutes=1))


def code(device: TOTPDevice, offset_steps: int = 0) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = totp.time + offset_steps * device.step
    return f"{totp.token():0{device.digits}d}"


# ---------------------------------------------------------------- lockout


def test_failed_logins_below_the_limit_do_not_lock(cast):
    fail("antwerp.officer", ADDRESS_A, settings.AXES_FAILURE_LIMIT - 1)
    response = attempt("antwerp.officer", PASSWORD, ADDRESS_A)
    assert response.status_code == 302


def test_lockout_after_repeated_failures_refuses_even_the_right_password(cast):
    fail("antwerp.officer", ADDRESS_A, settings.AXES_FAILURE_LIMIT)
    assert locked(attempt("antwerp.officer", PASSWORD, ADDRESS_A))
    failures = AuditEntry.objects.filter(action="auth.login_failed", object_id="antwerp.officer")
    assert failures.count() >= settings.AXES_FAILURE_LIMIT
    assert failures.first().data["ip"] == ADDRESS_A


def test_lockout_is_per_username_and_address(cast):
    """The pair is locked: the same person from another address, and another person from this address, get in.

    (A lock on the username alone would let anyone lock an officer out; on the address alone, a whole port office.)
    """
    fail("antwerp.officer", ADDRESS_A, settings.AXES_FAILURE_LIMIT)
    assert locked(attempt("antwerp.officer", PASSWORD, ADDRESS_A))
    assert attempt("antwerp.officer", PASSWORD, ADDRESS_B).status_code == 302
    assert attempt("antwerp.analyst", PASSWORD, ADDRESS_A).status_code == 302
    # Failures spread over two addresses do not add up for either pair.
    fail("rotterdam.analyst", ADDRESS_A, settings.AXES_FAILURE_LIMIT - 1)
    fail("rotterdam.analyst", ADDRESS_B, settings.AXES_FAILURE_LIMIT - 1)
    assert attempt("rotterdam.analyst", PASSWORD, ADDRESS_A).status_code == 302


def test_lockout_ends_after_the_cool_off(cast):
    assert settings.AXES_COOLOFF_TIME  # configured (hours)
    fail("antwerp.officer", ADDRESS_A, settings.AXES_FAILURE_LIMIT)
    assert locked(attempt("antwerp.officer", PASSWORD, ADDRESS_A))
    # Half a minute before the cool-off ends: still locked.
    cool_off = timedelta(hours=settings.AXES_COOLOFF_TIME)
    AccessAttempt.objects.update(attempt_time=timezone.now() - cool_off + timedelta(seconds=30))
    assert locked(attempt("antwerp.officer", PASSWORD, ADDRESS_A))
    # After it: the right password works again, and success clears the failures.
    AccessAttempt.objects.update(attempt_time=timezone.now() - cool_off - timedelta(minutes=1))
    assert attempt("antwerp.officer", PASSWORD, ADDRESS_A).status_code == 302
    assert not AccessAttempt.objects.filter(username="antwerp.officer", failures_since_start__gt=0).exists()


# ---------------------------------------------------------------- TOTP


def test_admin_without_totp_enrols_then_reaches_agency_administration(cast):
    client = Client(REMOTE_ADDR=ADDRESS_A)
    assert client.post("/login/", {"username": "antwerp.admin", "password": PASSWORD}).status_code == 302
    response = client.get("/agency/")
    assert response.status_code == 302
    assert response["Location"] == "/account/2fa/setup/"
    setup = client.get("/account/2fa/setup/")
    assert setup.status_code == 200
    assert "data:image/svg+xml" in setup.content.decode()
    device = TOTPDevice.objects.get(user__username="antwerp.admin", confirmed=False)
    wrong = client.post("/account/2fa/setup/", {"token": "000000" if code(device) != "000000" else "111111"})
    assert wrong.status_code == 200
    assert "not valid" in wrong.content.decode()
    assert client.get("/agency/").status_code == 302
    # Right after a wrong code, even the right one waits out the throttle.
    assert client.post("/account/2fa/setup/", {"token": code(device)}).status_code == 200
    throttle_passes(device)
    assert client.post("/account/2fa/setup/", {"token": code(device)}).status_code == 302
    device.refresh_from_db()
    assert device.confirmed
    assert client.get("/agency/").status_code == 200
    assert AuditEntry.objects.filter(action="auth.totp_enrolled", actor="antwerp.admin").exists()


def test_admin_with_a_device_verifies_at_login_and_a_code_is_not_replayed(cast):
    device = TOTPDevice.objects.create(user=cast["users"]["antwerp_admin"], name="phone", confirmed=True)
    client = Client(REMOTE_ADDR=ADDRESS_A)
    response = client.post("/login/", {"username": "antwerp.admin", "password": PASSWORD, "next": "/agency/"})
    assert response.status_code == 302
    assert response["Location"].startswith("/account/2fa/verify/")
    # Logged in but not verified: administration stays closed.
    response = client.get("/agency/beanr-customs/members/")
    assert response.status_code == 302
    assert "/account/2fa/verify/" in response["Location"]
    bad = client.post("/account/2fa/verify/?next=/agency/", {"token": "12345"})
    assert bad.status_code == 200
    assert "not valid" in bad.content.decode()
    assert AuditEntry.objects.filter(action="auth.totp_failed", actor="antwerp.admin").exists()
    throttle_passes(device)
    token = code(device)
    response = client.post("/account/2fa/verify/?next=/agency/", {"token": token})
    assert response.status_code == 302
    assert response["Location"] == "/agency/"
    assert client.get("/agency/beanr-customs/members/").status_code == 200
    # Someone who saw the code cannot use it again in another session.
    other = Client(REMOTE_ADDR=ADDRESS_B)
    other.post("/login/", {"username": "antwerp.admin", "password": PASSWORD})
    assert other.post("/account/2fa/verify/?next=/agency/", {"token": token}).status_code == 200
    assert other.get("/agency/").status_code == 302


def test_verify_next_is_never_an_open_redirect(cast):
    device = TOTPDevice.objects.create(user=cast["users"]["antwerp_admin"], name="phone", confirmed=True)
    client = Client()
    client.force_login(cast["users"]["antwerp_admin"])
    response = client.post("/account/2fa/verify/?next=//evil.example/", {"token": code(device)})
    assert response.status_code == 302
    assert response["Location"] == "/"


@pytest.mark.parametrize("who", ["author", "colleague"])
def test_verified_non_admins_still_cannot_administer(cast, who):
    device = TOTPDevice.objects.create(user=cast["users"][who], name="phone", confirmed=True)
    client = Client()
    client.force_login(cast["users"][who])
    client.post("/account/2fa/verify/", {"token": code(device)})
    assert client.get("/agency/").status_code == 403
