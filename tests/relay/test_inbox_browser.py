"""The deliveries inbox in a real browser: Hamburg customs acknowledges a relayed scan; the terminal sees nothing."""

import pytest

from scans.tasks import relay_scans
from tests.conftest import login
from tests.scans.helpers import Node


@pytest.fixture
def relayed(transactional_db, cast, make_agency):
    """Two suspect scans at Antwerp bound for Hamburg, pushed by a signed node through the API, then relayed."""
    node = Node("beanr-xr-31", make_agency("beanr-customs"))
    scans = []
    for fields in (
        {"vessel_imo": "9321483", "anomalies": ["rip_on_bag", "seal_mismatch"], "origin": "ECGYE"},
        {"vessel_imo": "9074729", "anomalies": ["organic_density"], "origin": "BRSSZ"},
    ):
        response = node.push(verdict="suspect", next_port="DEHAM", **fields)
        assert response.status_code == 201, response.json()
        scans.append(response.json())
    relay_scans([s["id"] for s in scans])
    return scans


@pytest.mark.integration
@pytest.mark.browser
def test_hamburg_customs_acknowledges_and_the_terminal_sees_nothing(relayed, page):
    first, second = relayed
    login(page, "hamburg.officer")
    assert page.locator("nav.mainnav a", has_text="Inbox").count() == 1
    page.click("nav.mainnav >> text=Inbox")
    page.wait_for_url("**/inbox/")
    assert "2 unacknowledged" in page.inner_text("#unacknowledged")
    row = page.locator(f"#deliveries tr:has-text('{first['container']}')")
    assert row.count() == 1
    assert "Verified" in row.locator("td.signature").inner_text()
    assert "Bound for your port" in row.inner_text()
    assert "9321483" in row.inner_text()
    assert "BEANR → DEHAM" in row.inner_text()
    assert "ECGYE" in row.inner_text()

    row.get_by_role("button", name="Acknowledge").click()
    page.wait_for_load_state("networkidle")
    assert "Acknowledged" in page.inner_text(".messages")
    assert "1 unacknowledged" in page.inner_text("#unacknowledged")
    row = page.locator(f"#deliveries tr:has-text('{first['container']}')")
    assert row.get_by_role("button", name="Acknowledge").count() == 0
    assert "deham-customs/" in row.locator("td.ack").inner_text()  # acknowledged by the officer's handle
    page.screenshot(path="docs/screenshots/inbox.png", full_page=True)

    page.select_option("select[name=acknowledged]", "false")
    page.click("form.filters button[type=submit]")
    page.wait_for_load_state("networkidle")
    text = page.inner_text("#deliveries")
    assert second["container"] in text
    assert first["container"] not in text

    row = page.locator(f"#deliveries tr:has-text('{second['container']}')")
    row.locator("a", has_text=second["container"]).click()
    page.wait_for_url(f"**/scans/{second['id']}/")
    assert "Verified" in page.inner_text("#signature")
    assert page.csp_violations == []

    # The Hamburg terminal operator (private sector): no Inbox link, the inbox and the scan are refused.
    page.context.clear_cookies()
    login(page, "hamburg.terminal")
    assert page.locator("nav.mainnav a", has_text="Inbox").count() == 0
    response = page.goto("/inbox/")
    assert response.status == 403
    assert first["container"] not in page.content()
    response = page.goto(f"/scans/{first['id']}/")
    assert response.status in (403, 404)
    assert first["container"] not in page.content()
    assert page.csp_violations == []
