"""Browser: a Europol liaison opens /trends/, filters to an origin, sees charts and a flag arrow, opens the
flag, records a decision, and exports CSV whose rows equal the API's for the same filters. A private
operator cannot open the dashboard or the export. No CSP violation on any page."""

import csv
import io
import re
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.conftest import login
from tests.trends_ui.seed import seed
from trends.models import DisplacementFlag, Measure

pytestmark = [pytest.mark.integration, pytest.mark.browser]


def _number(cell: str):
    if cell == "":
        return None
    for kind in (int, float):
        try:
            return kind(cell)
        except ValueError:
            pass
    return cell


def test_liaison_filters_opens_a_flag_and_exports_what_is_shown(transactional_db, cast, page):
    _, flag = seed()
    login(page, "europol.liaison")
    page.click("nav >> text=Trends")
    page.wait_for_selector("#trends.trends-loaded.flags-loaded")
    page.select_option("select[name=origin]", "ECGYE")
    page.click("#trend-filters button[type=submit]")
    page.wait_for_url("**/trends/?*origin=ECGYE*")
    page.wait_for_selector("#trends.trends-loaded.flags-loaded")

    # Charts drawn with data (Chart.js on canvas; the count of plotted points is kept on the element).
    for chart in ("chart-scans", "chart-rate", "chart-kg", "chart-mix"):
        canvas = page.locator(f"#{chart}")
        assert int(canvas.get_attribute("data-points")) > 0, chart
        assert canvas.bounding_box()["height"] > 100
    assert page.evaluate("Object.keys(Chart.instances).length") == 4
    assert page.locator("#kpi-scans").inner_text() not in ("", "–")
    # The map: member ports as dots, the flag as an arrow from Rotterdam to Antwerp with an arrowhead.
    assert page.locator("#map-ports .port").count() >= 25
    assert page.locator("#map-land path").count() == 1
    arrow = page.locator(f"#map-flags .flag-arrow[data-flag-id='{flag.pk}']")
    assert page.locator(f".inset .flag-arrow[data-flag-id='{flag.pk}']").count() == 1  # enlarged too
    assert arrow.count() == 1
    assert arrow.locator(".flag-line").get_attribute("marker-end") == "url(#arrow-open)"
    assert "NLRTM → BEANR" in page.inner_text("#flags")
    # Rotterdam's declared measure: listed, and ringed on the map.
    assert "100 % scanning of reefers from Guayaquil" in page.inner_text("#measures")
    assert page.locator("#map-ports .port.has-measure[data-port=NLRTM]").count() == 1
    page.screenshot(path="docs/screenshots/trends.png", full_page=True)

    # Export what is shown; the file's rows equal the API's for the same filters.
    with page.expect_download() as info:
        page.click("#export-csv")
    download = info.value
    export_query = urlparse(page.get_attribute("#export-csv", "href")).query
    assert "origin=ECGYE" in export_query
    rows = list(csv.reader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"))))
    assert rows[0] == ["bucket", "port", "origin", "scans", "suspect", "positive", "seized_kg", "cells_left_out"]
    api = page.request.get(f"/api/v1/trends/?{export_query}").json()
    expected = [
        [
            p["bucket"],
            port["port"],
            "ECGYE",
            p["scans"],
            p["suspect"],
            p["positive"],
            p["seized_kg"],
            p["cells_left_out"],
        ]
        for port in api["ports"]
        for p in port["series"]
    ]
    assert [[r[0], r[1], r[2], *map(_number, r[3:])] for r in rows[1:]] == expected
    assert len(expected) == len(api["buckets"]) * 5

    # Open the flag from its arrow: figures, evidence charts, and the liaison's decision.
    arrow.locator(".flag-handle").click()
    page.wait_for_url(f"**/trends/flags/{flag.pk}/")
    page.wait_for_selector("#flag.flag-loaded")
    assert "NLRTM → BEANR" in page.inner_text("h1")
    assert "100 % scanning of reefers from Guayaquil" in page.inner_text("#flag-measure")
    assert page.inner_text("#fact-wdq") == "-0.83"
    assert page.inner_text("#fact-effect") == "+92 %"
    assert int(page.get_attribute("#chart-evidence-rate", "data-points")) > 0
    assert page.locator("#evidence tbody tr").count() == len(flag.evidence)
    page.check("input[name=status][value=confirmed]")
    page.fill("#status-reason-input", "Confirmed with Antwerp customs: Guayaquil reefers rerouted.")
    page.click("#status-form button[type=submit]")
    page.wait_for_selector("#status-message:has-text('Decision recorded')")
    assert page.inner_text("#status-pill") == "Confirmed"
    flag = DisplacementFlag.objects.get(pk=flag.pk)
    assert flag.status == "confirmed"
    assert "rerouted" in flag.status_reason
    page.screenshot(path="docs/screenshots/trends-flag.png", full_page=True)
    assert page.csp_violations == []


def test_private_operator_cannot_open_the_dashboard_or_the_export(transactional_db, cast, page):
    _, flag = seed()
    login(page, "rotterdam.terminal")
    assert page.locator("nav >> text=Trends").count() == 0
    assert page.goto("/trends/").status == 403
    assert page.goto("/trends/export.csv?origin=ECGYE").status == 403
    assert page.goto(f"/trends/flags/{flag.pk}/").status == 403
    assert page.request.get("/api/v1/trends/").status == 403
    assert page.csp_violations == []


def test_another_ports_analyst_sees_small_counts_masked_and_no_decision_form(transactional_db, cast, page):
    _, flag = seed()
    login(page, "rotterdam.analyst")
    page.goto("/trends/?origin=ECGYE")
    page.wait_for_selector("#trends.trends-loaded.flags-loaded")
    status = page.inner_text("#trend-status")
    assert "shown as <3" in status  # Hamburg's 1s and 2s are masked for Rotterdam
    assert re.search(r"\d+ cells? with fewer than 3 scans or hits (was|were) left out", status), status
    assert page.inner_text("#kpi-scans").startswith("≥")  # totals leave masked cells out, and say so
    assert int(page.get_attribute("#chart-scans", "data-points")) > 0
    page.click(f"#flags tr[data-flag-id='{flag.pk}'] a")  # a flag on Rotterdam: readable by its agencies
    page.wait_for_selector("#flag.flag-loaded")
    assert page.locator("#status-form").count() == 0
    assert "A Europol liaison confirms or dismisses flags." in page.inner_text("#flag-decision")
    assert page.csp_violations == []


def test_officer_declares_a_measure_from_the_dashboard(transactional_db, cast, page):
    seed()
    login(page, "antwerp.officer")
    page.goto("/trends/")
    page.wait_for_selector("#trends.trends-loaded.flags-loaded")
    form = page.locator("#measure-form")
    form.locator("select[name=port]").select_option("BEANR")
    form.locator("select[name=origin]").select_option("COCTG")
    form.locator("input[name=starts_on]").fill("2026-01-05")
    form.locator("textarea[name=description]").fill("Second line scanning of all reefers from Cartagena")
    form.locator("button[type=submit]").click()
    page.wait_for_selector("#measure-message:has-text('Measure declared')")
    assert "Second line scanning of all reefers from Cartagena" in page.inner_text("#measures")
    measure = Measure.objects.get(port_id="BEANR", origin_id="COCTG")
    assert measure.agency.slug == "beanr-customs"
    assert str(measure.starts_on) == "2026-01-05"
    assert page.csp_violations == []
