"""The feed's writes: announce object versions in their own transaction, then number them (SPEC section 10.2).

The hooks below run inside the publishing, relay and outcome transactions (alliance/hooks.py) and only insert
unnumbered `FeedEntry` rows. `sequence_pending` numbers what has committed: it locks the single head row, so
two sequencers never interleave, and gives the committed unnumbered rows the next numbers in id order. It runs
after each of those transactions commits, and from beat (`interop.sequence_feed`) for anything a crash left
behind. A row still uncommitted is invisible to the sequencer and is numbered later, above every number
handed out so far: no reader's `next` can ever have a row appear below it.
"""

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.apps import apps
from django.db import connection, transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from ports.instance import is_home
from ports.models import Agency
from scans.models import InspectionOutcome, Scan
from sharing.models import Alert, AlertVersion, Feedback, Practice, PracticeVersion

from . import stix
from .models import FeedEntry, FeedKind

log = logging.getLogger(__name__)
BATCH = 10_000


def _identity_fields(agencies: Iterable) -> list[dict]:
    return [
        {
            "kind": FeedKind.IDENTITY,
            "object_id": stix.derived_uuid("agency", agency.slug),
            "version": 1,
            "agency_id": agency.pk,
            "stix_id": stix.identity_id(agency.slug),
            "modified": datetime.fromisoformat(stix.EPOCH),
        }
        for agency in agencies
    ]


def _identity_entries(agencies: Iterable[Agency]) -> list[FeedEntry]:
    return [FeedEntry(**fields) for fields in _identity_fields(agencies)]


def _write(entries: list[FeedEntry], agencies: Iterable[Agency]) -> None:
    """Insert the entries (an identity first for an agency never announced) and number them after commit."""
    FeedEntry.objects.bulk_create(_identity_entries(agencies), ignore_conflicts=True)
    FeedEntry.objects.bulk_create(entries, ignore_conflicts=True)
    transaction.on_commit(_sequence_after_commit)


def _sequence_after_commit() -> None:
    try:
        sequence_pending()
    except Exception:  # the beat sweep numbers it later; the write itself has committed
        log.exception("feed sequencing failed; the beat sweep will retry")


def _document_entry(kind: str, head, version_row_id: int | None, handling: str | None) -> FeedEntry:
    return FeedEntry(
        kind=kind,
        object_id=head.pk,
        version=head.version,
        agency_id=head.agency_id,
        row_id=version_row_id,
        handling=handling,
        stix_id=stix.report_id(kind, head.pk),
        modified=stix.version_modified(head.created_at, head.version),
        tlp=head.tlp,
        author=head.author,
    )


def _copy_head(kind: str, head) -> None:
    """Every entry of the object follows its head row's tlp and author (`access.feeds` reads the copies): a new
    version that changes them changes them on the older versions' entries too, in the same transaction."""
    FeedEntry.objects.filter(kind=kind, object_id=head.pk).update(tlp=head.tlp, author=head.author)


def on_alert_published(alert: Alert) -> None:
    """Hook `alert_published`: one entry for the new version."""
    row = AlertVersion.objects.filter(alert=alert, version=alert.version).values_list("pk", "handling").first()
    row_id, handling = row if row else (None, alert.handling)
    _write([_document_entry(FeedKind.ALERT, alert, row_id, handling)], [alert.agency])
    _copy_head(FeedKind.ALERT, alert)


def on_practice_published(practice: Practice) -> None:
    """Hook `practice_published`: one entry for the new version."""
    row_id = PracticeVersion.objects.filter(practice=practice, version=practice.version).values_list("pk", flat=True)
    _write([_document_entry(FeedKind.PRACTICE, practice, row_id.first(), None)], [practice.agency])
    _copy_head(FeedKind.PRACTICE, practice)


def on_copies_stored(kind: str, heads: list, versions: list) -> None:
    """Hook `copies_stored` (federation's page apply): one entry per version that became the head, one insert.

    `versions` are the stored version rows in the order they became the head (an alert or practice version row
    each), as `on_alert_published` / `on_practice_published` would have announced them one by one.
    """
    feed_kind = FeedKind.ALERT if kind == "alert" else FeedKind.PRACTICE
    entries = [
        FeedEntry(
            kind=feed_kind,
            object_id=getattr(row, f"{kind}_id"),
            version=row.version,
            agency_id=row.agency_id,
            row_id=row.pk,
            handling=getattr(row, "handling", None),
            stix_id=stix.report_id(feed_kind, getattr(row, f"{kind}_id")),
            modified=stix.version_modified(row.created_at, row.version),
        )
        for row in versions
    ]
    if entries:
        _write(entries, {head.agency_id: head.agency for head in heads}.values())
        # Every entry of these objects (this page's and earlier ones) follows its head's tlp and author, as
        # `_copy_head` does for a local version: one UPDATE for the run.
        model = Alert if kind == "alert" else Practice
        head = model.objects.filter(pk=OuterRef("object_id"))
        FeedEntry.objects.filter(kind=feed_kind, object_id__in={h.pk for h in heads}).update(
            tlp=Subquery(head.values("tlp")[:1]), author=Subquery(head.values("author")[:1])
        )


def _scan_fields(scan_pk, agency_id: int, received_at: datetime) -> dict:
    return {
        "kind": FeedKind.SCAN,
        "object_id": scan_pk,
        "version": 1,
        "agency_id": agency_id,
        "stix_id": stix.scan_id(scan_pk),
        "modified": stix.scan_modified(received_at),
    }


def on_relay(scans: Iterable[Scan]) -> None:
    """Hook `relay_in_transaction`: one entry per relayed scan, in one insert (a hot path: two queries a batch)."""
    rows = list(Scan.objects.filter(pk__in=[s.pk for s in scans]).values_list("pk", "node__agency_id", "received_at"))
    if not rows:
        return
    agencies = Agency.objects.filter(pk__in={agency_id for _, agency_id, _ in rows})
    _write([FeedEntry(**_scan_fields(*row)) for row in rows], agencies)


def on_outcome(outcome: InspectionOutcome) -> None:
    """Hook `outcome_recorded`: version 2 of the scan's STIX object, carrying the outcome."""
    scan = outcome.scan
    entry = FeedEntry(
        kind=FeedKind.OUTCOME,
        object_id=scan.pk,
        version=2,
        agency_id=outcome.agency_id,
        stix_id=stix.scan_id(scan.pk),
        modified=stix.scan_modified(scan.received_at, outcome.created_at),
    )
    _write([entry], [outcome.agency])


def on_feedback(feedback: Feedback) -> None:
    """Hook `feedback_submitted`: signed feedback on an alert homed at another instance is announced, so that the
    alert's home instance reads it in its federation collection. Feedback on our own alerts stays here."""
    if is_home(feedback.alert.agency):
        return
    entry = FeedEntry(
        kind=FeedKind.FEEDBACK,
        object_id=feedback.uuid,
        version=1,
        agency_id=feedback.agency_id,
        row_id=feedback.pk,
        stix_id=stix.feedback_id(feedback.uuid),
        modified=stix.to_ms(feedback.created_at),
    )
    _write([entry], [feedback.agency])


def sequence_pending(batch: int = BATCH, get_model=apps.get_model) -> int:
    """Number the committed, unnumbered entries (at most `batch`) in id order; returns how many.

    `get_model` is the data migration's historical registry when it backfills.
    """
    entry_model, head_model = get_model("interop", "FeedEntry"), get_model("interop", "FeedHead")
    with transaction.atomic():
        head, _ = head_model.objects.select_for_update().get_or_create(pk=1)
        pending = list(entry_model.objects.filter(seq__isnull=True).order_by("id").values_list("id", flat=True)[:batch])
        if not pending:
            return 0
        # date_added strictly increases with seq (a microsecond apart at least), so `added_after` never skips either.
        start = timezone.now()
        if head.last_added is not None and start <= head.last_added:
            start = head.last_added + timedelta(microseconds=1)
        first = head.last_seq + 1
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "UPDATE interop_feedentry AS e SET seq = %s + n.rn - 1, "
                    "added_at = %s + (n.rn - 1) * interval '1 microsecond' "
                    "FROM (SELECT id, row_number() OVER (ORDER BY id) AS rn FROM interop_feedentry "
                    "WHERE id = ANY(%s)) AS n WHERE e.id = n.id",
                    [first, start, pending],
                )
        else:
            for offset, pk in enumerate(pending):
                entry_model.objects.filter(pk=pk).update(
                    seq=first + offset, added_at=start + timedelta(microseconds=offset)
                )
        head.last_seq = first + len(pending) - 1
        head.last_added = start + timedelta(microseconds=len(pending) - 1)
        head.save(update_fields=["last_seq", "last_added"])
    return len(pending)


def sequence_all(get_model=apps.get_model) -> int:
    total = 0
    while count := sequence_pending(get_model=get_model):
        total += count
    return total


def backfill(get_model=apps.get_model) -> int:
    """Announce every existing alert and practice version, relayed scan and outcome (idempotent), then number them.

    Entries go in the order the objects were made, so the first sequence follows history.
    """
    entry_model = get_model("interop", "FeedEntry")
    made = 0
    with transaction.atomic():
        agencies = get_model("ports", "Agency").objects.all()
        entry_model.objects.bulk_create([entry_model(**f) for f in _identity_fields(agencies)], ignore_conflicts=True)
        for kind, model, fk in (
            (FeedKind.ALERT, get_model("sharing", "AlertVersion"), "alert_id"),
            (FeedKind.PRACTICE, get_model("sharing", "PracticeVersion"), "practice_id"),
        ):
            rows = model.objects.order_by("created_at", "pk").values_list(
                "pk", fk, "version", "agency_id", "created_at", *(("handling",) if kind == FeedKind.ALERT else ())
            )
            entries = [
                entry_model(
                    kind=kind,
                    object_id=r[1],
                    version=r[2],
                    agency_id=r[3],
                    row_id=r[0],
                    handling=r[5] if len(r) > 5 else None,
                    stix_id=stix.report_id(kind, r[1]),
                    modified=stix.version_modified(r[4], r[2]),
                )
                for r in rows.iterator()
            ]
            made += len(entry_model.objects.bulk_create(entries, ignore_conflicts=True, batch_size=2000))
        relayed = (
            get_model("scans", "Scan")
            .objects.filter(outbox__processed_at__isnull=False)
            .order_by("received_at")
            .values_list("pk", "node__agency_id", "received_at")
        )
        made += len(
            entry_model.objects.bulk_create(
                [entry_model(**_scan_fields(*row)) for row in relayed.iterator()],
                ignore_conflicts=True,
                batch_size=2000,
            )
        )
        outcomes = get_model("scans", "InspectionOutcome").objects.select_related("scan").order_by("created_at")
        made += len(
            entry_model.objects.bulk_create(
                [
                    entry_model(
                        kind=FeedKind.OUTCOME,
                        object_id=o.scan_id,
                        version=2,
                        agency_id=o.agency_id,
                        stix_id=stix.scan_id(o.scan_id),
                        modified=stix.scan_modified(o.scan.received_at, o.created_at),
                    )
                    for o in outcomes.iterator()
                ],
                ignore_conflicts=True,
                batch_size=2000,
            )
        )
    sequence_all(get_model)
    return made


def copy_heads(get_model=apps.get_model) -> int:
    """Set every alert and practice entry's copies of its head row's tlp and author (migration 0004; idempotent).

    One UPDATE per kind; after it the publish hooks keep the copies (`_copy_head`)."""
    entry_model = get_model("interop", "FeedEntry")
    updated = 0
    for kind, model in (
        (FeedKind.ALERT, get_model("sharing", "Alert")),
        (FeedKind.PRACTICE, get_model("sharing", "Practice")),
    ):
        head = model.objects.filter(pk=OuterRef("object_id"))
        updated += entry_model.objects.filter(kind=kind).update(
            tlp=Subquery(head.values("tlp")[:1]), author=Subquery(head.values("author")[:1])
        )
    return updated
