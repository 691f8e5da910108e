"""The navigation's invitations link: pending invitations to join an agency (SPEC section 2)."""

from .selectors import pending_invitations


def invitations(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"pending_invitations": 0}
    return {"pending_invitations": pending_invitations(user).count()}
