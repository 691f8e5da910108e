"""Email of alerts addressed to me or my agency: the TLP label, the title only under GREEN or CLEAR, a link.
A RED or AMBER alert's email holds neither title nor body."""

from django.core import mail

from notifications.models import Notification
from notifications.services import send_notice_email

RED_TITLE = "Informant says the MSCU reefer leaves Guayaquil Tuesday"
RED_BODY = "Names the corrupt dock worker at terminal 4"


def _notice(user, kind="alert") -> Notification:
    return Notification.objects.get(membership__user=user, kind=kind)


def test_red_alert_email_holds_no_title_or_body(cast, mailable, publish):
    m, u = cast["memberships"], cast["users"]
    mailable(u["hamburg_customs"], alerts="immediate")
    alert = publish(
        u["author"],
        tlp="RED",
        title=RED_TITLE,
        body=RED_BODY,
        audience={"agencies": [], "ports": [], "users": [m["hamburg_customs"].handle]},
    )
    notice = _notice(u["hamburg_customs"])
    assert notice.tlp == "RED"
    assert notice.subject == RED_TITLE
    assert send_notice_email(notice.pk) is True
    [email] = mail.outbox
    text = email.subject + email.body
    assert email.to == ["hamburg.officer@example.org"]
    assert "TLP:RED" in email.subject
    assert RED_TITLE not in text
    assert "Guayaquil" not in text
    assert RED_BODY not in text
    assert "MSCU" not in text
    assert f"/alerts/{alert['id']}/" in email.body
    # Nobody else was addressed: not the author, not colleagues, not other agencies.
    assert Notification.objects.filter(kind="alert").count() == 1


def test_amber_alert_email_holds_the_label_and_link_only(cast, mailable, publish):
    u = cast["users"]
    mailable(u["rotterdam_customs"], alerts="immediate")
    publish(
        u["author"],
        tlp="AMBER",
        title="Cocaine in banana boxes, AMBER detail",
        audience={"agencies": ["nlrtm-customs"], "ports": [], "users": []},
    )
    send_notice_email(_notice(u["rotterdam_customs"]).pk)
    [email] = mail.outbox
    assert email.subject.startswith("[TLP:AMBER] ")
    assert "banana" not in email.subject + email.body
    assert "A new alert is addressed to you or your agency." in email.body
    told = set(Notification.objects.filter(kind="alert").values_list("membership__agency__slug", flat=True))
    assert told == {"nlrtm-customs"}  # not the Antwerp author agency, not Rotterdam police


def test_green_alert_email_carries_its_title(cast, mailable, publish):
    u = cast["users"]
    mailable(u["rotterdam_police"], alerts="immediate")
    publish(u["author"], tlp="GREEN", title="Rip-on bags at Rotterdam", port="NLRTM")
    send_notice_email(_notice(u["rotterdam_police"]).pk)
    [email] = mail.outbox
    assert email.subject == "[TLP:GREEN] Rip-on bags at Rotterdam"
    assert "Rip-on bags at Rotterdam" in email.body
    assert "Seals replaced" not in email.body  # the body never goes out, whatever the label
    # GREEN concerns the alert's port: its public-sector agencies are told, not the private sector there.
    told = set(Notification.objects.filter(kind="alert").values_list("membership__agency__slug", flat=True))
    assert told == {"nlrtm-customs", "nlrtm-police"}


def test_no_email_when_the_member_chose_digest_or_off_or_has_no_address(cast, mailable, publish):
    u = cast["users"]
    mailable(u["rotterdam_customs"], alerts="digest")
    mailable(u["rotterdam_police"], alerts="off")
    publish(u["author"], tlp="GREEN", title="Seen at Rotterdam", port="NLRTM")
    for user in (u["rotterdam_customs"], u["rotterdam_police"]):
        assert send_notice_email(_notice(user).pk) is False
    assert mail.outbox == []


def test_a_member_who_left_is_not_emailed(cast, mailable, publish):
    from ports.services import member_offboard

    m, u = cast["memberships"], cast["users"]
    mailable(u["rotterdam_customs"], alerts="immediate")
    publish(u["author"], tlp="GREEN", title="Seen at Rotterdam", port="NLRTM")
    notice = _notice(u["rotterdam_customs"])
    member_offboard(membership=m["rotterdam_customs"], actor=u["superuser"])
    assert send_notice_email(notice.pk) is False
    assert mail.outbox == []
