from celery import shared_task

from . import audit


@shared_task(name="ports.audit_checkpoint")
def audit_checkpoint() -> int | None:
    """Idempotent: signs the head only when no checkpoint covers it yet."""
    checkpoint = audit.checkpoint_create()
    return checkpoint.seq if checkpoint else None
