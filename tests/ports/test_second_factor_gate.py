"""A password alone opens nothing for someone with a confirmed TOTP device (SPEC section 2).

The attacker has the password (phished, reused) but not the phone. Until the second factor is
verified in the session, every page sends them to the verify form and every session API call is
refused; their personal token (a separate credential) keeps working. `next=` never leaves the site.
"""

from datetime import date
from urllib.parse import urlencode

import pytest
from django.test import Client
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from ports.services import token_issue
from sharing.models import Alert
from sharing.services.alerts import alert_publish
from tests.conftest import PASSWORD
from trends.models import DisplacementFlag

pytestmark = pytest.mark.django_db

VERIFY = "/account/2fa/verify/"


def totp_code(device: TOTPDevice) -> str:
    """What the phone shows now, computed from the device key as the authenticator app would."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():0{device.digits}d}"


def alert_data(**overrides) -> dict:
    return {
        "title": "Rip-on bags in reefers from Guayaquil",
        "body": "Seals replaced; cloned seal numbers.",
        "category": "rip_on_rip_off",
        "severity": "high",
        "tlp": "RED",
        "audience": {"agencies": [], "ports": [], "users": []},
        "containers": [],
        "vessels": [],
        "port": "BEANR",
        "origin": "ECGYE",
        **overrides,
    }


def password_only(username: str) -> APIClient:
    """A client that logged in through the form with the right password and nothing else."""
    client = APIClient()
    response = client.post("/login/", {"username": username, "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"].startswith(VERIFY)
    return client


def verify(client: APIClient, device: TOTPDevice) -> None:
    response = client.post(VERIFY, {"token": totp_code(device)})
    assert response.status_code == 302


@pytest.fixture
def officer(cast):
    """The Antwerp customs officer, with a phone enrolled, and a RED alert of their own."""
    user = cast["users"]["author"]
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    alert = alert_publish(membership=cast["memberships"]["author"], data=alert_data())
    return user, device, alert


@pytest.fixture
def flag(cast):
    now = timezone.now()
    return DisplacementFlag.objects.create(
        from_port_id="NLRTM",
        to_port_id="BEANR",
        origin_id="ECGYE",
        tightening_starts_on=date(2025, 3, 3),
        tightening_source="measure",
        window_before_start=date(2024, 9, 2),
        window_before_end=date(2025, 3, 3),
        window_after_start=date(2025, 3, 17),
        window_after_end=date(2025, 6, 9),
        lag_weeks=2,
        wdq=-0.8,
        effect=0.9,
        p_value=0.0004,
        p_raw=0.00001,
        confidence="high",
        evidence=[],
        detected_at=now,
        updated_at=now,
    )


def assert_second_factor_refusal(response) -> None:
    assert response.status_code == 403, response.content
    assert response.json() == {"code": "second_factor_required", "errors": {}}


# ---------------------------------------------------------------- pages


def test_password_alone_opens_no_page_only_the_verify_form(officer):
    user, device, alert = officer
    client = password_only(user.username)
    for path in ["/", "/alerts/", f"/alerts/{alert.pk}/", "/trends/", "/agency/", "/practices/", "/account/2fa/setup/"]:
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith(VERIFY), (path, response["Location"])
    assert client.get(f"/alerts/{alert.pk}/")["Location"] == f"{VERIFY}?next=/alerts/{alert.pk}/"
    # A form post is refused too (not only page views): no alert gets published this way.
    form = {k: v for k, v in alert_data(title="Posted without a second factor", tlp="GREEN").items() if k != "audience"}
    created = client.post("/alerts/new/", form)
    assert created.status_code == 302
    assert created["Location"].startswith(VERIFY)
    assert not Alert.objects.filter(title="Posted without a second factor").exists()
    assert "Rip-on bags" not in client.get(f"/alerts/{alert.pk}/", follow=True).content.decode()
    # The verify form itself, and logging out, stay open.
    assert client.get(VERIFY).status_code == 200
    # After the second factor, the way back leads where they were going, and every page opens.
    response = client.post(f"{VERIFY}?next=/alerts/{alert.pk}/", {"token": totp_code(device)})
    assert response.status_code == 302
    assert response["Location"] == f"/alerts/{alert.pk}/"
    detail = client.get(f"/alerts/{alert.pk}/")
    assert detail.status_code == 200
    assert "Rip-on bags" in detail.content.decode()
    for path in ["/", "/alerts/", "/trends/"]:
        assert client.get(path).status_code == 200, path


def test_logout_still_works_before_the_second_factor(officer):
    user, _, _ = officer
    client = password_only(user.username)
    client.post("/logout/")
    response = client.get("/alerts/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_login_with_a_device_keeps_a_safe_next_through_the_verify_form(officer):
    user, device, alert = officer
    client = Client()
    response = client.post(
        "/login/", {"username": user.username, "password": PASSWORD, "next": "/alerts/?tlp=RED&q=rip"}
    )
    assert response.status_code == 302
    assert response["Location"] == f"{VERIFY}?next=/alerts/%3Ftlp%3DRED%26q%3Drip"
    verified = client.post(response["Location"], {"token": totp_code(device)})
    assert verified["Location"] == "/alerts/?tlp=RED&q=rip"


# ---------------------------------------------------------------- API by session


def test_password_alone_gets_no_api_answer(officer, cast, flag):
    user, device, alert = officer
    client = password_only(user.username)
    assert_second_factor_refusal(client.get("/api/v1/alerts/"))
    assert_second_factor_refusal(client.get(f"/api/v1/alerts/{alert.pk}/"))
    assert_second_factor_refusal(client.get("/api/v1/me/"))
    assert_second_factor_refusal(
        client.post("/api/v1/alerts/", alert_data(title="Signed by the attacker"), format="json")
    )
    # Any other Authorization scheme is not a token: the session would answer, so the gate refuses.
    client.credentials(HTTP_AUTHORIZATION="Basic YW50d2VycC5vZmZpY2VyOmRlbW8=")
    assert_second_factor_refusal(client.get("/api/v1/alerts/"))
    client.credentials()
    verify(client, device)
    listing = client.get("/api/v1/alerts/")
    assert listing.status_code == 200
    assert listing.json()["count"] == 1
    assert client.post("/api/v1/alerts/", alert_data(title="Second one"), format="json").status_code == 201


def test_a_liaison_decides_on_a_flag_only_after_the_second_factor(cast, flag):
    liaison = cast["users"]["europol_liaison"]
    device = TOTPDevice.objects.create(user=liaison, name="phone", confirmed=True)
    client = password_only(liaison.username)
    url = f"/api/v1/displacement/{flag.pk}/status/"
    decision = {"status": "dismissed", "reason": "decided by whoever had the password"}
    assert_second_factor_refusal(client.post(url, decision, format="json"))
    flag.refresh_from_db()
    assert flag.status == "open"
    verify(client, device)
    response = client.post(url, {"status": "confirmed", "reason": "seizures at Antwerp match"}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "confirmed"


def test_a_personal_token_is_not_a_session_and_keeps_working(officer):
    user, _, alert = officer
    _, raw = token_issue(user=user, name="scripts")
    by_token = APIClient()
    by_token.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
    listing = by_token.get("/api/v1/alerts/")
    assert listing.status_code == 200
    assert listing.json()["results"][0]["id"] == str(alert.pk)
    # Even sent from a browser that also holds an unverified session: the token decides, not the session.
    mixed = password_only(user.username)
    mixed.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
    assert mixed.get("/api/v1/alerts/").status_code == 200
    # A wrong token with that session is refused as a wrong token, never answered by the session.
    mixed.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert mixed.get("/api/v1/alerts/").status_code == 401


def test_members_without_a_device_are_not_affected(cast):
    client = APIClient()
    assert client.post("/login/", {"username": "antwerp.analyst", "password": PASSWORD})["Location"] == "/"
    assert client.get("/alerts/").status_code == 200
    assert client.get("/api/v1/alerts/").status_code == 200


# ---------------------------------------------------------------- next= after login and the verify form

HOSTILE_NEXT = [
    "/\\evil.example",
    "//evil.example",
    "///evil.example",
    "https://evil.example",
    "http://testserver.evil.example/",
    "\\\\evil.example",
    "/%5Cevil.example",
    "/%2F%2Fevil.example",
    "java script:alert(1)",
    "javascript:alert(1)",
    " /\\evil.example",
    "/\tevil.example",
    "evil.example",
]


@pytest.mark.parametrize("hostile", HOSTILE_NEXT)
def test_next_after_login_stays_on_this_site(cast, hostile):
    client = Client()
    response = client.post("/login/", {"username": "antwerp.analyst", "password": PASSWORD, "next": hostile})
    assert response.status_code == 302
    assert response["Location"] == "/"
    client.logout()
    response = client.post(
        "/login/?" + urlencode({"next": hostile}), {"username": "antwerp.analyst", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response["Location"] == "/"


@pytest.mark.parametrize("hostile", HOSTILE_NEXT)
def test_next_after_the_second_factor_stays_on_this_site(officer, hostile):
    user, device, _ = officer
    client = Client()
    login = client.post("/login/", {"username": user.username, "password": PASSWORD, "next": hostile})
    assert login["Location"] == f"{VERIFY}?next=/"
    response = client.post(VERIFY, {"token": totp_code(device), "next": hostile})
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_a_path_on_this_site_is_kept(cast):
    client = Client()
    response = client.post(
        "/login/", {"username": "antwerp.analyst", "password": PASSWORD, "next": "/trends/?port=BEANR"}
    )
    assert response["Location"] == "/trends/?port=BEANR"
