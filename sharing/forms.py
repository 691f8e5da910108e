"""Portal forms for alerts and best practices: they only shape the document; the services validate and sign."""

import re

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ports import signing
from ports.models import Port
from ports.selectors import agency_list, member_directory

from . import documents
from .models import (
    CATEGORY_DEFINITIONS,
    Category,
    FeedbackOutcome,
    Handling,
    InformationReliability,
    Severity,
    SourceReliability,
    Tlp,
)

# The audience picker, in plain words (SPEC section 4).
TLP_EXPLAINED = {
    Tlp.CLEAR: _("Anyone with an Alliance Exchange account may read it."),
    Tlp.GREEN: _("Every member of every agency in the alliance community, public and private sector."),
    Tlp.AMBER: _(
        "Your agency, the agencies you pick, and every public-sector agency (customs, police, "
        "port authority) at the ports you pick."
    ),
    Tlp.AMBER_STRICT: _("Your agency and the agencies you pick, nobody else."),
    Tlp.RED: _("You and the members you name, by handle. Nobody else, not even your colleagues."),
}
# Which picker lists each level uses; the others are hidden and their values dropped.
AUDIENCE_FIELDS = {"agencies": "audience_agencies", "ports": "audience_ports", "users": "audience_users"}
IDENTIFIER_TLPS = (Tlp.CLEAR, Tlp.GREEN)
IDENTIFIER_WARNING = _(
    "Container or vessel numbers in a %(tlp)s alert reach every member, private operators included, and could "
    "warn the network behind them. Pick AMBER or stricter, or confirm that these numbers may be shared this widely."
)
MAX_DIRECTORY = 1000  # RED recipients offered in the picker; the API directory pages beyond this


def _split(value: str) -> list[str]:
    return [part for part in re.split(r"[\s,;]+", value or "") if part]


def _blank(choices) -> list[tuple[str, str]]:
    return [("", _("— not given —")), *choices]


class AudienceForm(forms.Form):
    """TLP and the three audience lists, rendered as the audience picker."""

    tlp = forms.ChoiceField(choices=Tlp.choices, widget=forms.RadioSelect, initial=Tlp.AMBER, label=_("TLP"))
    audience_agencies = forms.MultipleChoiceField(required=False, label=_("Agencies"))
    audience_ports = forms.MultipleChoiceField(required=False, label=_("Ports"))
    audience_users = forms.MultipleChoiceField(required=False, label=_("Members (by handle)"))

    def __init__(self, *args, directory: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.agencies = list(agency_list())
        self.ports = list(Port.objects.filter(is_member=True).order_by("locode"))
        # The member directory is closed to the private sector (SPEC section 2).
        self.members = list(member_directory()[:MAX_DIRECTORY]) if directory else []
        self.fields["audience_agencies"].choices = [(a.slug, a.name) for a in self.agencies]
        self.fields["audience_ports"].choices = [(p.locode, p.name) for p in self.ports]
        self.fields["audience_users"].choices = [(m.handle, m.handle) for m in self.members]

    def audience(self) -> dict:
        tlp = self.cleaned_data.get("tlp")
        used = documents.AUDIENCE_LISTS_BY_TLP.get(tlp, ())
        return {
            key: list(self.cleaned_data.get(name) or []) if key in used else [] for key, name in AUDIENCE_FIELDS.items()
        }

    def picker(self) -> dict:
        """What the template needs to draw the picker, with the current selection."""

        def selected(name: str) -> set[str]:
            value = self[name].value() or []
            return {value} if isinstance(value, str) else set(value)

        agencies, ports, users = selected("audience_agencies"), selected("audience_ports"), selected("audience_users")
        current = self["tlp"].value()
        return {
            "levels": [
                {
                    "value": value,
                    "label": label,
                    "explained": TLP_EXPLAINED[value],
                    "uses": " ".join(documents.AUDIENCE_LISTS_BY_TLP[value]),
                    "checked": value == current,
                    "css": value.replace("+", "-"),
                }
                for value, label in Tlp.choices
            ],
            "current_uses": documents.AUDIENCE_LISTS_BY_TLP.get(current, ()),
            "agencies": [
                {
                    "value": a.slug,
                    "label": a.name,
                    "port": a.port_id or "EU",
                    "public": a.is_public,
                    "checked": a.slug in agencies,
                }
                for a in self.agencies
            ],
            "ports": [{"value": p.locode, "label": p.name, "checked": p.locode in ports} for p in self.ports],
            "users": [
                {
                    "value": m.handle,
                    "label": m.user.get_full_name() or m.user.username,
                    "agency": m.agency.slug,
                    "role": m.get_role_display(),
                    "checked": m.handle in users,
                }
                for m in self.members
            ],
        }


class AlertForm(AudienceForm):
    agency = forms.ChoiceField(required=False, label=_("Acting agency"))
    title = forms.CharField(max_length=documents.MAX_TITLE, label=_("Title"))
    body = forms.CharField(
        max_length=documents.MAX_ALERT_BODY, widget=forms.Textarea(attrs={"rows": 8}), label=_("Body")
    )
    category = forms.ChoiceField(choices=_blank(Category.choices), label=_("Category"))
    severity = forms.ChoiceField(
        choices=Severity.choices, widget=forms.RadioSelect, initial=Severity.MEDIUM, label=_("Severity")
    )
    port = forms.ChoiceField(required=False, label=_("Port concerned"))
    origin = forms.CharField(required=False, max_length=5, label=_("Origin (port of loading)"))
    containers = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}), label=_("Container numbers"))
    vessels = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), label=_("Vessels (IMO numbers)")
    )
    valid_until = forms.DateTimeField(
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        label=_("Valid until"),
    )
    source_reliability = forms.ChoiceField(
        required=False, choices=_blank(SourceReliability.choices), label=_("Source reliability")
    )
    information_reliability = forms.ChoiceField(
        required=False, choices=_blank(InformationReliability.choices), label=_("Information reliability")
    )
    handling = forms.ChoiceField(required=False, choices=_blank(Handling.choices), label=_("Handling"))
    confirm_identifiers = forms.BooleanField(required=False, label=_("Yes, share these numbers at this level"))

    def __init__(self, *args, officer_agencies=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agency"].choices = [(a.slug, a.name) for a in officer_agencies]
        self.fields["port"].choices = _blank([(p.locode, f"{p.locode} · {p.name}") for p in self.ports])
        self.identifier_warning = ""

    def clean(self):
        cleaned = super().clean()
        tlp = cleaned.get("tlp")
        has_identifiers = bool(_split(cleaned.get("containers")) or _split(cleaned.get("vessels")))
        if tlp in IDENTIFIER_TLPS and has_identifiers:
            self.identifier_warning = IDENTIFIER_WARNING % {"tlp": tlp}
            if not cleaned.get("confirm_identifiers"):
                self.add_error("confirm_identifiers", _("Confirm, or pick a stricter TLP level."))
        return cleaned

    def document(self) -> dict:
        """The alert fields for `alert_publish` / `alert_version_create` (they validate and normalise)."""
        c = self.cleaned_data
        valid_until = c.get("valid_until")
        return {
            "title": c["title"],
            "body": c["body"],
            "category": c["category"] or None,
            "severity": c["severity"],
            "tlp": c["tlp"],
            "audience": self.audience(),
            "port": c.get("port") or None,
            "origin": (c.get("origin") or "").strip().upper() or None,
            "containers": _split(c.get("containers")),
            "vessels": _split(c.get("vessels")),
            "valid_until": signing.rfc3339(valid_until) if valid_until else None,
            "source_reliability": c.get("source_reliability") or None,
            "information_reliability": c.get("information_reliability") or None,
            "handling": c.get("handling") or None,
        }

    @staticmethod
    def initial_from(alert) -> dict:
        doc = documents.alert_document(alert)
        return {
            "title": doc["title"],
            "body": doc["body"],
            "category": doc["category"],
            "severity": doc["severity"],
            "tlp": doc["tlp"],
            "audience_agencies": doc["audience"]["agencies"],
            "audience_ports": doc["audience"]["ports"],
            "audience_users": doc["audience"]["users"],
            "port": doc["port"] or "",
            "origin": doc["origin"] or "",
            "containers": "\n".join(doc["containers"]),
            "vessels": "\n".join(doc["vessels"]),
            "valid_until": timezone.localtime(alert.valid_until) if alert.valid_until else None,
            "source_reliability": doc["source_reliability"] or "",
            "information_reliability": doc["information_reliability"] or "",
            "handling": doc["handling"] or "",
        }

    def categories(self) -> list[dict]:
        current = self["category"].value()
        return [
            {
                "value": c.value,
                "label": c.label,
                "definition": CATEGORY_DEFINITIONS[c.value],
                "selected": c.value == current,
            }
            for c in Category
        ]


class PracticeForm(AudienceForm):
    agency = forms.ChoiceField(required=False, label=_("Acting agency"))
    title = forms.CharField(max_length=documents.MAX_TITLE, label=_("Title"))
    body = forms.CharField(
        max_length=documents.MAX_PRACTICE_BODY,
        widget=forms.Textarea(attrs={"rows": 14}),
        label=_("Body"),
        help_text=_("Markdown: headings, lists, tables, links, code. HTML and images are removed."),
    )
    tags = forms.CharField(required=False, label=_("Tags"), help_text=_("Comma-separated, e.g. reefer, seals, x-ray"))

    def __init__(self, *args, officer_agencies=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agency"].choices = [(a.slug, a.name) for a in officer_agencies]

    @staticmethod
    def initial_from(practice) -> dict:
        doc = documents.practice_document(practice)
        return {
            "agency": practice.agency.slug,
            "title": doc["title"],
            "body": doc["body"],
            "tags": ", ".join(doc["tags"]),
            "tlp": doc["tlp"],
            "audience_agencies": doc["audience"]["agencies"],
            "audience_ports": doc["audience"]["ports"],
            "audience_users": doc["audience"]["users"],
        }

    def document(self) -> dict:
        c = self.cleaned_data
        return {
            "title": c["title"],
            "body": c["body"],
            "tags": [t.strip() for t in (c.get("tags") or "").split(",") if t.strip()],
            "tlp": c["tlp"],
            "audience": self.audience(),
        }


class FeedbackForm(forms.Form):
    agency = forms.ChoiceField(required=False, label=_("Reporting agency"))
    outcome = forms.ChoiceField(choices=FeedbackOutcome.choices, widget=forms.RadioSelect, label=_("Outcome"))
    seized_kg = forms.CharField(required=False, label=_("Seized (kg)"))
    container = forms.CharField(required=False, max_length=13, label=_("Container"))
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}), label=_("Note"))

    def __init__(self, *args, agencies=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agency"].choices = [(a.slug, a.name) for a in agencies]


def apply_service_errors(form: forms.Form, errors: dict[str, list[str]]) -> None:
    """Field errors from the services ({"audience.ports": [...]}) onto the form field that shows them."""
    for name, messages in errors.items():
        field = name.replace("audience.", "audience_") if name.startswith("audience.") else name
        if name == "audience":
            field = "tlp"
        target = field if field in form.fields else None
        for message in messages:
            form.add_error(target, message)
