"""What leaves by TAXII (SPEC section 10.3): the feed entries a reader may receive, per collection.

The same rule as everywhere (section 4), joined to the stored cursor: an alert or practice version is offered
when its head row is readable by the reader (`alerts_visible_to`, `practices_visible_to`: the whole history
follows the latest version's TLP and audience), a scan and its outcome when the scan is (`scans_visible_to`:
public sector only). On top of that, what never leaves: handling codes H2 and H3 (of the alert or of that
version), and objects that failed their integrity check (for everyone, their own agency included: a feed is an
export). Agency identities are reference data every member already lists. One SQL condition per collection.
"""

from collections.abc import Iterable
from typing import Any, TypeVar

from django.db.models import Exists, OuterRef, Q, QuerySet

from interop.models import FeedEntry, FeedKind, FeedTombstone
from ports.auth import PeerPrincipal
from ports.instance import home_q
from ports.models import Agency
from ports.signing import SignatureStatus
from sharing.models import Feedback, Handling

from .documents import (
    TlpColumns,
    alerts_exportable_to,
    feedback_signature_status_of,
    practices_visible_to,
    signature_status_and_document_of,
    tlp_condition_on,
)
from .reader import AgenciesReader, reader_for, reader_for_agencies
from .scans import scan_signature_status, scans_visible_to

ALERT_TYP, PRACTICE_TYP = "alert+json", "practice+json"

ALERTS = "alerts"
SCANS = "scans"
FEDERATION = "federation"  # SPEC 10.3: for peer tokens only
NEVER_LEAVES = (Handling.H2, Handling.H3)
_T = TypeVar("_T")


# The copies of the head row's tlp and author a feed entry carries (kept by `interop.services` in the publishing
# transaction), its agency and its object: the same TLP rule, over the entry's own columns.
ENTRY_COLUMNS = TlpColumns(tlp="tlp", agency="agency_id", author="author", pk="object_id")


class _Probe(Exists):
    """EXISTS checked row by row (an index probe per entry the page walks): `OFFSET 0` keeps PostgreSQL from
    turning it into a hashed subplan, which reads every object the reader may read on each request."""

    template = "EXISTS(%(subquery)s OFFSET 0)"


def collections_for(user: Any) -> list[str]:
    """The TAXII collections a reader sees at all: members read `alerts`, the public sector `scans` too.

    `federation` is listed to peer principals only, and they get nothing else; no member ever gets it.
    """
    if isinstance(user, PeerPrincipal):
        return [FEDERATION]
    reader = reader_for(user)
    if not reader.is_member:
        return []
    return [ALERTS, SCANS] if reader.is_public_sector else [ALERTS]


def feed_entries_for(user: Any, collection: str) -> QuerySet[FeedEntry]:
    """The numbered entries of `collection` that `user` may receive (none for a collection they do not see)."""
    if collection not in collections_for(user):
        return FeedEntry.objects.none()
    numbered = FeedEntry.objects.filter(seq__isnull=False)
    # Each entry's object is checked by its primary key (a correlated EXISTS): a page walks the cursor index and
    # stops after `limit` readable rows. `object_id IN (readable objects)` made PostgreSQL hash every object the
    # reader may read on each request (a full scan of the alerts: 1-2 s a page at 100,000; docs/benchmarks.md).
    if collection == FEDERATION:
        return numbered.filter(_federation_condition(user.instance))
    if collection == ALERTS:
        alerts = alerts_exportable_to(user).filter(integrity_failed=False, pk=OuterRef("object_id"))
        practices = practices_visible_to(user).filter(integrity_failed=False, pk=OuterRef("object_id"))
        condition = (
            Q(kind=FeedKind.IDENTITY)
            | _documents(FeedKind.ALERT, user, alerts, ~Q(handling__in=NEVER_LEAVES))
            | _documents(FeedKind.PRACTICE, user, practices)
        )
    else:
        scans = scans_visible_to(user).filter(integrity_failed=False, pk=OuterRef("object_id"))
        condition = Q(kind=FeedKind.IDENTITY) | Q(_Probe(scans), kind__in=(FeedKind.SCAN, FeedKind.OUTCOME))
    return numbered.filter(condition)


def _documents(kind: str, user: Any, readable: QuerySet[Any], also: Q | None = None) -> Q:
    """Entries of `kind` whose object is in `readable` (the rule of section 4, probed by primary key).

    First the TLP rule over the entry's copied columns (the same `access.documents` condition): a reader who
    may read one entry in a hundred no longer probes the objects table for the other ninety-nine. It can only
    narrow: the probe of the object itself, its head row as it is now, decides every entry that passes (`also`: cheap conditions to
    check before the probe), so a
    stale copy could hide an entry but never hand one out. PostgreSQL evaluates an AND's arms in this order.
    """
    return Q(kind=kind) & (also or Q()) & tlp_condition_on(user, kind, ENTRY_COLUMNS) & Q(_Probe(readable))


def peer_reader(instance: str) -> AgenciesReader:
    """What a peer instance reads as (SPEC 10.2): the agencies homed there, known from its signed document, and
    for RED the members of those agencies that the audience names."""
    return reader_for_agencies(Agency.objects.filter(home_instance=instance, is_active=True), named_members=True)


def _federation_condition(instance: str) -> Q:
    """SPEC 10.2: what this instance offers peer `instance`: the alert and practice versions of agencies homed
    here that the peer's home agencies may read (H2 and H3 never), the scans of our nodes relayed to them, the
    identities of our home agencies, and the tombstones made for that peer. Copies of other instances' objects are never passed on."""
    reader = peer_reader(instance)
    home = home_q("agency__")
    alerts = alerts_exportable_to(reader).filter(integrity_failed=False, pk=OuterRef("object_id"))
    practices = practices_visible_to(reader).filter(integrity_failed=False, pk=OuterRef("object_id"))
    tombstones = FeedTombstone.objects.filter(pk=OuterRef("row_id"), peer_instance=instance)
    # A scan of a node homed here, once section 6 relayed it to (or it is at the port of) an agency homed at the
    # peer: the same rule as every scan read (`scans_visible_to`), the peer's home agencies as the reader.
    scans = scans_visible_to(reader).filter(integrity_failed=False, pk=OuterRef("object_id"))
    # Signed feedback of an agency homed here goes back to the home instance of the alert's agency, and there only:
    # the author agency reads all feedback on its alert (section 3); the copy is for it.
    feedback = Feedback.objects.filter(pk=OuterRef("row_id"), alert__agency__home_instance=instance)
    return (
        (Q(kind=FeedKind.IDENTITY) & home)
        | (_documents(FeedKind.ALERT, reader, alerts, ~Q(handling__in=NEVER_LEAVES) & home))
        | _documents(FeedKind.PRACTICE, reader, practices, home)
        | (Q(_Probe(scans), kind=FeedKind.SCAN) & home)
        | (Q(_Probe(feedback), kind=FeedKind.FEEDBACK) & home)
        | Q(_Probe(tombstones), kind=FeedKind.TOMBSTONE)
    )


def peer_left_out_reason(instance: str, kind: str, obj: Any) -> str | None:
    """Why an alert or practice of ours is not offered to peer `instance` (None: it is offered). SPEC 10.2 codes."""
    reader = peer_reader(instance)
    if kind == FeedKind.ALERT:
        if obj.handling in NEVER_LEAVES:
            return "handling:h2-h3"
        if not alerts_exportable_to(reader).filter(pk=obj.pk).exists():
            return "audience:no-home-reader"
    elif not practices_visible_to(reader).filter(pk=obj.pk).exists():
        return "audience:no-home-reader"
    if obj.integrity_failed:
        return "signature:invalid"
    return None


def verified_feed_rows(rows: Iterable[_T], *, kind: str) -> list[_T]:
    """Verify one page of signed rows (alert or practice versions, scans) and leave out every invalid one.

    Alert and practice versions get `document`: the signed document, as verified (see
    `sharing.documents.signature_status_and_document`).

    A feed is an export: unlike a list in the portal, not even the agency's own officers get an invalid object.
    """
    kept = []
    for row in rows:
        obj: Any = row
        if kind in (FeedKind.ALERT, FeedKind.PRACTICE):
            # Sets `document` on the row: the signed document as verified, so the STIX report need not decode
            # the JWS payload again.
            typ = ALERT_TYP if kind == FeedKind.ALERT else PRACTICE_TYP
            status, obj.document = signature_status_and_document_of(obj, typ=typ)
        elif kind == FeedKind.FEEDBACK:
            status = feedback_signature_status_of(obj)
            if status == "unsigned":
                continue
        else:
            status = scan_signature_status(obj)
        if status != SignatureStatus.INVALID:
            kept.append(row)
    return kept
