"""The agency admins' two access reports (SPEC section 4): who can read each of their items, and who read their
AMBER+STRICT and RED items.

Who can read an item comes from `readers_of` (the TLP rule read the other way round), who did read one from
the audit log's read entries.
"""

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import CharField, Count, Q, QuerySet, Value

from ports.models import Agency, AuditEntry, Membership
from sharing.models import Alert, Practice

from .documents import alert_rows, alerts_visible_to, practice_rows, practices_visible_to, readers_of

User = get_user_model()

# The read entries `sharing.selectors.audit_reads` appends for AMBER+STRICT and RED content.
READ_ACTIONS = ("alert.read", "practice.read")


# ---------------------------------------------------------------- report (a): who can read each item


@dataclass
class ItemReaders:
    kind: str  # "alert" or "practice"
    item: object
    readable_by_you: bool
    everyone: bool
    withheld: bool
    agencies: Sequence[Agency] = field(default_factory=list)  # Agency rows with member_count (empty for everyone)
    members: list[Membership] = field(default_factory=list)  # Membership rows reading by name
    agency_count: int = 0
    member_count: int = 0  # memberships that read: of the agencies, plus those by name


class _ItemRows:
    """Our alerts and practices as one list for the paginator: counted per table, sliced from one UNION.

    (Counting the ordered UNION itself is refused on SQLite: ORDER BY in a compound subquery.)
    """

    def __init__(self, alerts: QuerySet[Alert], practices: QuerySet[Practice]) -> None:
        self.alerts, self.practices = alerts, practices

    def count(self) -> int:
        return self.alerts.count() + self.practices.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, index: int | slice) -> Any:
        rows = (
            self.alerts.values_list("id", "created_at")
            .annotate(kind=Value("alert", output_field=CharField()))
            .union(
                self.practices.values_list("id", "created_at").annotate(
                    kind=Value("practice", output_field=CharField())
                ),
                all=True,
            )
            .order_by("-created_at", "-id")
        )
        return rows[index]


def agency_items(agency: Agency) -> _ItemRows:
    """Our alerts and practices as (id, created_at, kind) rows, newest first."""
    return _ItemRows(Alert.objects.filter(agency=agency).order_by(), Practice.objects.filter(agency=agency).order_by())


def readers_for_items(rows: Sequence[tuple[uuid.UUID, Any, str]], *, viewer: Any) -> list[ItemReaders]:
    """Readers of one page of `agency_items` rows (bounded: a page, a few queries per item)."""
    ids = {"alert": [r[0] for r in rows if r[2] == "alert"], "practice": [r[0] for r in rows if r[2] == "practice"]}
    objects: dict[tuple[str, uuid.UUID], Alert | Practice] = {
        **{("alert", a.pk): a for a in alert_rows(Alert.objects.filter(pk__in=ids["alert"]))},
        **{("practice", p.pk): p for p in practice_rows(Practice.objects.filter(pk__in=ids["practice"]))},
    }
    visible = set(alerts_visible_to(viewer).filter(pk__in=ids["alert"]).values_list("pk", flat=True)) | set(
        practices_visible_to(viewer).filter(pk__in=ids["practice"]).values_list("pk", flat=True)
    )
    result = []
    for pk, _, kind in rows:
        obj = objects.get((kind, pk))
        if obj is None:
            continue
        readership = readers_of(obj)
        agencies = list(
            readership.agencies.annotate(
                member_count=Count("memberships", filter=Q(memberships__is_active=True))
            ).order_by("slug")
        )
        members = list(readership.members.select_related("agency", "user").order_by("handle"))
        result.append(
            ItemReaders(
                kind=kind,
                item=obj,
                readable_by_you=pk in visible,
                everyone=readership.everyone,
                withheld=readership.withheld,
                agencies=[] if readership.everyone else agencies,
                members=members,
                agency_count=len(agencies),
                member_count=sum(a.member_count for a in agencies) + len(members),
            )
        )
    return result


# ---------------------------------------------------------------- report (b): who read our AMBER+STRICT and RED items


@dataclass
class ReadEvent:
    entry: AuditEntry
    reader: object  # User or None (an account since removed)
    reader_memberships: list[Membership]
    items: list[Alert | Practice]  # our alerts and practices this read returned


def _our_item_ids(agency: Agency) -> list[str]:
    alerts = Alert.objects.filter(agency=agency).values_list("id", flat=True)
    practices = Practice.objects.filter(agency=agency).values_list("id", flat=True)
    return [str(pk) for pk in alerts] + [str(pk) for pk in practices]


def _entry_ids(entry: AuditEntry) -> list[str]:
    return [entry.object_id] if entry.object_id else [str(i) for i in entry.data.get("ids", [])]


def agency_read_entries(agency: Agency) -> list[AuditEntry] | QuerySet[AuditEntry]:
    """Read entries naming at least one of our items, newest first.

    A detail read names its object in `object_id`; a list read names its
    objects in `data.ids`. On PostgreSQL both are matched in SQL (`?|` on the
    jsonb array); elsewhere (the SQLite dev database) in Python.
    """
    ours = _our_item_ids(agency)
    if not ours:
        return AuditEntry.objects.none()
    entries = AuditEntry.objects.filter(action__in=READ_ACTIONS).order_by("-seq")
    if connection.vendor == "postgresql":
        return entries.filter(Q(object_id__in=ours) | Q(data__ids__has_any_keys=ours))
    wanted = set(ours)
    return [e for e in entries.iterator() if wanted.intersection(_entry_ids(e))]


def _reading_memberships(item: Alert | Practice, candidates: list[Membership]) -> set[int]:
    """Of `candidates` (a reader's memberships), those through which `item` is read (`readers_of`)."""
    readership = readers_of(item)
    if readership.everyone:
        return {m.pk for m in candidates}
    return set(
        Membership.objects.filter(pk__in=[m.pk for m in candidates])
        .filter(Q(agency__in=readership.agencies) | Q(pk__in=readership.members.values("pk")))
        .values_list("pk", flat=True)
    )


def read_events(agency: Agency, entries: Iterable[AuditEntry]) -> list[ReadEvent]:
    """One page of entries, with the reader and which of our items each read returned.

    A reader's memberships are shown only where they read the item from: a handle the same
    person holds in an agency that does not read it is none of this agency's business.
    """
    entries = list(entries)
    ids: set[uuid.UUID] = set()
    for entry in entries:
        for raw in _entry_ids(entry):
            try:
                ids.add(uuid.UUID(raw))
            except ValueError:
                continue
    items: dict[str, Alert | Practice] = {str(a.pk): a for a in Alert.objects.filter(agency=agency, pk__in=ids)}
    items.update({str(p.pk): p for p in Practice.objects.filter(agency=agency, pk__in=ids)})
    users = {u.username: u for u in User.objects.filter(username__in={e.actor for e in entries})}
    memberships: dict[int, list[Membership]] = {}
    for m in Membership.objects.filter(user__in=users.values()).select_related("agency").order_by("agency__slug"):
        memberships.setdefault(m.user_id, []).append(m)
    reading: dict[tuple[str, int], set[int]] = {}  # (item, user) -> membership ids, once per page
    events = []
    for entry in entries:
        reader = users.get(entry.actor)
        ours = [items[i] for i in _entry_ids(entry) if i in items]
        if not ours:
            continue
        candidates = memberships.get(reader.pk, []) if reader else []
        shown: set[int] = set()
        for item in ours:
            key = (str(item.pk), reader.pk if reader else 0)
            if key not in reading:
                reading[key] = _reading_memberships(item, candidates) if candidates else set()
            shown |= reading[key]
        events.append(
            ReadEvent(
                entry=entry,
                reader=reader,
                reader_memberships=[m for m in candidates if m.pk in shown],
                items=ours,
            )
        )
    return events
