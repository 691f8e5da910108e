"""Email tasks: each takes ids, is claimed in the database, and is safe to run twice."""

from datetime import date

from celery import shared_task

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
    """Beat, hourly: each member's digest of their last complete local day (in the time zone they chose on
    the account page), and immediate emails a lost enqueue left behind. `day` (a date) sends that local day's
    digests instead. Running it twice queues twice at worst; each email is claimed once."""
    if day:
        which = date.fromisoformat(day)
        due = [(user_id, which) for user_id in services.digest_recipients(which)]
    else:
        due = services.digests_due()
    for user_id, local_day in due:
        send_digest.delay(user_id, local_day.isoformat())
    for notice_id in services.immediate_pending():
        send_notice_email.delay(notice_id)
    return len(due)
