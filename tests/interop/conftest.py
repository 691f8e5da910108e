"""Interop fixtures: TAXII readers, a world of alerts, practices and scans, the OASIS validator's checks, and
what the MISP feed tests share with the alerts API's tests (publishing, the reader matrix's world)."""

import pytest
from rest_framework.test import APIClient
from stix2validator import ValidationOptions, validate_instance

from interop.services import sequence_all
from ports.services import token_issue, token_membership
from sharing.services.alerts import alert_publish, alert_version_create
from sharing.services.practices import practice_publish
from tests.scans.helpers import Node
from tests.sharing.conftest import alert_fields, container, publish  # noqa: F401 - publish is a fixture
from tests.sharing.test_access_matrix import world  # noqa: F401 - a fixture

TAXII = "application/taxii+json;version=2.1"
ROOT = "/taxii2/alliance/"
ALERTS = ROOT + "collections/0c9c6a57-3b8e-4f3e-9f0a-2d4c1b7e8a11/"
SCANS = ROOT + "collections/5e2f7d90-8a4b-4c6e-b1d3-7f9e0a2c4b62/"


def token_for(user, agency: str | None = None) -> str:
    _, raw = token_issue(membership=token_membership(user=user, agency_slug=agency), name="taxii")
    return raw


@pytest.fixture
def taxii(db):
    def make(user) -> APIClient:
        client = APIClient(HTTP_ACCEPT=TAXII)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(user)}")
        return client

    return make


def every_object(client, collection: str, limit: int = 7, **params) -> list[dict]:
    """Page through `objects/` by `next` until `more` is false."""
    objects, cursor = [], None
    while True:
        query = {"limit": limit, **params, **({"next": cursor} if cursor else {})}
        response = client.get(collection + "objects/", query)
        assert response.status_code == 200, response.content
        body = response.json()
        assert "next" in body  # every page, the last one too
        objects += body["objects"]
        cursor = body["next"]
        if not body["more"]:
            return objects


def stix_errors(obj: dict) -> list[str]:
    """The OASIS stix2-validator in strict mode (warnings are errors): the STIX 2.1 JSON schemas, then its must and
    should checks; and `stix2.parse`, which checks every property type."""
    import stix2

    result = validate_instance(obj, ValidationOptions(strict=True, version="2.1"))
    errors = [str(e) for e in result.errors] + [str(w) for w in result.warnings or []]
    try:
        stix2.parse(obj, allow_custom=True)
    except stix2.exceptions.STIXError as exc:
        errors.append(f"stix2: {exc}")
    return errors


@pytest.fixture
def publish_alert(cast):
    def make(name: str = "author", **overrides):
        alert = alert_publish(membership=cast["memberships"][name], data=alert_fields(**overrides))
        sequence_all()  # what each commit does (on_commit does not run inside a test transaction)
        return alert

    return make


@pytest.fixture
def new_version(cast):
    def version(alert, name: str = "author", **changes):
        alert = alert_version_create(membership=cast["memberships"][name], alert=alert, data=changes)
        sequence_all()
        return alert

    return version


@pytest.fixture
def publish_practice(cast):
    def make(name: str = "author", **overrides):
        data = {
            "title": "Checking reefer units",
            "body": "Open the compressor housing.",
            "tags": ["reefer", "x-ray"],
            "tlp": "GREEN",
            "audience": {"agencies": [], "ports": [], "users": []},
            **overrides,
        }
        practice = practice_publish(membership=cast["memberships"][name], data=data)
        sequence_all()
        return practice

    return make


@pytest.fixture
def antwerp_node(cast, make_agency):
    return Node("beanr-xr-01", make_agency("beanr-customs"))


__all__ = ["alert_fields", "container"]
