"""The hash-chained audit log (SPEC section 9): append in the caller's transaction."""

import hashlib
import json
from typing import Any

from django.db import transaction
from django.utils import timezone

from .models import AuditEntry, AuditHead

GENESIS = "0" * 64


def _actor_name(actor) -> str:
    if actor is None:
        return "system"
    if isinstance(actor, str):
        return actor
    return getattr(actor, "username", None) or str(actor)


def entry_hash(
    prev_hash: str, seq: int, at: str, actor: str, action: str, object_type: str, object_id: str, data: dict
) -> str:
    body = json.dumps(
        {
            "seq": seq,
            "at": at,
            "actor": actor,
            "action": action,
            "object_type": object_type,
            "object_id": object_id,
            "data": data,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


def _timestamp(value) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@transaction.atomic
def record(
    actor, action: str, obj: Any = None, data: dict | None = None, *, object_type: str = "", object_id: str = ""
) -> AuditEntry:
    """Append one entry. Runs inside the caller's transaction so the entry and the change land together."""
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
    data = json.loads(json.dumps(data or {}, default=str))
    # Lock the head row: two appends must not share a sequence number.
    head, _ = AuditHead.objects.select_for_update().get_or_create(id=1)
    seq = head.seq + 1
    now = timezone.now()
    at = _timestamp(now)
    actor_name = _actor_name(actor)
    digest = entry_hash(head.hash, seq, at, actor_name, action, object_type, object_id, data)
    entry = AuditEntry.objects.create(
        seq=seq,
        at=now,
        actor=actor_name,
        action=action,
        object_type=object_type,
        object_id=object_id,
        data=data,
        prev_hash=head.hash,
        hash=digest,
    )
    head.seq, head.hash = seq, digest
    head.save(update_fields=["seq", "hash"])
    return entry


def verify_chain() -> tuple[bool, int, str]:
    """Walk the whole chain: (ok, entries checked, first problem)."""
    prev = GENESIS
    expected_seq = None
    count = 0
    for entry in AuditEntry.objects.order_by("seq").iterator(chunk_size=2000):
        if expected_seq is None:
            expected_seq = entry.seq
            if entry.seq != 1:
                prev = entry.prev_hash  # archived prefix: trust starts at the checkpoint
        if entry.seq != expected_seq:
            return False, count, f"entry #{expected_seq} is missing (next is #{entry.seq})"
        if entry.prev_hash != prev:
            return False, count, f"entry #{entry.seq} does not link to the previous entry"
        digest = entry_hash(
            prev,
            entry.seq,
            _timestamp(entry.at),
            entry.actor,
            entry.action,
            entry.object_type,
            entry.object_id,
            entry.data,
        )
        if digest != entry.hash:
            return False, count, f"entry #{entry.seq} was altered (hash mismatch)"
        prev = entry.hash
        expected_seq = entry.seq + 1
        count += 1
    head = AuditHead.objects.filter(id=1).first()
    if head is not None and count and head.seq != expected_seq - 1:
        return False, count, f"the head says #{head.seq} but the chain ends at #{expected_seq - 1}"
    if head is not None and count and head.hash != prev:
        return False, count, "the head hash does not match the last entry"
    return True, count, ""
