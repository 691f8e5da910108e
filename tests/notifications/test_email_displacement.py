"""Email of displacement flags (liaisons and the public agencies at both ports): kind and link only."""

from django.core import mail

from notifications.models import Notification
from notifications.services import send_notice_email
from trends.services.displacement import notify_new_flags

from .conftest import make_flag


def test_flag_email_to_a_liaison(cast, mailable):
    u = cast["users"]
    mailable(u["europol_liaison"], displacement="immediate")
    flag = make_flag()
    assert notify_new_flags([flag]) > 0
    told = set(Notification.objects.filter(kind="displacement").values_list("membership__agency__slug", flat=True))
    assert "europol" in told
    assert "nlrtm-terminal-operator" not in told
    notice = Notification.objects.get(kind="displacement", membership__user=u["europol_liaison"])
    assert send_notice_email(notice.pk) is True
    [email] = mail.outbox
    assert email.to == ["europol.liaison@example.org"]
    assert "A new displacement flag is waiting for you." in email.body
    assert "ECGYE" not in email.subject + email.body
    assert "NLRTM" not in email.subject + email.body
    assert f"/trends/?flag={flag.pk}" in email.body
