"""Webhook tasks: take ids, safe to run twice (a conditional UPDATE claims each attempt)."""

from celery import shared_task
from django.conf import settings

# One send must end before its claim lease (2 x timeout + 60 s) does, or the sweep could claim the
# attempt again while a slow receiver is still trickling its answer: a second POST would go out.
_SEND_LIMIT = settings.WEBHOOK_TIMEOUT_SECONDS * 2 + 30


@shared_task(name="webhooks.send_attempt", acks_late=True, soft_time_limit=_SEND_LIMIT, time_limit=_SEND_LIMIT + 15)
def send_attempt(attempt_id: str) -> str:
    """Send one attempt if it is due and unclaimed; failures are rescheduled by the service, not by Celery."""
    from .services import attempt_send

    return attempt_send(attempt_id)


@shared_task(name="webhooks.sweep", acks_late=True)
def sweep() -> int:
    """Beat, every minute: queue every due attempt (nothing depends on the broker remembering a countdown)."""
    from .services import sweep as run

    return run()
