"""Scanner ingestion (SPEC section 5): check order, every field rule, idempotency, batches, counters."""

from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from rest_framework.test import APIClient

from ports.keys import public_x, thumbprint
from ports.services import token_issue
from scans.models import NodeCounter, Scan, ScanOutbox

from .helpers import now_z

pytestmark = pytest.mark.django_db


def _rejected(node) -> int:
    counter = NodeCounter.objects.filter(node=node.node).first()
    return counter.rejected if counter else 0


def _assert_error(response, status: int, field: str | None = None, code: str | None = None):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"code", "errors"}
    if field is not None:
        assert field in body["errors"], body
        assert all(isinstance(m, str) and m for m in body["errors"][field])
    if code is not None:
        assert body["code"] == code, body


def test_accepted_scan_is_stored_as_signed_with_its_outbox(antwerp_node):
    document = antwerp_node.document(
        vessel_imo="9074729",
        verdict="suspect",
        next_port="DEHAM",
        anomalies=["organic_density"],
        score=0.87,
        seized_kg=0,
    )
    jws = antwerp_node.sign(document)
    response = antwerp_node.client.post("/api/v1/scans/", {"jws": jws}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["jws"] == jws
    assert body["signature_status"] == "verified"
    assert body["kid"] == antwerp_node.kid
    for name, value in document.items():
        if name != "node":
            assert body[name] == value, name
    scan = Scan.objects.get(pk=body["id"])
    assert scan.jws == jws
    assert ScanOutbox.objects.filter(scan=scan, processed_at=None).exists()
    assert body["route"] == []
    assert body["onward_route"] == []
    assert body["voyage"] is None


def test_same_push_three_times_is_one_scan(antwerp_node):
    jws = antwerp_node.sign(antwerp_node.document())
    codes = [antwerp_node.client.post("/api/v1/scans/", {"jws": jws}, format="json") for _ in range(3)]
    assert [r.status_code for r in codes] == [201, 200, 200]
    assert len({r.json()["id"] for r in codes}) == 1
    assert Scan.objects.count() == 1
    assert ScanOutbox.objects.count() == 1
    assert NodeCounter.objects.get(node=antwerp_node.node).duplicate == 2


def test_same_scan_id_with_another_payload_is_a_conflict(antwerp_node):
    document = antwerp_node.document()
    assert antwerp_node.push(document).status_code == 201
    changed = {**document, "verdict": "positive"}
    _assert_error(antwerp_node.push(changed), 409, "scan_id", "conflict")
    assert Scan.objects.get().verdict == "clear"
    assert _rejected(antwerp_node) == 1


# ---------------------------------------------------------------- check order


def test_missing_or_bad_token_is_401_before_the_body(antwerp_node):
    anonymous = APIClient()
    _assert_error(anonymous.post("/api/v1/scans/", "not json", content_type="application/json"), 401)
    anonymous.credentials(HTTP_AUTHORIZATION="Token nope")
    _assert_error(anonymous.post("/api/v1/scans/", {"bad": 1}, format="json"), 401)
    response = anonymous.post("/api/v1/scans/batch/", {"items": []}, format="json")
    assert response.status_code == 401
    assert response.headers.get("WWW-Authenticate") == "Token"


def test_personal_token_is_401_on_scanner_endpoints(antwerp_node, cast):
    _, raw = token_issue(user=cast["users"]["author"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
    jws = antwerp_node.sign(antwerp_node.document())
    for path, body in [("/api/v1/scans/", {"jws": jws}), ("/api/v1/scans/batch/", {"items": [jws]})]:
        _assert_error(client.post(path, body, format="json"), 401)
    _assert_error(client.get("/api/v1/nodes/me/"), 401)
    assert not Scan.objects.exists()


def test_node_token_is_refused_on_member_endpoints(antwerp_node):
    assert antwerp_node.client.get("/api/v1/scans/").status_code == 403
    assert antwerp_node.client.get("/api/v1/alerts/").status_code == 403


@pytest.mark.parametrize("body", [{"nothing": 1}, {"jws": ""}, {"jws": 12}, {"jws": "a.b"}, {"jws": "a.b.c"}])
def test_malformed_body_or_jws_is_400(antwerp_node, body):
    _assert_error(antwerp_node.client.post("/api/v1/scans/", body, format="json"), 400)
    assert _rejected(antwerp_node) == 1
    assert not Scan.objects.exists()


def test_key_of_another_node_is_403(antwerp_node, hamburg_node):
    document = antwerp_node.document()
    jws = hamburg_node.sign(document)  # Hamburg's key, Antwerp's token
    _assert_error(antwerp_node.client.post("/api/v1/scans/", {"jws": jws}, format="json"), 403, "jws", "key_not_active")
    assert _rejected(antwerp_node) == 1


def test_unknown_key_is_403_and_bad_signature_is_400(antwerp_node):
    other = Ed25519PrivateKey.generate()
    document = antwerp_node.document()
    unknown = antwerp_node.sign(document, private=other, kid=thumbprint(public_x(other.public_key())))
    _assert_error(antwerp_node.client.post("/api/v1/scans/", {"jws": unknown}, format="json"), 403)
    forged = antwerp_node.sign(document, private=other)  # right kid, wrong key
    _assert_error(
        antwerp_node.client.post("/api/v1/scans/", {"jws": forged}, format="json"), 400, "jws", "bad_signature"
    )
    assert _rejected(antwerp_node) == 2
    assert not Scan.objects.exists()


def test_signature_is_checked_before_the_fields(antwerp_node):
    other = Ed25519PrivateKey.generate()
    forged = antwerp_node.sign(antwerp_node.document(container="BAD"), private=other)
    _assert_error(
        antwerp_node.client.post("/api/v1/scans/", {"jws": forged}, format="json"), 400, "jws", "bad_signature"
    )


def test_refused_algorithms_and_headers(antwerp_node):
    import json

    from ports.keys import b64url

    document = antwerp_node.document()
    for header in (
        {"alg": "none", "kid": antwerp_node.kid, "typ": "scan+json"},
        {"alg": "EdDSA", "kid": antwerp_node.kid, "typ": "scan+json", "jku": "https://evil.example"},
        {"alg": "EdDSA", "kid": antwerp_node.kid, "typ": "alert+json"},
    ):
        h = b64url(json.dumps(header, separators=(",", ":")).encode())
        p = b64url(json.dumps(document, separators=(",", ":"), sort_keys=True).encode())
        signature = b64url(antwerp_node.private.sign(f"{h}.{p}".encode()))
        _assert_error(
            antwerp_node.client.post("/api/v1/scans/", {"jws": f"{h}.{p}.{signature}"}, format="json"), 400, "jws"
        )
    assert not Scan.objects.exists()


def test_non_canonical_payload_is_refused(antwerp_node):
    import json

    from ports.keys import b64url

    h = b64url(json.dumps({"alg": "EdDSA", "kid": antwerp_node.kid, "typ": "scan+json"}).encode())
    p = b64url(json.dumps(antwerp_node.document(), indent=1).encode())
    signature = b64url(antwerp_node.private.sign(f"{h}.{p}".encode()))
    _assert_error(
        antwerp_node.client.post("/api/v1/scans/", {"jws": f"{h}.{p}.{signature}"}, format="json"),
        400,
        "jws",
        "non_canonical",
    )


def test_ed25519_alg_name_is_accepted(antwerp_node):
    import rfc8785

    from ports.keys import b64url

    h = b64url(rfc8785.dumps({"alg": "Ed25519", "kid": antwerp_node.kid, "typ": "scan+json"}))
    p = b64url(rfc8785.dumps(antwerp_node.document()))
    signature = b64url(antwerp_node.private.sign(f"{h}.{p}".encode()))
    assert antwerp_node.client.post("/api/v1/scans/", {"jws": f"{h}.{p}.{signature}"}, format="json").status_code == 201


# ---------------------------------------------------------------- every field rule, one at a time

BAD_FIELDS = [
    ("scan_id", ...),
    ("scan_id", ""),
    ("scan_id", "has space"),
    ("scan_id", "x" * 65),
    ("scan_id", 7),
    ("node", "deham-xr-01"),
    ("node", ...),
    ("port", "NLRTM"),
    ("port", "beanr"),
    ("port", "XXABC"),
    ("port", ...),
    ("scanned_at", ...),
    ("scanned_at", "2026-11-22 08:00:00"),
    ("scanned_at", "2026-11-22T08:00:00.5Z"),
    ("scanned_at", "2026-11-22T09:00:00+01:00"),
    ("scanned_at", "FUTURE"),
    ("container", ...),
    ("container", "MSCU1234567"),
    ("container", "mscu1234566"),
    ("container", "MSCU 123456 6"),
    ("vessel_imo", "9074728"),
    ("vessel_imo", 9074729),
    ("vessel_imo", "907472"),
    ("voyage", "x" * 33),
    ("voyage", 12),
    ("origin", ...),
    ("origin", "EC1YE"),
    ("origin", "ecgye"),
    ("route", "ECGYE"),
    ("route", ["ECGYE", "bad"]),
    ("next_port", "DE"),
    ("onward_route", ["NLRTM", 5]),
    ("mode", "smuggling"),
    ("mode", ...),
    ("verdict", "maybe"),
    ("verdict", ...),
    ("anomalies", ["organic_density", "ghost"]),
    ("anomalies", "rip_on_bag"),
    ("anomalies", ["reefer_unit"] * 2),
    ("score", 1.5),
    ("score", -0.1),
    ("score", "0.5"),
    ("image_sha256", "ABC"),
    ("image_sha256", "A" * 64),
    ("seized_kg", -1),
    ("seized_kg", "12"),
    ("extra_field", "surprise"),
]


@pytest.mark.parametrize(("field", "value"), BAD_FIELDS, ids=[f"{f}={v!r}"[:40] for f, v in BAD_FIELDS])
def test_each_field_rule_broken_alone_is_a_400_naming_the_field(antwerp_node, field, value):
    if value == "FUTURE":
        value = now_z(timedelta(minutes=10))
    document = antwerp_node.document(**{field: value})
    _assert_error(antwerp_node.push(document), 400, field, "invalid_document")
    assert not Scan.objects.exists()
    assert not ScanOutbox.objects.exists()
    assert _rejected(antwerp_node) == 1


def test_every_failing_field_is_listed(antwerp_node):
    document = antwerp_node.document(container="BAD", verdict="maybe", score=3)
    body = antwerp_node.push(document).json()
    assert {"container", "verdict", "score"} <= set(body["errors"])


def test_backfill_and_small_clock_skew_are_accepted(antwerp_node):
    assert antwerp_node.push(scanned_at="2024-01-15T10:00:00Z").status_code == 201
    assert antwerp_node.push(scanned_at=now_z(timedelta(minutes=4))).status_code == 201


def test_unknown_valid_locode_becomes_a_non_member_port(antwerp_node):
    from ports.models import Port

    assert antwerp_node.push(origin="ECMEC", route=["PAMIT", "MAPTM"]).status_code == 201
    assert Port.objects.get(locode="ECMEC").is_member is False
    assert Port.objects.filter(locode="MAPTM").exists()


# ---------------------------------------------------------------- batches


def test_batch_keeps_good_items_and_answers_in_order(antwerp_node):
    items = []
    bad = {2, 5, 8}
    for i in range(10):
        document = antwerp_node.document(verdict="maybe" if i in bad else "clear")
        items.append(antwerp_node.sign(document))
    response = antwerp_node.batch(items)
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["index"] for r in results] == list(range(10))
    for r in results:
        assert set(r) == {"index", "status", "id", "code", "errors"}
        if r["index"] in bad:
            assert r["status"] == "rejected"
            assert r["id"] is None
            assert "verdict" in r["errors"]
        else:
            assert r["status"] == "created"
            assert r["id"]
            assert r["code"] is None
            assert r["errors"] == {}
    assert Scan.objects.count() == 7
    assert ScanOutbox.objects.count() == 7
    assert _rejected(antwerp_node) == 3


def test_batch_resend_duplicates_and_conflicts(antwerp_node):
    first = antwerp_node.document()
    second = antwerp_node.document()
    items = [antwerp_node.sign(first), antwerp_node.sign(second)]
    antwerp_node.batch(items)
    again = antwerp_node.batch(items + [antwerp_node.sign({**first, "verdict": "suspect"}), items[0]]).json()
    assert [r["status"] for r in again["results"]] == ["duplicate", "duplicate", "rejected", "duplicate"]
    assert again["results"][2]["code"] == "conflict"
    assert again["results"][0]["id"] == again["results"][3]["id"]
    assert Scan.objects.count() == 2


def test_batch_repeats_inside_one_batch(antwerp_node):
    document = antwerp_node.document()
    jws = antwerp_node.sign(document)
    results = antwerp_node.batch([jws, jws, antwerp_node.sign({**document, "verdict": "positive"})]).json()["results"]
    assert [r["status"] for r in results] == ["created", "duplicate", "rejected"]
    assert results[0]["id"] == results[1]["id"]
    assert results[2]["code"] == "conflict"


def test_batch_mixing_whole_and_fractional_numbers_stores_every_item(antwerp_node):
    # JSON has one number type: a score of 1 and one of 0.5 arrive as int and float in the same batch.
    documents = [
        antwerp_node.document(score=1, seized_kg=12, route=["COCTG", "PABLB"], anomalies=["reefer_unit"]),
        antwerp_node.document(score=0.5, seized_kg=3.25),
        antwerp_node.document(score=0),
    ]
    results = antwerp_node.batch([antwerp_node.sign(d) for d in documents]).json()["results"]
    assert [r["status"] for r in results] == ["created"] * 3
    stored = {s.scan_id: s for s in Scan.objects.all()}
    first, second, third = (stored[d["scan_id"]] for d in documents)
    assert (first.score, first.seized_kg, first.route, first.anomalies) == (
        1.0,
        12.0,
        ["COCTG", "PABLB"],
        ["reefer_unit"],
    )
    assert (second.score, second.seized_kg, second.route, second.anomalies) == (0.5, 3.25, None, None)
    assert (third.score, third.seized_kg) == (0.0, None)
    assert ScanOutbox.objects.filter(scan__in=stored.values(), processed_at__isnull=True).count() == 3


@pytest.mark.parametrize("count", [0, 501])
def test_batch_size_limits(antwerp_node, count):
    jws = antwerp_node.sign(antwerp_node.document())
    _assert_error(antwerp_node.batch([jws] * count), 400, "items")
    assert not Scan.objects.exists()


def test_batch_of_500_is_stored_in_bounded_queries(antwerp_node, django_assert_max_num_queries):
    items = [antwerp_node.sign(antwerp_node.document()) for _ in range(500)]
    with django_assert_max_num_queries(25):
        response = antwerp_node.batch(items)
    assert response.status_code == 200
    assert Scan.objects.count() == 500


# ---------------------------------------------------------------- the node


def test_nodes_me_reports_status_counters_and_key(antwerp_node):
    antwerp_node.push()
    antwerp_node.push(verdict="maybe")
    body = antwerp_node.client.get("/api/v1/nodes/me/").json()
    assert body["node"] == antwerp_node.id
    assert body["port"] == "BEANR"
    assert body["status"] == "active"
    assert body["counters"] == {"accepted": 1, "duplicate": 0, "rejected": 1}
    assert body["key"] == {"kid": antwerp_node.kid, "status": "active"}


def test_node_rotates_its_key(antwerp_node):
    new = Ed25519PrivateKey.generate()
    x = public_x(new.public_key())
    jws = antwerp_node.sign({"node": antwerp_node.id, "x": x, "created_at": now_z()}, typ="key+json")
    response = antwerp_node.client.post("/api/v1/nodes/me/keys/", {"jws": jws}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["kid"] == thumbprint(x)
    assert response.json()["owner"] == f"node:{antwerp_node.id}"
    old_kid = antwerp_node.kid
    # The old key now signs nothing new; the new one does.
    _assert_error(antwerp_node.push(), 403)
    antwerp_node.private, antwerp_node.kid = new, thumbprint(x)
    assert antwerp_node.push().status_code == 201
    from ports.models import SigningKey

    assert SigningKey.objects.get(kid=old_kid).status == "retired"
    # Re-registering a known key is refused.
    again = antwerp_node.sign({"node": antwerp_node.id, "x": x, "created_at": now_z()}, typ="key+json")
    _assert_error(antwerp_node.client.post("/api/v1/nodes/me/keys/", {"jws": again}, format="json"), 400, "x")


def test_scans_signed_before_rotation_stay_verified_as_retired(antwerp_node, cast, api_as):
    scan_id = antwerp_node.push().json()["id"]
    new = Ed25519PrivateKey.generate()
    jws = antwerp_node.sign(
        {"node": antwerp_node.id, "x": public_x(new.public_key()), "created_at": now_z()}, typ="key+json"
    )
    antwerp_node.client.post("/api/v1/nodes/me/keys/", {"jws": jws}, format="json")
    body = api_as(cast["users"]["colleague"]).get(f"/api/v1/scans/{scan_id}/").json()
    assert body["signature_status"] == "key_retired"


@pytest.mark.integration  # the throttle counts in Redis (it fails open without it)
def test_node_throttle_answers_429_with_retry_after(antwerp_node):
    from django.core.cache import cache

    cache.clear()
    from rest_framework.throttling import SimpleRateThrottle

    original = SimpleRateThrottle.THROTTLE_RATES
    # The class reads its rates once at import; swap them for this test only.
    SimpleRateThrottle.THROTTLE_RATES = {**original, "node": "3/min"}
    try:
        codes = [antwerp_node.push().status_code for _ in range(3)]
        assert codes == [201, 201, 201]
        last = antwerp_node.push()
        assert last.status_code == 429
        assert int(last.headers["Retry-After"]) > 0
        assert last.json()["code"] == "throttled"
    finally:
        SimpleRateThrottle.THROTTLE_RATES = original
        cache.clear()
