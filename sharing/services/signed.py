"""What alerts and practices share: sign or verify, store the JWS unchanged, keep the head row and grants in step."""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

import access
from alliance.api import ApiError
from ports import audit, signing
from ports.models import KeyOwner, KeyStatus, Membership, Role, SigningKey
from ports.services import agency_key_ensure

from .. import documents
from ..documents import Validated
from ..models import DocumentStatus, GrantKind

CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class Kind:
    name: str  # "alert" / "practice"
    typ: str
    # Alert or Practice, with its version and grant models: the two kinds share these columns.
    model: type[Any]
    version_model: type[Any]
    grant_model: type[Any]
    fk: str  # the version and grant rows' foreign key to the head row
    keys: tuple[str, ...]
    validate: Callable[..., Validated]
    document: Callable[[Any], dict]
    search_fields: tuple[str, ...]
    index_rows: Callable[[Any, dict], None]


def now() -> datetime:
    return timezone.now().replace(microsecond=0)


def _document(kind: Kind, *, doc_id: str, version: int, membership: Membership, v: Validated, created_at) -> dict:
    fields = dict(v.fields)
    if "valid_until" in fields:
        fields["valid_until"] = signing.rfc3339(fields["valid_until"]) if fields["valid_until"] else None
    doc = {
        **fields,
        "id": doc_id,
        "version": version,
        "type": kind.name,
        "agency": membership.agency.slug,
        "author": membership.handle,
        "audience": v.audience.as_document(),
        "created_at": signing.rfc3339(created_at),
    }
    doc = {k: doc[k] for k in kind.keys}
    size = len(signing.canonical(doc))
    if size > signing.MAX_DOCUMENT_BYTES:
        # The body is what grows: 50,000 characters of Greek or Cyrillic text are more than 64 KiB of UTF-8.
        raise ValidationError(
            {
                "body": [
                    _("The signed document would be %(size)s bytes; at most %(limit)s (64 KiB).")
                    % {"size": size, "limit": signing.MAX_DOCUMENT_BYTES}
                ]
            }
        )
    return doc


def _columns(kind: Kind, doc: dict, v: Validated, membership: Membership, key: SigningKey, jws: str, created_at):
    columns = {
        name: value
        for name, value in v.fields.items()
        if name not in ("port", "origin")  # foreign keys by LOCODE
    }
    if kind.name == "alert":
        columns["port_id"] = v.fields["port"]
        columns["origin_id"] = v.fields["origin"]
    columns.update(
        version=doc["version"],
        agency=membership.agency,
        author=membership.handle,
        created_at=created_at,
        key=key,
        jws=jws,
    )
    return columns


def _replace_grants(kind: Kind, head, v: Validated) -> None:
    kind.grant_model.objects.filter(**{kind.fk: head}).delete()
    rows = (
        [kind.grant_model(**{kind.fk: head}, kind=GrantKind.AGENCY, agency=a) for a in v.audience.agencies]
        + [kind.grant_model(**{kind.fk: head}, kind=GrantKind.PORT, port=p) for p in v.audience.ports]
        + [kind.grant_model(**{kind.fk: head}, kind=GrantKind.USER, member=m) for m in v.audience.members]
        + [
            kind.grant_model(**{kind.fk: head}, kind=GrantKind.REMOTE_USER, agency=a, handle=h)
            for h, a in v.audience.remote
        ]
    )
    kind.grant_model.objects.bulk_create(rows)


def _update_search(kind: Kind, head) -> None:
    if connection.vendor != "postgresql":
        return  # SQLite searches with icontains
    from sharing.search import document_vector

    kind.model.objects.filter(pk=head.pk).update(search_vector=document_vector(kind.search_fields))


def _store(kind: Kind, *, head, doc: dict, v: Validated, membership: Membership, key: SigningKey, jws: str, created_at):
    """Write the head row (create or replace with the latest version), the version row, grants and indexes."""
    columns = _columns(kind, doc, v, membership, key, jws, created_at)
    # Field validation here; the check constraints are the database's to enforce (Django would
    # re-run each as its own SELECT, a dozen round trips per publish for rules validate_* already applied).
    if head is None:
        head = kind.model(id=uuid.UUID(doc["id"]), first_created_at=created_at, **columns)
        head.full_clean(exclude=["key", "agency"], validate_constraints=False)
        head.save(force_insert=True)
    else:
        for name, value in columns.items():
            setattr(head, name, value)
        head.integrity_failed = False
        head.full_clean(exclude=["key", "agency"], validate_constraints=False)
        head.save()
    version = kind.version_model(**{kind.fk: head}, audience=doc["audience"], **columns)
    version.full_clean(exclude=["key", "agency", kind.fk], validate_constraints=False)
    version.save(force_insert=True)
    _replace_grants(kind, head, v)
    kind.index_rows(head, doc)
    _update_search(kind, head)
    # What is stored must give back the payload byte for byte, or nothing is stored.
    stored = kind.model.objects.select_related("agency", "key").get(pk=head.pk)
    if signing.canonical(kind.document(stored)) != signing.canonical(doc):
        raise ValidationError({"jws": [_("The document holds values the portal cannot store exactly as signed.")]})
    return head


def publish(kind: Kind, *, membership: Membership, data: dict):
    """Portal-signed create: normalise, build the document, sign with the agency's held key, store."""
    v = kind.validate(data, strict=False)
    created_at = now()
    doc = _document(kind, doc_id=str(uuid.uuid4()), version=1, membership=membership, v=v, created_at=created_at)
    key = agency_key_ensure(membership.agency)
    jws = signing.sign(doc, key, kind.typ)
    head = _store(kind, head=None, doc=doc, v=v, membership=membership, key=key, jws=jws, created_at=created_at)
    audit.record(membership.user, f"{kind.name}.published", head, _audit_data(doc, key))
    return head


def new_version(kind: Kind, *, membership: Membership, head, data: dict):
    """Portal-signed edit or withdrawal: the latest version's fields, changed by `data`, signed as version n+1."""
    if head.status == DocumentStatus.WITHDRAWN:
        raise ValidationError({"status": [_("This document is withdrawn; it takes no new versions.")]})
    current = kind.document(head)
    merged = {k: current[k] for k in kind.keys if k not in documents.PORTAL_SET_KEYS}
    for name, value in data.items():
        merged[name] = value
    v = kind.validate(merged, strict=False, statuses=tuple(DocumentStatus.values))
    created_at = now()
    doc = _document(
        kind, doc_id=str(head.pk), version=head.version + 1, membership=membership, v=v, created_at=created_at
    )
    key = agency_key_ensure(membership.agency)
    jws = signing.sign(doc, key, kind.typ)
    head = _store(kind, head=head, doc=doc, v=v, membership=membership, key=key, jws=jws, created_at=created_at)
    audit.record(membership.user, f"{kind.name}.version_signed", head, _audit_data(doc, key))
    return head


def _jws_error(exc: signing.JwsError) -> ApiError:
    return ApiError(exc.code, exc.as_errors(), 400)


def _signed_membership(user, payload: dict) -> Membership:
    slug = payload.get("agency")
    for membership in access.memberships_with_role(user, Role.OFFICER):
        if membership.agency.slug == slug:
            return membership
    raise ApiError(
        "foreign_agency",
        {
            "agency": [
                _("The payload's agency %(agency)s is not an agency you are an officer of.") % {"agency": repr(slug)}
            ]
        },
        400,
    )


def _signed_key(parsed: signing.ParsedJws, membership: Membership) -> SigningKey:
    key = SigningKey.objects.filter(kid=parsed.kid).select_related("agency").first()
    if key is None:
        raise ApiError(
            "unknown_key", {"jws": [_("No registered key has kid %(kid)s.") % {"kid": repr(parsed.kid)}]}, 400
        )
    if key.owner_kind != KeyOwner.AGENCY or key.agency_id != membership.agency_id:
        raise ApiError(
            "foreign_key",
            {
                "jws": [
                    _("The key %(kid)s does not belong to %(agency)s.")
                    % {"kid": repr(parsed.kid), "agency": membership.agency.slug}
                ]
            },
            400,
        )
    if key.status != KeyStatus.ACTIVE:
        raise ApiError(
            "inactive_key",
            {
                "jws": [
                    _("The key %(kid)s is %(status)s; sign with an active key.")
                    % {"kid": repr(parsed.kid), "status": key.status}
                ]
            },
            400,
        )
    try:
        signing.verify(parsed, key)
    except signing.JwsError as exc:
        raise _jws_error(exc)
    return key


def _check_envelope(kind: Kind, payload: dict, membership: Membership, *, doc_id: str | None, version: int) -> None:
    errors: dict[str, list[str]] = {}
    if payload.get("type") != kind.name:
        errors["type"] = [_("type must be %(type)s.") % {"type": repr(kind.name)}]
    if payload.get("author") != membership.handle:
        errors["author"] = [
            _("author must be your handle in %(agency)s, %(handle)s.")
            % {"agency": membership.agency.slug, "handle": repr(membership.handle)}
        ]
    raw_id = payload.get("id")
    if doc_id is None:
        try:
            ok = isinstance(raw_id, str) and str(uuid.UUID(raw_id)) == raw_id
        except ValueError:
            ok = False
        if not ok:
            errors["id"] = [_("id must be a new UUID, in lower-case hyphenated form.")]
        elif kind.model.objects.filter(pk=raw_id).exists():
            errors["id"] = [_("This id is already taken; a create carries a new UUID.")]
    elif raw_id != doc_id:
        errors["id"] = [_("id must be %(id)s, the id of the document being versioned.") % {"id": repr(doc_id)}]
    if payload.get("version") != version or isinstance(payload.get("version"), bool):
        errors["version"] = [_("version must be %(version)s.") % {"version": version}]
    created = payload.get("created_at")
    if not isinstance(created, str) or not documents.RFC3339_Z.match(created):
        errors["created_at"] = ["created_at must be RFC 3339 UTC, whole seconds, ending in Z."]
    else:
        when = parse_datetime(created)
        if when is None or abs(timezone.now() - when) > CLOCK_SKEW:
            errors["created_at"] = ["created_at must be within 5 minutes of now."]
    if errors:
        raise ValidationError(errors)


def publish_signed(kind: Kind, *, user, jws, head=None):
    """Pre-signed create (head None) or version: verify with an external agency key, store the JWS unchanged."""
    try:
        parsed = signing.parse(jws, kind.typ, max_document=signing.MAX_DOCUMENT_BYTES)
    except signing.JwsError as exc:
        raise _jws_error(exc)
    payload = parsed.payload
    membership = _signed_membership(user, payload)
    key = _signed_key(parsed, membership)
    if head is None:
        _check_envelope(kind, payload, membership, doc_id=None, version=1)
        statuses: tuple[str, ...] = (DocumentStatus.ACTIVE,)
    else:
        if head.agency_id != membership.agency_id or access.editor_membership(user, head).pk != membership.pk:
            raise PermissionDenied(_("Only an officer of the author agency (for RED: the author) signs a new version."))
        if head.status == DocumentStatus.WITHDRAWN:
            raise ValidationError({"status": [_("This document is withdrawn; it takes no new versions.")]})
        _check_envelope(kind, payload, membership, doc_id=str(head.pk), version=head.version + 1)
        statuses = tuple(DocumentStatus.values)
    v = kind.validate(payload, strict=True, statuses=statuses)
    created_at = parse_datetime(payload["created_at"])
    stored = _store(kind, head=head, doc=payload, v=v, membership=membership, key=key, jws=jws, created_at=created_at)
    action = f"{kind.name}.published" if head is None else f"{kind.name}.version_signed"
    audit.record(user, action, stored, {**_audit_data(payload, key), "presigned": True})
    return stored


def _audit_data(doc: dict, key: SigningKey) -> dict:
    # Metadata only: the audit log must not become a copy of AMBER+STRICT or RED content.
    return {
        "version": doc["version"],
        "tlp": doc["tlp"],
        "status": doc["status"],
        "agency": doc["agency"],
        "kid": key.kid,
    }


def lock_head(kind: Kind, head):
    """Serialise concurrent versions of one object: two editors must not both sign version n+1.

    Only the head row is locked (`of=("self",)`): a bare FOR UPDATE would lock the joined agency and key rows too,
    and a concurrent publish of the same agency, holding the audit head, then deadlocks at its COMMIT on the
    deferred foreign-key check of that agency row."""
    return kind.model.objects.select_for_update(of=("self",)).select_related("agency", "key").get(pk=head.pk)


@dataclass(frozen=True)
class _Signer:
    """Who a federated copy was signed by: the agency and the author handle, as the payload names them."""

    agency: Any
    handle: str


def store_copy(kind: Kind, *, agency, key: SigningKey, jws: str, payload: dict) -> tuple[Any, bool]:
    """Store one version of an object homed at another instance (SPEC 10.2), its JWS unchanged.

    The caller (federation) has verified the signature with the origin instance's keys and checked the agency's
    home. Returns (head, stored): False when this version is already held (applying a page twice changes
    nothing). A version older than the one held is kept in the history without touching the head row.
    Raises ValidationError for a document this instance cannot store exactly as signed.
    """
    if payload.get("type") != kind.name:
        raise ValidationError({"type": [_("type must be %(type)s.") % {"type": repr(kind.name)}]})
    raw_id, version = payload.get("id"), payload.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ValidationError({"version": ["version must be a positive integer."]})
    try:
        doc_id = uuid.UUID(str(raw_id))
    except ValueError:
        raise ValidationError({"id": ["id must be a UUID."]})
    if str(doc_id) != raw_id:
        raise ValidationError({"id": ["id must be a lower-case hyphenated UUID."]})
    if kind.version_model.objects.filter(**{kind.fk: doc_id, "version": version}).exists():
        return kind.model.objects.filter(pk=doc_id).first(), False  # held already: a replayed page
    v = kind.validate(payload, strict=True, statuses=tuple(DocumentStatus.values))
    created = payload.get("created_at")
    if not isinstance(created, str) or not documents.RFC3339_Z.match(created):
        raise ValidationError({"created_at": ["created_at must be RFC 3339 UTC, whole seconds, ending in Z."]})
    created_at = parse_datetime(created)
    signer = _Signer(agency=agency, handle=str(payload.get("author")))
    head = kind.model.objects.select_for_update().filter(pk=doc_id).first()
    if head is not None and head.agency_id != agency.pk:
        raise ValidationError({"agency": [_("This id belongs to an object of another agency.")]})
    if head is not None and head.version > version:
        columns = _columns(kind, payload, v, signer, key, jws, created_at)  # type: ignore[arg-type]
        row = kind.version_model(**{kind.fk: head}, audience=payload["audience"], **columns)
        row.full_clean(exclude=["key", "agency", kind.fk], validate_constraints=False)
        row.save(force_insert=True)
        return head, True
    head = _store(kind, head=head, doc=payload, v=v, membership=signer, key=key, jws=jws, created_at=created_at)  # type: ignore[arg-type]
    audit.record(None, f"{kind.name}.federated", head, _audit_data(payload, key))
    return head, True
