"""Sharing models (what people write: alerts, best practices, feedback); re-exported here for Django."""

from .alerts import *  # noqa: F403
from .feedback import *  # noqa: F403
