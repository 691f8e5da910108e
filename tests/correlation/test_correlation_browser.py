"""Correlations in a real browser: Hamburg customs holds a one-sided hit and shares its alert; then
Antwerp customs sees the notice. The Hamburg terminal operator sees nothing; no CSP violation."""

import pytest

from scans.services.relay import relay_batch
from tests.conftest import login
from tests.scans.helpers import Node
from tests.sharing.conftest import alert_fields, container


@pytest.fixture
def hidden_match(transactional_db, cast, make_agency, api_as):
    box = container()
    alert = api_as(cast["users"]["hamburg_customs"]).post(
        "/api/v1/alerts/",
        alert_fields(
            title="Cocaine in reefer machinery, Guayaquil loads",
            tlp="AMBER",
            port="DEHAM",
            containers=[box],
            audience={"agencies": ["deham-police"], "ports": [], "users": []},
        ),
        format="json",
    )
    assert alert.status_code == 201, alert.json()
    node = Node("beanr-xr-41", make_agency("beanr-customs"))
    scan = node.push(container=box, verdict="suspect", next_port="DEHAM", vessel_imo="9321483")
    assert scan.status_code == 201, scan.json()
    relay_batch(scan_ids=[scan.json()["id"]])
    return box


@pytest.mark.integration
@pytest.mark.browser
def test_one_sided_hit_shared_from_the_page(hidden_match, page):
    box = hidden_match
    login(page, "antwerp.officer")
    page.goto("/correlations/")
    assert box not in page.content()  # the alert is hidden from Antwerp: Antwerp learns nothing

    page.context.clear_cookies()
    login(page, "hamburg.officer")
    page.click("nav.mainnav >> text=Correlations")
    page.wait_for_url("**/correlations/")
    hit = page.locator("#hits tr", has_text=box)
    assert hit.count() == 1
    assert "beanr-customs" in hit.inner_text()
    assert "Cocaine in reefer machinery" in hit.inner_text()
    page.click("nav.mainnav >> text=Notifications")
    assert box in page.inner_text("#notifications")
    page.goto("/correlations/")
    page.screenshot(path="docs/screenshots/correlations.png", full_page=True)
    page.locator("#hits tr", has_text=box).get_by_role("button", name="Share").click()
    page.wait_for_load_state("networkidle")
    assert "Shared" in page.inner_text(".messages")
    assert page.locator("#hits").count() == 0
    assert page.csp_violations == []

    page.context.clear_cookies()
    login(page, "antwerp.officer")
    page.goto("/correlations/")
    notice = page.locator("#correlations tr", has_text=box)
    assert notice.count() == 1
    assert "Cocaine in reefer machinery" in notice.inner_text()
    assert page.csp_violations == []

    page.context.clear_cookies()
    login(page, "hamburg.terminal")
    page.goto("/correlations/")
    assert box not in page.content()
    assert page.csp_violations == []
