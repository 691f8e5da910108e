"""Aggregate statistics: the CSV command and the API refuse a bad file whole, naming every bad line."""

import pytest
from django.core.management import CommandError, call_command

from ports.models import AuditEntry, Port
from trends.models import StatisticsRow

pytestmark = pytest.mark.django_db

HEADER = "period_start,period_end,port,origin,scans,suspect,positive,seized_kg\n"
GOOD = [
    "2025-01-06,2025-01-12,ESALG,ECGYE,120,4,1,35.5",
    "2025-01-01,2025-01-31,ESALG,COCTG,400,9,2,",
    "2025-01-06,2025-01-12,ESVLC,ECGYE,80,0,0,0",
]


def _csv(tmp_path, lines, name="stats.csv"):
    path = tmp_path / name
    path.write_text(HEADER + "\n".join(lines) + "\n")
    return str(path)


def test_command_imports_a_good_file_and_reimport_replaces(ports, tmp_path, capsys):
    call_command("import_statistics", _csv(tmp_path, GOOD))
    assert "imported 3 rows (3 created, 0 replaced)" in capsys.readouterr().out
    corrected = [GOOD[0].replace("120,4,1", "130,5,1"), *GOOD[1:]]
    call_command("import_statistics", _csv(tmp_path, corrected))
    assert "imported 3 rows (0 created, 3 replaced)" in capsys.readouterr().out
    assert StatisticsRow.objects.count() == 3
    row = StatisticsRow.objects.get(port_id="ESALG", origin_id="ECGYE")
    assert (row.scans, row.suspect, row.positive, row.seized_kg, row.days) == (130, 5, 1, 35.5, 7)
    assert AuditEntry.objects.filter(action="statistics.imported").count() == 2


def test_command_refuses_a_bad_file_whole_with_every_bad_line(ports, tmp_path, capsys):
    lines = [
        GOOD[0],  # line 2: fine
        "2025-01-06,2025-01-12,ESALG,COCTG,10,8,5,1",  # line 3: suspect + positive > scans
        "2025-01-06,2025-01-08,ESALG,BRSSZ,10,1,1,1",  # line 4: 3 days
        "2025-01-06,2025-01-12,XXALG,ECGYE,10,1,1,1",  # line 5: not a country
        "2025-01-06,2025-01-12,ESVLC,ECGYE,-1,0,0,0",  # line 6: negative
        "06/01/2025,2025-01-12,ESVLC,COCTG,10,0,0,abc",  # line 7: date and kg
        "2025-01-06,2025-01-12,ECGYE,ESVLC,10,0,0,0",  # line 8: not a member port
        GOOD[0],  # line 9: the same key as line 2
    ]
    with pytest.raises(CommandError, match="7 bad line"):
        call_command("import_statistics", _csv(tmp_path, lines))
    err = capsys.readouterr().err
    for line, field in [
        (3, "suspect"),
        (4, "period_end"),
        (5, "port"),
        (6, "scans"),
        (7, "period_start"),
        (7, "seized_kg"),
        (8, "port"),
        (9, "period_start"),
    ]:
        assert f"line {line}: {field}:" in err, (line, field, err)
    assert "line 2:" not in err
    assert StatisticsRow.objects.count() == 0


def test_command_refuses_overlapping_periods_and_a_bad_header(ports, tmp_path, capsys):
    call_command("import_statistics", _csv(tmp_path, GOOD))
    overlapping = ["2025-01-13,2025-01-19,ESALG,COCTG,10,0,0,0"]  # inside the stored January row
    with pytest.raises(CommandError):
        call_command("import_statistics", _csv(tmp_path, overlapping))
    assert "line 2: period_start:" in capsys.readouterr().err
    bad = tmp_path / "bad.csv"
    bad.write_text("start,end,port\n2025-01-01,2025-01-07,ESALG\n")
    with pytest.raises(CommandError):
        call_command("import_statistics", str(bad))
    assert "line 1: header:" in capsys.readouterr().err
    assert StatisticsRow.objects.count() == 3


def _row(**overrides):
    row = {
        "period_start": "2025-01-06",
        "period_end": "2025-01-12",
        "port": "BEANR",
        "origin": "ECGYE",
        "scans": 50,
        "suspect": 3,
        "positive": 1,
        "seized_kg": 20,
    }
    row.update(overrides)
    return row


def test_api_officer_at_the_port_imports(cast, api_as):
    client = api_as(cast["users"]["author"])  # officer of beanr-customs
    response = client.post("/api/v1/statistics/", {"rows": [_row(), _row(origin="PECLL")]}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json() == {"created": 2, "replaced": 0}
    assert Port.objects.filter(locode="PECLL", is_member=False).exists()  # valid, unknown: a new origin port
    again = client.post("/api/v1/statistics/", {"rows": [_row(scans=60)]}, format="json")
    assert again.json() == {"created": 0, "replaced": 1}
    assert StatisticsRow.objects.get(origin_id="ECGYE").agency.slug == "beanr-customs"


def test_api_refuses_whole_request_with_errors_per_row(cast, api_as):
    client = api_as(cast["users"]["author"])
    rows = [_row(), _row(origin="COCTG", suspect=60), _row(port="NLRTM"), _row(origin="ecgye")]
    response = client.post("/api/v1/statistics/", {"rows": rows}, format="json")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == {"rows.1.suspect", "rows.2.port", "rows.3.origin"}, errors
    assert StatisticsRow.objects.count() == 0


def test_api_who_may_not_import(cast, api_as):
    body = {"rows": [_row()]}
    # Not an officer (analyst), an officer of another port, the private sector, Europol's liaison.
    assert api_as(cast["users"]["colleague"]).post("/api/v1/statistics/", body, format="json").status_code == 403
    response = api_as(cast["users"]["hamburg_customs"]).post("/api/v1/statistics/", body, format="json")
    assert response.status_code == 400
    assert "rows.0.port" in response.json()["errors"]
    assert (
        api_as(cast["users"]["rotterdam_terminal"]).post("/api/v1/statistics/", body, format="json").status_code == 403
    )
    assert api_as(cast["users"]["europol_liaison"]).post("/api/v1/statistics/", body, format="json").status_code == 403
    assert StatisticsRow.objects.count() == 0


def test_a_period_named_twice_in_one_file_is_refused_with_both_lines(ports, tmp_path, capsys):
    twice = [*GOOD, GOOD[0].replace("120,4,1", "999,4,1")]
    with pytest.raises(CommandError):
        call_command("import_statistics", _csv(tmp_path, twice))
    err = capsys.readouterr().err
    assert "line 5: period_start: The same period, port and origin as row 0." in err
    assert StatisticsRow.objects.count() == 0
