"""The /trends/ pages through the Django client: who may open them, the flag page's access rule, and the
CSV export holding exactly the API's rows (masking included) for the same filters."""

import csv
import io

import pytest

from tests.trends_ui.seed import seed

FILTERS = "origin=ECGYE&bucket=week"


@pytest.fixture
def seeded(cast):
    return seed()


def _as(client, user):
    client.force_login(user)
    return client


def _api_rows(client, query: str) -> list[list]:
    data = client.get(f"/api/v1/trends/?{query}").json()
    origin = ",".join(data["filters"]["origin"] or [])
    return [
        [
            p["bucket"],
            port["port"],
            origin,
            p["scans"],
            p["suspect"],
            p["positive"],
            p["seized_kg"],
            p["cells_left_out"],
        ]
        for port in data["ports"]
        for p in port["series"]
    ]


def _csv_rows(response) -> list[list]:
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["bucket", "port", "origin", "scans", "suspect", "positive", "seized_kg", "cells_left_out"]

    def value(cell: str):
        if cell == "":
            return None
        for kind in (int, float):
            try:
                return kind(cell)
            except ValueError:
                pass
        return cell

    return [[r[0], r[1], r[2], *(value(c) for c in r[3:])] for r in rows[1:]]


@pytest.mark.django_db
def test_public_sector_members_open_the_dashboard_private_sector_cannot(seeded, cast, client):
    for name in ("europol_liaison", "rotterdam_customs", "hamburg_police"):
        page = _as(client, cast["users"][name]).get("/trends/")
        assert page.status_code == 200, name
        html = page.content.decode()
        assert 'id="port-map"' in html
        assert 'id="ports-data"' in html
        assert "chart.umd.min.js" in html
        assert '<a href="/trends/" aria-current="page">Trends</a>' in html
        client.logout()
    for name in ("rotterdam_terminal", "hamburg_terminal"):
        private = _as(client, cast["users"][name])
        assert private.get("/trends/").status_code == 403
        assert private.get(f"/trends/export.csv?{FILTERS}").status_code == 403
        assert private.get(f"/trends/flags/{seeded[1].pk}/").status_code == 403
        assert 'href="/trends/"' not in private.get("/").content.decode()  # no nav link either
        client.logout()
    assert client.get("/trends/").status_code == 302  # anonymous: to the login page


@pytest.mark.django_db
def test_flag_page_follows_the_flag_access_rule(seeded, cast, client):
    _, flag = seeded
    url = f"/trends/flags/{flag.pk}/"
    for name in ("europol_liaison", "rotterdam_customs", "antwerp_police"):  # liaisons, agencies at both ports
        response = _as(client, cast["users"][name]).get(url)
        assert response.status_code == 200, name
        assert "NLRTM → BEANR" in response.content.decode()
        client.logout()
    for name in ("hamburg_customs", "europol_analyst"):  # another port; Europol but no liaison
        outsider = _as(client, cast["users"][name])
        assert outsider.get(url).status_code == 404, name
        assert outsider.get(f"/trends/?flag={flag.pk}").status_code == 404
        assert str(flag.pk) not in outsider.get("/api/v1/displacement/").content.decode()
        client.logout()
    liaison = _as(client, cast["users"]["europol_liaison"])
    assert liaison.get(f"/trends/?flag={flag.pk}")["Location"] == url  # notification links land on the flag
    assert 'id="status-form"' in liaison.get(url).content.decode()
    client.logout()
    officer = _as(client, cast["users"]["rotterdam_customs"])
    assert 'id="status-form"' not in officer.get(url).content.decode()  # only liaisons decide


@pytest.mark.django_db
@pytest.mark.parametrize("reader", ["europol_liaison", "rotterdam_customs"])
def test_export_rows_equal_the_api_rows_for_the_same_filters(seeded, cast, client, reader):
    reader_client = _as(client, cast["users"][reader])
    rows = _csv_rows(reader_client.get(f"/trends/export.csv?{FILTERS}"))
    assert rows == _api_rows(reader_client, FILTERS)
    assert {r[1] for r in rows} == {"NLRTM", "BEANR", "DEHAM", "ESALG", "FRLEH"}
    assert {r[2] for r in rows} == {"ECGYE"}
    hamburg_suspect = {r[4] for r in rows if r[1] == "DEHAM" and r[3]}
    if reader == "europol_liaison":
        assert hamburg_suspect == {1, 2}  # liaisons see small counts
    else:
        assert hamburg_suspect == {"<3"}  # another port's small counts stay masked in the file too


@pytest.mark.django_db
def test_export_refuses_bad_filters(seeded, cast, client):
    response = _as(client, cast["users"]["europol_liaison"]).get("/trends/export.csv?bucket=year&since=nope")
    assert response.status_code == 400
    assert "bucket" in response.content.decode()
    assert "since" in response.content.decode()


@pytest.mark.django_db
def test_only_officers_get_the_measure_form_and_only_for_their_own_ports(seeded, cast, client):
    html = _as(client, cast["users"]["author"]).get("/trends/").content.decode()
    assert 'id="measure-form"' in html
    form = html[html.index('id="measure-form"') :]
    assert '<option value="BEANR">' in form
    assert '<option value="NLRTM">' not in form.split("On traffic from")[0]
    client.logout()
    for name in ("europol_liaison", "rotterdam_customs"):  # a liaison and an analyst read measures only
        assert 'id="measure-form"' not in _as(client, cast["users"][name]).get("/trends/").content.decode()
        client.logout()
