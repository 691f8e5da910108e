"""The file email backend's page (`make run` only): each member reads only the messages addressed to them."""

from django.core.mail import EmailMessage
from django.test import Client


def _session(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_page_is_404_unless_the_file_backend_is_on(cast, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    assert _session(cast["users"]["colleague"]).get("/mail/").status_code == 404


def test_each_member_reads_only_their_own_mail(cast, mailable, settings, tmp_path):
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path)
    EmailMessage("[TLP:GREEN] For the analyst", "body one", to=["antwerp.analyst@example.org"]).send()
    EmailMessage("[TLP:AMBER] For Hamburg", "body two", to=["hamburg.officer@example.org"]).send()
    page = _session(cast["users"]["colleague"]).get("/mail/").content.decode()
    assert "For the analyst" in page
    assert "body one" in page
    assert "For Hamburg" not in page
    assert "body two" not in page
    other = _session(cast["users"]["hamburg_customs"]).get("/mail/").content.decode()
    assert "For Hamburg" in other
    assert "For the analyst" not in other
    # A member without an address reads nothing, not everything.
    nobody = cast["users"]["superuser"]
    nobody.email = ""
    nobody.save(update_fields=["email"])
    assert "For" not in _session(nobody).get("/mail/").content.decode().split("<main")[1].split("</main>")[0].replace(
        "Your email", ""
    ).replace("No email for you yet.", "")
