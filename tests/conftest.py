"""The standard cast of members, API clients, and the real processes integration tests use."""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from ports.models import Agency, AgencyKind, Port
from ports.services import agency_ensure, member_add, reference_ports_load, token_issue, token_membership

# Playwright's sync API keeps an event loop in the main thread; the test's own
# database calls stay synchronous, so Django's async guard does not apply.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "demo-password-for-tests"


@pytest.fixture
def ports(db):
    reference_ports_load()
    return {p.locode: p for p in Port.objects.all()}


def _agency(slug: str) -> Agency:
    if slug == "europol":
        return agency_ensure(kind=AgencyKind.EU_AGENCY, port=None, name="Europol", slug="europol")
    locode, _, kind = slug.partition("-")
    port = Port.objects.get(locode=locode.upper())
    return agency_ensure(kind=kind.replace("-", "_"), port=port, name=f"{port.name} {kind}")


@pytest.fixture
def make_agency(ports):
    return _agency


@pytest.fixture
def make_member(ports):
    def make(username: str, agency_slug: str, role: str = "analyst"):
        return member_add(
            username=username,
            agency=_agency(agency_slug),
            role=role,
            password=PASSWORD,
            display_name=username.replace(".", " ").title(),
        )

    return make


@pytest.fixture
def cast(make_member, django_user_model):
    """Who's who: an Antwerp customs officer and colleagues, other ports, the private sector, Europol."""
    members = {
        "author": make_member("antwerp.officer", "beanr-customs", "officer"),
        "colleague": make_member("antwerp.analyst", "beanr-customs", "analyst"),
        "antwerp_admin": make_member("antwerp.admin", "beanr-customs", "admin"),
        "antwerp_police": make_member("antwerp.police", "beanr-police", "analyst"),
        "rotterdam_customs": make_member("rotterdam.analyst", "nlrtm-customs", "analyst"),
        "rotterdam_police": make_member("rotterdam.police", "nlrtm-police", "analyst"),
        "rotterdam_terminal": make_member("rotterdam.terminal", "nlrtm-terminal-operator", "analyst"),
        "hamburg_customs": make_member("hamburg.officer", "deham-customs", "officer"),
        "hamburg_police": make_member("hamburg.police", "deham-police", "analyst"),
        "hamburg_terminal": make_member("hamburg.terminal", "deham-terminal-operator", "analyst"),
        "europol_liaison": make_member("europol.liaison", "europol", "liaison"),
        "europol_analyst": make_member("europol.analyst", "europol", "analyst"),
    }
    superuser = django_user_model.objects.create_superuser("root", "root@example.org", PASSWORD)
    members_users = {name: m.user for name, m in members.items()}
    return {"memberships": members, "users": {**members_users, "superuser": superuser}}


def login_verified(client, user):
    """Log `client` in as `user` with the session verified by a confirmed TOTP device (created if missing),
    as Django admin and agency administration need, and as anyone with a device needs for any page."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


@pytest.fixture
def api():
    """An unauthenticated API client; `api_as(user)` below gives an authenticated one."""
    return APIClient()


@pytest.fixture
def api_as(db):
    def make(user, *, token: bool = True, agency: str | None = None) -> APIClient:
        """A personal token acts for one membership: `agency` names it when `user` has several."""
        client = APIClient()
        if token:
            membership = token_membership(user=user, agency_slug=agency)
            _, raw = token_issue(membership=membership, name="test")
            client.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
        else:
            client.force_login(user)
        return client

    return make


# ---------------------------------------------------------------- real processes


_STARTED: list[subprocess.Popen] = []


@pytest.fixture(scope="session", autouse=True)
def _reap_processes():
    """Whatever a failing test left running (web, worker, redis) is stopped at the end of the session."""
    yield
    for proc in _STARTED:
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                proc.kill()


def _env(**extra) -> dict:
    env = dict(os.environ)
    env.update({k: str(v) for k, v in extra.items()})
    return env


def _database_url() -> str:
    from django.db import connection

    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT']}/{db['NAME']}"


class Worker:
    """A real `celery -A alliance worker` process on the test database."""

    def __init__(self, redis_url: str | None = None, log: Path | None = None, extra_env: dict | None = None):
        self.redis_url = redis_url or settings.REDIS_URL
        self.log = log
        self.extra_env = extra_env or {}
        self.proc: subprocess.Popen | None = None

    def start(self) -> "Worker":
        logfile = open(self.log or os.devnull, "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "--quiet",  # no banner: the log is JSON lines only, as in production
                "-A",
                "alliance",
                "worker",
                "--loglevel",
                "INFO",
                "--concurrency",
                "2",
                "--without-gossip",
                "--without-mingle",
                "-n",
                f"test-{os.getpid()}-{time.monotonic_ns()}@%h",
            ],
            cwd=ROOT,
            stdout=logfile,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=_env(
                DATABASE_URL=_database_url(),
                REDIS_URL=self.redis_url,
                CELERY_BROKER_URL=self.redis_url,
                CELERY_RESULT_BACKEND=self.redis_url,
                DJANGO_SETTINGS_MODULE="alliance.settings.test",
                **self.extra_env,
            ),
        )
        _STARTED.append(self.proc)
        return self

    def wait_ready(self, timeout: float = 30) -> "Worker":
        from celery import Celery

        # A separate app bound to this worker's broker: the project app's
        # producer pool would publish the ping to the default broker.
        probe = Celery(broker=self.redis_url)
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError("the celery worker exited early")
                try:
                    if probe.control.ping(timeout=1.0):
                        return self
                except Exception:  # noqa: BLE001 - broker still starting
                    pass
                time.sleep(0.2)
        finally:
            probe.close()
        raise RuntimeError("the celery worker did not answer a ping in time")

    def kill(self, sig=signal.SIGKILL) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def celery_worker_process(transactional_db, tmp_path):
    """A real worker for one test; data the test creates must be committed (transactional_db)."""
    worker = Worker(log=tmp_path / "worker.log")
    try:
        yield worker.start().wait_ready()
    finally:
        worker.stop()


class RedisServer:
    """A throwaway redis-server on a free port (a test may stop and restart it)."""

    def __init__(self, directory: Path):
        self.dir = directory
        self.port = _free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "RedisServer":
        self.proc = subprocess.Popen(
            [
                shutil.which("redis-server"),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.dir),
                "--save",
                "",
                "--appendonly",
                "yes",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        _STARTED.append(self.proc)
        import redis

        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                redis.Redis.from_url(self.url).ping()
                return self
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path).start()
    yield server
    server.stop()


# ---------------------------------------------------------------- browser


@pytest.fixture(scope="session")
def browser():
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("Debian's chromium is not installed; `make test` installs it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


class CspWatch(list):
    """Collects every CSP violation (and page error) the browser reports."""

    def attach(self, page):
        page.on("console", lambda msg: self.append(msg.text) if "Content Security Policy" in msg.text else None)
        page.on("pageerror", lambda exc: self.append(f"pageerror: {exc}"))
        return page


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, timezone_id="Europe/Brussels")
    page = context.new_page()
    page.csp_violations = CspWatch()
    page.csp_violations.attach(page)
    yield page
    context.close()


def login(page, username: str, password: str = PASSWORD) -> None:
    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


class WebServer:
    """A real gunicorn process serving the project on the test database."""

    def __init__(self, redis_url: str, log: Path, extra_env: dict | None = None):
        self.port = _free_port()
        self.redis_url = redis_url
        self.log = log
        self.extra_env = extra_env or {}
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "WebServer":
        import requests

        logfile = open(self.log, "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                # The production configuration (JSON access log, metrics directory), with test-sized numbers.
                "-c",
                "python:alliance.gunicorn_conf",
                "alliance.wsgi:application",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                "1",
                "--threads",
                "4",
            ],
            cwd=ROOT,
            stdout=logfile,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=_env(
                DATABASE_URL=_database_url(),
                REDIS_URL=self.redis_url,
                CELERY_BROKER_URL=self.redis_url,
                CELERY_RESULT_BACKEND=self.redis_url,
                DJANGO_SETTINGS_MODULE="alliance.settings.test",
                **{
                    # gunicorn's metrics directory beside its log, not a new temporary directory per start
                    "PROMETHEUS_MULTIPROC_DIR": self.log.parent / f"prom-{self.port}",
                    **self.extra_env,
                },
            ),
        )
        _STARTED.append(self.proc)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                requests.get(self.url + "/login/", timeout=5)
                return self
            except requests.RequestException:  # not listening yet, or still importing on a busy machine
                time.sleep(0.2)
        raise RuntimeError("gunicorn did not start")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=20)
