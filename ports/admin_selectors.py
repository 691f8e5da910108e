"""Reads behind the agency administration pages and the two access reports (SPEC section 4).

Who can read an item comes from `access.readers_of` (the TLP rule read
the other way round), who did read one from the audit log's read entries.
"""

import uuid
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import CharField, Count, Max, Q, QuerySet, Value
from django.http import Http404

import access
from sharing.models import Alert, Practice, Tlp

from .models import Agency, ApiToken, AuditEntry, KeyOwner, Membership, Role, ScannerNode, SigningKey, TokenKind
from .selectors import active_memberships

User = get_user_model()

# The read entries `sharing.selectors.audit_reads` appends for AMBER+STRICT and RED content.
READ_ACTIONS = ("alert.read", "practice.read")
AUDITED_TLP = (Tlp.AMBER_STRICT, Tlp.RED)


def admin_agencies(user) -> list[Agency]:
    """The agencies `user` administers (active admin memberships)."""
    return [m.agency for m in active_memberships(user).filter(role=Role.ADMIN).order_by("agency__slug")]


def admin_agency(user, slug: str) -> Agency:
    """The agency named, when `user` is its admin; 404 for any other (existence does not leak)."""
    for agency in admin_agencies(user):
        if agency.slug == slug:
            return agency
    raise Http404("No such agency.")


def owns_nodes(agency: Agency) -> bool:
    return agency.kind in ("customs", "port_authority") and agency.port_id is not None


# ---------------------------------------------------------------- members, tokens, keys, nodes


def agency_members(agency: Agency) -> QuerySet[Membership]:
    """Every membership of the agency, active first, with the membership's own live token count.

    Invitations are not memberships: an account invited and not yet accepted is not listed.
    """
    return (
        Membership.objects.filter(agency=agency)
        .select_related("user")
        .annotate(token_count=Count("api_tokens", filter=Q(api_tokens__revoked_at__isnull=True)))
        .order_by("-is_active", "role", "user__username")
    )


def agency_member(agency: Agency, membership_id) -> Membership:
    try:
        pk = int(membership_id)
    except (TypeError, ValueError):
        raise Http404("No such member.")
    membership = Membership.objects.select_related("user", "agency").filter(agency=agency, pk=pk).first()
    if membership is None:
        raise Http404("No such member.")
    return membership


def agency_member_tokens(agency: Agency) -> QuerySet[ApiToken]:
    """Live personal tokens of the agency's active memberships: never a member's tokens for another agency."""
    return (
        ApiToken.objects.filter(
            kind=TokenKind.PERSONAL,
            revoked_at__isnull=True,
            membership__agency=agency,
            membership__is_active=True,
        )
        .select_related("user", "membership")
        .order_by("user__username", "-created_at")
    )


def agency_membership_tokens(membership: Membership) -> QuerySet[ApiToken]:
    """Live tokens of one membership (what offboarding it revokes)."""
    return ApiToken.objects.filter(membership=membership, revoked_at__isnull=True).order_by("-created_at")


def agency_member_token(agency: Agency, token_id) -> ApiToken:
    try:
        pk = int(token_id)
    except (TypeError, ValueError):
        raise Http404("No such token.")
    token = agency_member_tokens(agency).filter(pk=pk).first()
    if token is None:
        raise Http404("No such token.")
    return token


def agency_keys(agency: Agency) -> QuerySet[SigningKey]:
    return SigningKey.objects.filter(owner_kind=KeyOwner.AGENCY, agency=agency).order_by("-created_at", "kid")


def agency_key(agency: Agency, kid: str) -> SigningKey:
    key = agency_keys(agency).filter(kid=kid).first()
    if key is None:
        raise Http404("No such key.")
    return key


def agency_nodes(agency: Agency) -> QuerySet[ScannerNode]:
    """The agency's nodes with their counters (accepted = stored scans) and live token count."""
    return (
        ScannerNode.objects.filter(agency=agency)
        .select_related("counter")
        .annotate(
            accepted=Count("scans", distinct=True),
            live_tokens=Count("tokens", filter=Q(tokens__revoked_at__isnull=True), distinct=True),
            last_push=Max("scans__received_at"),
        )
        .prefetch_related("keys")
        .order_by("-is_active", "id")
    )


def agency_node(agency: Agency, node_id: str) -> ScannerNode:
    node = ScannerNode.objects.select_related("agency").filter(agency=agency, pk=node_id).first()
    if node is None:
        raise Http404("No such node.")
    return node


# ---------------------------------------------------------------- report (a): who can read each item


@dataclass
class ItemReaders:
    kind: str  # "alert" or "practice"
    item: object
    readable_by_you: bool
    everyone: bool
    withheld: bool
    agencies: list = field(default_factory=list)  # Agency rows with member_count (empty for everyone)
    members: list = field(default_factory=list)  # Membership rows reading by name
    agency_count: int = 0
    member_count: int = 0  # memberships that read: of the agencies, plus those by name


class _ItemRows:
    """Our alerts and practices as one list for the paginator: counted per table, sliced from one UNION.

    (Counting the ordered UNION itself is refused on SQLite: ORDER BY in a compound subquery.)
    """

    def __init__(self, alerts: QuerySet, practices: QuerySet):
        self.alerts, self.practices = alerts, practices

    def count(self) -> int:
        return self.alerts.count() + self.practices.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, index):
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


def readers_for_items(rows, *, viewer) -> list[ItemReaders]:
    """Readers of one page of `agency_items` rows (bounded: a page, a few queries per item)."""
    ids = {"alert": [r[0] for r in rows if r[2] == "alert"], "practice": [r[0] for r in rows if r[2] == "practice"]}
    objects = {
        **{("alert", a.pk): a for a in access.alert_rows(Alert.objects.filter(pk__in=ids["alert"]))},
        **{("practice", p.pk): p for p in access.practice_rows(Practice.objects.filter(pk__in=ids["practice"]))},
    }
    visible = set(access.alerts_visible_to(viewer).filter(pk__in=ids["alert"]).values_list("pk", flat=True)) | set(
        access.practices_visible_to(viewer).filter(pk__in=ids["practice"]).values_list("pk", flat=True)
    )
    result = []
    for pk, _, kind in rows:
        obj = objects.get((kind, pk))
        if obj is None:
            continue
        readership = access.readers_of(obj)
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
    reader_memberships: list
    items: list  # our alerts and practices this read returned


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


def _reading_memberships(item, candidates: list) -> set[int]:
    """Of `candidates` (a reader's memberships), those through which `item` is read (`access.readers_of`)."""
    readership = access.readers_of(item)
    if readership.everyone:
        return {m.pk for m in candidates}
    return set(
        Membership.objects.filter(pk__in=[m.pk for m in candidates])
        .filter(Q(agency__in=readership.agencies) | Q(pk__in=readership.members.values("pk")))
        .values_list("pk", flat=True)
    )


def read_events(agency: Agency, entries) -> list[ReadEvent]:
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
    items = {str(a.pk): a for a in Alert.objects.filter(agency=agency, pk__in=ids)}
    items.update({str(p.pk): p for p in Practice.objects.filter(agency=agency, pk__in=ids)})
    users = {u.username: u for u in User.objects.filter(username__in={e.actor for e in entries})}
    memberships: dict[int, list] = {}
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
