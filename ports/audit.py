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


def checkpoint_create():
    """Sign the current chain head with the portal key (beat runs this periodically)."""
    from .models import AuditCheckpoint
    from .services import portal_key_ensure
    from .signing import rfc3339, sign

    key = portal_key_ensure()  # first: creating it appends to the chain
    with transaction.atomic():
        head = AuditHead.objects.select_for_update().filter(id=1).first()
        if head is None or head.seq == 0 or AuditCheckpoint.objects.filter(seq=head.seq).exists():
            return None
        document = {
            "type": "audit_checkpoint",
            "seq": head.seq,
            "hash": head.hash,
            "created_at": rfc3339(timezone.now()),
        }
        jws = sign(document, key, "checkpoint+json")
        return AuditCheckpoint.objects.create(seq=head.seq, hash=head.hash, jws=jws)


def verify_checkpoints() -> tuple[bool, int, str]:
    """Every checkpoint is signed by a portal key and names an entry whose hash it matches."""
    from .models import AuditCheckpoint, KeyOwner, SigningKey
    from .signing import JwsError, parse, signature_ok

    portal_keys = {k.kid: k for k in SigningKey.objects.filter(owner_kind=KeyOwner.PORTAL)}
    hashes = dict(AuditEntry.objects.filter(seq__in=AuditCheckpoint.objects.values("seq")).values_list("seq", "hash"))
    count = 0
    for checkpoint in AuditCheckpoint.objects.order_by("seq"):
        try:
            parsed = parse(checkpoint.jws, "checkpoint+json")
        except JwsError as exc:
            return False, count, f"checkpoint #{checkpoint.seq}: {exc.message}"
        key = portal_keys.get(parsed.kid)
        if key is None or not signature_ok(parsed, key.x):
            return False, count, f"checkpoint #{checkpoint.seq}: signature does not verify with a portal key"
        if parsed.payload.get("seq") != checkpoint.seq or parsed.payload.get("hash") != checkpoint.hash:
            return False, count, f"checkpoint #{checkpoint.seq}: signed content differs from the stored row"
        if checkpoint.seq in hashes and hashes[checkpoint.seq] != checkpoint.hash:
            return False, count, f"entry #{checkpoint.seq} does not match its signed checkpoint"
        count += 1
    return True, count, ""
