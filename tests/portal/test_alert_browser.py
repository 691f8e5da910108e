"""In a real browser: Antwerp posts an AMBER alert for Rotterdam through the form, Rotterdam reports a seizure,
Antwerp reads the feedback and its notice, Hamburg police and a Rotterdam terminal see neither. No CSP violation."""

import re

import pytest

from ports.models import Membership
from sharing.models import Alert
from sharing.services.alerts import alert_publish, alert_version_create
from sharing.services.practices import practice_publish
from tests.conftest import login
from tests.sharing.conftest import VESSELS, alert_fields, container

SHOTS = "docs/screenshots"
TITLE = "Rip-on bags in reefers from Guayaquil"

PRACTICE_BODY = """Reefer units are the favourite hiding place on the Guayaquil and Santos lines.
A **two-person check** at the scanner exit catches most rip-on loads.

## Before opening

1. Compare the seal number with the *bill of lading* and the terminal system.
2. Photograph the seal **before** cutting it.
3. Check the compressor housing screws for fresh tool marks.

## What to look for

| sign | what it usually means |
|---|---|
| new screws on the unit panel | the housing was opened after stuffing |
| condensation behind the doors | bags added after the box was sealed |
| seal number one digit off | a cloned seal |

> Found bags? Leave them in place, close the doors and call the port police desk.

See the [WCO container control guide](https://www.wcoomd.org/) for the full checklist.
"""


def _submit(page, selector: str) -> None:
    """Click and wait for the page the click leads to (a bare click races the next assertion)."""
    with page.expect_navigation():
        page.click(selector)


def _logout(page) -> None:
    _submit(page, "form[action='/logout/'] button")


def _seed_feed(cast) -> None:
    """Some other alerts, so the feed looks like a working day."""
    m = cast["memberships"]
    alert_publish(
        membership=m["hamburg_customs"],
        data=alert_fields(
            title="Cloned container numbers on transshipment boxes",
            body="Two boxes with the same number seen a day apart at Hamburg and Rotterdam.",
            category="container_number_cloning",
            severity="medium",
            port="DEHAM",
            origin="BRSSZ",
            containers=[container("TGHU")],
            source_reliability="A",
            information_reliability="2",
            tlp="AMBER",
            audience={"agencies": [], "ports": ["NLRTM", "BEANR"], "users": []},
        ),
    )
    alert_publish(
        membership=m["author"],
        data=alert_fields(
            title="Night-time perimeter intrusions at the Deurganck dock",
            body="Fence cut twice this week near the reefer stacks.",
            category="perimeter_intrusion",
            severity="low",
            tlp="GREEN",
            valid_until="2025-01-31T23:00:00Z",
        ),
    )
    gone = alert_publish(
        membership=m["author"],
        data=alert_fields(
            title="Suspect vessel diverted to Vlissingen",
            body="Vessel did not call Antwerp after all.",
            category="transshipment_abuse",
            severity="high",
            vessels=[VESSELS[1]],
            tlp="AMBER+STRICT",
            audience={"agencies": ["nlrtm-customs"], "ports": [], "users": []},
            handling="H2",
        ),
    )
    alert_version_create(membership=m["author"], alert=gone, data={"status": "withdrawn"})


@pytest.mark.integration
@pytest.mark.browser
def test_alert_round_trip_in_a_real_browser(transactional_db, cast, page):
    _seed_feed(cast)

    # -- Antwerp customs officer posts an AMBER alert for Rotterdam through the form.
    login(page, "antwerp.officer")
    page.goto("/alerts/new/")
    page.fill("#id_title", TITLE)
    page.fill(
        "#id_body",
        "Seals replaced, cloned seal numbers attached. Bags of about 30 kg behind the doors of reefer "
        "containers loaded in Guayaquil. Check the unit panel screws.",
    )
    page.select_option("#id_category", "rip_on_rip_off")
    assert "rip-on" in page.inner_text("#category-definition")
    page.check("input[name=severity][value=high]")
    # GREEN with a container number: the warning appears live; AMBER makes it go away.
    page.check("input[name=tlp][value=GREEN]")
    assert page.is_hidden("#list-ports")
    assert page.is_hidden("#list-agencies")
    assert page.is_hidden("#list-users")
    page.fill("#id_containers", container())
    assert page.is_visible("#identifier-warning")
    page.check("input[name=tlp][value=RED]")
    assert page.is_visible("#list-users")
    assert page.is_hidden("#list-ports")
    page.check("input[name=tlp][value=AMBER]")
    assert page.is_hidden("#identifier-warning")
    assert page.is_visible("#list-ports")
    assert page.is_visible("#list-agencies")
    assert page.is_hidden("#list-users")
    page.fill("#list-ports .list-filter", "rotter")
    assert page.locator("#list-ports .choice:visible").count() == 1
    page.check("#list-ports input[value=NLRTM]")
    page.fill("#list-ports .list-filter", "NL")
    page.fill("#id_origin", "ECGYE")
    page.focus("#id_source_reliability")  # leave the origin field: its suggestion list would catch the click
    page.select_option("#id_source_reliability", "B")
    page.select_option("#id_information_reliability", "2")
    page.select_option("#id_handling", "H1")
    page.screenshot(path=f"{SHOTS}/alert-form.png", full_page=True)
    _submit(page, "#publish")
    alert = Alert.objects.get(title=TITLE)
    assert page.url.endswith(f"/alerts/{alert.pk}/")
    assert "Verified" in page.inner_text("#signature")
    assert alert.tlp == "AMBER"
    assert [g.port_id for g in alert.grants.all()] == ["NLRTM"]
    _logout(page)

    # -- A Rotterdam customs analyst sees it in the feed, verified, and reports a seizure.
    login(page, "rotterdam.analyst")
    page.goto("/alerts/")
    card = page.locator("#alerts li", has_text=TITLE)
    assert card.count() == 1
    assert "Verified" in card.inner_text()
    assert "TLP:AMBER" in card.inner_text()
    assert "B2" in card.inner_text()
    assert "H1" in card.inner_text()
    page.screenshot(path=f"{SHOTS}/alert-feed.png", full_page=True)
    _submit(page, f"text={TITLE}")
    page.check("input[name=outcome][value=seized]")
    page.fill("#id_seized_kg", "120")
    page.fill("#id_note", "Six bags behind the doors, seals cloned as described.")
    _submit(page, "#feedback-form button[type=submit]")
    assert "120 kg" in page.inner_text("#feedback-list")
    _logout(page)

    # -- The Antwerp officer sees the feedback and the notice.
    login(page, "antwerp.officer")
    page.goto("/notifications/")
    assert "120 kg" in page.inner_text("main")
    page.goto(f"/alerts/{alert.pk}/")
    assert "Seized · 120 kg" in page.inner_text("#feedback-list")
    assert "nlrtm-customs" in page.inner_text("#feedback-list")
    # An edit signs version 2; version 1 stays readable.
    _submit(page, "text=Edit (new version)")
    page.fill("#id_valid_until", "2030-06-30T18:00")
    _submit(page, "#publish")
    assert "Version 2" in page.inner_text("#versions")
    assert "Version 1" in page.inner_text("#versions")
    page.screenshot(path=f"{SHOTS}/alert-detail.png", full_page=True)
    _submit(page, "#versions >> text=Version 1")
    assert "You are reading version 1" in page.inner_text("main")
    _logout(page)

    # -- A Hamburg police analyst and a Rotterdam terminal operator see neither alert nor feedback.
    for username in ("hamburg.police", "rotterdam.terminal"):
        login(page, username)
        page.goto("/alerts/")
        assert TITLE not in page.inner_text("main"), username
        page.goto("/alerts/?q=reefers")
        assert TITLE not in page.inner_text("main"), username
        page.goto("/alerts/?container=&origin=ECGYE")
        assert TITLE not in page.inner_text("main"), username
        assert page.goto(f"/alerts/{alert.pk}/").status == 404, username
        assert "120 kg" not in page.content()
        page.goto("/notifications/")
        assert "120 kg" not in page.inner_text("main"), username
        _logout(page)

    # -- The practice library, with Markdown rendered safely.
    officer = Membership.objects.get(user__username="antwerp.officer")
    green = {"tlp": "GREEN", "audience": {"agencies": [], "ports": [], "users": []}}
    practice = practice_publish(
        membership=officer,
        data={
            "title": "Reefer unit checks at the scanner exit",
            "body": PRACTICE_BODY,
            "tags": ["reefer", "seals"],
            **green,
        },
    )
    hostile = practice_publish(
        membership=officer,
        data={
            "title": "Seal photographs",
            "body": "Photograph seals.\n\n<script>alert(1)</script> [x](javascript:alert(1)) <img src=x onerror=alert(1)>"
            '\n\n<p onmouseover="alert(1)">hover</p> [d](data:text/html;base64,PHNjcmlwdD4=)',
            "tags": ["seals"],
            **green,
        },
    )
    login(page, "hamburg.terminal")
    page.goto("/practices/?tag=seals")
    assert "Reefer unit checks" in page.inner_text("#practices")
    assert "Seal photographs" in page.inner_text("#practices")
    page.goto(f"/practices/{hostile.pk}/")
    body = page.inner_html("#practice-body")
    assert "Photograph seals." in body
    assert "<script" not in body
    assert "javascript:" not in body
    assert "data:" not in body
    assert not re.search(r"<img|\son\w+=", body)
    page.goto(f"/practices/{practice.pk}/")
    assert "<table>" in page.inner_html("#practice-body")
    page.screenshot(path=f"{SHOTS}/practice.png", full_page=True)

    assert page.csp_violations == [], page.csp_violations
