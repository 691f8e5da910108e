"""Federation writes (SPEC sections 10.1 and 10.2): peers, what we offer them, and the pull sync.

Outgoing. What a peer reads is `access.feed_entries_for(PeerPrincipal, "federation")`: the rule of section 4 with
the peer's home agencies as the reader. The publishing hooks below keep, per peer, which objects were offered
(`PeerOffer`); a new version that the peer may no longer read, and a retention purge, leave a tombstone signed
by our portal key in that peer's feed, and every object left out is counted with its reason.

Incoming. `sync_peer` pulls the peer's federation collection from our cursor, one page per transaction: every
object is checked (its agency homed at that peer, its key in the peer's signed instance document and not
revoked, its signature, its document) and stored unchanged, or refused with a reason counted for the peer. The
cursor moves in the same transaction as the page's objects, so a crash repeats a page, and applying a page
twice changes nothing.
"""

import logging
import os
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.dateparse import parse_datetime

import access
from interop import stix
from interop.models import FeedEntry, FeedKind, FeedTombstone
from interop.services import sequence_pending
from ports import audit, signing
from ports.instance import home_agencies, instance_id, is_home, verify_instance_document
from ports.keys import canonical_x, thumbprint
from ports.models import Agency, AgencyKind, ApiToken, KeyOwner, KeyStatus, SigningKey, TokenKind, hash_token
from ports.services import port_for_locode, portal_key_ensure
from sharing.models import Alert, Practice
from sharing.services.alerts import alert_remove_copy, alert_store_copy
from sharing.services.practices import practice_remove_copy, practice_store_copy

from .models import Direction, FederatedCopy, Peer, PeerOffer, PeerReason, ReceivedTombstone

log = logging.getLogger(__name__)

TAXII = "application/taxii+json;version=2.1"
FEDERATION_COLLECTION = "a3d1c8e4-6b2f-4e9a-8c7d-1f0e3b5a9d23"  # interop.taxii.COLLECTIONS["federation"]
INSTANCE_PATH = "/.well-known/alliance-instance.json"
TOMBSTONE_TYP = "tombstone+json"
TOMBSTONE_REASONS = ("audience", "withdrawn", "retention", "purged")
DOCUMENT_REFRESH_SECONDS = 300
ROUND_SECONDS = 8.0  # one beat round pulls pages for at most this long, then the next round goes on

# Reason codes (SPEC 10.2).
NO_HOME_READER = "audience:no-home-reader"
H2_H3 = "handling:h2-h3"
NOT_HOME = "origin:not-home"
KEY_REVOKED = "key:revoked"
KEY_UNKNOWN = "key:unknown"
SIGNATURE_INVALID = "signature:invalid"
DOCUMENT_INVALID = "document:invalid"


class FederationError(Exception):
    """A peer that cannot be added or read (unreachable, unpinned key, bad document): the message says which."""


# ---------------------------------------------------------------- the token we read a peer with, encrypted at rest


def _token_key() -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"alliance-kek-v1", info=b"peer-tokens").derive(
        settings.ALLIANCE_KEK.encode("utf-8")
    )


def _encrypt_token(raw: str, peer_id: str) -> bytes:
    nonce = os.urandom(12)
    return b"v1" + nonce + AESGCM(_token_key()).encrypt(nonce, raw.encode("utf-8"), peer_id.encode("ascii"))


def peer_token(peer: Peer) -> str | None:
    if not peer.token_encrypted:
        return None
    blob = bytes(peer.token_encrypted)
    return AESGCM(_token_key()).decrypt(blob[2:14], blob[14:], peer.id.encode("ascii")).decode("utf-8")


# ---------------------------------------------------------------- reason counters


def count_reason(peer_id: str, direction: str, reason: str, n: int = 1) -> None:
    """Add `n` to one counter (an upsert; concurrent workers add, they never overwrite)."""
    updated = PeerReason.objects.filter(peer_id=peer_id, direction=direction, reason=reason).update(
        count=F("count") + n, last_at=timezone.now()
    )
    if not updated:
        try:
            with transaction.atomic():
                PeerReason.objects.create(peer_id=peer_id, direction=direction, reason=reason, count=n)
        except IntegrityError:
            PeerReason.objects.filter(peer_id=peer_id, direction=direction, reason=reason).update(count=F("count") + n)


# ---------------------------------------------------------------- instance documents


def fetch_instance_document(url: str, *, signed_by: str | None = None) -> str:
    params = {"signed_by": signed_by} if signed_by else None
    try:
        response = requests.get(
            url.rstrip("/") + INSTANCE_PATH, params=params, timeout=settings.FEDERATION_TIMEOUT_SECONDS
        )
    except requests.RequestException as exc:
        raise FederationError(f"cannot fetch the instance document: {exc.__class__.__name__}") from exc
    if response.status_code != 200:
        raise FederationError(f"the instance document answered {response.status_code}")
    return response.text.strip()


def _verified_document(peer_id: str, url: str, pinned: str, jws: str | None = None):
    """The peer's document, verified with the pinned key; a new portal key is accepted only as announced by the
    pinned one (the same document signed by the pinned, now retired, key). Returns (verified, jws, pinned)."""
    jws = jws if jws is not None else fetch_instance_document(url)
    try:
        header_kid = signing.parse(jws, "instance+json", max_document=4 * 1024 * 1024).kid
    except signing.JwsError as exc:
        raise FederationError(f"the instance document is malformed: {exc.message}") from exc
    if header_kid != pinned:
        announcement = fetch_instance_document(url, signed_by=pinned)
        try:
            announced = verify_instance_document(announcement, pinned)
        except signing.JwsError as exc:
            raise FederationError(f"signed by {header_kid}, not announced by the pinned key: {exc.message}") from exc
        if header_kid not in announced.portal_kids or announced.active_portal_kid != header_kid:
            raise FederationError(f"the pinned key {pinned} does not announce {header_kid} as the new portal key")
        pinned = header_kid
    try:
        verified = verify_instance_document(jws, pinned)
    except signing.JwsError as exc:
        raise FederationError(f"the instance document does not verify: {exc.message}") from exc
    if verified.payload.get("instance") != peer_id:
        raise FederationError(f"the document is instance {verified.payload.get('instance')!r}, not {peer_id!r}")
    return verified, jws, pinned


def _reference_agency(entry: dict) -> Agency | None:
    slug, kind, port = entry.get("slug"), entry.get("kind"), entry.get("port")
    if not isinstance(slug, str) or kind not in AgencyKind.values:
        return None
    agency = Agency.objects.filter(slug=slug).first()
    if agency is not None:
        return agency
    agency = Agency(slug=slug, name=str(entry.get("name") or slug)[:160], kind=kind)
    if isinstance(port, str):
        agency.port = port_for_locode(port)
    try:
        agency.full_clean(exclude=["group"])
        with transaction.atomic():
            agency.save()
    except (ValidationError, IntegrityError):
        log.warning("peer document names agency %s that cannot be stored", slug)
        return None
    return agency


def apply_instance_document(peer: Peer, payload: dict) -> dict:
    """Learn from a verified document: which agencies are homed at the peer, and their keys (SPEC 10.1).

    An agency homed here is never re-homed by a peer (that entry is ignored and logged), and a key already
    registered for another owner is not taken over.
    """
    homed, keys = 0, 0
    agencies: dict[str, Agency] = {}
    for entry in payload.get("agencies") or []:
        if not isinstance(entry, dict):
            continue
        agency = _reference_agency(entry)
        if agency is None:
            continue
        if is_home(agency) and agency.home_instance != peer.id:
            log.warning("peer %s claims agency %s, which is homed here; ignored", peer.id, agency.slug)
            continue
        if agency.home_instance != peer.id:
            Agency.objects.filter(pk=agency.pk).update(home_instance=peer.id)
            agency.home_instance = peer.id
        agencies[agency.slug] = agency
        homed += 1
    for jwk in payload.get("keys") or []:
        if not isinstance(jwk, dict) or jwk.get("owner") not in agencies:
            continue  # the portal's key is pinned on the peer row; node keys: federation.scans
        try:
            x = canonical_x(jwk.get("x"))
        except (TypeError, ValueError):
            continue
        status = str(jwk.get("status")) if jwk.get("status") in KeyStatus.values else str(KeyStatus.RETIRED)
        kid = thumbprint(x)
        agency = agencies[jwk["owner"]]
        existing = SigningKey.objects.filter(kid=kid).first()
        if existing is None:
            try:
                with transaction.atomic():
                    SigningKey.objects.create(
                        kid=kid, x=x, owner_kind=KeyOwner.AGENCY, agency=agency, held_by_portal=False, status=status
                    )
                keys += 1
            except IntegrityError:
                continue
        elif existing.owner_kind == KeyOwner.AGENCY and existing.agency_id == agency.pk and not existing.held_by_portal:
            # Status only moves forward: active -> retired -> revoked.
            order: list[str] = [KeyStatus.ACTIVE, KeyStatus.RETIRED, KeyStatus.REVOKED]
            if order.index(status) > order.index(existing.status):
                now = timezone.now()
                SigningKey.objects.filter(pk=kid).update(
                    status=status,
                    retired_at=existing.retired_at or now,
                    revoked_at=now if status == KeyStatus.REVOKED else None,
                )
    # ---- federation.scans: the scanner nodes of those agencies and their keys (references, no tokens)
    from .scans import learn_nodes

    keys += learn_nodes(peer, payload, agencies)
    return {"agencies": homed, "keys": keys}


def refresh_peer_document(peer: Peer) -> None:
    verified, jws, pinned = _verified_document(peer.id, peer.url, peer.key_thumbprint)
    with transaction.atomic():
        apply_instance_document(peer, verified.payload)
        Peer.objects.filter(pk=peer.pk).update(document_jws=jws, document_fetched_at=now(), key_thumbprint=pinned)
    peer.document_jws, peer.key_thumbprint, peer.document_fetched_at = jws, pinned, now()


# ---------------------------------------------------------------- peers (operator: management commands)


def _new_peer_token(peer_id: str) -> str:
    raw = secrets.token_urlsafe(32)
    ApiToken.objects.create(
        key_hash=hash_token(raw), prefix=raw[:8], kind=TokenKind.PEER, peer_instance=peer_id, name=f"peer {peer_id}"
    )
    return raw


def peer_add(*, peer_id: str, url: str, key_thumbprint: str, actor=None, document_jws: str | None = None) -> str:
    """Register a peer, pinning its portal key; fetch and apply its document; return the token it reads us with."""
    if peer_id == instance_id():
        raise FederationError("a peer cannot have this instance's own id")
    if Peer.objects.filter(pk=peer_id).exists():
        raise FederationError(f"peer {peer_id!r} exists; remove_peer it first")
    verified, jws, pinned = _verified_document(peer_id, url, key_thumbprint, document_jws)
    with transaction.atomic():
        peer = Peer(id=peer_id, url=url.rstrip("/"), key_thumbprint=pinned, document_jws=jws)
        peer.full_clean()
        peer.document_fetched_at = now()
        peer.save(force_insert=True)
        learnt = apply_instance_document(peer, verified.payload)
        raw = _new_peer_token(peer_id)
        offered = backfill_offers(peer)
        audit.record(actor, "peer.added", peer, {"url": peer.url, "kid": pinned, **learnt, "offered": offered})
    return raw


def peer_set_token(*, peer: Peer, token: str, actor=None) -> None:
    token = token.strip()
    if not token or len(token) > 200 or not token.isprintable():
        raise FederationError("the token is empty or not a token")
    peer.token_encrypted = _encrypt_token(token, peer.id)
    peer.save(update_fields=["token_encrypted"])
    audit.record(actor, "peer.token_set", peer, {})


@transaction.atomic
def peer_remove(*, peer: Peer, actor=None) -> None:
    """Forget the peer: revoke the tokens it reads us with. Copies it sent stay (their origin is marked)."""
    ApiToken.objects.filter(kind=TokenKind.PEER, peer_instance=peer.id, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    audit.record(actor, "peer.removed", peer, {"url": peer.url})
    peer.delete()


def backfill_offers(peer: Peer) -> int:
    """What the peer may read from us when it is added: remembered, so a later narrowing leaves a tombstone."""
    reader = access.peer_reader(peer.id)
    made = 0
    for kind, qs in (
        (FeedKind.ALERT, access.alerts_exportable_to(reader)),
        (FeedKind.PRACTICE, access.practices_visible_to(reader)),
    ):
        rows = qs.filter(agency__in=home_agencies()).values_list("pk", "version")
        made += len(
            PeerOffer.objects.bulk_create(
                [PeerOffer(peer=peer, kind=kind, object_id=pk, version=v) for pk, v in rows.iterator()],
                ignore_conflicts=True,
                batch_size=2000,
            )
        )
    return made


# ---------------------------------------------------------------- outgoing: offers, tombstones, reasons


def _tombstone(peer_id: str, kind: str, obj_id, version: int, reason: str, agency_id: int) -> None:
    """Sign a tombstone for one peer with the portal key and put it in that peer's feed (numbered after commit)."""
    at = now().replace(microsecond=0)
    doc = {"type": "tombstone", "object": str(obj_id), "version": version, "reason": reason, "at": signing.rfc3339(at)}
    jws = signing.sign(doc, portal_key_ensure(), TOMBSTONE_TYP)
    row = FeedTombstone.objects.create(
        uuid=uuid.uuid4(),
        peer_instance=peer_id,
        object_kind=kind,
        object_id=obj_id,
        version=version,
        reason=reason,
        at=at,
        jws=jws,
    )
    FeedEntry.objects.create(
        kind=FeedKind.TOMBSTONE,
        object_id=row.uuid,
        version=1,
        agency_id=agency_id,
        row_id=row.pk,
        stix_id=stix.tombstone_id(row.uuid),
        modified=at,
    )
    transaction.on_commit(_sequence)


def _sequence() -> None:
    try:
        sequence_pending()
    except Exception:  # the beat sweep numbers it later
        log.exception("feed sequencing failed; the beat sweep will retry")


def _on_published(kind: str, obj: Any) -> None:
    peers = list(Peer.objects.values_list("id", flat=True))
    if not peers or not is_home(obj.agency):
        return  # alone (one query a publish), or a copy of another instance's object: never passed on
    for peer_id in peers:
        reason = access.peer_left_out_reason(peer_id, kind, obj)
        if reason is None:
            PeerOffer.objects.update_or_create(
                peer_id=peer_id, kind=kind, object_id=obj.pk, defaults={"version": obj.version}
            )
            continue
        count_reason(peer_id, Direction.OUT, reason)
        offer = PeerOffer.objects.filter(peer_id=peer_id, kind=kind, object_id=obj.pk).first()
        if offer is not None:
            _tombstone(
                peer_id,
                kind,
                obj.pk,
                obj.version,
                "withdrawn" if obj.status == "withdrawn" else "audience",
                obj.agency_id,
            )
            offer.delete()


def on_alert_published(alert: Alert) -> None:
    """Hook `alert_published` (in the publishing transaction)."""
    _on_published(FeedKind.ALERT, alert)


def on_practice_published(practice: Practice) -> None:
    """Hook `practice_published`."""
    _on_published(FeedKind.PRACTICE, practice)


def on_purge(kind: str, ids: list) -> None:
    """Hook `purging` (retention, in the batch transaction): a tombstone to every peer that was offered them."""
    model_kind = {"alerts": FeedKind.ALERT}.get(kind)
    if model_kind is None:
        return
    agencies = dict(Alert.objects.filter(pk__in=ids).values_list("pk", "agency_id"))
    offers = list(PeerOffer.objects.filter(kind=model_kind, object_id__in=ids))
    for offer in offers:
        _tombstone(offer.peer_id, model_kind, offer.object_id, offer.version, "retention", agencies[offer.object_id])
    PeerOffer.objects.filter(pk__in=[o.pk for o in offers]).delete()


# ---------------------------------------------------------------- incoming: the pull sync


@dataclass
class PageResult:
    applied: int = 0
    already: int = 0
    refused: dict[str, int] = field(default_factory=dict)

    def refuse(self, reason: str) -> None:
        self.refused[reason] = self.refused.get(reason, 0) + 1


def _portal_x(peer: Peer) -> str | None:
    if not peer.document_jws:
        return None
    payload = stix.signed_document(peer.document_jws)
    for jwk in payload.get("keys") or []:
        if isinstance(jwk, dict) and jwk.get("owner") == "portal" and jwk.get("kid") == peer.key_thumbprint:
            return str(jwk.get("x"))
    return None


def _extension(obj: dict) -> dict | None:
    ext = (obj.get("extensions") or {}).get(stix.EXTENSION_ID)
    return ext if isinstance(ext, dict) and isinstance(ext.get("jws"), str) else None


def _apply_document(peer: Peer, obj: dict, result: PageResult, refreshed: list[bool], cache: dict) -> None:
    ext = _extension(obj)
    if ext is None:
        result.refuse(DOCUMENT_INVALID)
        return
    doc_type = (ext.get("document") or {}).get("type")
    if doc_type not in ("alert", "practice"):
        result.refuse(DOCUMENT_INVALID)
        return
    typ = f"{doc_type}+json"
    try:
        parsed = signing.parse(ext["jws"], typ, max_document=signing.MAX_DOCUMENT_BYTES)
    except signing.JwsError:
        result.refuse(SIGNATURE_INVALID)
        return
    payload = parsed.payload
    slug = str(payload.get("agency"))
    if slug not in cache:  # one lookup per agency and key a page, not one per object
        cache[slug] = Agency.objects.filter(slug=slug).first()
    agency = cache[slug]
    if agency is None or agency.home_instance != peer.id:
        result.refuse(NOT_HOME)  # accepted only from the agency's home instance
        return
    key = cache.get(f"kid:{parsed.kid}") or SigningKey.objects.filter(kid=parsed.kid).first()
    if (key is None or key.agency_id != agency.pk) and not refreshed[0]:
        refreshed[0] = True  # a key the peer made since we last read its document
        try:
            refresh_peer_document(peer)
        except FederationError as exc:
            log.warning("peer %s document refresh failed: %s", peer.id, exc)
        key = SigningKey.objects.filter(kid=parsed.kid).first()
    if key is None or key.owner_kind != KeyOwner.AGENCY or key.agency_id != agency.pk:
        result.refuse(KEY_UNKNOWN)
        return
    if key.status == KeyStatus.REVOKED:
        result.refuse(KEY_REVOKED)
        return
    cache[f"kid:{parsed.kid}"] = key
    if not signing.signature_ok(parsed, key.x):
        result.refuse(SIGNATURE_INVALID)
        return
    if (
        isinstance(payload.get("version"), int)
        and _is_uuid(payload.get("id"))
        and ReceivedTombstone.objects.filter(object_id=str(payload["id"]), version__gte=payload["version"]).exists()
    ):
        result.already += 1  # a page replayed after its tombstone: what was taken back stays gone
        return
    store = alert_store_copy if doc_type == "alert" else practice_store_copy
    try:
        with transaction.atomic():
            head, stored = store(agency=agency, key=key, jws=ext["jws"], payload=payload)
            if stored:
                FederatedCopy.objects.update_or_create(
                    kind=doc_type,
                    object_id=payload["id"],
                    defaults={"version": max(payload["version"], head.version if head else 0), "origin": peer.id},
                )
    except ValidationError:
        result.refuse(DOCUMENT_INVALID)
        return
    if stored:
        result.applied += 1
    else:
        result.already += 1


def _is_uuid(value: object) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def _apply_tombstone(peer: Peer, obj: dict, result: PageResult) -> None:
    ext = _extension(obj)
    x = _portal_x(peer)
    if ext is None or x is None:
        result.refuse(DOCUMENT_INVALID)
        return
    try:
        parsed = signing.parse(ext["jws"], TOMBSTONE_TYP)
    except signing.JwsError:
        result.refuse(SIGNATURE_INVALID)
        return
    if parsed.kid != peer.key_thumbprint or not signing.signature_ok(parsed, x):
        result.refuse(SIGNATURE_INVALID)
        return
    doc = parsed.payload
    at = parse_datetime(str(doc.get("at")))
    if doc.get("type") != "tombstone" or doc.get("reason") not in TOMBSTONE_REASONS or at is None:
        result.refuse(DOCUMENT_INVALID)
        return
    try:
        object_id = uuid.UUID(str(doc.get("object")))
    except ValueError:
        result.refuse(DOCUMENT_INVALID)
        return
    copy = FederatedCopy.objects.filter(object_id=object_id).first()
    if copy is not None and copy.origin != peer.id:
        result.refuse(NOT_HOME)  # only the object's home instance may take it back
        return
    version = doc.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        result.refuse(DOCUMENT_INVALID)
        return
    kind = copy.kind if copy else ("alert" if Alert.objects.filter(pk=object_id).exists() else "practice")
    with transaction.atomic():
        _, created = ReceivedTombstone.objects.get_or_create(
            object_id=object_id,
            version=version,
            defaults={"kind": kind, "reason": doc["reason"], "origin": peer.id, "at": at, "jws": ext["jws"]},
        )
        held = Alert if kind == "alert" else Practice
        row = held.objects.filter(pk=object_id).select_related("agency").first()
        if row is not None and row.agency.home_instance == peer.id:
            if kind == "alert":
                alert_remove_copy(alert_id=object_id)
            else:
                practice_remove_copy(practice_id=object_id)
            audit.record(
                None,
                f"{kind}.tombstoned",
                None,
                {"reason": doc["reason"], "origin": peer.id},
                object_type=f"sharing.{kind}",
                object_id=str(object_id),
            )
        FederatedCopy.objects.filter(object_id=object_id, origin=peer.id).delete()
    if created:
        result.applied += 1
    else:
        result.already += 1


def _apply_identities(peer: Peer, objects: list[dict], result: PageResult, refresh: bool) -> None:
    """Agencies and their homes come from the signed instance document, not from the page."""


def _apply_reports(peer: Peer, objects: list[dict], result: PageResult, refresh: bool) -> None:
    from .apply import apply_reports  # the bulk path; it builds on this module

    apply_reports(peer, objects, result, refresh=refresh)


def _apply_tombstones(peer: Peer, objects: list[dict], result: PageResult, refresh: bool) -> None:
    for obj in objects:
        _apply_tombstone(peer, obj, result)


def _apply_scans(peer: Peer, objects: list[dict], result: PageResult, refresh: bool) -> None:
    from .scans import apply_scan  # ---- federation.scans: relayed scans (it builds on this module)

    refreshed = [not refresh]  # the sync read the document before the transaction when a kid was new
    for obj in objects:
        apply_scan(peer, obj, result, refreshed)


def _apply_feedback(peer: Peer, objects: list[dict], result: PageResult, refresh: bool) -> None:
    from .feedback import apply_feedback  # ---- federation.feedback: feedback back to the alert's instance

    refreshed = [not refresh]
    for obj in objects:
        apply_feedback(peer, obj, result, refreshed)


# One function per STIX type, each given a run of consecutive objects of that type: the page's order holds
# between runs (a tombstone and a later version of the same object apply in the order the peer numbered them).
# Types not here are refused with `document:invalid`.
APPLY_BY_TYPE: dict[str, Callable[[Peer, list[dict], PageResult, bool], None]] = {
    "identity": _apply_identities,
    "report": _apply_reports,
    stix.TOMBSTONE_TYPE: _apply_tombstones,
    stix.SCAN_TYPE: _apply_scans,
    stix.FEEDBACK_TYPE: _apply_feedback,
}


def apply_objects(peer: Peer, objects: list[dict], *, refresh: bool = True) -> PageResult:
    """Apply one page of the peer's federation collection (call inside the page's transaction).

    `refresh`: fetch the peer's instance document when the page is signed with a key we do not know (the sync
    passes False, having fetched it before the transaction opened).
    """
    result = PageResult()
    runs: list[tuple[object, list[dict]]] = []
    for obj in objects:
        kind = obj.get("type") if isinstance(obj, dict) else None
        if runs and runs[-1][0] == kind:
            runs[-1][1].append(obj)
        else:
            runs.append((kind, [obj]))
    for kind, run in runs:
        handler = APPLY_BY_TYPE.get(kind) if isinstance(kind, str) else None
        if handler is None:
            for _ in run:
                result.refuse(DOCUMENT_INVALID)  # not a dict, or a type this version does not sync
            continue
        handler(peer, run, result, refresh)
    for reason, n in result.refused.items():
        count_reason(peer.id, Direction.IN, reason, n)
    return result


def apply_objects_one_by_one(peer: Peer, objects: list[dict]) -> PageResult:
    """The per-object path (each report stored by `store_copy` on its own): what a run falls back to when the
    bulk path's round trip fails, and the benchmark's "before"."""
    result = PageResult()
    refreshed = [False]
    cache: dict[str, Any] = {}
    for obj in objects:
        if not isinstance(obj, dict):
            result.refuse(DOCUMENT_INVALID)
            continue
        kind = obj.get("type")
        if kind == "identity":
            continue
        if kind == "report":
            _apply_document(peer, obj, result, refreshed, cache)
        elif kind == stix.TOMBSTONE_TYPE:
            _apply_tombstone(peer, obj, result)
        elif kind == stix.SCAN_TYPE:
            from .scans import apply_scan

            apply_scan(peer, obj, result, refreshed)
        elif kind == stix.FEEDBACK_TYPE:
            from .feedback import apply_feedback

            apply_feedback(peer, obj, result, refreshed)
        else:
            result.refuse(DOCUMENT_INVALID)
    for reason, n in result.refused.items():
        count_reason(peer.id, Direction.IN, reason, n)
    return result


def _fetch_page(peer: Peer, token: str, cursor: int) -> tuple[dict, dict]:
    url = f"{peer.url}/taxii2/alliance/collections/{FEDERATION_COLLECTION}/objects/"
    params = {"next": str(cursor), "limit": str(settings.FEDERATION_PAGE_SIZE), "match[version]": "all"}
    try:
        response = requests.get(
            url,
            params=params,
            headers={"Accept": TAXII, "Authorization": f"Token {token}"},
            timeout=settings.FEDERATION_TIMEOUT_SECONDS,
        )
    except requests.RequestException as exc:
        raise FederationError(f"cannot reach the peer: {exc.__class__.__name__}") from exc
    if response.status_code != 200:
        raise FederationError(f"the peer answered {response.status_code} {response.text[:200]}")
    try:
        body = response.json()
    except ValueError as exc:
        raise FederationError("the peer's page is not JSON") from exc
    if not isinstance(body, dict) or not isinstance(body.get("objects", []), list):
        raise FederationError("the peer's page is not a TAXII envelope")
    return body, dict(response.headers)


def _record_error(peer_id: str, message: str) -> None:
    Peer.objects.filter(pk=peer_id).update(last_error_at=now(), last_error=message[:500])


def now() -> datetime:
    """Federation's clock: the system's, shifted by `CLOCK_SKEW_SECONDS` (0; the fault tests set it to run an
    instance whose clock is minutes off). Nothing compares it with a peer's clock: lag is measured on the
    peer's clock (its `Date` header against the time it added the object)."""
    return timezone.now() + timedelta(seconds=settings.CLOCK_SKEW_SECONDS)


def _peer_lag_seconds(headers: dict, more: bool) -> float:
    """Age of the oldest object not yet applied, both ends read on the peer's clock; 0 when caught up."""
    if not more:
        return 0.0
    last_added = parse_datetime(headers.get("X-TAXII-Date-Added-Last", "") or "")
    try:
        peer_now = parsedate_to_datetime(headers.get("Date", ""))
    except (TypeError, ValueError):
        return 0.0
    if last_added is None or peer_now is None:
        return 0.0
    return max(0.0, (peer_now - last_added).total_seconds())


def sync_peer(peer_id: str, *, budget: float = ROUND_SECONDS) -> int:
    """Pull pages from our cursor until the peer has no more or the round's time is up; returns objects applied.

    Each page is fetched outside any transaction, then applied in its own transaction under the peer row's lock,
    with the cursor moved in that same transaction; a page fetched from a cursor another worker has since moved
    is dropped and the next one fetched.
    """
    peer = Peer.objects.filter(pk=peer_id).first()
    if peer is None:
        return 0
    token = peer_token(peer)
    if token is None:
        return 0
    if peer.document_fetched_at is None or (now() - peer.document_fetched_at).total_seconds() > (
        DOCUMENT_REFRESH_SECONDS
    ):
        try:
            refresh_peer_document(peer)
        except FederationError as exc:
            _record_error(peer_id, str(exc))  # keep going with the document we have
    from .apply import needs_document

    started, total = time.monotonic(), 0
    while True:
        cursor = Peer.objects.filter(pk=peer_id).values_list("cursor", flat=True).first()
        if cursor is None:
            return total
        try:
            body, headers = _fetch_page(peer, token, cursor)
        except FederationError as exc:
            _record_error(peer_id, str(exc))
            return total
        objects = body.get("objects") or []
        if needs_document(peer, objects):  # signed with a key the peer made since we last read its document
            try:
                refresh_peer_document(peer)
            except FederationError as exc:
                log.warning("peer %s document refresh failed: %s", peer_id, exc)
        more = bool(body.get("more"))
        with transaction.atomic():
            # One page per transaction, under the peer row's lock: two workers never apply the same page. FOR NO KEY
            # UPDATE, not FOR UPDATE: a publish offering to this peer takes a KEY SHARE lock on the row at COMMIT
            # (the PeerOffer foreign key) while holding the audit head; FOR UPDATE would deadlock with it.
            locked = Peer.objects.select_for_update(skip_locked=True, no_key=True).filter(pk=peer_id).first()
            if locked is None:
                return total
            if locked.cursor == cursor:
                result = apply_objects(locked, objects, refresh=False)
                next_cursor = str(body.get("next") or locked.cursor)
                head = headers.get("X-Alliance-Feed-Head", "")
                locked.cursor = int(next_cursor) if next_cursor.isdigit() else locked.cursor
                locked.applied += result.applied
                locked.lag_objects = max(0, int(head) - locked.cursor) if (more and head.isdigit()) else 0
                locked.lag_seconds = _peer_lag_seconds(headers, more)
                locked.last_success_at = now()
                locked.save(update_fields=["cursor", "applied", "lag_objects", "lag_seconds", "last_success_at"])
                total += result.applied
            else:
                more = True  # another worker applied that page meanwhile: fetch from where it left the cursor
        if not more or time.monotonic() - started > budget:
            return total


def sync_all() -> int:
    total = 0
    for peer_id in Peer.objects.filter(token_encrypted__isnull=False).values_list("id", flat=True):
        try:
            total += sync_peer(peer_id)
        except Exception as exc:  # one broken peer must not stop the others
            log.exception("sync with peer %s failed", peer_id)
            _record_error(peer_id, f"{exc.__class__.__name__}: {exc}")
    return total
