"""The relay's state for /metrics (registered in alliance.hooks under `metrics_collectors`)."""

from collections.abc import Iterable

from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily

from .models import ScanOutbox


def relay_backlog() -> Iterable[GaugeMetricFamily]:
    """Outbox rows not yet relayed and the age of the oldest: one query on the pending rows' partial index."""
    pending = ScanOutbox.objects.filter(processed_at__isnull=True).aggregate(
        count=Count("pk"), oldest=Min("created_at")
    )
    backlog = GaugeMetricFamily("alliance_relay_backlog", "Scans accepted and not yet relayed (outbox rows pending).")
    backlog.add_metric([], pending["count"] or 0)
    yield backlog
    oldest = pending["oldest"]
    age = GaugeMetricFamily(
        "alliance_relay_oldest_pending_seconds", "Age of the oldest scan waiting for its relay (0 when none waits)."
    )
    age.add_metric([], (timezone.now() - oldest).total_seconds() if oldest else 0.0)
    yield age
