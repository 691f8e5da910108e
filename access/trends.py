"""Who reads trends data (SPEC sections 4 and 7), built on the shared reader context of access.reader.

- Trends, measures: every public-sector member; never the private sector.
- Small counts: for a reader outside a port's own agencies (a public-sector agency at that port), except
  liaisons, counts of 1 or 2 from that port are shown as "<3".
- Displacement flags: the public-sector agencies at either port, and liaisons (all flags). One query.
"""

import uuid
from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404

from trends.models import DisplacementFlag

from .reader import Reader, reader_for

MASK = "<3"


def can_read_trends(user: Any) -> bool:
    return reader_for(user).is_public_sector


def unmasked_ports(reader: Reader) -> frozenset[str] | None:
    """Ports whose small counts the reader sees exactly; None means every port (liaisons)."""
    if reader.is_liaison:
        return None
    return reader.public_port_ids


def mask_count(value: int, exact: bool) -> int | str:
    """A count as a reader sees it: 1 and 2 become "<3" unless `exact`; 0 stays 0 (it identifies no load)."""
    if exact or value == 0 or value >= 3:
        return value
    return MASK


def flags_visible_to(user: Any) -> QuerySet[DisplacementFlag]:
    reader = reader_for(user)
    if not reader.is_public_sector:
        return DisplacementFlag.objects.none()
    if reader.is_liaison:
        return DisplacementFlag.objects.all()
    ports = reader.public_port_ids
    return DisplacementFlag.objects.filter(Q(from_port_id__in=ports) | Q(to_port_id__in=ports))


def get_flag_for(user: Any, flag_id: object) -> DisplacementFlag:
    """The flag if the user may read it; 404 for missing and forbidden alike."""
    try:
        pk = uuid.UUID(str(flag_id))
    except ValueError:
        raise Http404("No such flag.")
    flag = flags_visible_to(user).filter(pk=pk).first()
    if flag is None:
        raise Http404("No such flag.")
    return flag
