"""The home page: what is new since my last visit, every list through the access rule, bounded, in a
fixed number of queries whatever the volume."""

from datetime import timedelta

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ports.models import UserProfile
from scans.services.relay import relay_batch
from tests.scans.helpers import Node

from .conftest import make_flag


def _session(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _since(user, days: int = 1) -> None:
    UserProfile.objects.update_or_create(
        user=user, defaults={"previous_visit_at": timezone.now() - timedelta(days=days)}
    )


def test_login_remembers_the_previous_visit(cast):
    from tests.conftest import PASSWORD

    user = cast["users"]["colleague"]
    before = timezone.now() - timedelta(days=3)
    type(user).objects.filter(pk=user.pk).update(last_login=before)
    assert Client().post("/login/", {"username": user.username, "password": PASSWORD}).status_code == 302
    assert UserProfile.objects.get(user=user).previous_visit_at == before


def test_new_alerts_deliveries_hits_and_flags_appear(cast, publish, make_agency):
    u = cast["users"]
    _since(u["rotterdam_customs"])
    publish(u["author"], tlp="GREEN", title="Green news for everyone", port="NLRTM")
    publish(
        u["author"],
        tlp="AMBER",
        title="Amber for Rotterdam",
        audience={"agencies": ["nlrtm-customs"], "ports": [], "users": []},
    )
    publish(
        u["author"],
        tlp="AMBER",
        title="Amber for Hamburg",
        audience={"agencies": ["deham-customs"], "ports": [], "users": []},
    )
    node = Node("nlrtm-home-01", make_agency("nlrtm-customs"))
    scan = node.push(verdict="suspect").json()
    relay_batch(scan_ids=[scan["id"]])
    make_flag()

    page = _session(u["rotterdam_customs"]).get("/").content.decode()
    assert "Green news for everyone" in page
    assert "Amber for Rotterdam" in page
    assert "Amber for Hamburg" not in page  # not readable by Rotterdam: never listed, never counted
    new_alerts = page.split('id="new-alerts"')[1].split("</section>")[0]
    assert '<span class="pill">2</span>' in new_alerts
    assert scan["container"] in page.split('id="new-deliveries"')[1].split("</section>")[0]
    assert "NLRTM → BEANR" in page.split('id="new-flags"')[1].split("</section>")[0]


def test_the_private_sector_sees_no_deliveries_or_flags_and_nobody_elses_alerts(cast, publish, make_agency):
    u = cast["users"]
    _since(u["rotterdam_terminal"])
    publish(
        u["author"],
        tlp="AMBER",
        title="Amber for Rotterdam customs",
        audience={"agencies": ["nlrtm-customs"], "ports": [], "users": []},
    )
    node = Node("nlrtm-home-02", make_agency("nlrtm-customs"))
    scan = node.push(verdict="positive").json()
    relay_batch(scan_ids=[scan["id"]])
    make_flag()
    page = _session(u["rotterdam_terminal"]).get("/").content.decode()
    assert 'id="new-deliveries"' not in page
    assert 'id="new-flags"' not in page
    assert scan["container"] not in page
    assert "Amber for Rotterdam customs" not in page
    assert "NLRTM → BEANR" not in page


def test_old_things_are_not_new(cast, publish):
    u = cast["users"]
    publish(u["author"], tlp="GREEN", title="Yesterday's news", port="NLRTM")
    UserProfile.objects.update_or_create(user=u["rotterdam_police"], defaults={"previous_visit_at": timezone.now()})
    page = _session(u["rotterdam_police"]).get("/").content.decode()
    new_alerts = page.split('id="new-alerts"')[1].split("</section>")[0]
    assert "Yesterday&#x27;s news" not in new_alerts
    assert "No new alert for you." in new_alerts


def _home_queries(client: Client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/").status_code == 200
    return len(queries)


def test_home_queries_do_not_grow_with_volume(cast, publish, make_agency):
    u = cast["users"]
    _since(u["rotterdam_customs"], days=30)
    client = _session(u["rotterdam_customs"])
    node = Node("nlrtm-home-03", make_agency("nlrtm-customs"))

    def add(n: int) -> None:
        for i in range(n):
            publish(u["author"], tlp="GREEN", title=f"News {i}", port="NLRTM")
        relay_batch(scan_ids=[node.push(verdict="suspect").json()["id"] for _ in range(n)])

    add(1)
    _home_queries(client)  # warms the process caches (signing keys), as any running portal has
    few = _home_queries(client)
    add(12)  # more than a list shows
    many = _home_queries(client)
    assert many == few, (few, many)
    assert few <= 40
