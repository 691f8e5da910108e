"""Browser: a demo officer logs in, sees agency and role, logs out; no CSP violation anywhere."""

import pytest

from tests.conftest import login

pytestmark = [pytest.mark.integration, pytest.mark.browser]


def test_officer_logs_in_sees_agency_and_role_and_logs_out(transactional_db, cast, page):
    login(page, "antwerp.officer")
    table = page.locator("#memberships")
    assert "beanr-customs" in table.inner_text()
    assert "Officer" in table.locator(".role").first.inner_text()
    assert cast["memberships"]["author"].handle in table.inner_text()
    page.screenshot(path="docs/screenshots/home.png", full_page=True)
    page.click("text=Log out")
    page.wait_for_url("**/login/")
    page.goto("/")
    assert "/login/" in page.url
    assert page.csp_violations == []


def test_wrong_password_then_lockout(transactional_db, cast, page):
    for _ in range(5):
        login(page, "antwerp.officer", "wrong-password")
        assert "/login/" in page.url
    login(page, "antwerp.officer")  # the right password is now refused too
    assert "Too many failed logins" in page.content()
    assert page.csp_violations == []


def test_swagger_ui_works_under_the_csp(transactional_db, cast, page):
    login(page, "antwerp.officer")
    page.goto("/api/docs/")
    page.wait_for_selector(".swagger-ui .info", timeout=15000)
    assert "Alliance Exchange API" in page.inner_text(".swagger-ui .info")
    assert page.csp_violations == []
