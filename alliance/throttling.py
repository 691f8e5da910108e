"""Throttles that fail open when Redis is down (kept apart from alliance.api: DRF's APIView
resolves DEFAULT_THROTTLE_CLASSES at import time, so this module must not import DRF views)."""

import logging

from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

logger = logging.getLogger(__name__)


class _FailOpen:
    """Throttles depend on Redis; when it is down they let requests through."""

    def allow_request(self, request, view):
        try:
            return super().allow_request(request, view)
        except Exception:  # noqa: BLE001 - any cache failure must fail open
            logger.warning("throttle cache unavailable; failing open", exc_info=False)
            return True


class FailOpenUserThrottle(_FailOpen, UserRateThrottle):
    def get_cache_key(self, request, view):
        if getattr(request, "scanner_node", None) is not None:
            return None  # nodes have their own throttle
        return super().get_cache_key(request, view)


class FailOpenAnonThrottle(_FailOpen, AnonRateThrottle):
    pass
