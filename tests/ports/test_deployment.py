"""Deployment: production settings pass `check --deploy`; docker-compose matches the settings."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def test_check_deploy_passes_under_production_settings():
    env = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
        "DJANGO_SETTINGS_MODULE": "alliance.settings.production",
        "SECRET_KEY": "a-production-grade-secret-key-" + "x" * 40 + "-with-enough-entropy-1234567890",
        "ALLIANCE_KEK": "production-kek",
        "ALLOWED_HOSTS": "exchange.example.org",
        "DEBUG": "false",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# The compose file is checked by `docker compose config` in tests/ops/test_deploy.py.
