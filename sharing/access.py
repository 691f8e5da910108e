"""The one access rule (SPEC section 4), in one place.

Every list, detail, search, count, export, relay and webhook asks this module.
Lists are one indexed query built from the reader's memberships and the
object's TLP and audience columns; details go through the same queryset and
answer 404 for missing and forbidden alike. There is no superuser bypass.
"""

from dataclasses import dataclass, field

from ports.models import Membership, Role, Sector
from ports.selectors import active_memberships


@dataclass(frozen=True)
class Reader:
    """What the access rule needs to know about a reader, computed once per request."""

    user_id: int | None
    membership_ids: frozenset[int] = field(default_factory=frozenset)
    handles: frozenset[str] = field(default_factory=frozenset)
    agency_ids: frozenset[int] = field(default_factory=frozenset)
    public_agency_ids: frozenset[int] = field(default_factory=frozenset)
    # Ports where the reader has a public-sector agency (AMBER audience.ports).
    public_port_ids: frozenset[str] = field(default_factory=frozenset)
    roles_by_agency: dict = field(default_factory=dict)

    @property
    def is_member(self) -> bool:
        return bool(self.agency_ids)

    @property
    def is_public_sector(self) -> bool:
        return bool(self.public_agency_ids)

    @property
    def is_liaison(self) -> bool:
        return any(Role.LIAISON in roles for roles in self.roles_by_agency.values())

    def has_role(self, agency_id: int, *roles: str) -> bool:
        return bool(self.roles_by_agency.get(agency_id, set()) & set(roles))


ANONYMOUS = Reader(user_id=None)


def reader_for(user) -> Reader:
    """The reader context of a user (anonymous, nodes and non-members read nothing)."""
    if user is None or not getattr(user, "is_authenticated", False) or getattr(user, "pk", None) is None:
        return ANONYMOUS
    cached = getattr(user, "_alliance_reader", None)
    if cached is not None:
        return cached
    memberships: list[Membership] = list(active_memberships(user))
    roles: dict[int, set[str]] = {}
    for m in memberships:
        roles.setdefault(m.agency_id, set()).add(m.role)
    reader = Reader(
        user_id=user.pk,
        membership_ids=frozenset(m.id for m in memberships),
        handles=frozenset(m.handle for m in memberships),
        agency_ids=frozenset(m.agency_id for m in memberships),
        public_agency_ids=frozenset(m.agency_id for m in memberships if m.agency_sector == Sector.PUBLIC),
        public_port_ids=frozenset(
            m.agency.port_id for m in memberships if m.agency_sector == Sector.PUBLIC and m.agency.port_id
        ),
        roles_by_agency=roles,
    )
    user._alliance_reader = reader
    return reader
