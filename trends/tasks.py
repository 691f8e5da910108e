"""Trends tasks. Each is safe to run twice (flags are upserted by identity)."""

from celery import shared_task


@shared_task(name="trends.detect_displacement", acks_late=True, time_limit=900, soft_time_limit=840)
def detect_displacement(since: str | None = None) -> dict:
    """Beat (daily) and on demand: one detection run; `since` (YYYY-MM-DD) limits the tightenings examined."""
    from datetime import date

    from .services.displacement import detect_and_store

    return detect_and_store(since=date.fromisoformat(since) if since else None)
