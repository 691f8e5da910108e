"""The STIX 2.1 mapping of SPEC section 10.3, built and checked with the `stix2` library.

- Each agency is an `identity`; an alert or practice version is a `report`; a relayed scan is an
  `x-alliance-scan` (a new SDO of the alliance's extension definition), and its inspection outcome is version 2
  of that same object (the scan's document and JWS, plus the outcome's).
- Every report and scan carries, under the extension `EXTENSION_ID`, the signed `document` and its compact
  `jws` byte for byte, so a consumer verifies the original Ed25519 signature against `/.well-known/jwks.json`
  from the STIX object alone (docs/interop.md shows how).
- Ids are derived from the object (never random): the same version is served identically every time. They are
  name-based UUIDs with the version-4 bits set (SHA-256 over a fixed namespace and the object's own id), since
  the STIX 2.1 validator asks SDOs for UUIDv4 in strict mode; `modified` tells the versions of one object apart.
"""

import base64
import functools
import hashlib
import json
import uuid
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

import stix2
from stix2.properties import StringProperty, TimestampProperty

NAMESPACE = uuid.UUID("5c0b1f1e-6a53-4f3c-8f0e-6e7a1c2d9b40")
EXTENSION_ID = "extension-definition--3d8a5f6e-2b1c-4e7a-9c4d-0f6a8b2e1d57"
EPOCH = "2025-01-01T00:00:00.000Z"  # created and modified of the fixed objects (identities, the extension)
# TLP 2.0 marking definitions (SPEC section 10.3; extension extension-definition--60a3c5c5-...).
TLP_MARKINGS = {
    "CLEAR": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "GREEN": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "AMBER": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    "AMBER+STRICT": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    "RED": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}
SCAN_TYPE = "x-alliance-scan"
TOMBSTONE_TYPE = "x-alliance-tombstone"  # SPEC 10.2: federation collection only
FEEDBACK_TYPE = "x-alliance-feedback"  # SPEC 10.2: federation collection only, to the alert's home instance
MEDIA_TYPE = "application/stix+json;version=2.1"


@stix2.v21.CustomObject(
    SCAN_TYPE,
    [
        ("container", StringProperty(required=True)),
        ("port", StringProperty(required=True)),
        ("verdict", StringProperty(required=True)),
        ("scanned_at", TimestampProperty(required=True)),
        ("node", StringProperty(required=True)),
        ("outcome_result", StringProperty()),
    ],
)
class AllianceScan:
    """A scan result as STIX: the fields a reader filters on, the signed document in the extension."""


def derived_uuid(*parts: str) -> uuid.UUID:
    digest = hashlib.sha256(NAMESPACE.bytes + "\x1f".join(parts).encode()).digest()
    return uuid.UUID(bytes=digest[:16], version=4)


@functools.lru_cache(maxsize=4096)
def identity_id(agency_slug: str) -> str:
    return f"identity--{derived_uuid('agency', agency_slug)}"


def report_id(kind: str, object_id: object) -> str:
    return f"report--{derived_uuid(kind, str(object_id))}"


def scan_id(object_id: object) -> str:
    return f"{SCAN_TYPE}--{derived_uuid('scan', str(object_id))}"


def to_ms(value: datetime) -> datetime:
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def version_modified(created_at: datetime, version: int) -> datetime:
    """A signed version's `modified`: its whole-second signing time plus `version` milliseconds.

    Signed times are whole seconds, so two versions signed in the same second would otherwise share one
    `modified` and be one STIX version; the milliseconds keep every version distinct and in order.
    """
    return created_at.replace(microsecond=0) + timedelta(milliseconds=min(version, 999))


def stamp(value: datetime) -> str:
    return to_ms(value).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def stamp_any_precision(value: datetime) -> str:
    """How stix2 writes a timestamp of any precision: milliseconds only when they are not zero."""
    text = stamp(value)
    return text[:-5] + "Z" if text.endswith(".000Z") else text


def signed_document(jws: str) -> dict:
    """The JWS payload: the RFC 8785 document exactly as signed."""
    payload = jws.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def _serialized(obj: Any) -> dict:
    return json.loads(obj.serialize())


def extension_definition() -> dict:
    return _serialized(
        stix2.v21.ExtensionDefinition(
            id=EXTENSION_ID,
            created_by_ref=identity_id("portal"),
            created=EPOCH,
            modified=EPOCH,
            name="Alliance Exchange signed document",
            description=(
                "The signed document this object was made from (`document`) and its compact JWS (`jws`, RFC 7515, "
                "Ed25519, payload the RFC 8785 canonical document), so the original signature can be verified "
                "against the keys at /.well-known/jwks.json. `x-alliance-scan` objects carry scan results "
                "(`outcome`: the inspection outcome's `document` and `jws`, from version 2)."
            ),
            schema="Alliance Exchange docs/interop.md, section 'The signed-document extension'.",
            version="1.0.0",
            extension_types=["property-extension", "new-sdo"],
        )
    )


def portal_identity() -> dict:
    return _serialized(
        stix2.v21.Identity(
            id=identity_id("portal"),
            created=EPOCH,
            modified=EPOCH,
            name="Alliance Exchange portal",
            identity_class="system",
        )
    )


def identity(agency: Any) -> dict:
    return dict(_identity(agency.slug, agency.name, agency.kind))


@functools.lru_cache(maxsize=4096)
def _identity(slug: str, name: str, kind: str) -> dict:
    """Built and checked by `stix2` once per (slug, name, kind) in a process: a page of identities cost 1 ms
    each."""
    agency = SimpleNamespace(slug=slug, name=name, kind=kind)
    return _serialized(
        stix2.v21.Identity(
            id=identity_id(agency.slug),
            created=EPOCH,
            modified=EPOCH,
            name=agency.name,
            identity_class="organization",
            description=f"Alliance agency {agency.slug} ({agency.kind})",
        )
    )


def report(
    kind: str,
    row: Any,
    *,
    object_id: object,
    first_created_at: datetime,
    modified: datetime,
    stix_id: str | None = None,
    document: dict | None = None,
) -> dict:
    """An alert or practice version (`row`: an AlertVersion or PracticeVersion, agency loaded), as a plain dict.

    `document`: the signed document when the caller has it verified already (`access.verified_feed_rows`),
    equal to the JWS payload; otherwise the payload is decoded here.

    Built by hand on the read path: the `stix2` objects below cost about 1 ms per object to construct, check
    and re-serialize (a third of a TAXII page, measured in docs/benchmarks.md). `report_checked` builds the
    same object with `stix2`; tests/interop/test_stix.py asserts the two are equal for every kind and state,
    and runs the OASIS validator on them.
    """
    if document is None:
        document = signed_document(row.jws)
    labels = [document["category"]] if kind == "alert" else list(document.get("tags") or []) or ["best-practice"]
    created = version_modified(first_created_at, 1)
    out = {
        "type": "report",
        "spec_version": "2.1",
        "id": stix_id or report_id(kind, object_id),  # the feed entry stores it, made by `report_id`
        "created_by_ref": identity_id(row.agency.slug),
        "created": stamp(min(created, modified)),
        "modified": stamp(modified),
        "name": row.title,
        "description": row.body,
        "report_types": ["threat-report"],
        "published": stamp_any_precision(row.created_at),
        "object_refs": [identity_id(row.agency.slug)],
        "labels": labels,
        "object_marking_refs": [TLP_MARKINGS[row.tlp]],
        "extensions": {EXTENSION_ID: {"extension_type": "property-extension", "document": document, "jws": row.jws}},
    }
    if row.status == "withdrawn":  # stix2 leaves `revoked` out when it is false
        out["revoked"] = True
    return out


def report_checked(
    kind: str,
    row: Any,
    *,
    object_id: object,
    first_created_at: datetime,
    modified: datetime,
    stix_id: str | None = None,
    document: dict | None = None,
) -> dict:
    """`report`, built and checked by the `stix2` library (the reference the hand-built dict is tested against).

    The id is always derived here (`report_id`), so a stored `stix_id` that disagreed would show in the test; so is
    the document (from the JWS payload), so a verified `document` that disagreed would show too."""
    document = signed_document(row.jws)
    labels = [document["category"]] if kind == "alert" else list(document.get("tags") or []) or ["best-practice"]
    created = version_modified(first_created_at, 1)
    return _serialized(
        stix2.v21.Report(
            id=report_id(kind, object_id),
            created=stamp(min(created, modified)),
            modified=stamp(modified),
            name=row.title,
            description=row.body,
            published=stamp(row.created_at),
            created_by_ref=identity_id(row.agency.slug),
            object_marking_refs=[TLP_MARKINGS[row.tlp]],
            revoked=row.status == "withdrawn",
            labels=labels,
            report_types=["threat-report"],
            object_refs=[identity_id(row.agency.slug)],
            extensions={EXTENSION_ID: {"extension_type": "property-extension", "document": document, "jws": row.jws}},
        )
    )


def scan(row: Any, *, version: int, modified: datetime) -> dict:
    """A scan (version 1) or the scan with its inspection outcome (version 2), as a plain dict (see `report`)."""
    return {"type": SCAN_TYPE, "spec_version": "2.1", **_scan_data(row, version=version, modified=modified)}


def scan_checked(row: Any, *, version: int, modified: datetime) -> dict:
    """`scan`, built and checked by the `stix2` library; `row` loads node, agency, outcome."""
    return _serialized(AllianceScan(**_scan_data(row, version=version, modified=modified), allow_custom=True))


def _scan_data(row: Any, *, version: int, modified: datetime) -> dict[str, Any]:
    extension: dict[str, Any] = {
        "extension_type": "new-sdo",
        "document": signed_document(row.jws),
        "jws": row.jws,
    }
    properties: dict[str, Any] = {
        "container": row.container,
        "port": row.port_id,
        "verdict": row.verdict,
        "scanned_at": stamp_any_precision(row.scanned_at),
        "node": row.node_id,
    }
    outcome = getattr(row, "outcome", None) if version > 1 else None
    if outcome is not None:
        extension["outcome"] = {"document": signed_document(outcome.jws), "jws": outcome.jws}
        properties["outcome_result"] = outcome.result
    created = to_ms(row.received_at)
    data = {
        "id": scan_id(row.pk),
        "created": stamp(created),
        "modified": stamp(max(modified, created)),
        "created_by_ref": identity_id(row.node.agency.slug),
        **properties,
        "extensions": {EXTENSION_ID: extension},
    }
    if "outcome_result" not in data:
        data.pop("outcome_result", None)
    return data


def scan_modified(received_at: datetime, outcome_created_at: datetime | None = None) -> datetime:
    """Version 1: the time the scan was received; version 2: the outcome's, at least a millisecond later."""
    first = to_ms(received_at)
    if outcome_created_at is None:
        return first
    return max(to_ms(outcome_created_at), first + timedelta(milliseconds=1))


def tombstone_id(tombstone_uuid: object) -> str:
    return f"{TOMBSTONE_TYPE}--{tombstone_uuid}"


def tombstone(row: Any, *, modified: datetime) -> dict:
    """A tombstone for one peer (SPEC 10.2) as a custom STIX object; the signed document and JWS in the extension."""
    return {
        "type": TOMBSTONE_TYPE,
        "spec_version": "2.1",
        "id": tombstone_id(row.uuid),
        "created": stamp(modified),
        "modified": stamp(modified),
        "extensions": {
            EXTENSION_ID: {"extension_type": "new-sdo", "document": signed_document(row.jws), "jws": row.jws}
        },
    }


def feedback_id(feedback_uuid: object) -> str:
    return f"{FEEDBACK_TYPE}--{feedback_uuid}"


def feedback(row: Any, *, modified: datetime) -> dict:
    """Signed feedback (SPEC section 3) as a custom STIX object; the signed document and JWS in the extension."""
    return {
        "type": FEEDBACK_TYPE,
        "spec_version": "2.1",
        "id": feedback_id(row.uuid),
        "created": stamp(modified),
        "modified": stamp(modified),
        "created_by_ref": identity_id(row.agency.slug),
        "extensions": {
            EXTENSION_ID: {"extension_type": "new-sdo", "document": signed_document(row.jws), "jws": row.jws}
        },
    }
