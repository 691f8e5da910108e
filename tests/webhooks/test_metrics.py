"""Webhook figures on /metrics (issue 17): attempts by result, sends retrying, dead letters."""

from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from webhooks.models import State
from webhooks.tasks import send_attempt

from .conftest import attempts_of, push_and_relay


def _attempts(result: str) -> float:
    return REGISTRY.get_sample_value("alliance_webhook_attempts_total", {"result": result}) or 0.0


def _gauges(client) -> dict[str, float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
        if sample.name in ("alliance_webhook_dead_letters", "alliance_webhook_retrying")
    }


def test_failed_sent_and_dead_attempts_are_counted(
    cast, admin_client, receiver, antwerp_node, queued, django_capture_on_commit_callbacks, client, settings
):
    receiver.fail_first = 10
    assert admin_client.post("/api/v1/webhooks/", {"url": receiver.url()}, format="json").status_code == 201
    scan = push_and_relay(antwerp_node, django_capture_on_commit_callbacks)
    [attempt] = attempts_of(scan["id"])
    failed, dead = _attempts("failed"), _attempts("dead")

    assert send_attempt(str(attempt.pk)) == State.FAILED
    assert _attempts("failed") == failed + 1
    assert _gauges(client) == {"alliance_webhook_dead_letters": 0, "alliance_webhook_retrying": 1}

    settings.WEBHOOK_RETRY_HOURS = 0  # the retry window is over: the next failure is a dead letter
    attempt.refresh_from_db()
    attempt.next_attempt_at = attempt.created_at
    attempt.save(update_fields=["next_attempt_at"])
    assert send_attempt(str(attempt.pk)) == State.DEAD
    assert _attempts("dead") == dead + 1
    assert _gauges(client) == {"alliance_webhook_dead_letters": 1, "alliance_webhook_retrying": 0}
