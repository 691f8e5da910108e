"""Alert writes (SPEC section 3): publish, pre-signed publish, new versions (edit, withdrawal)."""

from django.db import transaction
from django.db.models import Q

import access
from alliance import hooks
from notifications.services import notify
from ports.models import Agency, Membership, Sector

from .. import documents
from ..models import Alert, AlertGrant, AlertIdentifier, AlertVersion, Feedback, GrantKind, IdentifierKind
from . import signed


def _index_identifiers(alert: Alert, doc: dict) -> None:
    AlertIdentifier.objects.filter(alert=alert).delete()
    AlertIdentifier.objects.bulk_create(
        [AlertIdentifier(alert=alert, kind=IdentifierKind.CONTAINER, value=c) for c in doc["containers"]]
        + [AlertIdentifier(alert=alert, kind=IdentifierKind.VESSEL, value=v) for v in doc["vessels"]]
    )


def _correlated(alert: Alert) -> Alert:
    """Container matches are found in the publishing transaction: a notice lands with its alert or not at all."""
    hooks.run("alert_published", alert)
    return alert


def _tell_addressees(alert: Alert) -> Alert:
    """A new alert's notice to those it is addressed to: the members and agencies its audience names, the
    public-sector agencies at the ports it names and at the alert's own port (GREEN and CLEAR alerts have no
    audience: their port is whom they concern); of those only who read it (not the author's agency)."""
    grants = list(alert.grants.all())
    # A remote member's agency (RED, SPEC 10.1) is not addressed: only its named member is, at its home instance.
    agency_ids = {g.agency_id for g in grants if g.kind == GrantKind.AGENCY and g.agency_id}
    port_ids = {g.port_id for g in grants if g.port_id}
    if alert.port_id:
        port_ids.add(alert.port_id)
    member_ids = {g.member_id for g in grants if g.member_id}
    if not (agency_ids or port_ids or member_ids):
        return alert
    if port_ids:
        agency_ids |= set(
            Agency.objects.filter(port_id__in=port_ids, sector=Sector.PUBLIC, is_active=True).values_list(
                "id", flat=True
            )
        )
    agency_ids.discard(alert.agency_id)  # the author's own agency wrote it: not addressed to it
    readers = access.readers_of(alert)
    if not readers.everyone:
        readable = set(readers.agencies.values_list("id", flat=True))
        agency_ids &= readable
        member_ids = set(
            Membership.objects.filter(pk__in=member_ids)
            .filter(Q(agency_id__in=readable) | Q(pk__in=readers.members.values("pk")))
            .values_list("id", flat=True)
        )
    notify(
        kind="alert",
        subject=alert.title,
        url=alert.get_absolute_url(),
        tlp=alert.tlp,
        agencies=sorted(agency_ids),
        memberships=sorted(member_ids),
        exclude_memberships=Membership.objects.filter(handle=alert.author).values_list("id", flat=True),
    )
    return alert


ALERT = signed.Kind(
    name="alert",
    typ=documents.ALERT_TYP,
    model=Alert,
    version_model=AlertVersion,
    grant_model=AlertGrant,
    fk="alert",
    keys=documents.ALERT_KEYS,
    validate=documents.validate_alert,
    document=documents.alert_document,
    search_fields=("title", "body", "category"),
    index_rows=_index_identifiers,
)


@transaction.atomic
def alert_publish(*, membership: Membership, data: dict) -> Alert:
    """A new alert signed by the portal with the acting agency's held key."""
    return _tell_addressees(_correlated(signed.publish(ALERT, membership=membership, data=data)))


@transaction.atomic
def alert_publish_signed(*, user, jws: str) -> Alert:
    """A new alert already signed with an external key of the caller's agency; stored unchanged."""
    return _tell_addressees(_correlated(signed.publish_signed(ALERT, user=user, jws=jws)))


@transaction.atomic
def alert_version_create(*, membership: Membership, alert: Alert, data: dict) -> Alert:
    """An edit or withdrawal (`{"status": "withdrawn"}`): version n+1, portal-signed."""
    alert = signed.lock_head(ALERT, alert)
    return _correlated(signed.new_version(ALERT, membership=membership, head=alert, data=data))


@transaction.atomic
def alert_version_create_signed(*, user, alert: Alert, jws: str) -> Alert:
    alert = signed.lock_head(ALERT, alert)
    return _correlated(signed.publish_signed(ALERT, user=user, jws=jws, head=alert))


@transaction.atomic
def alert_store_copy(*, agency, key, jws: str, payload: dict) -> tuple[Alert | None, bool]:
    """A version of an alert homed at another instance (SPEC 10.2): stored unchanged, correlated like ours."""
    head, stored = signed.store_copy(ALERT, agency=agency, key=key, jws=jws, payload=payload)
    if stored and head is not None and head.version == payload["version"]:
        _correlated(head)
    return head, stored


@transaction.atomic
def alert_remove_copy(*, alert_id) -> bool:
    """Remove an alert this instance may no longer hold (a peer's tombstone): versions, feedback, audience."""
    if not Alert.objects.filter(pk=alert_id).exists():
        return False
    Feedback.objects.filter(alert_id=alert_id).delete()
    AlertVersion.objects.filter(alert_id=alert_id).delete()
    Alert.objects.filter(pk=alert_id).delete()
    return True
