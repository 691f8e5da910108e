"""The test vectors in docs/scanner-api.md: recomputed from the doc (by the scanner client package), verified with
openssl, accepted by the API."""

import base64
import json
import re
import subprocess
from pathlib import Path

import pytest
import rfc8785
from alliance_scanner import signing as client
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ports import signing

ROOT = Path(__file__).resolve().parent.parent.parent
DOC = (ROOT / "docs" / "scanner-api.md").read_text()


def _blocks() -> list[str]:
    return [b.strip() for b in re.findall(r"```[a-z]*\n(.*?)```", DOC, re.S)]


def _vectors() -> dict:
    blocks = _blocks()
    seed = next(b for b in blocks if re.fullmatch(r"[0-9a-f]{64}", b))
    xkid = next(b for b in blocks if b.startswith("x   ="))
    values = dict(line.split("=", 1) for line in xkid.splitlines())
    pem = next(b for b in blocks if b.startswith("-----BEGIN PUBLIC KEY"))
    document = json.loads(next(b for b in blocks if b.startswith('{"scan_id"')))
    canonical = next(b for b in blocks if b.startswith('{"anomalies"'))
    jws = next(b for b in blocks if b.startswith("eyJ"))
    return {
        "seed": seed,
        "x": values["x   "].strip(),
        "kid": values["kid "].strip(),
        "pem": pem,
        "document": document,
        "canonical": canonical,
        "jws": jws,
    }


def test_vectors_recompute_exactly():
    v = _vectors()
    key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(v["seed"]))
    assert client.public_x(key) == v["x"]
    assert client.kid_of(v["x"]) == v["kid"]
    pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert pem.decode().strip() == v["pem"]
    assert rfc8785.dumps(v["document"]).decode() == v["canonical"]
    assert client.sign(v["document"], key) == v["jws"]
    parsed = signing.parse(v["jws"], "scan+json")
    assert parsed.payload == v["document"]
    assert parsed.kid == v["kid"]


def test_vectors_verify_with_openssl(tmp_path):
    v = _vectors()
    header_payload, _, signature = v["jws"].rpartition(".")
    (tmp_path / "pub.pem").write_text(v["pem"] + "\n")
    (tmp_path / "input.bin").write_bytes(header_payload.encode("ascii"))
    (tmp_path / "sig.bin").write_bytes(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)))
    ok = subprocess.run(
        [
            "openssl",
            "pkeyutl",
            "-verify",
            "-pubin",
            "-inkey",
            "pub.pem",
            "-rawin",
            "-in",
            "input.bin",
            "-sigfile",
            "sig.bin",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "Success" in ok.stdout, ok.stdout + ok.stderr
    (tmp_path / "input.bin").write_bytes(header_payload.encode("ascii") + b"x")
    bad = subprocess.run(
        [
            "openssl",
            "pkeyutl",
            "-verify",
            "-pubin",
            "-inkey",
            "pub.pem",
            "-rawin",
            "-in",
            "input.bin",
            "-sigfile",
            "sig.bin",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert bad.returncode != 0


@pytest.mark.django_db
def test_the_vector_is_accepted_by_the_api(cast, make_agency):

    from rest_framework.test import APIClient

    from ports.services import node_register

    v = _vectors()
    _, token = node_register(node_id="beanr-xr-01", agency=make_agency("beanr-customs"), public_key=v["pem"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    response = client.post("/api/v1/scans/", {"jws": v["jws"]}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["signature_status"] == "verified"
