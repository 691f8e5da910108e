"""The deployment files (SPEC section 9, issue 17): `docker compose config` accepts the compose file and what
it resolves to is production-shaped; the Caddyfile validates; the image is lean and unprivileged; the alert
rules and the dashboard name only metrics the portal exports."""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent.parent
SECRETS = ("secret_key", "alliance_kek", "database_url", "postgres_password", "backup_passphrase", "demo_password")
APP = ("web", "worker", "beat", "migrate")


def _compose_command() -> list[str] | None:
    """The compose plugin if the docker CLI has it, else Debian's docker-compose (scripts/test.sh installs it)."""
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True, check=False)
        if probe.returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


@pytest.fixture(scope="module")
def resolved(tmp_path_factory) -> dict:
    command = _compose_command()
    if command is None:
        pytest.fail("neither the docker compose plugin nor docker-compose is installed (scripts/test.sh installs it)")
    work = tmp_path_factory.mktemp("compose")
    shutil.copy(ROOT / "docker-compose.yml", work)
    shutil.copytree(ROOT / "deploy", work / "deploy")
    (work / "secrets").mkdir()
    for name in (*SECRETS, "grafana_password"):
        (work / "secrets" / name).write_text("placeholder")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SITE_", "TLS", "COMPOSE_"))}
    result = subprocess.run(
        [
            *command,
            "--env-file",
            "deploy/quickstart.env",
            "--profile",
            "quickstart",
            "--profile",
            "monitoring",
            "config",
        ],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


@pytest.mark.integration
def test_compose_refuses_to_start_without_a_site_or_tls(tmp_path):
    command = _compose_command()
    if command is None:
        pytest.fail("neither the docker compose plugin nor docker-compose is installed (scripts/test.sh installs it)")
    shutil.copy(ROOT / "docker-compose.yml", tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SITE_", "TLS", "COMPOSE_"))}
    result = subprocess.run([*command, "config"], cwd=tmp_path, env=env, capture_output=True, text=True, check=False)
    assert result.returncode != 0
    assert "SITE_ADDRESS" in result.stderr or "TLS" in result.stderr


@pytest.mark.integration
def test_only_the_tls_proxy_publishes_a_port(resolved):
    published = {name for name, service in resolved["services"].items() if service.get("ports")}
    assert published == {"caddy"}
    assert {
        int(p["target"]) if isinstance(p, dict) else int(str(p).split(":")[-1].split("/")[0])
        for p in resolved["services"]["caddy"]["ports"]
    } == {80, 443}
    assert resolved["networks"]["backend"]["internal"] is True
    for name in ("worker", "beat", "migrate", "postgres", "redis", "backup"):
        assert "edge" not in resolved["services"][name]["networks"], name


@pytest.mark.integration
def test_forwarded_headers_are_trusted_from_the_proxy_alone(resolved):
    caddy_ip = resolved["services"]["caddy"]["networks"]["edge"]["ipv4_address"]
    prometheus_ip = resolved["services"]["prometheus"]["networks"]["backend"]["ipv4_address"]
    for name in APP:
        environment = resolved["services"][name]["environment"]
        assert environment["TRUSTED_PROXIES"] == caddy_ip, name
        assert environment["METRICS_ALLOWED_IPS"] == prometheus_ip, name
        assert environment["DJANGO_SETTINGS_MODULE"] == "alliance.settings.production"


@pytest.mark.integration
def test_migrate_runs_once_before_web_worker_and_beat(resolved):
    services = resolved["services"]
    assert services["migrate"]["command"] == ["python", "manage.py", "migrate", "--noinput"]
    assert services["migrate"]["restart"] == "no"
    for name in ("web", "worker", "beat"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully", name
        assert "migrate" not in " ".join(services[name]["command"]), name
    assert "gunicorn" in services["web"]["command"]
    assert services["worker"]["command"][:5] == ["celery", "--quiet", "-A", "alliance", "worker"]
    assert services["beat"]["command"][:5] == ["celery", "--quiet", "-A", "alliance", "beat"]


@pytest.mark.integration
def test_images_are_pinned(resolved):
    for name, service in resolved["services"].items():
        image = service["image"]
        tag = image.rsplit(":", 1)[-1] if ":" in image.split("/")[-1] else ""
        assert tag not in ("", "latest"), (name, image)
        assert re.search(r"\d", tag), (name, image)
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.11\.\d+-slim-bookworm$", (ROOT / "Dockerfile").read_text(), re.M)
    assert re.search(r"^FROM postgres:15\.\d+-bookworm$", (ROOT / "deploy/postgres/Dockerfile").read_text(), re.M)


@pytest.mark.integration
def test_secrets_come_from_files_never_from_the_environment(resolved):
    for name in APP:
        service = resolved["services"][name]
        environment = service["environment"]
        for secret in ("SECRET_KEY", "ALLIANCE_KEK", "DATABASE_URL"):
            assert secret not in environment, (name, secret)
            assert environment[f"{secret}_FILE"].startswith("/run/secrets/"), (name, secret)
    assert resolved["services"]["postgres"]["environment"]["POSTGRES_PASSWORD_FILE"] == "/run/secrets/postgres_password"
    assert set(SECRETS) <= set(resolved["secrets"])
    assert "/secrets/" in (ROOT / ".gitignore").read_text().split()


@pytest.mark.integration
def test_app_containers_are_read_only_with_health_checks(resolved):
    services = resolved["services"]
    for name in APP:
        assert services[name]["read_only"] is True, name
        assert any(str(t).startswith("/tmp") for t in services[name]["tmpfs"]), name
    assert "/livez" in " ".join(services["web"]["healthcheck"]["test"])
    assert services["worker"]["healthcheck"]["test"][-4:] == ["alliance.heartbeat", "worker", "--max-age", "60"]
    assert services["beat"]["healthcheck"]["test"][-4:] == ["alliance.heartbeat", "beat", "--max-age", "60"]
    for name in ("postgres", "redis", "caddy", "backup"):
        assert services[name]["healthcheck"]["test"], name


@pytest.mark.integration
def test_every_app_variable_is_read_by_the_settings(resolved):
    settings_text = "".join(p.read_text() for p in (ROOT / "alliance/settings").glob("*.py"))
    settings_text += (ROOT / "alliance/gunicorn_conf.py").read_text() + (ROOT / "alliance/heartbeat.py").read_text()
    for name in APP:
        for variable in resolved["services"][name]["environment"]:
            base = variable.removesuffix("_FILE")
            if base in ("DJANGO_SETTINGS_MODULE", "PROMETHEUS_MULTIPROC_DIR"):
                continue
            assert f'"{base}"' in settings_text, (name, variable)


@pytest.mark.integration
def test_postgres_archives_wal_for_point_in_time_recovery(resolved):
    command = " ".join(resolved["services"]["postgres"]["command"])
    assert "archive_mode=on" in command
    assert "pgbackrest-env archive-push %p" in command
    conf = (ROOT / "deploy/postgres/pgbackrest.conf").read_text()
    assert "repo1-cipher-type=aes-256-cbc" in conf
    assert "cipher-pass" not in conf.replace("cipher-type", "")  # the passphrase is a secret file, not config


@pytest.mark.integration
def test_caddyfile_validates():
    caddy = shutil.which("caddy")
    if caddy is None:
        pytest.fail("caddy is not installed (scripts/test.sh installs Debian's)")
    for env in (
        {"SITE_ADDRESS": "exchange.example.org", "TLS": "ops@example.org"},
        {"SITE_ADDRESS": "localhost", "TLS": "internal"},
    ):
        result = subprocess.run(
            [caddy, "validate", "--config", str(ROOT / "deploy/caddy/Caddyfile"), "--adapter", "caddyfile"],
            env={**os.environ, **env, "XDG_DATA_HOME": "/tmp", "XDG_CONFIG_HOME": "/tmp"},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr[-2000:]
    text = (ROOT / "deploy/caddy/Caddyfile").read_text()
    assert "respond @internal 404" in text  # /metrics is never served through the proxy


def test_image_is_multi_stage_unprivileged_and_runtime_only():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert len(re.findall(r"^FROM ", dockerfile, re.M)) == 2
    assert re.search(r"^USER 10001$", dockerfile, re.M)
    assert "alliance.gunicorn_conf" in dockerfile
    assert "/livez" in dockerfile
    runtime = {line.split("==")[0].lower() for line in (ROOT / "requirements.txt").read_text().split() if "==" in line}
    for tool in ("pytest", "playwright", "hypothesis", "schemathesis", "ruff", "mypy", "import-linter", "medallion"):
        assert tool not in runtime, tool
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", "var", "secrets"} <= set(ignored)


def _exported_names() -> set[str]:
    from alliance import metrics

    names = set()
    from prometheus_client.metrics import MetricWrapperBase

    for value in vars(metrics).values():
        if isinstance(value, MetricWrapperBase):
            for family in value.describe():
                names.add(family.name)
    return names | {
        "alliance_relay_backlog",
        "alliance_relay_oldest_pending_seconds",
        "alliance_webhook_dead_letters",
        "alliance_webhook_retrying",
        "alliance_queue_length",
        "alliance_worker_heartbeat_age_seconds",
        "alliance_workers_alive",
        "alliance_beat_heartbeat_age_seconds",
        "alliance_metrics_collector_up",
        "alliance_peer_sync_lag_seconds",  # federation's collector (wired by the integrator)
    }


def _named(expr: str) -> set[str]:
    return {re.sub(r"_(bucket|count|sum|total)$", "", n) for n in re.findall(r"\balliance_[a-z_]+", expr)}


def test_alert_rules_and_dashboard_use_exported_metrics():
    exported = _exported_names()
    rules = yaml.safe_load((ROOT / "deploy/prometheus/alerts.yml").read_text())
    exprs = [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    assert all(rule["labels"]["severity"] in ("critical", "warning") for g in rules["groups"] for rule in g["rules"])
    dashboard = json.loads((ROOT / "deploy/grafana/dashboards/alliance.json").read_text())
    exprs += [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    for expr in exprs:
        unknown = _named(expr) - exported
        assert not unknown, (expr, unknown)
    promtool = shutil.which("promtool")
    if promtool:
        result = subprocess.run(
            [promtool, "check", "rules", str(ROOT / "deploy/prometheus/alerts.yml")], capture_output=True, text=True
        )
        assert result.returncode == 0, result.stdout + result.stderr
