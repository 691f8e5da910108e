"""A scanner node: its keys, its queue and the portal, and the rules that tie them together.

Delivery: scans wait in the queue until the portal has answered for each of them. Anything that leaves
the outcome unknown (network, timeout, 5xx, 429, 401, a lost answer) leaves them pending, and the next
attempt sends the same canonical bytes again: the portal stores a (node, scan_id) once and answers
`duplicate` to an identical re-send, so each scan is stored exactly once however often it is sent.
Only the portal's definite refusal of a document (a result `rejected` with `invalid_document`,
`conflict`...) takes it out of the pending set, and it stays on disk with the reasons.

Key rotation (`rotate_key`): the new key is written to disk (fsync'd) *before* it is registered; it
replaces the old one only once the portal has confirmed it. An interrupted rotation leaves
`node.key.next` behind, and the next command that reaches the portal resolves it
(`resolve_rotation`) from what the portal says is the node's active key: the pending key is active
(registered, answer lost) -> keep it; the old key is still active -> register the pending key now, or
drop it if the portal refuses it. So one of the two files always holds a key the portal accepts.
"""

import contextlib
import fcntl
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from . import signing
from .keystore import KeyStore
from .portal import BATCH_MAX, Portal, Refused, TooLarge, Unavailable
from .queue import Queue


class KeyProblem(RuntimeError):
    """The portal does not accept this node's key: scans stay queued until an operator acts."""


class NotConfigured(RuntimeError):
    pass


def kid(key: Ed25519PrivateKey) -> str:
    return signing.kid_of(signing.public_x(key))


@dataclass
class Delivery:
    sent: int = 0
    created: int = 0
    duplicate: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)
    busy: bool = False
    rotation: str | None = None


@dataclass
class Backoff:
    """Exponential backoff with jitter, without an end: a scan is never given up on."""

    minimum: float = 1.0
    maximum: float = 300.0
    failures: int = 0

    def next_delay(self, retry_after: float | None = None) -> float:
        self.failures += 1
        ceiling = min(self.maximum, self.minimum * 2 ** min(self.failures - 1, 32))
        delay = random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not a secret
        return max(delay, retry_after or 0.0)

    def reset(self) -> None:
        self.failures = 0


class Node:
    def __init__(
        self,
        home: Path,
        *,
        url: str | None = None,
        token: str | None = None,
        timeout: float = 30.0,
        batch_size: int = BATCH_MAX,
        unconfigured: str | None = None,
    ):
        self.home = home
        self._unconfigured = unconfigured
        self.keys = KeyStore(home)
        self.queue = Queue(home / "queue.sqlite3")
        self.portal = Portal(url, token, timeout=timeout) if url and token else None
        self.batch_size = max(1, min(batch_size, BATCH_MAX))
        self._lock_path = home / "node.lock"

    def close(self) -> None:
        self.queue.close()
        if self.portal is not None:
            self.portal.close()

    def _portal(self) -> Portal:
        if self.portal is None:
            if self._unconfigured:
                raise NotConfigured(self._unconfigured)
            raise NotConfigured(
                "the portal URL and the node token are needed: set ALLIANCE_SCANNER_URL (or --url) and "
                "ALLIANCE_SCANNER_TOKEN or a token file (ALLIANCE_SCANNER_TOKEN_FILE, --token-file, or HOME/token)"
            )
        return self.portal

    def _me(self) -> dict[str, Any]:
        """GET /api/v1/nodes/me/, remembering the node id so that documents naming another node are
        refused when they are queued rather than by the portal later."""
        me = self._portal().me()
        if isinstance(me.get("node"), str) and self.queue.get_meta("node") != me["node"]:
            self.queue.set_meta({"node": me["node"]})
        return me

    @contextlib.contextmanager
    def lock(self, *, wait: bool) -> Iterator[bool]:
        """One process at a time delivers or rotates (an advisory lock next to the queue). Enqueueing
        needs no lock: SQLite serialises writers."""
        fd = open(self._lock_path, "a+")  # noqa: SIM115 - held for the with-block
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            fd.close()

    # ------------------------------------------------------------ queueing

    def enqueue(self, documents: list[Any]) -> dict[str, Any]:
        """Queue every valid document of a file in one transaction; the invalid ones are reported by index."""
        good: list[tuple[str, bytes]] = []
        invalid: list[dict[str, Any]] = []
        seen: dict[str, bytes] = {}
        node_id = self.queue.get_meta("node")  # known once the portal has been reached
        for index, document in enumerate(documents):
            try:
                scan_id, payload = signing.scan_payload(document, node=node_id)
            except signing.DocumentError as exc:
                invalid.append({"index": index, "error": str(exc)})
                continue
            if scan_id in seen:
                if seen[scan_id] != payload:
                    invalid.append(
                        {"index": index, "error": f"scan_id {scan_id!r} appears twice with different content"}
                    )
                continue
            seen[scan_id] = payload
            good.append((scan_id, payload))
        counts = self.queue.enqueue(good) if good else {"added": 0, "known": 0}
        return {**counts, "invalid": invalid, "scan_ids": [s for s, _ in good]}

    # ------------------------------------------------------------ rotation

    def resolve_rotation(self) -> str | None:
        """Finish or roll back a rotation an earlier run left behind (see the module docstring)."""
        pending = self.keys.pending()
        if pending is None:
            return None
        portal = self._portal()
        current = self.keys.active()
        me = self._me()
        active = (me.get("key") or {}).get("kid")
        if active == kid(pending):
            self.keys.promote_pending()
            return f"rotation finished: {kid(pending)} was registered; it is now the node's key"
        if active != kid(current):
            raise KeyProblem(
                f"the portal's active key for node {me.get('node')} is {active!r}, neither this node's key "
                f"{kid(current)} nor the pending {kid(pending)}; both files are kept. Have the agency register "
                "one of them again."
            )
        try:
            portal.register_key(node=me["node"], current=current, new_x=signing.public_x(pending))
        except Refused as exc:
            # A registration still in flight from the interrupted run could have landed meanwhile.
            if (portal.me().get("key") or {}).get("kid") == kid(pending):
                self.keys.promote_pending()
                return f"rotation finished: {kid(pending)} is the node's key"
            self.keys.discard_pending()
            return f"rotation rolled back (the portal refused the new key: {exc}); {kid(current)} stays in use"
        self.keys.promote_pending()
        return f"rotation finished: {kid(pending)} registered now; it is the node's key"

    def rotate_key(self) -> dict[str, Any]:
        portal = self._portal()
        with self.lock(wait=True):
            earlier = self.resolve_rotation()
            current = self.keys.active()
            me = self._me()
            active = (me.get("key") or {}).get("kid")
            if active != kid(current):
                raise KeyProblem(f"this node's key {kid(current)} is not its active key at the portal ({active!r})")
            new = Ed25519PrivateKey.generate()
            self.keys.store_pending(new)  # on disk before the portal hears of it
            try:
                portal.register_key(node=me["node"], current=current, new_x=signing.public_x(new))
            except Refused:
                self.keys.discard_pending()  # a definite no: the old key is still the active one
                raise
            # Unavailable propagates with node.key.next in place: the next run resolves it.
            self.keys.promote_pending()
            return {"old_kid": kid(current), "kid": kid(new), "earlier": earlier}

    # ------------------------------------------------------------ delivery

    def deliver(self, *, wait_for_lock: bool = False) -> Delivery:
        """Send everything pending, in batches, until the queue is empty or something fails (raised:
        Unavailable, Refused, KeyProblem). Items stay pending on every failure."""
        portal = self._portal()
        report = Delivery()
        with self.lock(wait=wait_for_lock) as locked:
            if not locked:
                report.busy = True  # another process is delivering; it will take these too
                return report
            report.rotation = self.resolve_rotation()
            if self.queue.get_meta("node") is None and self.queue.counts()["pending"]:
                self._me()  # once, on first contact: which node this is
            key = self.keys.active()
            while True:
                items = self.queue.pending(self.batch_size)
                if not items:
                    break
                seqs = [i.seq for i in items]
                jws = [signing.sign_payload(i.payload, key, signing.SCAN_TYP) for i in items]
                try:
                    results = portal.batch(jws)
                except TooLarge:
                    if len(items) == 1:
                        self.queue.attempted(seqs, "a single scan is too large for the portal or its proxy")
                        raise
                    self.batch_size = max(1, len(items) // 2)
                    continue
                except Refused as exc:
                    if exc.status == 400 and "items" in exc.errors and len(items) > 1:
                        # The portal's batch limit is lower than ours: smaller batches, same items.
                        self.batch_size = max(1, len(items) // 2)
                        continue
                    self.queue.attempted(seqs, str(exc))
                    raise
                except Unavailable as exc:
                    self.queue.attempted(seqs, str(exc))
                    raise
                report.sent += len(items)
                key_refused = [i.seq for i, r in zip(items, results, strict=True) if r.get("code") == "key_not_active"]
                outcomes = [
                    (i.seq, r) for i, r in zip(items, results, strict=True) if r.get("code") != "key_not_active"
                ]
                self.queue.record(outcomes)
                for item, result in zip(items, results, strict=True):
                    status = result.get("status")
                    if status == "created":
                        report.created += 1
                    elif status == "duplicate":
                        report.duplicate += 1
                    elif result.get("code") != "key_not_active":
                        report.rejected.append(
                            {"scan_id": item.scan_id, "code": result.get("code"), "errors": result.get("errors")}
                        )
                if key_refused:
                    self.queue.attempted(key_refused, "key_not_active")
                    raise KeyProblem(
                        f"the portal does not take key {kid(key)} as this node's active key; scans stay queued "
                        "(has the agency revoked it or registered another?)"
                    )
            if self.queue.get_meta("failures", "0") not in ("0", ""):
                # Written on a change only: an idle node does not rewrite its flash every poll.
                self.queue.set_meta({"failures": "0", "last_error": "", "next_attempt_at": ""})
        return report

    def run(
        self,
        *,
        stop: threading.Event,
        poll: float = 2.0,
        backoff: Backoff | None = None,
        log: Any = print,
        prune_after: float | None = None,
    ) -> None:
        """Deliver forever: poll the queue, back off on failure (never giving up), stop on `stop`."""
        backoff = backoff or Backoff()
        last_prune = 0.0
        while not stop.is_set():
            try:
                report = self.deliver()
            except (Unavailable, Refused, KeyProblem) as exc:
                delay = self.next_delay(backoff, exc)
                log(f"delivery failed ({exc}); retrying in {delay:.1f}s")
                stop.wait(delay)
                continue
            if backoff.failures:
                log("portal reachable again")
            backoff.reset()
            if report.rotation:
                log(report.rotation)
            if report.sent:
                log(
                    f"delivered {report.created} new, {report.duplicate} already stored, {len(report.rejected)} rejected"
                )
            if prune_after is not None and time.monotonic() - last_prune > 3600:
                self.queue.prune(prune_after)
                last_prune = time.monotonic()
            stop.wait(poll)

    def next_delay(self, backoff: Backoff, exc: Exception) -> float:
        delay = backoff.next_delay(getattr(exc, "retry_after", None))
        self.queue.set_meta(
            {"failures": str(backoff.failures), "last_error": str(exc), "next_attempt_at": str(time.time() + delay)}
        )
        return delay

    # ------------------------------------------------------------ status

    def status(self) -> dict[str, Any]:
        queue: dict[str, Any] = dict(self.queue.counts())
        queue["oldest_pending"] = self.queue.oldest_pending()
        queue["consecutive_failures"] = int(self.queue.get_meta("failures", "0") or 0)
        queue["last_error"] = self.queue.get_meta("last_error") or None
        pending_key = self.keys.pending()
        key: dict[str, Any] = {
            "kid": kid(self.keys.active()) if self.keys.has_active() else None,
            "pending_rotation": kid(pending_key) if pending_key else None,
        }
        portal: dict[str, Any]
        try:
            with self.lock(wait=False) as locked:
                if locked and pending_key is not None:
                    try:
                        key["resolved"] = self.resolve_rotation()
                        key["kid"], key["pending_rotation"] = kid(self.keys.active()), None
                    except (KeyProblem, Refused) as exc:
                        key["problem"] = str(exc)
            me = self._me()
            portal = {"reachable": True, **me}
            portal["key_matches"] = (me.get("key") or {}).get("kid") == key["kid"]
        except (Unavailable, Refused, NotConfigured) as exc:
            portal = {"reachable": False, "error": str(exc)}
        return {"queue": queue, "key": key, "portal": portal}
