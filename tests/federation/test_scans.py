"""Scans across instances (SPEC 10.2): offered to the peer whose home agencies section 6 relays them to, and at
the receiving instance stored with the node's JWS and relayed like a local push: delivery, webhook, correlation."""

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import access
from correlation.models import Correlation
from federation import services
from federation.models import Direction, FederatedCopy, Peer, PeerReason
from federation.services import apply_objects, peer_add
from interop import stix
from interop.models import FeedKind
from interop.services import sequence_all
from ports import signing
from ports.auth import PeerPrincipal
from ports.instance import instance_document
from ports.keys import public_jwk, public_x
from ports.models import Agency, KeyStatus, ScannerNode, SigningKey
from scans import documents as scan_documents
from scans.models import Delivery, Scan
from scans.services.relay import relay_batch
from sharing.services.alerts import alert_publish
from webhooks.models import Endpoint, WebhookDelivery

from ..scans.helpers import Node, iso6346, now_z
from ..sharing.conftest import alert_fields
from .conftest import Origin

pytestmark = pytest.mark.django_db

CONTAINER = iso6346("TGHU777001")


class NodeOrigin(Origin):
    """An instance with scanner nodes too: their keys in its signed document, each naming the node's agency."""

    def __init__(self, *args, nodes: dict[str, str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.nodes = {node_id: (slug, Ed25519PrivateKey.generate()) for node_id, slug in (nodes or {}).items()}
        self.counter = 0

    def node_kid(self, node_id: str) -> str:
        return public_jwk(public_x(self.nodes[node_id][1].public_key()))["kid"]

    def document(self, signer=None) -> str:
        payload = stix.signed_document(super().document(signer))
        for node_id, (slug, key) in self.nodes.items():
            jwk = public_jwk(public_x(key.public_key()))
            status = self.key_status.get(jwk["kid"], "active")
            payload["keys"].append({**jwk, "owner": f"node:{node_id}", "agency": slug, "status": status})
        signer = signer or self.portal
        kid = public_jwk(public_x(signer.public_key()))["kid"]
        return signing.sign_with_private_key(payload, signer, kid, "instance+json")

    def scan(self, node_id: str, *, key_node: str | None = None, **fields) -> dict:
        self.counter += 1
        port = Agency.objects.get(slug=self.nodes[node_id][0]).port_id
        doc = {
            "scan_id": f"{node_id}-{self.counter:06d}",
            "node": node_id,
            "port": port,
            "scanned_at": now_z(),
            "container": CONTAINER,
            "origin": "ECGYE",
            "mode": "transshipment",
            "verdict": "suspect",
            "next_port": "NLRTM",
            **fields,
        }
        signer = key_node or node_id
        jws = signing.sign_with_private_key(doc, self.nodes[signer][1], self.node_kid(signer), "scan+json")
        return {
            "type": stix.SCAN_TYPE,
            "spec_version": "2.1",
            "id": stix.scan_id(doc["scan_id"]),
            "extensions": {stix.EXTENSION_ID: {"extension_type": "new-sdo", "document": doc, "jws": jws}},
        }


def refused(peer_id: str) -> dict:
    return {r.reason: r.count for r in PeerReason.objects.filter(peer_id=peer_id, direction=Direction.IN)}


# ---------------------------------------------------------------- at `nl`: a scan relayed from `be`


@pytest.fixture
def be(at_nl, cast):
    origin = NodeOrigin(
        "be", "http://be.test", list(Agency.objects.filter(port_id="BEANR")), nodes={"beanr-xr-01": "beanr-customs"}
    )
    peer_add(peer_id="be", url=origin.url, key_thumbprint=origin.portal_kid, document_jws=origin.document())
    origin.peer = Peer.objects.get(pk="be")
    return origin


@pytest.fixture
def rotterdam(cast, make_member):
    """Rotterdam customs at `nl`: an officer whose alert names the container, and the agency's webhook."""
    officer = make_member("rotterdam.officer", "nlrtm-customs", "officer")
    alert = alert_publish(membership=officer, data=alert_fields(tlp="AMBER", containers=[CONTAINER]))
    endpoint = Endpoint.objects.create(
        agency=officer.agency, url="https://hooks.nl.example/alliance", created_by=officer
    )
    return {"officer": officer, "alert": alert, "endpoint": endpoint}


def relay(django_capture_on_commit_callbacks, scan_ids) -> int:
    """What the worker does with the relay task queued on commit (after-commit hooks run: webhooks)."""
    with django_capture_on_commit_callbacks(execute=True):
        return relay_batch(scan_ids=scan_ids)


def test_the_node_and_its_key_are_learnt_as_references(be):
    node = ScannerNode.objects.get(pk="beanr-xr-01")
    assert node.agency.slug == "beanr-customs"
    key = SigningKey.objects.get(kid=be.node_kid("beanr-xr-01"))
    assert (key.node_id, key.held_by_portal, key.status) == ("beanr-xr-01", False, KeyStatus.ACTIVE)


def test_suspect_scan_for_rotterdam_makes_delivery_webhook_and_correlation_at_nl(
    be, rotterdam, cast, django_capture_on_commit_callbacks
):
    obj = be.scan("beanr-xr-01")
    result = apply_objects(be.peer, [obj])
    assert (result.applied, result.refused) == (1, {})
    scan = Scan.objects.get(node_id="beanr-xr-01")
    # The node's signature travels unchanged and verifies here.
    assert scan.jws == obj["extensions"][stix.EXTENSION_ID]["jws"]
    assert scan_documents.signature_status(scan) == "verified"
    assert FederatedCopy.objects.get(kind="scan", object_id=scan.pk).origin == "be"

    assert relay(django_capture_on_commit_callbacks, [scan.pk]) == 1
    customs = Agency.objects.get(slug="nlrtm-customs")
    delivery = Delivery.objects.get(scan=scan, agency=customs)
    assert delivery.reason == "route"
    assert WebhookDelivery.objects.filter(delivery=delivery, endpoint=rotterdam["endpoint"]).count() == 1
    correlation = Correlation.objects.get(value=CONTAINER)
    assert {correlation.scan_a_id, correlation.scan_b_id} - {None} == {scan.pk}
    assert {correlation.alert_a_id, correlation.alert_b_id} - {None} == {rotterdam["alert"].pk}

    users = cast["users"]
    assert access.scans_visible_to(users["rotterdam_customs"]).filter(pk=scan.pk).exists()
    assert access.correlations_visible_to(users["rotterdam_customs"]).filter(pk=correlation.pk).exists()
    for name in ("rotterdam_terminal", "hamburg_customs", "europol_analyst"):
        assert not access.scans_visible_to(users[name]).filter(pk=scan.pk).exists(), name


def test_applying_the_scan_twice_creates_nothing_new(be, rotterdam, django_capture_on_commit_callbacks):
    obj = be.scan("beanr-xr-01")
    apply_objects(be.peer, [obj])
    relay(django_capture_on_commit_callbacks, list(Scan.objects.values_list("pk", flat=True)))
    counts = (
        Scan.objects.count(),
        Delivery.objects.count(),
        WebhookDelivery.objects.count(),
        Correlation.objects.count(),
        FederatedCopy.objects.count(),
    )
    again = apply_objects(be.peer, [obj])
    assert (again.applied, again.already, again.refused) == (0, 1, {})
    assert relay(django_capture_on_commit_callbacks, list(Scan.objects.values_list("pk", flat=True))) == 0
    assert counts == (
        Scan.objects.count(),
        Delivery.objects.count(),
        WebhookDelivery.objects.count(),
        Correlation.objects.count(),
        FederatedCopy.objects.count(),
    )


def test_refused_scans_carry_their_reason(be, cast):
    de = NodeOrigin(
        "de", "http://de.test", list(Agency.objects.filter(port_id="DEHAM")), nodes={"deham-xr-01": "deham-customs"}
    )
    peer_add(peer_id="de", url=de.url, key_thumbprint=de.portal_kid, document_jws=de.document())
    be.nodes["deham-xr-01"] = de.nodes["deham-xr-01"]  # be forwards (and could sign) a scan of a de node
    tampered = be.scan("beanr-xr-01")
    ext = tampered["extensions"][stix.EXTENSION_ID]
    header, payload, signature = ext["jws"].split(".")
    ext["jws"] = f"{header}.{payload}.{signature[:-4]}AAAA"
    page = [
        be.scan("beanr-xr-01"),
        tampered,
        be.scan("deham-xr-01"),  # signed by its node, but sent by an instance that is not its home
        be.scan("beanr-xr-01", port="NLRTM"),  # the node scans at BEANR
        {"type": stix.SCAN_TYPE, "id": "x-alliance-scan--00000000-0000-4000-8000-000000000000"},
    ]
    result = apply_objects(be.peer, page)
    assert result.applied == 1
    assert refused("be") == {
        "signature:invalid": 1,
        "origin:not-home": 1,
        "document:invalid": 2,
    }
    assert Scan.objects.count() == 1


def test_a_scan_signed_with_a_revoked_node_key_is_refused(be):
    be.key_status[be.node_kid("beanr-xr-01")] = KeyStatus.REVOKED
    services.apply_instance_document(be.peer, stix.signed_document(be.document()))
    apply_objects(be.peer, [be.scan("beanr-xr-01")])
    assert refused("be") == {"key:revoked": 1}
    assert not Scan.objects.exists()


def test_a_key_the_document_does_not_give_the_node_is_unknown(be):
    be.nodes["beanr-xr-02"] = ("beanr-customs", Ed25519PrivateKey.generate())  # not in the pinned document
    obj = be.scan("beanr-xr-01", key_node="beanr-xr-02")
    apply_objects(be.peer, [obj])  # the refresh (no network here) fails: the key stays unknown
    assert refused("be") == {"key:unknown": 1}


# ---------------------------------------------------------------- at `be`: what is offered to `nl`


@pytest.fixture
def peers(at_be, cast):
    Agency.objects.filter(port_id="NLRTM").update(home_instance="nl")
    Agency.objects.filter(port_id="DEHAM").update(home_instance="de")
    for peer_id in ("nl", "de"):
        Peer.objects.create(id=peer_id, url=f"http://{peer_id}.test", key_thumbprint="x" * 43)
    return cast


def offered(peer_id: str) -> set:
    sequence_all()
    entries = access.feed_entries_for(PeerPrincipal(peer_id), access.FEDERATION)
    return {(e.kind, e.object_id) for e in entries}


def test_a_scan_relayed_to_rotterdam_is_offered_to_nl_only(peers, make_agency):
    node = Node("beanr-xr-01", make_agency("beanr-customs"))
    assert node.push(verdict="suspect", next_port="NLRTM").status_code == 201
    assert node.push(verdict="clear", next_port="NLRTM").status_code == 201  # clear: relayed at BEANR only
    relay_batch(scan_ids=list(Scan.objects.values_list("pk", flat=True)))
    suspect = Scan.objects.get(verdict="suspect")
    clear = Scan.objects.get(verdict="clear")
    assert (FeedKind.SCAN, suspect.pk) in offered("nl")
    assert (FeedKind.SCAN, clear.pk) not in offered("nl")
    assert not {e for e in offered("de") if e[0] == FeedKind.SCAN}


def test_the_instance_document_names_each_node_keys_agency(at_be, cast, make_agency):
    Node("beanr-xr-01", make_agency("beanr-customs"))
    keys = [k for k in instance_document()["keys"] if k["owner"] == "node:beanr-xr-01"]
    assert [k["agency"] for k in keys] == ["beanr-customs"]
