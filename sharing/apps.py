from django.apps import AppConfig
from django.conf import settings

# The periodic verifier: counts exclude invalid objects after its next run.
VERIFY_SIGNATURES_EVERY_SECONDS = 600


class SharingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "sharing"

    def ready(self) -> None:
        # Added in place: Celery holds a reference to this same dict, and beat reads it after Django is set up.
        settings.CELERY_BEAT_SCHEDULE.setdefault(
            "sharing.verify_signatures",
            {"task": "sharing.verify_signatures", "schedule": VERIFY_SIGNATURES_EVERY_SECONDS},
        )
