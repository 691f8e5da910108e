"""A notice reads in its reader's language, whatever the language of whoever caused it: the subject is stored
as a message and its parameters and rendered on the list, the home page, the API and in the email (in the
recipient's chosen language). Notices stored before, as English text, keep reading (and those whose text
matches a known pattern get their message back from the migration)."""

import importlib

import pytest
from django.core import mail
from django.utils import translation

from notifications.models import Notification
from notifications.services import notify, send_notice_email
from notifications.subjects import message
from ports.models import UserProfile

pytestmark = pytest.mark.django_db

MIGRATION = importlib.import_module("notifications.migrations.0003_notification_message")


def _feedback_in_english(cast, publish, api_as) -> dict:
    """Rotterdam reports a seizure on Antwerp's GREEN alert from an English page."""
    alert = publish(cast["users"]["author"], tlp="GREEN")
    response = api_as(cast["users"]["rotterdam_customs"]).post(
        f"/api/v1/alerts/{alert['id']}/feedback/",
        {"outcome": "seized", "seized_kg": 120},
        format="json",
        HTTP_ACCEPT_LANGUAGE="en-GB",
    )
    assert response.status_code == 201, response.json()
    return alert


def test_the_list_speaks_the_readers_language_not_the_senders(cast, publish, api_as, client):
    _feedback_in_english(cast, publish, api_as)
    notice = Notification.objects.get(membership=cast["memberships"]["author"], kind="alert.feedback")
    assert notice.subject == "Feedback from nlrtm-customs on your alert: Seized, 120 kg"  # the English fallback
    UserProfile.objects.update_or_create(user=cast["users"]["author"], defaults={"language": "de"})
    client.force_login(cast["users"]["author"])
    for path in ("/notifications/", "/"):
        page = client.get(path, HTTP_ACCEPT_LANGUAGE="en-GB").content.decode()
        assert "Rückmeldung von nlrtm-customs zu Ihrer Warnmeldung: Sichergestellt, 120 kg" in page, path
        assert "Feedback from" not in page, path


def test_the_api_speaks_accept_language(cast, publish, api_as):
    _feedback_in_english(cast, publish, api_as)
    reader = api_as(cast["users"]["colleague"])
    french = reader.get("/api/v1/notifications/", HTTP_ACCEPT_LANGUAGE="fr").json()["results"]
    assert [n["subject"] for n in french] == ["Retour de nlrtm-customs sur votre alerte : Saisie effectuée, 120 kg"]
    assert french[0]["kind"] == "alert.feedback"  # the machine-readable kind stays as it is
    english = reader.get("/api/v1/notifications/").json()["results"]
    assert [n["subject"] for n in english] == ["Feedback from nlrtm-customs on your alert: Seized, 120 kg"]


def test_the_email_is_in_the_recipients_language(cast, mailable):
    m, u = cast["memberships"], cast["users"]
    mailable(u["author"], displacement="immediate")
    UserProfile.objects.filter(user=u["author"]).update(language="nl")
    with translation.override("fr"):  # whoever triggers it, and the worker, speak another language
        notify(
            kind="displacement",
            subject=message("displacement", from_port="NLRTM", to_port="BEANR", origin="ECGYE"),
            memberships=[m["author"].id],
        )
        notice = Notification.objects.get(membership=m["author"])
        assert send_notice_email(notice.pk) is True
    [email] = mail.outbox
    assert email.subject == "Er wacht een nieuw verplaatsingssignaal op u."
    assert "NLRTM" not in email.body  # a flag is told by its kind alone (it names ports)


@pytest.mark.parametrize(
    ("kind", "subject", "german"),
    [
        ("displacement", "Possible displacement NLRTM -> BEANR on ECGYE", "Mögliche Verlagerung NLRTM -> BEANR"),
        (
            "delivery",
            "3 new suspect or positive scans in your agency's inbox",
            "3 neue verdächtige oder positive Scans",
        ),
        (
            "delivery",
            "1 new suspect or positive scan in your agency's inbox",
            "1 neuer verdächtiger oder positiver Scan",
        ),
        (
            "correlation",
            "Container MSCU1234566: a suspect scan at NLRTM matches an alert by beanr-customs",
            "Container MSCU1234566: Scan in NLRTM (Verdächtig) stimmt überein mit Warnmeldung von beanr-customs",
        ),
        (
            "one_sided_hit",
            "Vessel 9074729: your alert matches a record of deham-customs, who cannot read yours. You may share it.",
            "Schiff 9074729: Ihre Warnmeldung stimmt mit einem Datensatz von deham-customs überein",
        ),
        ("correlation", "beanr-customs shared a record matching container MSCU1234566 with you", "hat einen Datensatz"),
        ("alert.feedback", "Feedback from nlrtm-customs on your alert: Seized 12.5 kg", "Sichergestellt, 12.5 kg"),
    ],
)
def test_old_english_subjects_get_their_message_back(kind, subject, german):
    spec = MIGRATION.message_for(subject)
    assert spec is not None
    notice = Notification(kind=kind, subject=subject, message=spec)
    with translation.override("de"):
        assert german in notice.text
    with translation.override("en-gb"):
        assert notice.text.split()[:2] == subject.split()[:2]


def test_a_subject_without_a_message_reads_as_stored(cast):
    """An alert's title (its author's words) and any row the migration could not read are shown as written."""
    notify(kind="alert", subject="Cloned seals on reefers", tlp="GREEN", memberships=[cast["memberships"]["author"].id])
    notice = Notification.objects.get()
    with translation.override("fr"):
        assert notice.text == "Cloned seals on reefers"
    assert MIGRATION.message_for("Something nobody wrote before") is None
