"""Scan models: scans, outcomes, the outbox, relay grants, deliveries and subscriptions.

The tables keep the names they had under `sharing` (moved with SeparateDatabaseAndState).
"""

from .relay import *  # noqa: F403
from .scans import *  # noqa: F403
