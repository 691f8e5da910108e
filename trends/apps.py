from django.apps import AppConfig


class TrendsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "trends"

    def ready(self) -> None:
        # Rollups follow the relay (once per scan, inside its transaction) and inspection outcomes.
        from sharing import integrity
        from sharing.services import outcomes, relay

        from .services import rollups

        if rollups.on_relay not in relay._in_transaction_hooks:
            relay._in_transaction_hooks.append(rollups.on_relay)
        if rollups.on_outcome not in outcomes.outcome_hooks:
            outcomes.outcome_hooks.append(rollups.on_outcome)
        # A scan the verifier finds invalid stops counting (and counts again if found valid).
        if rollups.on_integrity_change not in integrity.scan_integrity_hooks:
            integrity.scan_integrity_hooks.append(rollups.on_integrity_change)
