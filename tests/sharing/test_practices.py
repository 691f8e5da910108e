"""Best practices: the same signed life cycle and the same access rule as alerts."""

import base64
import json
import uuid

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from sharing.models import Practice, PracticeVersion

from .conftest import compact


def _fields(**overrides) -> dict:
    fields = {
        "title": "Reefer inspection checklist",
        "body": "## Steps\n\n1. Check the compressor housing.\n2. Compare the seal with the manifest.",
        "tags": ["Reefer", "seals ", "reefer"],
        "tlp": "GREEN",
        "audience": {"agencies": [], "ports": [], "users": []},
    }
    fields.update(overrides)
    return fields


@pytest.fixture
def practice(cast, api_as):
    response = api_as(cast["users"]["author"]).post("/api/v1/practices/", _fields(), format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def test_publish_practice(practice, cast):
    assert practice["type"] == "practice"
    assert practice["version"] == 1
    assert practice["tags"] == ["reefer", "seals"]
    assert practice["url"] == f"/practices/{practice['id']}/"
    assert practice["signature_status"] == "verified"
    header, payload, _ = practice["jws"].split(".")
    assert json.loads(base64.urlsafe_b64decode(header + "=="))["typ"] == "practice+json"
    assert set(practice) == {
        "id",
        "version",
        "type",
        "status",
        "agency",
        "author",
        "title",
        "body",
        "tags",
        "tlp",
        "audience",
        "created_at",
        "jws",
        "signature_status",
        "kid",
        "url",
    }


def test_practice_filters(practice, cast, api_as):
    client = api_as(cast["users"]["rotterdam_terminal"])
    assert [p["id"] for p in client.get("/api/v1/practices/", {"tag": "Reefer"}).json()["results"]] == [practice["id"]]
    assert client.get("/api/v1/practices/", {"tag": "drones"}).json()["results"] == []
    assert [p["id"] for p in client.get("/api/v1/practices/", {"q": "compressor"}).json()["results"]] == [
        practice["id"]
    ]
    assert client.get("/api/v1/practices/", {"q": "helicopter"}).json()["results"] == []
    assert [p["id"] for p in client.get("/api/v1/practices/", {"agency": "beanr-customs"}).json()["results"]] == [
        practice["id"]
    ]
    assert client.get("/api/v1/practices/", {"tlp": "RED"}).json()["results"] == []


@pytest.mark.parametrize(
    ("level", "audience", "readers", "outsiders"),
    [
        (
            "AMBER",
            {"agencies": ["europol"], "ports": ["NLRTM"], "users": []},
            ["colleague", "europol_analyst", "rotterdam_police"],
            ["rotterdam_terminal", "hamburg_customs"],
        ),
        (
            "AMBER+STRICT",
            {"agencies": ["europol"], "ports": [], "users": []},
            ["colleague", "europol_liaison"],
            ["rotterdam_customs", "hamburg_police"],
        ),
        (
            "RED",
            {"agencies": [], "ports": [], "users": ["HANDLE"]},
            ["author", "hamburg_terminal"],
            ["colleague", "antwerp_admin", "europol_liaison"],
        ),
    ],
)
def test_practice_access(level, audience, readers, outsiders, cast, api_as):
    audience = {**audience, "users": [cast["memberships"]["hamburg_terminal"].handle for _ in audience["users"]]}
    created = api_as(cast["users"]["author"]).post(
        "/api/v1/practices/", _fields(tlp=level, audience=audience), format="json"
    )
    assert created.status_code == 201, created.json()
    pid = created.json()["id"]
    for name in readers:
        client = api_as(cast["users"][name])
        assert client.get(f"/api/v1/practices/{pid}/").status_code == 200, name
        assert [p["id"] for p in client.get("/api/v1/practices/").json()["results"]] == [pid], name
    for name in outsiders:
        client = api_as(cast["users"][name])
        assert client.get(f"/api/v1/practices/{pid}/").status_code == 404, name
        assert client.get("/api/v1/practices/").json()["results"] == [], name


def test_practice_versions_and_withdrawal(practice, cast, api_as):
    client = api_as(cast["users"]["author"])
    response = client.post(f"/api/v1/practices/{practice['id']}/versions/", {"tags": ["drones"]}, format="json")
    assert response.status_code == 201
    assert response.json()["tags"] == ["drones"]
    response = client.post(f"/api/v1/practices/{practice['id']}/versions/", {"status": "withdrawn"}, format="json")
    assert response.json()["version"] == 3
    assert response.json()["status"] == "withdrawn"
    versions = client.get(f"/api/v1/practices/{practice['id']}/versions/").json()["results"]
    assert [v["version"] for v in versions] == [3, 2, 1]
    assert (
        api_as(cast["users"]["colleague"])
        .post(f"/api/v1/practices/{practice['id']}/versions/", {"title": "x"}, format="json")
        .status_code
        == 403
    )


def test_practice_bad_input(cast, api_as):
    client = api_as(cast["users"]["author"])
    for overrides, field in (
        ({"tlp": "PINK"}, "tlp"),
        ({"tags": ["x" * 41]}, "tags"),
        ({"tlp": "GREEN", "audience": {"agencies": ["europol"], "ports": [], "users": []}}, "audience.agencies"),
        ({"body": ""}, "body"),
    ):
        response = client.post("/api/v1/practices/", _fields(**overrides), format="json")
        assert response.status_code == 400
        assert field in response.json()["errors"]
    assert api_as(cast["users"]["colleague"]).post("/api/v1/practices/", _fields(), format="json").status_code == 403
    assert Practice.objects.count() == 0


def test_presigned_practice(cast, api_as, external_key):
    from django.utils import timezone

    private, kid = external_key
    membership = cast["memberships"]["author"]
    doc = {
        "id": str(uuid.uuid4()),
        "version": 1,
        "type": "practice",
        "status": "active",
        "agency": "beanr-customs",
        "author": membership.handle,
        "title": "Signed offline",
        "body": "Text",
        "tags": ["offline"],
        "tlp": "CLEAR",
        "audience": {"agencies": [], "ports": [], "users": []},
        "created_at": timezone.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    jws = compact({"alg": "EdDSA", "kid": kid, "typ": "practice+json"}, doc, private)
    response = api_as(membership.user).post("/api/v1/practices/", {"jws": jws}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["jws"] == jws
    wrong_typ = compact({"alg": "EdDSA", "kid": kid, "typ": "alert+json"}, {**doc, "id": str(uuid.uuid4())}, private)
    assert api_as(membership.user).post("/api/v1/practices/", {"jws": wrong_typ}, format="json").status_code == 400


def test_tampered_practice(practice, cast, api_as, capsys):
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE sharing_practice SET tags = %s WHERE id = %s",
            [
                '["harmless"]',
                Practice._meta.pk.get_db_prep_value(Practice._meta.pk.to_python(practice["id"]), connection),
            ],
        )
    assert (
        api_as(cast["users"]["author"]).get(f"/api/v1/practices/{practice['id']}/").json()["signature_status"]
        == "invalid"
    )
    assert api_as(cast["users"]["hamburg_customs"]).get(f"/api/v1/practices/{practice['id']}/").status_code == 404
    with pytest.raises(CommandError):
        call_command("verify_signatures")
    assert f"practice {practice['id']} version 1: invalid" in capsys.readouterr().err
    assert PracticeVersion.objects.count() == 1
