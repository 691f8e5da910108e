"""The embedded default for `make run`: SQLite, a local Redis, DEBUG on."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DEBUG", default=True)

WHITENOISE_USE_FINDERS = True
