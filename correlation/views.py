"""Correlation notices and one-sided hits (portal): what matched, and what you may choose to share."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

import access

from . import selectors, services
from .models import HitStatus


@login_required
def correlation_list(request):
    page = Paginator(access.correlations_visible_to(request.user), 50).get_page(request.GET.get("page"))
    for c in page.object_list:
        c.side_a, c.side_b = c.side("a"), c.side("b")
    hits = list(
        access.hits_for(request.user)
        .select_related("correlation__alert_a__agency", "correlation__alert_b__agency")
        .filter(status=HitStatus.OPEN)[:100]
    )
    for hit in hits:
        hit.hidden_object = hit.correlation.side(hit.hidden_side)
    shown = [c.side_a for c in page.object_list] + [c.side_b for c in page.object_list]
    selectors.audit_side_reads(request.user, shown + [hit.hidden_object for hit in hits], via="correlations")
    return render(request, "sharing/correlations/list.html", {"page": page, "hits": hits})


def _decide(request, pk: int, action) -> bool:
    try:
        action(user=request.user, hit_id=pk)
    except PermissionDenied as exc:
        messages.error(request, str(exc))
    except ValidationError as exc:
        messages.error(request, "; ".join(exc.messages))
    else:
        return True
    return False


@login_required
@require_POST
def hit_share(request, pk: int):
    if _decide(request, pk, services.hit_share):
        messages.success(request, _("Shared: the other agency can now read it and has been told."))
    return redirect("correlation_list")


@login_required
@require_POST
def hit_dismiss(request, pk: int):
    _decide(request, pk, services.hit_dismiss)
    return redirect("correlation_list")
