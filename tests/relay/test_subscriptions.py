"""Subscriptions: only public-sector agency admins in a verified session manage them; a match relays the scan."""

import pytest

from ports.models import AuditEntry
from scans.models import Delivery, Subscription

pytestmark = pytest.mark.django_db

URL = "/api/v1/subscriptions/"


@pytest.fixture
def rotterdam_admin(make_member, verified_session):
    return verified_session(make_member("rotterdam.admin", "nlrtm-customs", "admin").user)


def test_admin_creates_lists_and_stops_a_subscription(cast, verified_session):
    admin = verified_session(cast["users"]["antwerp_admin"])
    response = admin.post(URL, {"port": "NLRTM", "origin": "ECGYE", "min_verdict": "inconclusive"}, format="json")
    assert response.status_code == 201, response.json()
    created = response.json()
    assert created["agency"] == "beanr-customs"
    assert (created["port"], created["origin"], created["min_verdict"]) == ("NLRTM", "ECGYE", "inconclusive")
    assert created["is_active"]
    assert created["created_by"] == cast["memberships"]["antwerp_admin"].handle

    anywhere = admin.post(URL, {"origin": "brssz"}, format="json")  # any port, default minimum: suspect
    assert anywhere.status_code == 201, anywhere.json()
    assert (anywhere.json()["port"], anywhere.json()["origin"], anywhere.json()["min_verdict"]) == (
        None,
        "BRSSZ",
        "suspect",
    )
    listed = admin.get(URL).json()
    assert listed["count"] == 2
    assert {s["id"] for s in listed["results"]} == {created["id"], anywhere.json()["id"]}

    duplicate = admin.post(URL, {"port": "NLRTM", "origin": "ECGYE", "min_verdict": "inconclusive"}, format="json")
    assert duplicate.status_code == 400
    assert duplicate.json()["code"] == "duplicate"
    assert "already subscribes" in duplicate.json()["errors"]["non_field_errors"][0]

    assert admin.delete(f"{URL}{created['id']}/").status_code == 204
    assert admin.delete(f"{URL}{created['id']}/").status_code == 204  # stopping twice changes nothing more
    assert [s["id"] for s in admin.get(URL).json()["results"]] == [anywhere.json()["id"]]
    assert not Subscription.objects.get(pk=created["id"]).is_active
    # Subscribing again to the same thing reactivates the stopped one rather than failing.
    again = admin.post(URL, {"port": "NLRTM", "origin": "ECGYE", "min_verdict": "inconclusive"}, format="json")
    assert again.status_code == 201
    assert again.json()["id"] == created["id"]

    actions = list(AuditEntry.objects.filter(object_type="scans.subscription").values_list("action", flat=True))
    assert sorted(actions) == sorted(
        ["subscription.created", "subscription.created", "subscription.deactivated", "subscription.created"]
    )


def test_locodes_are_checked_field_by_field(cast, verified_session):
    admin = verified_session(cast["users"]["antwerp_admin"])
    response = admin.post(URL, {"port": "NLRTM1", "origin": "QQABC", "min_verdict": "loud"}, format="json")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == {"min_verdict"}  # the choice is checked first, by the input serializer
    response = admin.post(URL, {"port": "NLRTM1", "origin": "QQABC"}, format="json")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert "exactly 5 characters" in errors["port"][0]
    assert "not an ISO 3166-1 country" in errors["origin"][0]
    response = admin.post(URL, {"port": "ECGYE", "origin": "NLZZZ"}, format="json")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert "not an alliance member port" in errors["port"][0]  # no scanner there, nothing to subscribe to
    assert "not a port known" in errors["origin"][0]
    assert not Subscription.objects.exists()


def test_only_public_sector_admins_in_a_verified_session_manage(
    cast, api_as, make_member, verified_session, rotterdam_admin
):
    body = {"port": "BEANR", "origin": "ECGYE"}
    antwerp = verified_session(cast["users"]["antwerp_admin"])
    created = antwerp.post(URL, body, format="json").json()
    detail = f"{URL}{created['id']}/"

    refused = {
        "admin by personal token": api_as(cast["users"]["antwerp_admin"]),
        "admin, session without second factor": api_as(cast["users"]["antwerp_admin"], token=False),
        "officer, verified": verified_session(cast["users"]["hamburg_customs"]),
        "private-sector admin, verified": verified_session(
            make_member("hamburg.terminal.admin", "deham-terminal-operator", "admin").user
        ),
    }
    for who, client in refused.items():
        assert client.get(URL).status_code == 403, who
        assert client.post(URL, body, format="json").status_code == 403, who
        assert client.delete(detail).status_code == 403, who

    # Another public-sector agency's admin manages its own subscriptions, never Antwerp's.
    assert rotterdam_admin.get(URL).json()["count"] == 0
    assert rotterdam_admin.get(detail).status_code == 404
    assert rotterdam_admin.delete(detail).status_code == 404
    response = rotterdam_admin.post(URL, {**body, "agency": "beanr-customs"}, format="json")
    assert response.status_code == 403
    assert "not an admin of beanr-customs" in response.json()["errors"]["agency"][0]
    assert Subscription.objects.get(pk=created["id"]).is_active
    assert Subscription.objects.count() == 1


def test_a_matching_subscription_relays_the_scan(cast, api_as, rotterdam_admin, push_and_relay):
    response = rotterdam_admin.post(URL, {"port": "BEANR", "origin": "ECGYE", "min_verdict": "suspect"}, format="json")
    assert response.status_code == 201
    subscription_id = response.json()["id"]

    suspect = push_and_relay(verdict="suspect", next_port="ESALG")  # bound elsewhere: only the subscription
    clear = push_and_relay(verdict="clear")
    other_origin = push_and_relay(verdict="positive", origin="BRSSZ")

    delivery = Delivery.objects.get(scan_id=suspect["id"], agency__slug="nlrtm-customs")
    assert delivery.reason == "subscription"
    assert not Delivery.objects.filter(scan_id__in=[clear["id"], other_origin["id"]], agency__slug="nlrtm-customs")
    assert not Delivery.objects.filter(agency__slug__in=["nlrtm-police", "nlrtm-terminal-operator"]).exists()

    analyst = api_as(cast["users"]["rotterdam_customs"])
    inbox = analyst.get("/api/v1/deliveries/").json()
    assert [d["scan"]["id"] for d in inbox["results"]] == [suspect["id"]]
    assert inbox["results"][0]["reason"] == "subscription"
    assert analyst.get(f"/api/v1/scans/{suspect['id']}/").status_code == 200  # the delivery granted read
    assert analyst.get(f"/api/v1/scans/{clear['id']}/").status_code == 404
    assert api_as(cast["users"]["rotterdam_police"]).get(f"/api/v1/scans/{suspect['id']}/").status_code == 404

    assert rotterdam_admin.delete(f"{URL}{subscription_id}/").status_code == 204
    later = push_and_relay(verdict="suspect")
    assert not Delivery.objects.filter(scan_id=later["id"], agency__slug="nlrtm-customs").exists()


def test_subscription_page(cast, make_member, verified_session, client):
    admin = verified_session(cast["users"]["antwerp_admin"])
    page = admin.get("/agency/subscriptions/")
    assert page.status_code == 200
    assert "No subscriptions yet" in page.content.decode()

    created = admin.post("/agency/subscriptions/", {"action": "create", "port": "nlrtm", "min_verdict": "positive"})
    assert created.status_code == 302
    subscription = Subscription.objects.get()
    assert (subscription.agency.slug, subscription.port_id, subscription.origin_id) == ("beanr-customs", "NLRTM", None)
    assert "NLRTM" in admin.get("/agency/subscriptions/").content.decode()

    bad = admin.post("/agency/subscriptions/", {"action": "create", "port": "XX1", "origin": "ECGYE"})
    assert bad.status_code == 400
    assert "exactly 5 characters" in bad.content.decode()
    duplicate = admin.post("/agency/subscriptions/", {"action": "create", "port": "NLRTM", "min_verdict": "positive"})
    assert duplicate.status_code == 400
    assert "already subscribes" in duplicate.content.decode()

    # Another agency's admin neither sees nor stops it.
    rotterdam = verified_session(make_member("rotterdam.admin", "nlrtm-customs", "admin").user)
    table = rotterdam.get("/agency/subscriptions/").content.decode().split('id="subscriptions"')[1]
    assert "No subscriptions yet" in table
    assert "beanr-customs" not in table
    rotterdam.post("/agency/subscriptions/", {"action": "deactivate", "subscription": subscription.pk})
    subscription.refresh_from_db()
    assert subscription.is_active

    stopped = admin.post("/agency/subscriptions/", {"action": "deactivate", "subscription": subscription.pk})
    assert stopped.status_code == 302
    subscription.refresh_from_db()
    assert not subscription.is_active
    assert AuditEntry.objects.filter(action="subscription.deactivated").count() == 1

    private_admin = verified_session(make_member("hamburg.terminal.admin", "deham-terminal-operator", "admin").user)
    assert private_admin.get("/agency/subscriptions/").status_code == 403
    client.force_login(cast["users"]["hamburg_customs"])  # an officer, not an admin
    assert client.get("/agency/subscriptions/").status_code == 403
