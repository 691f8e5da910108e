from django.apps import AppConfig


class CorrelationConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "correlation"
