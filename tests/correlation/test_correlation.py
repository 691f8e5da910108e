"""Correlation (SPEC section 6): who is told when a container or vessel shows up on both sides."""

from datetime import timedelta

from django.urls import reverse

from correlation.models import Correlation, OneSidedHit
from notifications.models import Notification
from ports.models import Agency
from scans.services.relay import relay_batch
from tests.scans.helpers import now_z
from tests.sharing.conftest import alert_fields, container

VESSEL = "9074729"


# What correlation tells (relays and alerts also notify, of deliveries and addressed alerts: not looked at here).
TOLD = {"kind__in": ("correlation", "one_sided_hit")}


def _hamburg_alert(api_as, user, box: str, agencies: list[str]) -> dict:
    response = api_as(user).post(
        "/api/v1/alerts/",
        alert_fields(
            tlp="AMBER",
            port="DEHAM",
            containers=[box],
            audience={"agencies": agencies, "ports": [], "users": []},
        ),
        format="json",
    )
    assert response.status_code == 201, response.json()
    return response.json()


def _push_and_relay(node, **fields) -> str:
    response = node.push(**fields)
    assert response.status_code == 201, response.json()
    scan_id = response.json()["id"]
    relay_batch(scan_ids=[scan_id])
    return scan_id


def _told(agency_slug: str, kind: str) -> list[str]:
    return list(
        Notification.objects.filter(membership__agency__slug=agency_slug, kind=kind).values_list("subject", flat=True)
    )


def _listed(api_as, user) -> list[dict]:
    return api_as(user).get(reverse("api-correlations")).json()["results"]


def test_shared_alert_and_suspect_scan_notify_both_sides(cast, api_as, antwerp_node):
    u = cast["users"]
    box = container()
    alert = _hamburg_alert(api_as, u["hamburg_customs"], box, ["beanr-customs"])
    scan_id = _push_and_relay(antwerp_node, container=box, verdict="suspect", next_port="DEHAM")

    for reader in ("author", "hamburg_customs"):
        [notice] = _listed(api_as, u[reader])
        assert notice["kind"] == "container"
        assert notice["value"] == box
        assert {notice["a"]["id"], notice["b"]["id"]} == {scan_id, alert["id"]}
    assert _told("beanr-customs", "correlation")
    assert _told("deham-customs", "correlation")
    assert not OneSidedHit.objects.exists()
    # Nobody else reads both sides: not the Hamburg terminal, not Rotterdam, not Europol.
    for outsider in ("hamburg_terminal", "rotterdam_customs", "europol_liaison", "antwerp_police"):
        assert _listed(api_as, u[outsider]) == [], outsider
    assert not _told("deham-terminal-operator", "correlation")


def test_hidden_alert_gives_only_a_one_sided_hit_to_its_owner(cast, api_as, antwerp_node):
    u = cast["users"]
    box = container()
    alert = _hamburg_alert(api_as, u["hamburg_customs"], box, ["deham-police"])
    scan_id = _push_and_relay(antwerp_node, container=box, verdict="suspect", next_port="DEHAM")

    # Antwerp learns nothing: no notice listed, no notification, no hit.
    assert _listed(api_as, u["author"]) == []
    assert not Notification.objects.filter(membership__agency__slug="beanr-customs", **TOLD).exists()
    assert api_as(u["author"]).get(reverse("api-correlation-hits")).json()["results"] == []
    # Hamburg reads both (the scan was relayed to it) and holds a one-sided hit it may share.
    assert len(_listed(api_as, u["hamburg_customs"])) == 1
    [hit] = api_as(u["hamburg_customs"]).get(reverse("api-correlation-hits")).json()["results"]
    assert hit["other_agency"] == "beanr-customs"
    assert hit["yours"]["id"] == alert["id"]
    assert _told("deham-customs", "one_sided_hit")
    # Another agency cannot see or act on the hit.
    assert api_as(u["rotterdam_customs"]).get(reverse("api-correlation-hits")).json()["results"] == []
    share = reverse("api-correlation-hit-share", args=[hit["id"]])
    assert api_as(u["rotterdam_customs"]).post(share, {}, format="json").status_code == 404
    assert api_as(u["author"]).post(share, {}, format="json").status_code == 404

    shared = api_as(u["hamburg_customs"]).post(share, {}, format="json")
    assert shared.status_code == 200
    assert shared.json()["status"] == "shared"
    # A new signed version adds Antwerp customs to the audience; now Antwerp reads both sides.
    latest = api_as(u["hamburg_customs"]).get(f"/api/v1/alerts/{alert['id']}/").json()
    assert latest["version"] == 2
    assert "beanr-customs" in latest["audience"]["agencies"]
    [notice] = _listed(api_as, u["author"])
    assert {notice["a"]["id"], notice["b"]["id"]} == {scan_id, alert["id"]}
    assert _told("beanr-customs", "correlation")
    # Sharing twice changes nothing more.
    assert api_as(u["hamburg_customs"]).post(share, {}, format="json").json()["status"] == "shared"
    assert api_as(u["hamburg_customs"]).get(f"/api/v1/alerts/{alert['id']}/").json()["version"] == 2


def test_scan_side_hidden_is_shared_as_a_read_grant(cast, api_as, antwerp_node, rotterdam_node):
    """An Antwerp suspect scan bound for Rotterdam (Rotterdam reads it), then a Rotterdam scan of the same
    box: Antwerp cannot read Rotterdam's scan, so Rotterdam gets the hit; sharing gives Antwerp customs a
    delivery and read access."""
    u = cast["users"]
    box = container()
    _push_and_relay(antwerp_node, container=box, verdict="suspect", next_port="NLRTM")
    rotterdam_scan = _push_and_relay(rotterdam_node, container=box, verdict="clear")
    assert api_as(u["author"]).get(f"/api/v1/scans/{rotterdam_scan}/").status_code == 404
    [hit] = api_as(u["rotterdam_customs"]).get(reverse("api-correlation-hits")).json()["results"]
    assert hit["yours"]["id"] == rotterdam_scan
    assert hit["other_agency"] == "beanr-customs"
    assert api_as(u["author"]).get(reverse("api-correlation-hits")).json()["results"] == []
    # An analyst may not share; an officer or admin of the owning agency may.
    share = reverse("api-correlation-hit-share", args=[hit["id"]])
    assert api_as(u["rotterdam_customs"]).post(share, {}, format="json").status_code == 403
    from ports.services import member_add

    officer = member_add(username="rotterdam.officer", agency=Agency.objects.get(slug="nlrtm-customs"), role="officer")
    assert api_as(officer.user).post(share, {}, format="json").status_code == 200
    assert api_as(u["author"]).get(f"/api/v1/scans/{rotterdam_scan}/").status_code == 200
    assert api_as(u["antwerp_police"]).get(f"/api/v1/scans/{rotterdam_scan}/").status_code == 404


def test_when_neither_scan_reads_the_other_both_sides_get_a_hit_and_no_notice(
    cast, api_as, antwerp_node, rotterdam_node
):
    """Two scans are equally restricted: SPEC section 6 tells both sides' readers (hit/no-hit), nobody gets
    the notice (nobody reads both), and neither side sees the other's scan."""
    u = cast["users"]
    box = container()
    rotterdam_scan = _push_and_relay(rotterdam_node, container=box, verdict="suspect")
    antwerp_scan = _push_and_relay(antwerp_node, container=box, verdict="clear")
    assert Correlation.objects.filter(value=box).count() == 1
    assert not Notification.objects.filter(kind="correlation").exists()
    [antwerp_hit] = api_as(u["author"]).get(reverse("api-correlation-hits")).json()["results"]
    [rotterdam_hit] = api_as(u["rotterdam_customs"]).get(reverse("api-correlation-hits")).json()["results"]
    assert antwerp_hit["yours"]["id"] == antwerp_scan
    assert antwerp_hit["other_agency"] == "nlrtm-customs"
    assert rotterdam_hit["yours"]["id"] == rotterdam_scan
    assert rotterdam_hit["other_agency"] == "beanr-customs"
    assert api_as(u["author"]).get(f"/api/v1/scans/{rotterdam_scan}/").status_code == 404
    assert api_as(u["rotterdam_terminal"]).get(reverse("api-correlation-hits")).json()["results"] == []


def test_an_amber_strict_record_is_never_revealed_by_a_hit(cast, api_as, antwerp_node):
    """An AMBER+STRICT alert and a scan: the alert is the more restricted side, so only its readers may be
    told; the scan's readers learn nothing of a record they cannot read."""
    u = cast["users"]
    box = container()
    response = api_as(u["hamburg_customs"]).post(
        "/api/v1/alerts/",
        alert_fields(
            tlp="AMBER+STRICT", port="DEHAM", containers=[box], audience={"agencies": [], "ports": [], "users": []}
        ),
        format="json",
    )
    assert response.status_code == 201, response.json()
    _push_and_relay(antwerp_node, container=box, verdict="suspect")
    for name in ("author", "colleague", "antwerp_police"):
        assert api_as(u[name]).get(reverse("api-correlation-hits")).json()["results"] == [], name
        assert _listed(api_as, u[name]) == [], name
    assert not Notification.objects.filter(membership__agency__port_id="BEANR", **TOLD).exists()
    [hit] = api_as(u["hamburg_customs"]).get(reverse("api-correlation-hits")).json()["results"]
    assert hit["other_agency"] == "beanr-customs"


def test_a_red_alert_hit_and_notices_reach_only_its_readers(cast, api_as, antwerp_node, make_member):
    """Hamburg customs' RED alert names one Hamburg police member: a colleague at Hamburg customs who is
    not on it learns nothing, neither as a notice, nor as a hit, nor as a notification."""
    u, m = cast["users"], cast["memberships"]
    colleague = make_member("hamburg.colleague", "deham-customs", "officer")
    box = container()
    response = api_as(u["hamburg_customs"]).post(
        "/api/v1/alerts/",
        alert_fields(
            tlp="RED",
            port="DEHAM",
            containers=[box],
            audience={"agencies": [], "ports": [], "users": [m["hamburg_police"].handle]},
        ),
        format="json",
    )
    assert response.status_code == 201, response.json()
    _push_and_relay(antwerp_node, container=box, verdict="suspect", next_port="DEHAM")
    assert api_as(colleague.user).get(reverse("api-correlation-hits")).json()["results"] == []
    assert _listed(api_as, colleague.user) == []
    assert not Notification.objects.filter(membership=colleague, **TOLD).exists()
    # The author reads both sides (the scan was relayed to Hamburg) and holds the hit.
    assert len(api_as(u["hamburg_customs"]).get(reverse("api-correlation-hits")).json()["results"]) == 1
    assert Notification.objects.filter(membership=m["hamburg_customs"], kind="one_sided_hit").exists()
    # Antwerp: nothing.
    assert not Notification.objects.filter(membership__agency__slug="beanr-customs", **TOLD).exists()


def test_relaying_twice_and_old_matches(cast, api_as, antwerp_node, rotterdam_node):
    box = container()
    first = _push_and_relay(rotterdam_node, container=box, verdict="positive")
    second = _push_and_relay(antwerp_node, container=box, verdict="suspect")
    relay_batch(scan_ids=[first, second])  # already processed: nothing claimed, nothing matched again
    assert Correlation.objects.count() == 1
    # Outside 90 days: no match.
    old_box = container()
    _push_and_relay(rotterdam_node, container=old_box, verdict="suspect", scanned_at=now_z(-timedelta(days=120)))
    _push_and_relay(antwerp_node, container=old_box, verdict="suspect")
    assert not Correlation.objects.filter(value=old_box).exists()
    # Same port: not a correlation.
    same = container()
    _push_and_relay(antwerp_node, container=same, verdict="suspect")
    _push_and_relay(antwerp_node, container=same, verdict="suspect")
    assert not Correlation.objects.filter(value=same).exists()


def test_vessel_one_notice_per_port_pair_a_week(cast, api_as, antwerp_node, rotterdam_node):
    for _ in range(3):
        _push_and_relay(rotterdam_node, vessel_imo=VESSEL, verdict="suspect", container=container())
        _push_and_relay(antwerp_node, vessel_imo=VESSEL, verdict="positive", container=container())
    assert Correlation.objects.filter(kind="vessel", value=VESSEL).count() == 1
    # A clear scan of the vessel does not correlate by vessel.
    _push_and_relay(antwerp_node, vessel_imo="9321483", verdict="clear", container=container())
    _push_and_relay(rotterdam_node, vessel_imo="9321483", verdict="suspect", container=container())
    assert not Correlation.objects.filter(kind="vessel", value="9321483").exists()


def test_correlation_page_shows_notices_and_hits_to_their_readers_only(cast, api_as, antwerp_node, client):
    u = cast["users"]
    box = container()
    _hamburg_alert(api_as, u["hamburg_customs"], box, ["deham-police"])
    _push_and_relay(antwerp_node, container=box, verdict="suspect", next_port="DEHAM")
    client.force_login(u["hamburg_customs"])
    body = client.get(reverse("correlation_list")).content.decode()
    assert box in body
    assert "One-sided hits" in body
    assert "beanr-customs" in body
    client.force_login(u["author"])
    body = client.get(reverse("correlation_list")).content.decode()
    assert box not in body
    assert "One-sided hits" not in body
    client.force_login(u["hamburg_terminal"])
    assert box not in client.get(reverse("correlation_list")).content.decode()
    # Sharing from the page.
    client.force_login(u["hamburg_customs"])
    hit = OneSidedHit.objects.get()
    client.post(reverse("correlation_hit_share", args=[hit.pk]))
    hit.refresh_from_db()
    assert hit.status == "shared"
    client.force_login(u["author"])
    assert box in client.get(reverse("correlation_list")).content.decode()


def test_a_red_alert_naming_one_antwerp_officer_tells_that_officer_only(cast, api_as, antwerp_node, make_member):
    """SPEC section 6, decided per member: NLRTM police publish a RED alert naming one Antwerp officer, and a
    suspect Antwerp scan holds the same container. The named officer reads both sides and gets the notice; the
    other Antwerp members (who read the scan) see nothing new in correlations, hits or notifications, so a
    controlled delivery is not blown; the author, who cannot read the scan, gets the one-sided hit."""
    u, m = cast["users"], cast["memberships"]
    police = make_member("rotterdam.police.officer", "nlrtm-police", "officer")
    named = m["author"]  # an Antwerp customs officer
    box = container()
    response = api_as(police.user).post(
        "/api/v1/alerts/",
        alert_fields(
            tlp="RED",
            port="NLRTM",
            containers=[box],
            audience={"agencies": [], "ports": [], "users": [named.handle]},
        ),
        format="json",
    )
    assert response.status_code == 201, response.json()
    before = set(Notification.objects.values_list("pk", flat=True))
    _push_and_relay(antwerp_node, container=box, verdict="suspect")  # stays at Antwerp: no next port

    assert len(_listed(api_as, named.user)) == 1
    assert Notification.objects.filter(membership=named, kind="correlation").exists()
    for other in ("colleague", "antwerp_admin", "antwerp_police"):
        user = u[other]
        assert _listed(api_as, user) == [], other
        assert api_as(user).get(reverse("api-correlation-hits")).json()["results"] == [], other
        new = Notification.objects.filter(membership=m[other], **TOLD).exclude(pk__in=before)
        assert not new.exists(), other
    hits = api_as(police.user).get(reverse("api-correlation-hits")).json()["results"]
    assert len(hits) == 1
    assert _listed(api_as, police.user) == []
