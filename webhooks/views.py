"""Agency administration: webhooks and dead letters (portal). Thin views over services and access."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseForbidden
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

import access
from ports.decorators import verified_admin_required
from ports.models import Role

from . import services

RECENT = 50


def _public_admin_required(view):
    @verified_admin_required
    def wrapper(request, *args, **kwargs):
        if not access.webhook_admin_agency_ids(request.user):
            return HttpResponseForbidden(_("Private-sector agencies never receive scans, so they have no webhooks."))
        return view(request, *args, **kwargs)

    return wrapper


@_public_admin_required
@require_http_methods(["GET", "POST"])
def webhook_list(request):
    errors: dict = {}
    form = {"url": "", "description": "", "agency": ""}
    if request.method == "POST":
        form = {k: request.POST.get(k, "").strip() for k in form}
        try:
            membership = services.acting_admin(request.user, form["agency"] or None)
            endpoint = services.endpoint_register(
                membership=membership, url=form["url"], description=form["description"], actor=request.user
            )
        except PermissionDenied as exc:
            return HttpResponseForbidden(str(exc))
        except ValidationError as exc:
            errors = exc.message_dict
        else:
            messages.success(request, _("Webhook %(url)s registered.") % {"url": endpoint.url})
            return redirect("webhook_list")
    agencies = [m.agency for m in access.memberships_with_role(request.user, Role.ADMIN, public_only=True)]
    return render(
        request,
        "webhooks/list.html",
        {
            "endpoints": access.endpoints_for(request.user),
            "attempts": access.attempts_for(request.user)[:RECENT],
            "dead_letters": access.dead_letters_for(request.user)[:RECENT],
            "agencies": agencies,
            "form": form,
            "errors": errors,
        },
        status=400 if errors else 200,
    )


@_public_admin_required
@require_POST
def webhook_delete(request, endpoint_id):
    endpoint = access.get_endpoint_for(request.user, endpoint_id)
    services.endpoint_remove(endpoint=endpoint, actor=request.user)
    messages.success(request, _("Webhook %(url)s removed; nothing more is sent there.") % {"url": endpoint.url})
    return redirect("webhook_list")


@_public_admin_required
@require_POST
def webhook_replay(request, attempt_id):
    attempt = access.get_dead_letter_for(request.user, attempt_id)
    try:
        services.dead_letter_replay(attempt=attempt, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            _("Delivery %(delivery)s queued again for %(url)s.")
            % {"delivery": attempt.delivery_id, "url": attempt.endpoint.url},
        )
    return redirect("webhook_list")
