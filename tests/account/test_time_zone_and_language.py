"""Time zone and language on the account page: stored per member, activated on each request; with no
language chosen, the browser's. The choices are `settings.LANGUAGES`."""

from django.test import Client, override_settings

from ports.models import UserProfile


def _session(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _prefs(**overrides) -> dict:
    data = {
        "timezone": "Europe/Brussels",
        "language": "",
        "email_alerts": "digest",
        "email_correlations": "digest",
        "email_deliveries": "digest",
        "email_displacement": "digest",
    }
    data.update(overrides)
    return data


def test_time_zone_is_stored_and_used_for_every_time_shown(cast):
    user = cast["users"]["hamburg_customs"]
    client = _session(user)
    assert client.post("/account/preferences/", _prefs(timezone="America/Guayaquil")).status_code == 302
    assert UserProfile.objects.get(user=user).timezone == "America/Guayaquil"
    page = client.get("/account/").content.decode()
    assert "times shown in America/Guayaquil" in page
    # Another member keeps theirs.
    assert "times shown in Europe/Brussels" in _session(cast["users"]["colleague"]).get("/").content.decode()


def test_language_choice_wins_over_the_browser(cast):
    user = cast["users"]["rotterdam_customs"]
    client = _session(user)
    assert client.get("/", HTTP_ACCEPT_LANGUAGE="fr").headers["Content-Language"] == "fr"
    assert client.post("/account/preferences/", _prefs(language="nl")).status_code == 302
    assert client.get("/", HTTP_ACCEPT_LANGUAGE="fr").headers["Content-Language"] == "nl"
    assert client.post("/account/preferences/", _prefs(language="")).status_code == 302
    assert client.get("/", HTTP_ACCEPT_LANGUAGE="de").headers["Content-Language"] == "de"


def test_hostile_or_unknown_values_are_refused_with_field_messages(cast):
    user = cast["users"]["colleague"]
    client = _session(user)
    for field, value in [
        ("timezone", "Mars/Olympus"),
        ("timezone", "Europe/Brussels\x00"),
        ("language", "xx"),
        ("language", "../../etc"),
        ("email_alerts", "hourly"),
    ]:
        response = client.post("/account/preferences/", _prefs(**{field: value}))
        assert response.status_code == 400, (field, value)
    profile = UserProfile.objects.get(user=user)
    assert (profile.timezone, profile.language, profile.email_alerts) == ("Europe/Brussels", "", "digest")


@override_settings(LANGUAGES=[("en", "English"), ("es", "Español")])
def test_the_choices_follow_settings_languages(cast):
    client = _session(cast["users"]["colleague"])
    page = client.get("/account/").content.decode()
    assert '<option value="es">Español</option>' in page
    assert 'value="nl"' not in page
    assert client.post("/account/preferences/", _prefs(language="es")).status_code == 302
    assert client.post("/account/preferences/", _prefs(language="nl")).status_code == 400
