"""Email of correlation notices and one-sided hits: by kind and link only; their subjects name containers."""

from django.core import mail

from notifications.models import Notification
from notifications.services import notify, send_notice_email
from scans.services.relay import relay_batch
from tests.scans.helpers import Node

from .conftest import container


def test_correlation_notice_email_names_no_container(cast, mailable, publish, make_agency):
    u = cast["users"]
    mailable(u["colleague"], correlations="immediate")
    boxed = container()
    publish(u["hamburg_customs"], tlp="GREEN", port="DEHAM", containers=[boxed])
    node = Node("beanr-mail-03", make_agency("beanr-customs"))
    scan = node.push(container=boxed, verdict="suspect").json()
    relay_batch(scan_ids=[scan["id"]])

    # Antwerp customs reads both sides (the GREEN alert and its own scan): told of the correlation.
    notice = Notification.objects.get(kind="correlation", membership__user=u["colleague"])
    assert boxed in notice.subject  # in the portal, for a reader of both sides
    assert send_notice_email(notice.pk) is True
    [email] = mail.outbox
    assert boxed not in email.subject + email.body
    assert "/correlations/#" in email.body


def test_one_sided_hit_email(cast, mailable):
    m, u = cast["memberships"], cast["users"]
    mailable(u["author"], correlations="immediate")
    notify(
        kind="one_sided_hit",
        subject="Container MSCU1234566: your alert matches a record of nlrtm-customs, who cannot read yours.",
        url="/correlations/#hit-1",
        memberships=[m["author"].id],
    )
    send_notice_email(Notification.objects.get(kind="one_sided_hit").pk)
    [email] = mail.outbox
    assert "one-sided hit" in email.body
    assert "MSCU1234566" not in email.subject + email.body
    assert "nlrtm-customs" not in email.body
