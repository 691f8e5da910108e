"""Key rotation (`rotate-key`) against the real portal: the new key is on disk before it is registered, and
a rotation interrupted anywhere between the two leaves the node with a key the portal accepts."""

import json
import os
import signal
import stat

import pytest
from alliance_scanner import signing

from ports.models import KeyStatus, SigningKey
from scans.documents import signature_status
from scans.models import Scan

from .helpers import ClientNode, LossyProxy, start_cli, wait_for

pytestmark = [pytest.mark.integration]


def _disk_kids(node: ClientNode) -> dict:
    kids = {}
    for name in ("node.key", "node.key.next"):
        path = node.home / name
        if path.exists():
            assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, name
            key = signing.load_private_pem(path.read_bytes())
            kids[name] = signing.kid_of(signing.public_x(key))
    return kids


def _active_kid(node: ClientNode) -> str:
    return SigningKey.objects.get(node_id=node.id, status=KeyStatus.ACTIVE).kid


def _push(node: ClientNode, **kwargs):
    return node.run("push", "-", "--json", input=json.dumps(node.document(**kwargs)))


def test_a_rotation_retires_the_old_key_and_queued_scans_go_out_with_the_new_one(agency, web, tmp_path):
    web.start()
    node = ClientNode(tmp_path, agency, url=web.url)
    assert _push(node).returncode == 0
    queued = node.run("push", "--queue-only", "-", input=json.dumps(node.document()))
    assert queued.returncode == 0
    result = node.run("rotate-key", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    body = json.loads(result.stdout)
    assert body["old_kid"] == node.kid
    assert _disk_kids(node) == {"node.key": body["kid"]}
    assert _active_kid(node) == body["kid"]
    assert SigningKey.objects.get(kid=node.kid).status == KeyStatus.RETIRED
    assert node.run("deliver").returncode == 0  # the scan queued before the rotation, signed now
    first, second = Scan.objects.filter(node_id=node.id).order_by("scan_id")
    assert first.key.kid == node.kid
    assert second.key.kid == body["kid"]
    assert signature_status(first) == "key_retired"  # signed before: still valid, with a retired key
    assert signature_status(second) == "verified"


def test_rotation_with_the_portal_down_changes_nothing(agency, web, tmp_path):
    node = ClientNode(tmp_path, agency, url=web.url)  # portal not started
    result = node.run("rotate-key", "--json")
    assert result.returncode == 75, result.stdout + result.stderr
    assert _disk_kids(node) == {"node.key": node.kid}  # no half-started rotation
    web.start()
    assert _push(node).returncode == 0
    assert Scan.objects.get(node_id=node.id).key.kid == node.kid


def test_registration_lost_on_the_way_is_finished_by_the_next_run(agency, web, tmp_path):
    web.start()
    proxy = LossyProxy(web.port)
    try:
        node = ClientNode(tmp_path, agency, url=proxy.url)
        proxy.cut("/api/v1/nodes/me/keys/")  # the link dies after the key is stored, before the portal hears
        result = node.run("rotate-key", "--json")
        assert result.returncode == 75, result.stdout + result.stderr
        disk = _disk_kids(node)
        assert disk["node.key"] == node.kid  # the old key stays in place...
        pending = disk["node.key.next"]  # ...and the new one is stored
        assert _active_kid(node) == node.kid
        # Any command that reaches the portal finishes the rotation before it signs anything.
        pushed = _push(node)
        assert pushed.returncode == 0, pushed.stdout + pushed.stderr
    finally:
        proxy.close()
    assert _disk_kids(node) == {"node.key": pending}
    assert _active_kid(node) == pending
    assert Scan.objects.get(node_id=node.id).key.kid == pending


def test_rotation_registered_but_answer_lost_is_kept_on_the_next_run(agency, web, tmp_path):
    web.start()
    proxy = LossyProxy(web.port)
    try:
        node = ClientNode(tmp_path, agency, url=proxy.url)
        proxy.drop("/api/v1/nodes/me/keys/")  # the portal registers the key; the node hears nothing
        result = node.run("rotate-key", "--json")
        assert result.returncode == 75, result.stdout + result.stderr
        pending = _disk_kids(node)["node.key.next"]
        assert _active_kid(node) == pending  # the portal switched; the old key on disk is now retired
        status = node.status()
        assert status["key"]["resolved"].startswith("rotation finished")
        assert status["portal"]["key_matches"] is True
        assert _disk_kids(node) == {"node.key": pending}
        assert _push(node).returncode == 0
    finally:
        proxy.close()
    assert Scan.objects.get(node_id=node.id).key.kid == pending


def test_a_rotation_killed_between_storing_and_registering_leaves_a_usable_key(agency, web, tmp_path):
    web.start()
    proxy = LossyProxy(web.port)
    try:
        node = ClientNode(tmp_path, agency, url=proxy.url)
        proxy.hold("/api/v1/nodes/me/keys/")  # the registration request never reaches the portal
        rotating = start_cli(node.home, proxy.url, "rotate-key", log=tmp_path / "rotate.log")
        assert proxy.held.wait(60)
        rotating.send_signal(signal.SIGKILL)  # the process dies mid-rotation
        rotating.wait(10)
        disk = _disk_kids(node)
        assert disk["node.key"] == node.kid
        pending = disk["node.key.next"]
        assert _active_kid(node) == node.kid
        # The next run (here the delivery daemon) finishes the rotation, then delivers.
        queued = node.run("push", "--queue-only", "-", input=json.dumps(node.document()))
        assert queued.returncode == 0
        daemon = start_cli(node.home, proxy.url, "run", "--poll", "0.2", log=tmp_path / "run.log")
        try:
            wait_for(lambda: Scan.objects.filter(node_id=node.id).exists(), what="the queued scan")
        finally:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(30)
    finally:
        proxy.close()
    assert _active_kid(node) == pending
    assert _disk_kids(node) == {"node.key": pending}
    assert Scan.objects.get(node_id=node.id).key.kid == pending
    assert "rotation finished" in (tmp_path / "run.log").read_text()


def test_a_pending_key_the_portal_refuses_is_rolled_back(agency, web, tmp_path):
    web.start()
    node = ClientNode(tmp_path, agency, url=web.url)
    other = ClientNode(tmp_path, agency, node_id="beanr-xr-02", url=web.url)
    # A pending key the portal can never accept: it is already registered to another node.
    (node.home / "node.key.next").write_bytes((other.home / "node.key").read_bytes())
    (node.home / "node.key.next").chmod(0o600)
    result = _push(node)
    assert result.returncode == 0, result.stdout + result.stderr
    assert _disk_kids(node) == {"node.key": node.kid}
    assert _active_kid(node) == node.kid
    assert Scan.objects.get(node_id=node.id).key.kid == node.kid


def test_keys_the_portal_does_not_know_keep_scans_queued_and_both_files(agency, web, tmp_path):
    web.start()
    node = ClientNode(tmp_path, agency, url=web.url)
    # The agency registers another key for the node (say, after a hardware swap): neither file is active.
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from ports.services import node_register

    node_register(node_id=node.id, agency=agency, public_key=signing.public_x(Ed25519PrivateKey.generate()))
    result = _push(node)
    assert result.returncode == 75
    assert "key" in json.loads(result.stdout)["error"]
    assert Scan.objects.filter(node_id=node.id).count() == 0
    assert node.status()["queue"]["pending"] == 1
    refused = node.run("rotate-key")
    assert refused.returncode == 1
    assert _disk_kids(node) == {"node.key": node.kid}
