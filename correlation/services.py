"""Correlation (SPEC section 6): container and vessel matches across ports, told only to who may know.

Matching runs inside the transaction that stores the new object (the relay
batch for scans, the publish for alerts), so a notice is never lost nor made
twice: `pair_key` is unique and inserts ignore conflicts.

Who learns of a match is decided per member (`_tell`): members who read both
sides get the notice; where the other side's agency cannot read a side, the
readers of the more restricted side get a one-sided hit (and may share).
"""

from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

import access
from notifications.services import notify
from notifications.subjects import message, term
from ports import audit
from ports.models import Agency, Membership, Role, Sector
from scans.models import Delivery, DeliveryReason, Scan, Verdict
from sharing import documents
from sharing.models import Alert, AlertIdentifier, DocumentStatus, IdentifierKind, Tlp

from .models import Correlation, CorrelationKind, HitStatus, OneSidedHit

WINDOW = timedelta(days=90)
ALERTING = (Verdict.SUSPECT, Verdict.POSITIVE)
MAX_MATCHES = 20  # per new object and identifier: a container seen a hundred times is one story, not a hundred


def _port_of(obj) -> str | None:
    if isinstance(obj, Scan):
        return obj.port_id
    return obj.agency.port_id or obj.port_id


def owner_of(obj) -> Agency:
    """A scan belongs to its node's agency, an alert to its author agency."""
    return obj.node.agency if isinstance(obj, Scan) else obj.agency


def _ref(obj) -> str:
    return f"{'scan' if isinstance(obj, Scan) else 'alert'}:{obj.pk}"


def _sides(new, old) -> dict:
    out = {}
    for which, obj in (("a", new), ("b", old)):
        out[f"{'scan' if isinstance(obj, Scan) else 'alert'}_{which}"] = obj
    return out


def _label(obj) -> dict:
    """One side of a correlation, as part of a notice's subject (rendered in the reader's language)."""
    if isinstance(obj, Scan):
        return message("correlation.scan", port=obj.port_id, verdict=term(Verdict(obj.verdict).label))
    return message("correlation.alert", agency=obj.agency.slug)


def _record(kind: str, value: str, new, old, pair_key: str) -> Correlation | None:
    correlation, created = Correlation.objects.get_or_create(
        pair_key=pair_key, defaults={"kind": kind, "value": value, **_sides(new, old)}
    )
    if not created:
        return None
    _tell(correlation, new, old)
    return correlation


def _readers_among(obj, candidates) -> set[int]:
    """The candidate memberships that may read `obj`, by the one access rule read per member: a scan by
    agency (its port or a grant), an alert by `readers_of` (RED names members, not agencies)."""
    if isinstance(obj, Scan):
        agencies = {m.agency for m in candidates.select_related("agency")}
        qs = candidates.filter(agency__in=[a for a in agencies if access.scan_readable_by_agency(obj, a)])
        if obj.integrity_failed:
            qs = qs.filter(agency_id=obj.node.agency_id, role__in=access.INTEGRITY_ROLES)
    else:
        readers = access.readers_of(obj)
        qs = (
            candidates
            if readers.everyone
            else candidates.filter(Q(agency__in=readers.agencies) | Q(pk__in=readers.members.values("pk")))
        )
    return set(qs.values_list("pk", flat=True))


# How restricted a record is (SPEC section 6): the more restricted side's readers are the ones told.
RESTRICTION = {Tlp.RED: 5, Tlp.AMBER_STRICT: 4, Tlp.AMBER: 3, Tlp.GREEN: 1, Tlp.CLEAR: 1}
SCAN_RESTRICTION = 2
NEVER_REVEALED = 4  # AMBER+STRICT and RED: nobody learns of such a record they cannot read


def restriction(obj) -> int:
    return SCAN_RESTRICTION if isinstance(obj, Scan) else RESTRICTION[obj.tlp]


def _told_sides(sides: dict) -> list[str]:
    """Which side's readers a one-sided hit may tell: the more restricted one; at equal restriction both
    (hit/no-hit), except for AMBER+STRICT and RED, where telling either would reveal the other."""
    rank = {which: restriction(obj) for which, obj in sides.items()}
    if rank["a"] == rank["b"]:
        return [] if rank["a"] >= NEVER_REVEALED else ["a", "b"]
    told = "a" if rank["a"] > rank["b"] else "b"
    other = "b" if told == "a" else "a"
    # The told side learns that the other agency holds a matching record; never of an AMBER+STRICT or RED one.
    return [] if rank[other] >= NEVER_REVEALED else [told]


def _tell(correlation: Correlation, new, old) -> None:
    """Who learns of a match is decided per member, never per agency (SPEC section 6).

    A member who reads both sides gets the notice. A member who reads one side only learns nothing from the
    notice. Where some readers of one side (the other owner agency's members) cannot read the other, a
    one-sided hit tells the readers of the more restricted side, and only them, that their record matches a
    record of the other side's agency; the hit is listed to the owner agency's members who read its side.
    """
    owners = {"a": owner_of(new), "b": owner_of(old)}
    sides = {"a": new, "b": old}
    named = Q()
    for obj in sides.values():
        if not isinstance(obj, Scan) and obj.tlp == Tlp.RED:
            named |= Q(pk__in=access.readers_of(obj).members.values("pk"))
    candidates = Membership.objects.filter(
        Q(agency__in=set(owners.values())) | named, is_active=True, user__is_active=True, agency__is_active=True
    )
    reads = {which: _readers_among(sides[which], candidates) for which in sides}
    members_of = {which: set(candidates.filter(agency=owners[which]).values_list("pk", flat=True)) for which in sides}
    both = reads["a"] & reads["b"]
    if both:
        notify(
            kind="correlation",
            subject=message(
                "correlation",
                kind=term(CorrelationKind(correlation.kind).label),
                value=correlation.value,
                new=_label(new),
                old=_label(old),
            ),
            url=f"/correlations/#{correlation.pk}",
            memberships=sorted(both),
        )
    for hidden in _told_sides(sides):
        other = "b" if hidden == "a" else "a"
        seeker, owner = owners[other], owners[hidden]
        if seeker.pk == owner.pk or members_of[other] <= reads[hidden]:
            continue  # the same agency, or every member of the other agency already reads this side
        if (isinstance(sides[hidden], Scan) or isinstance(sides[other], Scan)) and not (
            seeker.sector == Sector.PUBLIC and owner.sector == Sector.PUBLIC
        ):
            continue  # scans are never shared with, nor spoken of to, the private sector
        told = reads[hidden] & members_of[hidden]
        if not told:
            continue  # nobody of the owner agency reads this record (a RED alert's author left): nobody to tell
        hit, created = OneSidedHit.objects.get_or_create(
            correlation=correlation, hidden_side=hidden, other_agency=seeker, defaults={"owner_agency": owner}
        )
        deciders = set(
            candidates.filter(agency=owner, role__in=(Role.OFFICER, Role.ADMIN)).values_list("pk", flat=True)
        )
        if created and told & deciders:
            notify(
                kind="one_sided_hit",
                subject=message(
                    "hit.scan" if isinstance(sides[hidden], Scan) else "hit.alert",
                    kind=term(CorrelationKind(correlation.kind).label),
                    value=correlation.value,
                    agency=seeker.slug,
                ),
                url=f"/correlations/#hit-{hit.pk}",
                memberships=sorted(told & deciders),
            )


def _candidates(scans: list[Scan]) -> tuple[dict[str, set[str]], set[str]]:
    """Two queries for the whole batch: the ports of suspect/positive scans of each container, and the
    containers named by alerts. Most scans match nothing; only those that may are then looked at one
    by one (two queries per scan made the relay slower than ingest at 150 scans/s in the soak test)."""
    containers = {s.container for s in scans}
    since = min(s.scanned_at for s in scans) - WINDOW
    until = max(s.scanned_at for s in scans) + WINDOW
    alerting_ports: dict[str, set[str]] = {}
    rows = (
        Scan.objects.filter(container__in=containers, verdict__in=ALERTING, scanned_at__range=(since, until))
        .values_list("container", "port_id")
        .distinct()
    )
    for container, port in rows:
        alerting_ports.setdefault(container, set()).add(port)
    alert_containers = set(
        AlertIdentifier.objects.filter(kind=IdentifierKind.CONTAINER, value__in=containers).values_list(
            "value", flat=True
        )
    )
    return alerting_ports, alert_containers


def correlate_scans(scans: list[Scan]) -> int:
    """Relay hook, inside the relay transaction, once per scan."""
    made = 0
    scans = list(Scan.objects.filter(pk__in=[s.pk for s in scans]).select_related("node__agency"))
    if not scans:
        return 0
    alerting_ports, alert_containers = _candidates(scans)
    for scan in scans:
        since, until = scan.scanned_at - WINDOW, scan.scanned_at + WINDOW
        if scan.container in alert_containers or alerting_ports.get(scan.container, set()) - {scan.port_id}:
            made += _correlate_container(scan, since, until)
        if scan.vessel_imo and scan.verdict in ALERTING:
            made += _correlate_vessel(scan)
    return made


def _correlate_container(scan: Scan, since, until) -> int:
    made = 0
    earlier = (
        Scan.objects.filter(container=scan.container, verdict__in=ALERTING, scanned_at__range=(since, until))
        .exclude(port_id=scan.port_id)
        .exclude(pk=scan.pk)
        .select_related("node__agency")
        .order_by("-scanned_at")[:MAX_MATCHES]
    )
    for other in earlier:
        key = f"container:{scan.container}:" + "|".join(sorted([_ref(scan), _ref(other)]))
        made += _record(CorrelationKind.CONTAINER, scan.container, scan, other, key) is not None
    alerts = (
        Alert.objects.filter(
            identifiers__kind=IdentifierKind.CONTAINER,
            identifiers__value=scan.container,
            created_at__range=(since, until),
        )
        .exclude(status=DocumentStatus.WITHDRAWN)
        .select_related("agency")
        .order_by("-created_at")[:MAX_MATCHES]
    )
    for alert in alerts:
        if _port_of(alert) == scan.port_id:
            continue
        key = f"container:{scan.container}:" + "|".join(sorted([_ref(scan), _ref(alert)]))
        made += _record(CorrelationKind.CONTAINER, scan.container, scan, alert, key) is not None
    return made


def _correlate_vessel(scan: Scan) -> int:
    assert scan.vessel_imo is not None  # correlate_scan calls this for scans that name a vessel
    made = 0
    year, week, _weekday = scan.scanned_at.isocalendar()
    others = (
        Scan.objects.filter(
            vessel_imo=scan.vessel_imo,
            verdict__in=ALERTING,
            scanned_at__range=(scan.scanned_at - WINDOW, scan.scanned_at + WINDOW),
        )
        .exclude(port_id=scan.port_id)
        .select_related("node__agency")
        .order_by("-scanned_at")
    )
    seen_ports: set[str] = set()
    for other in others[: MAX_MATCHES * 5]:
        if other.port_id in seen_ports:
            continue
        seen_ports.add(other.port_id)
        pair = "|".join(sorted([scan.port_id, other.port_id]))
        key = f"vessel:{scan.vessel_imo}:{pair}:{year}-W{week:02d}"
        made += _record(CorrelationKind.VESSEL, scan.vessel_imo, scan, other, key) is not None
    return made


def correlate_alert(alert: Alert) -> int:
    """After a publish or a new version, inside its transaction: the alert's containers against
    suspect/positive scans and alerts from other ports within 90 days."""
    if alert.status == DocumentStatus.WITHDRAWN or not alert.containers:
        return 0
    alert = Alert.objects.select_related("agency").get(pk=alert.pk)
    port = _port_of(alert)
    since, until = alert.first_created_at - WINDOW, alert.created_at + WINDOW
    made = 0
    for container in alert.containers:
        scans = (
            Scan.objects.filter(container=container, verdict__in=ALERTING, scanned_at__range=(since, until))
            .select_related("node__agency")
            .order_by("-scanned_at")
        )
        if port:
            scans = scans.exclude(port_id=port)
        for scan in scans[:MAX_MATCHES]:
            key = f"container:{container}:" + "|".join(sorted([_ref(alert), _ref(scan)]))
            made += _record(CorrelationKind.CONTAINER, container, alert, scan, key) is not None
        others = (
            Alert.objects.filter(
                identifiers__kind=IdentifierKind.CONTAINER, identifiers__value=container, created_at__gte=since
            )
            .exclude(pk=alert.pk)
            .exclude(status=DocumentStatus.WITHDRAWN)
            .select_related("agency")
            .order_by("-created_at")[:MAX_MATCHES]
        )
        for other in others:
            if port and _port_of(other) == port:
                continue
            key = f"container:{container}:" + "|".join(sorted([_ref(alert), _ref(other)]))
            made += _record(CorrelationKind.CONTAINER, container, alert, other, key) is not None
    return made


def correlate_copies(kind: str, heads: list, versions: list) -> int:
    """Hook `copies_stored`: each alert copy that became the head, as `correlate_alert` after a publish (only
    alerts naming containers cost queries)."""
    if kind != "alert":
        return 0
    return sum(correlate_alert(head) for head in heads)


# ---------------------------------------------------------------- reading and sharing


def _acting_membership(user, agency_id: int) -> Membership:
    """The caller's officer or admin membership of the owning agency (the reader's, so a token's one only)."""
    membership = next(
        (m for m in access.memberships_with_role(user, Role.OFFICER, Role.ADMIN) if m.agency_id == agency_id), None
    )
    if membership is None:
        raise PermissionDenied(_("Only an officer or admin of the owning agency may share."))
    return membership


def _locked_hit(user, hit_id: int) -> OneSidedHit:
    """The hit, locked, if the user may see it (`hits_for`); 404 for missing and forbidden alike."""
    if not access.hits_for(user).filter(pk=hit_id).exists():
        raise Http404(_("No such hit."))
    return OneSidedHit.objects.select_for_update().get(pk=hit_id)


@transaction.atomic
def hit_share(*, user, hit_id: int, users: list[str] | None = None) -> OneSidedHit:
    """Share the hidden side with the other agency: a new alert version adding it to the audience, or a
    read grant for a scan (as a relay does). Idempotent: a shared hit stays shared."""
    from scans.services.relay import grant_scan_read, run_after_relay_hooks
    from sharing.services.alerts import alert_version_create

    hit = _locked_hit(user, hit_id)
    if hit.status != HitStatus.OPEN:
        return hit
    membership = _acting_membership(user, hit.owner_agency_id)
    obj = hit.correlation.side(hit.hidden_side)
    other = hit.other_agency
    if isinstance(obj, Scan):
        if other.sector != Sector.PUBLIC:
            raise ValidationError({"agency": [_("Scans are never shared with the private sector.")]})
        delivery, _created = Delivery.objects.get_or_create(
            scan=obj, agency=other, defaults={"reason": DeliveryReason.SHARED, "created_at": timezone.now()}
        )
        grant_scan_read(scans_agencies=[(obj, other.pk)])
        # As after a relay: webhooks (and any other after-relay hook) see the new delivery once committed.
        transaction.on_commit(lambda: run_after_relay_hooks([delivery.pk], [obj.pk]), robust=True)
    else:
        editor = access.editor_membership(user, obj)
        audience = {k: list(v) for k, v in documents.alert_document(obj)["audience"].items()}
        if obj.tlp in (Tlp.AMBER, Tlp.AMBER_STRICT):
            audience["agencies"] = sorted({*audience["agencies"], other.slug})
        elif obj.tlp == Tlp.RED:
            chosen = users or list(
                Membership.objects.filter(
                    agency=other, is_active=True, role__in=(Role.OFFICER, Role.ADMIN)
                ).values_list("handle", flat=True)
            )
            audience["users"] = sorted({*audience["users"], *chosen})
        alert_version_create(membership=editor, alert=obj, data={"audience": audience})
    hit.status = HitStatus.SHARED
    hit.decided_at = timezone.now()
    hit.decided_by = membership
    hit.save(update_fields=["status", "decided_at", "decided_by"])
    audit.record(user, "correlation.hit_shared", hit.correlation, {"hit": hit.pk, "with": other.slug})
    obj.refresh_from_db()
    receivers = Membership.objects.filter(agency=other, is_active=True, user__is_active=True)
    notify(
        kind="correlation",
        subject=message(
            "hit.shared",
            agency=owner_of(obj).slug,
            kind=term(CorrelationKind(hit.correlation.kind).label),
            value=hit.correlation.value,
        ),
        url=f"/correlations/#{hit.correlation_id}",
        memberships=sorted(_readers_among(obj, receivers)),
    )
    return hit


@transaction.atomic
def hit_dismiss(*, user, hit_id: int) -> OneSidedHit:
    hit = _locked_hit(user, hit_id)
    membership = _acting_membership(user, hit.owner_agency_id)
    if hit.status == HitStatus.OPEN:
        hit.status, hit.decided_at, hit.decided_by = HitStatus.DISMISSED, timezone.now(), membership
        hit.save(update_fields=["status", "decided_at", "decided_by"])
        audit.record(user, "correlation.hit_dismissed", hit.correlation, {"hit": hit.pk})
    return hit
