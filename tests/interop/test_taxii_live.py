"""Against a live gunicorn: the OASIS taxii2-client end to end, authentication, the exact media type, the cursor
under concurrent writers and across a restart, and every snippet of docs/interop.md."""

import json
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests
from django.db import connection, transaction
from taxii2client.v21 import ApiRoot, Collection, Server, as_pages

from interop import stix
from scans.services.relay import relay_batch
from sharing.services.alerts import alert_publish
from tests.conftest import WebServer
from tests.scans.helpers import Node

from .conftest import ALERTS, TAXII, alert_fields, token_for

pytestmark = pytest.mark.integration
DOCS = Path(__file__).resolve().parents[2] / "docs" / "interop.md"


def _get(url: str, token: str, **params):
    headers = {"Accept": TAXII, "Authorization": f"Token {token}"}
    return requests.get(url, headers=headers, params=params, timeout=30)


def test_taxii2_client_end_to_end(transactional_db, cast, make_agency, redis_server, tmp_path):
    author = cast["memberships"]["author"]
    alerts = [alert_publish(membership=author, data=alert_fields(title=f"Alert {n}")) for n in range(12)]
    node = Node("beanr-xr-live", make_agency("beanr-customs"))
    scan = node.push(verdict="suspect").json()
    relay_batch(scan_ids=[scan["id"]])
    token = token_for(cast["users"]["colleague"])
    web = WebServer(redis_server.url, tmp_path / "web.log").start()
    try:
        server = Server(web.url + "/taxii2/", user="anyone", password=token)
        root: ApiRoot = server.default
        assert root.url == web.url + "/taxii2/alliance/"
        assert [c.title for c in root.collections] == ["alerts", "scans"]
        collection: Collection = next(c for c in root.collections if c.title == "alerts")
        assert collection.can_read
        assert not collection.can_write
        reports = collection.get_objects(type="report")["objects"]
        assert {r["id"] for r in reports} == {stix.report_id("alert", a.pk) for a in alerts}
        manifest = collection.get_manifest()["objects"]
        assert {m["id"] for m in manifest} >= {r["id"] for r in reports}
        one = collection.get_object(reports[0]["id"])["objects"]
        assert one == [reports[0]]
        assert collection.object_versions(reports[0]["id"])["versions"] == [reports[0]["modified"]]
        paged = [o for envelope in as_pages(collection.get_objects, per_request=5) for o in envelope["objects"]]
        assert len(paged) == len({o["id"] for o in paged}) >= 12
        scans = next(c for c in root.collections if c.title == "scans").get_objects(type="x-alliance-scan")
        assert [o["id"] for o in scans["objects"]] == [stix.scan_id(scan["id"])]

        # Authentication: Token, Bearer, Basic (any user name); a node token gets 403, nothing 401.
        url = web.url + ALERTS
        for header in (f"Token {token}", f"Bearer {token}"):
            assert requests.get(url, headers={"Accept": TAXII, "Authorization": header}, timeout=30).status_code == 200
        assert requests.get(url, headers={"Accept": TAXII}, auth=("x", token), timeout=30).status_code == 200
        assert requests.get(url, headers={"Accept": TAXII}, timeout=30).status_code == 401
        node_answer = requests.get(url, headers={"Accept": TAXII, "Authorization": f"Token {node.token}"}, timeout=30)
        assert node_answer.status_code == 403
        assert node_answer.json()["http_status"] == "403"
        # The exact media type; read-only.
        for accept in ("application/json", "application/taxii+json", "application/taxii+json;version=2.0", "*/*"):
            answer = requests.get(url, headers={"Accept": accept, "Authorization": f"Token {token}"}, timeout=30)
            assert answer.status_code == 406, accept
        ok = _get(url + "objects/", token)
        assert ok.headers["Content-Type"] == TAXII
        assert ok.headers["X-TAXII-Date-Added-First"] <= ok.headers["X-TAXII-Date-Added-Last"]
        headers = {"Accept": TAXII, "Authorization": f"Token {token}", "Content-Type": TAXII}
        assert requests.post(url + "objects/", data="{}", headers=headers, timeout=30).status_code == 403
        assert requests.put(url, data="{}", headers=headers, timeout=30).status_code == 405

        _run_docs(web.url, token, one[0], tmp_path)
    finally:
        web.stop()


def _run_docs(base: str, token: str, report: dict, tmp_path: Path) -> None:
    text = DOCS.read_text()
    snippets = re.findall(r"```python taxii-test\n(.*?)```", text, re.S)
    assert len(snippets) == 2
    report_file = tmp_path / "report.json"
    report_file.write_text(json.dumps(report))
    env = {"TAXII_URL": base, "TAXII_TOKEN": token, "STIX_OBJECT_FILE": str(report_file), "PATH": "/usr/bin:/bin"}
    outputs = []
    for code in snippets:
        done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout)
    assert re.match(r"\d+ reports; resume from \d+", outputs[0])
    assert outputs[1].strip() == f"verified: {report['name']}"
    # The OpenCTI settings name a collection this server serves under that id.
    opencti = re.search(r"```opencti\n(.*?)```", text, re.S).group(1)
    collection_id = re.search(r"TAXII Collection: (\S+)", opencti).group(1)
    assert _get(f"{base}/taxii2/alliance/collections/{collection_id}/", token).json()["title"] == "alerts"
    # A tampered document no longer verifies offline.
    report["extensions"][stix.EXTENSION_ID]["jws"] = report["extensions"][stix.EXTENSION_ID]["jws"][:-4] + "AAAA"
    report_file.write_text(json.dumps(report))
    done = subprocess.run([sys.executable, "-c", snippets[1]], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0


def _writer(membership, batches: list[int], errors: list) -> None:
    try:
        for size in batches:
            with transaction.atomic():  # several alerts in one transaction, numbered together after commit
                for _ in range(size):
                    alert_publish(membership=membership, data=alert_fields(tlp="GREEN"))
    except Exception as exc:  # noqa: BLE001 - reported by the test
        errors.append(exc)
    finally:
        connection.close()


def _page_all(url: str, token: str, cursor: str | None, seen: list[str]) -> str:
    while True:
        body = _get(url + "objects/", token, limit=7, **({"next": cursor} if cursor else {})).json()
        seen += [o["id"] for o in body["objects"] if o["type"] == "report"]
        cursor = body["next"]
        if not body["more"]:
            return cursor


def test_cursor_never_skips_under_concurrent_writers_and_survives_a_restart(
    transactional_db, cast, make_member, redis_server, tmp_path
):
    officers = [cast["memberships"]["author"], cast["memberships"]["hamburg_customs"]]
    officers += [
        make_member(f"writer{n}", slug, "officer") for n, slug in enumerate(["nlrtm-customs", "esvlc-customs"])
    ]
    token = token_for(cast["users"]["rotterdam_police"])
    web = WebServer(redis_server.url, tmp_path / "web.log").start()
    url = web.url + ALERTS
    seen: list[str] = []
    errors: list = []
    try:
        writers = [threading.Thread(target=_writer, args=(m, [1, 3, 1, 2, 1, 4, 1], errors)) for m in officers]
        for thread in writers:
            thread.start()
        cursor = None
        while any(t.is_alive() for t in writers):
            cursor = _page_all(url, token, cursor, seen)
        for thread in writers:
            thread.join()
        assert not errors, errors
        cursor = _page_all(url, token, cursor, seen)
        everything: list[str] = []
        _page_all(url, token, None, everything)
        assert len(everything) == 4 * 13
        assert len(seen) == len(set(seen))  # no duplicate
        assert set(seen) == set(everything)  # nothing skipped
    finally:
        web.stop()
    # A restarted server continues from the handed-out `next`: only what came after, nothing in memory.
    later = [alert_publish(membership=officers[0], data=alert_fields(tlp="GREEN")) for _ in range(3)]
    web = WebServer(redis_server.url, tmp_path / "web2.log").start()
    try:
        resumed: list[str] = []
        _page_all(web.url + ALERTS, token, cursor, resumed)
        assert resumed == [stix.report_id("alert", a.pk) for a in later]
    finally:
        web.stop()
