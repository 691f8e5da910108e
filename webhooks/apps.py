from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "webhooks"

    def ready(self) -> None:
        from sharing.services import relay

        from . import services

        # After a relay batch commits: an attempt per new delivery and active endpoint of its agency.
        if services.on_relayed not in relay.after_relay_hooks:
            relay.after_relay_hooks.append(services.on_relayed)
