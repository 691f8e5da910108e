"""The scan document (SPEC section 5): every field's rule, and the payload a stored row must match.

Scans always arrive signed by the node, so values must already be normalised
(codes in upper case, times in UTC with whole seconds and Z): a stored scan's
fields always equal its payload, byte for byte.
"""

import re
from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from stdnum import imo, iso6346

from ports import signing
from ports.locode import locode_error
from ports.models import KeyOwner, ScannerNode
from ports.signing import rfc3339
from ports.validation import finite_number, number, strict_datetime

from .models import Anomaly, Mode, Scan, Verdict

SCAN_TYP = "scan+json"
REQUIRED = ("scan_id", "node", "port", "scanned_at", "container", "origin", "mode", "verdict")
OPTIONAL = (
    "vessel_imo",
    "voyage",
    "route",
    "next_port",
    "onward_route",
    "anomalies",
    "score",
    "image_sha256",
    "seized_kg",
)
KEYS = REQUIRED + OPTIONAL
SCAN_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
RFC3339_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
MAX_ROUTE = 20
FUTURE_SKEW = timedelta(minutes=5)
MAX_SEIZED_KG = 100_000


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _locode(errors: dict, name: str, value) -> None:
    if not isinstance(value, str):
        errors.setdefault(name, []).append(_("A LOCODE (5 characters) is expected."))
        return
    problem = locode_error(value)
    if problem:
        errors.setdefault(name, []).append(_("%(value)s: %(problem)s") % {"value": repr(value), "problem": problem})


def _route(errors: dict, name: str, value) -> None:
    if not isinstance(value, list):
        errors.setdefault(name, []).append(_("A list of LOCODEs is expected."))
        return
    if len(value) > MAX_ROUTE:
        errors.setdefault(name, []).append(_("At most %(count)s ports.") % {"count": MAX_ROUTE})
        return
    for item in value:
        _locode(errors, name, item)


def validate(payload: dict, node: ScannerNode, now: datetime | None = None) -> dict[str, list[str]]:
    """Every failing field with its message; empty when the document is valid for this node."""
    now = now or timezone.now()
    errors: dict[str, list[str]] = {}

    def add(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    for name in sorted(set(payload) - set(KEYS)):
        add(name, _("Unknown field."))
    for name in REQUIRED:
        if payload.get(name) is None:
            add(name, _("This field is required."))

    scan_id = payload.get("scan_id")
    if scan_id is not None and (not isinstance(scan_id, str) or not SCAN_ID.match(scan_id)):
        add("scan_id", _("1 to 64 characters of A-Z, a-z, 0-9 and . _ : -"))
    if payload.get("node") is not None and payload["node"] != node.id:
        add("node", _("This must be the authenticated node (%(node)s).") % {"node": node.id})
    if payload.get("port") is not None:
        _locode(errors, "port", payload["port"])
        if "port" not in errors and payload["port"] != node.port_id:
            add(
                "port",
                _("This node scans at %(port)s, not %(other)s.") % {"port": node.port_id, "other": payload["port"]},
            )
    scanned_at = payload.get("scanned_at")
    if scanned_at is not None:
        parsed = strict_datetime(scanned_at)  # 30 February and hour 25 match the pattern but do not exist
        if parsed is None:
            add("scanned_at", _("An RFC 3339 time in UTC with whole seconds ending in Z, e.g. 2026-11-22T08:15:00Z."))
        elif parsed > now + FUTURE_SKEW:
            add("scanned_at", _("More than 5 minutes in the future."))
    container = payload.get("container")
    if container is not None:
        if not isinstance(container, str) or len(container) != 11 or not iso6346.is_valid(container):
            add(
                "container",
                _("%(value)s is not an ISO 6346 container number with a valid check digit.")
                % {"value": repr(container)},
            )
        elif container != container.upper():
            add(
                "container",
                _("Write container numbers in upper case without spaces: %(value)s.")
                % {"value": repr(container.upper())},
            )
    vessel = payload.get("vessel_imo")
    if vessel is not None and (
        not isinstance(vessel, str) or not re.fullmatch(r"\d{7}", vessel) or not imo.is_valid(vessel)
    ):
        add(
            "vessel_imo",
            _("%(value)s is not a 7-digit IMO number (string) with a valid check digit.") % {"value": repr(vessel)},
        )
    voyage = payload.get("voyage")
    if voyage is not None and (not isinstance(voyage, str) or not 1 <= len(voyage) <= 32):
        add("voyage", _("A string of 1 to 32 characters."))
    if payload.get("origin") is not None:
        _locode(errors, "origin", payload["origin"])
    for name in ("route", "onward_route"):
        if payload.get(name) is not None:
            _route(errors, name, payload[name])
    if payload.get("next_port") is not None:
        _locode(errors, "next_port", payload["next_port"])
    if payload.get("mode") is not None and payload["mode"] not in Mode.values:
        add("mode", _("Choose one of %(choices)s.") % {"choices": ", ".join(Mode.values)})
    if payload.get("verdict") is not None and payload["verdict"] not in Verdict.values:
        add("verdict", _("Choose one of %(choices)s.") % {"choices": ", ".join(Verdict.values)})
    anomalies = payload.get("anomalies")
    if anomalies is not None:
        if not isinstance(anomalies, list) or not all(isinstance(a, str) for a in anomalies):
            add("anomalies", _("A list of anomaly codes is expected."))
        else:
            unknown = [a for a in anomalies if a not in Anomaly.values]
            if unknown:
                add(
                    "anomalies",
                    _("Unknown anomaly code(s) %(unknown)s; use %(choices)s.")
                    % {"unknown": ", ".join(unknown), "choices": ", ".join(Anomaly.values)},
                )
            elif len(set(anomalies)) != len(anomalies):
                add("anomalies", _("Anomaly codes must not repeat."))
    score = payload.get("score")
    if score is not None and (not _number(score) or not 0 <= score <= 1):
        add("score", _("A number from 0 to 1."))
    digest = payload.get("image_sha256")
    if digest is not None and (not isinstance(digest, str) or not SHA256_HEX.match(digest)):
        add("image_sha256", _("64 lower-case hexadecimal characters."))
    seized = payload.get("seized_kg")
    if seized is not None:
        _kg, problem = finite_number(
            seized, minimum=0, maximum=MAX_SEIZED_KG, what=_("A number of kilograms is expected.")
        )
        if problem:
            add(
                "seized_kg",
                _("%(problem)s Kilograms run from 0 to %(maximum)s.")
                % {"problem": problem, "maximum": number(MAX_SEIZED_KG)},
            )
    return errors


def fields_from(payload: dict) -> dict:
    """Model field values of a valid payload."""
    return {
        "scan_id": payload["scan_id"],
        "port_id": payload["port"],
        "scanned_at": parse_datetime(payload["scanned_at"]),
        "container": payload["container"],
        "vessel_imo": payload.get("vessel_imo"),
        "voyage": payload.get("voyage"),
        "origin_id": payload["origin"],
        "route": payload.get("route"),
        "next_port_id": payload.get("next_port"),
        "onward_route": payload.get("onward_route"),
        "mode": payload["mode"],
        "verdict": payload["verdict"],
        "anomalies": payload.get("anomalies"),
        "score": payload.get("score"),
        "image_sha256": payload.get("image_sha256"),
        "seized_kg": payload.get("seized_kg"),
    }


def scan_document(scan: Scan, original: dict | None = None) -> dict:
    """The payload the stored row stands for; optional members absent from the original stay absent."""
    document = {
        "scan_id": scan.scan_id,
        "node": scan.node_id,
        "port": scan.port_id,
        "scanned_at": rfc3339(scan.scanned_at),
        "container": scan.container,
        "origin": scan.origin_id,
        "mode": scan.mode,
        "verdict": scan.verdict,
    }
    optional = {
        "vessel_imo": scan.vessel_imo,
        "voyage": scan.voyage,
        "route": scan.route,
        "next_port": scan.next_port_id,
        "onward_route": scan.onward_route,
        "anomalies": scan.anomalies,
        "score": scan.score,
        "image_sha256": scan.image_sha256,
        "seized_kg": scan.seized_kg,
    }
    for name, value in optional.items():
        # Values come from the columns; only whether an absent value was sent as an explicit null
        # comes from the signed payload. RFC 8785 writes 120.0 as 120, so floats need no care.
        if value is not None or (original is not None and name in original):
            document[name] = value
    return document


def key_belongs_to_node(scan: Scan) -> bool:
    """The key named by the JWS must be one of the scan's own node (SPEC section 3): a real key of
    another node verifies cryptographically, but its signature is not this node's word."""
    key = scan.key
    return key.owner_kind == KeyOwner.NODE and key.node_id == scan.node_id


def signature_status(scan: Scan) -> str:
    """Recomputed from the stored JWS and the stored columns (never trusted from a column)."""
    if not key_belongs_to_node(scan):
        return signing.SignatureStatus.INVALID
    try:
        original = signing.parse(scan.jws, SCAN_TYP, stored=True).payload
    except signing.JwsError:
        return signing.SignatureStatus.INVALID
    return signing.status_of(scan.jws, SCAN_TYP, scan_document(scan, original), scan.key)
