"""Sharing models, one module per capability; everything is re-exported here for Django."""

from .alerts import *  # noqa: F403
from .correlation import *  # noqa: F403
from .feedback import *  # noqa: F403
from .relay import *  # noqa: F403
from .scans import *  # noqa: F403
