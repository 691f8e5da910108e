"""/livez answers while the process serves, without the database; /healthz names what is down and never
an exception's text (SPEC section 9)."""

import pytest
from django.test import override_settings

CLOSED_PORT_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1
# Every reason /healthz may give: fixed phrases, so nothing of an exception (host, errno, driver text) leaks.
REASONS = {None, "unreachable", "no worker heartbeat", "broker unreachable"}


def test_livez_answers_without_the_database(client):
    # No django_db mark: any query here would raise instead of answering.
    response = client.get("/livez")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_healthz_names_the_unreachable_broker_without_exception_text(client):
    with override_settings(CELERY_BROKER_URL=CLOSED_PORT_REDIS):
        response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert "broker" in body["down"]
    assert body["checks"]["database"]["ok"] is True
    assert {check["error"] for check in body["checks"].values()} <= REASONS
    text = response.content.decode()
    for leak in ("Error", "refused", "111", "127.0.0.1", "Traceback", "connecting"):
        assert leak not in text
