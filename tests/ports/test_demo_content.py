"""The demo alliance's content: history with a detected displacement, alerts of every TLP, a correlation."""

import pytest
from django.contrib.auth import get_user_model

from correlation.models import Correlation, OneSidedHit
from demo.content import CORRELATED_CONTAINER, DECOY, DISPLACEMENT, HIDDEN_CONTAINER
from demo.seed import seed
from notifications.models import Notification
from scans.models import Delivery, Scan
from sharing.models import Alert, AlertVersion, Feedback, Practice
from trends.models import DisplacementFlag, Measure, StatisticsRow

COUNTED = (
    StatisticsRow,
    Measure,
    DisplacementFlag,
    Alert,
    AlertVersion,
    Practice,
    Feedback,
    Scan,
    Delivery,
    Correlation,
    OneSidedHit,
    Notification,
)


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in COUNTED}


@pytest.fixture
def seeded(db, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    seed(password="demo-content-test")
    return {"first": counts()}


def user(username: str):
    return get_user_model().objects.get(username=username)


def test_a_second_seed_adds_nothing(seeded):
    seed(password="demo-content-test")
    assert counts() == seeded["first"]
    first = seeded["first"]
    assert first["StatisticsRow"] >= 104 * 8 * 5
    assert first["Alert"] == 8  # five in English, one each in Dutch, French and German
    assert first["Practice"] == 1
    assert first["Feedback"] == 1
    assert first["Scan"] == 2
    assert first["Correlation"] == 2
    assert first["OneSidedHit"] == 1
    assert first["Delivery"] > 0
    assert first["Notification"] > 0


def test_the_detector_finds_the_planted_displacement_and_not_the_decoy(seeded, api_as):
    response = api_as(user("europol.liaison")).get("/api/v1/displacement/")
    assert response.status_code == 200
    flags = {(f["from_port"], f["to_port"], f["origin"]) for f in response.json()["results"]}
    assert (DISPLACEMENT["from"], DISPLACEMENT["to"], DISPLACEMENT["origin"]) in flags
    assert not [f for f in flags if f[0] == DECOY["port"] and f[2] == DECOY["origin"]]
    measure = Measure.objects.get(port_id="NLRTM", origin_id="ECGYE")
    assert measure.agency.slug == "nlrtm-customs"
    flag = DisplacementFlag.objects.get(from_port_id="NLRTM", to_port_id="BEANR", origin_id="ECGYE")
    assert flag.tightening_source == "measure"
    assert flag.tightening_starts_on == measure.starts_on


def test_hamburg_has_a_correlation_and_a_one_sided_hit(seeded, api_as):
    hamburg = api_as(user("hamburg.officer"))
    correlations = hamburg.get("/api/v1/correlations/").json()["results"]
    assert {c["value"] for c in correlations} >= {CORRELATED_CONTAINER}
    hits = hamburg.get("/api/v1/correlations/hits/").json()["results"]
    assert len(hits) == 1
    antwerp = api_as(user("antwerp.officer"))
    seen_by_antwerp = {c["value"] for c in antwerp.get("/api/v1/correlations/").json()["results"]}
    assert CORRELATED_CONTAINER in seen_by_antwerp
    assert HIDDEN_CONTAINER not in seen_by_antwerp
    assert antwerp.get("/api/v1/correlations/hits/").json()["results"] == []


def test_the_terminal_operator_sees_no_restricted_alert(seeded, api_as):
    terminal = api_as(user("hamburg.terminal"))
    listed = terminal.get("/api/v1/alerts/").json()["results"]
    assert {a["tlp"] for a in listed} <= {"GREEN", "CLEAR"}
    for alert in Alert.objects.exclude(tlp__in=("GREEN", "CLEAR")):
        assert terminal.get(f"/api/v1/alerts/{alert.pk}/").status_code == 404
    found = terminal.get("/api/v1/alerts/", {"q": "container"}).json()["results"]
    assert {a["tlp"] for a in found} <= {"GREEN", "CLEAR"}
    assert terminal.get("/api/v1/correlations/").json()["results"] == []


def test_every_tlp_and_the_red_alert_reaches_only_the_liaison(seeded, api_as):
    assert set(Alert.objects.values_list("tlp", flat=True)) == {"GREEN", "AMBER", "AMBER+STRICT", "RED"}
    red = Alert.objects.get(tlp="RED")
    assert api_as(user("europol.liaison")).get(f"/api/v1/alerts/{red.pk}/").status_code == 200
    assert api_as(user("europol.analyst")).get(f"/api/v1/alerts/{red.pk}/").status_code == 404
    assert api_as(user("rotterdam.analyst")).get(f"/api/v1/alerts/{red.pk}/").status_code == 404
    feedback = Feedback.objects.get()
    assert feedback.outcome == "seized"
    assert feedback.agency.slug == "nlrtm-customs"
