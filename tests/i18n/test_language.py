"""The portal speaks the reader's language: from the switcher's cookie, else the browser's Accept-Language;
dates and numbers follow it; the JavaScript catalogue is a plain script under the strict CSP."""

import datetime as dt

import pytest
from django.conf import settings
from django.template import Context, Template
from django.utils import translation

pytestmark = pytest.mark.django_db


def test_the_browser_language_is_used(client):
    page = client.get("/login/", HTTP_ACCEPT_LANGUAGE="nl-BE,nl;q=0.9,en;q=0.5")
    body = page.content.decode()
    assert page["Content-Language"] == "nl"
    assert '<html lang="nl">' in body
    assert "Inloggen" in body
    assert "Gebruikersnaam" in body
    assert "Log in" not in body


@pytest.mark.parametrize(
    ("accept", "code", "word"),
    [("fr-FR,fr;q=0.9", "fr", "Se connecter"), ("de-DE", "de", "Anmelden"), ("en-US,en;q=0.8", "en-gb", "Log in")],
)
def test_each_language_from_the_browser(client, accept, code, word):
    page = client.get("/login/", HTTP_ACCEPT_LANGUAGE=accept)
    assert page["Content-Language"] == code
    assert word in page.content.decode()


def test_an_unknown_language_falls_back_to_english(client):
    page = client.get("/login/", HTTP_ACCEPT_LANGUAGE="pt-PT,pt;q=0.9")
    assert page["Content-Language"] == "en-gb"


def test_the_switcher_overrides_the_browser_and_stays(client):
    answer = client.post("/i18n/setlang/", {"language": "de", "next": "/login/"}, HTTP_ACCEPT_LANGUAGE="fr")
    assert answer.status_code == 302
    assert answer["Location"] == "/login/"
    assert answer.cookies[settings.LANGUAGE_COOKIE_NAME].value == "de"
    assert answer.cookies[settings.LANGUAGE_COOKIE_NAME]["samesite"] == "Lax"
    page = client.get("/login/", HTTP_ACCEPT_LANGUAGE="fr")
    assert "Anmelden" in page.content.decode()


@pytest.mark.parametrize("target", ["https://evil.example/phish", "//evil.example/", "/\\evil.example"])
def test_the_switcher_never_redirects_off_site(client, target):
    answer = client.post("/i18n/setlang/", {"language": "nl", "next": target})
    assert answer.status_code in (204, 302)
    if answer.status_code == 302:
        assert "evil" not in answer["Location"]


def test_an_unsupported_language_is_not_stored(client):
    answer = client.post("/i18n/setlang/", {"language": "xx", "next": "/login/"})
    assert settings.LANGUAGE_COOKIE_NAME not in answer.cookies


def test_member_pages_are_translated(client, cast):
    client.force_login(cast["users"]["author"])
    home = client.get("/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Vous agissez pour" in home
    assert "Agent" in home  # the role, a model choice label
    assert "Douane" in home  # the agency kind
    assert 'aria-current="page"' in home


@pytest.mark.parametrize(
    ("language", "short", "number"),
    [
        ("en-gb", "07/12/2026 17:05", "1,234.5"),
        ("nl", "7-12-2026 17:05", "1.234,5"),
        ("fr", "07/12/2026 17:05", "1\u202f234,5"),
        ("de", "07.12.2026 17:05", "1.234,5"),
    ],
)
def test_dates_and_numbers_follow_the_language(language, short, number):
    template = Template('{{ when|date:"SHORT_DATETIME_FORMAT" }}|{{ kg|floatformat:"1g" }}')
    when = dt.datetime(2026, 12, 7, 17, 5, tzinfo=dt.UTC)
    with translation.override(language):
        rendered = template.render(Context({"when": when, "kg": 1234.5}))
    got_date, got_number = rendered.split("|")
    assert got_date == short
    assert got_number.replace("\xa0", "\u202f") == number


def test_month_names_follow_the_language():
    with translation.override("de"):
        assert Template('{{ d|date:"DATE_FORMAT" }}').render(Context({"d": dt.date(2026, 3, 1)})) == "1. März 2026"


def test_the_javascript_catalogue_is_a_script_under_the_csp(client):
    answer = client.get("/jsi18n/", HTTP_ACCEPT_LANGUAGE="nl")
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("text/javascript")
    body = answer.content.decode()
    assert "Besluit vastgelegd." in body  # a string of static/trends/flag.js
    policy = answer["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-eval" not in policy
    assert "unsafe-inline" not in policy


def test_the_second_factor_gate_lets_the_language_through(client, cast):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    user = cast["users"]["antwerp_admin"]
    TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    client.force_login(user)  # not verified yet: every page redirects to the verify form
    assert client.get("/").status_code == 302
    assert client.get("/jsi18n/").status_code == 200
    answer = client.post("/i18n/setlang/", {"language": "nl", "next": "/account/2fa/verify/"})
    assert answer.status_code == 302
    assert "Verifieer met uw tweede factor" in client.get("/account/2fa/verify/").content.decode()
