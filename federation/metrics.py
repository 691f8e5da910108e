"""Sync figures per peer for /metrics (registered in alliance.hooks under `metrics_collectors`)."""

from collections.abc import Iterable

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from .selectors import peer_figures


def peer_sync() -> Iterable[GaugeMetricFamily | CounterMetricFamily]:
    """Lag in seconds and objects, cursor, last success, objects applied, and left-out and refused objects by
    reason code, per peer (SPEC 10.2; the alert rules in deploy/ read `alliance_peer_sync_lag_seconds`)."""
    figures = peer_figures()
    lag_s = GaugeMetricFamily(
        "alliance_peer_sync_lag_seconds", "Seconds the peer's feed is ahead of us.", labels=["peer"]
    )
    lag_n = GaugeMetricFamily(
        "alliance_peer_sync_lag_objects", "Objects the peer's feed holds above our cursor.", labels=["peer"]
    )
    cursor = GaugeMetricFamily(
        "alliance_peer_sync_cursor", "Our cursor in the peer's federation feed.", labels=["peer"]
    )
    success = GaugeMetricFamily(
        "alliance_peer_sync_last_success_timestamp_seconds",
        "When a pull from the peer last succeeded.",
        labels=["peer"],
    )
    applied = CounterMetricFamily("alliance_peer_sync_applied", "Objects applied from the peer.", labels=["peer"])
    reasons = CounterMetricFamily(
        "alliance_peer_sync_objects_by_reason",
        "Objects left out for the peer (out) or refused from it (in), by reason code.",
        labels=["peer", "direction", "reason"],
    )
    for f in figures:
        lag_s.add_metric([f.peer], f.lag_seconds or 0)
        lag_n.add_metric([f.peer], f.lag_objects or 0)
        cursor.add_metric([f.peer], f.cursor or 0)
        if f.last_success_at is not None:
            success.add_metric([f.peer], f.last_success_at.timestamp())
        applied.add_metric([f.peer], f.applied or 0)
        for direction, counts in (("out", f.left_out), ("in", f.refused)):
            for reason, n in counts.items():
                reasons.add_metric([f.peer, direction, reason], n)
    yield from (lag_s, lag_n, cursor, success, applied, reasons)
