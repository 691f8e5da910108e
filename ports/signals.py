"""Failed logins go to the audit log (django-axes raises the signal; the audit is the record)."""

from django.contrib.auth.signals import user_logged_out, user_login_failed
from django.dispatch import receiver

from . import audit


@receiver(user_login_failed)
def on_login_failed(sender, credentials, request=None, **kwargs):
    username = (credentials or {}).get("username", "")
    address = request.META.get("REMOTE_ADDR") if request is not None else None
    audit.record(
        username or "anonymous",
        "auth.login_failed",
        None,
        {"username": username, "ip": address},
        object_type="auth.user",
        object_id=username,
    )


@receiver(user_logged_out)
def on_logout(sender, request, user, **kwargs):
    if user is not None:
        audit.record(user, "auth.logout", user)
