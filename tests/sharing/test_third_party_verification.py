"""A third party checks alert signatures with standard tools, without trusting the portal's database.

Over real HTTP (live server): fetch the public JWKS and the alerts, then verify each JWS with
joserfc (a JOSE library the project does not sign with) and with `openssl pkeyutl -verify -rawin`.
"""

import base64
import hashlib
import json
import subprocess
import urllib.request

import pytest
import rfc8785
from joserfc import jws as jose_jws
from joserfc.jwk import KeySet

from ports.services import token_issue

from .conftest import VESSELS, container

SPKI_ED25519_PREFIX = bytes.fromhex("302a300506032b6570032100")


def _b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _get(url: str, token: str | None = None) -> dict:
    request = urllib.request.Request(url, headers={"Authorization": f"Token {token}"} if token else {})
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200
        return json.loads(response.read())


def _pem(x: str) -> bytes:
    der = SPKI_ED25519_PREFIX + _b64d(x)
    return b"-----BEGIN PUBLIC KEY-----\n" + base64.encodebytes(der) + b"-----END PUBLIC KEY-----\n"


@pytest.mark.django_db(transaction=True)
def test_alerts_verify_with_joserfc_and_openssl(cast, publish, live_server, tmp_path):
    author = cast["users"]["author"]
    published = [
        publish(author, tlp="GREEN", containers=[container()], vessels=[VESSELS[0]]),
        publish(author, tlp="AMBER", audience={"agencies": ["nlrtm-customs"], "ports": ["DEHAM"], "users": []}),
        publish(
            author, tlp="RED", audience={"agencies": [], "ports": [], "users": [cast["memberships"]["author"].handle]}
        ),
        publish(cast["users"]["hamburg_customs"], tlp="CLEAR", title="Ünïcödé “quotes” — and emoji 🚢"),
    ]
    jwks = _get(f"{live_server.url}/.well-known/jwks.json")  # public: no token
    assert {k["owner"] for k in jwks["keys"]} >= {"beanr-customs", "deham-customs", "portal"}
    for key in jwks["keys"]:
        assert set(key) == {"kty", "crv", "x", "kid", "use", "alg", "owner", "status"}
        thumb_input = json.dumps({"crv": key["crv"], "kty": key["kty"], "x": key["x"]}, separators=(",", ":"))
        assert key["kid"] == _b64(hashlib.sha256(thumb_input.encode()).digest())
    key_set = KeySet.import_key_set({"keys": jwks["keys"]})  # unknown members (owner, status) are ignored
    by_kid = {k["kid"]: k for k in jwks["keys"]}

    _, token = token_issue(user=author, name="verifier")
    listed = _get(f"{live_server.url}/api/v1/alerts/?page_size=200", token)["results"]
    assert {a["id"] for a in listed} == {a["id"] for a in published}
    for alert in listed:
        compact = alert["jws"]
        header_b64, payload_b64, signature_b64 = compact.split(".")
        header = json.loads(_b64d(header_b64))
        assert header == {"alg": "EdDSA", "kid": alert["kid"], "typ": "alert+json"}
        jwk = by_kid[alert["kid"]]
        assert jwk["owner"] == alert["agency"]

        # joserfc, picking the key by kid from the JWKS.
        verified = jose_jws.deserialize_compact(compact, key_set, algorithms=["EdDSA"])
        payload = json.loads(verified.payload)
        assert verified.payload == rfc8785.dumps(payload)  # canonical
        assert payload == {k: alert[k] for k in payload}  # the payload equals the API fields
        assert set(alert) - set(payload) == {"jws", "signature_status", "kid", "url", "expired"}

        # openssl, on a PEM built from the JWK's x.
        pem = tmp_path / "key.pem"
        pem.write_bytes(_pem(jwk["x"]))
        data = tmp_path / "input"
        data.write_bytes(f"{header_b64}.{payload_b64}".encode())
        sig = tmp_path / "sig"
        sig.write_bytes(_b64d(signature_b64))
        ok = subprocess.run(
            ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", pem, "-rawin", "-in", data, "-sigfile", sig],
            capture_output=True,
            text=True,
        )
        assert ok.returncode == 0, ok.stderr
        assert "Signature Verified Successfully" in ok.stdout, ok.stderr
        # ... and openssl refuses a one-byte change, so the check above is not vacuous.
        data.write_bytes(f"{header_b64}.{payload_b64[:-1]}{'A' if payload_b64[-1] != 'A' else 'B'}".encode())
        bad = subprocess.run(
            ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", pem, "-rawin", "-in", data, "-sigfile", sig],
            capture_output=True,
            text=True,
        )
        assert bad.returncode != 0


@pytest.mark.django_db(transaction=True)
def test_members_key_set_adds_node_keys(cast, api_as, live_server):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from ports.keys import public_x
    from ports.models import Agency
    from ports.services import node_register

    node_register(
        node_id="beanr-scan-1",
        agency=Agency.objects.get(slug="beanr-customs"),
        public_key=public_x(Ed25519PrivateKey.generate().public_key()),
    )
    public = _get(f"{live_server.url}/.well-known/jwks.json")
    assert not any(k["owner"].startswith("node:") for k in public["keys"])
    _, token = token_issue(user=cast["users"]["rotterdam_terminal"], name="keys")
    members = _get(f"{live_server.url}/api/v1/keys/", token)
    assert "count" not in members  # a JWK Set, not a paginated list
    assert [k for k in members["keys"] if k["owner"] == "node:beanr-scan-1"][0]["status"] == "active"
    assert {k["kid"] for k in public["keys"]} <= {k["kid"] for k in members["keys"]}
