"""The MISP feed (SPEC section 10.3): alerts as MISP events, in the layout MISP's feed fetcher reads.

A MISP feed is a directory: `manifest.json` (event uuid -> the event's summary), one `{uuid}.json` per event
(`{"Event": {...}}`) and `hashes.csv` (`md5(attribute value),event uuid` per line, which MISP's "cache feed"
reads to correlate without downloading every event). MISP pulls the manifest, and fetches an event again
when the manifest's `timestamp` is newer than its copy; it never deletes what a feed stops listing.

What crosses is `access.alerts_feedable_to(user)`: exportable alerts (no H2, no H3) at TLP CLEAR, GREEN or
AMBER, never an integrity failure. The manifest and `hashes.csv` are each one query over that queryset,
streamed in chunks (bounded memory at any size); an event file verifies the alert's signature on every read.

The mapping, field by field, and why (docs/interop.md, section MISP):
- event `uuid` = the alert id; the event is the latest version (`timestamp` = its signed time, so MISP
  refetches after a new version); `date` = the first version's day; `info` = the title.
- `threat_level_id` from severity (critical and high 1, medium 2, low 3); `analysis` 2 (each version is a
  finished, signed statement); `distribution` from the TLP (CLEAR 3, GREEN 1, AMBER 0; MISP replaces it with
  the feed's own setting on import).
- `Orgc` = the author agency, with a UUIDv5 of its slug: the same agency is the same MISP organisation in
  every feed and every pull.
- tags: the TLP as the MISP `tlp` taxonomy writes TLP 2.0 (`tlp:clear`, `tlp:green`, `tlp:amber`); Europol's
  4x4 evaluation read into the `admiralty-scale` taxonomy (below), and kept exactly as `alliance:` machine
  tags; the category, the handling code and, for a withdrawn alert, `alliance:status="withdrawn"`.
- attributes: each container and vessel, the body, the JWS (verify it with the portal's JWKS), the port and
  the origin. Attribute uuids are UUIDv5 over the alert id, the kind and the value (body and JWS: the kind
  only), not the version: MISP updates an event from a feed attribute by attribute, keyed by uuid, so a
  per-version uuid would pile up every version's copy. A container or vessel an earlier version named and
  the latest dropped stays listed with `deleted: true`, which is how MISP learns of a removal.
"""

import hashlib
import json
import uuid
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

import access
from sharing.models import Alert, DocumentStatus, Severity, Tlp

# Fixed for ever: every uuid the feed derives (agencies, attributes) is UUIDv5 under this namespace.
NAMESPACE = uuid.UUID("34f62a65-7d07-45c0-b1b8-cfa30852e14a")

# Rows fetched per round trip when streaming the manifest and hashes.csv.
CHUNK = 2000

JWKS_PATH = "/.well-known/jwks.json"

# The MISP `tlp` taxonomy (TLP 2.0 values) and its colours. AMBER+STRICT and RED never reach a feed.
TLP_TAGS = {
    Tlp.CLEAR: ("tlp:clear", "#ffffff"),
    Tlp.GREEN: ("tlp:green", "#339900"),
    Tlp.AMBER: ("tlp:amber", "#ffc000"),
}
# Who MISP lets see the event, from the TLP: all communities, this community, your organisation.
DISTRIBUTION = {Tlp.CLEAR: "3", Tlp.GREEN: "1", Tlp.AMBER: "0"}
THREAT_LEVEL = {Severity.CRITICAL: "1", Severity.HIGH: "1", Severity.MEDIUM: "2", Severity.LOW: "3"}
ANALYSIS_COMPLETED = "2"

# Europol's 4x4 read into the NATO admiralty scale (MISP taxonomy `admiralty-scale`), by meaning, not by
# letter: Europol's C ("in most cases proved unreliable") is the scale's d ("not usually reliable"); X and 4
# ("cannot be assessed / judged") are f and 6. Europol's 2 and 3 (known to the source only; corroborated)
# become 2 ("probably true") and 3 ("possibly true"). The exact codes travel as `alliance:` tags too.
SOURCE_RELIABILITY = {"A": "a", "B": "b", "C": "d", "X": "f"}
INFORMATION_CREDIBILITY = {"1": "1", "2": "2", "3": "3", "4": "6"}

ADMIRALTY_COLOUR = "#004577"
ALLIANCE_COLOUR = "#0b5394"
WITHDRAWN_COLOUR = "#b00020"

# (MISP type, category, comment) per kind of attribute.
CONTAINER = ("text", "Other", "container number (ISO 6346)")
VESSEL = ("text", "Other", "vessel (IMO number)")
PORT = ("text", "Other", "port of the alert (UN/LOCODE)")
ORIGIN = ("text", "Other", "port of loading (UN/LOCODE)")
BODY = ("text", "Other", "alert body")
JWS = ("text", "Other", f"signed document (JWS, verify with {JWKS_PATH})")


def _epoch(value: datetime) -> str:
    return str(int(value.timestamp()))


def _uuid(*parts: object) -> str:
    return str(uuid.uuid5(NAMESPACE, "/".join(str(p) for p in parts)))


def agency_uuid(slug: str) -> str:
    return _uuid("agency", slug)


def orgc(slug: str, name: str) -> dict[str, str]:
    return {"name": name, "uuid": agency_uuid(slug)}


def _tag(name: str, colour: str) -> dict[str, Any]:
    return {"name": name, "colour": colour, "exportable": True}


def event_tags(
    *,
    tlp: str,
    status: str,
    category: str,
    source_reliability: str | None,
    information_reliability: str | None,
    handling: str | None,
) -> list[dict[str, Any]]:
    tags = [_tag(*TLP_TAGS[Tlp(tlp)])]
    if source_reliability:
        tags.append(
            _tag(f'admiralty-scale:source-reliability="{SOURCE_RELIABILITY[source_reliability]}"', ADMIRALTY_COLOUR)
        )
        tags.append(_tag(f'alliance:source-reliability="{source_reliability}"', ALLIANCE_COLOUR))
    if information_reliability:
        credibility = INFORMATION_CREDIBILITY[information_reliability]
        tags.append(_tag(f'admiralty-scale:information-credibility="{credibility}"', ADMIRALTY_COLOUR))
        tags.append(_tag(f'alliance:information-reliability="{information_reliability}"', ALLIANCE_COLOUR))
    if handling:
        tags.append(_tag(f'alliance:handling="{handling}"', ALLIANCE_COLOUR))
    tags.append(_tag(f'alliance:category="{category}"', ALLIANCE_COLOUR))
    if status == DocumentStatus.WITHDRAWN:
        tags.append(_tag('alliance:status="withdrawn"', WITHDRAWN_COLOUR))
    return tags


def _attribute(alert_id: object, kind: tuple[str, str, str], value: str, timestamp: str, key: str, **flags: bool):
    misp_type, category, comment = kind
    return {
        "uuid": _uuid(alert_id, key),
        "type": misp_type,
        "category": category,
        "value": value,
        "comment": comment,
        "to_ids": False,  # port identifiers, not network indicators: nothing for an IDS to match
        "timestamp": timestamp,
        **flags,
    }


def attributes(
    alert_id: object,
    *,
    containers: Iterable[str],
    vessels: Iterable[str],
    port: str | None,
    origin: str | None,
    body: str,
    jws: str,
    timestamp: str,
) -> list[dict[str, Any]]:
    """The attributes of the latest version (deleted ones apart); `hashes.csv` hashes exactly these values."""
    found = [_attribute(alert_id, CONTAINER, c, timestamp, f"container/{c}") for c in containers]
    found += [_attribute(alert_id, VESSEL, v, timestamp, f"vessel/{v}") for v in vessels]
    if port:
        found.append(_attribute(alert_id, PORT, port, timestamp, f"port/{port}"))
    if origin:
        found.append(_attribute(alert_id, ORIGIN, origin, timestamp, f"origin/{origin}"))
    # One each per event, updated in place by each new version; no correlation on free text and signatures.
    found.append(_attribute(alert_id, BODY, body, timestamp, "body", disable_correlation=True))
    found.append(_attribute(alert_id, JWS, jws, timestamp, "jws", disable_correlation=True))
    return found


def event(alert: Alert, earlier: Iterable[tuple[list[str], list[str]]] = ()) -> dict[str, Any]:
    """`{"Event": ...}` for the latest version of `alert`; `earlier` = (containers, vessels) of past versions."""
    timestamp = _epoch(alert.created_at)
    current = attributes(
        alert.pk,
        containers=alert.containers,
        vessels=alert.vessels,
        port=alert.port_id,
        origin=alert.origin_id,
        body=alert.body,
        jws=alert.jws,
        timestamp=timestamp,
    )
    dropped_containers: set[str] = set()
    dropped_vessels: set[str] = set()
    for containers, vessels in earlier:
        dropped_containers.update(set(containers) - set(alert.containers))
        dropped_vessels.update(set(vessels) - set(alert.vessels))
    dropped = [
        _attribute(alert.pk, CONTAINER, c, timestamp, f"container/{c}", deleted=True)
        for c in sorted(dropped_containers)
    ]
    dropped += [
        _attribute(alert.pk, VESSEL, v, timestamp, f"vessel/{v}", deleted=True) for v in sorted(dropped_vessels)
    ]
    return {
        "Event": {
            "uuid": str(alert.pk),
            "info": alert.title,
            "date": alert.first_created_at.date().isoformat(),
            "timestamp": timestamp,
            "publish_timestamp": timestamp,
            "published": True,
            "analysis": ANALYSIS_COMPLETED,
            "threat_level_id": THREAT_LEVEL[Severity(alert.severity)],
            "distribution": DISTRIBUTION[Tlp(alert.tlp)],
            "Orgc": orgc(alert.agency.slug, alert.agency.name),
            "Tag": event_tags(
                tlp=alert.tlp,
                status=alert.status,
                category=alert.category,
                source_reliability=alert.source_reliability,
                information_reliability=alert.information_reliability,
                handling=alert.handling,
            ),
            "Attribute": current + dropped,
        }
    }


# ---------------------------------------------------------------- selectors: what a reader fetches


def event_for(user: Any, alert_id: object) -> dict[str, Any]:
    """One event file: 404 (Http404) for an alert the reader may not have in a feed, missing or invalid."""
    alert = access.get_feed_alert_for(user, alert_id)
    earlier = alert.versions.exclude(version=alert.version).values_list("containers", "vessels")
    return event(alert, earlier)


MANIFEST_FIELDS = (
    "id",
    "title",
    "first_created_at",
    "created_at",
    "severity",
    "tlp",
    "status",
    "category",
    "source_reliability",
    "information_reliability",
    "handling",
    "agency__slug",
    "agency__name",
)


def manifest_entry(row: dict[str, Any]) -> dict[str, Any]:
    timestamp = _epoch(row["created_at"])
    return {
        "info": row["title"],
        "date": row["first_created_at"].date().isoformat(),
        "analysis": ANALYSIS_COMPLETED,
        "threat_level_id": THREAT_LEVEL[Severity(row["severity"])],
        "timestamp": timestamp,
        "publish_timestamp": timestamp,
        "Orgc": orgc(row["agency__slug"], row["agency__name"]),
        "Tag": event_tags(
            tlp=row["tlp"],
            status=row["status"],
            category=row["category"],
            source_reliability=row["source_reliability"],
            information_reliability=row["information_reliability"],
            handling=row["handling"],
        ),
    }


def manifest_chunks(user: Any) -> Iterator[bytes]:
    """`manifest.json`, streamed: one query over the reader's feedable alerts, read `CHUNK` rows at a time."""
    rows = access.alerts_feedable_to(user).order_by("-created_at", "-id").values(*MANIFEST_FIELDS)
    yield b"{"
    separator = b""
    for row in rows.iterator(chunk_size=CHUNK):
        yield separator + json.dumps(str(row["id"])).encode() + b":" + json.dumps(manifest_entry(row)).encode()
        separator = b","
    yield b"}"


HASH_FIELDS = ("id", "created_at", "containers", "vessels", "port_id", "origin_id", "body", "jws")


def hashes_lines(user: Any) -> Iterator[bytes]:
    """`hashes.csv`, streamed: `md5(value),event uuid` for every attribute an event file would carry."""
    rows = access.alerts_feedable_to(user).order_by("-created_at", "-id").values_list(*HASH_FIELDS)
    for alert_id, created_at, containers, vessels, port, origin, body, jws in rows.iterator(chunk_size=CHUNK):
        found = attributes(
            alert_id,
            containers=containers,
            vessels=vessels,
            port=port,
            origin=origin,
            body=body,
            jws=jws,
            timestamp=_epoch(created_at),
        )
        yield b"".join(
            f"{hashlib.md5(a['value'].encode(), usedforsecurity=False).hexdigest()},{alert_id}\n".encode()
            for a in found
        )
