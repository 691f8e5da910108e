"""Alerts and practices: publishing helpers, valid identifiers, a second-factor admin session."""

import base64
import itertools
import uuid
from datetime import UTC

import pytest
import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient
from stdnum import iso6346

from ports.keys import public_x
from ports.models import Agency
from ports.services import agency_key_register_external

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


# ---------------------------------------------------------------- pre-signed documents


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def compact(header: dict | bytes, payload: dict | bytes, private_key) -> str:
    """A compact JWS made by hand, so tests can also build the malformed ones."""
    header_bytes = header if isinstance(header, bytes) else rfc8785.dumps(header)
    payload_bytes = payload if isinstance(payload, bytes) else rfc8785.dumps(payload)
    signing_input = f"{b64(header_bytes)}.{b64(payload_bytes)}"
    return f"{signing_input}.{b64(private_key.sign(signing_input.encode()))}"


def signed_alert_document(membership, **overrides) -> dict:
    fields = alert_fields(**{k: v for k, v in overrides.items() if k in alert_fields()})
    doc = {
        "id": str(uuid.uuid4()),
        "version": 1,
        "type": "alert",
        "status": "active",
        "agency": membership.agency.slug,
        "author": membership.handle,
        **fields,
        "created_at": timezone.now().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    doc.update({k: v for k, v in overrides.items() if k not in fields})
    return doc


@pytest.fixture
def external_key(cast):
    """An external Ed25519 key registered for Antwerp customs (the author's agency): (private key, kid)."""
    private = Ed25519PrivateKey.generate()
    key = agency_key_register_external(
        agency=Agency.objects.get(slug="beanr-customs"), public_key=public_x(private.public_key())
    )
    return private, key.kid
