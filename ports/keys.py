"""Ed25519 key material: generation, RFC 7638 thumbprints, and encryption at rest under ALLIANCE_KEK."""

import base64
import hashlib
import json
import os

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    if not isinstance(text, str) or not all(c.isalnum() or c in "-_" for c in text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


_B64URL_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def canonical_x(text: object) -> str:
    """`text` when it is exactly the base64url (no padding) of a 32-byte Ed25519 public key; ValueError otherwise.

    The 43rd character carries 2 unused bits that decoders ignore, so four spellings decode to the same
    key, each with its own RFC 7638 thumbprint: accepting them would let one key be registered four
    times under four kids. Only the encoding we would write ourselves is accepted.
    """
    if not isinstance(text, str):
        raise ValueError("the public key must be a string")
    if "=" in text:
        raise ValueError("base64url without padding is expected")
    if not set(text) <= _B64URL_ALPHABET:
        raise ValueError("only base64url characters (A-Z, a-z, 0-9, - and _) are allowed")
    if len(text) != 43:
        raise ValueError(f"an Ed25519 public key is 32 bytes, 43 base64url characters, not {len(text)}")
    raw = base64.urlsafe_b64decode(text + "=")
    if b64url(raw) != text:
        raise ValueError("not the canonical encoding: the unused low bits of the last character must be zero")
    Ed25519PublicKey.from_public_bytes(raw)
    return text


def public_x(public_key: Ed25519PublicKey) -> str:
    return b64url(public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))


def thumbprint(x: str) -> str:
    """RFC 7638: SHA-256 over the required members in lexicographic order, no whitespace."""
    canonical = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": x}, separators=(",", ":"), sort_keys=True)
    return b64url(hashlib.sha256(canonical.encode("ascii")).digest())


def public_key_from_x(x: str) -> Ed25519PublicKey:
    raw = b64url_decode(x)
    if len(raw) != 32:
        raise ValueError("an Ed25519 public key is 32 bytes")
    return Ed25519PublicKey.from_public_bytes(raw)


def parse_public_key(text: str) -> str:
    """A PEM (SubjectPublicKeyInfo) or raw base64url Ed25519 public key -> canonical `x`."""
    if not isinstance(text, str):
        raise ValueError("the public key must be a string")
    text = text.strip()
    if text.startswith("-----BEGIN"):
        key = serialization.load_pem_public_key(text.encode("ascii"))
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("the PEM key is not an Ed25519 public key")
        return public_x(key)  # derived from the key itself, so always canonical
    return canonical_x(text)


def _kek(secret: str | None = None) -> bytes:
    # Any string works as ALLIANCE_KEK; HKDF turns it into an AES-256 key.
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"alliance-kek-v1", info=b"agency-keys").derive(
        (settings.ALLIANCE_KEK if secret is None else secret).encode("utf-8")
    )


def encrypt_private_key(private_key: Ed25519PrivateKey, kid: str, *, kek: str | None = None) -> bytes:
    raw = private_key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    nonce = os.urandom(12)
    # The kid is the associated data: a ciphertext moved to another key row fails to open.
    return b"v1" + nonce + AESGCM(_kek(kek)).encrypt(nonce, raw, kid.encode("ascii"))


def decrypt_private_key(blob: bytes | memoryview, kid: str, *, kek: str | None = None) -> Ed25519PrivateKey:
    blob = bytes(blob)
    if blob[:2] != b"v1":
        raise ValueError("unknown key encryption version")
    nonce, ciphertext = blob[2:14], blob[14:]
    return Ed25519PrivateKey.from_private_bytes(AESGCM(_kek(kek)).decrypt(nonce, ciphertext, kid.encode("ascii")))


def public_jwk(x: str) -> dict:
    return {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": thumbprint(x), "use": "sig", "alg": "EdDSA"}
