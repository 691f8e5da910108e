from django.apps import AppConfig


class SharingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "sharing"

    def ready(self) -> None:
        from .services import correlation, relay

        if correlation.correlate_scans not in relay._in_transaction_hooks:
            relay._in_transaction_hooks.append(correlation.correlate_scans)
