"""Every cross-app hook, in one place and in the order it runs.

The apps below the hooks (scans, sharing) must not import the apps above them
(correlation, trends, webhooks), yet a relay, an outcome or a publish must
reach them. Each hook is named here by dotted path and resolved on first
use, so the order is written down once and no app appends to another app's
list from `ready()` in INSTALLED_APPS order.

| point | when it runs | arguments |
|---|---|---|
| `relay_in_transaction` | inside the relay transaction, once per claimed batch | the relayed `Scan` rows |
| `after_relay` | after the relay transaction commits | new delivery ids, relayed scan ids |
| `outcome_recorded` | inside the outcome transaction | the `InspectionOutcome` |
| `scan_integrity_changed` | inside the verifier's marking transaction | newly failed ids, cleared ids |
| `alert_published` | inside the publishing transaction of an alert version | the `Alert` |
| `practice_published` | inside the publishing transaction of a practice version | the `Practice` |
| `copies_stored` | inside federation's page transaction, once per kind and run of a page | the kind (`alert`, `practice`), the head rows that changed, the version rows that became the head, in order |
| `feedback_submitted` | inside the feedback transaction (a local report, not a received copy) | the `Feedback` |
| `purging` | inside a retention batch transaction, before the rows go | the kind (`alerts`, ...), the ids |
| `verifiers` | `verify_signatures` (command and beat task), in order | `mark=` keyword |
| `metrics_collectors` | at each `GET /metrics` scrape, each on its own (alliance.metrics) | none; returns metric families |
"""

from collections.abc import Callable
from functools import cache
from typing import Any

from django.utils.module_loading import import_string

HOOKS: dict[str, tuple[str, ...]] = {
    # Correlation first: its notices and one-sided hits land in the same transaction as the deliveries;
    # then the rollups count the scan (once, as relayed).
    "relay_in_transaction": (
        "correlation.services.correlate_scans",
        "trends.services.rollups.on_relay",
        # ---- interop (TAXII feed): announce the relayed scans in the relay transaction (numbered after commit)
        "interop.services.on_relay",
    ),
    # After commit: an attempt per new delivery and active endpoint of its agency.
    "after_relay": ("webhooks.services.on_relayed",),
    "outcome_recorded": (
        "trends.services.rollups.on_outcome",
        "interop.services.on_outcome",  # ---- interop (TAXII feed)
    ),
    # A scan the verifier finds invalid stops counting (and counts again once found valid).
    "scan_integrity_changed": ("trends.services.rollups.on_integrity_change",),
    # Container matches are found in the publishing transaction: a notice lands with its alert or not at all.
    "alert_published": (
        "correlation.services.correlate_alert",
        "interop.services.on_alert_published",  # ---- interop (TAXII feed)
        "federation.services.on_alert_published",  # ---- federation: offer to peers, or tombstone, or count why not
    ),
    # ---- interop (TAXII feed): every practice version is announced in its publishing transaction.
    "practice_published": (
        "interop.services.on_practice_published",
        "federation.services.on_practice_published",  # ---- federation
    ),
    # ---- federation: a page of copies from a peer, stored in bulk; what `alert_published` and `practice_published`
    # do for a local version, for the page at once (copies are never offered onwards, so federation is not here).
    "copies_stored": (
        "correlation.services.correlate_copies",
        "interop.services.on_copies_stored",
    ),
    # ---- feedback (signed): announced in the feed, offered to the alert's home instance when it is a peer.
    "feedback_submitted": ("interop.services.on_feedback",),
    # ---- federation: a retention purge leaves tombstones at the peers that held what goes.
    "purging": ("federation.services.on_purge",),
    "verifiers": (
        "sharing.integrity.verify_documents",
        "scans.integrity.verify_scans",
    ),
    # ---- operations (metrics): states read at scrape time. A plain function returning prometheus_client
    # metric families or {"name", "help", "type", "samples"} mappings; see alliance.metrics.
    "metrics_collectors": (
        "scans.metrics.relay_backlog",
        "webhooks.metrics.delivery_states",
        "alliance.metrics.queue_lengths",
        "alliance.metrics.heartbeats",
        "federation.metrics.peer_sync",
    ),
}


@cache
def hooks(point: str) -> tuple[Callable[..., Any], ...]:
    """The callables registered for `point`, in order."""
    return tuple(import_string(path) for path in HOOKS[point])


def run(point: str, *args: Any, **kwargs: Any) -> list[Any]:
    """Call every hook of `point` in order; a hook's exception propagates (it shares the caller's transaction)."""
    return [hook(*args, **kwargs) for hook in hooks(point)]
