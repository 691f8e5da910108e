"""The member's pages: home (what is new since the last visit), notices ("mark all read"), and the
messages the file email backend wrote (development only)."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

import access
from ports.selectors import active_memberships

from . import selectors, services


@login_required
def home(request):
    return render(
        request,
        "notifications/home.html",
        {"home_memberships": list(active_memberships(request.user)), "new": selectors.whats_new(request.user)},
    )


@login_required
@require_http_methods(["GET", "POST"])
def notification_list(request):
    if request.method == "POST":
        services.mark_read(user=request.user)
        return redirect("notification_list")
    page = Paginator(access.notifications_for(request.user), 50).get_page(request.GET.get("page"))
    return render(
        request,
        "notifications/list.html",
        {"page": page, "unread": access.unread_count(request.user)},
    )


@login_required
def mail_list(request):
    """Only with the file email backend (`make run`): the member's own last messages, as sent."""
    if not selectors.file_backend_on():
        raise Http404("Email is not kept on this server.")
    return render(request, "notifications/mail.html", {"mails": selectors.mails_for(request.user)})
