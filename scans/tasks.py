"""Relay tasks. Each takes ids (or nothing) and is safe to run twice.

The task names keep their `sharing.` prefix: they are what the broker carries, and a
message queued before an upgrade must still find its task (the outbox sweep would
catch up anyway, but there is no reason to make it).
"""

from celery import shared_task

from .services.relay import relay_batch
from .services.relay import relay_sweep as sweep


@shared_task(
    name="sharing.relay_scans",
    acks_late=True,
    autoretry_for=(Exception,),
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=12,
)
def relay_scans(scan_ids: list[str]) -> int:
    """Relay the named scans (queued on commit of their ingest), each claim filled up with other pending
    scans (single pushes relayed in batches under load). Safe twice: claimed rows are skipped."""
    total = 0
    for start in range(0, len(scan_ids), 500):
        total += relay_batch(scan_ids=scan_ids[start : start + 500], fill=True)
    return total


@shared_task(name="sharing.relay_sweep", acks_late=True)
def relay_sweep() -> int:
    """Beat, every minute: whatever an enqueue lost (broker down, worker killed) is relayed here."""
    return sweep()
