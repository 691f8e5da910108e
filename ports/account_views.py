"""The account holder's own pages: invitations to join agencies (SPEC section 2, membership consent)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from . import selectors, services


@login_required
def invitations(request):
    return render(request, "ports/invitations.html", {"invitations": selectors.pending_invitations(request.user)})


@login_required
@require_POST
def invitation_answer(request, invitation_id, answer):
    """Accept or decline one of the holder's own pending invitations (anyone else's is a 404)."""
    invitation = selectors.pending_invitation(request.user, invitation_id)
    try:
        if answer == "accept":
            membership = services.invitation_accept(invitation=invitation, user=request.user)
        else:
            services.invitation_decline(invitation=invitation, user=request.user)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect("account_invitations")
    if answer == "accept":
        messages.success(
            request,
            _("You are now %(role)s at %(agency)s (%(handle)s).")
            % {"role": membership.get_role_display(), "agency": membership.agency.name, "handle": membership.handle},
        )
    else:
        messages.info(request, _("You declined to join %(agency)s.") % {"agency": invitation.agency.name})
    return redirect("account_invitations")
