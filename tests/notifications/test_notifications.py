"""Notices reach exactly the members they are addressed to; nobody else can list, read or mark them."""

from django.urls import reverse

from notifications.services import liaison_memberships, notify
from ports.services import member_offboard


def test_notify_agency_fans_out_to_active_members_only(cast):
    m = cast["memberships"]
    member_offboard(membership=m["colleague"], actor=m["antwerp_admin"].user)
    created = notify(kind="feedback", subject="Feedback on alert X", url="/alerts/x/", agencies=[m["author"].agency_id])
    # beanr-customs: officer, analyst (offboarded), admin -> two active members
    assert created == 2


def test_roles_and_liaisons(cast):
    m = cast["memberships"]
    assert liaison_memberships() == [m["europol_liaison"].id]
    assert notify(kind="flag", subject="s", agencies=[m["author"].agency_id], roles=["officer"]) == 1


def test_api_lists_only_own_notices_and_marks_read(cast, api_as):
    m, u = cast["memberships"], cast["users"]
    notify(kind="feedback", subject="Feedback on your alert", url="/alerts/1/", memberships=[m["author"].id])
    mine = api_as(u["author"]).get(reverse("api-notifications")).json()
    assert [n["subject"] for n in mine["results"]] == ["Feedback on your alert"]
    other = api_as(u["hamburg_police"])
    assert other.get(reverse("api-notifications")).json()["results"] == []
    nid = mine["results"][0]["id"]
    # Someone else's notice is a 404, and stays unread.
    assert other.post(reverse("api-notification-read", args=[nid])).status_code == 404
    assert api_as(u["author"]).get(reverse("api-notifications") + "?unread=true").json()["count"] == 1
    assert api_as(u["author"]).post(reverse("api-notification-read", args=[nid])).json() == {"read": 1}
    assert api_as(u["author"]).get(reverse("api-notifications") + "?unread=true").json()["count"] == 0


def test_page_shows_own_notices_with_unread_count(cast, client):
    m, u = cast["memberships"], cast["users"]
    notify(kind="correlation", subject="Correlation: container seen at DEHAM", url="/", memberships=[m["author"].id])
    client.force_login(u["author"])
    body = client.get(reverse("notification_list")).content.decode()
    assert "Correlation: container seen at DEHAM" in body
    assert '<span class="count">1</span>' in body
    client.post(reverse("notification_list"))
    assert '<span class="count">' not in client.get(reverse("notification_list")).content.decode()
    client.force_login(u["rotterdam_terminal"])
    assert "Correlation: container" not in client.get(reverse("notification_list")).content.decode()


def test_a_deactivated_agency_neither_receives_nor_reads_notices(cast, api_as):
    m, u = cast["memberships"], cast["users"]
    notify(kind="feedback", subject="Feedback on alert X", memberships=[m["author"].id])
    agency = m["author"].agency
    agency.is_active = False
    agency.save(update_fields=["is_active"])
    assert notify(kind="feedback", subject="Another", agencies=[agency.id]) == 0
    # A token cannot be issued any more (no active membership): the session gets nothing either.
    assert api_as(u["author"], token=False).get(reverse("api-notifications")).status_code == 403
    from access import notifications_for

    assert not notifications_for(u["author"]).exists()
