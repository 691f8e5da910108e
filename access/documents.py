"""Alerts, best practices and feedback: the TLP 2.0 rule of SPEC section 4, in one place.

Lists are one indexed query built from the reader's memberships and the
object's TLP and audience columns; details go through the same queryset and
answer 404 for missing and forbidden alike. There is no superuser bypass.

The TLP table as one SQL condition over the object's own columns (tlp,
agency, author) and its grant rows (the latest version's audience, one indexed
row per named agency, port or member). The same condition serves lists,
details, search, counts and exports.
"""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from ports.models import Agency, Membership, Role, Sector
from ports.selectors import active_memberships
from ports.signing import SignatureStatus
from sharing import documents
from sharing.models import Alert, AlertGrant, Feedback, GrantKind, Handling, Practice, PracticeGrant, Tlp

from .reader import INTEGRITY_ROLES, Reader, integrity_agency_ids, reader_for

# The two kinds of signed document the TLP rule covers, and their grant rows.
_Doc = TypeVar("_Doc", Alert, Practice)
_GrantModel = type[AlertGrant] | type[PracticeGrant]
_T = TypeVar("_T")


@dataclass(frozen=True)
class TlpColumns:
    """Where the TLP rule finds an object's tlp, agency, author and id: on the object itself (the default), or
    on a row that carries copies of them (a feed entry: `access.feeds`). The rule is written once, below."""

    tlp: str = "tlp"
    agency: str = "agency_id"
    author: str = "author"
    pk: str = "pk"


OBJECT_COLUMNS = TlpColumns()


def _tlp_condition(reader: Reader, grant_model: _GrantModel, fk_name: str, on: TlpColumns = OBJECT_COLUMNS) -> Q:
    grants = grant_model.objects.filter(
        Q(agency_id__in=reader.agency_ids, kind=GrantKind.AGENCY)
        | Q(port_id__in=reader.public_port_ids)
        | Q(member_id__in=reader.membership_ids)
        # A RED handle of a member homed at a peer: read by that peer (its home agencies) only, never by a member
        # here, however close (the same agency's colleagues hold no such grant).
        | Q(agency_id__in=reader.named_member_agency_ids, kind=GrantKind.REMOTE_USER)
    ).values(fk_name)
    return (
        Q(**{f"{on.tlp}__in": (Tlp.CLEAR, Tlp.GREEN)})
        | Q(**{f"{on.tlp}__in": (Tlp.AMBER, Tlp.AMBER_STRICT), f"{on.agency}__in": reader.agency_ids})
        | Q(**{on.tlp: Tlp.RED, f"{on.author}__in": reader.handles})
        | Q(**{f"{on.pk}__in": grants})
    )


def tlp_condition_on(user: Any, kind: str, on: TlpColumns) -> Q:
    """The TLP table of `_visible` (without its integrity clause) over the columns `on` names, for a row that
    copies an alert's (`kind` "alert") or practice's tlp, agency and author. Nothing for a non-member."""
    reader = reader_for(user)
    if not reader.is_member:
        return Q(pk__in=[])
    if kind == "alert":
        return _tlp_condition(reader, AlertGrant, "alert_id", on)
    return _tlp_condition(reader, PracticeGrant, "practice_id", on)


def _visible(model: type[_Doc], grant_model: _GrantModel, fk_name: str, user: Any) -> QuerySet[_Doc]:
    reader = reader_for(user)
    if not reader.is_member:  # anonymous, scanner nodes, superusers without a membership: nothing
        return model.objects.none()
    condition = _tlp_condition(reader, grant_model, fk_name)
    # Fail closed: objects the verifier found invalid stay visible only to their agency's officers and admins.
    condition &= Q(integrity_failed=False) | Q(agency_id__in=integrity_agency_ids(reader))
    return model.objects.filter(condition)


def _with_rows(qs: QuerySet[_Doc], grant_model: _GrantModel) -> QuerySet[_Doc]:
    """Everything serialising and verifying a page needs, in a fixed number of queries."""
    return qs.select_related("agency", "key").prefetch_related(
        Prefetch("grants", queryset=grant_model.objects.select_related("agency", "member"))
    )


def alerts_visible_to(user: Any) -> QuerySet[Alert]:
    return _visible(Alert, AlertGrant, "alert_id", user)


def practices_visible_to(user: Any) -> QuerySet[Practice]:
    return _visible(Practice, PracticeGrant, "practice_id", user)


def verified_for(user: Any, objects: Iterable[_T], *, typ: str) -> list[_T]:
    """Verify each object (bounded: one page) and leave out invalid ones for everyone but the agency's officers and admins.

    Sets `signature_status` on every object returned.
    """
    reader = reader_for(user)
    guardians = integrity_agency_ids(reader)
    kept = []
    for obj in objects:
        row: Any = obj  # `signature_status` is set here, on alerts, practices and their versions alike
        row.signature_status = documents.signature_status(row, typ=typ)
        if row.signature_status == SignatureStatus.INVALID and row.agency_id not in guardians:
            continue
        kept.append(obj)
    return kept


def _get_for(user: Any, qs: QuerySet[_Doc], grant_model: _GrantModel, object_id: object, typ: str) -> _Doc:
    try:
        pk = uuid.UUID(str(object_id))
    except ValueError:
        raise Http404("No such object.")
    obj = _with_rows(qs.filter(pk=pk), grant_model).first()
    if obj is None or not verified_for(user, [obj], typ=typ):
        # Missing, forbidden and failed-closed answer alike: existence does not leak.
        raise Http404("No such object.")
    return obj


def get_alert_for(user: Any, alert_id: object) -> Alert:
    return _get_for(user, alerts_visible_to(user), AlertGrant, alert_id, documents.ALERT_TYP)


def get_practice_for(user: Any, practice_id: object) -> Practice:
    return _get_for(user, practices_visible_to(user), PracticeGrant, practice_id, documents.PRACTICE_TYP)


def alert_rows(qs: QuerySet[Alert]) -> QuerySet[Alert]:
    return _with_rows(qs, AlertGrant)


def practice_rows(qs: QuerySet[Practice]) -> QuerySet[Practice]:
    return _with_rows(qs, PracticeGrant)


def acting_officer_membership(user: Any, agency_slug: str | None = None) -> Membership:
    """The membership an officer publishes under: their officer membership, or the one at `agency_slug`.

    Raises PermissionDenied (403) for a caller who is an officer nowhere.
    """
    officer = [m for m in active_memberships(user) if m.role == Role.OFFICER]
    if not officer:
        raise PermissionDenied(_("Only officers publish."))
    if agency_slug:
        for membership in officer:
            if membership.agency.slug == agency_slug:
                return membership
        raise ValidationError({"agency": [_("You are not an officer of %(agency)s.") % {"agency": repr(agency_slug)}]})
    if len(officer) > 1:
        raise ValidationError({"agency": [_("You are an officer of several agencies: say which one acts.")]})
    return officer[0]


def editor_membership(user: Any, obj: Alert | Practice) -> Membership:
    """Who may sign a new version: an officer of the author agency; of a RED object, its author only."""
    for membership in active_memberships(user):
        if membership.agency_id != obj.agency_id or membership.role != Role.OFFICER:
            continue
        if obj.tlp == Tlp.RED and membership.handle != obj.author:
            break
        return membership
    raise PermissionDenied(_("Only an officer of the author agency (for RED: the author) signs a new version."))


def alerts_exportable_to(user: Any) -> QuerySet[Alert]:
    """What may leave the portal (exports, feeds, webhooks): the visible alerts minus handling codes H2 and H3."""
    return alerts_visible_to(user).exclude(handling__in=(Handling.H2, Handling.H3))


# ---------------------------------------------------------------- Feeds to outside tools (SPEC section 10.3)
#
# A feed (the MISP feed) hands copies to a tool that keeps no TLP rule of ours: of what may leave the portal,
# only CLEAR, GREEN and AMBER cross (AMBER+STRICT and RED never), and an integrity failure is held back from
# everyone, the agency's own officers included (they see it in the portal, not in a copy elsewhere).
FEED_TLPS = (Tlp.CLEAR, Tlp.GREEN, Tlp.AMBER)


def alerts_feedable_to(user: Any) -> QuerySet[Alert]:
    """The alerts a feed may carry to `user`: exportable, TLP CLEAR, GREEN or AMBER, not marked invalid.

    One indexed query, as every list: the feed's index (the MISP manifest) is this queryset's rows.
    """
    return alerts_exportable_to(user).filter(tlp__in=FEED_TLPS, integrity_failed=False)


def get_feed_alert_for(user: Any, alert_id: object) -> Alert:
    """One feedable alert, its signature verified on this read: 404 for missing, forbidden and invalid alike.

    Unlike `get_alert_for`, an invalid signature fails closed for every reader, the agency's officers too.
    """
    try:
        pk = uuid.UUID(str(alert_id))
    except ValueError:
        raise Http404("No such object.")
    obj = alert_rows(alerts_feedable_to(user).filter(pk=pk)).first()
    if obj is None:
        raise Http404("No such object.")
    row: Any = obj
    row.signature_status = documents.signature_status(obj, typ=documents.ALERT_TYP)
    if row.signature_status == SignatureStatus.INVALID:
        raise Http404("No such object.")
    return obj


@dataclass(frozen=True)
class Readership:
    """Who may read one alert or practice: whole agencies, and members who read on their own (RED)."""

    everyone: bool  # CLEAR and GREEN: every member of every agency
    agencies: QuerySet[Agency]  # every active member of these agencies reads
    members: QuerySet[Membership]  # memberships reading by name (RED author and recipients), active only
    withheld: bool = False  # failed its integrity check: only the agency's officers and admins among the above


def readers_of(obj: Alert | Practice) -> Readership:
    """`_tlp_condition` read the other way round, for the agency admins' report (SPEC section 4).

    Keep the two in step: the report's tests compare this with `alerts_visible_to`
    for every member of the cast.
    """
    grants = list(obj.grants.all())
    granted_agencies = [g.agency_id for g in grants if g.kind == GrantKind.AGENCY]  # not a remote member's agency
    granted_ports = [g.port_id for g in grants if g.port_id]
    granted_members = [g.member_id for g in grants if g.member_id]
    active_agencies = Agency.objects.filter(is_active=True)
    everyone = obj.tlp in (Tlp.CLEAR, Tlp.GREEN)
    if everyone:
        agencies = active_agencies
    else:
        condition = Q(pk__in=granted_agencies) | Q(sector=Sector.PUBLIC, port_id__in=granted_ports)
        if obj.tlp in (Tlp.AMBER, Tlp.AMBER_STRICT):
            condition |= Q(pk=obj.agency_id)
        agencies = active_agencies.filter(condition)
    member_condition = Q(pk__in=granted_members)
    if obj.tlp == Tlp.RED:
        member_condition |= Q(handle=obj.author)
    members = Membership.objects.filter(member_condition, is_active=True, agency__is_active=True)
    if obj.integrity_failed:
        # Fail closed, as `_visible` does: of the readers, only the agency's officers and admins still read.
        guardians = Membership.objects.filter(
            agency_id=obj.agency_id, role__in=INTEGRITY_ROLES, is_active=True, agency__is_active=True
        )
        readers = guardians.filter(Q(agency__in=agencies) | Q(pk__in=members.values("pk")))
        return Readership(everyone=False, agencies=agencies.none(), members=readers, withheld=True)
    return Readership(everyone=everyone, agencies=agencies, members=members.exclude(agency__in=agencies))


# ---------------------------------------------------------------- Feedback on alerts
#
# Feedback has its own audience (SPEC section 3): the author agency, the
# reporting agency and liaisons, and of those only who can also read the
# alert (so a RED alert's feedback reaches its author and named readers only).


def feedback_visible_to(user: Any, alert: Alert) -> QuerySet[Feedback]:
    reader = reader_for(user)
    if not reader.is_member or not alerts_visible_to(user).filter(pk=alert.pk).exists():
        return Feedback.objects.none()
    qs = Feedback.objects.filter(alert_id=alert.pk)
    if alert.agency_id not in reader.agency_ids and not reader.is_liaison:
        qs = qs.filter(agency_id__in=reader.agency_ids)
    return qs.select_related("agency", "author", "key")


def feedback_membership(user: Any, alert: Alert, agency_slug: str | None = None) -> Membership:
    """The public-sector membership a reader reports under (`agency_slug` when they belong to several): one
    that itself reads the alert, so feedback is never attributed to an agency outside its audience.

    Raises PermissionDenied (403) for a caller with no such membership.
    """
    public = [m for m in active_memberships(user) if m.agency_sector == Sector.PUBLIC]
    readers = readers_of(alert)
    if public and not readers.everyone:
        reading = set(
            Membership.objects.filter(pk__in=[m.pk for m in public])
            .filter(Q(agency__in=readers.agencies) | Q(pk__in=readers.members.values("pk")))
            .values_list("pk", flat=True)
        )
        public = [m for m in public if m.pk in reading]
    if not public:
        raise PermissionDenied(_("Feedback comes from public-sector readers of the alert only."))
    if agency_slug:
        for membership in public:
            if membership.agency.slug == agency_slug:
                return membership
        raise ValidationError(
            {
                "agency": [
                    _("You do not read this alert as a member of the public-sector agency %(agency)s.")
                    % {"agency": repr(agency_slug)}
                ]
            }
        )
    if len({m.agency_id for m in public}) > 1:
        raise ValidationError({"agency": [_("You belong to several public-sector agencies: say which one reports.")]})
    return public[0]


def signature_status_of(obj: Alert | Practice | Any, *, typ: str) -> str:
    """An alert or practice row's (head or version) signature status, recomputed from its JWS (feeds use it)."""
    return documents.signature_status(obj, typ=typ)


def signature_status_and_document_of(obj: Alert | Practice | Any, *, typ: str) -> tuple[str, dict[str, Any] | None]:
    """`signature_status_of`, and the signed document itself when the status is not invalid (feeds serve it)."""
    return documents.signature_status_and_document(obj, typ=typ)


def feedback_signature_status_of(feedback: Feedback) -> str:
    """Signed feedback's status, recomputed from its JWS and fields (`unsigned`: recorded before signing)."""
    return documents.feedback_signature_status(feedback)
