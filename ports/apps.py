from django.apps import AppConfig


class PortsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "ports"
    verbose_name = "Ports, agencies and members"

    def ready(self):
        from . import schema, signals  # noqa: F401
