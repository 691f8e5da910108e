"""Every read of AMBER+STRICT or RED content is audited (SPEC section 9), on every path that shows it.

Besides the feed, detail and version reads: the correlation notices and hits (they show an
alert's title), the edit forms (they show the whole document), and an alert page shown again
after a feedback error. A GREEN alert on the same paths adds no read entry.
"""

import pytest
from django.test import Client
from django.urls import reverse

from ports.models import AuditEntry
from scans.services.relay import relay_batch
from tests.scans.helpers import Node

from .conftest import alert_fields, container

pytestmark = pytest.mark.django_db


def _reads(action: str = "alert.read") -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action).order_by("seq"))


def _ids(entry: AuditEntry) -> set[str]:
    return {entry.object_id} if entry.object_id else set(entry.data.get("ids", []))


def _portal(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _alert(api_as, user, **fields) -> dict:
    response = api_as(user).post("/api/v1/alerts/", alert_fields(**fields), format="json")
    assert response.status_code == 201, response.json()
    return response.json()


@pytest.fixture
def strict(cast, api_as):
    """AMBER+STRICT, by Antwerp customs, for Rotterdam customs too."""
    return _alert(
        api_as,
        cast["users"]["author"],
        tlp="AMBER+STRICT",
        title="Strictly: the Guayaquil reefer line",
        audience={"agencies": ["nlrtm-customs"], "ports": [], "users": []},
    )


# ---------------------------------------------------------------- correlation notices and hits


def _correlated_alert(cast, api_as, make_agency, *, tlp: str, audience: dict, title: str) -> dict:
    """A Hamburg customs alert on a container that an Antwerp suspect scan bound for Hamburg also names."""
    box = container()
    alert = _alert(
        api_as,
        cast["users"]["hamburg_customs"],
        tlp=tlp,
        port="DEHAM",
        containers=[box],
        audience=audience,
        title=title,
    )
    node = Node("beanr-xr-01", make_agency("beanr-customs"))
    response = node.push(container=box, verdict="suspect", next_port="DEHAM")
    assert response.status_code == 201, response.json()
    relay_batch(scan_ids=[response.json()["id"]])
    return alert


def test_correlation_notices_audit_the_alert_they_show(cast, api_as, make_agency):
    title = "Strict reefer notice"
    alert = _correlated_alert(
        cast,
        api_as,
        make_agency,
        tlp="AMBER+STRICT",
        audience={"agencies": ["beanr-customs"], "ports": [], "users": []},
        title=title,
    )
    reader = cast["users"]["author"]  # Antwerp customs: reads its scan and, by the audience, the alert
    before = len(_reads())
    [notice] = api_as(reader).get("/api/v1/correlations/").json()["results"]
    assert title in {notice["a"].get("title"), notice["b"].get("title")}
    entries = _reads()[before:]
    assert len(entries) == 1
    assert entries[0].actor == "antwerp.officer"
    assert alert["id"] in _ids(entries[0])
    assert entries[0].data["via"] == "correlations"

    page = _portal(reader).get(reverse("correlation_list"))
    assert title in page.content.decode()
    entries = _reads()[before + 1 :]
    assert len(entries) == 1
    assert alert["id"] in _ids(entries[0])


def test_one_sided_hits_audit_the_red_alert_they_show(cast, api_as, make_agency):
    title = "Red: the police informant box"
    handle = cast["memberships"]["hamburg_police"].handle
    alert = _correlated_alert(
        cast, api_as, make_agency, tlp="RED", audience={"agencies": [], "ports": [], "users": [handle]}, title=title
    )
    owner = cast["users"]["hamburg_customs"]  # the author holds the hit: Antwerp cannot read the alert
    before = len(_reads())
    [hit] = api_as(owner).get(reverse("api-correlation-hits")).json()["results"]
    assert hit["yours"]["title"] == title
    entries = _reads()[before:]
    assert len(entries) == 1
    assert alert["id"] in _ids(entries[0])
    assert entries[0].data["via"] == "hits"

    page = _portal(owner).get(reverse("correlation_list")).content.decode()
    assert title in page
    assert any(alert["id"] in _ids(e) for e in _reads()[before + 1 :])

    dismissed = api_as(owner).post(reverse("api-correlation-hit-dismiss", args=[hit["id"]]), format="json")
    assert dismissed.status_code == 200
    assert dismissed.json()["yours"]["title"] == title
    assert _reads()[-1].data["via"] == "hit"
    assert alert["id"] in _ids(_reads()[-1])


def test_a_green_correlation_adds_no_read_entry(cast, api_as, make_agency):
    _correlated_alert(
        cast, api_as, make_agency, tlp="GREEN", audience={"agencies": [], "ports": [], "users": []}, title="g"
    )
    api_as(cast["users"]["author"]).get("/api/v1/correlations/")
    _portal(cast["users"]["author"]).get(reverse("correlation_list"))
    assert _reads() == []


# ---------------------------------------------------------------- edit forms


def test_the_alert_edit_form_is_an_audited_read(cast, strict):
    author = _portal(cast["users"]["author"])
    url = reverse("alert_edit", args=[strict["id"]])
    page = author.get(url)
    assert page.status_code == 200
    assert strict["title"] in page.content.decode()
    [entry] = _reads()
    assert entry.actor == "antwerp.officer"
    assert strict["id"] in _ids(entry)
    assert entry.data["via"] == "edit"
    # Shown again after a validation error: read again.
    again = author.post(url, {"title": ""})
    assert again.status_code == 400
    assert strict["title"] in again.content.decode()
    assert len(_reads()) == 2
    assert strict["id"] in _ids(_reads()[-1])


def test_the_practice_edit_form_is_an_audited_read(cast, api_as):
    response = api_as(cast["users"]["author"]).post(
        "/api/v1/practices/",
        {
            "title": "Red handling of informant tips",
            "body": "Only the named officer reads this.",
            "tags": ["informants"],
            "tlp": "RED",
            "audience": {"agencies": [], "ports": [], "users": [cast["memberships"]["author"].handle]},
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    practice = response.json()
    author = _portal(cast["users"]["author"])
    url = reverse("practice_edit", args=[practice["id"]])
    page = author.get(url)
    assert page.status_code == 200
    assert "Only the named officer reads this." in page.content.decode()
    [entry] = _reads("practice.read")
    assert practice["id"] in _ids(entry)
    assert entry.data["via"] == "edit"
    assert author.post(url, {"title": ""}).status_code == 400
    assert len(_reads("practice.read")) == 2


def test_a_green_edit_form_adds_no_read_entry(cast, api_as):
    green = _alert(api_as, cast["users"]["author"])
    assert _portal(cast["users"]["author"]).get(reverse("alert_edit", args=[green["id"]])).status_code == 200
    assert _reads() == []


# ---------------------------------------------------------------- feedback shown again after an error


def test_the_alert_page_shown_again_after_a_feedback_error_is_an_audited_read(cast, strict):
    reader = _portal(cast["users"]["rotterdam_customs"])
    response = reader.post(reverse("alert_feedback", args=[strict["id"]]), {"outcome": "seized", "seized_kg": "-3"})
    assert response.status_code == 400
    assert strict["title"] in response.content.decode()
    [entry] = _reads()
    assert entry.actor == "rotterdam.analyst"
    assert strict["id"] in _ids(entry)
    assert entry.data["via"] == "feedback"
