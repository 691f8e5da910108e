"""The Celery app: `celery -A alliance worker` and `celery -A alliance beat` run every task."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alliance.settings.local")

app = Celery("alliance")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.task(name="alliance.ping")
def ping() -> str:
    """Answered by a live worker: /healthz sends it to prove a worker consumes."""
    return "pong"
