"""Reference data and member API: envelope, filters, error shape, who may call what."""

import re

import pytest

pytestmark = pytest.mark.django_db

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def test_ports_list_envelope_filters_and_paging(cast, api_as):
    client = api_as(cast["users"]["rotterdam_terminal"])
    body = client.get("/api/v1/ports/").json()
    assert list(body) == ["count", "next", "previous", "results"]
    assert body["count"] >= 35
    assert body["previous"] is None
    first = body["results"][0]
    assert set(first) == {"locode", "name", "country", "hub", "latitude", "longitude", "is_member"}
    members = client.get("/api/v1/ports/?member=true&page_size=200").json()
    assert all(p["is_member"] for p in members["results"])
    assert members["count"] >= 25
    origins = client.get("/api/v1/ports/?member=false").json()["results"]
    assert all(p["hub"] is None for p in origins)  # absent values are null, never missing
    hub = client.get("/api/v1/ports/?hub=north_east").json()["results"]
    assert {p["locode"] for p in hub} >= {"PLGDN", "LVRIX", "EETLL"}
    paged = client.get("/api/v1/ports/?page_size=5&page=2").json()
    assert len(paged["results"]) == 5
    assert paged["previous"]
    assert paged["next"]
    assert client.get("/api/v1/ports/?page_size=1000").json()["results"].__len__() <= 200


def test_bad_filter_gets_field_error(cast, api_as):
    response = api_as(cast["users"]["author"]).get("/api/v1/ports/?hub=atlantis")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert "hub" in body["errors"]


def test_agencies_list_and_filters(cast, api_as):
    client = api_as(cast["users"]["hamburg_police"])
    rows = client.get("/api/v1/agencies/?port=BEANR").json()["results"]
    assert {a["slug"] for a in rows} >= {"beanr-customs", "beanr-police"}
    customs = client.get("/api/v1/agencies/?kind=customs").json()["results"]
    assert all(a["kind"] == "customs" for a in customs)
    europol = client.get("/api/v1/agencies/?kind=eu_agency").json()["results"]
    assert europol == [{"slug": "europol", "name": "Europol", "kind": "eu_agency", "sector": "public", "port": None}]


def test_me_tells_memberships(cast, api_as):
    body = api_as(cast["users"]["author"]).get("/api/v1/me/").json()
    assert body["username"] == "antwerp.officer"
    assert body["memberships"] == [
        {"agency": "beanr-customs", "role": "officer", "handle": cast["memberships"]["author"].handle}
    ]


def test_member_directory_for_public_sector_only(cast, api_as):
    client = api_as(cast["users"]["hamburg_police"])
    body = client.get("/api/v1/members/?agency=beanr-customs").json()
    handles = {m["handle"] for m in body["results"]}
    assert cast["memberships"]["author"].handle in handles
    assert set(body["results"][0]) == {"handle", "display_name", "agency", "role"}
    found = client.get("/api/v1/members/", {"q": "Antwerp Officer"}).json()["results"]
    assert [m["handle"] for m in found] == [cast["memberships"]["author"].handle]
    # The private sector never sees who is behind a handle.
    private = api_as(cast["users"]["rotterdam_terminal"]).get("/api/v1/members/")
    assert private.status_code == 403
    assert private.json()["code"] == "permission_denied"


@pytest.mark.parametrize("path", ["/api/v1/ports/", "/api/v1/agencies/", "/api/v1/me/", "/api/v1/members/"])
def test_anonymous_is_refused(api, path):
    response = api.get(path)
    assert response.status_code in (401, 403)
    assert set(response.json()) == {"code", "errors"}


def test_superuser_without_membership_is_not_a_member(cast, api_as):
    response = api_as(cast["users"]["superuser"], token=False).get("/api/v1/me/")
    assert response.status_code == 403


def test_openapi_schema_and_swagger_ui_served_locally(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/ports/" in schema.content
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "http://" not in html.replace("http://testserver", "")
    assert "https://" not in html
    assert "<script>" not in html  # the split view serves its init script as a file
    assert "unsafe-inline" not in docs["Content-Security-Policy"]
