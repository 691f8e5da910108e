"""Scan browser pages: who sees a scan, recording an outcome through the form, and what it looks like."""

import pytest

from scans.models import InspectionOutcome
from scans.services.relay import relay_batch
from tests.conftest import login
from tests.scans.helpers import Node


@pytest.fixture
def pushed(cast, make_agency):
    node = Node("beanr-xr-09", make_agency("beanr-customs"))
    scan = node.push(verdict="suspect", next_port="DEHAM", anomalies=["rip_on_bag"]).json()
    other = node.push(verdict="clear").json()
    relay_batch(scan_ids=[scan["id"], other["id"]])
    return scan, other


def _client(client, user):
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_scan_pages_follow_the_access_rule(pushed, cast, client):
    scan, other = pushed
    officer = _client(client, cast["users"]["author"])
    page = officer.get("/scans/").content.decode()
    assert scan["container"] in page
    assert other["container"] in page
    assert officer.get(f"/scans/{scan['id']}/").status_code == 200
    client.logout()
    hamburg = _client(client, cast["users"]["hamburg_police"])
    page = hamburg.get("/scans/").content.decode()
    assert scan["container"] in page
    assert other["container"] not in page
    assert hamburg.get(f"/scans/{other['id']}/").status_code == 404
    assert hamburg.get(f"/scans/?container={other['container']}").content.decode().count(other["container"]) == 1
    client.logout()
    for name in ["rotterdam_customs"]:
        outsider = _client(client, cast["users"][name])
        assert scan["container"] not in outsider.get("/scans/").content.decode()
        assert outsider.get(f"/scans/{scan['id']}/").status_code == 404
        client.logout()
    private = _client(client, cast["users"]["hamburg_terminal"])
    assert private.get("/scans/").status_code == 403
    assert private.get(f"/scans/{scan['id']}/").status_code == 403


@pytest.mark.django_db
def test_officer_records_an_outcome_through_the_form(pushed, cast, client):
    scan, _ = pushed
    officer = _client(client, cast["users"]["author"])
    response = officer.post(
        f"/scans/{scan['id']}/", {"result": "positive", "seized_kg": "85.5", "substance": "cocaine"}
    )
    assert response.status_code == 302
    outcome = InspectionOutcome.objects.get(scan_id=scan["id"])
    assert outcome.seized_kg == 85.5
    assert outcome.agency.slug == "beanr-customs"
    assert "85.5 kg" in officer.get(f"/scans/{scan['id']}/").content.decode()
    client.logout()
    hamburg = _client(client, cast["users"]["hamburg_customs"])
    assert hamburg.post(f"/scans/{scan['id']}/", {"result": "negative"}).status_code == 403


@pytest.mark.django_db
def test_scan_list_page_is_bounded_in_queries(pushed, cast, client, django_assert_max_num_queries):
    officer = _client(client, cast["users"]["author"])
    officer.get("/scans/")
    with django_assert_max_num_queries(20):
        officer.get("/scans/")


@pytest.mark.integration
@pytest.mark.browser
def test_scan_browser_in_a_real_browser(transactional_db, pushed, page):
    scan, _ = pushed
    login(page, "hamburg.officer")
    page.goto("/scans/")
    assert scan["container"] in page.inner_text("#scans")
    page.screenshot(path="docs/screenshots/scans.png", full_page=True)
    page.goto(f"/scans/{scan['id']}/")
    assert "Verified" in page.inner_text("#signature")
    page.screenshot(path="docs/screenshots/scan-detail.png", full_page=True)
    assert page.csp_violations == []
