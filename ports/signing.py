"""The one JWS module every signed kind uses (SPEC section 3).

Compact JWS (RFC 7515), Ed25519 (RFC 8032), protected header exactly
{"alg", "kid", "typ"}, payload the RFC 8785 canonical JSON of the document.
Crypto and validation happen here, once, at the edge; what is stored is the
JWS exactly as signed.
"""

import base64
import binascii
import hashlib
import json
import re
import threading
from dataclasses import dataclass
from datetime import UTC
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.utils.translation import gettext as _

from .keys import b64url, decrypt_private_key, public_key_from_x
from .models import KeyStatus, SigningKey
from .validation import MAX_DEPTH, hostile_errors, too_deep_field

TYPES = (
    "alert+json",
    "practice+json",
    "outcome+json",
    "scan+json",
    "key+json",
    "checkpoint+json",
    "feedback+json",
    "instance+json",  # SPEC 10.1: the signed instance document
    "tombstone+json",  # SPEC 10.2: what replaces an object a peer may no longer hold
)
ACCEPTED_ALGS = ("EdDSA", "Ed25519")  # RFC 9864 names Ed25519 explicitly
HEADER_MEMBERS = {"alg", "kid", "typ"}
REFUSED_HEADERS = ("crit", "b64", "jwk", "jku", "x5u", "x5c")
MAX_JWS_BYTES = 256 * 1024
# SPEC section 5: every signed document (scan, outcome, alert, practice, key) is at most 64 KiB. Checked on
# input; documents stored before stay verifiable whatever their size.
MAX_DOCUMENT_BYTES = 64 * 1024


class JwsError(Exception):
    """A JWS that is refused, with the field to blame and a message for the sender."""

    def __init__(self, code: str, message: str, field: str = "jws"):
        super().__init__(message)
        self.code = code
        self.field = field
        self.message = message

    def as_errors(self) -> dict[str, list[str]]:
        return {self.field: [self.message]}


def canonical(document: dict) -> bytes:
    return rfc8785.dumps(document)


def _header_bytes(kid: str, typ: str) -> bytes:
    return rfc8785.dumps({"alg": "EdDSA", "kid": kid, "typ": typ})


def sign_with_private_key(document: dict, private_key: Ed25519PrivateKey, kid: str, typ: str) -> str:
    header = b64url(_header_bytes(kid, typ))
    payload = b64url(canonical(document))
    signing_input = f"{header}.{payload}".encode("ascii")
    return f"{header}.{payload}.{b64url(private_key.sign(signing_input))}"


def held_private_key(key: SigningKey) -> Ed25519PrivateKey:
    if not key.held_by_portal or key.private_key_encrypted is None:
        raise ValueError(f"the portal does not hold the private key of {key.kid}")
    return decrypt_private_key(key.private_key_encrypted, key.kid)


def sign(document: dict, key: SigningKey, typ: str) -> str:
    """Sign with a portal-held key (agency or portal)."""
    if key.status != KeyStatus.ACTIVE:
        raise ValueError("only an active key signs")
    return sign_with_private_key(document, held_private_key(key), key.kid, typ)


def sign_detached(body: bytes, key: SigningKey, typ: str = "JOSE") -> str:
    """RFC 7515 appendix F: `header..signature` over the exact body bytes (webhooks)."""
    header = b64url(rfc8785.dumps({"alg": "EdDSA", "kid": key.kid, "typ": typ}))
    signing_input = header.encode("ascii") + b"." + b64url(body).encode("ascii")
    return f"{header}..{b64url(held_private_key(key).sign(signing_input))}"


@dataclass(frozen=True)
class ParsedJws:
    header: dict
    payload: dict
    payload_bytes: bytes
    signing_input: bytes
    signature: bytes

    @property
    def kid(self) -> str:
        return self.header["kid"]


_B64URL = re.compile(r"[A-Za-z0-9_-]*")


def _b64url_part(text: str) -> bytes:
    """Strict base64url without padding; one regex instead of a per-character test (lists verify 200 JWS a page)."""
    if not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise ValueError("not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error as exc:
        raise ValueError("not base64url") from exc


def header_kid(jws: Any) -> str | None:
    """The `kid` of a compact JWS's protected header, nothing checked (to tell whether a key is known yet);
    None when it cannot be read."""
    if not isinstance(jws, str) or jws.count(".") != 2:
        return None
    try:
        header = json.loads(_b64url_part(jws.split(".", 1)[0]))
    except ValueError:
        return None
    kid = header.get("kid") if isinstance(header, dict) else None
    return kid if isinstance(kid, str) else None


def _no_duplicates(pairs):
    result = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate member {key!r}")
        result[key] = value
    return result


def parse(
    jws, typ: str, *, max_document: int | None = None, stored: bool = False, decode_payload: bool = True
) -> ParsedJws:
    """Parse and check everything but the signature. Raises JwsError (400 material).

    `max_document` bounds the payload's bytes: given on input (MAX_DOCUMENT_BYTES), not when re-verifying.
    `stored`: re-verifying a stored JWS against its stored fields (`status_of`), whose byte comparison with the
    canonical form of those fields already proves the payload canonical and clean; the two checks that would
    walk and canonicalize the payload a second time are skipped (they run on every read of every page).
    `decode_payload=False` (with `stored` only): the payload is not decoded at all (`payload` is empty), since
    `status_of` compares its bytes with the canonical form of the stored fields, which proves it is a JSON object
    and that very document; decoding it once more was a third of a feed page's JSON work.
    """
    if not decode_payload and not stored:
        raise ValueError("decode_payload=False re-verifies a stored JWS only")
    if not isinstance(jws, str) or not jws:
        raise JwsError("malformed_jws", _("A compact JWS string is required."))
    if len(jws) > MAX_JWS_BYTES:
        raise JwsError("malformed_jws", _("The JWS is larger than %(limit)s bytes.") % {"limit": MAX_JWS_BYTES})
    parts = jws.split(".")
    if len(parts) != 3 or not all(parts):
        raise JwsError("malformed_jws", _("A compact JWS has three non-empty base64url parts separated by dots."))
    try:
        header_bytes, payload_bytes, signature = (_b64url_part(p) for p in parts)
    except (ValueError, TypeError) as exc:
        raise JwsError("malformed_jws", _("A JWS part is not valid base64url.")) from exc
    try:
        header = json.loads(header_bytes.decode("utf-8"), object_pairs_hook=_no_duplicates)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise JwsError("malformed_jws", _("The protected header is not a JSON object.")) from exc
    if not isinstance(header, dict):
        raise JwsError("malformed_jws", _("The protected header is not a JSON object."))
    refused = [name for name in REFUSED_HEADERS if name in header]
    if refused:
        raise JwsError(
            "refused_header", _("Header parameter(s) %(names)s are refused.") % {"names": ", ".join(refused)}
        )
    alg = header.get("alg")
    if alg not in ACCEPTED_ALGS:
        raise JwsError("unsupported_alg", _("Algorithm %(alg)s is refused; use EdDSA (Ed25519).") % {"alg": repr(alg)})
    extra = set(header) - HEADER_MEMBERS
    if extra or "kid" not in header or "typ" not in header:
        raise JwsError("bad_header", _("The protected header must hold exactly alg, kid and typ."))
    if header["typ"] != typ:
        raise JwsError(
            "bad_typ",
            _("typ must be %(expected)s here, not %(found)s.") % {"expected": repr(typ), "found": repr(header["typ"])},
        )
    if not isinstance(header["kid"], str) or not header["kid"]:
        raise JwsError("bad_header", "kid must be a non-empty string.")
    if not decode_payload:
        if len(signature) != 64:
            raise JwsError("bad_signature", "An Ed25519 signature is 64 bytes.")
        return ParsedJws(header, {}, payload_bytes, f"{parts[0]}.{parts[1]}".encode("ascii"), signature)
    try:
        payload = json.loads(payload_bytes.decode("utf-8"), object_pairs_hook=_no_duplicates)
    except RecursionError as exc:
        # Thousands of levels: the decoder gives up, the answer still names the field.
        field = too_deep_field(payload_bytes.decode("utf-8")) or "jws"
        raise JwsError(
            "invalid_document", _("Nested deeper than %(depth)s levels.") % {"depth": MAX_DEPTH}, field
        ) from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise JwsError("malformed_payload", _("The payload is not UTF-8 JSON.")) from exc
    if not isinstance(payload, dict):
        raise JwsError("malformed_payload", _("The payload must be a JSON object."))
    hostile = {} if stored else hostile_errors(payload)
    if hostile:  # NaN, lone surrogates, NUL, deep nesting: refused by name before anything else looks at them
        field, messages = next(iter(hostile.items()))
        raise JwsError("invalid_document", messages[0], field)
    if max_document is not None and len(payload_bytes) > max_document:
        # Named after the member that makes it large (a 100 KB `voyage`), as every other refusal is.
        field = max(payload, key=lambda name: len(json.dumps(payload[name], ensure_ascii=False)), default="jws")
        raise JwsError(
            "invalid_document",
            _("The signed document is %(size)s bytes; at most %(limit)s.")
            % {"size": len(payload_bytes), "limit": max_document},
            field,
        )
    try:
        if not stored and canonical(payload) != payload_bytes:
            raise JwsError("non_canonical", _("The payload is not RFC 8785 canonical JSON."))
    except rfc8785.CanonicalizationError as exc:
        raise JwsError("non_canonical", _("The payload cannot be canonicalized: %(error)s.") % {"error": exc}) from exc
    if len(signature) != 64:
        raise JwsError("bad_signature", _("An Ed25519 signature is 64 bytes."))
    signing_input = f"{parts[0]}.{parts[1]}".encode("ascii")
    return ParsedJws(header, payload, payload_bytes, signing_input, signature)


_PUBLIC_KEYS: dict[str, object] = {}


def _public_key(x: str):
    key = _PUBLIC_KEYS.get(x)
    if key is None:
        key = _PUBLIC_KEYS[x] = public_key_from_x(x)
    return key


# Ed25519 is a pure function of (public key, signing input, signature): a process remembers the digests of the
# triples it has seen verify, and answers the same triple again without the curve arithmetic. Any change to a
# stored JWS (or to the key) changes the digest, so tampering is caught on the next read as before; only exact
# byte-for-byte repeats are answered from memory. Bounded (SIGNATURE_MEMO_SIZE, oldest forgotten first), per
# process, never shared or stored: nothing outside this process can add an entry. docs/security.md.
_VERIFIED: dict[bytes, None] = {}
_VERIFIED_LOCK = threading.Lock()


def _memo_key(parsed: ParsedJws, x: str) -> bytes:
    material = x.encode("ascii") + b"\x00" + parsed.signing_input + b"\x00" + parsed.signature
    return hashlib.blake2b(material, digest_size=32, person=b"alliance-ed25519").digest()


def forget_verified() -> None:
    """Empty this process's memory of verified signatures (tests, key revocation needs no such step)."""
    with _VERIFIED_LOCK:
        _VERIFIED.clear()


def signature_ok(parsed: ParsedJws, x: str) -> bool:
    size = getattr(settings, "SIGNATURE_MEMO_SIZE", 0)
    memo = _memo_key(parsed, x) if size else b""
    if memo and memo in _VERIFIED:
        return True
    try:
        _public_key(x).verify(parsed.signature, parsed.signing_input)
    except InvalidSignature:
        return False
    if memo:
        with _VERIFIED_LOCK:
            while len(_VERIFIED) >= size:
                del _VERIFIED[next(iter(_VERIFIED))]
            _VERIFIED[memo] = None
    return True


def _fast_canonical_equal(document: dict, payload_bytes: bytes) -> bool:
    """Whether `payload_bytes` is the RFC 8785 form of `document`, the C JSON encoder first.

    For the documents stored here (ASCII member names, strings, integers, booleans, null, no floats) RFC 8785 and
    `json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)` write the same bytes; the encoder is
    some twenty times faster than the pure-Python canonicalizer. When they differ (a float, an exotic key), the
    canonicalizer decides, so the answer is always RFC 8785's.
    """
    try:
        quick = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        if quick.encode("utf-8") == payload_bytes:
            return True
    except (TypeError, ValueError):
        pass
    try:
        return canonical(document) == payload_bytes
    except rfc8785.CanonicalizationError:
        return False


def verify(parsed: ParsedJws, key: SigningKey) -> None:
    if not signature_ok(parsed, key.x):
        raise JwsError("bad_signature", _("The signature does not verify with the key named by kid."))


class SignatureStatus:
    INVALID = "invalid"
    KEY_REVOKED = "key_revoked"
    KEY_RETIRED = "key_retired"
    VERIFIED = "verified"
    CHOICES = (INVALID, KEY_REVOKED, KEY_RETIRED, VERIFIED)


def status_of(jws: str, typ: str, expected_payload: dict, key: SigningKey | None) -> str:
    """Recompute from the stored JWS and the stored fields; never trusted from a column.

    Precedence: invalid > key_revoked > key_retired > verified.
    """
    if key is None:
        return SignatureStatus.INVALID
    try:
        parsed = parse(jws, typ, stored=True, decode_payload=False)
    except JwsError:
        return SignatureStatus.INVALID
    if parsed.kid != key.kid or not signature_ok(parsed, key.x):
        return SignatureStatus.INVALID
    # Byte equality with the canonical form of the stored fields: the payload is canonical and says what they say.
    if not _fast_canonical_equal(expected_payload, parsed.payload_bytes):
        return SignatureStatus.INVALID
    if key.status == KeyStatus.REVOKED:
        return SignatureStatus.KEY_REVOKED
    if key.status == KeyStatus.RETIRED:
        return SignatureStatus.KEY_RETIRED
    return SignatureStatus.VERIFIED


def rfc3339(value) -> str:
    """UTC, whole seconds, ending in Z: the only time format signed payloads carry."""

    return value.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Finding:
    """One signed object whose signature status is not `verified` (the verifiers' report line)."""

    kind: str  # "alert", "alert version", "scan", ...
    object_id: str
    version: int
    status: str

    def __str__(self) -> str:
        return f"{self.kind} {self.object_id} version {self.version}: {self.status}"
