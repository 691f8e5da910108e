"""Accessibility and small screens (WCAG 2.2 AA as the aim): axe-core on every portal page at phone width
(375 px) with no serious or critical violation; no page wider than the phone (tables scroll inside their own
labelled, focusable regions); a skip link, visible focus and aria-current. Then the walk in Dutch, French
and German: login, feed, alert form, alert, trends (and the account page when there is one) with no
untranslated string and no CSP violation. Phone-width screenshots go to docs/screenshots/."""

import contextlib
import json

import pytest
from django.urls import NoReverseMatch, reverse

from correlation.models import OneSidedHit
from ports.models import UserProfile
from scans.models import Scan
from sharing.models import Alert, Practice
from tests.a11y.conftest import PASSWORD, PHONE, english_strings, run_axe, session_cookie, untranslated
from tests.conftest import CspWatch
from trends.models import DisplacementFlag

pytestmark = [pytest.mark.integration, pytest.mark.browser]

SCREENSHOTS = {  # page name -> file in docs/screenshots/ (English unless the walk below takes it)
    "alert_feed": "phone-alerts.png",
    "alert_detail": "phone-alert.png",
    "delivery_inbox": "phone-inbox.png",
    "agency_members": "phone-agency-members.png",
    "trends": "phone-trends.png",
}


def _pages(live_server) -> dict[str, list[tuple[str, str]]]:
    """Who opens which page: (name, path) per user, every portal page with the demo's objects."""
    green = Alert.objects.filter(agency__slug="beanr-customs", tlp="GREEN").order_by("first_created_at").first()
    practice = Practice.objects.first()
    scan = Scan.objects.filter(port_id="BEANR").first()
    flag = DisplacementFlag.objects.first()
    assert OneSidedHit.objects.exists()  # the correlations page shows its hits table
    officer = [
        ("home", reverse("home")),
        ("alert_feed", reverse("alert_feed")),
        ("alert_feed_search", reverse("alert_feed") + "?q=verzegeling"),
        ("alert_create", reverse("alert_create")),
        ("alert_detail", reverse("alert_detail", args=[green.pk])),
        ("alert_edit", reverse("alert_edit", args=[green.pk])),
        ("alert_version", reverse("alert_version", args=[green.pk, "1"])),
        ("practice_list", reverse("practice_list")),
        ("practice_detail", reverse("practice_detail", args=[practice.pk])),
        ("practice_create", reverse("practice_create")),
        ("scan_list", reverse("scan_list")),
        ("scan_detail", reverse("scan_detail", args=[scan.pk])),
        ("delivery_inbox", reverse("delivery_inbox")),
        ("correlation_list", reverse("correlation_list")),
        ("trends", reverse("trends")),
        ("notification_list", reverse("notification_list")),
        ("account_invitations", reverse("account_invitations")),
        ("totp_setup", reverse("totp_setup")),
    ]
    admin = [
        ("agency_overview", reverse("agency_overview", args=["beanr-customs"])),
        ("agency_members", reverse("agency_members", args=["beanr-customs"])),
        ("agency_keys", reverse("agency_keys", args=["beanr-customs"])),
        ("agency_nodes", reverse("agency_nodes", args=["beanr-customs"])),
        ("agency_report_readers", reverse("agency_report_readers", args=["beanr-customs"])),
        ("agency_report_reads", reverse("agency_report_reads", args=["beanr-customs"])),
        ("subscription_list", reverse("subscription_list")),
        ("webhook_list", reverse("webhook_list")),
    ]
    liaison = [("trends_flag", reverse("trends_flag", args=[flag.pk]))]
    with contextlib.suppress(NoReverseMatch):
        officer.append(("account", reverse("account")))  # the account page, once it exists
    return {"antwerp.officer": officer, "antwerp.admin": admin, "europol.liaison": liaison}


def _settle(page) -> None:
    page.wait_for_load_state("networkidle")
    if page.locator("#trends").count():
        page.wait_for_selector("#trends.trends-loaded", timeout=30000)
    if page.locator("#flag").count():
        page.wait_for_selector("#flag.flag-loaded", timeout=30000)


def test_axe_finds_nothing_serious_on_any_page_at_phone_width(demo, browser, live_server):
    problems, wide = {}, {}
    # axe is injected as a script: this context bypasses the CSP (the walk below checks the CSP itself).
    anonymous = browser.new_context(base_url=live_server.url, viewport=PHONE, bypass_csp=True)
    page = anonymous.new_page()
    page.goto("/login/")
    problems["login"] = run_axe(page)
    page.screenshot(path="docs/screenshots/phone-login.png", full_page=True)
    anonymous.close()

    for username, pages in _pages(live_server).items():
        context = browser.new_context(
            base_url=live_server.url, viewport=PHONE, bypass_csp=True, timezone_id="Europe/Brussels"
        )
        context.add_cookies([session_cookie(live_server, username, verified=username == "antwerp.admin")])
        page = context.new_page()
        for name, path in pages:
            response = page.goto(path)
            assert response.status == 200, (username, name, response.status)
            _settle(page)
            problems[name] = run_axe(page)
            # Usable at 375 px: the page itself never scrolls sideways; wide tables scroll in their region.
            width = page.evaluate("() => document.documentElement.scrollWidth")
            if width > PHONE["width"]:
                wide[name] = width
            for region in page.locator(".table-scroll").all():
                assert region.get_attribute("tabindex") == "0", name
                assert region.get_attribute("role") == "region", name
                assert region.get_attribute("aria-label") or region.get_attribute("aria-labelledby"), name
            if name in SCREENSHOTS:
                page.screenshot(path=f"docs/screenshots/{SCREENSHOTS[name]}", full_page=True)
        context.close()
    serious = {name: found for name, found in problems.items() if found}
    if serious:
        pytest.fail("serious or critical axe violations:\n" + json.dumps(serious, indent=1))
    assert wide == {}
    assert len(problems) >= 28


def test_skip_link_focus_and_current_page(demo, browser, live_server):
    context = browser.new_context(base_url=live_server.url, viewport=PHONE)
    context.add_cookies([session_cookie(live_server, "antwerp.officer")])
    page = context.new_page()
    page.goto(reverse("alert_feed"))
    page.keyboard.press("Tab")
    skip = page.locator("a.skip-link")
    assert skip.evaluate("el => el === document.activeElement")
    box = skip.bounding_box()
    assert box is not None
    assert box["y"] >= 0  # shown on focus, not off-screen
    outline = skip.evaluate("el => getComputedStyle(el).outlineStyle")
    assert outline not in ("none", "")
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "main"
    current = page.locator('nav.mainnav a[aria-current="page"]')
    assert current.count() == 1
    assert current.get_attribute("href") == reverse("alert_feed")
    # Every control has an accessible name (axe checks it too; here the language switcher explicitly).
    assert page.locator("label[for=language-select]").count() == 1
    context.close()


@pytest.mark.parametrize(
    ("locale", "language", "login_button", "feed_heading"),
    [
        ("nl-NL", "nl", "Inloggen", "Waarschuwingen"),
        ("fr-FR", "fr", "Se connecter", "Alertes"),
        ("de-DE", "de", "Anmelden", "Warnmeldungen"),
    ],
)
def test_walk_in_each_language(demo, browser, live_server, locale, language, login_button, feed_heading):
    english = english_strings(language)
    context = browser.new_context(base_url=live_server.url, locale=locale, timezone_id="Europe/Brussels")
    page = context.new_page()
    csp = CspWatch()
    csp.attach(page)
    leftovers = {}

    page.goto("/login/")
    assert page.get_attribute("html", "lang") == language
    leftovers["login"] = untranslated(page, english)
    page.fill("#id_username", "antwerp.officer")
    page.fill("#id_password", PASSWORD)
    page.click(f"button:has-text('{login_button}')")
    page.wait_for_load_state("networkidle")
    assert "/login/" not in page.url

    page.goto(reverse("alert_feed"))
    assert page.inner_text("h1") == feed_heading
    leftovers["feed"] = untranslated(page, english)

    page.goto(reverse("alert_create"))
    leftovers["alert form"] = untranslated(page, english)
    # The JavaScript strings come from the catalogue: pick GREEN with a container number.
    page.check("input[name=tlp][value=GREEN]")
    page.fill("#id_containers", "MSCU1234566")
    warning = page.inner_text("#identifier-warning-text")
    assert "GREEN" in warning
    assert "Container or vessel numbers" not in warning
    if language == "fr":
        page.screenshot(path="docs/screenshots/alert-form-fr.png", full_page=True)

    alert = Alert.objects.get(title__startswith="Cloned seals")
    page.goto(reverse("alert_detail", args=[alert.pk]))
    leftovers["alert"] = untranslated(page, english)

    page.goto(reverse("trends"))
    _settle(page)
    leftovers["trends"] = untranslated(page, english)
    status = page.inner_text("#trend-status")
    assert "ports with data" not in status
    page.set_viewport_size(PHONE)
    page.reload()  # drawn at phone width from the start, as on a phone (charts size themselves on load)
    _settle(page)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]  # longer words too
    if language == "de":
        page.screenshot(path="docs/screenshots/phone-trends-de.png", full_page=True)

    try:
        account = reverse("account")
    except NoReverseMatch:
        account = None
    if account:
        page.goto(account)
        leftovers["account"] = untranslated(page, english)
        # The most recent choice wins: the language stored on the account page, then the header's switcher
        # (which the stored choice used to outrank on every later page, whatever the member picked there).
        page.set_viewport_size({"width": 1280, "height": 900})
        page.select_option("#id_language", language)
        page.click("#preferences-form button[type=submit]")
        page.wait_for_url("**/account/")
        assert UserProfile.objects.get(user__username="antwerp.officer").language == language
        page.select_option("#language-select", "en-gb")
        page.click("button.language-go")
        page.wait_for_load_state("networkidle")
        assert page.get_attribute("html", "lang") == "en-gb"
        assert page.input_value("#id_language") == "en-gb"  # the account page shows the new choice
        page.goto(reverse("alert_feed"))
        assert page.inner_text("h1") == "Alerts"
        assert UserProfile.objects.get(user__username="antwerp.officer").language == "en-gb"
        page.select_option("#language-select", language)  # and back, for the screenshots below
        page.click("button.language-go")
        page.wait_for_load_state("networkidle")
        assert page.inner_text("h1") == feed_heading

    if language == "nl":
        page.set_viewport_size(PHONE)
        page.goto(reverse("alert_feed") + "?q=verzegeling")
        page.screenshot(path="docs/screenshots/phone-search-nl.png", full_page=True)

    assert {name: sorted(found) for name, found in leftovers.items() if found} == {}
    assert csp == []
    context.close()
