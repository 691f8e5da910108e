"""Database backup and restore for the local stack and PostgreSQL (make backup / make restore)."""

import shutil
import sqlite3
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.db import connections


def _pg_env_args(db: dict) -> tuple[dict, list[str]]:
    env = {"PGPASSWORD": db.get("PASSWORD") or ""}
    args = ["-h", db.get("HOST") or "127.0.0.1", "-p", str(db.get("PORT") or 5432), "-U", db.get("USER") or "postgres"]
    return env, args


def backup(directory: Path | None = None, alias: str = "default") -> Path:
    """A consistent copy of the database: SQLite's online backup API, or pg_dump's custom format."""
    db = settings.DATABASES[alias]
    directory = Path(directory or settings.VAR_DIR / "backups")
    directory.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    if db["ENGINE"].endswith("sqlite3"):
        target = directory / f"alliance-{stamp}.sqlite3"
        source = sqlite3.connect(db["NAME"])
        try:
            with sqlite3.connect(target) as dest:
                source.backup(dest)  # consistent even while web and worker write (WAL)
        finally:
            source.close()
        return target
    target = directory / f"alliance-{stamp}.dump"
    env, args = _pg_env_args(db)
    subprocess.run(
        [shutil.which("pg_dump") or "pg_dump", *args, "-Fc", "-f", str(target), db["NAME"]],
        check=True,
        env={**_base_env(), **env},
    )
    return target


def restore(path: Path, alias: str = "default") -> None:
    """Replace the database's content with a backup. Stop web, worker and beat first."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(path)
    db = settings.DATABASES[alias]
    connections[alias].close()
    if db["ENGINE"].endswith("sqlite3"):
        source = sqlite3.connect(path)
        try:
            with sqlite3.connect(db["NAME"]) as dest:
                source.backup(dest)
        finally:
            source.close()
        return
    env, args = _pg_env_args(db)
    subprocess.run(
        [
            shutil.which("pg_restore") or "pg_restore",
            *args,
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            "-d",
            db["NAME"],
            str(path),
        ],
        check=True,
        env={**_base_env(), **env},
    )


def _base_env() -> dict:
    import os

    return dict(os.environ)
