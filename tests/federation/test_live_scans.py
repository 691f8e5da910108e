"""Scans, feedback and RED between real instances (the fixtures of test_live.py: each instance with its own
PostgreSQL database, web server, worker and beat; the sync on beat).

- A suspect scan pushed at `be` (BEANR) with next port NLRTM creates at `nl` the delivery to Rotterdam customs,
  the webhook send and the correlation with Rotterdam's alert on the same container; the node's signature
  verifies there; it never reaches `europol`.
- Feedback from `nl` reaches the alert's author at `be`, signed by the reporting agency.
- A RED alert naming one `nl` member reaches only `nl`, and only that member reads it."""

import json
import uuid

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ports import signing
from ports.keys import public_x, thumbprint

from ..scans.helpers import iso6346, now_z
from ..sharing.conftest import alert_fields
from .test_live import _api, federation, publish, read, synced_after, wait_for  # noqa: F401 - the module's fixture

pytestmark = [pytest.mark.integration, pytest.mark.postgres]
SYNC_DEADLINE = 30.0


def _now() -> str:
    from django.utils import timezone

    return timezone.now().isoformat().replace("+00:00", "Z")


def last_line(output: str) -> str:
    return output.strip().splitlines()[-1]


def test_suspect_scan_at_beanr_for_nlrtm_is_delivered_hooked_and_correlated_at_nl(federation):  # noqa: F811
    fed = federation
    be, nl, europol = fed.instances["be"], fed.instances["nl"], fed.instances["europol"]
    container = iso6346(f"TGHU{uuid.uuid4().int % 1_000_000:06d}")

    # A scanner node at Antwerp with its own key (the portal knows only the public part).
    private = Ed25519PrivateKey.generate()
    x = public_x(private.public_key())
    node_token = last_line(
        be.shell(
            "from ports.models import Agency\nfrom ports.services import node_register\n"
            "node, token = node_register(node_id='beanr-fed-01', agency=Agency.objects.get(slug='beanr-customs'), "
            f"public_key={x!r})\nprint(token)"
        )
    )
    # Rotterdam customs at nl: a webhook endpoint, and an alert naming the container.
    nl.shell(
        "from ports.models import Agency, Membership\nfrom webhooks.models import Endpoint\n"
        "officer = Membership.objects.get(user__username='rotterdam.officer')\n"
        "Endpoint.objects.create(agency=officer.agency, url='https://hooks.nl.example/alliance', created_by=officer)"
    )
    base, officer = _api(fed, "nl", "rotterdam.officer")
    response = officer.post(
        f"{base}/api/v1/alerts/", json=alert_fields(tlp="AMBER", containers=[container]), timeout=30
    )
    assert response.status_code == 201, response.text
    alert_id = response.json()["id"]

    document = {
        "scan_id": f"fed-{uuid.uuid4().hex[:12]}",
        "node": "beanr-fed-01",
        "port": "BEANR",
        "scanned_at": now_z(),
        "container": container,
        "origin": "ECGYE",
        "mode": "transshipment",
        "verdict": "suspect",
        "next_port": "NLRTM",
    }
    jws = signing.sign_with_private_key(document, private, thumbprint(x), "scan+json")
    pushed = requests.post(
        f"{be.url}/api/v1/scans/", json={"jws": jws}, headers={"Authorization": f"Token {node_token}"}, timeout=30
    )
    assert pushed.status_code == 201, pushed.text

    base, analyst = _api(fed, "nl", "rotterdam.analyst")

    def delivered() -> dict | None:
        page = analyst.get(f"{base}/api/v1/deliveries/", timeout=30).json()
        rows = page.get("results", page) if isinstance(page, dict) else page
        return next((d for d in rows if d["scan"]["scan_id"] == document["scan_id"]), None)

    took = wait_for(lambda: delivered() is not None, SYNC_DEADLINE, "the delivery at nl")
    print(f"the scan was delivered at nl {took:.1f} s after the push at be")
    scan_id = delivered()["scan"]["id"]
    scan = analyst.get(f"{base}/api/v1/scans/{scan_id}/", timeout=30).json()
    assert scan["jws"] == jws  # the node's signature, byte for byte
    assert scan["signature_status"] == "verified"

    def correlated() -> bool:
        page = analyst.get(f"{base}/api/v1/correlations/", timeout=30).json()
        return container in json.dumps(page) and alert_id in json.dumps(page)

    wait_for(correlated, 30, "the correlation at nl")
    hooked = (
        "from webhooks.models import WebhookDelivery\n"
        f"print(WebhookDelivery.objects.filter(delivery__scan__scan_id={document['scan_id']!r}, "
        "endpoint__agency__slug='nlrtm-customs').count())"
    )
    wait_for(lambda: last_line(nl.shell(hooked)) == "1", 30, "the webhook send at nl")

    # The terminal operator at nl reads none of it; europol never holds the scan.
    base, terminal = _api(fed, "nl", "rotterdam.terminal")
    assert terminal.get(f"{base}/api/v1/scans/{scan_id}/", timeout=30).status_code in (403, 404)  # private sector
    held = f"from scans.models import Scan\nprint(Scan.objects.filter(scan_id={document['scan_id']!r}).count())"
    assert last_line(europol.shell(held)) == "0"
    assert last_line(nl.shell(held)) == "1"


def test_feedback_from_nl_reaches_the_alerts_author_at_be(federation):  # noqa: F811
    fed = federation
    amber = publish(fed, tlp="AMBER", audience={"agencies": ["nlrtm-customs"], "ports": [], "users": []})
    wait_for(lambda: read(fed, "nl", "rotterdam.analyst", amber["id"]).status_code == 200, SYNC_DEADLINE, "alert")
    base, analyst = _api(fed, "nl", "rotterdam.analyst")
    sent = analyst.post(
        f"{base}/api/v1/alerts/{amber['id']}/feedback/", json={"outcome": "seized", "seized_kg": 12.5}, timeout=30
    )
    assert sent.status_code == 201, sent.text
    assert sent.json()["signature_status"] == "verified"
    base, author = _api(fed, "be", "antwerp.officer")

    def at_be() -> list:
        response = author.get(f"{base}/api/v1/alerts/{amber['id']}/feedback/", timeout=30)
        return response.json()["results"] if response.status_code == 200 else []

    took = wait_for(lambda: bool(at_be()), SYNC_DEADLINE, "the feedback at be")
    print(f"feedback reached be in {took:.1f} s")
    [item] = at_be()
    assert item["jws"] == sent.json()["jws"]  # the reporting agency's signature, unchanged
    assert (item["signature_status"], item["agency"], item["outcome"]) == ("verified", "nlrtm-customs", "seized")
    held = f"from sharing.models import Feedback\nprint(Feedback.objects.filter(alert_id={amber['id']!r}).count())"
    assert last_line(fed.instances["europol"].shell(held)) == "0"


def test_red_naming_one_nl_member_reaches_only_nl_and_only_that_member_reads_it(federation):  # noqa: F811
    fed = federation
    nl, europol = fed.instances["nl"], fed.instances["europol"]
    handle = last_line(
        nl.shell(
            "from ports.models import Membership\nprint(Membership.objects.get(user__username='rotterdam.analyst').handle)"
        )
    )
    alert = publish(fed, tlp="RED", audience={"agencies": [], "ports": [], "users": [handle]})
    published = _now()
    took = wait_for(
        lambda: read(fed, "nl", "rotterdam.analyst", alert["id"]).status_code == 200, SYNC_DEADLINE, "RED at nl"
    )
    print(f"the RED alert reached its named member at nl in {took:.1f} s")
    at_nl = read(fed, "nl", "rotterdam.analyst", alert["id"]).json()
    assert (at_nl["jws"], at_nl["signature_status"]) == (alert["jws"], "verified")
    for username in ("rotterdam.officer", "rotterdam.terminal"):  # the same agency, the same port
        assert read(fed, "nl", username, alert["id"]).status_code == 404, username
    wait_for(lambda: synced_after(fed, "europol", "be", published), 60, "a europol round after the publish")
    held = f"from sharing.models import Alert\nprint(Alert.objects.filter(pk={alert['id']!r}).exists())"
    assert last_line(europol.shell(held)) == "False"
    assert read(fed, "europol", "europol.analyst", alert["id"]).status_code == 404
