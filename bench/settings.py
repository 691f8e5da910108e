"""Benchmark settings: the test settings plus a baseline endpoint (see bench/baseline_urls.py)."""

from alliance.settings.test import *  # noqa: F403

ROOT_URLCONF = "bench.baseline_urls"
REST_FRAMEWORK = {  # noqa: F405
    **REST_FRAMEWORK,  # noqa: F405
    "DEFAULT_THROTTLE_CLASSES": [],
}
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
