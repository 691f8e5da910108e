"""Email tasks: each takes ids, is claimed in the database, and is safe to run twice."""

from datetime import date, timedelta

from celery import shared_task
from django.utils import timezone

from . import services


@shared_task(
    name="notifications.send_notice_email",
    autoretry_for=(OSError,),
    retry_backoff=30,
    retry_backoff_max=1800,
    max_retries=8,
)
def send_notice_email(notice_id: int) -> bool:
    return services.send_notice_email(notice_id)


@shared_task(
    name="notifications.send_digest",
    autoretry_for=(OSError,),
    retry_backoff=60,
    retry_backoff_max=3600,
    max_retries=8,
)
def send_digest(user_id: int, day: str) -> bool:
    return services.send_digest(user_id, date.fromisoformat(day))


@shared_task(name="notifications.send_digests")
def send_digests(day: str | None = None) -> int:
    """Beat, hourly: the digests of the last complete UTC day not sent yet, and immediate emails a lost
    enqueue left behind. Running it twice queues twice at worst; each email is claimed once."""
    which = date.fromisoformat(day) if day else timezone.now().date() - timedelta(days=1)
    users = services.digest_recipients(which)
    for user_id in users:
        send_digest.delay(user_id, which.isoformat())
    for notice_id in services.immediate_pending():
        send_notice_email.delay(notice_id)
    return len(users)
