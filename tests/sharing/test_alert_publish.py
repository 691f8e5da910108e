"""Publishing alerts through the API: the signed document, its normalisation, who may post."""

import base64
import json

from ports.keys import thumbprint
from ports.models import AuditEntry, Port
from sharing.models import Alert, AlertVersion

from .conftest import VESSELS, alert_fields, container


def _payload(jws: str) -> dict:
    part = jws.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def test_officer_publishes_a_portal_signed_alert(cast, api_as):
    box = container()
    response = api_as(cast["users"]["author"]).post(
        "/api/v1/alerts/",
        alert_fields(
            tlp="amber",
            audience={"agencies": ["nlrtm-customs", "europol", "nlrtm-customs"], "ports": ["deham"], "users": []},
            containers=[box.lower()[:4] + " " + box[4:]],
            vessels=["IMO 9074729", 9321483],
            valid_until="2030-01-01T12:00:00.123+02:00",
            source_reliability="b",
            information_reliability=2,
            handling="h1",
        ),
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    handle = cast["memberships"]["author"].handle
    assert body["version"] == 1
    assert body["type"] == "alert"
    assert body["status"] == "active"
    assert body["agency"] == "beanr-customs"
    assert body["author"] == handle
    assert body["tlp"] == "AMBER"
    assert body["audience"] == {"agencies": ["europol", "nlrtm-customs"], "ports": ["DEHAM"], "users": []}
    assert body["containers"] == [box]
    assert body["vessels"] == ["9074729", "9321483"]
    assert body["valid_until"] == "2030-01-01T10:00:00Z"
    assert (body["source_reliability"], body["information_reliability"], body["handling"]) == ("B", "2", "H1")
    assert body["created_at"].endswith("Z")
    assert len(body["created_at"]) == 20
    assert body["signature_status"] == "verified"
    assert body["url"] == f"/alerts/{body['id']}/"
    assert body["expired"] is False
    payload = _payload(body["jws"])
    assert payload == {k: body[k] for k in payload}
    assert set(payload) == set(body) - {"jws", "signature_status", "kid", "url", "expired"}
    header = json.loads(base64.urlsafe_b64decode(body["jws"].split(".")[0] + "=="))
    assert header == {"alg": "EdDSA", "kid": body["kid"], "typ": "alert+json"}
    alert = Alert.objects.get(pk=body["id"])
    assert alert.jws == body["jws"]
    assert alert.key_id == body["kid"] == thumbprint(alert.key.x)
    assert AlertVersion.objects.get(alert=alert, version=1).jws == body["jws"]
    assert AuditEntry.objects.filter(action="alert.published", object_id=body["id"]).count() == 1


def test_unknown_valid_locode_becomes_a_non_member_port(cast, publish):
    body = publish(cast["users"]["author"], origin="COBAQ")
    assert body["origin"] == "COBAQ"
    port = Port.objects.get(locode="COBAQ")
    assert port.is_member is False


def test_expired_flag_follows_valid_until(cast, publish):
    body = publish(cast["users"]["author"], valid_until="2020-01-01T00:00:00Z")
    assert body["expired"] is True
    assert body["valid_until"] == "2020-01-01T00:00:00Z"


def test_only_officers_post(cast, api_as):
    for name in ("colleague", "antwerp_admin", "europol_liaison", "rotterdam_terminal"):
        response = api_as(cast["users"][name]).post("/api/v1/alerts/", alert_fields(), format="json")
        assert response.status_code == 403, name
        assert response.json()["code"] == "permission_denied"
    assert Alert.objects.count() == 0


def test_superuser_and_anonymous_cannot_post(cast, api, api_as):
    assert api.post("/api/v1/alerts/", alert_fields(), format="json").status_code == 401
    superuser = api_as(cast["users"]["superuser"], token=False)  # no membership, so no personal token
    assert superuser.post("/api/v1/alerts/", alert_fields(), format="json").status_code == 403


def test_officer_in_several_agencies_names_the_acting_one(cast, make_member, api_as):
    author = cast["users"]["author"]
    make_member(author.username, "beanr-police", "officer")
    author.refresh_from_db()
    client = api_as(author, token=False)  # a session acts for every membership; a token for one
    response = client.post("/api/v1/alerts/", alert_fields(), format="json")
    assert response.status_code == 400
    assert "agency" in response.json()["errors"]
    response = client.post("/api/v1/alerts/", alert_fields(agency="beanr-police"), format="json")
    assert response.status_code == 201
    assert response.json()["agency"] == "beanr-police"
    assert response.json()["author"].startswith("beanr-police/")
    response = client.post("/api/v1/alerts/", alert_fields(agency="nlrtm-customs"), format="json")
    assert response.status_code == 400


def test_vessels_and_containers_are_checked(cast, api_as):
    client = api_as(cast["users"]["author"])
    response = client.post(
        "/api/v1/alerts/", alert_fields(containers=["MSCU1234567"], vessels=["9074728", VESSELS[0]]), format="json"
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert "containers" in errors
    assert "vessels" in errors
    assert Alert.objects.count() == 0
