from django.apps import AppConfig


class InteropConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "interop"
    verbose_name = "Interoperability (TAXII 2.1, STIX 2.1, MISP feed)"
