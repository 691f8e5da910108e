"""Webhook deliveries' state for /metrics (registered in alliance.hooks under `metrics_collectors`)."""

from collections.abc import Iterable

from django.db.models import Count
from prometheus_client.core import GaugeMetricFamily

from .models import State, WebhookDelivery


def delivery_states() -> Iterable[GaugeMetricFamily]:
    """Dead letters waiting for a replay, and sends failing and still retried (one grouped count)."""
    counts = dict(
        WebhookDelivery.objects.filter(state__in=(State.DEAD, State.FAILED))
        .values_list("state")
        .annotate(n=Count("pk"))
        .values_list("state", "n")
        .order_by()
    )
    dead = GaugeMetricFamily("alliance_webhook_dead_letters", "Webhook sends given up on (dead letters to replay).")
    dead.add_metric([], counts.get(State.DEAD, 0))
    yield dead
    failing = GaugeMetricFamily("alliance_webhook_retrying", "Webhook sends that failed and will be retried.")
    failing.add_metric([], counts.get(State.FAILED, 0))
    yield failing
