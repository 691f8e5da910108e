"""Django admin shows superusers metadata only: never alert, practice or scan content."""

import pytest

from sharing.services.alerts import alert_publish

pytestmark = pytest.mark.django_db


def test_admin_lists_metadata_but_no_content(cast, client):
    alert = alert_publish(
        membership=cast["memberships"]["author"],
        data={
            "title": "Rip-on bags in reefers from Guayaquil",
            "body": "Seals replaced; cloned seal numbers.",
            "category": "rip_on_rip_off",
            "severity": "high",
            "tlp": "RED",
            "audience": {"agencies": [], "ports": [], "users": []},
            "containers": ["MSCU1234566"],
            "vessels": [],
            "port": "BEANR",
            "origin": "ECGYE",
        },
    )
    client.force_login(cast["users"]["superuser"])
    listing = client.get("/django-admin/sharing/alert/")
    assert listing.status_code == 200
    html = listing.content.decode()
    assert str(alert.pk) in html
    assert "Rip-on bags" not in html and "MSCU1234566" not in html
    detail = client.get(f"/django-admin/sharing/alert/{alert.pk}/change/").content.decode()
    assert "Rip-on bags" not in detail and "cloned seal" not in detail and "MSCU1234566" not in detail
    assert "eyJ" not in detail  # no JWS either
    assert client.get("/django-admin/sharing/alert/?q=Rip").status_code == 200
    assert "Rip-on bags" not in client.get("/django-admin/sharing/alert/?q=Rip").content.decode()
