"""Cutting the audit chain short (SPEC section 9): entries removed from its start or its end, the head row
rewound to match, fail `audit_verify`, through the checkpoints in the database or the copy in the log stream.

The attacker here can write the tables directly: on SQLite nothing stops them, on PostgreSQL they disable the
append-only trigger as a superuser would."""

import io
import json
import logging
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from ports import audit
from ports.models import AuditCheckpoint, AuditEntry, AuditHead
from ports.signing import parse, sign_with_private_key

pytestmark = pytest.mark.django_db


def _verify(*args: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("audit_verify", *args, stdout=out, stderr=err)
    except SystemExit as exc:
        return exc.code, err.getvalue()
    return 0, out.getvalue()


def _entries(n: int) -> None:
    for i in range(n):
        audit.record("tester", "test.event", None, {"i": i}, object_type="test", object_id=str(i))


def _as_attacker(*statements: tuple[str, list]) -> None:
    """Write the audit tables directly, switching the PostgreSQL append-only trigger off for the duration."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE ports_auditentry DISABLE TRIGGER ports_auditentry_append_only")
        for sql, params in statements:
            cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE ports_auditentry ENABLE TRIGGER ports_auditentry_append_only")


def _cut_end_and_rewind(after_seq: int) -> None:
    """Delete every entry after `after_seq` and rewind the head row onto it, so the chain looks whole."""
    kept = AuditEntry.objects.get(seq=after_seq)
    _as_attacker(
        ("DELETE FROM ports_auditentry WHERE seq > %s", [after_seq]),
        ("UPDATE ports_audithead SET seq = %s, hash = %s WHERE id = 1", [kept.seq, kept.hash]),
    )


def _checkpoint_logged(caplog, django_capture_on_commit_callbacks) -> tuple[AuditCheckpoint, str]:
    """Sign a checkpoint of the head and return it with the line it wrote to the log stream."""
    caplog.set_level(logging.INFO, logger="ports.audit")
    caplog.clear()
    with django_capture_on_commit_callbacks(execute=True):
        checkpoint = audit.checkpoint_create()
    lines = [r.getMessage() for r in caplog.records if r.name == "ports.audit"]
    assert len(lines) == 1
    return checkpoint, lines[0]


def test_untouched_chain_passes_also_with_its_logged_checkpoint(ports, caplog, django_capture_on_commit_callbacks):
    _entries(5)
    checkpoint, line = _checkpoint_logged(caplog, django_capture_on_commit_callbacks)
    logged = json.loads(line)  # one JSON line holding the signed checkpoint
    assert logged["seq"] == checkpoint.seq
    assert logged["hash"] == checkpoint.hash
    assert logged["jws"] == checkpoint.jws
    _entries(2)
    code, text = _verify()
    assert code == 0
    assert "Audit chain OK" in text
    code, text = _verify("--checkpoint", line)
    assert code == 0
    assert "Audit chain OK" in text
    # The bare JWS, a worker's prefixed line, a JSON log record wrapping the line: all are taken.
    wrapped = json.dumps({"time": "2025-01-01T00:00:00Z", "level": "INFO", "logger": "ports.audit", "message": line})
    for given in (checkpoint.jws, f"[2025-01-01 00:00:00,000: INFO/ForkPoolWorker-1] {line}", wrapped):
        code, text = _verify("--checkpoint", given)
        assert code == 0
        assert "consistent with 1 given" in text


def test_first_entries_deleted_fail(ports):
    _entries(6)
    first_kept = 4
    _as_attacker(("DELETE FROM ports_auditentry WHERE seq < %s", [first_kept]))
    code, text = _verify()
    assert code == 1
    assert "cut from its start" in text
    assert f"#{first_kept - 1}" in text


def test_first_entries_deleted_up_to_a_periodic_checkpoint_fail(ports):
    """A checkpoint alone is no licence to drop what precedes it: only an archive is."""
    _entries(4)
    checkpoint = audit.checkpoint_create()
    _entries(3)
    _as_attacker(("DELETE FROM ports_auditentry WHERE seq <= %s", [checkpoint.seq]))
    code, text = _verify()
    assert code == 1
    assert "cut from its start" in text


def test_archived_prefix_moved_out_still_passes(ports, tmp_path):
    """The operator's way: archive behind a signed checkpoint, then move those entries out."""
    _entries(4)
    archive_path = tmp_path / "audit.jsonl"
    tomorrow = (timezone.now() + timedelta(days=1)).date().isoformat()
    call_command("audit_archive", "--before", tomorrow, "--out", str(archive_path), stdout=io.StringIO())
    last_archived = json.loads(archive_path.read_text().splitlines()[-1])["seq"]
    _entries(2)
    _as_attacker(("DELETE FROM ports_auditentry WHERE seq <= %s", [last_archived]))
    code, text = _verify()
    assert code == 0, text
    code, text = _verify("--archive", str(archive_path))
    assert code == 0, text


def test_last_entries_deleted_and_head_rewound_fail_with_the_logged_checkpoint(
    ports, caplog, django_capture_on_commit_callbacks
):
    _entries(5)
    cut_after = AuditEntry.objects.latest("seq").seq - 2
    checkpoint, line = _checkpoint_logged(caplog, django_capture_on_commit_callbacks)
    # The attacker also removes the database's copy of the checkpoint; the log stream keeps its own.
    AuditCheckpoint.objects.filter(pk=checkpoint.pk).delete()
    _cut_end_and_rewind(cut_after)
    code, text = _verify("--checkpoint", line)
    assert code == 1
    assert "cut from its end" in text
    assert f"#{cut_after}" in text
    assert f"#{checkpoint.seq}" in text


def test_last_entries_deleted_and_head_rewound_fail_with_a_checkpoint_in_the_database(ports):
    _entries(5)
    checkpoint = audit.checkpoint_create()
    _entries(3)
    _cut_end_and_rewind(checkpoint.seq - 1)
    code, text = _verify()
    assert code == 1
    assert "cut from its end" in text
    assert f"#{checkpoint.seq}" in text


def test_every_entry_deleted_and_head_kept_fail(ports):
    _entries(3)
    _as_attacker(("DELETE FROM ports_auditentry", []))
    assert AuditHead.objects.get(id=1).seq > 0
    code, text = _verify()
    assert code == 1
    assert "empty" in text


def test_logged_checkpoint_must_match_the_chain(ports, caplog, django_capture_on_commit_callbacks):
    """The attacker rewrites the tail with recomputed hashes: the logged checkpoint names another entry."""
    _entries(3)
    checkpoint, line = _checkpoint_logged(caplog, django_capture_on_commit_callbacks)
    AuditCheckpoint.objects.filter(pk=checkpoint.pk).delete()
    _cut_end_and_rewind(checkpoint.seq - 1)
    for i in range(3):  # a fresh, internally consistent tail over the same sequence numbers
        audit.record("tester", "test.forged", None, {"i": i})
    code, text = _verify()
    assert code == 0  # nothing in the database can tell
    code, text = _verify("--checkpoint", line)
    assert code == 1
    assert f"entry #{checkpoint.seq}" in text
    assert "checkpoint" in text


def test_forged_checkpoint_is_refused(ports, caplog, django_capture_on_commit_callbacks):
    _entries(3)
    checkpoint, line = _checkpoint_logged(caplog, django_capture_on_commit_callbacks)
    kid = parse(checkpoint.jws, "checkpoint+json").kid  # the portal's own kid, with another key's signature
    document = {"type": "audit_checkpoint", "seq": checkpoint.seq + 50, "hash": "a" * 64, "created_at": "x"}
    forged = sign_with_private_key(document, Ed25519PrivateKey.generate(), kid, "checkpoint+json")
    for given in (forged, json.dumps({"event": "audit.checkpoint", "seq": checkpoint.seq + 50, "jws": forged})):
        code, text = _verify("--checkpoint", given)
        assert code == 1
        assert "signature" in text
        assert "portal" in text
    code, text = _verify("--checkpoint", "not a checkpoint")
    assert code == 1
    assert "--checkpoint" in text
