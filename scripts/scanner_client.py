#!/usr/bin/env python3
"""Alliance Exchange scanner client: a reference a scanner vendor can copy.

Depends only on `cryptography`, `rfc8785` and `requests`.

    python scanner_client.py keygen node.pem            # writes the private key, prints the public key
    python scanner_client.py push --url URL --token TOKEN --key node.pem --kid KID scan.json
    python scanner_client.py batch --url URL --token TOKEN --key node.pem --kid KID scans.json

Documents are signed as compact JWS (EdDSA / Ed25519) over their RFC 8785
canonical JSON, with the protected header exactly {"alg", "kid", "typ"}.
Pushes retry on network errors and 5xx with exponential backoff and honour
`Retry-After` on 429; 4xx answers are final and returned as they are.
"""

import argparse
import base64
import hashlib
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import requests
import rfc8785
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def public_x(private_key: Ed25519PrivateKey) -> str:
    raw = private_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return b64url(raw)


def kid_of(x: str) -> str:
    """RFC 7638 JWK thumbprint of an Ed25519 public key."""
    members = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": x}, separators=(",", ":"), sort_keys=True)
    return b64url(hashlib.sha256(members.encode("ascii")).digest())


def load_key(path: str | Path) -> Ed25519PrivateKey:
    return serialization.load_pem_private_key(Path(path).read_bytes(), password=None)


def keygen(path: str | Path) -> tuple[Ed25519PrivateKey, str]:
    """Write a new private key (PEM, mode 0600); returns it and its public PEM."""
    key = Ed25519PrivateKey.generate()
    path = Path(path)
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    path.chmod(0o600)
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return key, public_pem


def sign(document: dict, key: Ed25519PrivateKey, kid: str, typ: str = "scan+json") -> str:
    header = b64url(rfc8785.dumps({"alg": "EdDSA", "kid": kid, "typ": typ}))
    payload = b64url(rfc8785.dumps(document))
    signature = key.sign(f"{header}.{payload}".encode("ascii"))
    return f"{header}.{payload}.{b64url(signature)}"


def utc_now() -> str:
    """Signed times are UTC, whole seconds, ending in Z."""
    return datetime.now(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


class Client:
    def __init__(
        self,
        url: str,
        token: str,
        key: Ed25519PrivateKey,
        kid: str | None = None,
        *,
        retries: int = 6,
        timeout: float = 15.0,
        session: requests.Session | None = None,
    ):
        self.url = url.rstrip("/")
        self.key = key
        self.kid = kid or kid_of(public_x(key))
        self.retries = retries
        self.timeout = timeout
        self.session = session or requests.Session()
        self.session.headers.update({"Authorization": f"Token {token}", "Content-Type": "application/json"})

    def _post(self, path: str, body: dict) -> requests.Response:
        delay = 0.5
        for attempt in range(self.retries + 1):
            try:
                response = self.session.post(self.url + path, data=json.dumps(body), timeout=self.timeout)
            except requests.RequestException:
                if attempt == self.retries:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 30)
                continue
            if response.status_code == 429 and attempt < self.retries:
                time.sleep(float(response.headers.get("Retry-After", delay)))
                continue
            if response.status_code >= 500 and attempt < self.retries:
                time.sleep(delay)
                delay = min(delay * 2, 30)
                continue
            return response
        return response

    def push(self, document: dict) -> requests.Response:
        """201 created, 200 identical re-send, 409 conflicting re-send, 4xx refused (see the error codes)."""
        return self._post("/api/v1/scans/", {"jws": sign(document, self.key, self.kid)})

    def batch(self, documents: list[dict]) -> requests.Response:
        """Up to 500 documents; the answer holds one result per item, in order."""
        return self._post("/api/v1/scans/batch/", {"items": [sign(d, self.key, self.kid) for d in documents]})

    def rotate_key(self, node_id: str, new_key: Ed25519PrivateKey) -> requests.Response:
        """Register a new key, signed by the current one; on 201 the client signs with the new key."""
        document = {"node": node_id, "x": public_x(new_key), "created_at": utc_now()}
        response = self._post("/api/v1/nodes/me/keys/", {"jws": sign(document, self.key, self.kid, "key+json")})
        if response.status_code == 201:
            self.key, self.kid = new_key, kid_of(public_x(new_key))
        return response

    def me(self) -> dict:
        return self.session.get(self.url + "/api/v1/nodes/me/", timeout=self.timeout).json()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("keygen", help="write a private key and print the public key to register")
    gen.add_argument("path")
    for name in ("push", "batch"):
        p = sub.add_parser(name)
        p.add_argument("--url", required=True)
        p.add_argument("--token", required=True)
        p.add_argument("--key", required=True, help="private key PEM")
        p.add_argument("--kid", default=None, help="defaults to the key's RFC 7638 thumbprint")
        p.add_argument("file", help="a JSON document (push) or a JSON list of documents (batch)")
    args = parser.parse_args(argv)
    if args.command == "keygen":
        key, public_pem = keygen(args.path)
        x = public_x(key)
        print(public_pem, end="")
        print(f"x   = {x}\nkid = {kid_of(x)}")
        return 0
    client = Client(args.url, args.token, load_key(args.key), args.kid)
    data = json.loads(Path(args.file).read_text())
    response = client.push(data) if args.command == "push" else client.batch(data)
    print(response.status_code, json.dumps(response.json(), indent=2))
    return 0 if response.status_code < 400 else 1


if __name__ == "__main__":
    sys.exit(main())
