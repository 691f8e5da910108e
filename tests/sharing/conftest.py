"""Alerts and practices: publishing helpers, valid identifiers, a second-factor admin session."""

import itertools

import pytest
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient
from stdnum import iso6346

_serial = itertools.count(100001)


def container(owner: str = "MSCU") -> str:
    """A fresh ISO 6346 number with a valid check digit."""
    body = f"{owner}{next(_serial):06d}"
    return body + iso6346.calc_check_digit(body)


# Real IMO numbers with valid check digits.
VESSELS = ["9074729", "9321483", "9398917", "9811000"]


def alert_fields(**overrides) -> dict:
    fields = {
        "title": "Rip-on bags in reefer containers from Guayaquil",
        "body": "Seals replaced, cloned seal numbers attached. Check the doors.",
        "category": "rip_on_rip_off",
        "severity": "high",
        "tlp": "GREEN",
        "audience": {"agencies": [], "ports": [], "users": []},
        "containers": [],
        "vessels": [],
        "port": "BEANR",
        "origin": "ECGYE",
        "valid_until": None,
        "source_reliability": None,
        "information_reliability": None,
        "handling": None,
    }
    fields.update(overrides)
    return fields


@pytest.fixture
def publish(api_as):
    """POST an alert through the API as `user`; returns the response JSON (asserts 201)."""
    clients: dict = {}

    def post(user, **overrides) -> dict:
        client = clients.get(user.pk) or clients.setdefault(user.pk, api_as(user))
        response = client.post("/api/v1/alerts/", alert_fields(**overrides), format="json")
        assert response.status_code == 201, response.json()
        return response.json()

    return post


@pytest.fixture
def verified_session(db):
    """A portal session verified with a TOTP device, as admin actions need."""

    def make(user) -> APIClient:
        device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
        client = APIClient(enforce_csrf_checks=False)
        client.force_login(user)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
        return client

    return make
