"""Archiving the audit log behind a signed checkpoint (SPEC section 9: audit entries are never deleted).

`archive_write` exports the entries up to the last one before a date, ending at a portal-signed checkpoint
of that entry (created if none exists), as JSON lines: a header, the entries, then the checkpoint with its
JWS. `archive_verify` recomputes the file's chain and checks that it ends exactly at that checkpoint and that
the signature verifies with a portal key. The entries stay in the database (PostgreSQL refuses to delete
them); an operator may move old partitions of the table out only after archiving them this way.
"""

import json
import os
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import cast

from django.db import IntegrityError, transaction
from django.utils import timezone

from . import audit
from .models import AuditCheckpoint, AuditEntry, KeyOwner, SigningKey

ARCHIVE_TYPE = "audit_archive"


@dataclass(frozen=True)
class Archive:
    path: Path
    first_seq: int
    last_seq: int
    checkpoint: AuditCheckpoint

    @property
    def entries(self) -> int:
        return self.last_seq - self.first_seq + 1


def checkpoint_at(entry: AuditEntry) -> AuditCheckpoint:
    """The signed checkpoint of this entry: the existing one, or a new one signed with the portal key."""
    from .services import portal_key_ensure
    from .signing import rfc3339, sign

    existing = AuditCheckpoint.objects.filter(seq=entry.seq).first()
    if existing is not None:
        return existing
    key = portal_key_ensure()
    document = {"type": "audit_checkpoint", "seq": entry.seq, "hash": entry.hash, "created_at": rfc3339(timezone.now())}
    try:
        with transaction.atomic():
            checkpoint = AuditCheckpoint.objects.create(
                seq=entry.seq, hash=entry.hash, jws=sign(document, key, "checkpoint+json")
            )
            audit.checkpoint_publish(checkpoint)
            return checkpoint
    except IntegrityError:  # signed at the same moment by someone else: theirs is as good
        return AuditCheckpoint.objects.get(seq=entry.seq)


def _entry_line(entry: AuditEntry) -> dict:
    return {
        "type": "entry",
        "seq": entry.seq,
        "at": audit._timestamp(entry.at),  # the exact string the hash covers
        "actor": entry.actor,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "data": entry.data,
        "prev_hash": entry.prev_hash,
        "hash": entry.hash,
    }


def archive_write(*, before: date, out: Path) -> Archive:
    """Write the entries before `before` (00:00 UTC) still in the database, ending at a signed checkpoint."""
    limit = datetime.combine(before, time.min, tzinfo=UTC)
    last = AuditEntry.objects.filter(at__lt=limit).order_by("-seq").first()
    if last is None:
        raise ValueError(f"no audit entry before {before.isoformat()}")
    first_seq = cast(int, AuditEntry.objects.order_by("seq").values_list("seq", flat=True).first())  # `last` is there
    checkpoint = checkpoint_at(last)
    key = SigningKey.objects.get(pk=_kid(checkpoint.jws))
    out = Path(out)
    partial = out.with_name(out.name + ".partial")
    with partial.open("w", encoding="utf-8") as fh:
        header = {
            "type": ARCHIVE_TYPE,
            "before": before.isoformat(),
            "first_seq": first_seq,
            "last_seq": last.seq,
            "written_at": audit._timestamp(timezone.now()),
        }
        fh.write(json.dumps(header, sort_keys=True) + "\n")
        entries = AuditEntry.objects.filter(seq__lte=last.seq).order_by("seq")
        for entry in entries.iterator(chunk_size=2000):
            fh.write(json.dumps(_entry_line(entry), sort_keys=True, ensure_ascii=False) + "\n")
        # The public key travels with the file for verifiers outside the portal; the portal checks its own.
        line = {"type": "checkpoint", "seq": checkpoint.seq, "hash": checkpoint.hash, "jws": checkpoint.jws}
        fh.write(json.dumps({**line, "kid": key.kid, "x": key.x}, sort_keys=True) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    partial.replace(out)
    audit.record(
        None,
        "audit.archived",
        data={"before": before.isoformat(), "first_seq": first_seq, "last_seq": last.seq, "file": out.name},
        object_type="audit_checkpoint",
        object_id=str(checkpoint.seq),
    )
    return Archive(out, first_seq, last.seq, checkpoint)


def _kid(jws: str) -> str:
    from .signing import parse

    return parse(jws, "checkpoint+json").kid


def _checkpoint_problem(seq: int, digest: str, jws: str) -> str:
    """'' when `jws` is a portal-signed checkpoint of entry `seq` with hash `digest`."""
    from .signing import JwsError, parse, signature_ok

    try:
        parsed = parse(jws, "checkpoint+json")
    except JwsError as exc:
        return f"checkpoint #{seq}: {exc.message}"
    key = SigningKey.objects.filter(pk=parsed.kid, owner_kind=KeyOwner.PORTAL).first()
    if key is None or not signature_ok(parsed, key.x):
        return f"checkpoint #{seq}: signature does not verify with a portal key"
    if parsed.payload.get("type") != "audit_checkpoint":
        return f"checkpoint #{seq}: not an audit checkpoint"
    if parsed.payload.get("seq") != seq or parsed.payload.get("hash") != digest:
        return f"checkpoint #{seq}: the signed content names another entry"
    return ""


def archive_verify(path: Path) -> tuple[bool, int, str]:
    """(ok, entries checked, first problem): the file's chain is intact and ends exactly at its signed checkpoint."""
    try:
        lines = [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
    except (OSError, ValueError) as exc:
        return False, 0, f"unreadable archive: {exc}"
    if not lines or lines[0].get("type") != ARCHIVE_TYPE:
        return False, 0, "not an audit archive (no header line)"
    body, tail = lines[1:-1], lines[-1] if len(lines) > 1 else {}
    if tail.get("type") != "checkpoint":
        return False, 0, "the archive does not end with its signed checkpoint"
    if not body or any(line.get("type") != "entry" for line in body):
        return False, 0, "the archive holds no entries, or something other than entries before its checkpoint"
    count = 0
    first = body[0]
    if first.get("seq") == 1:
        prev = audit.GENESIS
    else:
        # An earlier archive ended at a signed checkpoint of the entry just before this one.
        before = AuditCheckpoint.objects.filter(seq=first.get("seq", 0) - 1).first()
        if before is None or _checkpoint_problem(before.seq, before.hash, before.jws):
            return False, 0, f"entry #{first.get('seq')} follows no signed checkpoint"
        prev = before.hash
    expected = first.get("seq")
    for line in body:
        try:
            seq, digest = line["seq"], line["hash"]
            fields = (line["at"], line["actor"], line["action"], line["object_type"], line["object_id"], line["data"])
        except KeyError as exc:
            return False, count, f"entry after #{expected - 1} lacks {exc}"
        if seq != expected:
            return False, count, f"entry #{expected} is missing (next is #{seq})"
        if line.get("prev_hash") != prev:
            return False, count, f"entry #{seq} does not link to the previous entry"
        if audit.entry_hash(prev, seq, *fields) != digest:
            return False, count, f"entry #{seq} was altered (hash mismatch)"
        prev, expected, count = digest, seq + 1, count + 1
    last_seq = expected - 1
    if tail.get("seq") != last_seq or tail.get("hash") != prev:
        return False, count, f"the chain ends at #{last_seq}, not at the signed checkpoint #{tail.get('seq')}"
    problem = _checkpoint_problem(last_seq, prev, tail.get("jws", ""))
    if problem:
        return False, count, problem
    # The live record must agree where it still holds the same entry or checkpoint.
    live = AuditEntry.objects.filter(seq=last_seq).values_list("hash", flat=True).first()
    if live is not None and live != prev:
        return False, count, f"entry #{last_seq} in the database differs from the archive"
    stored = AuditCheckpoint.objects.filter(seq=last_seq).values_list("hash", flat=True).first()
    if stored is not None and stored != prev:
        return False, count, f"the database's checkpoint #{last_seq} differs from the archive"
    return True, count, ""
