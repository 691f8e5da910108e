"""Sharing tasks. Each takes ids (or nothing) and is safe to run twice."""

from celery import shared_task

from .integrity import verify_all


@shared_task(name="sharing.verify_signatures", acks_late=True)
def verify_signatures() -> dict:
    """The periodic verifier: marks invalid alerts and practices so that counts exclude them."""
    problems, checked = verify_all(mark=True)
    return {"checked": checked, "problems": [str(p) for p in problems][:100]}
