"""Alert and best-practice pages: the form signs through the services, the feed and detail follow the access
rule, versions and withdrawal, feedback on the page, bounded queries."""

import re

import pytest
from django.urls import reverse

from ports.models import AuditEntry
from sharing.models import Alert, AlertVersion, Feedback, Practice
from tests.sharing.conftest import VESSELS, alert_fields, container

pytestmark = pytest.mark.django_db


@pytest.fixture
def publish(api_as):
    """POST an alert through the API as `user` (the API and the form share the service)."""

    def post(user, **overrides) -> dict:
        response = api_as(user).post("/api/v1/alerts/", alert_fields(**overrides), format="json")
        assert response.status_code == 201, response.json()
        return response.json()

    return post


def _as(client, user):
    client.logout()
    client.force_login(user)
    return client


def _form(**overrides) -> dict:
    data = {
        "title": "Rip-on bags in reefers from Guayaquil",
        "body": "Seals replaced; cloned seal numbers attached. Check behind the doors.",
        "category": "rip_on_rip_off",
        "severity": "high",
        "tlp": "AMBER",
        "audience_ports": ["NLRTM"],
        "port": "BEANR",
        "origin": "ecgye",
        "containers": "",
        "vessels": "",
        "valid_until": "",
        "source_reliability": "B",
        "information_reliability": "2",
        "handling": "",
    }
    data.update(overrides)
    return data


def _text(response) -> str:
    return response.content.decode()


@pytest.fixture
def amber(cast, client):
    """An AMBER alert for Rotterdam posted through the form by the Antwerp customs officer."""
    response = _as(client, cast["users"]["author"]).post("/alerts/new/", _form())
    assert response.status_code == 302, _text(response)
    alert = Alert.objects.get()
    assert response["Location"] == reverse("alert_detail", args=[alert.pk])
    client.logout()
    return alert


def test_officer_posts_an_amber_alert_through_the_form(cast, client, amber, api_as):
    assert amber.tlp == "AMBER"
    assert amber.agency.slug == "beanr-customs"
    assert amber.origin_id == "ECGYE"
    assert amber.source_reliability == "B"
    assert amber.information_reliability == "2"
    assert [g.port_id for g in amber.grants.all()] == ["NLRTM"]
    # The API's `url` is this page.
    api = api_as(cast["users"]["author"]).get(f"/api/v1/alerts/{amber.pk}/").json()
    assert api["url"] == reverse("alert_detail", args=[amber.pk])
    assert api["signature_status"] == "verified"
    assert api["author"] == cast["memberships"]["author"].handle
    page = _text(_as(client, cast["users"]["author"]).get(api["url"]))
    assert "✔ Verified" in page
    assert amber.key_id[:12] in page
    assert cast["memberships"]["author"].handle in page
    assert "TLP:AMBER" in page
    assert ">B2<" in page


def test_the_form_explains_each_tlp_level_and_offers_the_directory(cast, client):
    page = _text(_as(client, cast["users"]["author"]).get("/alerts/new/"))
    for level in ("CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"):
        assert f'value="{level}"' in page
    assert "public-sector agency (customs, police, port authority) at the ports you pick" in page
    assert "not even your colleagues" in page
    assert 'value="nlrtm-customs"' in page
    assert 'value="NLRTM"' in page
    assert cast["memberships"]["rotterdam_customs"].handle in page  # RED recipients from the directory
    assert "Drugs added to a legitimate container at loading" in page  # category definitions
    assert "sharing/alert_form.js" in page
    assert "<script>" not in page
    assert "style=" not in page


def test_lists_the_level_does_not_use_are_dropped(cast, client):
    response = _as(client, cast["users"]["author"]).post(
        "/alerts/new/", _form(tlp="AMBER+STRICT", audience_agencies=["nlrtm-customs"], audience_ports=["DEHAM"])
    )
    assert response.status_code == 302
    alert = Alert.objects.get()
    assert {(g.kind, g.agency_id and g.agency.slug) for g in alert.grants.all()} == {("agency", "nlrtm-customs")}


def test_identifiers_in_a_green_alert_need_confirmation(cast, client):
    officer = _as(client, cast["users"]["author"])
    box = container()
    response = officer.post("/alerts/new/", _form(tlp="GREEN", audience_ports=[], containers=box))
    assert response.status_code == 400
    assert "Identifiers in a widely shared alert" in _text(response)
    assert "Confirm, or pick a stricter" in _text(response)
    assert not Alert.objects.exists()
    response = officer.post(
        "/alerts/new/",
        _form(tlp="GREEN", audience_ports=[], containers=box, vessels=VESSELS[0], confirm_identifiers="on"),
    )
    assert response.status_code == 302
    assert Alert.objects.get().containers == [box]


def test_field_errors_are_shown_next_to_the_fields(cast, client):
    officer = _as(client, cast["users"]["author"])
    response = officer.post("/alerts/new/", _form(containers="MSCU1234567", origin="XX1"))
    assert response.status_code == 400
    page = _text(response)
    containers = page[page.index('id="id_containers"') :][:600]
    assert "is not an ISO 6346 container number" in containers
    origin = page[page.index('id="id_origin"') :][:1200]
    assert "XX1" in origin
    assert "errorlist" in origin
    response = officer.post("/alerts/new/", _form(title=""))
    page = _text(response)
    title = page[page.index('id="field-title"') :][:600]
    assert response.status_code == 400
    assert "This field is required" in title
    assert not Alert.objects.exists()


def test_only_officers_publish(cast, client):
    for name in ("colleague", "rotterdam_customs", "europol_liaison"):
        assert _as(client, cast["users"][name]).get("/alerts/new/").status_code == 403
        assert _as(client, cast["users"][name]).post("/alerts/new/", _form()).status_code == 403
        assert _as(client, cast["users"][name]).get("/practices/new/").status_code == 403
    assert not Alert.objects.exists()


def test_who_sees_the_alert_in_feed_detail_and_search(cast, client, amber):
    detail = reverse("alert_detail", args=[amber.pk])
    for name in ("author", "colleague", "rotterdam_customs", "rotterdam_police"):
        c = _as(client, cast["users"][name])
        assert amber.title in _text(c.get("/alerts/")), name
        assert amber.title in _text(c.get("/alerts/?q=reefers")), name
        assert c.get(detail).status_code == 200, name
    for name in ("hamburg_police", "rotterdam_terminal", "europol_liaison", "hamburg_terminal"):
        c = _as(client, cast["users"][name])
        assert amber.title not in _text(c.get("/alerts/")), name
        assert amber.title not in _text(c.get("/alerts/?q=reefers")), name
        assert amber.title not in _text(c.get("/alerts/?port=BEANR&origin=ECGYE")), name
        assert c.get(detail).status_code == 404, name
        assert c.get(reverse("alert_version", args=[amber.pk, 1])).status_code == 404, name
        assert c.post(reverse("alert_feedback", args=[amber.pk]), {"outcome": "seized"}).status_code == 404, name
    # Superusers administer; they do not read content.
    assert _as(client, cast["users"]["superuser"]).get(detail).status_code == 404


def test_feed_filters(cast, client, publish):
    box = container()
    author = cast["users"]["author"]
    publish(
        author, title="Strict one about seals", tlp="AMBER+STRICT", audience={"agencies": [], "ports": [], "users": []}
    )
    publish(author, title="Green one with a box", containers=[box], category="reefer_unit", severity="low")
    c = _as(client, author)
    assert "Strict one" in _text(c.get("/alerts/?tlp=AMBER%2BSTRICT"))
    assert "Green one" not in _text(c.get("/alerts/?tlp=AMBER%2BSTRICT"))
    page = _text(c.get(f"/alerts/?container={box.lower()}"))
    assert "Green one" in page
    assert "Strict one" not in page
    page = _text(c.get("/alerts/?category=reefer_unit&severity=low"))
    assert "Green one" in page
    assert "Strict one" not in page
    assert "Strict one" not in _text(_as(client, cast["users"]["rotterdam_customs"]).get("/alerts/?q=seals"))


def test_feed_shows_signature_expiry_and_withdrawal(cast, client, publish):
    author = cast["users"]["author"]
    publish(author, title="Old news", valid_until="2020-01-01T00:00:00Z")
    page = _text(_as(client, author).get("/alerts/"))
    assert "Expired" in page
    assert "✔ Verified" in page
    assert "TLP:GREEN" in page


def test_feed_is_bounded_in_queries(cast, client, publish, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    author = cast["users"]["author"]
    reader = _as(client, cast["users"]["rotterdam_customs"])

    def count() -> int:
        reader.get("/alerts/")  # warm caches (reader context, sessions)
        with CaptureQueriesContext(connection) as ctx:
            assert reader.get("/alerts/").status_code == 200
        return len(ctx.captured_queries)

    for i in range(3):
        publish(
            author,
            title=f"Small {i}",
            tlp="AMBER",
            audience={"agencies": ["nlrtm-customs"], "ports": ["NLRTM"], "users": []},
        )
    few = count()
    for i in range(20):
        publish(
            author,
            title=f"More {i}",
            tlp="AMBER",
            audience={"agencies": ["nlrtm-customs"], "ports": ["NLRTM"], "users": []},
            containers=[container()],
        )
    assert count() == few  # no query per alert
    with django_assert_max_num_queries(25):
        reader.get("/alerts/")


def test_edit_signs_a_new_version_and_every_version_stays_readable(cast, client, amber):
    officer = _as(client, cast["users"]["author"])
    form = officer.get(reverse("alert_edit", args=[amber.pk]))
    assert form.status_code == 200
    assert "Sign new version" in _text(form)
    assert amber.title in _text(form)
    response = officer.post(
        reverse("alert_edit", args=[amber.pk]),
        _form(title="Rip-on bags: second sighting", audience_ports=["NLRTM", "DEHAM"]),
    )
    assert response.status_code == 302
    amber.refresh_from_db()
    assert amber.version == 2
    assert amber.title == "Rip-on bags: second sighting"
    page = _text(officer.get(reverse("alert_detail", args=[amber.pk])))
    assert "Version 2" in page
    assert "Version 1" in page
    v1 = _text(officer.get(reverse("alert_version", args=[amber.pk, 1])))
    assert "Rip-on bags in reefers from Guayaquil" in v1
    assert "You are reading version 1" in v1
    assert "✔ Verified" in v1
    assert officer.get(reverse("alert_version", args=[amber.pk, 3])).status_code == 404
    assert officer.get(reverse("alert_version", args=[amber.pk, "x"])).status_code == 404
    # Hamburg is now in the audience: it reads the whole history.
    hamburg = _as(client, cast["users"]["hamburg_police"])
    assert "Rip-on bags in reefers" in _text(hamburg.get(reverse("alert_version", args=[amber.pk, 1])))
    # Only officers of the author agency sign versions.
    assert _as(client, cast["users"]["colleague"]).get(reverse("alert_edit", args=[amber.pk])).status_code == 403
    assert (
        _as(client, cast["users"]["rotterdam_customs"]).post(reverse("alert_withdraw", args=[amber.pk])).status_code
        == 403
    )
    assert AlertVersion.objects.filter(alert=amber).count() == 2


def test_withdrawal(cast, client, amber):
    officer = _as(client, cast["users"]["author"])
    assert officer.get(reverse("alert_withdraw", args=[amber.pk])).status_code == 405
    response = officer.post(reverse("alert_withdraw", args=[amber.pk]))
    assert response.status_code == 302
    amber.refresh_from_db()
    assert amber.status == "withdrawn"
    assert amber.version == 2
    page = _text(officer.get(reverse("alert_detail", args=[amber.pk])))
    assert "This alert was withdrawn" in page
    assert "Edit (new version)" not in page
    assert "Withdrawn" in _text(_as(client, cast["users"]["rotterdam_customs"]).get("/alerts/"))
    officer = _as(client, cast["users"]["author"])
    assert officer.post(reverse("alert_edit", args=[amber.pk]), _form()).status_code == 302  # back to the alert
    amber.refresh_from_db()
    assert amber.version == 2


def test_red_is_edited_and_withdrawn_by_its_author_only(cast, client, make_member, publish):
    second = make_member("antwerp.officer2", "beanr-customs", "officer")
    red = publish(cast["users"]["author"], tlp="RED", audience={"agencies": [], "ports": [], "users": [second.handle]})
    other = _as(client, second.user)
    assert other.get(reverse("alert_detail", args=[red["id"]])).status_code == 200
    assert "Edit (new version)" not in _text(other.get(reverse("alert_detail", args=[red["id"]])))
    assert other.get(reverse("alert_edit", args=[red["id"]])).status_code == 403
    assert other.post(reverse("alert_withdraw", args=[red["id"]])).status_code == 403
    assert _as(client, cast["users"]["colleague"]).get(reverse("alert_detail", args=[red["id"]])).status_code == 404
    assert _as(client, cast["users"]["author"]).post(reverse("alert_withdraw", args=[red["id"]])).status_code == 302
    assert Alert.objects.get(pk=red["id"]).status == "withdrawn"


def test_reads_of_amber_strict_and_red_pages_are_audited(cast, client, publish):
    strict = publish(
        cast["users"]["author"], tlp="AMBER+STRICT", audience={"agencies": ["nlrtm-customs"], "ports": [], "users": []}
    )
    green = publish(cast["users"]["author"])
    reader = _as(client, cast["users"]["rotterdam_customs"])
    reader.get(reverse("alert_detail", args=[green["id"]]))
    assert not AuditEntry.objects.filter(action="alert.read").exists()
    reader.get(reverse("alert_detail", args=[strict["id"]]))
    entry = AuditEntry.objects.filter(action="alert.read").get()
    assert entry.actor == "rotterdam.analyst"
    assert entry.object_id == strict["id"]
    reader.get("/alerts/")
    feed_entry = AuditEntry.objects.filter(action="alert.read").order_by("-seq").first()
    assert feed_entry.data["via"] == "feed"
    assert strict["id"] in feed_entry.data["ids"]


def test_feedback_through_the_page(cast, client, amber):
    detail = reverse("alert_detail", args=[amber.pk])
    rotterdam = _as(client, cast["users"]["rotterdam_customs"])
    assert 'id="feedback-form"' in _text(rotterdam.get(detail))
    response = rotterdam.post(reverse("alert_feedback", args=[amber.pk]), {"outcome": "seized", "seized_kg": "-3"})
    assert response.status_code == 400
    assert "Kilograms cannot be negative" in _text(response)
    response = rotterdam.post(
        reverse("alert_feedback", args=[amber.pk]),
        {"outcome": "seized", "seized_kg": "120", "note": "Bags behind doors"},
    )
    assert response.status_code == 302
    assert response["Location"].endswith("#feedback")
    assert Feedback.objects.get().seized_kg == 120
    assert "120 kg" in _text(rotterdam.get(detail))
    assert "120 kg" in _text(_as(client, cast["users"]["author"]).get(detail))
    # Rotterdam police read the alert, but the feedback is not theirs to read.
    police = _text(_as(client, cast["users"]["rotterdam_police"]).get(detail))
    assert amber.title in police
    assert "120 kg" not in police
    assert "No feedback you may read yet" in police


def test_private_sector_reads_green_but_gives_no_feedback(cast, client, publish):
    green = publish(cast["users"]["author"])
    terminal = _as(client, cast["users"]["rotterdam_terminal"])
    page = _text(terminal.get(reverse("alert_detail", args=[green["id"]])))
    assert green["title"] in page
    assert 'id="feedback-form"' not in page
    assert terminal.post(reverse("alert_feedback", args=[green["id"]]), {"outcome": "seized"}).status_code == 403
    assert not Feedback.objects.exists()


def test_a_tampered_alert_shows_as_an_integrity_failure_to_its_agency_only(cast, client, amber):
    Alert.objects.filter(pk=amber.pk).update(title="Tampered title")
    detail = reverse("alert_detail", args=[amber.pk])
    page = _text(_as(client, cast["users"]["author"]).get(detail))
    assert "Integrity failure" in page
    assert _as(client, cast["users"]["rotterdam_customs"]).get(detail).status_code == 404
    assert "Tampered title" not in _text(client.get("/alerts/"))


# ---------------------------------------------------------------- best practices


MALICIOUS = """## Checking reefer units

1. Open the **compressor** housing.
2. Compare [the guide](https://example.org/guide).

<script>alert('x')</script>
[click me](javascript:alert(1))
<img src=x onerror="alert(1)">
<a href="data:text/html;base64,PHNjcmlwdD4=">data link</a>
<p onmouseover="alert(1)">hover</p>
"""


def test_practice_published_through_the_form_renders_markdown_safely(cast, client):
    officer = _as(client, cast["users"]["author"])
    assert officer.get("/practices/new/").status_code == 200
    response = officer.post(
        "/practices/new/",
        {"title": "Reefer unit checks", "body": MALICIOUS, "tags": "Reefer, seals", "tlp": "GREEN"},
    )
    assert response.status_code == 302, _text(response)
    practice = Practice.objects.get()
    assert practice.tags == ["reefer", "seals"]
    assert practice.body == MALICIOUS.strip()
    page = _text(officer.get(reverse("practice_detail", args=[practice.pk])))
    body = page[page.index('id="practice-body"') :]
    body = body[: body.index("</article>")]
    assert "<h2>Checking reefer units</h2>" in body
    assert "<strong>compressor</strong>" in body
    assert 'href="https://example.org/guide"' in body
    assert 'rel="noopener noreferrer"' in body
    assert "<script" not in body
    assert "javascript:" not in body
    assert "data:" not in body
    assert "<img" not in body
    assert not re.search(r"<[^>]+\son\w+=", body)
    listing = _text(_as(client, cast["users"]["hamburg_terminal"]).get("/practices/?tag=reefer"))
    assert "Reefer unit checks" in listing
    assert "✔ Verified" in listing


def test_practice_access_follows_the_rule(cast, client, api_as):
    response = api_as(cast["users"]["author"]).post(
        "/api/v1/practices/",
        {
            "title": "Insider vetting at the gate",
            "body": "Rotate **gate staff**.",
            "tags": ["insider"],
            "tlp": "AMBER+STRICT",
            "audience": {"agencies": ["nlrtm-customs"], "ports": [], "users": []},
        },
        format="json",
    )
    assert response.status_code == 201
    practice = response.json()
    assert practice["url"] == reverse("practice_detail", args=[practice["id"]])
    rotterdam = _as(client, cast["users"]["rotterdam_customs"])
    assert "Insider vetting" in _text(rotterdam.get("/practices/?q=vetting"))
    assert rotterdam.get(practice["url"]).status_code == 200
    for name in ("rotterdam_police", "hamburg_customs", "rotterdam_terminal", "europol_liaison"):
        c = _as(client, cast["users"][name])
        assert "Insider vetting" not in _text(c.get("/practices/")), name
        assert "Insider vetting" not in _text(c.get("/practices/?q=vetting")), name
        assert c.get(practice["url"]).status_code == 404, name


def test_practice_library_is_bounded_in_queries(cast, client, api_as):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    author = api_as(cast["users"]["author"])
    reader = _as(client, cast["users"]["rotterdam_customs"])

    def publish(n: int) -> None:
        for i in range(n):
            body = {
                "title": f"Practice {i}",
                "body": "Check **seals**.",
                "tags": ["seals", f"t{i}"],
                "tlp": "AMBER",
                "audience": {"agencies": ["nlrtm-customs"], "ports": ["NLRTM"], "users": []},
            }
            assert author.post("/api/v1/practices/", body, format="json").status_code == 201

    def count() -> int:
        reader.get("/practices/")
        with CaptureQueriesContext(connection) as ctx:
            assert reader.get("/practices/").status_code == 200
        return len(ctx.captured_queries)

    publish(2)
    few = count()
    publish(12)
    assert count() == few


def test_practice_edit_and_withdrawal_are_signed_versions(cast, client, api_as):
    response = api_as(cast["users"]["author"]).post(
        "/api/v1/practices/",
        {
            "title": "Seal checks at the gate",
            "body": "Compare the seal number with the **manifest**.",
            "tags": ["seals"],
            "tlp": "AMBER",
            "audience": {"agencies": [], "ports": ["NLRTM"], "users": []},
        },
        format="json",
    )
    assert response.status_code == 201
    pk = response.json()["id"]
    edit, withdraw = reverse("practice_edit", args=[pk]), reverse("practice_withdraw", args=[pk])
    # Who may not: a reader outside the audience (404, nothing revealed), a reader who is not an
    # officer of the author agency (403).
    outsider = _as(client, cast["users"]["hamburg_customs"])
    assert outsider.get(edit).status_code == 404
    assert outsider.post(withdraw).status_code == 404
    reader = _as(client, cast["users"]["rotterdam_customs"])
    assert reader.get(edit).status_code == 403
    assert reader.post(withdraw).status_code == 403
    assert "Edit (new version)" not in _text(reader.get(reverse("practice_detail", args=[pk])))

    officer = _as(client, cast["users"]["author"])
    form = officer.get(edit)
    assert form.status_code == 200
    assert "Seal checks at the gate" in _text(form)
    assert "Sign version 2" in _text(form)
    response = officer.post(
        edit,
        {
            "title": "Seal checks at the gate and quay",
            "body": "Compare seal and manifest.",
            "tags": "seals",
            "tlp": "AMBER",
            "audience_ports": ["NLRTM"],
        },
    )
    assert response.status_code == 302, _text(response)
    practice = Practice.objects.get(pk=pk)
    assert (practice.version, practice.title) == (2, "Seal checks at the gate and quay")
    assert officer.post(withdraw).status_code == 302
    practice.refresh_from_db()
    assert (practice.version, practice.status) == (3, "withdrawn")
    page = _text(officer.get(reverse("practice_detail", args=[pk])))
    assert "Withdrawn by beanr-customs" in page
    assert "Edit (new version)" not in page
    # Rotterdam still reads every version, the withdrawal included.
    assert "Withdrawn by beanr-customs" in _text(reader.get(reverse("practice_detail", args=[pk])))
