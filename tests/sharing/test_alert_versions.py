"""Edits and withdrawals are new signed versions; the history stays readable under the latest TLP and audience."""

import pytest

from ports.models import AuditEntry
from sharing.models import Alert, AlertVersion

from .conftest import compact, container


def test_edit_makes_version_two_signed_by_a_colleague_officer(cast, make_member, publish, api_as):
    colleague_officer = make_member("antwerp.officer2", "beanr-customs", "officer")
    first = publish(cast["users"]["author"], tlp="GREEN", containers=[container()])
    client = api_as(colleague_officer.user)
    response = client.post(
        f"/api/v1/alerts/{first['id']}/versions/", {"severity": "critical", "title": "Update: more bags"}, format="json"
    )
    assert response.status_code == 201, response.json()
    second = response.json()
    assert second["id"] == first["id"]
    assert second["version"] == 2
    assert second["severity"] == "critical"
    assert second["title"] == "Update: more bags"
    assert second["author"] == colleague_officer.handle
    assert second["containers"] == first["containers"]  # unchanged fields carry over
    assert second["signature_status"] == "verified"
    assert second["jws"] != first["jws"]
    versions = client.get(f"/api/v1/alerts/{first['id']}/versions/").json()
    assert [v["version"] for v in versions["results"]] == [2, 1]
    assert versions["results"][1]["jws"] == first["jws"]
    assert versions["results"][1]["title"] == first["title"]
    assert all(v["signature_status"] == "verified" for v in versions["results"])
    assert client.get(f"/api/v1/alerts/{first['id']}/").json()["version"] == 2
    assert AuditEntry.objects.filter(action="alert.version_signed", object_id=first["id"]).count() == 1


def test_withdrawal(cast, publish, api_as):
    first = publish(cast["users"]["author"])
    client = api_as(cast["users"]["author"])
    response = client.post(f"/api/v1/alerts/{first['id']}/versions/", {"status": "withdrawn"}, format="json")
    assert response.status_code == 201
    assert response.json()["status"] == "withdrawn"
    assert response.json()["version"] == 2
    reader = api_as(cast["users"]["hamburg_police"])
    assert [a["id"] for a in reader.get("/api/v1/alerts/", {"status": "withdrawn"}).json()["results"]] == [first["id"]]
    assert reader.get("/api/v1/alerts/", {"status": "active"}).json()["results"] == []
    again = client.post(f"/api/v1/alerts/{first['id']}/versions/", {"title": "back"}, format="json")
    assert again.status_code == 400
    assert "status" in again.json()["errors"]


def test_latest_tlp_governs_the_whole_history(cast, publish, api_as):
    first = publish(cast["users"]["author"], tlp="GREEN")
    hamburg = api_as(cast["users"]["hamburg_police"])
    assert hamburg.get(f"/api/v1/alerts/{first['id']}/versions/").status_code == 200
    response = api_as(cast["users"]["author"]).post(
        f"/api/v1/alerts/{first['id']}/versions/",
        {"tlp": "AMBER+STRICT", "audience": {"agencies": ["nlrtm-customs"], "ports": [], "users": []}},
        format="json",
    )
    assert response.status_code == 201
    # The GREEN version 1 is now read under AMBER+STRICT: Hamburg loses it, Rotterdam customs reads both.
    assert hamburg.get(f"/api/v1/alerts/{first['id']}/versions/").status_code == 404
    assert hamburg.get(f"/api/v1/alerts/{first['id']}/").status_code == 404
    rotterdam = api_as(cast["users"]["rotterdam_customs"]).get(f"/api/v1/alerts/{first['id']}/versions/").json()
    assert [v["tlp"] for v in rotterdam["results"]] == ["AMBER+STRICT", "GREEN"]


def test_who_may_sign_a_new_version(cast, publish, api_as):
    green = publish(cast["users"]["author"], tlp="GREEN")
    # Readers who are not officers of the author agency: 403 (they can read it, they may not edit it).
    for name in ("colleague", "hamburg_customs", "antwerp_admin"):
        response = api_as(cast["users"][name]).post(
            f"/api/v1/alerts/{green['id']}/versions/", {"title": "mine now"}, format="json"
        )
        assert response.status_code == 403, name
    assert Alert.objects.get(pk=green["id"]).version == 1


def test_red_alert_only_its_author_edits(cast, make_member, publish, api_as):
    other_officer = make_member("antwerp.officer3", "beanr-customs", "officer")
    red = publish(
        cast["users"]["author"],
        tlp="RED",
        audience={"agencies": [], "ports": [], "users": [other_officer.handle]},
    )
    response = api_as(other_officer.user).post(f"/api/v1/alerts/{red['id']}/versions/", {"title": "x"}, format="json")
    assert response.status_code == 403
    response = api_as(cast["users"]["author"]).post(
        f"/api/v1/alerts/{red['id']}/versions/", {"title": "corrected"}, format="json"
    )
    assert response.status_code == 201


def test_a_reader_who_cannot_see_it_gets_404_before_validation(cast, publish, api_as):
    strict = publish(
        cast["users"]["author"], tlp="AMBER+STRICT", audience={"agencies": ["nlrtm-customs"], "ports": [], "users": []}
    )
    response = api_as(cast["users"]["hamburg_customs"]).post(
        f"/api/v1/alerts/{strict['id']}/versions/", {"category": "nonsense"}, format="json"
    )
    assert response.status_code == 404


def test_version_validation_errors_store_nothing(cast, publish, api_as):
    first = publish(cast["users"]["author"], tlp="GREEN")
    response = api_as(cast["users"]["author"]).post(
        f"/api/v1/alerts/{first['id']}/versions/", {"tlp": "RED"}, format="json"
    )
    assert response.status_code == 201  # RED with an empty audience: the author alone
    response = api_as(cast["users"]["author"]).post(
        f"/api/v1/alerts/{first['id']}/versions/",
        {"audience": {"agencies": ["europol"], "ports": [], "users": []}},
        format="json",
    )
    assert response.status_code == 400
    assert "audience.agencies" in response.json()["errors"]
    assert AlertVersion.objects.filter(alert_id=first["id"]).count() == 2


@pytest.mark.parametrize("version", [2, 3])
def test_presigned_version(version, cast, publish, api_as, external_key):
    private, kid = external_key
    first = publish(cast["users"]["author"], tlp="GREEN")
    client = api_as(cast["users"]["author"])
    doc = {k: first[k] for k in first if k not in ("jws", "signature_status", "kid", "url", "expired")}
    from django.utils import timezone

    doc.update(version=version, title="Signed elsewhere", created_at=timezone.now().strftime("%Y-%m-%dT%H:%M:%SZ"))
    jws = compact({"alg": "EdDSA", "kid": kid, "typ": "alert+json"}, doc, private)
    response = client.post(f"/api/v1/alerts/{first['id']}/versions/", {"jws": jws}, format="json")
    if version == 2:
        assert response.status_code == 201, response.json()
        assert response.json()["jws"] == jws
        assert response.json()["kid"] == kid
        versions = client.get(f"/api/v1/alerts/{first['id']}/versions/").json()["results"]
        assert [(v["version"], v["kid"]) for v in versions] == [(2, kid), (1, first["kid"])]
    else:
        assert response.status_code == 400
        assert "version" in response.json()["errors"]
        assert Alert.objects.get(pk=first["id"]).version == 1


def test_rotation_keeps_old_signatures_valid_and_revocation_shows(cast, publish, api_as):
    from ports.models import Agency, SigningKey
    from ports.services import agency_key_generate, key_revoke

    first = publish(cast["users"]["author"], tlp="GREEN")
    agency_key_generate(agency=Agency.objects.get(slug="beanr-customs"))
    client = api_as(cast["users"]["hamburg_police"])
    assert client.get(f"/api/v1/alerts/{first['id']}/").json()["signature_status"] == "key_retired"
    second = publish(cast["users"]["author"], tlp="GREEN")
    assert second["kid"] != first["kid"]
    assert second["signature_status"] == "verified"
    key_revoke(key=SigningKey.objects.get(kid=first["kid"]), reason="compromised")
    assert client.get(f"/api/v1/alerts/{first['id']}/").json()["signature_status"] == "key_revoked"
