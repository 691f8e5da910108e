"""`alliance-scanner`: the command a scanner node runs.

    alliance-scanner keygen                 # the node's key (HOME/node.key, 0600); prints what to register
    alliance-scanner push scan.json         # queue one scan (or - for stdin) and try to deliver it now
    alliance-scanner batch scans.jsonl      # queue a file of scans (JSON array or JSON Lines), deliver in batches
    alliance-scanner run                    # deliver forever, backing off while the portal is unreachable
    alliance-scanner deliver                # one delivery pass (cron-friendly)
    alliance-scanner status [--json]        # the queue and the portal's view of this node
    alliance-scanner rejected [--json]      # scans the portal refused, with its reasons
    alliance-scanner requeue [SCAN_ID ...]  # send refused scans again (all when none is named)
    alliance-scanner rotate-key             # a new key, stored before it is registered

Settings come from the environment (or the options of the same name): ALLIANCE_SCANNER_HOME (the state
directory: key, queue), ALLIANCE_SCANNER_URL (the portal), and the node token from ALLIANCE_SCANNER_TOKEN
or a file (ALLIANCE_SCANNER_TOKEN_FILE, --token-file, else HOME/token). The token is never an option:
command lines show up in `ps`, shell history and audit logs.
"""

import argparse
import json
import os
import signal
import stat
import sys
import threading
import time
from pathlib import Path
from typing import Any

from . import signing
from .keystore import KeyStoreError
from .node import Backoff, KeyProblem, Node, NotConfigured, kid
from .portal import Refused, Unavailable
from .queue import QueueConflict

EX_TEMPFAIL = 75  # sysexits: try again later (queued, not yet delivered)


def default_home() -> Path:
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "alliance-scanner"


def read_token(args: argparse.Namespace, home: Path) -> str | None:
    token = os.environ.get("ALLIANCE_SCANNER_TOKEN")
    if token:
        return token.strip()
    path_text = args.token_file or os.environ.get("ALLIANCE_SCANNER_TOKEN_FILE")
    path = Path(path_text) if path_text else home / "token"
    if not path.exists():
        if path_text:
            raise NotConfigured(
                f"the token file {path} does not exist: put the node token there (mode 0600) or set ALLIANCE_SCANNER_TOKEN"
            )
        return None
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        print(f"warning: {path} is readable by other users; chmod 600 it", file=sys.stderr)
    token = path.read_text(encoding="utf-8").strip()
    if not token:
        raise NotConfigured(f"the token file {path} is empty")
    return token


TOKEN_HINT = (
    "the token is never taken on the command line (it would show in `ps`, shell history and audit logs): "
    "set ALLIANCE_SCANNER_TOKEN, or put it in a file (mode 0600) named by ALLIANCE_SCANNER_TOKEN_FILE or --token-file"
)


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    common.add_argument("--home", default=None, help="state directory (ALLIANCE_SCANNER_HOME)")
    common.add_argument("--url", default=None, help="portal URL (ALLIANCE_SCANNER_URL)")
    common.add_argument("--token-file", default=None, help="file holding the node token (ALLIANCE_SCANNER_TOKEN_FILE)")
    common.add_argument("--timeout", type=float, default=30.0, help="seconds per HTTP request")
    common.add_argument("--json", action="store_true", help="machine-readable output")

    parser = argparse.ArgumentParser(prog="alliance-scanner", description=__doc__.split("\n\n")[0], allow_abbrev=False)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("keygen", parents=[common], allow_abbrev=False, help="create the node's key")
    for name, what in (("push", "one scan (a JSON object)"), ("batch", "a JSON array or JSON Lines of scans")):
        p = sub.add_parser(name, parents=[common], allow_abbrev=False, help=f"queue {what} and deliver")
        p.add_argument("file", help=f"{what}; - reads stdin")
        p.add_argument(
            "--wait", type=float, default=0.0, help="keep retrying up to this many seconds (default: one try)"
        )
        p.add_argument("--queue-only", action="store_true", help="queue without trying to deliver")
        p.add_argument("--batch-size", type=int, default=500, help="scans per request, 1 to 500")
    p = sub.add_parser("run", parents=[common], allow_abbrev=False, help="deliver forever")
    p.add_argument("--poll", type=float, default=2.0, help="seconds between looks at the queue")
    p.add_argument("--min-backoff", type=float, default=1.0)
    p.add_argument("--max-backoff", type=float, default=300.0)
    p.add_argument("--keep-delivered-days", type=float, default=30.0, help="prune delivered rows after this")
    p.add_argument("--batch-size", type=int, default=500)
    p = sub.add_parser("deliver", parents=[common], allow_abbrev=False, help="one delivery pass")
    p.add_argument("--batch-size", type=int, default=500)
    sub.add_parser("status", parents=[common], allow_abbrev=False, help="the queue and the portal")
    sub.add_parser("rejected", parents=[common], allow_abbrev=False, help="scans the portal refused")
    p = sub.add_parser("requeue", parents=[common], allow_abbrev=False, help="send refused scans again")
    p.add_argument("scan_ids", nargs="*")
    sub.add_parser("rotate-key", parents=[common], allow_abbrev=False, help="a new key, stored then registered")
    return parser


def _out(args: argparse.Namespace, data: Any, text: str) -> None:
    print(json.dumps(data, indent=2, default=str) if args.json else text)


def _read_documents(path: str, *, many: bool) -> list[Any]:
    raw = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    text = raw.decode("utf-8")
    if not many:
        return [signing.parse_json(text)]
    stripped = text.lstrip()
    if stripped.startswith("["):
        documents = signing.parse_json(text)
        return list(documents)
    return [signing.parse_json(line) for line in text.splitlines() if line.strip()]


def _deliver_with_wait(node: Node, wait: float) -> tuple[Any, Exception | None]:
    """One try, or keep trying (with backoff) until `wait` seconds have passed."""
    deadline = time.monotonic() + wait
    backoff = Backoff(minimum=0.5, maximum=10.0)
    while True:
        try:
            report = node.deliver(wait_for_lock=wait > 0)
            if not report.busy or time.monotonic() >= deadline:
                return report, None
            time.sleep(0.5)
            continue
        except (Unavailable, Refused, KeyProblem) as exc:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None, exc
            time.sleep(min(remaining, node.next_delay(backoff, exc)))


def cmd_push(args: argparse.Namespace, node: Node) -> int:
    try:
        documents = _read_documents(args.file, many=args.command == "batch")
    except (signing.DocumentError, UnicodeDecodeError, OSError, TypeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not args.queue_only:
        node._portal()  # no URL or token: say so before queueing anything
    node.batch_size = max(1, min(args.batch_size, 500))
    try:
        queued = node.enqueue(documents)
    except QueueConflict as exc:
        print(f"error: {exc}; nothing was queued", file=sys.stderr)
        return 1
    for bad in queued["invalid"]:
        print(f"error: item {bad['index']}: {bad['error']} (not queued)", file=sys.stderr)
    ours = set(queued["scan_ids"])
    result: dict[str, Any] = {"queued": queued["added"], "already_known": queued["known"], "invalid": queued["invalid"]}
    failure: Exception | None = None
    if not args.queue_only and ours:
        _, failure = _deliver_with_wait(node, args.wait)
    items = [node.queue.item(s) for s in queued["scan_ids"]]
    states = {"pending": 0, "delivered": 0, "rejected": 0}
    for item in items:
        if item:
            states[item["state"]] += 1
    result.update(states)
    result["rejected_items"] = [
        {"scan_id": i["scan_id"], "code": i["code"], "errors": i["errors"]}
        for i in items
        if i and i["state"] == "rejected"
    ]
    if failure is not None:
        result["error"] = str(failure)
    lines = [
        f"{len(ours)} scan(s): {states['delivered']} delivered, {states['pending']} queued, {states['rejected']} rejected"
    ]
    for item in result["rejected_items"]:
        lines.append(f"  rejected {item['scan_id']}: {item['code']} {json.dumps(item['errors'], ensure_ascii=False)}")
    if states["pending"]:
        lines.append(
            f"  queued on disk, not delivered yet ({failure or 'another process is delivering'}); "
            "`alliance-scanner run` keeps trying"
        )
    _out(args, result, "\n".join(lines))
    if queued["invalid"] or states["rejected"]:
        return 1
    return EX_TEMPFAIL if states["pending"] and not args.queue_only else 0


def cmd_run(args: argparse.Namespace, node: Node) -> int:
    node._portal()  # fail now, not in the loop, when the URL or token is missing
    node.batch_size = max(1, min(args.batch_size, 500))
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())

    def log(message: str) -> None:
        print(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), message, flush=True)

    log(f"delivering from {node.home} to {node.portal.url if node.portal else '?'}")
    node.run(
        stop=stop,
        poll=args.poll,
        backoff=Backoff(minimum=args.min_backoff, maximum=args.max_backoff),
        log=log,
        prune_after=args.keep_delivered_days * 86400,
    )
    log("stopped")
    return 0


def cmd_deliver(args: argparse.Namespace, node: Node) -> int:
    node.batch_size = max(1, min(args.batch_size, 500))
    try:
        report = node.deliver()
    except (Unavailable, Refused, KeyProblem) as exc:
        _out(args, {"error": str(exc), **node.queue.counts()}, f"not delivered: {exc}")
        return EX_TEMPFAIL
    counts = node.queue.counts()
    data = {"created": report.created, "duplicate": report.duplicate, "rejected": report.rejected, **counts}
    _out(
        args,
        data,
        f"{report.created} delivered, {report.duplicate} already stored, {len(report.rejected)} rejected; "
        f"{counts['pending']} pending",
    )
    return EX_TEMPFAIL if counts["pending"] else 0


def cmd_status(args: argparse.Namespace, node: Node) -> int:
    data = node.status()
    q, k, p = data["queue"], data["key"], data["portal"]
    lines = [
        f"queue: {q['pending']} pending, {q['delivered']} delivered, {q['rejected']} rejected",
    ]
    if q["oldest_pending"]:
        age = time.time() - q["oldest_pending"]["enqueued_at"]
        lines.append(
            f"  oldest pending: {q['oldest_pending']['scan_id']} ({age:.0f}s, {q['oldest_pending']['attempts']} tries)"
        )
    if q["last_error"]:
        lines.append(f"  last error: {q['last_error']} ({q['consecutive_failures']} failures in a row)")
    lines.append(
        f"key: {k['kid']}" + (f" (rotation to {k['pending_rotation']} pending)" if k["pending_rotation"] else "")
    )
    if k.get("resolved"):
        lines.append(f"  {k['resolved']}")
    if k.get("problem"):
        lines.append(f"  rotation unresolved: {k['problem']}")
    if p["reachable"]:
        c = p.get("counters") or {}
        lines.append(
            f"portal: node {p.get('node')} at {p.get('port')} ({p.get('status')}); accepted {c.get('accepted')}, "
            f"duplicate {c.get('duplicate')}, rejected {c.get('rejected')}; key "
            + ("matches" if p["key_matches"] else f"MISMATCH (portal: {(p.get('key') or {}).get('kid')})")
        )
    else:
        lines.append(f"portal: unreachable ({p['error']})")
    _out(args, data, "\n".join(lines))
    return 0 if p["reachable"] and p.get("key_matches") else 1


def cmd_rejected(args: argparse.Namespace, node: Node) -> int:
    rows = node.queue.rejected(limit=1000)
    text = "\n".join(f"{r['scan_id']}: {r['code']} {json.dumps(r['errors'], ensure_ascii=False)}" for r in rows)
    _out(args, rows, text or "no rejected scans")
    return 0


def cmd_requeue(args: argparse.Namespace, node: Node) -> int:
    n = node.queue.requeue(args.scan_ids or None)
    _out(args, {"requeued": n}, f"{n} scan(s) pending again")
    return 0


def cmd_keygen(args: argparse.Namespace, node: Node) -> int:
    key = node.keys.create_active()
    x = signing.public_x(key)
    data = {"path": str(node.keys.active_path), "x": x, "kid": kid(key), "public_key_pem": signing.public_pem(key)}
    _out(
        args,
        data,
        f"private key written to {node.keys.active_path} (mode 0600)\n"
        f"{signing.public_pem(key)}x   = {x}\nkid = {kid(key)}\n"
        "register the public key with your agency (manage.py register_node ... --public-key FILE, or the admin page)",
    )
    return 0


def cmd_rotate(args: argparse.Namespace, node: Node) -> int:
    try:
        result = node.rotate_key()
    except Unavailable as exc:
        pending = node.keys.pending()
        message = f"rotation not confirmed ({exc})"
        if pending is not None:
            message += f"; the new key {kid(pending)} is stored and the next command resolves it"
        _out(args, {"error": str(exc), "pending": kid(pending) if pending else None}, message)
        return EX_TEMPFAIL
    except (Refused, KeyProblem) as exc:
        _out(args, {"error": str(exc)}, f"rotation refused: {exc}; the current key stays in use")
        return 1
    text = f"rotated: {result['old_kid']} retired, {result['kid']} active"
    if result["earlier"]:
        text = result["earlier"] + "\n" + text
    _out(args, result, text)
    return 0


COMMANDS = {
    "keygen": cmd_keygen,
    "push": cmd_push,
    "batch": cmd_push,
    "run": cmd_run,
    "deliver": cmd_deliver,
    "status": cmd_status,
    "rejected": cmd_rejected,
    "requeue": cmd_requeue,
    "rotate-key": cmd_rotate,
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if any(a == "--token" or a.startswith("--token=") for a in argv):
        print(f"error: {TOKEN_HINT}", file=sys.stderr)
        return 2
    args = build_parser().parse_args(argv)
    os.umask(0o077)  # the key, the queue and its WAL files are the node's alone
    home = Path(args.home or os.environ.get("ALLIANCE_SCANNER_HOME") or default_home())
    url = args.url or os.environ.get("ALLIANCE_SCANNER_URL")
    token: str | None = None
    token_error: str | None = None
    try:
        token = read_token(args, home)
    except (NotConfigured, OSError) as exc:
        token_error = str(exc)  # only an error for the commands that talk to the portal
    try:
        node = Node(home, url=url, token=token, timeout=args.timeout, unconfigured=token_error)
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        return COMMANDS[args.command](args, node)
    except (NotConfigured, KeyStoreError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        node.close()


if __name__ == "__main__":
    sys.exit(main())
