"""Inspection outcomes: an officer at the scan's port records it, signed by the agency key."""

import pytest

from ports import signing
from ports.models import AuditEntry
from scans.services.relay import relay_batch

pytestmark = pytest.mark.django_db


def test_officer_at_the_port_records_a_signed_outcome(antwerp_node, cast, api_as):
    scan = antwerp_node.push(verdict="suspect").json()
    client = api_as(cast["users"]["author"])
    response = client.post(
        f"/api/v1/scans/{scan['id']}/outcome/",
        {"result": "positive", "seized_kg": 120.5, "substance": "cocaine", "note": "rip-on bags"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    outcome = response.json()
    assert outcome["agency"] == "beanr-customs"
    assert outcome["author"] == cast["memberships"]["author"].handle
    assert outcome["signature_status"] == "verified"
    assert outcome["type"] == "outcome"
    parsed = signing.parse(outcome["jws"], "outcome+json")
    assert parsed.payload == {
        k: outcome[k]
        for k in ("id", "type", "scan", "agency", "author", "result", "seized_kg", "substance", "note", "created_at")
    }
    detail = client.get(f"/api/v1/scans/{scan['id']}/").json()
    assert detail["outcome"]["id"] == outcome["id"]
    assert AuditEntry.objects.filter(action="outcome.recorded").exists()
    again = client.post(f"/api/v1/scans/{scan['id']}/outcome/", {"result": "negative"}, format="json")
    assert again.status_code == 409


def test_who_may_not_record(antwerp_node, cast, api_as):
    scan = antwerp_node.push(verdict="suspect", next_port="DEHAM").json()
    relay_batch(scan_ids=[scan["id"]])
    url = f"/api/v1/scans/{scan['id']}/outcome/"
    # Can read the scan but is no officer at its port: 403.
    for name in ["colleague", "hamburg_customs"]:
        assert api_as(cast["users"][name]).post(url, {"result": "negative"}, format="json").status_code == 403
    # Cannot read the scan: 404, even with a bad body.
    assert api_as(cast["users"]["rotterdam_customs"]).post(url, {"result": "??"}, format="json").status_code == 404
    assert api_as(cast["users"]["rotterdam_terminal"]).post(url, {}, format="json").status_code == 403


def test_outcome_validation(antwerp_node, cast, api_as):
    scan = antwerp_node.push().json()
    client = api_as(cast["users"]["author"])
    url = f"/api/v1/scans/{scan['id']}/outcome/"
    for body, field in [
        ({"result": "maybe"}, "result"),
        ({"result": "positive", "seized_kg": -2}, "seized_kg"),
        ({"result": "negative", "seized_kg": 5}, "seized_kg"),
        ({}, "result"),
    ]:
        response = client.post(url, body, format="json")
        assert response.status_code == 400, body
        assert field in response.json()["errors"], body
