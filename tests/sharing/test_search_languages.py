"""Full-text search matches Dutch, French and German words as well as English (sharing.search), through the
API and the feed page, and never finds what the reader may not read."""

import pytest
from django.db import connection, transaction

from tests.sharing.conftest import alert_fields

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

TEXTS = {
    "nl": {
        "title": "Vervalste verzegelingen op koelcontainers uit Ecuador",
        "body": "Douaniers vonden vervalste verzegelingen; de lasermarkeringen kloppen niet met de documenten.",
    },
    "fr": {
        "title": "Cocaïne dissimulée dans le plancher de conteneurs frigorifiques",
        "body": "Les douaniers ont découvert des planchers modifiés; les soudures récentes trahissent la cachette.",
    },
    "de": {
        "title": "Nachgemachte Plomben an Kühlcontainern aus Südamerika",
        "body": "Zollbeamte stellten bei der Beschau Kühlcontainer mit nachgemachten Plomben fest.",
    },
    "en": {
        "title": "Cloned seals on reefer containers from South America",
        "body": "Several reefer containers arrived with cloned bolt seals; compare the laser marks.",
    },
}


@pytest.fixture
def written(cast, publish):
    assert connection.vendor == "postgresql", "full-text search in four languages is PostgreSQL's (marked postgres)"
    author = cast["users"]["author"]
    made = {lang: publish(author, **alert_fields(**text, category="seal_tampering")) for lang, text in TEXTS.items()}
    made["amber"] = publish(
        author,
        **alert_fields(
            title="Verzegelingen verwisseld bij de overslag",
            body="Alleen voor Rotterdam: verzegelingen worden bij de overslag verwisseld.",
            tlp="AMBER",
            audience={"agencies": ["nlrtm-customs"], "ports": [], "users": []},
        ),
    )
    return made


def _found(client, q: str) -> set[str]:
    response = client.get("/api/v1/alerts/", {"q": q})
    assert response.status_code == 200
    return {row["id"] for row in response.json()["results"]}


@pytest.mark.parametrize(
    ("query", "languages"),
    [
        ("verzegeling", {"nl"}),  # the singular finds the plural (Dutch stemming)
        ("koelcontainer", {"nl"}),
        ("vervalst", {"nl"}),
        ("cocaine", {"fr"}),  # no accent typed: unaccent folds "cocaïne"
        ("plancher modifie", {"fr"}),
        ("soudure", {"fr"}),
        ("douanier", {"nl", "fr"}),
        ("Plombe", {"de"}),  # German stemming: "Plomben"
        ("kuhlcontainer", {"de"}),  # umlaut folded
        ("Zollbeamter", {"de"}),
        ("cloned seal", {"en"}),
        ("containers", {"en"}),
        ("verzegelingen -koelcontainers", set()),  # web-search syntax still works: the one public hit excluded
    ],
)
def test_words_of_each_language_find_their_alerts(written, cast, api_as, query, languages):
    found = _found(api_as(cast["users"]["hamburg_customs"]), query)
    assert found == {written[lang]["id"] for lang in languages}


def test_search_never_finds_what_the_reader_may_not_read(written, cast, api_as):
    amber = written["amber"]["id"]
    assert amber in _found(api_as(cast["users"]["rotterdam_customs"]), "verzegeling")
    for outsider in ("hamburg_customs", "rotterdam_terminal", "europol_liaison", "antwerp_police"):
        found = _found(api_as(cast["users"][outsider]), "verzegeling")
        assert amber not in found, outsider
        assert written["nl"]["id"] in found, outsider
    # Combined with filters, still nothing leaks.
    terminal = api_as(cast["users"]["rotterdam_terminal"])
    found = terminal.get("/api/v1/alerts/", {"q": "verzegeling", "tlp": "AMBER"}).json()
    assert found["count"] == 0


def test_the_feed_page_searches_in_every_language(written, cast, client):
    client.force_login(cast["users"]["hamburg_customs"])
    page = client.get("/alerts/", {"q": "Plombe"}, HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert TEXTS["de"]["title"] in page
    assert TEXTS["nl"]["title"] not in page
    assert "1 Warnmeldung, die Sie lesen dürfen passt" not in page  # the count sentence is the "match" form
    assert "1 lesbare Warnmeldung passt" in page


def test_the_vector_is_indexed_under_every_configuration(written):
    from sharing.models import Alert

    alert = Alert.objects.get(pk=written["fr"]["id"])
    lexemes = str(alert.search_vector)
    assert "'cocaine'" in lexemes  # language-neutral, accent folded
    assert "'frigorif'" in lexemes or "'frigorifiqu'" in lexemes  # French stem
    with connection.cursor() as cursor:
        cursor.execute("SELECT cfgname FROM pg_ts_config WHERE cfgname LIKE 'alliance_%%' ORDER BY cfgname")
        assert [row[0] for row in cursor.fetchall()] == [
            "alliance_dutch",
            "alliance_english",
            "alliance_french",
            "alliance_german",
            "alliance_simple",
        ]


def test_the_search_uses_the_gin_index(written):
    """The OR of five tsqueries is still one condition the GIN index answers (no sequential scan needed)."""
    from sharing.models import Alert
    from sharing.search import query

    # A handful of rows lets the planner walk the feed index and filter; with plain scans off only a
    # bitmap scan is left, and the only index it can use for this condition is the GIN one.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        plan = Alert.objects.order_by().filter(search_vector=query("verzegeling")).explain()
    assert "alert_search_gin" in plan
