"""The store-and-forward queue: SQLite in WAL mode with synchronous=FULL, so a scan the command said it
queued survives a crash or a power cut, and several processes (a `run` daemon and `push` calls from the
scanner software) share it safely.

A scan row keeps the RFC 8785 payload bytes, never a JWS: it is signed when it is sent, with the key
active at that moment, so a rotation never strands queued scans behind a retired key. Re-sending the
same bytes is how delivery stays exactly-once from the portal's point of view: the portal keys scans on
(node, scan_id) and answers `duplicate` to an identical payload. Rows are never deleted by delivery
code; `prune` removes delivered rows older than a retention the operator chooses.

States: `pending` (to send, whatever happened so far), `delivered` (the portal answered created or
duplicate), `rejected` (the portal refused the document itself; kept with its code and errors, sent
again only after `requeue`).
"""

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS scans (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    scan_id TEXT NOT NULL UNIQUE,
    payload BLOB NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'rejected')),
    enqueued_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_attempt_at REAL,
    last_error TEXT,
    done_at REAL,
    result TEXT,
    portal_id TEXT,
    code TEXT,
    errors TEXT
);
CREATE INDEX IF NOT EXISTS scans_state_seq ON scans (state, seq);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class QueueConflict(ValueError):
    """The scan_id is already queued or delivered with another payload: the portal would answer 409."""


@dataclass
class Item:
    seq: int
    scan_id: str
    payload: bytes


class Queue:
    def __init__(self, path: Path):
        self.path = path
        # 0600 from the start: the queue holds what the scanner saw.
        path.touch(mode=0o600, exist_ok=True)
        self.db = sqlite3.connect(path, timeout=30, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")  # WAL with NORMAL may lose the last commits on power loss
        self.db.execute("PRAGMA busy_timeout=30000")
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        # BEGIN IMMEDIATE: two processes enqueueing the same scan_id serialise on the write lock.
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # ------------------------------------------------------------ enqueue

    def enqueue(self, items: list[tuple[str, bytes]]) -> dict[str, int]:
        """Queue (scan_id, payload) pairs in one transaction. An identical pair already queued or
        delivered is a no-op (so a file can be fed twice); a scan_id known with other bytes is a
        QueueConflict and nothing of the call is kept."""
        added = known = 0
        now = time.time()
        with self._write() as db:
            for scan_id, payload in items:
                row = db.execute("SELECT payload FROM scans WHERE scan_id = ?", (scan_id,)).fetchone()
                if row is not None:
                    if bytes(row[0]) != payload:
                        raise QueueConflict(f"scan {scan_id!r} is already queued with a different payload")
                    known += 1
                    continue
                db.execute(
                    "INSERT INTO scans (scan_id, payload, enqueued_at) VALUES (?, ?, ?)", (scan_id, payload, now)
                )
                added += 1
        return {"added": added, "known": known}

    # ------------------------------------------------------------ delivery

    def pending(self, limit: int) -> list[Item]:
        rows = self.db.execute(
            "SELECT seq, scan_id, payload FROM scans WHERE state = 'pending' ORDER BY seq LIMIT ?", (limit,)
        ).fetchall()
        return [Item(seq, scan_id, bytes(payload)) for seq, scan_id, payload in rows]

    def attempted(self, seqs: list[int], error: str) -> None:
        now = time.time()
        with self._write() as db:
            db.executemany(
                "UPDATE scans SET attempts = attempts + 1, last_attempt_at = ?, last_error = ? "
                "WHERE seq = ? AND state = 'pending'",
                [(now, error, seq) for seq in seqs],
            )

    def record(self, outcomes: list[tuple[int, dict[str, Any]]]) -> None:
        """The portal's answer per item: created/duplicate are delivered, rejected items keep their reasons."""
        now = time.time()
        with self._write() as db:
            for seq, result in outcomes:
                status = result.get("status")
                if status in ("created", "duplicate"):
                    db.execute(
                        "UPDATE scans SET state = 'delivered', attempts = attempts + 1, last_attempt_at = ?, "
                        "done_at = ?, result = ?, portal_id = ?, last_error = NULL WHERE seq = ?",
                        (now, now, status, result.get("id"), seq),
                    )
                else:
                    db.execute(
                        "UPDATE scans SET state = 'rejected', attempts = attempts + 1, last_attempt_at = ?, "
                        "done_at = ?, result = 'rejected', code = ?, errors = ? WHERE seq = ?",
                        (now, now, result.get("code"), json.dumps(result.get("errors") or {}), seq),
                    )

    def requeue(self, scan_ids: list[str] | None) -> int:
        with self._write() as db:
            if scan_ids is None:
                cursor = db.execute("UPDATE scans SET state = 'pending', done_at = NULL WHERE state = 'rejected'")
            else:
                cursor = db.executemany(
                    "UPDATE scans SET state = 'pending', done_at = NULL WHERE state = 'rejected' AND scan_id = ?",
                    [(s,) for s in scan_ids],
                )
            return cursor.rowcount

    def prune(self, older_than_seconds: float) -> int:
        """Forget delivered rows past the retention. Safe for exactly-once: a pruned scan fed again is
        queued again and the portal answers `duplicate`."""
        with self._write() as db:
            cursor = db.execute(
                "DELETE FROM scans WHERE state = 'delivered' AND done_at < ?", (time.time() - older_than_seconds,)
            )
            return cursor.rowcount

    # ------------------------------------------------------------ reading

    def counts(self) -> dict[str, int]:
        counts = {"pending": 0, "delivered": 0, "rejected": 0}
        for state, n in self.db.execute("SELECT state, COUNT(*) FROM scans GROUP BY state"):
            counts[state] = n
        return counts

    def oldest_pending(self) -> dict[str, Any] | None:
        row = self.db.execute(
            "SELECT scan_id, enqueued_at, attempts, last_error FROM scans WHERE state = 'pending' ORDER BY seq LIMIT 1"
        ).fetchone()
        if row is None:
            return None
        return {"scan_id": row[0], "enqueued_at": row[1], "attempts": row[2], "last_error": row[3]}

    def rejected(self, limit: int = 100) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT scan_id, code, errors, done_at FROM scans WHERE state = 'rejected' ORDER BY seq LIMIT ?", (limit,)
        ).fetchall()
        return [{"scan_id": s, "code": c, "errors": json.loads(e or "{}"), "rejected_at": d} for s, c, e, d in rows]

    def item(self, scan_id: str) -> dict[str, Any] | None:
        row = self.db.execute(
            "SELECT scan_id, state, attempts, result, portal_id, code, errors, last_error FROM scans WHERE scan_id = ?",
            (scan_id,),
        ).fetchone()
        if row is None:
            return None
        keys = ("scan_id", "state", "attempts", "result", "portal_id", "code", "errors", "last_error")
        item = dict(zip(keys, row, strict=True))
        item["errors"] = json.loads(item["errors"] or "{}")
        return item

    # ------------------------------------------------------------ meta (backoff state shared by processes)

    def get_meta(self, name: str, default: str | None = None) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return row[0] if row else default

    def set_meta(self, values: dict[str, str]) -> None:
        with self._write() as db:
            db.executemany(
                "INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                list(values.items()),
            )
