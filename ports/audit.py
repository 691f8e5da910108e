"""The hash-chained audit log (SPEC section 9): append in the caller's transaction."""

import contextlib
import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from .models import AuditEntry, AuditHead

GENESIS = "0" * 64
CHECKPOINT_EVENT = "audit.checkpoint"

# Each signed checkpoint is also written here, one JSON line, so a copy lives outside the database.
logger = logging.getLogger(__name__)


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


@transaction.atomic
def record_many(actor, entries: list[tuple[str, Any, dict]]) -> int:
    """Append several entries `(action, obj, data)` in order, as `record` would one by one, in three queries."""
    if not entries:
        return 0
    head, _ = AuditHead.objects.select_for_update().get_or_create(id=1)
    seq, prev = head.seq, head.hash
    now = timezone.now()
    at = _timestamp(now)
    actor_name = _actor_name(actor)
    rows = []
    for action, obj, raw in entries:
        object_type, object_id = obj._meta.label_lower, str(obj.pk)
        data = json.loads(json.dumps(raw or {}, default=str))
        seq += 1
        digest = entry_hash(prev, seq, at, actor_name, action, object_type, object_id, data)
        rows.append(
            AuditEntry(
                seq=seq,
                at=now,
                actor=actor_name,
                action=action,
                object_type=object_type,
                object_id=object_id,
                data=data,
                prev_hash=prev,
                hash=digest,
            )
        )
        prev = digest
    AuditEntry.objects.bulk_create(rows)
    head.seq, head.hash = seq, prev
    head.save(update_fields=["seq", "hash"])
    return len(rows)


def verify_chain(given: list["SignedCheckpoint"] | None = None) -> tuple[bool, int, str]:
    """Walk the whole chain: (ok, entries checked, first problem).

    Beyond the links, the chain must not have been cut short: it starts at the genesis entry or right after
    an archived, signed checkpoint, and it reaches every checkpoint known (the database's and `given`, e.g.
    copies from the log stream), agreeing with each of them.
    """
    given = given or []
    given_at = {checkpoint.seq: checkpoint for checkpoint in given}
    prev = GENESIS
    expected_seq = None
    count = 0
    for entry in AuditEntry.objects.order_by("seq").iterator(chunk_size=2000):
        if expected_seq is None:
            expected_seq = entry.seq
            if entry.seq != 1:
                problem = _start_problem(entry, given)
                if problem:
                    return False, count, problem
                prev = entry.prev_hash  # archived prefix: trust starts at its signed checkpoint
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
        if entry.seq in given_at and given_at[entry.seq].hash != entry.hash:
            return False, count, f"entry #{entry.seq} differs from the signed checkpoint given for it"
        prev = entry.hash
        expected_seq = entry.seq + 1
        count += 1
    last_seq = expected_seq - 1 if count and expected_seq is not None else 0
    head = AuditHead.objects.filter(id=1).first()
    if head is not None and not count and head.seq:
        return False, count, f"the head says #{head.seq} but the chain is empty"
    if head is not None and count and head.seq != last_seq:
        return False, count, f"the head says #{head.seq} but the chain ends at #{last_seq}"
    if head is not None and count and head.hash != prev:
        return False, count, "the head hash does not match the last entry"
    problem = _end_problem(last_seq, given)
    if problem:
        return False, count, problem
    return True, count, ""


def _start_problem(first: AuditEntry, given: list["SignedCheckpoint"]) -> str:
    """'' when the entries before `first` were archived behind a signed checkpoint of its predecessor.

    A checkpoint alone is no licence to drop what precedes it (beat signs one every few minutes): the
    chain must also record the archive that ends there, as `audit_archive` does.
    """
    from .models import AuditCheckpoint

    before = first.seq - 1
    cut = f"the chain starts at #{first.seq}: entries were cut from its start (no archive behind a signed checkpoint"
    covering = [c for c in given if c.seq == before]
    stored = AuditCheckpoint.objects.filter(seq=before).first()
    if stored is not None:
        with contextlib.suppress(CheckpointError):  # verify_checkpoints names the bad row; it covers nothing here
            covering.append(checkpoint_read(stored.jws))
    if not any(c.seq == before and c.hash == first.prev_hash for c in covering):
        return f"{cut} covers entry #{before})"
    archived = AuditEntry.objects.filter(
        action="audit.archived", object_type="audit_checkpoint", object_id=str(before)
    ).exists()
    if not archived:
        return f"{cut}: entry #{before} is signed but was never archived)"
    return ""


def _end_problem(last_seq: int, given: list["SignedCheckpoint"]) -> str:
    """'' unless the chain stops before a checkpoint it knows of (its tail deleted, the head rewound)."""
    from django.db.models import Max

    from .models import AuditCheckpoint

    known = [AuditCheckpoint.objects.aggregate(top=Max("seq"))["top"] or 0, *(c.seq for c in given)]
    beyond = max(known)
    if beyond > last_seq:
        return f"the chain stops at #{last_seq} before the signed checkpoint #{beyond}: entries were cut from its end"
    return ""


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
        checkpoint = AuditCheckpoint.objects.create(seq=head.seq, hash=head.hash, jws=jws)
        checkpoint_publish(checkpoint)
        return checkpoint


def checkpoint_publish(checkpoint) -> None:
    """Once committed, write the signed checkpoint to the log stream as one JSON line.

    Whoever can cut the tables can delete the checkpoint rows too; the copy in the logs survives and
    `audit_verify --checkpoint LINE` takes it back. After commit: a rolled back checkpoint is never logged.
    """
    line = json.dumps(
        {"event": CHECKPOINT_EVENT, "seq": checkpoint.seq, "hash": checkpoint.hash, "jws": checkpoint.jws},
        sort_keys=True,
        separators=(",", ":"),
    )
    transaction.on_commit(lambda: logger.info(line))


class CheckpointError(ValueError):
    """A checkpoint that cannot be trusted: unreadable, or not signed by a portal key."""


@dataclass(frozen=True)
class SignedCheckpoint:
    seq: int
    hash: str


def checkpoint_jws_from_text(text: str) -> str:
    """The JWS in what `audit_verify --checkpoint` was given: the logged JSON line, that line inside a JSON
    log record's message, a log line with a prefix before it, or the bare JWS."""
    text = (text or "").strip()
    if "{" not in text:
        return text
    try:
        found: Any = json.loads(text[text.index("{") :])
    except ValueError as exc:
        raise CheckpointError("--checkpoint is neither a JWS nor the JSON line the portal logged") from exc
    for _ in range(3):  # a log formatter may wrap the line as the record's message
        if isinstance(found, dict) and isinstance(found.get("jws"), str):
            return found["jws"]
        message = found.get("message") if isinstance(found, dict) else None
        try:
            found = json.loads(message) if isinstance(message, str) else message
        except ValueError:
            break
    raise CheckpointError("--checkpoint holds no signed checkpoint (no jws member)")


def checkpoint_read(jws: str) -> SignedCheckpoint:
    """What a checkpoint JWS names, once its signature verifies with a portal key; CheckpointError otherwise."""
    from .models import KeyOwner, SigningKey
    from .signing import JwsError, parse, signature_ok

    try:
        parsed = parse(jws, "checkpoint+json")
    except JwsError as exc:
        raise CheckpointError(f"not a checkpoint JWS: {exc.message}") from exc
    key = SigningKey.objects.filter(pk=parsed.kid, owner_kind=KeyOwner.PORTAL).first()
    if key is None or not signature_ok(parsed, key.x):
        raise CheckpointError("the checkpoint's signature does not verify with a portal key")
    payload = parsed.payload
    seq, digest = payload.get("seq"), payload.get("hash")
    if payload.get("type") != "audit_checkpoint" or type(seq) is not int or seq < 1 or not isinstance(digest, str):
        raise CheckpointError("the signed document is not an audit checkpoint")
    return SignedCheckpoint(seq=seq, hash=digest)


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
