"""The daily retention purge (beat: `purge-expired`)."""

from celery import shared_task


@shared_task(name="sharing.purge_expired", acks_late=True)
def purge_expired() -> dict:
    """Deletes what the RETENTION_DAYS_* settings no longer keep. Safe twice: a second run finds nothing to purge."""
    from .services import purge_expired as purge

    return {result.kind: result.count for result in purge()}
