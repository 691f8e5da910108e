"""Browser: the flag page shows how the evidence grew week by week (cumulative excess at B against the control),
for a liaison (stored figures) and for an analyst of the tightened port, who reads B and the rest of the alliance
only through release cells: the growth they see is computed from the evidence rows they see, never from more."""

import pytest

from tests.conftest import login
from tests.trends_ui.seed import seed
from trends.analytics.displacement import evidence_growth

pytestmark = [pytest.mark.integration, pytest.mark.browser]


def _growth_rows(page) -> list[list[str]]:
    return [[cell.inner_text() for cell in row.locator("td").all()] for row in page.locator("#growth tbody tr").all()]


def test_liaison_sees_the_cumulative_excess_grow_week_by_week(transactional_db, cast, page):
    _, flag = seed()
    login(page, "europol.liaison")
    page.goto(f"/trends/flags/{flag.pk}/")
    page.wait_for_selector("#flag.flag-loaded")
    api = page.request.get(f"/api/v1/displacement/{flag.pk}/").json()
    growth = api["growth"]
    # One row per week from the after window's first week to the end of the evidence.
    after = [row for row in flag.evidence if str(row["week"]) >= flag.window_after_start.isoformat()]
    assert len(growth) == len(after) > 0
    assert growth == evidence_growth(api["evidence"], flag.window_before_end, flag.window_after_start)
    # Antwerp's hits rose after Rotterdam tightened: the excess grows and ends clearly positive.
    excess = [g["cumulative_excess"] for g in growth]
    assert excess[-1] > excess[len(excess) // 2] > 0
    assert growth[-1]["z"] > 3
    assert all(g["complete"] for g in growth)

    page.locator("#flag-growth summary").click()
    rows = _growth_rows(page)
    assert len(rows) == len(growth)
    assert rows[0][0] == growth[0]["week"]
    assert rows[-1][5] == f"{growth[-1]['cumulative_excess']:.1f}"
    summary = page.inner_text("#growth-summary")
    assert f"an excess of {growth[-1]['cumulative_excess']:.1f}" in summary
    assert page.evaluate("Object.values(Chart.instances).some(c => c.canvas.id === 'chart-growth')")
    assert page.locator("#chart-growth").bounding_box()["height"] > 100
    page.locator("#flag-growth").scroll_into_view_if_needed()
    page.screenshot(path="docs/screenshots/trends-flag-growth.png", full_page=True)
    assert page.csp_violations == []


def test_an_analyst_of_the_tightened_port_sees_growth_from_release_cells_only(transactional_db, cast, page):
    _, flag = seed()
    login(page, "rotterdam.analyst")  # Rotterdam (A) reads Antwerp (B) and the control through release cells
    page.goto(f"/trends/flags/{flag.pk}/")
    page.wait_for_selector("#flag.flag-loaded")
    api = page.request.get(f"/api/v1/displacement/{flag.pk}/").json()
    # The growth is the one computed from the rows this reader is shown, whatever the stored figures are.
    assert api["growth"] == evidence_growth(api["evidence"], flag.window_before_end, flag.window_after_start)
    hidden = [r for r in api["evidence"] if "<3" in (r["b_hits"], r["b_scans"], r["c_hits"], r["c_scans"])]
    incomplete = [g for g in api["growth"] if not g["complete"]]
    after = flag.window_after_start.isoformat()
    assert len(incomplete) == sum(1 for r in hidden if str(r["week"]) >= after)
    page.locator("#flag-growth summary").click()
    assert len(_growth_rows(page)) == len(api["growth"])
    assert page.csp_violations == []


def test_a_reader_of_neither_port_cannot_read_the_flag_or_its_growth(transactional_db, cast, page):
    _, flag = seed()
    login(page, "hamburg.officer")
    assert page.goto(f"/trends/flags/{flag.pk}/").status == 404
    assert page.request.get(f"/api/v1/displacement/{flag.pk}/").status == 404
    assert page.csp_violations == []
