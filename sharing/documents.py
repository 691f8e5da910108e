"""Signed alert and practice documents: validation, normalisation, and the payload a stored row must match.

One validator per kind serves both ways in: the portal-signed create (values
are normalised) and the pre-signed JWS (a non-normalised value is refused, so
what is stored always equals the payload byte for byte).
"""

import re
from dataclasses import dataclass, field
from datetime import datetime

from django.core.exceptions import ValidationError
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from stdnum import imo, iso6346

from ports import signing
from ports.instance import instance_id
from ports.locode import locode_error
from ports.models import Agency, KeyOwner, Membership, Port
from ports.services import port_for_locode
from ports.validation import hostile_errors

from .models import (
    Category,
    DocumentStatus,
    Handling,
    InformationReliability,
    Severity,
    SourceReliability,
    Tlp,
)

ALERT_TYP = "alert+json"
PRACTICE_TYP = "practice+json"
FEEDBACK_TYP = "feedback+json"
HANDLE_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}/[A-Za-z0-9_-]{1,31}$")  # `agency-slug/suffix` (SPEC 10.1)

ALERT_KEYS = (
    "id",
    "version",
    "type",
    "status",
    "agency",
    "author",
    "port",
    "title",
    "body",
    "category",
    "severity",
    "tlp",
    "audience",
    "containers",
    "vessels",
    "origin",
    "valid_until",
    "source_reliability",
    "information_reliability",
    "handling",
    "created_at",
)
PRACTICE_KEYS = (
    "id",
    "version",
    "type",
    "status",
    "agency",
    "author",
    "title",
    "body",
    "tags",
    "tlp",
    "audience",
    "created_at",
)
# Set by the portal on a portal-signed create or version; a client may send them, they are ignored.
PORTAL_SET_KEYS = ("id", "version", "type", "agency", "author", "created_at")

AUDIENCE_KEYS = ("agencies", "ports", "users")
# Which audience lists each TLP level uses (SPEC section 3).
AUDIENCE_LISTS_BY_TLP = {
    Tlp.CLEAR: (),
    Tlp.GREEN: (),
    Tlp.AMBER: ("agencies", "ports"),
    Tlp.AMBER_STRICT: ("agencies",),
    Tlp.RED: ("users",),
}

MAX_TITLE = 200
MAX_ALERT_BODY = 20_000
MAX_PRACTICE_BODY = 50_000
MAX_IDENTIFIERS = 200
MAX_AUDIENCE = 500
MAX_TAGS = 20
MAX_TAG = 40
RFC3339_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
TAG_RE = re.compile(r"^[a-z0-9][a-z0-9 ._-]*$")


@dataclass
class Audience:
    """The normalised audience and the rows it names."""

    agencies: list[Agency] = field(default_factory=list)
    ports: list[Port] = field(default_factory=list)
    members: list[Membership] = field(default_factory=list)
    # Handles of members of agencies homed at another instance, with that agency (SPEC 10.1): no member row here.
    remote: list[tuple[str, Agency]] = field(default_factory=list)

    def as_document(self) -> dict:
        return {
            "agencies": sorted({a.slug for a in self.agencies}),
            "ports": sorted({p.locode for p in self.ports}),
            "users": sorted({m.handle for m in self.members} | {h for h, _ in self.remote}),
        }


@dataclass
class Validated:
    """Normalised document fields (without id/version/type/agency/author/created_at) and resolved rows."""

    fields: dict
    audience: Audience
    ports: dict[str, Port | None] = field(default_factory=dict)


@dataclass
class Lookups:
    """Rows a batch of documents names, read once for the batch (the federation's page apply): active agencies
    by slug, active members by handle, ports by LOCODE. A name missing here is looked up as usual."""

    agencies: dict[str, Agency] = field(default_factory=dict)
    members: dict[str, Membership] = field(default_factory=dict)
    ports: dict[str, Port] = field(default_factory=dict)


class _Errors(dict):
    def add(self, name: str, message: str) -> None:
        self.setdefault(name, []).append(message)


def _choice(errors: _Errors, raw: dict, name: str, choices, *, strict: bool, nullable: bool, upper: bool = True):
    value = raw.get(name)
    if value is None:
        if not nullable:
            errors.add(name, _("This field is required."))
        return None
    if not strict and isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        errors.add(name, f"Choose one of {', '.join(choices.values)}.")
        return None
    normalised = value.strip().upper() if upper and not strict else value
    if normalised not in choices.values:
        errors.add(name, f"{value!r} is not one of {', '.join(choices.values)}.")
        return None
    return normalised


def _text(errors: _Errors, raw: dict, name: str, max_length: int, *, strict: bool) -> str | None:
    value = raw.get(name)
    if not isinstance(value, str) or not value.strip():
        errors.add(name, _("This field is required and may not be blank."))
        return None
    if not strict:
        value = value.strip()
    if len(value) > max_length:
        errors.add(
            name, _("At most %(limit)s characters (this has %(length)s).") % {"limit": max_length, "length": len(value)}
        )
        return None
    return value


def _string_list(errors: _Errors, raw: dict, name: str, limit: int) -> list | None:
    value = raw.get(name, [])
    if value is None:
        value = []
    if not isinstance(value, list):
        errors.add(name, "A list is expected.")
        return None
    if len(value) > limit:
        errors.add(name, _("At most %(limit)s entries.") % {"limit": limit})
        return None
    return value


def _dedupe(values: list) -> list:
    return list(dict.fromkeys(values))


def _containers(errors: _Errors, raw: dict, *, strict: bool) -> list[str]:
    values = _string_list(errors, raw, "containers", MAX_IDENTIFIERS)
    if values is None:
        return []
    out = []
    for value in values:
        if not isinstance(value, str):
            errors.add("containers", _("%(value)s is not a container number.") % {"value": repr(value)})
            continue
        normalised = value.replace(" ", "").replace("-", "").upper()
        if not iso6346.is_valid(normalised) or len(normalised) != 11:
            errors.add(
                "containers",
                _("%(value)s is not an ISO 6346 container number with a valid check digit.") % {"value": repr(value)},
            )
            continue
        if strict and value != normalised:
            errors.add(
                "containers",
                _("%(value)s is not normalised: write %(normalised)s.")
                % {"value": repr(value), "normalised": repr(normalised)},
            )
            continue
        out.append(normalised)
    if strict and len(set(out)) != len(out):
        errors.add("containers", _("Container numbers must not repeat."))
    return _dedupe(out)


def _vessels(errors: _Errors, raw: dict, *, strict: bool) -> list[str]:
    values = _string_list(errors, raw, "vessels", MAX_IDENTIFIERS)
    if values is None:
        return []
    out = []
    for value in values:
        if strict and not isinstance(value, str):
            errors.add("vessels", _("%(value)s: IMO numbers are 7-digit strings.") % {"value": repr(value)})
            continue
        if not isinstance(value, (str, int)) or isinstance(value, bool):
            errors.add("vessels", _("%(value)s is not an IMO number.") % {"value": repr(value)})
            continue
        text = str(value)
        normalised = imo.compact(text) if not strict else text
        if not re.fullmatch(r"\d{7}", normalised) or not imo.is_valid(normalised):
            errors.add(
                "vessels",
                _("%(value)s is not an IMO number with a valid check digit (7 digits).") % {"value": repr(value)},
            )
            continue
        out.append(normalised)
    if strict and len(set(out)) != len(out):
        errors.add("vessels", _("IMO numbers must not repeat."))
    return _dedupe(out)


def _locode(errors: _Errors, raw: dict, name: str, *, strict: bool) -> str | None:
    value = raw.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        errors.add(name, _("A LOCODE (5 characters) or null is expected."))
        return None
    normalised = value if strict else value.strip().upper()
    error = locode_error(normalised)
    if error:
        errors.add(name, f"{value!r}: {error}")
        return None
    return normalised


def _time(errors: _Errors, raw: dict, name: str, *, strict: bool, nullable: bool = True) -> datetime | None:
    value = raw.get(name)
    if value is None:
        if not nullable:
            errors.add(name, _("This field is required."))
        return None
    if not isinstance(value, str):
        errors.add(name, "An RFC 3339 time is expected.")
        return None
    if strict and not RFC3339_Z.match(value):
        errors.add(name, f"{value!r} is not normalised: write UTC, whole seconds, ending in Z.")
        return None
    try:
        parsed = parse_datetime(value)
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        errors.add(name, f"{value!r} is not an RFC 3339 time with a time zone.")
        return None
    return parsed.replace(microsecond=0)


def _audience(
    errors: _Errors, raw: dict, tlp: str | None, *, strict: bool, lookups: Lookups | None = None
) -> tuple[Audience, dict]:
    value = raw.get("audience")
    if value is None and not strict:
        value = {}
    audience = Audience()
    if not isinstance(value, dict):
        errors.add("audience", 'An object {"agencies": [...], "ports": [...], "users": [...]} is expected.')
        return audience, {}
    unknown = set(value) - set(AUDIENCE_KEYS)
    if unknown:
        errors.add("audience", f"Unknown member(s): {', '.join(sorted(unknown))}.")
    lists: dict[str, list[str]] = {}
    for key in AUDIENCE_KEYS:
        name = f"audience.{key}"
        if key not in value:
            if strict:
                errors.add(name, "This list is required (keep it empty when unused).")
            lists[key] = []
            continue
        items = value[key]
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            errors.add(name, "A list of strings is expected.")
            lists[key] = []
            continue
        if len(items) > MAX_AUDIENCE:
            errors.add(name, f"At most {MAX_AUDIENCE} entries.")
            lists[key] = []
            continue
        normalised = [i.strip().upper() for i in items] if key == "ports" and not strict else list(items)
        if not strict:
            normalised = [i.strip() for i in normalised]
        normalised = sorted(set(normalised))
        if strict and normalised != items:
            errors.add(name, "Audience lists are deduplicated and sorted by code point.")
        lists[key] = normalised
    if tlp is not None:
        used = AUDIENCE_LISTS_BY_TLP[tlp]
        for key in AUDIENCE_KEYS:
            if lists[key] and key not in used:
                uses = " and ".join(used) if used else "no audience list"
                errors.add(
                    f"audience.{key}",
                    _("TLP %(tlp)s uses %(uses)s; this list must be empty.") % {"tlp": tlp, "uses": uses},
                )
    if lists["agencies"]:
        if lookups is not None and all(s in lookups.agencies for s in lists["agencies"]):
            found = {s: lookups.agencies[s] for s in lists["agencies"]}
        else:
            found = {a.slug: a for a in Agency.objects.filter(slug__in=lists["agencies"], is_active=True)}
        missing = [s for s in lists["agencies"] if s not in found]
        for slug in missing:
            errors.add("audience.agencies", _("Unknown agency %(slug)s.") % {"slug": repr(slug)})
        audience.agencies = [found[s] for s in lists["agencies"] if s in found]
    for code in lists["ports"]:
        error = locode_error(code)
        if error:
            errors.add("audience.ports", f"{code!r}: {error}")
    if lists["users"]:
        if lookups is not None and all(h in lookups.members for h in lists["users"]):
            found_m = {h: lookups.members[h] for h in lists["users"]}
        else:
            found_m = {
                m.handle: m
                for m in Membership.objects.filter(handle__in=lists["users"], is_active=True, user__is_active=True)
            }
        remote = _remote_handles([h for h in lists["users"] if h not in found_m])
        for handle in lists["users"]:
            if handle not in found_m and handle not in remote:
                errors.add("audience.users", _("Unknown member handle %(handle)s.") % {"handle": repr(handle)})
        audience.members = [found_m[h] for h in lists["users"] if h in found_m]
        audience.remote = [(h, remote[h]) for h in lists["users"] if h in remote]
    return audience, lists


def _remote_handles(handles: list[str]) -> dict[str, Agency]:
    """Handles of members homed at another instance: a handle names its agency (`slug/suffix`), and that agency
    must be known here as homed at a peer (learnt from its signed instance document). Its members are not
    known here; the peer's own validation checks the member when the document arrives there."""
    slugs = {h.split("/", 1)[0]: h for h in handles if HANDLE_RE.match(h)}
    if not slugs:
        return {}
    here = instance_id()
    agencies = {
        a.slug: a
        for a in Agency.objects.filter(slug__in=slugs, is_active=True)
        .exclude(home_instance="")
        .exclude(home_instance=here)
    }
    return {h: agencies[h.split("/", 1)[0]] for h in handles if HANDLE_RE.match(h) and h.split("/", 1)[0] in agencies}


def _check_keys(errors: _Errors, raw: dict, expected: tuple, *, strict: bool) -> None:
    allowed = set(expected) if strict else set(expected) | set(PORTAL_SET_KEYS)
    for name in sorted(set(raw) - allowed):
        errors.add(name, "Unknown field.")
    if strict:
        for name in expected:
            if name not in raw:
                errors.add(name, "This field is required in a signed document (null when absent).")


def _status(errors: _Errors, raw: dict, *, strict: bool, allowed: tuple[str, ...]) -> str | None:
    value = raw.get("status", None if strict else DocumentStatus.ACTIVE)
    if value not in allowed:
        errors.add("status", f"Choose one of {', '.join(allowed)}.")
        return None
    return value


def _resolve_ports(
    audience_ports: list[str], *codes: str | None, lookups: Lookups | None = None
) -> tuple[list[Port], dict[str, Port]]:
    """Only after every check passed: valid codes not yet known become non-member ports."""
    resolved: dict[str, Port] = {}
    known = lookups.ports if lookups is not None else {}
    for code in [*audience_ports, *[c for c in codes if c]]:
        if code not in resolved:
            resolved[code] = known.get(code) or port_for_locode(code)
    return [resolved[c] for c in audience_ports], resolved


def _reject_nul(raw: dict) -> None:
    """Hostile values (NUL, lone surrogates, NaN and Infinity, deep nesting) are refused by field before any
    lookup: PostgreSQL text cannot hold them and the signer cannot canonicalize them."""
    errors = hostile_errors(raw)
    if errors:
        raise ValidationError(errors)


def validate_alert(
    raw, *, strict: bool, statuses: tuple[str, ...] = (DocumentStatus.ACTIVE,), lookups: Lookups | None = None
) -> Validated:
    """Every alert field but id/version/type/agency/author/created_at. Raises ValidationError({field: [...]})."""
    if not isinstance(raw, dict):
        raise ValidationError({"non_field_errors": ["A JSON object is expected."]})
    _reject_nul(raw)
    errors = _Errors()
    _check_keys(errors, raw, ALERT_KEYS, strict=strict)
    tlp = _choice(errors, raw, "tlp", Tlp, strict=strict, nullable=False)
    values = {
        "status": _status(errors, raw, strict=strict, allowed=statuses),
        "title": _text(errors, raw, "title", MAX_TITLE, strict=strict),
        "body": _text(errors, raw, "body", MAX_ALERT_BODY, strict=strict),
        "category": _choice(errors, raw, "category", Category, strict=strict, nullable=False, upper=False),
        "severity": _choice(errors, raw, "severity", Severity, strict=strict, nullable=False, upper=False),
        "tlp": tlp,
        "containers": _containers(errors, raw, strict=strict),
        "vessels": _vessels(errors, raw, strict=strict),
        "port": _locode(errors, raw, "port", strict=strict),
        "origin": _locode(errors, raw, "origin", strict=strict),
        "valid_until": _time(errors, raw, "valid_until", strict=strict),
        "source_reliability": _choice(
            errors, raw, "source_reliability", SourceReliability, strict=strict, nullable=True
        ),
        "information_reliability": _choice(
            errors, raw, "information_reliability", InformationReliability, strict=strict, nullable=True
        ),
        "handling": _choice(errors, raw, "handling", Handling, strict=strict, nullable=True),
    }
    audience, lists = _audience(errors, raw, tlp, strict=strict, lookups=lookups)
    if errors:
        raise ValidationError(dict(errors))
    audience.ports, ports = _resolve_ports(lists["ports"], values["port"], values["origin"], lookups=lookups)
    return Validated(fields=values, audience=audience, ports=ports)


def validate_practice(
    raw, *, strict: bool, statuses: tuple[str, ...] = (DocumentStatus.ACTIVE,), lookups: Lookups | None = None
) -> Validated:
    if not isinstance(raw, dict):
        raise ValidationError({"non_field_errors": ["A JSON object is expected."]})
    _reject_nul(raw)
    errors = _Errors()
    _check_keys(errors, raw, PRACTICE_KEYS, strict=strict)
    tlp = _choice(errors, raw, "tlp", Tlp, strict=strict, nullable=False)
    tags: list[str] = []
    raw_tags = _string_list(errors, raw, "tags", MAX_TAGS)
    for tag in raw_tags or []:
        if not isinstance(tag, str):
            errors.add("tags", _("%(tag)s is not a tag.") % {"tag": repr(tag)})
            continue
        normalised = tag if strict else " ".join(tag.split()).lower()
        if not (1 <= len(normalised) <= MAX_TAG) or not TAG_RE.match(normalised) or normalised != normalised.strip():
            errors.add("tags", f"{tag!r}: tags are 1-{MAX_TAG} lower-case letters, digits, spaces, '.', '_' or '-'.")
            continue
        tags.append(normalised)
    if strict and len(set(tags)) != len(tags):
        errors.add("tags", _("Tags must not repeat."))
    values = {
        "status": _status(errors, raw, strict=strict, allowed=statuses),
        "title": _text(errors, raw, "title", MAX_TITLE, strict=strict),
        "body": _text(errors, raw, "body", MAX_PRACTICE_BODY, strict=strict),
        "tags": _dedupe(tags),
        "tlp": tlp,
    }
    audience, lists = _audience(errors, raw, tlp, strict=strict, lookups=lookups)
    if errors:
        raise ValidationError(dict(errors))
    audience.ports, _unknown = _resolve_ports(lists["ports"], lookups=lookups)
    return Validated(fields=values, audience=audience)


# ---------------------------------------------------------------- stored rows -> payload


def _audience_of(obj) -> dict:
    """The audience a stored row claims: the version's JSON, or the head's grant rows (prefetched)."""
    if hasattr(obj, "audience"):
        value = obj.audience
        return {key: list(value.get(key, [])) if isinstance(value, dict) else [] for key in AUDIENCE_KEYS}
    lists: dict[str, list[str]] = {key: [] for key in AUDIENCE_KEYS}
    names = {"agency": "agencies", "port": "ports", "user": "users", "remote": "users"}
    for grant in obj.grants.all():
        lists[names[grant.kind]].append(grant.value)
    return {key: sorted(values) for key, values in lists.items()}


def _time_or_none(value) -> str | None:
    return signing.rfc3339(value) if value is not None else None


def _doc_id(obj) -> str:
    return str(getattr(obj, "alert_id", None) or getattr(obj, "practice_id", None) or obj.pk)


def alert_document(obj) -> dict:
    """The payload an alert row (head or version) must carry, built from its stored columns."""
    return {
        "id": _doc_id(obj),
        "version": obj.version,
        "type": "alert",
        "status": obj.status,
        "agency": obj.agency.slug,
        "author": obj.author,
        "port": obj.port_id,
        "title": obj.title,
        "body": obj.body,
        "category": obj.category,
        "severity": obj.severity,
        "tlp": obj.tlp,
        "audience": _audience_of(obj),
        "containers": list(obj.containers),
        "vessels": list(obj.vessels),
        "origin": obj.origin_id,
        "valid_until": _time_or_none(obj.valid_until),
        "source_reliability": obj.source_reliability,
        "information_reliability": obj.information_reliability,
        "handling": obj.handling,
        "created_at": signing.rfc3339(obj.created_at),
    }


def practice_document(obj) -> dict:
    return {
        "id": _doc_id(obj),
        "version": obj.version,
        "type": "practice",
        "status": obj.status,
        "agency": obj.agency.slug,
        "author": obj.author,
        "title": obj.title,
        "body": obj.body,
        "tags": list(obj.tags),
        "tlp": obj.tlp,
        "audience": _audience_of(obj),
        "created_at": signing.rfc3339(obj.created_at),
    }


def signature_status(obj, *, typ: str) -> str:
    """Recomputed from the stored JWS and the stored fields, with the SPEC's precedence."""
    return signature_status_and_document(obj, typ=typ)[0]


def signature_status_and_document(obj, *, typ: str) -> tuple[str, dict | None]:
    """`signature_status`, and the document the stored fields make (None when invalid).

    Whenever the status is not invalid, the JWS payload is the RFC 8785 form of that document byte for byte
    (`signing.status_of` compares them), so a feed serves it as the signed document without decoding the payload.
    """
    key = obj.key
    if key.owner_kind != KeyOwner.AGENCY or key.agency_id != obj.agency_id:
        return signing.SignatureStatus.INVALID, None
    try:
        document = alert_document(obj) if typ == ALERT_TYP else practice_document(obj)
        status = signing.status_of(obj.jws, typ, document, key)
    except Exception:  # noqa: BLE001 - a row mangled beyond parsing is invalid, never a 500
        return signing.SignatureStatus.INVALID, None
    return status, (None if status == signing.SignatureStatus.INVALID else document)


def feedback_document(obj) -> dict:
    """The payload a feedback row must carry (SPEC section 3), built from its stored columns."""
    return {
        "id": str(obj.uuid),
        "type": "feedback",
        "alert": str(obj.alert_id),
        "alert_version": obj.alert_version,
        "agency": obj.agency.slug,
        "author": obj.handle,
        "outcome": obj.outcome,
        "seized_kg": obj.seized_kg,
        "container": obj.container or None,
        "note": obj.note or None,
        "created_at": signing.rfc3339(obj.created_at),
    }


def feedback_signature_status(obj) -> str:
    """Recomputed from the stored JWS and fields; `unsigned` for feedback recorded before feedback was signed."""
    if not obj.jws:
        return "unsigned"
    key = obj.key
    if key is None or key.owner_kind != KeyOwner.AGENCY or key.agency_id != obj.agency_id:
        return signing.SignatureStatus.INVALID
    try:
        return signing.status_of(obj.jws, FEEDBACK_TYP, feedback_document(obj), key)
    except Exception:  # noqa: BLE001 - a row mangled beyond parsing is invalid, never a 500
        return signing.SignatureStatus.INVALID
