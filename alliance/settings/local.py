"""The embedded default for `make run`: SQLite, a local Redis, DEBUG on."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DEBUG", default=True)

WHITENOISE_USE_FINDERS = True

# SQLite cannot build Subscription's nulls-distinct unique constraint; subscription_create checks duplicates itself.
SILENCED_SYSTEM_CHECKS = [*globals().get("SILENCED_SYSTEM_CHECKS", []), "models.W047"]

# Email stays on this machine: one file per message under var/mail, shown at /mail/.
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.filebased.EmailBackend")
