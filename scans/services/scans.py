"""Scan ingestion (SPEC section 5): the check order, idempotent re-sends, batches, counters.

Checks run in the SPEC's order and the first that fails answers: malformed
body or JWS (400), key not an active key of the node (403), signature (400),
document fields (400, every failing field). Accepted scans are stored with
their outbox rows in one transaction; the relay is queued on commit and a
broker that is down never turns an accepted push into an error (the beat
sweep picks the outbox up).
"""

import hashlib
import json
import logging
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cache, partial
from typing import cast

from django.db import IntegrityError, connection, transaction
from django.db.models import F, FloatField, JSONField
from django.utils import timezone
from django.utils.translation import gettext as _

from alliance import metrics
from ports import signing
from ports.models import KeyStatus, ScannerNode, SigningKey
from ports.services import port_for_locode

from .. import documents as scan_documents
from ..models import NodeCounter, Scan, ScanOutbox

logger = logging.getLogger(__name__)

MAX_BATCH = 500


@dataclass
class PushResult:
    status: str  # created | duplicate | rejected
    http: int
    scan: Scan | None = None
    code: str | None = None
    errors: dict = field(default_factory=dict)


class Rejected(Exception):
    def __init__(self, http: int, code: str, errors: dict):
        super().__init__(code)
        self.http, self.code, self.errors = http, code, errors


@dataclass
class Checked:
    payload: dict
    payload_sha256: str
    key: SigningKey
    jws: str


def _check(node: ScannerNode, jws, keys: dict[str, SigningKey], now) -> Checked:
    try:
        parsed = signing.parse(jws, scan_documents.SCAN_TYP, max_document=signing.MAX_DOCUMENT_BYTES)
    except signing.JwsError as exc:
        raise Rejected(400, exc.code, exc.as_errors()) from exc
    key = keys.get(parsed.kid)
    if key is None:
        raise Rejected(
            403,
            "key_not_active",
            {
                "jws": [
                    _("kid %(kid)s is not an active key of node %(node)s.") % {"kid": repr(parsed.kid), "node": node.id}
                ]
            },
        )
    if not signing.signature_ok(parsed, key.x):
        raise Rejected(400, "bad_signature", {"jws": [_("The signature does not verify with the node's key.")]})
    errors = scan_documents.validate(parsed.payload, node, now)
    if errors:
        raise Rejected(400, "invalid_document", errors)
    return Checked(parsed.payload, hashlib.sha256(parsed.payload_bytes).hexdigest(), key, jws)


def _active_keys(node: ScannerNode) -> dict[str, SigningKey]:
    return {k.kid: k for k in SigningKey.objects.filter(node=node, status=KeyStatus.ACTIVE)}


def _ensure_ports(payloads: list[dict]) -> None:
    """Valid LOCODEs not known yet become non-member ports (never refused for that)."""
    from ports.models import Port

    codes: set[str] = set()
    for p in payloads:
        codes.update(c for c in (p["port"], p["origin"], p.get("next_port")) if c)
        codes.update(p.get("route") or [])
        codes.update(p.get("onward_route") or [])
    known = set(Port.objects.filter(locode__in=codes).values_list("locode", flat=True))
    for code in sorted(codes - known):
        port_for_locode(code)


def _enqueue_relay(scan_ids: list) -> None:
    from ..tasks import relay_scans

    try:
        relay_scans.delay([str(i) for i in scan_ids])
    except Exception:  # noqa: BLE001 - the broker may be down; the outbox sweep will relay
        logger.warning("relay enqueue failed for %d scan(s); the sweep will pick them up", len(scan_ids))


def _count(node: ScannerNode, *, duplicate: int = 0, rejected: int = 0) -> None:
    """After the ingest transaction, once per request: the scan transaction never waits on this row."""
    if not duplicate and not rejected:
        return
    updated = NodeCounter.objects.filter(node=node).update(
        duplicate=F("duplicate") + duplicate, rejected=F("rejected") + rejected
    )
    if not updated:
        try:
            with transaction.atomic():
                NodeCounter.objects.create(node=node, duplicate=duplicate, rejected=rejected)
        except IntegrityError:
            NodeCounter.objects.filter(node=node).update(
                duplicate=F("duplicate") + duplicate, rejected=F("rejected") + rejected
            )


def _seen(node: ScannerNode, now) -> None:
    if node.last_seen_at is None or now - node.last_seen_at > timedelta(minutes=1):
        ScannerNode.objects.filter(pk=node.pk).update(last_seen_at=now)


def _new_scan(node: ScannerNode, checked: Checked, now) -> Scan:
    return Scan(
        id=uuid.uuid4(),
        node=node,
        jws=checked.jws,
        key=checked.key,
        payload_sha256=checked.payload_sha256,
        received_at=now,
        **scan_documents.fields_from(checked.payload),
    )


def _store(scans: list[Scan], now) -> set:
    """Store the scans with their outbox rows, skipping a (node, scan_id) already stored; the pks stored.

    On PostgreSQL one statement does it all (no transaction to open, one round trip, no per-row ORM
    work): an INSERT ... SELECT FROM unnest(arrays) ON CONFLICT DO NOTHING, whose RETURNING feeds the
    outbox INSERT of the same statement. Elsewhere (SQLite) the ORM's bulk inserts in a transaction."""
    if connection.vendor == "postgresql":
        return _store_postgresql(scans, now)
    with transaction.atomic():
        Scan.objects.bulk_create(scans, ignore_conflicts=True, batch_size=500)
        stored = set(Scan.objects.filter(pk__in=[s.pk for s in scans]).values_list("pk", flat=True))
        ScanOutbox.objects.bulk_create(
            [ScanOutbox(scan=s, created_at=now) for s in scans if s.pk in stored], batch_size=500
        )
    return stored


@cache
def _store_sql() -> tuple[str, tuple[tuple[str, str], ...]]:
    """The statement of `_store_postgresql` and, per scan column, its attribute name and kind (json, float)."""
    fields = Scan._meta.concrete_fields
    columns = ", ".join(connection.ops.quote_name(cast(str, f.column)) for f in fields)
    arrays = ", ".join("%s::text[]" if isinstance(f, JSONField) else f"%s::{f.db_type(connection)}[]" for f in fields)
    values = ", ".join(f"t.c{n}::jsonb" if isinstance(f, JSONField) else f"t.c{n}" for n, f in enumerate(fields))
    names = ", ".join(f"c{n}" for n in range(len(fields)))
    scan, outbox = Scan._meta.db_table, ScanOutbox._meta.db_table
    sql = (
        f"WITH stored AS (INSERT INTO {scan} ({columns}) SELECT {values} FROM unnest({arrays}) AS t({names}) "
        "ON CONFLICT (node_id, scan_id) DO NOTHING RETURNING id) "
        f"INSERT INTO {outbox} (scan_id, created_at, attempts) SELECT id, %s, 0 FROM stored RETURNING scan_id"
    )
    kinds = tuple(
        (f.attname, "json" if isinstance(f, JSONField) else "float" if isinstance(f, FloatField) else "")
        for f in fields
    )
    return sql, kinds


def _store_postgresql(scans: list[Scan], now) -> set:
    sql, columns = _store_sql()
    params: list = []
    for attname, kind in columns:
        values = [getattr(s, attname) for s in scans]
        if kind == "json":
            values = [None if v is None else json.dumps(v) for v in values]
        elif kind == "float":  # a document may say 1 and 0.5: an array takes one Python type
            values = [None if v is None else float(v) for v in values]
        params.append(values)
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, now])
        stored = {row[0] for row in cursor.fetchall()}
    for scan in scans:
        if scan.pk in stored:  # as bulk_create leaves them: saved rows of this database
            scan._state.adding, scan._state.db = False, connection.alias
    return stored


def batch_items_errors(items) -> dict[str, list[str]]:
    """The batch envelope (SPEC section 5): a list of 1 to MAX_BATCH items. What each item holds is that
    item's own business: a number, a list or a hostile string among them is rejected alone."""
    if not isinstance(items, list):
        return {"items": [_("A list of compact JWS strings is expected.")]}
    if not 1 <= len(items) <= MAX_BATCH:
        return {
            "items": [
                _("A batch holds 1 to %(limit)s items (this one has %(count)s).")
                % {"limit": MAX_BATCH, "count": len(items)}
            ]
        }
    return {}


def scan_ingest_batch(*, node: ScannerNode, items: list) -> list[PushResult]:
    """Verify every item, store the good ones in one transaction (bulk), answer one result per item, in order.

    A malformed envelope raises Rejected (counted as one rejected push)."""
    errors = batch_items_errors(items)
    if errors:
        reject_malformed(node)
        raise Rejected(400, "invalid", errors)
    now = timezone.now()
    keys = _active_keys(node)
    results: list[PushResult | None] = [None] * len(items)
    good: dict[int, Checked] = {}
    for index, jws in enumerate(items):
        try:
            good[index] = _check(node, jws, keys, now)
        except Rejected as exc:
            results[index] = PushResult("rejected", exc.http, code=exc.code, errors=exc.errors)

    # Repeats inside the batch: the first wins, identical repeats are duplicates, others conflicts.
    first_by_id: dict[str, int] = {}
    repeat_of: dict[int, int] = {}
    for index, checked in list(good.items()):
        scan_id = checked.payload["scan_id"]
        if scan_id in first_by_id:
            if good[first_by_id[scan_id]].payload_sha256 != checked.payload_sha256:
                results[index] = _conflict(scan_id)
            else:
                repeat_of[index] = first_by_id[scan_id]
            good.pop(index)
        else:
            first_by_id[scan_id] = index

    if good:
        _ensure_ports([c.payload for c in good.values()])
        candidates = {i: _new_scan(node, c, now) for i, c in good.items()}
        # A concurrent request may store the same scan_id first: that item is then a duplicate or a conflict.
        stored = _store(list(candidates.values()), now)
        created = [s for s in candidates.values() if s.pk in stored]
        if created:
            transaction.on_commit(partial(_enqueue_relay, [s.pk for s in created]), robust=True)
        others = [c.payload["scan_id"] for i, c in good.items() if candidates[i].pk not in stored]
        existing = {s.scan_id: s for s in Scan.objects.filter(node=node, scan_id__in=others)} if others else {}
        for index, checked in good.items():
            if candidates[index].pk in stored:
                results[index] = PushResult("created", 201, scan=candidates[index])
                continue
            stored_scan = existing[checked.payload["scan_id"]]
            if stored_scan.payload_sha256 == checked.payload_sha256:
                results[index] = PushResult("duplicate", 200, scan=stored_scan)
            else:
                results[index] = _conflict(checked.payload["scan_id"])

    for index, first in repeat_of.items():
        # An identical repeat inside the batch: a duplicate of whatever its first occurrence became.
        original = results[first]
        assert original is not None  # a first occurrence has its result by now
        results[index] = PushResult("duplicate", 200, scan=original.scan) if original.scan is not None else original
    done = cast(list[PushResult], results)  # every item has its result now
    _count(
        node,
        duplicate=sum(1 for r in done if r.status == "duplicate"),
        rejected=sum(1 for r in done if r.status == "rejected"),
    )
    _seen(node, now)
    metrics.scans_pushed(done)
    return done


def _conflict(scan_id: str) -> PushResult:
    return PushResult(
        "rejected",
        409,
        code="conflict",
        errors={
            "scan_id": [_("Scan %(scan)s was already received with a different payload.") % {"scan": repr(scan_id)}]
        },
    )


def scan_ingest(*, node: ScannerNode, jws) -> PushResult:
    """One push: the same path as a batch of one."""
    return scan_ingest_batch(node=node, items=[jws])[0]


def reject_malformed(node: ScannerNode) -> None:
    """A body that is not even a JWS holder still counts as a rejected push."""
    _count(node, rejected=1)
    metrics.scan_push_refused("invalid")


def node_status(node: ScannerNode) -> dict:
    counter = NodeCounter.objects.filter(node=node).first()
    key = SigningKey.objects.filter(node=node, status=KeyStatus.ACTIVE).first()
    return {
        "node": node.id,
        "agency": node.agency.slug,
        "port": node.port_id,
        "status": "active" if node.is_active else "inactive",
        "last_seen_at": node.last_seen_at,
        "counters": {
            "accepted": Scan.objects.filter(node=node).count(),
            "duplicate": counter.duplicate if counter else 0,
            "rejected": counter.rejected if counter else 0,
        },
        "key": {"kid": key.kid, "status": key.status} if key else None,
    }
