"""The member's notices page: newest first, unread highlighted, "mark all read"."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

import access

from . import services


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
