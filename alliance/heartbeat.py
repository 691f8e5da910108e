"""Heartbeats of the worker and of beat: a file for the container's health check, a Redis hash for the portal.

The worker writes both every `HEARTBEAT_SECONDS` from its event loop (a bootstep timer in
`alliance.celery`), beat from its scheduler's tick. `/healthz` reads the hash (one HGETALL, no broadcast to
the workers on every probe); a worker that stops cleanly removes its field at once, a killed one goes stale
after `WORKER_HEARTBEAT_MAX_AGE` seconds. The file is what `python -m alliance.heartbeat worker` checks
inside the container: it needs neither Django nor Redis, so it says "this process's loop turns".
"""

import argparse
import contextlib
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

logger = logging.getLogger(__name__)

KINDS = ("worker", "beat")
HASH = "alliance:heartbeat:{kind}"


def heartbeat_dir() -> Path:
    # Under the temporary directory (a tmpfs in the container: the root filesystem is read-only).
    return Path(os.environ.get("HEARTBEAT_DIR") or tempfile.gettempdir())


def heartbeat_file(kind: str) -> Path:
    return heartbeat_dir() / f"alliance-{kind}.heartbeat"


def _redis():
    import redis
    from django.conf import settings

    return redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=0.5, socket_timeout=0.5)


def beat(kind: str, name: str) -> None:
    """Record that `name` (a worker's hostname, or "beat") is alive now; Redis down only loses the hash copy."""
    now = time.time()
    path = heartbeat_file(kind)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{now:.3f}\n")
    except OSError:
        logger.warning("cannot write the %s heartbeat file %s", kind, path)
    try:
        client = _redis()
        client.hset(HASH.format(kind=kind), name, f"{now:.3f}")
        client.close()
    except Exception as exc:  # noqa: BLE001 - the broker being down is reported by /healthz, not raised here
        logger.debug("heartbeat not written to Redis (%s)", type(exc).__name__)


def forget(kind: str, name: str) -> None:
    """A clean stop: the portal stops counting this worker at once."""
    with contextlib.suppress(OSError):
        heartbeat_file(kind).unlink(missing_ok=True)
    try:
        client = _redis()
        client.hdel(HASH.format(kind=kind), name)
        client.close()
    except Exception as exc:  # noqa: BLE001 - a killed worker is not forgotten either: its beat goes stale
        logger.debug("heartbeat not removed from Redis (%s)", type(exc).__name__)


def ages(kind: str) -> dict[str, float]:
    """Seconds since each known process of `kind` last beat (raises if Redis cannot be read)."""
    client = _redis()
    try:
        raw = client.hgetall(HASH.format(kind=kind))
    finally:
        client.close()
    now = time.time()
    out = {}
    for name, stamp in raw.items():
        try:
            out[name.decode()] = max(0.0, now - float(stamp))
        except (ValueError, UnicodeDecodeError):
            continue
    return out


def file_age(kind: str) -> float | None:
    try:
        return max(0.0, time.time() - float(heartbeat_file(kind).read_text().strip()))
    except (OSError, ValueError):
        return None


def main(argv: list[str] | None = None) -> int:
    """`python -m alliance.heartbeat worker|beat [--max-age S]`: exit 0 while the heartbeat file is fresh."""
    parser = argparse.ArgumentParser(prog="python -m alliance.heartbeat", description=main.__doc__)
    parser.add_argument("kind", choices=KINDS)
    parser.add_argument("--max-age", type=float, default=60.0, help="seconds (default 60)")
    args = parser.parse_args(argv)
    age = file_age(args.kind)
    if age is None:
        print(f"{args.kind}: no heartbeat yet")
        return 1
    if age > args.max_age:
        print(f"{args.kind}: last heartbeat {age:.0f} s ago (more than {args.max_age:.0f} s)")
        return 1
    print(f"{args.kind}: alive, last heartbeat {age:.1f} s ago")
    return 0


if __name__ == "__main__":
    sys.exit(main())
