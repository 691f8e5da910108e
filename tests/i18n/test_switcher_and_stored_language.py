"""The header's language switcher and the account page's stored language: the most recent choice wins. A
signed-in member's switch is stored (it used to be outranked by the stored choice on the very next page);
a visitor's goes to the language cookie only; a session still waiting for its second factor stores nothing."""

import pytest
from django.conf import settings
from django_otp.plugins.otp_totp.models import TOTPDevice

from ports.models import AuditEntry, UserProfile

pytestmark = pytest.mark.django_db


def _stored(user) -> str:
    return UserProfile.objects.get(user=user).language


def test_the_switcher_updates_a_members_stored_choice(cast, client):
    user = cast["users"]["colleague"]
    UserProfile.objects.update_or_create(user=user, defaults={"language": "de"})
    client.force_login(user)
    assert "Abmelden" in client.get("/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    answer = client.post("/i18n/setlang/", {"language": "nl", "next": "/"}, HTTP_ACCEPT_LANGUAGE="fr")
    assert answer.status_code == 302
    assert answer.cookies[settings.LANGUAGE_COOKIE_NAME].value == "nl"
    assert _stored(user) == "nl"
    assert AuditEntry.objects.filter(action="account.preferences_changed", data__language="nl").exists()
    home = client.get("/", HTTP_ACCEPT_LANGUAGE="fr")
    assert home["Content-Language"] == "nl"
    account = client.get("/account/").content.decode()
    assert '<option value="nl" selected>' in account


def test_the_account_page_after_the_switcher_wins_again(cast, client):
    user = cast["users"]["colleague"]
    client.force_login(user)
    client.post("/i18n/setlang/", {"language": "fr", "next": "/"})
    assert _stored(user) == "fr"
    client.post("/account/preferences/", {"timezone": "Europe/Brussels", "language": "de", **_email_defaults()})
    assert _stored(user) == "de"
    assert client.get("/")["Content-Language"] == "de"  # the French cookie no longer speaks


def test_the_stored_choice_follows_the_member_to_another_browser(cast, client):
    user = cast["users"]["colleague"]
    client.force_login(user)
    client.post("/i18n/setlang/", {"language": "fr", "next": "/"})
    client.logout()
    other = client.__class__()
    other.force_login(user)
    assert other.get("/", HTTP_ACCEPT_LANGUAGE="de")["Content-Language"] == "fr"


def test_a_visitor_switches_by_cookie_only(client):
    answer = client.post("/i18n/setlang/", {"language": "de", "next": "/login/"})
    assert answer.cookies[settings.LANGUAGE_COOKIE_NAME].value == "de"
    assert not UserProfile.objects.exists()


def test_a_session_before_its_second_factor_stores_nothing(cast, client):
    user = cast["users"]["colleague"]
    UserProfile.objects.update_or_create(user=user, defaults={"language": "de"})
    TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    client.force_login(user)  # not verified
    answer = client.post("/i18n/setlang/", {"language": "nl", "next": "/account/2fa/verify/"})
    assert answer.status_code == 302
    assert _stored(user) == "de"


def test_an_unsupported_language_changes_nothing(cast, client):
    user = cast["users"]["colleague"]
    UserProfile.objects.update_or_create(user=user, defaults={"language": "de"})
    client.force_login(user)
    client.post("/i18n/setlang/", {"language": "xx", "next": "/"})
    assert _stored(user) == "de"


def _email_defaults() -> dict:
    return {
        "email_alerts": "immediate",
        "email_correlations": "digest",
        "email_deliveries": "digest",
        "email_displacement": "digest",
    }
