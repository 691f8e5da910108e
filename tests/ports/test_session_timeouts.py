"""Sessions end when idle too long (SESSION_IDLE_TIMEOUT) and, active or not, after their absolute
lifetime (SESSION_COOKIE_AGE), even though every request re-saves them."""

import time

from django.urls import reverse


def _age(client, **shift) -> None:
    session = client.session
    for key, seconds in shift.items():
        session[key] = int(time.time()) - seconds
    session.save()


def test_an_active_session_stays(cast, client):
    client.force_login(cast["users"]["author"])
    assert client.get(reverse("home")).status_code == 200
    assert client.get(reverse("home")).status_code == 200


def test_idle_session_ends(cast, client, settings):
    client.force_login(cast["users"]["author"])
    client.get(reverse("home"))
    _age(client, last_seen=settings.SESSION_IDLE_TIMEOUT + 5)
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_absolute_lifetime_ends_even_an_active_session(cast, client, settings):
    client.force_login(cast["users"]["author"])
    client.get(reverse("home"))
    # Busy all along (seen a second ago), but logged in longer ago than the lifetime.
    _age(client, started=settings.SESSION_COOKIE_AGE + 5, last_seen=1)
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert "/login/" in response["Location"]
