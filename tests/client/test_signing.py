"""The client package signs exactly as docs/scanner-api.md says: its test vectors, recomputed by the package."""

import base64
import json
import random
import re
from pathlib import Path

import pytest
import rfc8785
from alliance_scanner import signing
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ports import signing as portal_signing

DOC = (Path(__file__).resolve().parents[2] / "docs" / "scanner-api.md").read_text()


def _vectors() -> dict:
    blocks = [b.strip() for b in re.findall(r"```[a-z]*\n(.*?)```", DOC, re.S)]
    values = dict(line.split("=", 1) for line in next(b for b in blocks if b.startswith("x   =")).splitlines())
    return {
        "seed": next(b for b in blocks if re.fullmatch(r"[0-9a-f]{64}", b)),
        "x": values["x   "].strip(),
        "kid": values["kid "].strip(),
        "pem": next(b for b in blocks if b.startswith("-----BEGIN PUBLIC KEY")),
        "document": json.loads(next(b for b in blocks if b.startswith('{"scan_id"'))),
        "canonical": next(b for b in blocks if b.startswith('{"anomalies"')),
        "jws": next(b for b in blocks if b.startswith("eyJ")),
    }


def test_the_package_reproduces_the_documented_vectors():
    v = _vectors()
    key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(v["seed"]))
    assert signing.public_x(key) == v["x"]
    assert signing.kid_of(v["x"]) == v["kid"]
    assert signing.public_pem(key).strip() == v["pem"]
    assert signing.canonical(v["document"]).decode() == v["canonical"]
    assert signing.sign(v["document"], key) == v["jws"]
    # What the queue keeps is the canonical payload; signing it later gives the same JWS.
    scan_id, payload = signing.scan_payload(v["document"], node="beanr-xr-01")
    assert scan_id == v["document"]["scan_id"]
    assert signing.sign_payload(payload, key, signing.SCAN_TYP) == v["jws"]
    # And the portal's own parser reads it back unchanged.
    parsed = portal_signing.parse(v["jws"], "scan+json")
    assert parsed.payload == v["document"]
    assert parsed.kid == v["kid"]


def test_key_documents_have_the_key_typ_and_exact_header():
    key = Ed25519PrivateKey.generate()
    jws = signing.sign({"node": "n", "x": signing.public_x(key), "created_at": signing.utc_now()}, key, signing.KEY_TYP)
    header = json.loads(base64.urlsafe_b64decode(jws.split(".")[0] + "=="))
    assert header == {"alg": "EdDSA", "kid": signing.kid_of(signing.public_x(key)), "typ": "key+json"}
    assert portal_signing.parse(jws, "key+json").payload["node"] == "n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"scan_id": "a", "scan_id": "b"}', "twice"),
        ('{"scan_id": "a", "score": NaN}', "NaN"),
        ('{"scan_id": "a", "score": Infinity}', "Infinity"),
        ("[1, 2]", "JSON object"),
        ('{"node": "n"}', "scan_id"),
        ('{"scan_id": "has space"}', "scan_id"),
        ('{"scan_id": "' + "a" * 65 + '"}', "scan_id"),
        ('{"scan_id": "a", "n": 9007199254740993}', "canonical"),
        ("{not json", "not JSON"),
    ],
)
def test_documents_no_retry_could_fix_are_refused_before_the_queue(text, message):
    with pytest.raises(signing.DocumentError, match=message):
        signing.scan_payload(signing.parse_json(text))


def test_a_document_of_another_node_is_refused():
    with pytest.raises(signing.DocumentError, match="this node"):
        signing.scan_payload({"scan_id": "a", "node": "deham-xr-01"}, node="beanr-xr-01")


def test_documents_over_64_kib_are_refused():
    with pytest.raises(signing.DocumentError, match="at most"):
        signing.scan_payload({"scan_id": "a", "voyage": "x" * 70_000})


def test_the_c_advice_for_numbers_gives_the_canonical_form():
    """docs/scanner-api.md tells C vendors to write score (0 to 1) and seized_kg (0 to 100,000), rounded to
    at most 3 decimals, with printf("%.15g"): that must be the RFC 8785 form of every such value."""
    rng = random.Random(8785)
    values = [k / 1000 for k in range(1001)]  # every score
    values += [round(rng.uniform(0, 100_000), rng.randint(0, 3)) for _ in range(20_000)]
    values += [0, 1, 100_000, 99_999.999, 0.5, 12.5]
    wrong = [v for v in values if ("%.15g" % v) != rfc8785.dumps(v).decode()]  # noqa: UP031 - it is C's printf
    assert wrong == []
