"""What the navigation shows, from the reader (the same role and sector answers the access rule uses)."""

from typing import Any

from django.http import HttpRequest

from ports.models import Role

from .reader import reader_for


def reader(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"memberships": []}
    r = reader_for(user)
    return {
        # The memberships the reader acts under (all of them for a session; a token's one for a token).
        "memberships": list(r.memberships),
        "is_public_sector": r.is_public_sector,
        "is_liaison": r.is_liaison,
        "is_agency_admin": bool(r.agencies_with_role(Role.ADMIN)),
        "is_officer": bool(r.agencies_with_role(Role.OFFICER)),
    }
