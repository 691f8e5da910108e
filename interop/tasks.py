"""Beat: number feed entries whose after-commit sequencing did not run (a crash between commit and numbering)."""

from celery import shared_task

from . import services


@shared_task(name="interop.sequence_feed")
def sequence_feed() -> int:
    return services.sequence_all()
