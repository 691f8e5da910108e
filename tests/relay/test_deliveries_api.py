"""Deliveries inbox API: each agency sees its own deliveries only, filters, idempotent audited acknowledgement."""

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ports.models import AuditEntry
from scans.models import Delivery

pytestmark = pytest.mark.django_db


def _inbox(client, **params) -> dict:
    response = client.get("/api/v1/deliveries/", params)
    assert response.status_code == 200, response.json()
    return response.json()


def _containers(body: dict) -> list[str]:
    return [d["scan"]["container"] for d in body["results"]]


def test_each_agency_sees_its_own_deliveries_newest_first(cast, api_as, push_and_relay):
    bound = push_and_relay(verdict="suspect", next_port="DEHAM", vessel_imo="9321483", anomalies=["rip_on_bag"])
    local = push_and_relay(verdict="clear")

    antwerp = _inbox(api_as(cast["users"]["author"]))
    assert antwerp["count"] == 2
    assert _containers(antwerp) == [local["container"], bound["container"]]  # newest first
    assert {d["reason"] for d in antwerp["results"]} == {"port"}

    hamburg = _inbox(api_as(cast["users"]["hamburg_customs"]))
    assert hamburg["count"] == 1
    [delivery] = hamburg["results"]
    assert delivery["reason"] == "route"
    assert delivery["agency"] == "deham-customs"
    assert delivery["acknowledged_at"] is None
    assert delivery["acknowledged_by"] is None
    scan = delivery["scan"]
    assert scan["id"] == bound["id"]
    assert scan["scan_id"] == bound["scan_id"]
    assert (scan["port"], scan["origin"], scan["next_port"], scan["verdict"]) == ("BEANR", "ECGYE", "DEHAM", "suspect")
    assert scan["vessel_imo"] == "9321483"
    assert scan["scanned_at"] == bound["scanned_at"]
    assert scan["jws"] == bound["jws"]
    assert scan["signature_status"] == "verified"
    assert scan["delivery"]["id"] == delivery["id"]  # the reader's own delivery state, never the others'

    # The same scan went to Hamburg police too, but a reader never sees another agency's delivery.
    assert Delivery.objects.filter(scan_id=bound["id"], agency__slug="deham-police").exists()
    assert all(d["agency"] == "deham-customs" for d in hamburg["results"])


def test_outsiders_neither_list_nor_search_the_inbox(cast, api_as, push_and_relay, antwerp_node):
    scan = push_and_relay(verdict="suspect", next_port="DEHAM")
    for name in ["rotterdam_customs", "europol_liaison"]:  # public sector, nothing relayed to them
        client = api_as(cast["users"][name])
        assert _inbox(client)["count"] == 0
        assert _inbox(client, port="BEANR", verdict="suspect")["count"] == 0
        assert client.get(f"/api/v1/scans/{scan['id']}/").status_code == 404
    for name in ["hamburg_terminal", "rotterdam_terminal"]:  # private sector: closed, like the scans API
        client = api_as(cast["users"][name])
        response = client.get("/api/v1/deliveries/")
        assert response.status_code == 403
        assert response.json()["code"] == "permission_denied"
        assert client.get("/api/v1/scans/").status_code == 403
    assert antwerp_node.client.get("/api/v1/deliveries/").status_code == 403  # a scanner node token
    superuser = api_as(cast["users"]["superuser"], token=False)  # no membership, so no token: its session
    assert superuser.get("/api/v1/deliveries/").status_code == 403  # no bypass


def test_filters(cast, api_as, push_and_relay):
    suspect = push_and_relay(verdict="suspect")
    clear = push_and_relay(verdict="clear")
    client = api_as(cast["users"]["author"])
    assert _containers(_inbox(client, verdict="suspect")) == [suspect["container"]]
    assert _containers(_inbox(client, verdict="clear")) == [clear["container"]]
    assert _inbox(client, port="BEANR")["count"] == 2
    assert _inbox(client, port="beanr")["count"] == 2  # LOCODEs in any case
    assert _inbox(client, port="NLRTM")["count"] == 0
    delivery = Delivery.objects.get(scan_id=suspect["id"], agency__slug="beanr-customs")
    assert client.post(f"/api/v1/deliveries/{delivery.pk}/ack/").status_code == 200
    assert _containers(_inbox(client, acknowledged="true")) == [suspect["container"]]
    assert _containers(_inbox(client, acknowledged="false")) == [clear["container"]]
    response = client.get("/api/v1/deliveries/", {"verdict": "alarming"})
    assert response.status_code == 400
    assert "verdict" in response.json()["errors"]


def test_acknowledge_is_idempotent_and_audited(cast, api_as, push_and_relay):
    scan = push_and_relay(verdict="positive", next_port="DEHAM")
    officer = api_as(cast["users"]["hamburg_customs"])
    [delivery] = _inbox(officer)["results"]
    url = f"/api/v1/deliveries/{delivery['id']}/ack/"

    first = officer.post(url)
    assert first.status_code == 200, first.json()
    body = first.json()
    assert body["id"] == delivery["id"]
    assert body["acknowledged_at"] is not None
    assert body["acknowledged_by"] == cast["memberships"]["hamburg_customs"].handle
    assert body["scan"]["id"] == scan["id"]

    again = officer.post(url)
    assert again.status_code == 200
    assert again.json()["acknowledged_at"] == body["acknowledged_at"]  # the first acknowledgement stands
    entries = AuditEntry.objects.filter(action="delivery.acknowledged", object_id=delivery["id"])
    assert entries.count() == 1
    assert entries.get().actor == "hamburg.officer"
    assert _inbox(officer, acknowledged="false")["count"] == 0

    # Hamburg police got its own delivery of the same scan: still unacknowledged for them.
    police = api_as(cast["users"]["hamburg_police"])
    [theirs] = _inbox(police)["results"]
    assert theirs["id"] != delivery["id"]
    assert theirs["acknowledged_at"] is None


def test_nobody_acknowledges_another_agencys_delivery(cast, api_as, push_and_relay):
    push_and_relay(verdict="suspect", next_port="DEHAM")
    delivery = Delivery.objects.get(agency__slug="deham-customs")
    url = f"/api/v1/deliveries/{delivery.pk}/ack/"
    for name in ["hamburg_police", "rotterdam_customs", "author", "europol_liaison"]:
        response = api_as(cast["users"][name]).post(url)
        assert response.status_code == 404, (name, response.status_code)
    for name in ["hamburg_terminal", "rotterdam_terminal"]:
        assert api_as(cast["users"][name]).post(url).status_code == 403
    officer = api_as(cast["users"]["hamburg_customs"])
    assert officer.post(f"/api/v1/deliveries/{uuid.uuid4()}/ack/").status_code == 404
    assert officer.post("/api/v1/deliveries/not-a-uuid/ack/").status_code == 404
    delivery.refresh_from_db()
    assert delivery.acknowledged_at is None
    assert not AuditEntry.objects.filter(action="delivery.acknowledged").exists()


def test_inbox_queries_do_not_grow_with_the_page(cast, api_as, push_and_relay):
    client = api_as(cast["users"]["author"])
    push_and_relay(verdict="suspect")
    client.get("/api/v1/deliveries/")  # warm caches (content types, the portal key)

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert _inbox(client)["count"] >= 1
        return len(ctx.captured_queries)

    few = queries()
    for verdict in ["clear", "inconclusive", "positive", "suspect", "clear", "positive"]:
        scan = push_and_relay(verdict=verdict)
        if verdict == "positive":
            outcome = client.post(f"/api/v1/scans/{scan['id']}/outcome/", {"result": "negative"}, format="json")
            assert outcome.status_code == 201, outcome.json()
    first = Delivery.objects.filter(agency__slug="beanr-customs").order_by("created_at").first()
    client.post(f"/api/v1/deliveries/{first.pk}/ack/")
    assert _inbox(client)["count"] == 7
    assert queries() == few <= 12
