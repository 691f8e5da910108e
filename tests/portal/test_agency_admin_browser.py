"""Browser: an Antwerp customs admin logs in, enrols TOTP (the code computed from the device key, as a phone
would), opens every agency administration page, rotates and revokes a key, and offboards a member.
No CSP violation on any page. Takes the admin screenshots in docs/screenshots/."""

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from ports.keys import public_x
from ports.models import ApiToken, Membership
from ports.services import agency_key_ensure, node_register, token_issue
from tests.conftest import login
from tests.sharing.conftest import alert_fields

pytestmark = [pytest.mark.integration, pytest.mark.browser]


def totp_code(device: TOTPDevice) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():0{device.digits}d}"


def _world(cast, api_as) -> None:
    """Something to administer: published items, their reads, tokens and a scanner node."""
    m, u = cast["memberships"], cast["users"]
    officer = api_as(u["author"])
    items = [
        ("GREEN", "Cloned seals on reefers from Guayaquil", {"agencies": [], "ports": [], "users": []}),
        (
            "AMBER",
            "Rip-on pattern at the Deurganck terminals",
            {"agencies": ["nlrtm-customs"], "ports": ["DEHAM"], "users": []},
        ),
        ("AMBER+STRICT", "Insider at a stevedoring contractor", {"agencies": ["europol"], "ports": [], "users": []}),
        (
            "RED",
            "Controlled delivery planned for week 12",
            {"agencies": [], "ports": [], "users": [m["rotterdam_customs"].handle]},
        ),
    ]
    ids = {}
    for tlp, title, audience in items:
        response = officer.post("/api/v1/alerts/", alert_fields(tlp=tlp, title=title, audience=audience), format="json")
        assert response.status_code == 201, response.json()
        ids[tlp] = response.json()["id"]
    api_as(u["rotterdam_customs"]).get(f"/api/v1/alerts/{ids['RED']}/")
    api_as(u["europol_analyst"]).get(f"/api/v1/alerts/{ids['AMBER+STRICT']}/")
    token_issue(user=u["colleague"], name="analysis notebook")
    token_issue(user=u["author"], name="case system")
    node_register(
        node_id="beanr-scanner-01",
        agency=m["author"].agency,
        public_key=public_x(Ed25519PrivateKey.generate().public_key()),
        description="Deurganck gate portal",
    )
    agency_key_ensure(m["author"].agency)


def test_admin_enrols_totp_and_administers_the_agency(transactional_db, cast, api_as, page):
    _world(cast, api_as)
    login(page, "antwerp.admin")

    # Agency administration needs the second factor: enrol it.
    page.goto("/agency/")
    page.wait_for_url("**/account/2fa/setup/")
    device = TOTPDevice.objects.get(user__username="antwerp.admin", confirmed=False)
    page.fill("#id_token", totp_code(device))
    page.click("form.form button.primary")  # not the header's log-out button
    page.wait_for_load_state("networkidle")
    assert TOTPDevice.objects.get(pk=device.pk).confirmed

    page.goto("/agency/")
    assert "Antwerp" in page.inner_text("h1")
    assert page.locator("#overview .stat").count() == 4
    page.screenshot(path="docs/screenshots/agency-admin.png", full_page=True)

    page.click("nav.admin-tabs >> text=Members")
    page.wait_for_selector("#members")
    assert "antwerp.analyst" in page.inner_text("#members")
    assert "analysis notebook" in page.inner_text("#tokens")
    page.screenshot(path="docs/screenshots/agency-members.png", full_page=True)

    # Offboard the analyst: confirm by typing the username.
    page.click('tr[data-username="antwerp.analyst"] >> text=Offboard…')
    page.wait_for_selector("#offboard")
    page.fill("#id_confirm", "antwerp.analyst")
    page.click("#offboard button.danger")
    page.wait_for_selector("#offboarded")
    assert page.inner_text("#revoked-count") == "1"
    analyst = Membership.objects.get(user__username="antwerp.analyst")
    assert not analyst.is_active
    assert not ApiToken.objects.filter(user=analyst.user, revoked_at__isnull=True).exists()

    # Keys: rotate, then revoke the retired key with a reason.
    page.click("nav.admin-tabs >> text=Signing keys")
    page.click("#rotate")
    page.wait_for_selector(".msg-success")
    retired = page.locator("#keys tr", has=page.locator(".key-retired")).first
    retired.locator("input[name=reason]").fill("Backup tape lost in transit")
    retired.locator("button.danger").click()
    page.wait_for_selector(".key-revoked")
    assert "Backup tape lost in transit" in page.inner_text("#keys")
    page.screenshot(path="docs/screenshots/agency-keys.png", full_page=True)

    page.click("nav.admin-tabs >> text=Scanner nodes")
    page.wait_for_selector("#nodes")
    assert "beanr-scanner-01" in page.inner_text("#nodes")
    page.screenshot(path="docs/screenshots/agency-nodes.png", full_page=True)

    page.click("nav.admin-tabs >> text=Who can read")
    page.wait_for_selector("#readers")
    text = page.inner_text("#readers")
    assert "Everyone in the alliance" in text
    assert "nlrtm-customs" in text
    assert "europol" in text
    assert "Controlled delivery" not in text  # the admin is no reader of the RED alert
    page.screenshot(path="docs/screenshots/access-report.png", full_page=True)

    page.click("nav.admin-tabs >> text=Who read")
    page.wait_for_selector("#reads")
    text = page.inner_text("#reads")
    assert "rotterdam.analyst" in text
    assert "europol.analyst" in text
    page.screenshot(path="docs/screenshots/access-reads.png", full_page=True)

    assert page.csp_violations == []
