"""The reader: what the access rule needs to know about whoever asks, computed once per request.

Role and sector questions are the reader's methods; no view, serializer or
service derives them from memberships itself.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.utils.functional import Promise

from ports.models import Agency, Membership, Role, Sector
from ports.selectors import active_memberships

# Roles that see their own agency's integrity failures (SPEC: an invalid object fails closed).
INTEGRITY_ROLES = (Role.OFFICER, Role.ADMIN)


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
    roles_by_agency: dict[int, frozenset[str]] = field(default_factory=dict)
    # A peer instance only (SPEC 10.2): its home agencies, whose members a RED audience may name by handle.
    named_member_agency_ids: frozenset[int] = field(default_factory=frozenset)
    # The membership rows themselves (agency loaded), for pages that list them; not part of equality.
    memberships: tuple[Membership, ...] = field(default=(), compare=False, repr=False)

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
        return bool(self.roles_by_agency.get(agency_id, frozenset()) & set(roles))

    def agencies_with_role(self, *roles: str, public_only: bool = False) -> frozenset[int]:
        """The agencies where the reader holds one of `roles` (only public-sector ones with `public_only`)."""
        pool = self.public_agency_ids if public_only else self.agency_ids
        return frozenset(a for a in pool if self.has_role(a, *roles))

    def is_public_at(self, agency_id: int) -> bool:
        return agency_id in self.public_agency_ids

    @property
    def integrity_agency_ids(self) -> frozenset[int]:
        """Agencies whose integrity failures this reader sees (their officers and admins)."""
        return self.agencies_with_role(*INTEGRITY_ROLES)


ANONYMOUS = Reader(user_id=None)


def reader_for(user: Any) -> Reader:
    """The reader context of a user (anonymous, nodes and non-members read nothing)."""
    if user is None or not getattr(user, "is_authenticated", False) or getattr(user, "pk", None) is None:
        return ANONYMOUS
    cached = getattr(user, "_alliance_reader", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
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
        roles_by_agency={agency: frozenset(r) for agency, r in roles.items()},
        memberships=tuple(memberships),
    )
    user._alliance_reader = reader
    return reader


@dataclass(frozen=True)
class AgenciesReader:
    """A principal that reads as a set of agencies, with no person behind it: a peer instance reads what the
    agencies homed there may read (SPEC 10.2). No handles, no roles: RED and integrity failures stay home.

    `reader_for` returns its reader (the `_alliance_reader` it carries), so every selector of `access` takes it
    like a user; only `access` builds one, and it never reaches a view as `request.user`.
    """

    _alliance_reader: Reader
    is_authenticated: bool = True
    pk: int = 0


def reader_for_agencies(agencies: Any, *, named_members: bool = False) -> AgenciesReader:
    """The reader of a set of agencies (an `Agency` queryset or list), as the access rule sees their members.

    `named_members` (a peer instance, SPEC 10.2): it also reads, for the members a RED audience names among those
    agencies, what they read; the peer's own rule then lets only those members read it there.
    """
    rows: list[Agency] = list(agencies)
    public = [a for a in rows if a.sector == Sector.PUBLIC]
    reader = Reader(
        user_id=None,
        agency_ids=frozenset(a.pk for a in rows),
        public_agency_ids=frozenset(a.pk for a in public),
        public_port_ids=frozenset(a.port_id for a in public if a.port_id),
        named_member_agency_ids=frozenset(a.pk for a in rows) if named_members else frozenset(),
    )
    return AgenciesReader(_alliance_reader=reader)


def memberships_with_role(user: Any, *roles: str, public_only: bool = False) -> list[Membership]:
    """The memberships the user acts under that hold one of `roles` (public-sector agencies only with `public_only`)."""
    reader = reader_for(user)
    pool = reader.public_agency_ids if public_only else reader.agency_ids
    return [m for m in reader.memberships if m.role in roles and m.agency_id in pool]


def membership_holds(membership: Membership, *roles: str, public_only: bool = False) -> bool:
    """Whether one membership holds one of `roles` (in a public-sector agency, with `public_only`)."""
    if roles and membership.role not in roles:
        return False
    return not public_only or membership.agency_sector == Sector.PUBLIC


def public_memberships(user: Any) -> list[Membership]:
    """The memberships the user acts under in public-sector agencies."""
    reader = reader_for(user)
    return [m for m in reader.memberships if m.agency_id in reader.public_agency_ids]


def integrity_agency_ids(reader: Reader) -> frozenset[int]:
    return reader.integrity_agency_ids


View = Callable[..., HttpResponse]


def public_sector_required(message: "str | Promise") -> Callable[[View], View]:
    """Portal pages for public-sector members only: others get a 403 saying why (`message`)."""

    def decorator(view: View) -> View:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not reader_for(request.user).is_public_sector:
                return HttpResponseForbidden(message)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
