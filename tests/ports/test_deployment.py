"""Deployment: production settings pass `check --deploy`; docker-compose matches the settings."""

import os
import subprocess
import sys
from pathlib import Path

import environ
import yaml

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


def test_docker_compose_parses_and_matches_settings():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {"postgres", "redis", "web", "worker", "beat"}
    assert "--appendonly" in services["redis"]["command"]
    assert "yes" in services["redis"]["command"]
    assert "gunicorn" in " ".join(services["web"]["command"])
    assert services["worker"]["command"][:4] == ["celery", "-A", "alliance", "worker"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "alliance", "beat"]
    # One service definition shared by web, worker and beat.
    for name in ("web", "worker", "beat"):
        service = services[name]
        assert service["image"] == "alliance-exchange:latest"
        assert service["environment"]["DJANGO_SETTINGS_MODULE"] == "alliance.settings.production"
    environment = services["web"]["environment"]
    # Every setting the project reads from the environment without a default is provided.
    for required in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "ALLIANCE_KEK", "ALLOWED_HOSTS"):
        assert required in environment, required
    url = environment["DATABASE_URL"].replace("${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}", "pw")
    assert environ.Env.db_url_config(url)["ENGINE"] == "django.db.backends.postgresql"
    assert (ROOT / "Dockerfile").exists()
