"""A node rotates its own key (SPEC section 3): a key+json JWS signed by its active key."""

from datetime import timedelta
from typing import cast

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from . import signing
from .keys import canonical_x
from .models import KeyStatus, ScannerNode, SigningKey
from .services import node_key_rotate

KEY_TYP = "key+json"
SKEW = timedelta(minutes=5)


def node_key_rotate_signed(*, node: ScannerNode, jws: str) -> SigningKey:
    try:
        parsed = signing.parse(jws, KEY_TYP, max_document=signing.MAX_DOCUMENT_BYTES)
    except signing.JwsError as exc:
        raise ValidationError(exc.as_errors()) from exc
    key = SigningKey.objects.filter(kid=parsed.kid, node=node, status=KeyStatus.ACTIVE).first()
    if key is None:
        raise PermissionDenied(
            _("kid %(kid)s is not the active key of node %(node)s.") % {"kid": repr(parsed.kid), "node": node.id}
        )
    if not signing.signature_ok(parsed, key.x):
        raise ValidationError({"jws": [_("The signature does not verify with the node's active key.")]})
    payload = parsed.payload
    errors: dict[str, list[str]] = {}
    if set(payload) != {"node", "x", "created_at"}:
        errors["jws"] = [_("The payload holds exactly node, x and created_at.")]
    if payload.get("node") != node.id:
        errors["node"] = [_("This must be the authenticated node (%(node)s).") % {"node": node.id}]
    created = parse_datetime(payload["created_at"]) if isinstance(payload.get("created_at"), str) else None
    if created is None or created.tzinfo is None or abs(timezone.now() - created) > SKEW:
        errors["created_at"] = [_("An RFC 3339 UTC time within 5 minutes of now.")]
    x = payload.get("x")
    try:
        canonical_x(x)
    except ValueError as exc:
        errors["x"] = [
            _("An Ed25519 public key: 32 bytes, canonical base64url without padding (%(error)s).") % {"error": exc}
        ]
    else:
        if SigningKey.objects.filter(x=x).exists():
            errors["x"] = [_("This public key is already registered; a key can be registered only once.")]
    if errors:
        raise ValidationError(errors)
    return node_key_rotate(node=node, x=cast(str, x))  # canonical_x accepted it
