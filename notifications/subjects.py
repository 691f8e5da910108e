"""Notice subjects stored as a message and its parameters, rendered in the reader's language.

A notice is written once, by whoever triggers it, and read later by people who chose other languages:
its subject is therefore stored as `{"key": ..., "params": {...}}` (`Notification.message`) and turned into
text when it is shown or emailed, in the language active then. A parameter is a plain value (a port, a
container number, an agency slug), a term `{"term": <English label>}` translated through the catalogue,
or a nested message `{"key": ..., "params": ...}`. `Notification.subject` keeps the English text: the
fallback for a message this code no longer knows and for notices stored before messages existed.

This module imports no other app: the callers hand it their labels as terms (`term(label)`).
"""

from typing import Any

from django.conf import settings
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext, gettext_lazy, ngettext_lazy

SUBJECTS: dict[str, Any] = {
    "displacement": gettext_lazy("Possible displacement %(from_port)s -> %(to_port)s on %(origin)s"),
    "delivery": ngettext_lazy(
        "%(count)d new suspect or positive scan in your agency's inbox",
        "%(count)d new suspect or positive scans in your agency's inbox",
        "count",
    ),
    "feedback": gettext_lazy("Feedback from %(agency)s on your alert: %(outcome)s"),
    "feedback.seized": gettext_lazy("Feedback from %(agency)s on your alert: %(outcome)s, %(kg)s kg"),
    "correlation": gettext_lazy("%(kind)s %(value)s: %(new)s matches %(old)s"),
    "correlation.scan": gettext_lazy("a scan at %(port)s (%(verdict)s)"),
    "correlation.alert": gettext_lazy("an alert by %(agency)s"),
    "hit.scan": gettext_lazy(
        "%(kind)s %(value)s: your scan matches a record of %(agency)s, who cannot read yours. You may share it."
    ),
    "hit.alert": gettext_lazy(
        "%(kind)s %(value)s: your alert matches a record of %(agency)s, who cannot read yours. You may share it."
    ),
    "hit.shared": gettext_lazy("%(agency)s shared a record matching %(kind)s %(value)s with you"),
}


def message(key: str, **params) -> dict:
    """A subject to store: one of `SUBJECTS` and its parameters (plain values, terms or nested messages)."""
    if key not in SUBJECTS:
        raise KeyError(f"unknown notice subject {key!r}")
    return {"key": key, "params": params}


def term(label) -> dict:
    """A label of the catalogue (a choice's lazy label): stored as its English msgid, translated when shown."""
    if isinstance(label, Promise):
        with translation.override(None):  # no catalogue: the msgid itself
            label = str(label)
    return {"term": str(label)}


def _value(value):
    if isinstance(value, dict) and "term" in value:
        return gettext(str(value["term"]))
    if isinstance(value, dict) and "key" in value:
        return render(value, "")
    return value


def render(spec, fallback: str) -> str:
    """The subject in the active language; `fallback` when the message is missing or does not fit."""
    if not isinstance(spec, dict) or spec.get("key") not in SUBJECTS:
        return fallback
    params = spec.get("params") or {}
    try:
        return str(SUBJECTS[spec["key"]] % {name: _value(value) for name, value in params.items()})
    except (KeyError, TypeError, ValueError):
        return fallback


def english(spec) -> str:
    """The subject in the portal's default language: what `Notification.subject` keeps."""
    with translation.override(settings.LANGUAGE_CODE):
        return render(spec, "")
