"""The /inbox/ page: own agencies' deliveries only, filters, acknowledgement by form, reader-local times."""

import zoneinfo
from datetime import datetime

import pytest
from django.test import Client

from ports.models import UserProfile
from scans.models import Delivery

pytestmark = pytest.mark.django_db


def _as(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_inbox_page_shows_own_deliveries_only(cast, push_and_relay):
    bound = push_and_relay(verdict="suspect", next_port="DEHAM", vessel_imo="9321483")
    local = push_and_relay(verdict="clear")

    hamburg = _as(cast["users"]["hamburg_customs"])
    page = hamburg.get("/inbox/").content.decode()
    assert bound["container"] in page
    assert local["container"] not in page
    assert "9321483" in page
    assert "Bound for your port" in page
    assert "✔ Verified" in page
    assert f'href="/scans/{bound["id"]}/"' in page
    assert "1 unacknowledged" in page

    antwerp = _as(cast["users"]["author"]).get("/inbox/").content.decode()
    assert bound["container"] in antwerp
    assert local["container"] in antwerp
    assert "2 unacknowledged" in antwerp

    for name in ["rotterdam_customs", "europol_liaison"]:
        page = _as(cast["users"][name]).get("/inbox/", {"port": "BEANR"}).content.decode()
        assert bound["container"] not in page
        assert "0 unacknowledged" in page
    for name in ["hamburg_terminal", "rotterdam_terminal"]:
        response = _as(cast["users"][name]).get("/inbox/")
        assert response.status_code == 403
        assert bound["container"] not in response.content.decode()


def test_filters_and_acknowledge_by_form(cast, push_and_relay):
    suspect = push_and_relay(verdict="suspect")
    clear = push_and_relay(verdict="clear")
    officer = Client(enforce_csrf_checks=True)
    officer.force_login(cast["users"]["author"])

    page = officer.get("/inbox/", {"verdict": "suspect"}).content.decode()
    assert suspect["container"] in page
    assert clear["container"] not in page
    assert clear["container"] not in officer.get("/inbox/", {"port": "nlrtm"}).content.decode()

    delivery = Delivery.objects.get(scan_id=suspect["id"], agency__slug="beanr-customs")
    url = f"/inbox/{delivery.pk}/ack/"
    assert officer.post(url).status_code == 403  # no CSRF token: refused
    officer.get("/inbox/")
    token = officer.cookies["csrftoken"].value
    response = officer.post(url, {"csrfmiddlewaretoken": token, "next": "/inbox/?verdict=suspect"})
    assert response.status_code == 302
    assert response["Location"] == "/inbox/?verdict=suspect"
    delivery.refresh_from_db()
    assert delivery.acknowledged_by == cast["memberships"]["author"]
    response = officer.post(url, {"csrfmiddlewaretoken": token, "next": "https://elsewhere.example/"})
    assert response["Location"] == "/inbox/"  # never redirected off the inbox
    page = officer.get("/inbox/", {"acknowledged": "false"}).content.decode()
    table = page.split('id="deliveries"')[1]
    assert clear["container"] in table
    assert suspect["container"] not in table
    assert "1 unacknowledged" in page

    # Another agency's member cannot acknowledge it (404), the private sector is refused outright.
    fresh = Delivery.objects.get(scan_id=clear["id"], agency__slug="beanr-customs")
    assert _as(cast["users"]["antwerp_police"]).post(f"/inbox/{fresh.pk}/ack/").status_code == 404
    assert _as(cast["users"]["hamburg_terminal"]).post(f"/inbox/{fresh.pk}/ack/").status_code == 403
    fresh.refresh_from_db()
    assert fresh.acknowledged_at is None


def test_times_are_in_the_readers_time_zone(cast, push_and_relay):
    scan = push_and_relay(verdict="suspect", next_port="DEHAM")
    user = cast["users"]["hamburg_customs"]
    UserProfile.objects.update_or_create(user=user, defaults={"timezone": "Asia/Tokyo"})
    scanned = datetime.fromisoformat(scan["scanned_at"].replace("Z", "+00:00"))
    # In the reader's language's short format (English: day/month/year, 24-hour clock), with the zone.
    local = scanned.astimezone(zoneinfo.ZoneInfo("Asia/Tokyo")).strftime("%d/%m/%Y %H:%M")
    page = _as(user).get("/inbox/").content.decode()
    assert f"{local} JST" in page


def test_inbox_page_is_bounded_in_queries(cast, push_and_relay, django_assert_max_num_queries):
    for verdict in ["clear", "suspect", "positive", "inconclusive", "clear", "suspect"]:
        push_and_relay(verdict=verdict)
    officer = _as(cast["users"]["author"])
    officer.get("/inbox/")
    with django_assert_max_num_queries(15):
        officer.get("/inbox/")
