"""Browser: a member sets their time zone, language and email, makes a token (shown once), sees it listed,
revokes it, and changes their password; at desktop and phone width, with no CSP violation.
Takes the account screenshots in docs/screenshots/."""

import re

import pytest

from ports.models import ApiToken, UserProfile
from tests.conftest import PASSWORD, login

pytestmark = [pytest.mark.integration, pytest.mark.browser]

NEW_PASSWORD = "a much longer harbour passphrase 42"


def test_account_page_flows(transactional_db, cast, page):
    user = cast["users"]["rotterdam_customs"]
    login(page, user.username)
    page.click("#nav-account")
    page.wait_for_url("**/account/")

    # Time zone, language and email.
    page.select_option("#id_timezone", "America/Guayaquil")
    page.select_option("#id_email_alerts", "immediate")
    page.select_option("#id_email_deliveries", "off")
    page.click("#preferences-form button[type=submit]")
    page.wait_for_url("**/account/")
    assert "Your preferences are saved." in page.inner_text(".messages")
    assert "times shown in America/Guayaquil" in page.inner_text("footer")
    profile = UserProfile.objects.get(user=user)
    assert (profile.timezone, profile.email_alerts, profile.email_deliveries) == (
        "America/Guayaquil",
        "immediate",
        "off",
    )

    # A token: shown once.
    page.fill("#id_name", "nightly export")
    page.check("#id_read_only")
    page.click("#token-form button[type=submit]")
    page.wait_for_selector("#raw-token")
    raw = page.inner_text("#raw-token").strip()
    assert re.fullmatch(r"axp_[A-Za-z0-9_-]{40,}", raw)
    assert "nightly export" in page.inner_text("#token-list")
    page.screenshot(path="docs/screenshots/account-token-created.png", full_page=True)
    token = ApiToken.objects.get(user=user, name="nightly export")
    assert token.read_only
    page.goto("/account/")
    assert raw not in page.content()  # never shown again
    assert "read-only" in page.inner_text(f"tr[data-token='{token.public_id}']")
    page.screenshot(path="docs/screenshots/account.png", full_page=True)

    # Revoke it.
    page.click(f"tr[data-token='{token.public_id}'] button")
    page.wait_for_url("**/account/")
    assert "is revoked" in page.inner_text(".messages")
    assert page.locator(f"tr[data-token='{token.public_id}']").count() == 0
    token.refresh_from_db()
    assert token.revoked_at is not None

    # Password.
    page.fill("#id_old_password", PASSWORD)
    page.fill("#id_new_password1", NEW_PASSWORD)
    page.fill("#id_new_password2", NEW_PASSWORD)
    page.click("#password-form button[type=submit]")
    page.wait_for_url("**/account/")
    assert "Your password is changed." in page.inner_text(".messages")
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)

    # Phone width: the page stays usable (tables scroll inside their card, not the page).
    page.set_viewport_size({"width": 375, "height": 800})
    page.goto("/account/")
    page.screenshot(path="docs/screenshots/account-phone.png", full_page=True)
    # What this page adds must fit a phone (the shared header and navigation are the accessibility work's).
    wide = page.evaluate(
        """() => [...document.querySelectorAll('main *')]
            .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1
                         && !e.closest('.table-wrap'))
            .map(e => e.tagName + '#' + e.id + '.' + e.className)"""
    )
    assert wide == [], wide
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 1, overflow
    assert page.csp_violations == []


def test_home_page_shows_what_is_new(transactional_db, cast, page):
    from sharing.services.alerts import alert_publish
    from tests.sharing.conftest import alert_fields

    alert_publish(
        membership=cast["memberships"]["author"],
        data=alert_fields(tlp="GREEN", title="Rip-on bags in reefers bound for Rotterdam", port="NLRTM"),
    )
    login(page, cast["users"]["rotterdam_customs"].username)
    assert "Rip-on bags in reefers bound for Rotterdam" in page.inner_text("#new-alerts")
    page.screenshot(path="docs/screenshots/home-whats-new.png", full_page=True)
    assert page.csp_violations == []
