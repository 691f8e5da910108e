"""Invariants the database itself enforces, whatever code writes the rows."""

import pytest
from django.db import IntegrityError, transaction

from sharing.models import Alert, AlertGrant, AlertVersion


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("tlp", "WHITE"),
        ("category", "smuggling"),
        ("severity", "urgent"),
        ("status", "deleted"),
        ("source_reliability", "E"),
        ("information_reliability", "5"),
        ("handling", "H9"),
        ("version", 0),
    ],
)
def test_check_constraints(column, value, cast, publish):
    alert = publish(cast["users"]["author"])
    with pytest.raises(IntegrityError), transaction.atomic():
        Alert.objects.filter(pk=alert["id"]).update(**{column: value})
    with pytest.raises(IntegrityError), transaction.atomic():
        AlertVersion.objects.filter(alert_id=alert["id"]).update(**{column: value})


def test_a_grant_names_exactly_one_target(cast, publish):
    from ports.models import Agency

    alert = Alert.objects.get(pk=publish(cast["users"]["author"])["id"])
    agency = Agency.objects.get(slug="europol")
    with pytest.raises(IntegrityError), transaction.atomic():
        AlertGrant.objects.create(alert=alert, kind="agency", agency=agency, port_id="NLRTM")
    with pytest.raises(IntegrityError), transaction.atomic():
        AlertGrant.objects.create(alert=alert, kind="port", agency=agency)


def test_one_row_per_version(cast, publish):
    alert = publish(cast["users"]["author"])
    version = AlertVersion.objects.get(alert_id=alert["id"])
    version.pk = None
    with pytest.raises(IntegrityError), transaction.atomic():
        version.save(force_insert=True)
