"""Tampering with stored rows outside the application: invalid, fail closed, named by verify_signatures."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from sharing.models import Alert, AlertVersion
from sharing.tasks import verify_signatures


def _sql(statement: str, *params) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def _pk(alert_id: str):
    return Alert._meta.pk.get_db_prep_value(Alert._meta.pk.to_python(alert_id), connection)


@pytest.fixture
def amber(cast, publish):
    """An AMBER alert readable by the author agency, Rotterdam customs and public agencies at Hamburg."""
    return publish(
        cast["users"]["author"],
        tlp="AMBER",
        title="Cloned seals on reefers",
        audience={"agencies": ["nlrtm-customs"], "ports": ["DEHAM"], "users": []},
    )


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE sharing_alert SET title = 'Nothing to see' WHERE id = %s",
        "UPDATE sharing_alert SET severity = 'low' WHERE id = %s",
        "UPDATE sharing_alert SET containers = '[\"MSCU1234565\"]' WHERE id = %s",
        "UPDATE sharing_alert SET jws = jws || 'A' WHERE id = %s",
        "DELETE FROM sharing_alertgrant WHERE alert_id = %s AND port_id = 'DEHAM'",
    ],
    ids=["title", "severity", "containers", "jws", "audience"],
)
def test_tampered_alert_is_invalid_for_its_agency_and_hidden_from_others(statement, cast, amber, api_as, capsys):
    users = cast["users"]
    _sql(statement, _pk(amber["id"]))
    for name in ("author", "antwerp_admin"):  # the author agency's officers and admins see the failure
        client = api_as(users[name])
        detail = client.get(f"/api/v1/alerts/{amber['id']}/")
        assert detail.status_code == 200
        assert detail.json()["signature_status"] == "invalid"
        listed = {a["id"]: a["signature_status"] for a in client.get("/api/v1/alerts/").json()["results"]}
        assert listed == {amber["id"]: "invalid"}
    for name in ("colleague", "rotterdam_customs"):  # every other reader: as if it did not exist
        client = api_as(users[name])
        assert client.get(f"/api/v1/alerts/{amber['id']}/").status_code == 404
        assert client.get("/api/v1/alerts/").json()["results"] == []
        assert client.get(f"/api/v1/alerts/{amber['id']}/versions/").status_code == 404

    with pytest.raises(CommandError) as excinfo:
        call_command("verify_signatures")
    assert excinfo.value.returncode == 1
    assert f"alert {amber['id']} version 1: invalid" in capsys.readouterr().err
    # Once marked, counts exclude it for other readers too.
    assert api_as(users["rotterdam_customs"]).get("/api/v1/alerts/").json()["count"] == 0
    assert api_as(users["author"]).get("/api/v1/alerts/").json()["count"] == 1


def test_before_the_verifier_runs_lists_still_leave_it_out(cast, amber, publish, api_as):
    other = publish(cast["users"]["author"], tlp="GREEN")
    _sql("UPDATE sharing_alert SET body = 'changed' WHERE id = %s", _pk(amber["id"]))
    page = api_as(cast["users"]["rotterdam_customs"]).get("/api/v1/alerts/").json()
    assert [a["id"] for a in page["results"]] == [other["id"]]


def test_tampered_version_row_is_named(cast, amber, capsys):
    _sql("UPDATE sharing_alertversion SET title = 'rewritten history' WHERE alert_id = %s", _pk(amber["id"]))
    with pytest.raises(CommandError):
        call_command("verify_signatures")
    assert f"alert version {amber['id']} version 1: invalid" in capsys.readouterr().err


def test_clean_database_verifies(cast, amber, capsys):
    call_command("verify_signatures")
    assert "0 invalid" in capsys.readouterr().out


def test_periodic_verifier_marks_and_clears(cast, amber):
    _sql("UPDATE sharing_alert SET title = 'x' WHERE id = %s", _pk(amber["id"]))
    result = verify_signatures.apply().get()
    assert result["checked"] == 2
    assert len(result["problems"]) == 1
    assert Alert.objects.get(pk=amber["id"]).integrity_failed is True
    verify_signatures.apply()  # safe twice
    version = AlertVersion.objects.get(alert_id=amber["id"])
    _sql("UPDATE sharing_alert SET title = %s WHERE id = %s", version.title, _pk(amber["id"]))
    verify_signatures.apply()
    assert Alert.objects.get(pk=amber["id"]).integrity_failed is False


def test_a_key_of_another_agency_is_invalid(cast, amber, publish, api_as):
    """Pointing a row at a key its agency does not own breaks the owner rule even if the key is real."""
    other = publish(cast["users"]["hamburg_customs"], tlp="GREEN")
    _sql("UPDATE sharing_alert SET kid = %s WHERE id = %s", other["kid"], _pk(amber["id"]))
    detail = api_as(cast["users"]["author"]).get(f"/api/v1/alerts/{amber['id']}/")
    assert detail.json()["signature_status"] == "invalid"
