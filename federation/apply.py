"""A page of a peer's alert and practice versions, verified and stored in bulk (SPEC 10.2).

`apply_reports` does for a run of STIX reports what `sharing.services.signed.store_copy` does for one, in a
number of queries that does not grow with the run: everything the run names is read at once (its agencies, keys,
tombstones, the versions and head rows already held, the agencies, members and ports of the audiences), every
object is checked and its signature verified in memory, and the writes are bulk inserts (head rows, version rows,
grants, identifiers or tags, the federated-copy marks, the audit entries) with one bulk update of the head rows
a newer version replaces. The side effects of a local publish follow through the `copies_stored` hook (the
entries of this instance's own TAXII feed, correlation), once per run; the search vectors in one update.

The reason codes, the idempotency (a version held is `already`) and the round trip (what is stored gives back
the payload byte for byte) are those of the one-by-one path. If the round trip fails for any head of a run, the
run's writes are rolled back and the run is applied one object at a time, which refuses the offending object
with `document:invalid` and stores the others.
"""

import copy
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from alliance import hooks
from interop import stix
from ports import audit, signing
from ports.models import Agency, KeyOwner, KeyStatus, Membership, Port, SigningKey
from sharing import documents
from sharing.models import AlertIdentifier, GrantKind, IdentifierKind, PracticeTag
from sharing.services.alerts import ALERT
from sharing.services.practices import PRACTICE
from sharing.services.signed import Kind, _audit_data, _columns, _Signer

from . import services as fed
from .models import FederatedCopy, Peer, ReceivedTombstone

log = logging.getLogger(__name__)

KINDS: dict[str, Kind] = {"alert": ALERT, "practice": PRACTICE}


@dataclass
class _Parsed:
    obj: dict
    kind: Kind
    jws: str
    parsed: signing.ParsedJws

    @property
    def payload(self) -> dict:
        return self.parsed.payload


@dataclass
class _Accepted:
    item: _Parsed
    agency: Agency
    key: SigningKey


class _RoundTripFailed(Exception):
    pass


def _parse(objects: list[dict], result) -> list[_Parsed]:
    parsed: list[_Parsed] = []
    for obj in objects:
        ext = fed._extension(obj)
        doc_type = (ext.get("document") or {}).get("type") if ext else None
        kind = KINDS.get(doc_type) if isinstance(doc_type, str) else None
        if ext is None or kind is None:
            result.refuse(fed.DOCUMENT_INVALID)
            continue
        try:
            jws = signing.parse(ext["jws"], kind.typ, max_document=signing.MAX_DOCUMENT_BYTES)
        except signing.JwsError:
            result.refuse(fed.SIGNATURE_INVALID)
            continue
        parsed.append(_Parsed(obj, kind, ext["jws"], jws))
    return parsed


def _agencies_and_keys(items: list[_Parsed]) -> tuple[dict[str, Agency], dict[str, SigningKey]]:
    slugs = {str(i.payload.get("agency")) for i in items}
    agencies = {a.slug: a for a in Agency.objects.filter(slug__in=slugs)}
    keys = {k.kid: k for k in SigningKey.objects.filter(kid__in={i.parsed.kid for i in items})}
    return agencies, keys


def _key_missing(peer: Peer, item: _Parsed, agencies: dict, keys: dict) -> bool:
    agency = agencies.get(str(item.payload.get("agency")))
    if agency is None or agency.home_instance != peer.id:
        return False  # refused as not home whatever its key
    key = keys.get(item.parsed.kid)
    return key is None or key.agency_id != agency.pk


def needs_document(peer: Peer, objects: list[dict]) -> bool:
    """Whether a page is signed with keys we do not know yet (read outside the page's transaction, so the
    peer's instance document is fetched before it opens, never inside it)."""
    if _signed_by_unknown_kid(objects):
        return True
    items = _parse([o for o in objects if isinstance(o, dict) and o.get("type") == "report"], fed.PageResult())
    if not items:
        return False
    agencies, keys = _agencies_and_keys(items)
    return any(_key_missing(peer, i, agencies, keys) for i in items)


def _signed_by_unknown_kid(objects: list[dict]) -> bool:
    """Scans (a node's key) and feedback (an agency's key) signed with a kid not held here: a new node or key
    announced in the peer's document since we last read it."""
    kids = set()
    for obj in objects:
        if not isinstance(obj, dict) or obj.get("type") not in (stix.SCAN_TYPE, stix.FEEDBACK_TYPE):
            continue
        ext = (obj.get("extensions") or {}).get(stix.EXTENSION_ID)
        kid = signing.header_kid(ext.get("jws")) if isinstance(ext, dict) else None
        if kid:
            kids.add(kid)
    return bool(kids) and SigningKey.objects.filter(pk__in=kids).count() < len(kids)


def _verify(peer: Peer, items: list[_Parsed], result, refresh: bool) -> list[_Accepted]:
    agencies, keys = _agencies_and_keys(items)
    if refresh and any(_key_missing(peer, i, agencies, keys) for i in items):
        try:  # a key the peer made since we last read its document
            fed.refresh_peer_document(peer)
        except fed.FederationError as exc:
            log.warning("peer %s document refresh failed: %s", peer.id, exc)
        agencies, keys = _agencies_and_keys(items)
    accepted: list[_Accepted] = []
    for item in items:
        agency = agencies.get(str(item.payload.get("agency")))
        if agency is None or agency.home_instance != peer.id:
            result.refuse(fed.NOT_HOME)  # accepted only from the agency's home instance
            continue
        key = keys.get(item.parsed.kid)
        if key is None or key.owner_kind != KeyOwner.AGENCY or key.agency_id != agency.pk:
            result.refuse(fed.KEY_UNKNOWN)
            continue
        if key.status == KeyStatus.REVOKED:
            result.refuse(fed.KEY_REVOKED)
            continue
        if not signing.signature_ok(item.parsed, key.x):
            result.refuse(fed.SIGNATURE_INVALID)
            continue
        accepted.append(_Accepted(item, agency, key))
    return accepted


def _envelope(kind: Kind, payload: dict) -> tuple[uuid.UUID, int, Any]:
    """What `store_copy` checks before it validates: type, version, id, created_at."""
    if payload.get("type") != kind.name:
        raise ValidationError({"type": [f"type must be {kind.name!r}."]})
    raw_id, version = payload.get("id"), payload.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ValidationError({"version": ["version must be a positive integer."]})
    try:
        doc_id = uuid.UUID(str(raw_id))
    except ValueError:
        raise ValidationError({"id": ["id must be a UUID."]})
    if str(doc_id) != raw_id:
        raise ValidationError({"id": ["id must be a lower-case hyphenated UUID."]})
    created = payload.get("created_at")
    if not isinstance(created, str) or not documents.RFC3339_Z.match(created):
        raise ValidationError({"created_at": ["created_at must be RFC 3339 UTC, whole seconds, ending in Z."]})
    return doc_id, version, parse_datetime(created)


def _lookups(accepted: list[_Accepted]) -> documents.Lookups:
    slugs: set[str] = set()
    handles: set[str] = set()
    codes: set[str] = set()
    for a in accepted:
        payload = a.item.payload
        audience = payload.get("audience") if isinstance(payload.get("audience"), dict) else {}
        for name, into in (("agencies", slugs), ("users", handles), ("ports", codes)):
            values = audience.get(name)
            if isinstance(values, list):
                into.update(v for v in values if isinstance(v, str))
        for name in ("port", "origin"):
            if isinstance(payload.get(name), str):
                codes.add(payload[name])
    lookups = documents.Lookups()
    if slugs:
        lookups.agencies = {x.slug: x for x in Agency.objects.filter(slug__in=slugs, is_active=True)}
    if handles:
        lookups.members = {
            m.handle: m for m in Membership.objects.filter(handle__in=handles, is_active=True, user__is_active=True)
        }
    if codes:
        lookups.ports = {p.locode: p for p in Port.objects.filter(locode__in=codes)}
    return lookups


# Foreign keys resolved above (the agency and key verified, the ports read or created by the validator): not
# checked again one SELECT each, as `clean_fields` would.
_RESOLVED = ["key", "agency", "port", "origin"]


def _grants(kind: Kind, head, v: documents.Validated) -> list:
    model, fk = kind.grant_model, kind.fk
    return (
        [model(**{fk: head}, kind=GrantKind.AGENCY, agency=a) for a in v.audience.agencies]
        + [model(**{fk: head}, kind=GrantKind.PORT, port=p) for p in v.audience.ports]
        + [model(**{fk: head}, kind=GrantKind.USER, member=m) for m in v.audience.members]
    )


def _index_rows(kind: Kind, head, payload: dict) -> list:
    if kind is ALERT:
        return [AlertIdentifier(alert=head, kind=IdentifierKind.CONTAINER, value=c) for c in payload["containers"]] + [
            AlertIdentifier(alert=head, kind=IdentifierKind.VESSEL, value=v) for v in payload["vessels"]
        ]
    return [PracticeTag(practice=head, tag=t) for t in payload["tags"]]


def _store(kind: Kind, peer: Peer, accepted: list[_Accepted], result) -> None:
    """Store the run's versions of one kind (alerts or practices), in page order."""
    checked: list[tuple[_Accepted, uuid.UUID, int, Any]] = []
    for a in accepted:
        try:
            checked.append((a, *_envelope(kind, a.item.payload)))
        except ValidationError:
            result.refuse(fed.DOCUMENT_INVALID)
    if not checked:
        return
    ids = {doc_id for _, doc_id, _, _ in checked}
    fk_id = f"{kind.fk}_id"
    held = set(kind.version_model.objects.filter(**{f"{fk_id}__in": ids}).values_list(fk_id, "version"))
    stored_heads = {h.pk: h for h in kind.model.objects.select_for_update().filter(pk__in=ids)}
    lookups = _lookups([a for a, *_ in checked])

    heads: dict[uuid.UUID, Any] = dict(stored_heads)  # the head as it stands after each object of the run
    changed: dict[uuid.UUID, tuple[Any, documents.Validated, dict]] = {}  # id -> new head, validated, payload
    versions: list[Any] = []  # every new version row
    became_head: list[Any] = []  # version rows that became the head, in order (the feed's entries)
    audits: list[tuple[str, Any, dict]] = []
    applied = 0
    for a, doc_id, version, created_at in checked:
        payload = a.item.payload
        if (doc_id, version) in held:
            result.already += 1  # held already: a replayed page
            continue
        try:
            v = kind.validate(payload, strict=True, statuses=tuple(documents.DocumentStatus.values), lookups=lookups)
            head = heads.get(doc_id)
            if head is not None and head.agency_id != a.agency.pk:
                raise ValidationError({"agency": ["This id belongs to an object of another agency."]})
            signer = _Signer(agency=a.agency, handle=str(payload.get("author")))
            columns = _columns(kind, payload, v, signer, a.key, a.item.jws, created_at)  # type: ignore[arg-type]
            if head is not None and head.version > version:
                row = kind.version_model(**{kind.fk: head}, audience=payload["audience"], **columns)
                row.clean_fields(exclude=[*_RESOLVED, kind.fk])
                versions.append(row)  # an older version arriving late: history only, the head stays
            else:
                if head is None:
                    candidate = kind.model(id=doc_id, first_created_at=created_at, **columns)
                else:
                    candidate = copy.copy(head)
                    for name, value in columns.items():
                        setattr(candidate, name, value)
                    candidate.integrity_failed = False
                candidate.clean_fields(exclude=_RESOLVED)
                row = kind.version_model(**{kind.fk: candidate}, audience=payload["audience"], **columns)
                row.clean_fields(exclude=[*_RESOLVED, kind.fk])
                heads[doc_id] = candidate
                changed[doc_id] = (candidate, v, payload)
                versions.append(row)
                became_head.append(row)
                audits.append((f"{kind.name}.federated", candidate, _audit_data(payload, a.key)))
        except ValidationError:
            result.refuse(fed.DOCUMENT_INVALID)
            continue
        held.add((doc_id, version))
        applied += 1
    if not versions:
        return

    new_heads = [h for pk, (h, _, _) in changed.items() if pk not in stored_heads]
    replaced = [h for pk, (h, _, _) in changed.items() if pk in stored_heads]
    kind.model.objects.bulk_create(new_heads)
    if replaced:
        fields = [
            f.name
            for f in kind.model._meta.concrete_fields
            if f.name not in ("id", "first_created_at", "search_vector")
        ]
        kind.model.objects.bulk_update(replaced, fields, batch_size=500)
    for row in versions:  # point at the saved head (a candidate copy, for an older version's row)
        setattr(row, kind.fk, heads[getattr(row, fk_id)])
    kind.version_model.objects.bulk_create(versions)
    changed_ids = list(changed)
    if changed_ids:
        kind.grant_model.objects.filter(**{f"{fk_id}__in": changed_ids}).delete()
        kind.grant_model.objects.bulk_create([g for h, v, _ in changed.values() for g in _grants(kind, h, v)])
        index_model = AlertIdentifier if kind is ALERT else PracticeTag
        index_model.objects.filter(**{f"{fk_id}__in": changed_ids}).delete()
        index_model.objects.bulk_create([r for h, _, p in changed.values() for r in _index_rows(kind, h, p)])
        if connection.vendor == "postgresql":
            from sharing.search import document_vector

            kind.model.objects.filter(pk__in=changed_ids).update(search_vector=document_vector(kind.search_fields))
        _round_trip(kind, changed)
    now = timezone.now()
    touched = {getattr(r, fk_id) for r in versions}
    FederatedCopy.objects.bulk_create(
        [
            FederatedCopy(kind=kind.name, object_id=pk, version=heads[pk].version, origin=peer.id, received_at=now)
            for pk in touched
        ],
        update_conflicts=True,
        unique_fields=["kind", "object_id"],
        update_fields=["version", "origin", "received_at"],
    )
    audit.record_many(None, audits)
    hooks.run("copies_stored", kind.name, [h for h, _, _ in changed.values()], became_head)
    result.applied += applied


def _round_trip(kind: Kind, changed: dict) -> None:
    """What is stored must give back the payload byte for byte (as `signed._store` checks one by one)."""
    stored = kind.model.objects.filter(pk__in=list(changed)).select_related("agency", "key")
    stored = stored.prefetch_related("grants__agency", "grants__member")
    for row in stored:
        if signing.canonical(kind.document(row)) != signing.canonical(changed[row.pk][2]):
            raise _RoundTripFailed(str(row.pk))


def _without_tombstoned(accepted: list[_Accepted], result) -> list[_Accepted]:
    """A page replayed after its tombstone: what was taken back stays gone."""
    ids = {str(a.item.payload.get("id")) for a in accepted if fed._is_uuid(a.item.payload.get("id"))}
    if not ids:
        return accepted
    taken = dict(
        ReceivedTombstone.objects.filter(object_id__in=ids)
        .values("object_id")
        .annotate(v=Max("version"))
        .values_list("object_id", "v")
    )
    if not taken:
        return accepted
    kept = []
    for a in accepted:
        payload = a.item.payload
        version = payload.get("version")
        if isinstance(version, int) and fed._is_uuid(payload.get("id")):
            top = taken.get(uuid.UUID(str(payload["id"])))
            if top is not None and top >= version:
                result.already += 1
                continue
        kept.append(a)
    return kept


def apply_reports(peer: Peer, objects: list[dict], result, *, refresh: bool = True) -> None:
    """A run of consecutive reports of one page (call inside the page's transaction)."""
    items = _parse(objects, result)
    if not items:
        return
    accepted = _without_tombstoned(_verify(peer, items, result, refresh), result)
    by_kind: dict[str, list[_Accepted]] = {}
    for a in accepted:
        by_kind.setdefault(a.item.kind.name, []).append(a)
    for name, run in by_kind.items():
        kind = KINDS[name]
        partial = fed.PageResult()
        try:
            with transaction.atomic():
                _store(kind, peer, run, partial)
        except _RoundTripFailed as exc:
            log.warning("peer %s: %s %s does not round-trip; applying the run one by one", peer.id, name, exc)
            partial = fed.PageResult()
            cache: dict[str, Any] = {}
            for a in run:
                fed._apply_document(peer, a.item.obj, partial, [True], cache)
        result.applied += partial.applied
        result.already += partial.already
        for reason, n in partial.refused.items():
            result.refused[reason] = result.refused.get(reason, 0) + n
