"""Browser: an existing account is invited to a second agency, sees the invitation in the nav, and accepts it.

No CSP violation; takes the invitations screenshot in docs/screenshots/."""

import pytest

from ports.models import Agency, Membership
from ports.services import invitation_send
from tests.conftest import login

pytestmark = [pytest.mark.integration, pytest.mark.browser]


def test_an_invited_member_accepts_from_the_invitations_page(transactional_db, cast, page):
    officer = cast["users"]["author"]  # Antwerp customs
    police = Agency.objects.get(slug="beanr-police")
    invitation_send(agency=police, username=officer.username, role="analyst", actor=cast["users"]["superuser"])
    assert not Membership.objects.filter(user=officer, agency=police).exists()  # nothing until accepted

    login(page, officer.username)
    page.click("text=Invitations")
    page.wait_for_url("**/account/invitations/")
    assert "beanr-police" in page.inner_text("main")
    page.screenshot(path="docs/screenshots/invitations.png", full_page=True)
    page.click("button:has-text('Accept')")
    page.wait_for_load_state()
    assert Membership.objects.filter(user=officer, agency=police, is_active=True).exists()
    page.goto("/")
    assert "beanr-police" in page.inner_text("#memberships")
    assert page.csp_violations == []
