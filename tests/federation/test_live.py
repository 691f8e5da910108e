"""Three real instances (`be`, `nl`, `europol`), each with its own PostgreSQL database, web server, Celery worker
and beat, peered as `make federation` peers them (SPEC sections 10.1 and 10.2). The sync runs on beat at its
default interval (10 s); nothing here calls it directly."""

import base64
import contextlib
import importlib.util
import json
import os
import subprocess
import time
from pathlib import Path

import psycopg
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ports.instance import verify_instance_document
from ports.keys import b64url_decode

from ..sharing.conftest import alert_fields

pytestmark = [pytest.mark.integration, pytest.mark.postgres]
ROOT = Path(__file__).resolve().parents[2]
SYNC_DEADLINE = 30.0  # SPEC/issue: an alert reaches the peer within 30 s


def _harness():
    spec = importlib.util.spec_from_file_location("federation_local", ROOT / "scripts" / "federation_local.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _databases(names: list[str]) -> dict[str, str]:
    admin = os.environ.get("PG_ADMIN_URL")
    if not admin:
        pytest.fail("PG_ADMIN_URL is not set: run through scripts/test.sh")
    base = admin.rsplit("/", 1)[0]
    with psycopg.connect(admin, autocommit=True) as conn:
        for name in names:
            conn.execute(f'DROP DATABASE IF EXISTS "fed_{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "fed_{name}"')
    return {name: f"{base}/fed_{name}" for name in names}


@contextlib.contextmanager
def running_federation(base: Path, *, env: dict[str, dict[str, str]] | None = None):
    """Three instances prepared, started and peered, stopped afterwards. `env`: extra environment per instance."""
    from tests.conftest import _STARTED, RedisServer

    redis = RedisServer(base).start()
    harness = _harness()
    urls = _databases(list(harness.HOMES))
    secrets = {
        "SECRET_KEY": os.environ.get("SECRET_KEY", "fed-tests"),
        "ALLIANCE_KEK": os.environ.get("ALLIANCE_KEK", "fed-tests-kek"),
        "DEMO_PASSWORD": "demo-password-for-tests",
    }
    fed = harness.Federation.make(
        base, urls, redis.url.rsplit("/", 1)[0], secrets, extra_env={"FEDERATION_SETTINGS": "alliance.settings.test"}
    )
    for instance in fed.instances.values():
        instance.extra_env["DJANGO_SETTINGS_MODULE"] = "alliance.settings.test"
        instance.extra_env.update((env or {}).get(instance.id, {}))
    try:
        fed.prepare()
        fed.start()
        fed.peer()
        for instance in fed.instances.values():
            _STARTED.extend(instance.procs.values())
        fed.tokens = _tokens(fed)
        yield fed
    finally:
        fed.stop()
        redis.stop()


@pytest.fixture(scope="module")
def federation(tmp_path_factory):
    with running_federation(tmp_path_factory.mktemp("federation")) as fed:
        yield fed


def _tokens(fed) -> dict[tuple[str, str], str]:
    """Personal tokens of the demo members we act as, at their home instance."""
    wanted = {
        "be": ["antwerp.officer"],
        "nl": ["rotterdam.analyst", "rotterdam.officer", "rotterdam.terminal"],
        "europol": ["europol.analyst", "europol.liaison"],
    }
    tokens = {}
    for instance_id, usernames in wanted.items():
        code = (
            "from django.contrib.auth import get_user_model\n"
            "from ports.services import token_issue\n"
            f"for name in {usernames!r}:\n"
            "    _, raw = token_issue(user=get_user_model().objects.get(username=name), name='fed-test')\n"
            "    print(name, raw)\n"
        )
        for line in fed.instances[instance_id].shell(code).strip().splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0] in usernames:
                tokens[(instance_id, parts[0])] = parts[1]
    return tokens


def _api(fed, instance_id: str, username: str):
    session = requests.Session()
    session.headers["Authorization"] = f"Token {fed.tokens[(instance_id, username)]}"
    base = fed.instances[instance_id].url
    return base, session


def publish(fed, **fields) -> dict:
    base, session = _api(fed, "be", "antwerp.officer")
    response = session.post(f"{base}/api/v1/alerts/", json=alert_fields(**fields), timeout=30)
    assert response.status_code == 201, response.text
    return response.json()


def new_version(fed, alert_id: str, **fields) -> dict:
    base, session = _api(fed, "be", "antwerp.officer")
    response = session.post(f"{base}/api/v1/alerts/{alert_id}/versions/", json=fields, timeout=30)
    assert response.status_code == 201, response.text
    return response.json()


def read(fed, instance_id: str, username: str, alert_id: str) -> requests.Response:
    base, session = _api(fed, instance_id, username)
    return session.get(f"{base}/api/v1/alerts/{alert_id}/", timeout=30)


def wait_for(check, timeout: float, what: str) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if check():
            return time.monotonic() - started
        time.sleep(0.5)
    pytest.fail(f"{what}: not within {timeout} s")


def figures(fed, instance_id: str) -> dict:
    code = (
        "import json\nfrom federation.selectors import peer_figures\n"
        "print(json.dumps({f.peer: f.as_dict() for f in peer_figures()}))"
    )
    return json.loads(fed.instances[instance_id].shell(code).strip().splitlines()[-1])


def synced_after(fed, instance_id: str, peer: str, moment: str) -> bool:
    last = figures(fed, instance_id)[peer]["last_success"]
    return bool(last) and last > moment


def _now() -> str:
    from django.utils import timezone

    return timezone.now().isoformat().replace("+00:00", "Z")


def test_amber_for_rotterdam_customs_reaches_nl_verifies_there_and_never_reaches_europol(federation, tmp_path):
    fed = federation
    amber = publish(fed, tlp="AMBER", audience={"agencies": ["nlrtm-customs"], "ports": [], "users": []})
    published = _now()
    took = wait_for(
        lambda: read(fed, "nl", "rotterdam.analyst", amber["id"]).status_code == 200,
        SYNC_DEADLINE,
        "the AMBER alert at nl",
    )
    print(f"AMBER alert reached nl in {took:.1f} s")
    at_nl = read(fed, "nl", "rotterdam.analyst", amber["id"]).json()
    assert at_nl["jws"] == amber["jws"]
    assert at_nl["signature_status"] == "verified"
    # Only Rotterdam customs at nl reads it; the terminal operator there does not.
    assert read(fed, "nl", "rotterdam.terminal", amber["id"]).status_code == 404

    # Verify with the keys of be's signed instance document (its portal key pinned as nl pinned it) ...
    be = fed.instances["be"]
    document = requests.get(be.url + "/.well-known/alliance-instance.json", timeout=30).text
    verified = verify_instance_document(document, be.portal_kid())
    header, payload, signature = at_nl["jws"].split(".")
    kid = json.loads(b64url_decode(header))["kid"]
    jwk = next(k for k in verified.payload["keys"] if k["kid"] == kid)
    assert jwk["owner"] == "beanr-customs"
    assert jwk["status"] == "active"
    public = Ed25519PublicKey.from_public_bytes(b64url_decode(jwk["x"]))
    public.verify(b64url_decode(signature), f"{header}.{payload}".encode())
    # ... and with openssl, knowing nothing of ours.
    (tmp_path / "key.pem").write_bytes(
        public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    (tmp_path / "input").write_bytes(f"{header}.{payload}".encode())
    (tmp_path / "sig").write_bytes(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)))
    result = subprocess.run(
        ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", "key.pem", "-rawin", "-in", "input", "-sigfile", "sig"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Signature Verified Successfully" in result.stdout

    # europol pulled from be since (a full round later), and holds nothing of it; be counted why.
    wait_for(lambda: synced_after(fed, "europol", "be", published), 60, "a europol round after the publish")
    assert read(fed, "europol", "europol.analyst", amber["id"]).status_code == 404
    assert read(fed, "europol", "europol.liaison", amber["id"]).status_code == 404
    assert (
        fed.instances["europol"]
        .shell(f"from sharing.models import Alert\nprint(Alert.objects.filter(pk='{amber['id']}').exists())")
        .strip()
        .endswith("False")
    )
    assert figures(fed, "be")["europol"]["reasons"]["left_out"].get("audience:no-home-reader", 0) >= 1


def test_narrowing_and_withdrawal_reach_every_instance_that_held_the_alert(federation):
    fed = federation
    green = publish(fed, tlp="GREEN", title="Green, then narrowed")
    for instance_id, user in (("nl", "rotterdam.terminal"), ("europol", "europol.analyst")):
        wait_for(
            lambda i=instance_id, u=user: read(fed, i, u, green["id"]).status_code == 200,
            SYNC_DEADLINE,
            f"the GREEN alert at {instance_id}",
        )
    new_version(fed, green["id"], tlp="AMBER", audience={"agencies": ["nlrtm-customs"], "ports": [], "users": []})
    # europol may no longer read it: a tombstone removes its copy. nl holds version 2, for its customs only.
    wait_for(
        lambda: read(fed, "europol", "europol.analyst", green["id"]).status_code == 404,
        SYNC_DEADLINE,
        "the tombstone at europol",
    )
    wait_for(
        lambda: read(fed, "nl", "rotterdam.analyst", green["id"]).json().get("version") == 2,
        SYNC_DEADLINE,
        "version 2 at nl",
    )
    assert read(fed, "nl", "rotterdam.terminal", green["id"]).status_code == 404
    assert (
        fed.instances["europol"]
        .shell(
            "from federation.models import ReceivedTombstone\n"
            f"print(ReceivedTombstone.objects.get(object_id='{green['id']}').reason)"
        )
        .strip()
        .endswith("audience")
    )
    new_version(fed, green["id"], status="withdrawn")
    wait_for(
        lambda: read(fed, "nl", "rotterdam.analyst", green["id"]).json().get("status") == "withdrawn",
        SYNC_DEADLINE,
        "the withdrawal at nl",
    )


def test_a_retention_purge_reaches_the_peers(federation):
    fed = federation
    old = publish(fed, tlp="GREEN", title="Old enough to purge")
    wait_for(
        lambda: read(fed, "nl", "rotterdam.terminal", old["id"]).status_code == 200, SYNC_DEADLINE, "the alert at nl"
    )
    fed.instances["be"].shell(
        "from datetime import timedelta\nfrom django.test import override_settings\nfrom django.utils import timezone\n"
        "from sharing.models import Alert\nfrom retention.services import purge_expired\n"
        f"Alert.objects.filter(pk='{old['id']}').update(created_at=timezone.now() - timedelta(days=4000))\n"
        "with override_settings(RETENTION_DAYS_ALERTS=3650):\n    purge_expired()\n"
    )
    for instance_id, user in (("nl", "rotterdam.terminal"), ("europol", "europol.analyst")):
        wait_for(
            lambda i=instance_id, u=user: read(fed, i, u, old["id"]).status_code == 404,
            SYNC_DEADLINE,
            f"the purge at {instance_id}",
        )


def test_nl_stopped_and_restarted_catches_up_with_nothing_lost_or_duplicated(federation):
    fed = federation
    nl = fed.instances["nl"]
    nl.stop()
    titles = [f"While nl was down {n}" for n in range(40)]
    ids = [publish(fed, tlp="GREEN", title=title)["id"] for title in titles]
    nl.start()
    nl.wait_web()
    count = (
        "from sharing.models import Alert, AlertVersion\n"
        f"ids = {ids!r}\n"
        "print(Alert.objects.filter(pk__in=ids).count(), AlertVersion.objects.filter(alert_id__in=ids).count())"
    )
    wait_for(lambda: nl.shell(count).strip().splitlines()[-1] == "40 40", 90, "nl catching up after a restart")


def test_be_unreachable_is_an_error_on_nl_then_caught_up(federation):
    fed = federation
    be = fed.instances["be"]
    started = _now()
    be.stop("web")  # nl's pulls fail: connection refused
    wait_for(
        lambda: (figures(fed, "nl")["be"]["last_error"] or {}).get("at", "") > started, 60, "the error recorded at nl"
    )
    error = figures(fed, "nl")["be"]["last_error"]["message"]
    assert "cannot reach the peer" in error
    be.start_web()
    be.wait_web()
    late = publish(fed, tlp="GREEN", title="After the cut")
    wait_for(
        lambda: read(fed, "nl", "rotterdam.terminal", late["id"]).status_code == 200, SYNC_DEADLINE, "nl after the cut"
    )
