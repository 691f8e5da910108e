"""Feedback on alerts through the API: who may report, who reads it, 404 before 400, notices and audit."""

import pytest

from notifications.models import Notification
from ports.models import AuditEntry
from sharing.models import Feedback
from tests.sharing.conftest import alert_fields, container

AMBER_FOR_ROTTERDAM = {"tlp": "AMBER", "audience": {"agencies": ["europol"], "ports": ["NLRTM"], "users": []}}


def _url(alert_id) -> str:
    return f"/api/v1/alerts/{alert_id}/feedback/"


@pytest.fixture
def amber(cast, publish):
    return publish(cast["users"]["author"], **AMBER_FOR_ROTTERDAM)


@pytest.mark.django_db
def test_rotterdam_reports_a_seizure_and_antwerp_is_told(cast, amber, api_as):
    box = container()
    response = api_as(cast["users"]["rotterdam_customs"]).post(
        _url(amber["id"]),
        {"outcome": "seized", "seized_kg": 120, "container": box.lower(), "note": "Bags behind the doors."},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["agency"] == "nlrtm-customs"
    assert body["outcome"] == "seized"
    assert body["seized_kg"] == 120
    assert body["container"] == box
    assert body["alert_version"] == 1
    assert body["author"] == cast["memberships"]["rotterdam_customs"].handle
    assert body["created_at"].endswith("Z")
    # Every member of the author agency is told, nobody else.
    told = set(Notification.objects.filter(kind="alert.feedback").values_list("membership__user__username", flat=True))
    assert told == {"antwerp.officer", "antwerp.analyst", "antwerp.admin"}
    notice = Notification.objects.filter(membership=cast["memberships"]["author"]).get()
    assert notice.url == f"/alerts/{amber['id']}/"
    assert "120 kg" in notice.subject
    entry = AuditEntry.objects.filter(action="feedback.submitted").get()
    assert entry.data["alert"] == amber["id"]
    assert "note" not in entry.data


@pytest.mark.django_db
def test_feedback_audience_is_author_agency_reporter_and_liaisons_who_read_the_alert(cast, amber, api_as):
    api_as(cast["users"]["rotterdam_customs"]).post(_url(amber["id"]), {"outcome": "checked_negative"}, format="json")
    u = cast["users"]

    def seen(name) -> int:
        response = api_as(u[name]).get(_url(amber["id"]))
        assert response.status_code == 200, (name, response.status_code)
        return response.json()["count"]

    assert seen("author") == 1
    assert seen("colleague") == 1
    assert seen("rotterdam_customs") == 1  # the reporting agency
    assert seen("europol_liaison") == 1  # a liaison who reads the alert (Europol is in the audience)
    assert seen("rotterdam_police") == 0  # reads the alert (public sector at NLRTM) but is none of those
    assert seen("europol_analyst") == 0  # reads the alert, not a liaison
    # Cannot read the alert: 404, existence does not leak.
    assert api_as(u["hamburg_police"]).get(_url(amber["id"])).status_code == 404
    # The Rotterdam terminal (private sector) does not read this AMBER alert: 404 both ways.
    assert api_as(u["rotterdam_terminal"]).get(_url(amber["id"])).status_code == 404
    assert (
        api_as(u["rotterdam_terminal"]).post(_url(amber["id"]), {"outcome": "seized"}, format="json").status_code == 404
    )


@pytest.mark.django_db
def test_a_liaison_who_cannot_read_the_alert_does_not_read_its_feedback(cast, publish, api_as):
    alert = publish(cast["users"]["author"], tlp="AMBER", audience={"agencies": [], "ports": ["NLRTM"], "users": []})
    api_as(cast["users"]["rotterdam_customs"]).post(_url(alert["id"]), {"outcome": "seized"}, format="json")
    assert api_as(cast["users"]["europol_liaison"]).get(_url(alert["id"])).status_code == 404


@pytest.mark.django_db
def test_access_is_checked_before_the_body(cast, amber, api_as):
    hamburg = api_as(cast["users"]["hamburg_police"])
    for body in ({"outcome": "nonsense", "seized_kg": -4}, {}, ["not", "an", "object"]):
        response = hamburg.post(_url(amber["id"]), body, format="json")
        assert response.status_code == 404, (body, response.status_code)
        assert response.json() == {"code": "not_found", "errors": {}}
    assert api_as(cast["users"]["rotterdam_customs"]).post(_url("not-a-uuid"), {}, format="json").status_code == 404
    assert not Feedback.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"outcome": "found_something"}, "outcome"),
        ({}, "outcome"),
        ({"outcome": "seized", "seized_kg": -1}, "seized_kg"),
        ({"outcome": "seized", "seized_kg": "lots"}, "seized_kg"),
        ({"outcome": "seized", "seized_kg": "NaN"}, "seized_kg"),
        ({"outcome": "checked_negative", "seized_kg": 5}, "seized_kg"),
        ({"outcome": "seized", "container": "MSCU1234567"}, "container"),  # wrong check digit
        ({"outcome": "seized", "note": "x" * 4001}, "note"),
    ],
)
def test_bad_feedback_is_refused_field_by_field(cast, amber, api_as, body, field):
    response = api_as(cast["users"]["rotterdam_customs"]).post(_url(amber["id"]), body, format="json")
    assert response.status_code == 400, response.json()
    assert response.json()["code"] == "invalid"
    assert field in response.json()["errors"]
    assert not Feedback.objects.exists()


@pytest.mark.django_db
def test_red_feedback_reaches_only_the_author(cast, publish, api_as):
    named = cast["memberships"]["rotterdam_customs"]
    red = publish(cast["users"]["author"], tlp="RED", audience={"agencies": [], "ports": [], "users": [named.handle]})
    response = api_as(cast["users"]["rotterdam_customs"]).post(
        _url(red["id"]), {"outcome": "checked_positive"}, format="json"
    )
    assert response.status_code == 201
    told = list(Notification.objects.filter(kind="alert.feedback").values_list("membership__user__username", flat=True))
    assert told == ["antwerp.officer"]
    assert api_as(cast["users"]["author"]).get(_url(red["id"])).json()["count"] == 1
    # The author's colleague cannot read a RED alert addressed to others, nor its feedback.
    assert api_as(cast["users"]["colleague"]).get(_url(red["id"])).status_code == 404


@pytest.mark.django_db
def test_a_member_of_several_public_agencies_says_which_one_reports(cast, amber, api_as, make_member):
    from ports.services import member_add

    user = cast["users"]["rotterdam_customs"]
    police = cast["memberships"]["rotterdam_police"].agency
    member_add(username=user.username, agency=police, role="analyst")
    client = api_as(user, token=False)  # a session acts for every membership; a token for one
    response = client.post(_url(amber["id"]), {"outcome": "seized"}, format="json")
    assert response.status_code == 400
    assert "agency" in response.json()["errors"]
    response = client.post(_url(amber["id"]), {"outcome": "seized", "agency": "nlrtm-police"}, format="json")
    assert response.status_code == 201
    assert response.json()["agency"] == "nlrtm-police"


def test_a_private_author_agency_reads_feedback_but_the_private_sector_never_reports(cast, api_as, make_member):
    u = cast["users"]
    officer = make_member("rotterdam.terminal.officer", "nlrtm-terminal-operator", "officer")
    response = api_as(officer.user).post(
        "/api/v1/alerts/", alert_fields(tlp="GREEN", port="NLRTM", title="Fence cut at gate 4"), format="json"
    )
    assert response.status_code == 201, response.json()
    url = _url(response.json()["id"])
    assert api_as(u["rotterdam_customs"]).post(url, {"outcome": "checked_negative"}, format="json").status_code == 201
    # The author agency (private sector) reads the feedback on its own alert.
    assert api_as(u["rotterdam_terminal"]).get(url).json()["count"] == 1
    # It reads the alert, but feedback comes from public-sector readers only.
    assert api_as(u["hamburg_terminal"]).post(url, {"outcome": "seized"}, format="json").status_code == 403
    assert api_as(u["hamburg_terminal"]).get(url).json()["count"] == 0


def test_feedback_is_reported_under_a_membership_that_reads_the_alert(cast, api_as, make_member):
    """Someone in Rotterdam customs and Hamburg police reads an alert for NLRTM only through Rotterdam:
    naming Hamburg police as the reporter is refused, never attributed to an agency outside the audience."""
    u = cast["users"]
    make_member("rotterdam.analyst", "deham-police", "analyst")
    amber = (
        api_as(u["author"])
        .post(
            "/api/v1/alerts/",
            alert_fields(tlp="AMBER", audience={"agencies": [], "ports": ["NLRTM"], "users": []}),
            format="json",
        )
        .json()
    )
    u["rotterdam_customs"].refresh_from_db()
    reporter = api_as(u["rotterdam_customs"], token=False)  # a session acts for every membership
    refused = reporter.post(_url(amber["id"]), {"outcome": "seized", "agency": "deham-police"}, format="json")
    assert refused.status_code == 400
    assert "agency" in refused.json()["errors"]
    ok = reporter.post(_url(amber["id"]), {"outcome": "checked_negative"}, format="json")  # only one reads it
    assert ok.status_code == 201
    assert ok.json()["agency"] == "nlrtm-customs"
