"""The OpenAPI schema (SPEC section 2): valid without warnings, every error answer documented in the one shape."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
import yaml
from django.core.management import call_command

ERROR_REF = "#/components/schemas/Error"


@pytest.fixture
def schema(db, tmp_path) -> dict:
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    return yaml.safe_load(out.read_text())


def _operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            yield method.upper(), path, operation


def _error_ref(operation, code: str) -> str | None:
    response = operation["responses"].get(code)
    return response and response["content"]["application/json"]["schema"]["$ref"]


def test_schema_validates_without_warnings(schema):
    assert schema["components"]["schemas"]["Error"]["required"] == ["code", "errors"]
    assert len(list(_operations(schema))) > 40


def test_every_authenticated_operation_documents_its_errors(schema):
    for method, path, operation in _operations(schema):
        if path == "/.well-known/jwks.json":  # public, no authentication at all
            assert {"401", "403"}.isdisjoint(operation["responses"]), path
            continue
        for code in ("401", "403", "429"):
            assert _error_ref(operation, code) == ERROR_REF, (method, path, code)
        if "{" in path:
            assert _error_ref(operation, "404") == ERROR_REF, (method, path)
        # Any operation may answer 400 (a NUL in the query string is refused before the view).
        assert _error_ref(operation, "400") == ERROR_REF, (method, path)
    assert "Retry-After" in schema["paths"]["/api/v1/alerts/"]["get"]["responses"]["429"]["headers"]


def test_list_operations_are_paginated_lists(schema):
    for path in ("/api/v1/measures/", "/api/v1/displacement/"):
        operation = schema["paths"][path]["get"]
        assert operation["operationId"].endswith("_list"), path
        ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        paginated = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]
        assert paginated["properties"]["results"]["type"] == "array", path


def _rfc3339(moment: datetime, offset_hours: float) -> str:
    return moment.astimezone(timezone(timedelta(hours=offset_hours))).isoformat()


@pytest.mark.parametrize("path", ["/api/v1/alerts/", "/api/v1/practices/", "/api/v1/scans/"])
def test_since_takes_any_offset_and_compares_in_utc(cast, api_as, path):
    """PostgreSQL refuses offsets past ±15:59 that RFC 3339 parsers accept: such a `since` is compared in UTC."""
    client = api_as(cast["users"]["author"])
    now = datetime.now(UTC)
    far_offset = client.get(path, {"since": "2242-02-27T15:59:05+16:15"})
    assert far_offset.status_code == 200, far_offset.content
    assert far_offset.json()["count"] == 0
    assert client.get(path, {"since": _rfc3339(now - timedelta(hours=1), 14)}).status_code == 200
    off_calendar = client.get(path, {"since": "9999-12-31T23:59:59-05:00"})
    assert off_calendar.status_code == 400
    assert off_calendar.json()["code"] == "invalid"
    assert list(off_calendar.json()["errors"]) == ["since"]


def test_since_in_another_offset_selects_the_same_alerts(cast, api_as):
    client = api_as(cast["users"]["author"])
    created = client.post(
        "/api/v1/alerts/",
        {
            "title": "Cloned seals on reefers",
            "body": "Seal numbers repeat across containers.",
            "category": "rip_on_rip_off",
            "severity": "high",
            "tlp": "GREEN",
            "audience": {"agencies": [], "ports": [], "users": []},
            "port": "BEANR",
            "origin": "ECGYE",
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    now = datetime.now(UTC)
    before = client.get("/api/v1/alerts/", {"since": _rfc3339(now - timedelta(minutes=10), 14)}).json()
    after = client.get("/api/v1/alerts/", {"since": _rfc3339(now + timedelta(minutes=10), -12)}).json()
    assert [a["id"] for a in before["results"]] == [created.json()["id"]]
    assert after["count"] == 0


@pytest.mark.parametrize(
    "path", ["/api/v1/displacement/?status=x%00", "/api/v1/correlations/hits/?status=%00", "/api/v1/alerts/?q=a%00"]
)
def test_a_nul_in_the_query_string_is_a_400_not_a_500(cast, api_as, path):
    response = api_as(cast["users"]["author"]).get(path)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


@pytest.mark.parametrize("kind", ["alerts", "practices"])
def test_a_nul_anywhere_in_a_document_is_a_400_not_a_500(cast, api_as, kind):
    document = {
        "title": "Cloned seals",
        "body": "Seal numbers repeat.",
        "tlp": "AMBER",
        "audience": {"agencies": ["beanr-customs\u0000"], "ports": [], "users": []},
    }
    if kind == "alerts":
        document.update(category="rip_on_rip_off", severity="high", port="BEANR", origin="ECGYE")
    response = api_as(cast["users"]["author"]).post(f"/api/v1/{kind}/", document, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["errors"] == {"audience": ["NUL characters are not allowed."]}
