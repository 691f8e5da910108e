from notifications.selectors import unread_count

from .selectors import active_memberships, pending_invitations


def memberships(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"memberships": [], "pending_invitations": 0}
    items = list(active_memberships(user))
    roles = {m.role for m in items}
    return {
        "memberships": items,
        "is_public_sector": any(m.agency.is_public for m in items),
        "is_liaison": "liaison" in roles,
        "is_agency_admin": "admin" in roles,
        "is_officer": "officer" in roles,
        "unread_notifications": unread_count(user) if items else 0,
        "pending_invitations": pending_invitations(user).count(),
    }
