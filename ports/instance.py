"""This instance's identity in the federation (SPEC section 10.1): its id, URL, home agencies and signed document.

Every agency is homed at exactly one instance. `Agency.home_instance` says which once it is known (set here for
agencies matched by `HOME_AGENCIES`, or learnt from a peer's signed instance document); while it is empty the
`HOME_AGENCIES` setting decides (`*`, the default, homes every agency here: the single-instance case).

`GET /.well-known/alliance-instance.json` is a JWS (typ `instance+json`) signed by the portal key. A new portal
key is announced under the previous one: the same document, signed by a retired portal key, is served with
`?signed_by=KID`, so a peer that pinned the old key verifies the new one before it pins it.
"""

from dataclasses import dataclass

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from . import signing
from .keys import public_jwk, thumbprint
from .models import Agency, KeyOwner, KeyStatus, SigningKey

INSTANCE_TYP = "instance+json"
DOCUMENT_KEYS = ("instance", "url", "agencies", "keys", "issued_at")
MAX_INSTANCE_DOCUMENT = 2 * 1024 * 1024  # every agency and key of a large instance


def instance_id() -> str:
    return str(settings.INSTANCE_ID)


def instance_url() -> str:
    return str(settings.INSTANCE_URL).rstrip("/")


def _pattern() -> tuple[list[str], list[str]] | None:
    """The agency slugs and port LOCODEs `HOME_AGENCIES` names; None for `*` (every agency)."""
    entries = [e.strip() for e in settings.HOME_AGENCIES if e.strip()]
    if "*" in entries:
        return None
    slugs = [e for e in entries if not e.lower().startswith("port:")]
    ports = [e.split(":", 1)[1].strip().upper() for e in entries if e.lower().startswith("port:")]
    return slugs, ports


def home_q(prefix: str = "") -> Q:
    """A condition on agencies (or on rows with an `agency` foreign key, with `prefix="agency__"`): homed here."""
    here = Q(**{f"{prefix}home_instance": instance_id()})
    unknown = Q(**{f"{prefix}home_instance": ""})
    pattern = _pattern()
    if pattern is None:  # `*`: every agency not known to be homed elsewhere
        return here | unknown
    slugs, ports = pattern
    return here | (unknown & (Q(**{f"{prefix}slug__in": slugs}) | Q(**{f"{prefix}port_id__in": ports})))


def home_agencies() -> QuerySet[Agency]:
    return Agency.objects.filter(home_q())


def is_home(agency: Agency) -> bool:
    if agency.home_instance:
        return agency.home_instance == instance_id()
    return home_agencies().filter(pk=agency.pk).exists()


def home_of(agency: Agency) -> str:
    """The instance id an agency is homed at ("" when nobody has said yet and `HOME_AGENCIES` does not match)."""
    if agency.home_instance:
        return agency.home_instance
    return instance_id() if is_home(agency) else ""


def _jwk(key: SigningKey) -> dict:
    jwk = {**public_jwk(key.x), "owner": key.owner_label, "status": key.status}
    if key.node is not None:
        # A node key names the node's agency: a peer learns the node (and so whose scans it signs) from here.
        jwk["agency"] = key.node.agency.slug
    return jwk


def instance_document() -> dict:
    """The payload: this instance, its home agencies and the keys of the portal, those agencies and their nodes."""
    agencies = list(home_agencies().filter(is_active=True).order_by("slug"))
    ids = [a.pk for a in agencies]
    keys = (
        SigningKey.objects.filter(
            Q(owner_kind=KeyOwner.PORTAL) | Q(agency_id__in=ids) | Q(node__agency_id__in=ids),
        )
        .select_related("agency", "node", "node__agency")
        .order_by("kid")
    )
    return {
        "instance": instance_id(),
        "url": instance_url(),
        "agencies": [{"slug": a.slug, "name": a.name, "kind": a.kind, "port": a.port_id} for a in agencies],
        "keys": [_jwk(k) for k in keys],
        "issued_at": signing.rfc3339(timezone.now()),
    }


def signed_instance_document(portal_key: SigningKey, *, signed_by: str | None = None) -> str:
    """The document signed by the active portal key, or (an announcement) by the retired portal key `signed_by`."""
    if signed_by is None or signed_by == portal_key.kid:
        return signing.sign(instance_document(), portal_key, INSTANCE_TYP)
    previous = SigningKey.objects.get(kid=signed_by, owner_kind=KeyOwner.PORTAL, status=KeyStatus.RETIRED)
    return signing.sign_with_private_key(
        instance_document(), signing.held_private_key(previous), previous.kid, INSTANCE_TYP
    )


@dataclass(frozen=True)
class VerifiedInstance:
    payload: dict
    kid: str  # the portal key that signed it
    portal_kids: frozenset[str]  # the portal keys the document lists (active first)
    active_portal_kid: str | None


def verify_instance_document(jws: str, trusted_kid: str) -> VerifiedInstance:
    """Verify a peer's instance document with the portal key pinned for it (`trusted_kid`). Raises JwsError.

    The key that signs must be the pinned one and must be listed in the document as that instance's portal key,
    with the public part hashing to the pinned thumbprint (a key a document only names cannot vouch for itself).
    """
    parsed = signing.parse(jws, INSTANCE_TYP, max_document=MAX_INSTANCE_DOCUMENT)
    payload = parsed.payload
    if parsed.kid != trusted_kid:
        raise signing.JwsError("untrusted_key", f"signed by {parsed.kid}, not by the pinned portal key {trusted_kid}")
    if set(payload) != set(DOCUMENT_KEYS) or not isinstance(payload.get("keys"), list):
        raise signing.JwsError("document_invalid", "an instance document has exactly " + ", ".join(DOCUMENT_KEYS))
    portal = [k for k in payload["keys"] if isinstance(k, dict) and k.get("owner") == "portal"]
    signer = next((k for k in portal if k.get("kid") == trusted_kid), None)
    if signer is None or not isinstance(signer.get("x"), str) or thumbprint(signer["x"]) != trusted_kid:
        raise signing.JwsError("untrusted_key", "the pinned portal key is not listed in the document")
    if not signing.signature_ok(parsed, signer["x"]):
        raise signing.JwsError("signature_invalid", "the instance document's signature does not verify")
    active = next((k["kid"] for k in portal if k.get("status") == KeyStatus.ACTIVE), None)
    return VerifiedInstance(
        payload=payload,
        kid=parsed.kid,
        portal_kids=frozenset(str(k.get("kid")) for k in portal),
        active_portal_kid=active,
    )
