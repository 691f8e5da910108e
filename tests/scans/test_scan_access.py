"""Who reads scans (SPEC sections 5, 6): public agencies at the scan's port and relay recipients, never others."""

import pytest
from django.db import connection

from scans.services.relay import relay_batch

pytestmark = pytest.mark.django_db


def _ids(response) -> set[str]:
    assert response.status_code == 200, response.content
    return {s["id"] for s in response.json()["results"]}


def test_port_agencies_read_others_do_not(antwerp_node, cast, api_as):
    scan = antwerp_node.push(verdict="clear", next_port="DEHAM").json()
    relay_batch(scan_ids=[scan["id"]])
    readers = ["author", "colleague", "antwerp_police"]
    outsiders = ["rotterdam_customs", "hamburg_customs", "hamburg_police", "europol_liaison", "europol_analyst"]
    for name in readers:
        client = api_as(cast["users"][name])
        assert client.get(f"/api/v1/scans/{scan['id']}/").status_code == 200, name
        assert scan["id"] in _ids(client.get("/api/v1/scans/")), name
        assert scan["id"] in _ids(client.get("/api/v1/scans/", {"container": scan["container"]})), name
    for name in outsiders:  # a clear scan is not relayed to the next port
        client = api_as(cast["users"][name])
        assert client.get(f"/api/v1/scans/{scan['id']}/").status_code == 404, name
        assert scan["id"] not in _ids(client.get("/api/v1/scans/")), name
        assert _ids(client.get("/api/v1/scans/", {"container": scan["container"]})) == set(), name


def test_suspect_scan_is_relayed_to_the_next_ports_public_agencies(antwerp_node, cast, api_as):
    scan = antwerp_node.push(verdict="suspect", next_port="DEHAM", onward_route=["PLGDN"]).json()
    relay_batch(scan_ids=[scan["id"]])
    for name in ["hamburg_customs", "hamburg_police"]:
        client = api_as(cast["users"][name])
        body = client.get(f"/api/v1/scans/{scan['id']}/").json()
        assert body["delivery"]["reason"] == "route"
        assert body["delivery"]["agency"].startswith("deham-")
        assert scan["id"] in _ids(client.get("/api/v1/scans/", {"verdict": "suspect"}))
    assert api_as(cast["users"]["rotterdam_customs"]).get(f"/api/v1/scans/{scan['id']}/").status_code == 404


@pytest.mark.parametrize("name", ["rotterdam_terminal", "hamburg_terminal"])
def test_private_sector_never_reads_scans(antwerp_node, cast, api_as, name, make_member):
    make_member("beanr.terminal", "beanr-terminal-operator", "analyst")
    scan = antwerp_node.push(verdict="positive", next_port="DEHAM").json()
    relay_batch(scan_ids=[scan["id"]])
    from django.contrib.auth import get_user_model

    for user in [cast["users"][name], get_user_model().objects.get(username="beanr.terminal")]:
        client = api_as(user)
        assert client.get("/api/v1/scans/").status_code == 403
        assert client.get(f"/api/v1/scans/{scan['id']}/").status_code == 403


def test_superuser_and_anonymous_read_nothing(antwerp_node, cast, api_as, api):
    scan = antwerp_node.push().json()
    assert api.get(f"/api/v1/scans/{scan['id']}/").status_code in (401, 403)
    assert api_as(cast["users"]["superuser"], token=False).get("/api/v1/scans/").status_code == 403


def test_reader_sees_only_its_own_delivery_state(antwerp_node, cast, api_as):
    scan = antwerp_node.push(verdict="suspect", next_port="DEHAM").json()
    relay_batch(scan_ids=[scan["id"]])
    body = api_as(cast["users"]["hamburg_police"]).get(f"/api/v1/scans/{scan['id']}/").json()
    assert body["delivery"]["agency"] == "deham-police"
    assert "deliveries" not in body
    assert "recipients" not in body


def test_scan_list_is_bounded_in_queries(antwerp_node, cast, api_as, django_assert_max_num_queries):
    items = [antwerp_node.sign(antwerp_node.document(verdict="suspect", next_port="DEHAM")) for _ in range(30)]
    ids = [r["id"] for r in antwerp_node.batch(items).json()["results"]]
    relay_batch(scan_ids=ids)
    client = api_as(cast["users"]["hamburg_customs"])
    client.get("/api/v1/scans/")
    with django_assert_max_num_queries(12):
        response = client.get("/api/v1/scans/?page_size=30")
    assert len(response.json()["results"]) == 30


def test_tampered_scan_is_invalid_for_its_agency_and_hidden_from_others(antwerp_node, cast, api_as):
    scan = antwerp_node.push(verdict="suspect", next_port="DEHAM").json()
    relay_batch(scan_ids=[scan["id"]])
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE sharing_scan SET verdict = 'clear' WHERE id = %s",
            [scan["id"].replace("-", "") if connection.vendor == "sqlite" else scan["id"]],
        )
    officer = api_as(cast["users"]["author"]).get(f"/api/v1/scans/{scan['id']}/").json()
    assert officer["signature_status"] == "invalid"
    assert api_as(cast["users"]["colleague"]).get(f"/api/v1/scans/{scan['id']}/").status_code == 404
    hamburg = api_as(cast["users"]["hamburg_customs"])
    assert hamburg.get(f"/api/v1/scans/{scan['id']}/").status_code == 404
    assert scan["id"] not in _ids(hamburg.get("/api/v1/scans/"))


def test_verify_signatures_names_a_tampered_scan_and_marks_it(antwerp_node):
    import io

    from django.core.management import CommandError, call_command

    from scans.models import Scan
    from sharing.tasks import verify_signatures

    good = antwerp_node.push().json()
    bad = antwerp_node.push().json()
    Scan.objects.filter(pk=bad["id"]).update(container="MSCU1234566")
    err = io.StringIO()
    with pytest.raises(CommandError) as exc:
        call_command("verify_signatures", stdout=io.StringIO(), stderr=err)
    assert exc.value.returncode == 1
    output = err.getvalue()
    assert bad["id"] in output
    assert good["id"] not in output
    verify_signatures()
    assert Scan.objects.get(pk=bad["id"]).integrity_failed
    assert not Scan.objects.get(pk=good["id"]).integrity_failed
