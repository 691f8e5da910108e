"""Measures: declared by an officer at their own port; read by every public-sector member; never private."""

import pytest

from ports.models import AuditEntry

pytestmark = pytest.mark.django_db

BODY = {
    "port": "BEANR",
    "origin": "ECGYE",
    "starts_on": "2025-03-03",
    "description": "All reefers from Guayaquil scanned",
}


def test_officer_declares_at_own_port_and_public_sector_reads(cast, api_as):
    response = api_as(cast["users"]["author"]).post("/api/v1/measures/", BODY, format="json")
    assert response.status_code == 201, response.json()
    measure = response.json()
    assert measure["port"] == "BEANR"
    assert measure["origin"] == "ECGYE"
    assert measure["agency"] == "beanr-customs"
    assert measure["author"] == cast["memberships"]["author"].handle
    everywhere = api_as(cast["users"]["author"]).post(
        "/api/v1/measures/", {**BODY, "origin": None, "starts_on": "2025-04-01"}, format="json"
    )
    assert everywhere.status_code == 201
    assert everywhere.json()["origin"] is None
    assert AuditEntry.objects.filter(action="measure.declared").count() == 2
    for name in ["rotterdam_customs", "hamburg_police", "europol_analyst", "europol_liaison", "colleague"]:
        listing = api_as(cast["users"][name]).get("/api/v1/measures/")
        assert listing.status_code == 200
        assert [m["starts_on"] for m in listing.json()["results"]] == ["2025-04-01", "2025-03-03"], name
    only = api_as(cast["users"]["hamburg_police"]).get("/api/v1/measures/?origin=none").json()
    assert [m["origin"] for m in only["results"]] == [None]


def test_private_sector_never_sees_measures(cast, api_as):
    api_as(cast["users"]["author"]).post("/api/v1/measures/", BODY, format="json")
    for name in ["rotterdam_terminal", "hamburg_terminal"]:
        client = api_as(cast["users"][name])
        assert client.get("/api/v1/measures/").status_code == 403
        assert client.get("/api/v1/measures/?port=BEANR").status_code == 403
        assert client.post("/api/v1/measures/", BODY, format="json").status_code == 403


def test_only_an_officer_at_that_port_declares(cast, api_as):
    other_port = api_as(cast["users"]["hamburg_customs"]).post("/api/v1/measures/", BODY, format="json")
    assert other_port.status_code == 400
    assert "port" in other_port.json()["errors"]
    for name in ["colleague", "europol_liaison", "rotterdam_customs"]:
        assert api_as(cast["users"][name]).post("/api/v1/measures/", BODY, format="json").status_code == 403, name
    bad = api_as(cast["users"]["author"]).post("/api/v1/measures/", {**BODY, "starts_on": "soon"}, format="json")
    assert bad.status_code == 400
    assert "starts_on" in bad.json()["errors"]
