"""Email of deliveries: a relayed suspect or positive scan tells the receiving agencies' members, by kind
and link only (the container, vessel and port stay in the portal)."""

from django.core import mail

from notifications.models import Notification
from notifications.services import send_notice_email
from scans.services.relay import relay_batch
from tests.scans.helpers import Node


def test_suspect_delivery_emails_kind_and_link_only(cast, mailable, make_agency):
    u = cast["users"]
    mailable(u["antwerp_police"], deliveries="immediate")
    node = Node("beanr-mail-01", make_agency("beanr-customs"))
    clear = node.push(verdict="clear").json()
    suspect = node.push(verdict="suspect").json()
    relay_batch(scan_ids=[clear["id"], suspect["id"]])

    notices = Notification.objects.filter(kind="delivery")
    # One notice per member of each receiving public agency (customs and police at Antwerp); the clear scan
    # is routine and tells nobody.
    assert set(notices.values_list("membership__agency__slug", flat=True)) == {"beanr-customs", "beanr-police"}
    assert all(n.subject.startswith("1 new suspect") for n in notices)
    assert not Notification.objects.filter(membership__agency__sector="private").exists()

    notice = notices.get(membership__user=u["antwerp_police"])
    assert send_notice_email(notice.pk) is True
    [email] = mail.outbox
    text = email.subject + email.body
    assert "New scans were delivered to your agency's inbox." in text
    assert suspect["container"] not in text
    assert "BEANR" not in text
    assert "TLP:" not in email.subject
    assert "/inbox/" in email.body


def test_relaying_twice_tells_once(cast, make_agency):
    node = Node("beanr-mail-02", make_agency("beanr-customs"))
    scan = node.push(verdict="positive").json()
    relay_batch(scan_ids=[scan["id"]])
    relay_batch(scan_ids=[scan["id"]])
    assert Notification.objects.filter(kind="delivery", membership__agency__slug="beanr-police").count() == 1
