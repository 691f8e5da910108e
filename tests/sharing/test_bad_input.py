"""Bad input is a 400 with field messages, and nothing is stored: portal-signed and pre-signed alike."""

import json
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ports.models import AuditEntry
from sharing.models import Alert, AlertGrant, AlertVersion

from .conftest import alert_fields, b64, compact, container, signed_alert_document


@pytest.fixture
def officer(cast, api_as):
    return api_as(cast["users"]["author"])


def _nothing_stored():
    assert Alert.objects.count() == 0
    assert AlertVersion.objects.count() == 0
    assert AlertGrant.objects.count() == 0
    assert not AuditEntry.objects.filter(action__startswith="alert.").exists()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"category": "smuggling"}, "category"),
        ({"category": None}, "category"),
        ({"tlp": "AMBER-STRICT"}, "tlp"),
        ({"tlp": "WHITE"}, "tlp"),
        ({"severity": "urgent"}, "severity"),
        ({"tlp": "GREEN", "audience": {"agencies": ["nlrtm-customs"], "ports": [], "users": []}}, "audience.agencies"),
        ({"tlp": "CLEAR", "audience": {"agencies": [], "ports": ["NLRTM"], "users": []}}, "audience.ports"),
        ({"tlp": "AMBER+STRICT", "audience": {"agencies": [], "ports": ["NLRTM"], "users": []}}, "audience.ports"),
        ({"tlp": "AMBER", "audience": {"agencies": [], "ports": [], "users": ["beanr-customs/abc"]}}, "audience.users"),
        ({"tlp": "RED", "audience": {"agencies": ["europol"], "ports": [], "users": []}}, "audience.agencies"),
        ({"tlp": "AMBER", "audience": {"agencies": ["nlrtm-nonsense"], "ports": [], "users": []}}, "audience.agencies"),
        ({"tlp": "RED", "audience": {"agencies": [], "ports": [], "users": ["nobody/000000"]}}, "audience.users"),
        ({"tlp": "AMBER", "audience": {"agencies": [], "ports": ["XXABC"], "users": []}}, "audience.ports"),
        ({"tlp": "AMBER", "audience": {"agencies": [], "ports": ["NLRT"], "users": []}}, "audience.ports"),
        ({"port": "ITTR1"}, "port"),
        ({"origin": "ZZ123"}, "origin"),
        ({"body": "x" * 20_001}, "body"),
        ({"title": ""}, "title"),
        ({"containers": ["MSCU1234560"]}, "containers"),
        ({"vessels": ["1234568"]}, "vessels"),
        ({"valid_until": "tomorrow"}, "valid_until"),
        ({"source_reliability": "E"}, "source_reliability"),
        ({"information_reliability": 5}, "information_reliability"),
        ({"handling": "H4"}, "handling"),
        ({"status": "withdrawn"}, "status"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_portal_signed_bad_fields(overrides, field, cast, officer):
    response = officer.post("/api/v1/alerts/", alert_fields(**overrides), format="json")
    assert response.status_code == 400, response.json()
    body = response.json()
    assert body["code"] == "invalid"
    assert field in body["errors"]
    assert all(isinstance(m, str) and m for m in body["errors"][field])
    _nothing_stored()


def test_every_bad_field_is_listed_at_once(cast, officer):
    response = officer.post("/api/v1/alerts/", alert_fields(category="x", severity="y", tlp="z"), format="json")
    assert set(response.json()["errors"]) >= {"category", "severity", "tlp"}


def test_oversized_request_body(cast, officer):
    response = officer.post("/api/v1/alerts/", alert_fields(body="x" * 400_000), format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "too_large"
    _nothing_stored()


def test_not_an_object(cast, officer):
    response = officer.post("/api/v1/alerts/", [1, 2], format="json")
    assert response.status_code == 400
    _nothing_stored()


# ---------------------------------------------------------------- pre-signed


def _post_jws(client, jws: str):
    return client.post("/api/v1/alerts/", {"jws": jws}, format="json")


def test_presigned_alert_is_stored_unchanged(cast, officer, external_key):
    private, kid = external_key
    membership = cast["memberships"]["author"]
    doc = signed_alert_document(membership, tlp="AMBER", audience={"agencies": ["europol"], "ports": [], "users": []})
    jws = compact({"alg": "EdDSA", "kid": kid, "typ": "alert+json"}, doc, private)
    response = _post_jws(officer, jws)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["jws"] == jws
    assert body["id"] == doc["id"]
    assert body["kid"] == kid
    assert body["signature_status"] == "verified"
    assert {k: body[k] for k in doc} == doc
    assert Alert.objects.get(pk=doc["id"]).jws == jws


def test_presigned_accepts_alg_ed25519(cast, officer, external_key):
    private, kid = external_key
    doc = signed_alert_document(cast["memberships"]["author"])
    response = _post_jws(officer, compact({"alg": "Ed25519", "kid": kid, "typ": "alert+json"}, doc, private))
    assert response.status_code == 201, response.json()
    assert response.json()["signature_status"] == "verified"


def _cases(cast, external_key):
    private, kid = external_key
    membership = cast["memberships"]["author"]
    header = {"alg": "EdDSA", "kid": kid, "typ": "alert+json"}
    good = signed_alert_document(membership)
    canonical = compact(header, good, private)
    forger = Ed25519PrivateKey.generate()
    head, payload, _ = canonical.split(".")
    return {
        "forged": (compact(header, good, forger), "bad_signature", "jws"),
        "signature_of_other_payload": (
            f"{head}.{payload}.{compact(header, {**good, 'title': 'x'}, private).split('.')[2]}",
            "bad_signature",
            "jws",
        ),
        "non_canonical": (compact(header, json.dumps(good, indent=1).encode(), private), "non_canonical", "jws"),
        "alg_none": (
            f"{b64(json.dumps({'alg': 'none', 'kid': kid, 'typ': 'alert+json'}).encode())}.{payload}.{b64(b'x' * 64)}",
            "unsupported_alg",
            "jws",
        ),
        "alg_hs256": (
            compact({"alg": "HS256", "kid": kid, "typ": "alert+json"}, good, private),
            "unsupported_alg",
            "jws",
        ),
        "jku": (
            compact({**header, "jku": "https://attacker.example/jwks.json"}, good, private),
            "refused_header",
            "jws",
        ),
        "jwk": (compact({**header, "jwk": {"kty": "OKP"}}, good, private), "refused_header", "jws"),
        "crit": (compact({**header, "crit": ["exp"]}, good, private), "refused_header", "jws"),
        "wrong_typ": (compact({**header, "typ": "scan+json"}, good, private), "bad_typ", "jws"),
        "unknown_kid": (compact({**header, "kid": "A" * 43}, good, private), "unknown_key", "jws"),
        "foreign_agency_payload": (
            compact(header, {**good, "agency": "nlrtm-customs"}, private),
            "foreign_agency",
            "agency",
        ),
        "not_a_jws": ("hello", "malformed_jws", "jws"),
    }


CASES = [
    "forged",
    "signature_of_other_payload",
    "non_canonical",
    "alg_none",
    "alg_hs256",
    "jku",
    "jwk",
    "crit",
    "wrong_typ",
    "unknown_kid",
    "foreign_agency_payload",
    "not_a_jws",
]


@pytest.mark.parametrize("case", CASES)
def test_presigned_refusals(case, cast, officer, external_key):
    jws, code, field = _cases(cast, external_key)[case]
    response = _post_jws(officer, jws)
    assert response.status_code == 400, response.json()
    assert response.json()["code"] == code
    assert field in response.json()["errors"]
    _nothing_stored()


def test_foreign_agency_key(cast, api_as, external_key):
    """Hamburg customs submits a document claiming Hamburg, signed with Antwerp's registered key."""
    private, kid = external_key
    hamburg = cast["memberships"]["hamburg_customs"]
    doc = signed_alert_document(hamburg)
    response = _post_jws(api_as(hamburg.user), compact({"alg": "EdDSA", "kid": kid, "typ": "alert+json"}, doc, private))
    assert response.status_code == 400
    assert response.json()["code"] == "foreign_key"
    _nothing_stored()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"author": "beanr-customs/ffffff"}, "author"),
        ({"version": 2}, "version"),
        ({"id": "not-a-uuid"}, "id"),
        ({"type": "practice"}, "type"),
        ({"created_at": "2020-01-01T00:00:00Z"}, "created_at"),
        ({"created_at": "2030-01-01T00:00:00+00:00"}, "created_at"),
        ({"tlp": "amber"}, "tlp"),
        ({"port": "beanr"}, "port"),
        ({"containers": ["mscu1234565"]}, "containers"),
        ({"vessels": [9074729]}, "vessels"),
        ({"valid_until": "2030-01-01T00:00:00.5Z"}, "valid_until"),
        (
            {"audience": {"agencies": ["nlrtm-customs", "europol"], "ports": [], "users": []}, "tlp": "AMBER"},
            "audience.agencies",
        ),
        ({"audience": {"agencies": [], "ports": []}}, "audience.users"),
        ({"category": "cocaine"}, "category"),
        ({"extra": 1}, "extra"),
    ],
)
def test_presigned_non_normalised_or_wrong_fields(overrides, field, cast, officer, external_key):
    private, kid = external_key
    doc = signed_alert_document(cast["memberships"]["author"], **overrides)
    response = _post_jws(officer, compact({"alg": "EdDSA", "kid": kid, "typ": "alert+json"}, doc, private))
    assert response.status_code == 400, response.json()
    assert field in response.json()["errors"], response.json()
    _nothing_stored()


def test_presigned_missing_field(cast, officer, external_key):
    private, kid = external_key
    doc = signed_alert_document(cast["memberships"]["author"])
    del doc["handling"]
    response = _post_jws(officer, compact({"alg": "EdDSA", "kid": kid, "typ": "alert+json"}, doc, private))
    assert response.status_code == 400
    assert "handling" in response.json()["errors"]


def test_presigned_id_reuse_is_refused(cast, officer, external_key, publish):
    private, kid = external_key
    existing = publish(cast["users"]["author"])
    doc = signed_alert_document(cast["memberships"]["author"], id=existing["id"])
    response = _post_jws(officer, compact({"alg": "EdDSA", "kid": kid, "typ": "alert+json"}, doc, private))
    assert response.status_code == 400
    assert "id" in response.json()["errors"]


def test_presigned_with_a_revoked_key_is_refused(cast, officer, external_key):
    from ports.models import SigningKey
    from ports.services import key_revoke

    private, kid = external_key
    key_revoke(key=SigningKey.objects.get(kid=kid), reason="laptop stolen")
    doc = signed_alert_document(cast["memberships"]["author"])
    response = _post_jws(officer, compact({"alg": "EdDSA", "kid": kid, "typ": "alert+json"}, doc, private))
    assert response.status_code == 400
    assert response.json()["code"] == "inactive_key"


def test_presigned_needs_an_officer(cast, api_as, external_key):
    private, kid = external_key
    colleague = cast["memberships"]["colleague"]
    doc = signed_alert_document(colleague)
    response = _post_jws(
        api_as(colleague.user), compact({"alg": "EdDSA", "kid": kid, "typ": "alert+json"}, doc, private)
    )
    assert response.status_code == 403


def test_created_at_inside_the_window(cast, officer, external_key):
    from django.utils import timezone

    private, kid = external_key
    when = (timezone.now() - timedelta(minutes=4)).strftime("%Y-%m-%dT%H:%M:%SZ")
    doc = signed_alert_document(cast["memberships"]["author"], created_at=when, containers=[container()])
    response = _post_jws(officer, compact({"alg": "EdDSA", "kid": kid, "typ": "alert+json"}, doc, private))
    assert response.status_code == 201
    assert response.json()["created_at"] == when


@pytest.mark.parametrize("damage", ["é", "=", "+", "/", " "])
def test_non_base64url_characters_in_a_jws_are_refused(damage, cast, officer, external_key):
    private, kid = external_key
    jws = compact(
        {"alg": "EdDSA", "kid": kid, "typ": "alert+json"}, signed_alert_document(cast["memberships"]["author"]), private
    )
    head, payload, signature = jws.split(".")
    response = _post_jws(officer, f"{head}.{payload[:10]}{damage}{payload[11:]}.{signature}")
    assert response.status_code == 400
    assert response.json()["code"] == "malformed_jws"
    _nothing_stored()
