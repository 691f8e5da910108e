"""Models and constraints: the database refuses what the product forbids, with a clear message."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from ports.locode import locode_error
from ports.models import Agency, Membership, Port, ScannerNode
from ports.services import member_add, port_for_locode

pytestmark = pytest.mark.django_db


def test_reference_ports_are_real_and_complete(ports):
    members = Port.objects.filter(is_member=True)
    origins = Port.objects.filter(is_member=False)
    assert members.count() >= 25
    assert origins.count() >= 10
    for code in ["BEANR", "NLRTM", "DEHAM", "ESALG", "ITTRS", "LVVNT", "EEMUG", "FIKTK"]:
        assert Port.objects.get(locode=code).is_member
    for code in ["ECGYE", "BRSSZ", "COCTG", "SRPBM"]:
        assert not Port.objects.get(locode=code).is_member
    # The wrong codes that circulate in copied lists are not here.
    assert not Port.objects.filter(locode__in=["ITTRN", "LVVEN"]).exists()
    for port in Port.objects.all():
        assert locode_error(port.locode) is None
        assert -90 <= port.latitude <= 90
        assert -180 <= port.longitude <= 180
        assert port.country == port.locode[:2]
    # Every member port sits in one of the five SOCTA hubs.
    assert set(members.values_list("hub", flat=True)) == {
        "north_west",
        "north_east",
        "south_east",
        "southern",
        "south_west",
    }


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("beanr", "upper case"),
        ("BEAN", "exactly 5"),
        ("XXABC", "not an ISO 3166-1 country"),
        ("BEA1C", "A-Z or 2-9"),
        ("BEAN0", "A-Z or 2-9"),
        (12345, "string"),
    ],
)
def test_bad_locodes_are_refused_with_a_reason(value, message):
    assert message in locode_error(value)


def test_unknown_valid_locode_becomes_a_non_member_port(ports):
    port = port_for_locode("ECMEC")
    assert port.is_member is False
    assert port.country == "EC"
    assert port_for_locode("ECMEC") == port
    with pytest.raises(ValidationError) as exc:
        port_for_locode("ZZ123")
    assert "locode" in exc.value.message_dict


def test_database_refuses_bad_locode(ports):
    with pytest.raises(IntegrityError), transaction.atomic():
        Port.objects.create(locode="be1!x", name="bad", country="BE")


def test_duplicate_membership_is_refused(make_member):
    membership = make_member("dup.user", "beanr-customs", "analyst")
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership(user=membership.user, agency=membership.agency, role="officer").save()


def test_liaison_in_private_agency_is_refused_by_service_and_database(make_member, make_agency):
    terminal = make_agency("beanr-terminal-operator")
    with pytest.raises(ValidationError) as exc:
        member_add(username="bad.liaison", agency=terminal, role="liaison")
    assert "public-sector" in exc.value.message_dict["role"][0]
    member = make_member("ok.analyst", "beanr-terminal-operator", "analyst")
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.filter(pk=member.pk).update(role="liaison")


def test_unknown_role_is_refused(make_agency):
    agency = make_agency("beanr-customs")
    with pytest.raises(ValidationError) as exc:
        member_add(username="x.y", agency=agency, role="superhero")
    assert "Unknown role" in exc.value.message_dict["role"][0]
    member = member_add(username="x.z", agency=agency, role="analyst")
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.filter(pk=member.pk).update(role="superhero")


def test_handles_are_stable_pseudonyms(make_member):
    membership = make_member("handle.user", "nlrtm-police", "analyst")
    assert membership.handle.startswith("nlrtm-police/")
    assert "handle.user" not in membership.handle
    again = make_member("handle.user", "nlrtm-police", "officer")
    assert again.handle == membership.handle
    assert again.role == "officer"


def test_agency_slugs_and_sectors(make_agency):
    assert make_agency("beanr-customs").is_public
    assert make_agency("deham-port-authority").kind == "port_authority"
    assert make_agency("beanr-terminal-operator").is_private
    europol = make_agency("europol")
    assert europol.port is None
    assert europol.is_public
    with pytest.raises(IntegrityError), transaction.atomic():
        Agency(slug="nowhere-police", name="x", kind="police", port=None).save()


def test_scanner_node_only_for_customs_or_port_authority(make_agency):
    police = make_agency("beanr-police")
    with pytest.raises(IntegrityError), transaction.atomic():
        ScannerNode(id="bad-node", agency=police).save()
    node = ScannerNode(id="good-node", agency=make_agency("beanr-customs"))
    node.save()
    assert node.port_id == "BEANR"
