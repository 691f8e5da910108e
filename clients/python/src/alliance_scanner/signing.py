"""Signatures as the portal wants them (SPEC section 3): compact JWS, Ed25519, over RFC 8785 canonical JSON.

The protected header is exactly {"alg": "EdDSA", "kid": KID, "typ": TYP}; the payload is the canonical
JSON of the document, so what the portal stores is byte for byte what the node signed, and a re-send of
the same document is recognised as the same (the portal compares payload digests).
"""

import base64
import hashlib
import json
import re
from datetime import UTC, datetime
from typing import Any

import rfc8785
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

SCAN_TYP = "scan+json"
KEY_TYP = "key+json"
MAX_DOCUMENT_BYTES = 64 * 1024
SCAN_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


class DocumentError(ValueError):
    """A document the portal would refuse whatever happens: never queued."""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def public_x(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """The raw 32-byte public key, base64url without padding (the JWK `x`)."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return b64url(public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))


def kid_of(x: str) -> str:
    """RFC 7638 JWK thumbprint: SHA-256 over the required members in lexicographic order, base64url."""
    members = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": x}, separators=(",", ":"), sort_keys=True)
    return b64url(hashlib.sha256(members.encode("ascii")).digest())


def public_pem(key: Ed25519PrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )


def private_pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def load_private_pem(data: bytes) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(data, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("not an Ed25519 private key")
    return key


def canonical(document: Any) -> bytes:
    """RFC 8785 bytes; NaN, infinities and integers beyond 2**53 cannot be canonical and are refused."""
    try:
        return rfc8785.dumps(document)
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise DocumentError(f"cannot be written as RFC 8785 canonical JSON: {exc}") from exc


def sign_payload(payload: bytes, key: Ed25519PrivateKey, typ: str) -> str:
    """A compact JWS over payload bytes that are already canonical."""
    header = b64url(rfc8785.dumps({"alg": "EdDSA", "kid": kid_of(public_x(key)), "typ": typ}))
    signing_input = f"{header}.{b64url(payload)}"
    return f"{signing_input}.{b64url(key.sign(signing_input.encode('ascii')))}"


def sign(document: dict[str, Any], key: Ed25519PrivateKey, typ: str = SCAN_TYP) -> str:
    return sign_payload(canonical(document), key, typ)


def utc_now() -> str:
    """Signed times are UTC, whole seconds, ending in Z."""
    return datetime.now(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for name, value in pairs:
        if name in seen:
            raise DocumentError(f"member {name!r} appears twice")
        seen[name] = value
    return seen


def _no_constant(name: str) -> Any:
    raise DocumentError(f"{name} is not a JSON number")


def parse_json(text: str | bytes) -> Any:
    """Strict JSON: duplicate members and NaN/Infinity are errors, not silently resolved."""
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DocumentError(f"not JSON: {exc}") from exc


def scan_payload(document: Any, *, node: str | None = None) -> tuple[str, bytes]:
    """What the queue keeps of a scan: its id and canonical payload. Only what no retry can fix is
    checked here (the portal checks every field): an object, a usable scan_id, the node, the size."""
    if not isinstance(document, dict):
        raise DocumentError("a scan is a JSON object")
    scan_id = document.get("scan_id")
    if not isinstance(scan_id, str) or not SCAN_ID.fullmatch(scan_id):
        raise DocumentError("scan_id is required: 1 to 64 of A-Z a-z 0-9 . _ : -")
    if node is not None and document.get("node") != node:
        raise DocumentError(f"node must be this node ({node}), not {document.get('node')!r}")
    payload = canonical(document)
    if len(payload) > MAX_DOCUMENT_BYTES:
        raise DocumentError(f"the document is {len(payload)} bytes; at most {MAX_DOCUMENT_BYTES}")
    return scan_id, payload
