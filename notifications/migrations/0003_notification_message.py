"""Notice subjects as a message and its parameters, rendered in each reader's language.

Existing rows keep their English `subject` (shown as is when no message is stored); those whose subject
follows one of the known patterns get their message back, so that they too read in the reader's language.
"""

import re

from django.db import migrations, models

_TERMS = {
    "container": "Container",
    "vessel": "Vessel",
    "clear": "Clear",
    "inconclusive": "Inconclusive",
    "suspect": "Suspect",
    "positive": "Positive",
}
_PATTERNS = [
    (
        "displacement",
        re.compile(r"^Possible displacement (?P<from_port>\w{5}) -> (?P<to_port>\w{5}) on (?P<origin>\w{5})$"),
    ),
    ("delivery", re.compile(r"^(?P<count>\d+) new suspect or positive scans? in your agency's inbox$")),
    (
        "hit.shared",
        re.compile(r"^(?P<agency>\S+) shared a record matching (?P<kind>container|vessel) (?P<value>\S+) with you$"),
    ),
    (
        "hit",
        re.compile(
            r"^(?P<kind>Container|Vessel) (?P<value>\S+): your (?P<side>scan|alert) matches a record of (?P<agency>\S+), "
            r"who cannot read yours\. You may share it\.$"
        ),
    ),
    (
        "correlation",
        re.compile(r"^(?P<kind>Container|Vessel) (?P<value>\S+): (?P<new>.+) matches (?P<old>.+)$"),
    ),
]
_FEEDBACK = re.compile(
    r"^Feedback from (?P<agency>\S+) on your alert: (?P<outcome>Checked: nothing found|Checked: confirmed|Seized)"
    r"(?: (?P<kg>[0-9.e+-]+) kg)?$"
)
_SIDE_SCAN = re.compile(r"^a (?P<verdict>clear|inconclusive|suspect|positive) scan at (?P<port>\w{5})$")
_SIDE_ALERT = re.compile(r"^an alert by (?P<agency>\S+)$")


def _side(text: str):
    if match := _SIDE_SCAN.match(text):
        return {
            "key": "correlation.scan",
            "params": {"port": match["port"], "verdict": {"term": _TERMS[match["verdict"]]}},
        }
    if match := _SIDE_ALERT.match(text):
        return {"key": "correlation.alert", "params": {"agency": match["agency"]}}
    return None


def message_for(subject: str):
    """The stored message of an English subject written before messages existed, or None."""
    if match := _FEEDBACK.match(subject):
        params = {"agency": match["agency"], "outcome": {"term": match["outcome"]}}
        if match["kg"] is None:
            return {"key": "feedback", "params": params}
        return {"key": "feedback.seized", "params": {**params, "kg": match["kg"]}}
    for key, pattern in _PATTERNS:
        match = pattern.match(subject)
        if not match:
            continue
        found = match.groupdict()
        if key == "displacement":
            return {"key": key, "params": found}
        if key == "delivery":
            return {"key": key, "params": {"count": int(found["count"])}}
        if key == "hit.shared":
            return {"key": key, "params": {**found, "kind": {"term": _TERMS[found["kind"]]}}}
        kind = {"term": _TERMS[found["kind"].lower()]}
        if key == "hit":
            return {
                "key": f"hit.{found['side']}",
                "params": {"kind": kind, "value": found["value"], "agency": found["agency"]},
            }
        new, old = _side(found["new"]), _side(found["old"])
        if new and old:
            return {"key": key, "params": {"kind": kind, "value": found["value"], "new": new, "old": old}}
    return None


def forwards(apps, schema_editor):
    Notification = apps.get_model("notifications", "Notification")
    kinds = ("displacement", "delivery", "correlation", "one_sided_hit", "alert.feedback")
    batch = []
    for notice in Notification.objects.filter(kind__in=kinds, message__isnull=True).only("pk", "subject").iterator():
        found = message_for(notice.subject)
        if found is not None:
            notice.message = found
            batch.append(notice)
        if len(batch) >= 1000:
            Notification.objects.bulk_update(batch, ["message"])
            batch = []
    if batch:
        Notification.objects.bulk_update(batch, ["message"])


class Migration(migrations.Migration):
    dependencies = [("notifications", "0002_email_records")]

    operations = [
        migrations.AddField(
            model_name="notification",
            name="message",
            field=models.JSONField(blank=True, null=True),
        ),
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]
