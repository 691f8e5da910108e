from celery import shared_task

from . import services


@shared_task(name="federation.sync_peers", ignore_result=True)
def sync_peers() -> int:
    """Beat (FEDERATION_SYNC_SECONDS, default 10 s): pull every peer from its cursor. Safe twice: the peer row's
    lock keeps two workers off the same page, and a page applied twice changes nothing."""
    return services.sync_all()
