import pytest

pytestmark = pytest.mark.django_db


def test_push_read_and_relay(antwerp_node, cast, api_as):
    response = antwerp_node.push(verdict="suspect", next_port="DEHAM")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["signature_status"] == "verified"
    from sharing.services.relay import relay_batch

    assert relay_batch(scan_ids=[body["id"]]) == 1
    hamburg = api_as(cast["users"]["hamburg_police"]).get(f"/api/v1/scans/{body['id']}/")
    assert hamburg.status_code == 200, hamburg.json()
    assert hamburg.json()["delivery"]["reason"] == "route"
    assert api_as(cast["users"]["rotterdam_customs"]).get(f"/api/v1/scans/{body['id']}/").status_code == 404
    assert api_as(cast["users"]["hamburg_terminal"]).get(f"/api/v1/scans/{body['id']}/").status_code == 403
