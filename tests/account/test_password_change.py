"""The holder changes their password on the account page: the current one is checked, the rules apply,
this session stays and the holder's other sessions end."""

from django.test import Client

from ports.models import AuditEntry
from tests.conftest import PASSWORD

NEW = "a much longer harbour passphrase 42"


def _session(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_change_keeps_this_session_and_ends_the_others(cast):
    user = cast["users"]["colleague"]
    here, elsewhere = _session(user), _session(user)
    response = here.post("/account/password/", {"old_password": PASSWORD, "new_password1": NEW, "new_password2": NEW})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password(NEW)
    assert here.get("/account/").status_code == 200
    assert elsewhere.get("/account/").status_code == 302  # the other session ended
    assert AuditEntry.objects.filter(action="auth.password_changed", actor=user.username).exists()
    response = Client().post("/login/", {"username": user.username, "password": NEW})
    assert response.status_code == 302


def test_wrong_current_password_weak_or_mismatched_new_one_is_refused(cast):
    user = cast["users"]["colleague"]
    client = _session(user)
    cases = [
        ({"old_password": "not it", "new_password1": NEW, "new_password2": NEW}, "incorrectly"),
        ({"old_password": PASSWORD, "new_password1": "short", "new_password2": "short"}, "too short"),
        ({"old_password": PASSWORD, "new_password1": "123456789012345", "new_password2": "123456789012345"}, "numeric"),
        ({"old_password": PASSWORD, "new_password1": NEW, "new_password2": NEW + "x"}, "differ"),
    ]
    for data, message in cases:
        response = client.post("/account/password/", data)
        assert response.status_code == 400, data
        assert message in response.content.decode(), (message, data)
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
