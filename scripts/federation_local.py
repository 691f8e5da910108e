"""A local federation of three instances (`make federation`; SPEC section 10.1): `be`, `nl`, `europol`.

Each instance has its own database (SQLite files under var/federation/ by default; the tests pass PostgreSQL
URLs), its own Redis database number, and its own web server, Celery worker and beat. Each seeds the demo
alliance for its home agencies only, and each pair is peered both ways: `add_peer` at one prints the token the
other reads it with, `set_peer_token` at the other stores it.

    python scripts/federation_local.py            # start, peer, and run until Ctrl-C
    python scripts/federation_local.py --help

The tests import `Federation` from here and drive the same processes.
"""

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable

# instance id -> HOME_AGENCIES (SPEC 10.1): Antwerp's agencies, Rotterdam's, and Europol.
HOMES = {"be": "port:BEANR", "nl": "port:NLRTM", "europol": "europol"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Instance:
    id: str
    home: str
    port: int
    database_url: str
    redis_url: str
    var: Path
    secrets: dict
    extra_env: dict = field(default_factory=dict)
    procs: dict = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict:
        env = dict(os.environ)
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": env.get("FEDERATION_SETTINGS", "alliance.settings.local"),
                "DEBUG": "false",
                "DATABASE_URL": self.database_url,
                "REDIS_URL": self.redis_url,
                "CELERY_BROKER_URL": self.redis_url,
                "CELERY_RESULT_BACKEND": self.redis_url,
                "INSTANCE_ID": self.id,
                "INSTANCE_URL": self.url,
                "HOME_AGENCIES": self.home,
                "ALLIANCE_VAR_DIR": str(self.var),
                "ALLIANCE_ENV_FILE": str(self.var / "none.env"),
                **self.secrets,
                **{k: str(v) for k, v in self.extra_env.items()},
            }
        )
        return env

    def manage(self, *args: str, stdin: str | None = None, check: bool = True) -> str:
        result = subprocess.run(
            [PY, "manage.py", *args],
            cwd=ROOT,
            env=self.env(),
            input=stdin,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if check and result.returncode != 0:
            raise RuntimeError(f"{self.id}: manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def shell(self, code: str) -> str:
        """Run Python in this instance's Django (manage.py shell -c): how tests look inside an instance."""
        return self.manage("shell", "-c", code)

    def prepare(self) -> None:
        self.var.mkdir(parents=True, exist_ok=True)
        (self.var / "log").mkdir(exist_ok=True)
        self.manage("migrate", "--noinput", "-v0")
        self.manage("seed_demo")

    def _spawn(self, name: str, args: list[str]) -> None:
        log = open(self.var / "log" / f"{name}.log", "ab")  # noqa: SIM115
        self.procs[name] = subprocess.Popen(
            args, cwd=ROOT, env=self.env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def start_web(self) -> None:
        self._spawn(
            "web",
            [
                PY,
                "-m",
                "gunicorn",
                "alliance.wsgi:application",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                "1",
                "--threads",
                "4",
                "--timeout",
                "60",
            ],
        )

    def start_worker(self) -> None:
        self._spawn(
            "worker",
            [
                PY,
                "-m",
                "celery",
                "-A",
                "alliance",
                "worker",
                "--loglevel",
                "INFO",
                "--concurrency",
                "1",
                "--without-gossip",
                "--without-mingle",
                "-n",
                f"{self.id}-{os.getpid()}@%h",
            ],
        )

    def start_beat(self) -> None:
        self._spawn(
            "beat",
            [
                PY,
                "-m",
                "celery",
                "-A",
                "alliance",
                "beat",
                "--loglevel",
                "INFO",
                "--schedule",
                str(self.var / "celerybeat-schedule"),
            ],
        )

    def start(self) -> None:
        self.start_web()
        self.start_worker()
        self.start_beat()

    def stop(self, name: str | None = None) -> None:
        for proc_name in [name] if name else list(self.procs):
            proc = self.procs.pop(proc_name, None)
            if proc is not None and proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                    proc.wait(timeout=20)
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(proc.pid, signal.SIGKILL)

    def wait_web(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/livez", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            if self.procs.get("web") and self.procs["web"].poll() is not None:
                raise RuntimeError(f"{self.id}: the web server exited; see {self.var / 'log' / 'web.log'}")
            time.sleep(0.3)
        raise RuntimeError(f"{self.id}: the web server did not answer in time")

    def portal_kid(self) -> str:
        return self.manage("instance_info").strip().splitlines()[-1]


@dataclass
class Federation:
    instances: dict[str, Instance]

    @classmethod
    def make(
        cls,
        base: Path,
        database_urls: dict[str, str],
        redis_base: str,
        secrets: dict,
        extra_env: dict | None = None,
        ports: dict[str, int] | None = None,
    ) -> "Federation":
        instances = {}
        for number, (instance_id, home) in enumerate(HOMES.items(), start=1):
            instances[instance_id] = Instance(
                id=instance_id,
                home=home,
                port=(ports or {}).get(instance_id) or free_port(),
                database_url=database_urls[instance_id],
                redis_url=f"{redis_base.rstrip('/')}/{number}",
                var=base / instance_id,
                secrets={**secrets, "SECRET_KEY": f"{secrets['SECRET_KEY']}-{instance_id}"},
                extra_env=dict(extra_env or {}),
            )
        return cls(instances)

    def prepare(self) -> None:
        for instance in self.instances.values():
            instance.prepare()

    def start(self) -> None:
        for instance in self.instances.values():
            instance.start()
        for instance in self.instances.values():
            instance.wait_web()

    def peer(self) -> None:
        """Peer every pair both ways: A adds B (pinning B's portal key) and hands B the token; B stores it."""
        kids = {i: inst.portal_kid() for i, inst in self.instances.items()}
        tokens = {}
        for a_id, a in self.instances.items():
            for b_id, b in self.instances.items():
                if a_id != b_id:
                    out = a.manage("add_peer", b_id, "--url", b.url, "--key-thumbprint", kids[b_id])
                    tokens[(a_id, b_id)] = out.strip().splitlines()[-1]
        for (a_id, b_id), token in tokens.items():
            self.instances[b_id].manage("set_peer_token", a_id, stdin=token + "\n")

    def stop(self) -> None:
        for instance in self.instances.values():
            instance.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--var", default=str(ROOT / "var" / "federation"), help="where databases and logs go")
    parser.add_argument("--redis", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0").rsplit("/", 1)[0])
    args = parser.parse_args()
    base = Path(args.var)
    base.mkdir(parents=True, exist_ok=True)
    secrets_file = base / "secrets.env"
    if not secrets_file.exists():
        import secrets as random

        secrets_file.write_text(
            f"SECRET_KEY={random.token_urlsafe(40)}\nALLIANCE_KEK={random.token_urlsafe(32)}\n"
            f"DEMO_PASSWORD={random.token_urlsafe(12)}\n"
        )
        secrets_file.chmod(0o600)
    secrets = dict(line.split("=", 1) for line in secrets_file.read_text().split())
    urls = {i: f"sqlite:///{base / i / 'alliance.sqlite3'}" for i in HOMES}
    # Fixed ports: the peers remember each other's URLs across runs.
    first = int(os.environ.get("FEDERATION_PORT", "8101"))
    ports = {instance_id: first + n for n, instance_id in enumerate(HOMES)}
    federation = Federation.make(base, urls, args.redis, secrets, ports=ports)
    fresh = not (base / "peered").exists()
    try:
        federation.prepare()
        federation.start()
        if fresh:
            federation.peer()
            (base / "peered").write_text("yes\n")
        print("The federation runs (Ctrl-C stops it; data stays in", base, "):")
        for instance in federation.instances.values():
            print(f"  {instance.id:8} {instance.url}   home: {instance.home}")
        print(f"Demo password for every demo member: {secrets['DEMO_PASSWORD']}")
        print("Operators: create a superuser per instance (manage.py createsuperuser) for /operator/peers/.")
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        federation.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
