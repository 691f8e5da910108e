"""The checks every received signed object passes, in order, each refusal counted under its reason code
(SPEC 10.2): a parseable JWS in the signed-document extension, a key of the object's owner that the sender's
signed instance document announced (the document re-read once a page when it is not known yet), not revoked,
and the Ed25519 signature. Scans (`federation.scans`) and feedback (`federation.feedback`) use them; what each
checks of its owner and its document comes between and after."""

import logging
from collections.abc import Callable

from interop import stix
from ports import signing
from ports.models import KeyStatus, SigningKey

from .models import Peer
from .services import (
    DOCUMENT_INVALID,
    KEY_REVOKED,
    KEY_UNKNOWN,
    SIGNATURE_INVALID,
    FederationError,
    PageResult,
    refresh_peer_document,
)

log = logging.getLogger(__name__)


def signed_extension(obj: dict, typ: str, result: PageResult) -> tuple[str, signing.ParsedJws] | None:
    """The object's JWS and its parse (everything but the signature checked), or None, refused."""
    ext = (obj.get("extensions") or {}).get(stix.EXTENSION_ID)
    if not isinstance(ext, dict) or not isinstance(ext.get("jws"), str):
        result.refuse(DOCUMENT_INVALID)
        return None
    try:
        return ext["jws"], signing.parse(ext["jws"], typ, max_document=signing.MAX_DOCUMENT_BYTES)
    except signing.JwsError:
        result.refuse(SIGNATURE_INVALID)
        return None


def refresh_once(peer: Peer, refreshed: list[bool]) -> bool:
    """Re-read the peer's instance document, once a page (`refreshed`); whether it was re-read now."""
    if refreshed[0]:
        return False
    refreshed[0] = True  # something the peer announced since we last read its document
    try:
        refresh_peer_document(peer)
    except FederationError as exc:
        log.warning("peer %s document refresh failed: %s", peer.id, exc)
    return True


def verified_key(
    peer: Peer,
    parsed: signing.ParsedJws,
    owns: Callable[[SigningKey], bool],
    refreshed: list[bool],
    result: PageResult,
) -> SigningKey | None:
    """The key that signed `parsed`, when `owns` says it is the owner's, not revoked and the signature verifies;
    None, refused, otherwise."""

    def lookup() -> SigningKey | None:
        key = SigningKey.objects.filter(kid=parsed.kid).first()
        return key if key is not None and owns(key) else None

    key = lookup()
    if key is None and refresh_once(peer, refreshed):
        key = lookup()
    if key is None:
        result.refuse(KEY_UNKNOWN)
    elif key.status == KeyStatus.REVOKED:
        result.refuse(KEY_REVOKED)
    elif not signing.signature_ok(parsed, key.x):
        result.refuse(SIGNATURE_INVALID)
    else:
        return key
    return None
