"""The key that signed a scan must be its node's, and the key that signed an outcome its agency's (SPEC 3).

A real key of someone else verifies cryptographically; only the owner rule catches a row,
changed outside the application, that carries another node's (or agency's) signature over a
document naming this node (or agency). It must show `invalid` in the API, the portal and
`manage.py verify_signatures` (exit 1), like any other tampering.
"""

import io

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from ports import signing
from ports.services import agency_key_ensure
from scans.models import InspectionOutcome, Scan
from scans.services.outcomes import OUTCOME_TYP, outcome_document

pytestmark = pytest.mark.django_db


def _portal(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _verify_signatures_stderr() -> str:
    err = io.StringIO()
    with pytest.raises(CommandError) as exc:
        call_command("verify_signatures", stdout=io.StringIO(), stderr=err)
    assert exc.value.returncode == 1
    return err.getvalue()


def _resign_scan_with_another_key(scan_id: str, sign) -> None:
    """Outside the application: replace the row's JWS and kid with another signer's, same document."""
    row = Scan.objects.select_related("key").get(pk=scan_id)
    document = signing.parse(row.jws, "scan+json").payload
    jws, kid = sign(document)
    Scan.objects.filter(pk=scan_id).update(jws=jws, key_id=kid)


@pytest.fixture
def second_antwerp_node(cast, make_agency):
    from .helpers import Node

    return Node("beanr-xr-02", make_agency("beanr-customs"))


@pytest.mark.parametrize("signer", ["another node of the agency", "a node of another port", "the agency key"])
def test_a_scan_signed_by_a_key_not_its_nodes_is_invalid(
    signer, antwerp_node, second_antwerp_node, hamburg_node, cast, api_as
):
    scan = antwerp_node.push(verdict="suspect").json()
    other = {"another node of the agency": second_antwerp_node, "a node of another port": hamburg_node}.get(signer)
    if other is not None:
        _resign_scan_with_another_key(scan["id"], lambda doc: (other.sign(doc), other.kid))
    else:
        key = agency_key_ensure(antwerp_node.node.agency)
        _resign_scan_with_another_key(scan["id"], lambda doc: (signing.sign(doc, key, "scan+json"), key.kid))

    officer = api_as(cast["users"]["author"]).get(f"/api/v1/scans/{scan['id']}/")
    assert officer.status_code == 200
    assert officer.json()["signature_status"] == "invalid"
    assert api_as(cast["users"]["colleague"]).get(f"/api/v1/scans/{scan['id']}/").status_code == 404
    page = _portal(cast["users"]["author"]).get(f"/scans/{scan['id']}/")
    assert "Integrity failure" in page.content.decode()
    assert _portal(cast["users"]["colleague"]).get(f"/scans/{scan['id']}/").status_code == 404
    assert f"scan {scan['id']} version 1: invalid" in _verify_signatures_stderr()


def test_a_scan_signed_by_its_own_node_stays_verified(antwerp_node, cast, api_as):
    scan = antwerp_node.push().json()
    body = api_as(cast["users"]["colleague"]).get(f"/api/v1/scans/{scan['id']}/").json()
    assert body["signature_status"] == "verified"
    call_command("verify_signatures", stdout=io.StringIO(), stderr=io.StringIO())


def test_an_outcome_signed_by_another_agencys_key_is_invalid(antwerp_node, cast, api_as, make_agency):
    scan = antwerp_node.push(verdict="suspect").json()
    client = api_as(cast["users"]["author"])
    recorded = client.post(f"/api/v1/scans/{scan['id']}/outcome/", {"result": "negative"}, format="json").json()
    assert recorded["signature_status"] == "verified"
    # Outside the application: the same document (naming beanr-customs) signed with the police's real key.
    outcome = InspectionOutcome.objects.select_related("agency").get(pk=recorded["id"])
    police_key = agency_key_ensure(make_agency("beanr-police"))
    jws = signing.sign(outcome_document(outcome), police_key, OUTCOME_TYP)
    InspectionOutcome.objects.filter(pk=outcome.pk).update(jws=jws, key_id=police_key.kid)

    detail = client.get(f"/api/v1/scans/{scan['id']}/").json()
    assert detail["outcome"]["signature_status"] == "invalid"
    page = _portal(cast["users"]["author"]).get(f"/scans/{scan['id']}/").content.decode()
    assert 'signature <span class="badge-invalid">invalid</span>' in page
    assert f"outcome {recorded['id']} version 1: invalid" in _verify_signatures_stderr()
