"""Validation messages of the service layer read in the reader's language: on a page (the member's language)
and on the API (Accept-Language), with the error codes unchanged (English, for machines). Numbers inside the
messages are written as the language writes them."""

import pytest
from django.utils import translation
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from ports.validation import finite_number
from tests.scans.helpers import Node

pytestmark = pytest.mark.django_db

MEASURE = {"port": "BEANR", "origin": "XXZZZ", "starts_on": "2025-02-30", "description": "All reefers scanned"}


def _verified(client, user):
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def test_an_agency_admin_page_shows_the_service_error_in_dutch(cast, client):
    admin = _verified(client, cast["users"]["antwerp_admin"])
    page = admin.post(
        "/agency/beanr-customs/members/",
        {"username": "hamburg.police", "role": "analyst"},
        HTTP_ACCEPT_LANGUAGE="nl",
    )
    assert page.status_code == 400
    text = page.content.decode()
    assert "Deze gebruikersnaam kan niet voor een nieuw account worden gebruikt" in text
    assert "This username cannot be used" not in text


def test_an_api_field_error_follows_accept_language_and_keeps_its_code(cast, api_as):
    client = api_as(cast["users"]["author"])
    french = client.post("/api/v1/measures/", MEASURE, format="json", HTTP_ACCEPT_LANGUAGE="fr")
    assert french.status_code == 400
    body = french.json()
    assert body["code"] == "invalid"
    assert body["errors"]["origin"] == ["XX n'est pas un code pays ISO 3166-1."]
    assert body["errors"]["starts_on"] == ["Une date existante, écrite AAAA-MM-JJ."]
    english = client.post("/api/v1/measures/", MEASURE, format="json").json()
    assert english["code"] == "invalid"
    assert english["errors"]["origin"] == ["XX is not an ISO 3166-1 country code."]


def test_a_member_of_a_port_elsewhere_is_told_in_german(cast, api_as):
    answer = api_as(cast["users"]["author"]).post(
        "/api/v1/measures/",
        {**MEASURE, "port": "DEHAM", "origin": "ECGYE", "starts_on": "2025-03-03"},
        format="json",
        HTTP_ACCEPT_LANGUAGE="de",
    )
    assert answer.status_code == 400
    assert answer.json()["errors"]["port"] == [
        "Sie dürfen Maßnahmen nur in Ihrem eigenen Hafen melden, nicht in DEHAM."
    ]


def test_the_scanner_api_keeps_its_codes_and_translates_only_the_messages(cast, make_agency):
    node = Node("beanr-xr-01", make_agency("beanr-customs"))
    jws = node.sign(node.document(container="MSCU1234567", verdict="maybe"))
    german = node.client.post("/api/v1/scans/", {"jws": jws}, format="json", HTTP_ACCEPT_LANGUAGE="de").json()
    assert german["code"] == "invalid_document"
    assert german["errors"]["container"] == [
        "'MSCU1234567' ist keine ISO-6346-Containernummer mit gültiger Prüfziffer."
    ]
    assert german["errors"]["verdict"] == ["Wählen Sie eines von clear, inconclusive, suspect, positive."]
    # A scanner that sends no Accept-Language (as docs/scanner-api.md shows) reads English.
    plain = node.client.post("/api/v1/scans/", {"jws": jws}, format="json").json()
    assert plain["code"] == "invalid_document"
    assert plain["errors"]["container"] == [
        "'MSCU1234567' is not an ISO 6346 container number with a valid check digit."
    ]


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("en-gb", "At most 100,000."),
        ("nl", "Hooguit 100.000."),
        ("fr", "100\u202f000 au plus."),
        ("de", "Höchstens 100.000."),
    ],
)
def test_numbers_in_messages_follow_the_language(language, message):
    with translation.override(language):
        _value, problem = finite_number(250000, minimum=0, maximum=100_000)
    assert problem is not None
    assert problem.replace("\xa0", "\u202f") == message
