from django.apps import AppConfig


class RetentionConfig(AppConfig):
    name = "retention"
    verbose_name = "Retention (purges across apps; the policies and watermarks live in ports.retention)"
