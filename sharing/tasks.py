"""Sharing tasks. Each takes ids (or nothing) and is safe to run twice."""

from celery import shared_task

from .integrity import verify_all


@shared_task(name="sharing.verify_signatures", acks_late=True)
def verify_signatures() -> dict:
    """The periodic verifier: marks invalid alerts and practices so that counts exclude them."""
    problems, checked = verify_all(mark=True)
    return {"checked": checked, "problems": [str(p) for p in problems][:100]}


@shared_task(
    name="sharing.relay_scans",
    acks_late=True,
    autoretry_for=(Exception,),
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=12,
)
def relay_scans(scan_ids: list[str]) -> int:
    """Relay the named scans (queued on commit of their ingest). Safe twice: claimed rows are skipped."""
    from .services.relay import relay_batch

    total = 0
    for start in range(0, len(scan_ids), 500):
        total += relay_batch(scan_ids=scan_ids[start : start + 500])
    return total


@shared_task(name="sharing.relay_sweep", acks_late=True)
def relay_sweep() -> int:
    """Beat, every minute: whatever an enqueue lost (broker down, worker killed) is relayed here."""
    from .services.relay import relay_sweep as sweep

    return sweep()


# Celery autodiscovery imports `tasks` only: register the tasks kept in their own modules.
from .tasks_retention import purge_expired  # noqa: E402,F401
