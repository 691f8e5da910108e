"""Relayed scans and admin sessions for the relay, inbox and subscription tests."""

import pytest
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from scans.services.relay import relay_batch
from tests.scans.helpers import Node


@pytest.fixture
def antwerp_node(cast, make_agency):
    return Node("beanr-xr-21", make_agency("beanr-customs"))


@pytest.fixture
def push_and_relay(antwerp_node):
    """Push one signed scan from the Antwerp node through the API and relay it; returns the stored scan."""

    def push(**fields) -> dict:
        response = antwerp_node.push(**fields)
        assert response.status_code == 201, response.json()
        scan = response.json()
        relay_batch(scan_ids=[scan["id"]])
        return scan

    return push


@pytest.fixture
def verified_session(db):
    """A portal session verified with a TOTP device, as admin actions need."""

    def make(user) -> APIClient:
        device = TOTPDevice.objects.get_or_create(user=user, name="phone", defaults={"confirmed": True})[0]
        client = APIClient()
        client.force_login(user)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
        return client

    return make
