"""Agency administration pages (SPEC sections 4 and 8): members and offboarding, tokens, keys, scanner nodes,
and the two access reports.

Every page is for an agency admin with a TOTP-verified session and acts on the
agency named in the URL only when the caller administers it (404 otherwise).
"""

from typing import Any, cast

from django import forms
from django.contrib import messages
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from . import admin_selectors as selectors
from . import admin_services as services
from .decorators import verified_admin_required
from .models import KeyStatus, Membership, Role, ScannerNode
from .services import agency_key_generate, key_revoke, node_register


def _errors(exc: ValidationError) -> list[str]:
    if hasattr(exc, "error_dict"):
        return [message for messages_ in exc.message_dict.values() for message in messages_]
    return list(exc.messages)


def _flash_errors(request, exc: ValidationError) -> None:
    for message in _errors(exc):
        messages.error(request, message)


# ---------------------------------------------------------------- overview


def _overview_context(agency) -> dict:
    return {
        "agency": agency,
        "active_members": Membership.objects.filter(agency=agency, is_active=True).count(),
        "live_tokens": selectors.agency_member_tokens(agency).count(),
        "active_keys": selectors.agency_keys(agency).filter(status=KeyStatus.ACTIVE).count(),
        "owns_nodes": selectors.owns_nodes(agency),
        "node_count": agency.scanner_nodes.filter(is_active=True).count(),
    }


@verified_admin_required
def agency_admin(request):
    agencies = selectors.admin_agencies(request.user)
    if len(agencies) == 1:
        return render(request, "ports/admin/overview.html", {**_overview_context(agencies[0]), "tab": "overview"})
    return render(request, "ports/admin/pick.html", {"agencies": agencies})


@verified_admin_required
def agency_overview(request, slug):
    agency = selectors.admin_agency(request.user, slug)
    return render(request, "ports/admin/overview.html", {**_overview_context(agency), "tab": "overview"})


# ---------------------------------------------------------------- members and their tokens


GRANTABLE = [(r.value, r.label) for r in services.ADMIN_GRANTABLE_ROLES]


class MemberAddForm(forms.Form):
    username = forms.CharField(
        max_length=150, help_text=gettext_lazy("A new account; a person who has one is invited instead.")
    )
    display_name = forms.CharField(max_length=150, required=False, label=gettext_lazy("Full name"))
    email = forms.EmailField(required=False, label=gettext_lazy("E-mail"))
    role = forms.ChoiceField(choices=GRANTABLE, initial=Role.ANALYST)


class MemberInviteForm(forms.Form):
    username = forms.CharField(
        max_length=150, help_text=gettext_lazy("Their existing username. They join when they accept, after signing in.")
    )
    role = forms.ChoiceField(choices=GRANTABLE, initial=Role.ANALYST)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["prefix"] = "invite"
        super().__init__(*args, **kwargs)


def _members_page(request, agency, form, *, invite_form=None, new_account=None, status=200):
    return render(
        request,
        "ports/admin/members.html",
        {
            "agency": agency,
            "members": selectors.agency_members(agency),
            "tokens": selectors.agency_member_tokens(agency),
            "form": form,
            "invite_form": invite_form or MemberInviteForm(),
            "roles": GRANTABLE,
            "new_account": new_account,
            "tab": "members",
        },
        status=status,
    )


@verified_admin_required
@require_http_methods(["GET", "POST"])
def agency_members(request, slug):
    agency = selectors.admin_agency(request.user, slug)
    form = MemberAddForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            membership, password = services.admin_member_add(agency=agency, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            for name, errors in exc.message_dict.items():
                form.add_error(name if name in form.fields else None, errors)
        else:
            # Shown once, in this response only: never stored in the session or a message.
            new_account = {"membership": membership, "password": password}
            return _members_page(request, agency, MemberAddForm(), new_account=new_account)
    return _members_page(request, agency, form, status=400 if request.method == "POST" else 200)


@verified_admin_required
@require_POST
def agency_member_invite(request, slug):
    """Invite an existing account. The answer is the same whether the account exists or not."""
    agency = selectors.admin_agency(request.user, slug)
    form = MemberInviteForm(request.POST)
    if form.is_valid():
        try:
            services.admin_member_invite(agency=agency, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            for name, errors in exc.message_dict.items():
                form.add_error(name if name in form.fields else None, errors)
        else:
            messages.success(
                request,
                _(
                    "If an account %(username)s exists, its holder is invited as %(role)s. They appear here once they accept."
                )
                % {"username": form.cleaned_data["username"], "role": dict(GRANTABLE)[form.cleaned_data["role"]]},
            )
            return redirect("agency_members", slug=agency.slug)
    return _members_page(request, agency, MemberAddForm(), invite_form=form, status=400)


@verified_admin_required
@require_POST
def agency_member_role(request, slug, membership_id):
    agency = selectors.admin_agency(request.user, slug)
    membership = selectors.agency_member(agency, membership_id)
    try:
        services.admin_member_role_change(membership=membership, role=request.POST.get("role", ""), actor=request.user)
    except ValidationError as exc:
        _flash_errors(request, exc)
    else:
        membership.refresh_from_db()
        messages.success(
            request,
            _("%(username)s is now %(role)s.")
            % {"username": membership.user.username, "role": membership.get_role_display()},
        )
    return redirect("agency_members", slug=agency.slug)


@verified_admin_required
@require_http_methods(["GET", "POST"])
def agency_member_offboard(request, slug, membership_id):
    agency = selectors.admin_agency(request.user, slug)
    membership = selectors.agency_member(agency, membership_id)
    # The membership's own tokens only: the person's other agencies are not ours to see.
    context = {
        "agency": agency,
        "membership": membership,
        "tokens": selectors.agency_membership_tokens(membership),
        "tab": "members",
    }
    if request.method == "POST":
        if request.POST.get("confirm") != membership.user.username:
            context["error"] = _("Type the username exactly to confirm.")
            return render(request, "ports/admin/offboard.html", context, status=400)
        try:
            revoked = services.admin_member_offboard(membership=membership, actor=request.user)
        except ValidationError as exc:
            context["error"] = " ".join(_errors(exc))
            return render(request, "ports/admin/offboard.html", context, status=400)
        membership.refresh_from_db()
        return render(
            request,
            "ports/admin/offboarded.html",
            {"agency": agency, "membership": membership, "revoked": revoked, "tab": "members"},
        )
    return render(request, "ports/admin/offboard.html", context)


@verified_admin_required
@require_POST
def agency_token_revoke(request, slug, token_id):
    agency = selectors.admin_agency(request.user, slug)
    token = selectors.agency_member_token(agency, token_id)
    services.admin_token_revoke(token=token, actor=request.user)
    messages.success(
        request,
        _("Token %(prefix)s… of %(username)s revoked.")
        % {"prefix": token.prefix, "username": cast(AbstractBaseUser, token.user).get_username()},
    )
    return redirect("agency_members", slug=agency.slug)


# ---------------------------------------------------------------- keys


@verified_admin_required
def agency_keys(request, slug):
    agency = selectors.admin_agency(request.user, slug)
    return render(
        request, "ports/admin/keys.html", {"agency": agency, "keys": selectors.agency_keys(agency), "tab": "keys"}
    )


@verified_admin_required
@require_POST
def agency_key_rotate(request, slug):
    agency = selectors.admin_agency(request.user, slug)
    key = agency_key_generate(agency=agency, actor=request.user)
    messages.success(
        request,
        _("New signing key %(kid)s… is active; the previous key is retired and still verifies.")
        % {"kid": key.kid[:16]},
    )
    return redirect("agency_keys", slug=agency.slug)


@verified_admin_required
@require_POST
def agency_key_revoke(request, slug, kid):
    agency = selectors.admin_agency(request.user, slug)
    key = selectors.agency_key(agency, kid)
    try:
        key_revoke(key=key, reason=request.POST.get("reason", ""), actor=request.user)
    except ValidationError as exc:
        _flash_errors(request, exc)
    else:
        messages.success(
            request, _("Key %(kid)s… revoked: signatures made with it now show as revoked.") % {"kid": key.kid[:16]}
        )
    return redirect("agency_keys", slug=agency.slug)


# ---------------------------------------------------------------- scanner nodes


class NodeRegisterForm(forms.Form):
    node_id = forms.SlugField(
        max_length=64, label=gettext_lazy("Node id"), help_text=gettext_lazy("e.g. beanr-scanner-07")
    )
    description = forms.CharField(max_length=200, required=False)
    public_key = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
        label=gettext_lazy("Public key (PEM or raw base64url)"),
    )
    public_key_file = forms.FileField(required=False, label=gettext_lazy("…or upload the PEM file"))

    def clean(self):
        data = cast(dict[str, Any], super().clean())
        upload = data.get("public_key_file")
        if upload is not None:
            if upload.size > 4096:
                raise ValidationError(_("A public key file is a few hundred bytes; this one is too large."))
            try:
                data["public_key"] = upload.read().decode("ascii")
            except UnicodeDecodeError as exc:
                raise ValidationError(_("The uploaded file is not a PEM text file.")) from exc
        if not (data.get("public_key") or "").strip():
            raise ValidationError(_("Paste the node's public key or upload its PEM file."))
        return data


def _nodes_agency(request, slug):
    agency = selectors.admin_agency(request.user, slug)
    if not selectors.owns_nodes(agency):
        raise Http404(_("Only customs and port authorities at a port operate scanner nodes."))
    return agency


def _nodes_page(request, agency, form, status=200):
    return render(
        request,
        "ports/admin/nodes.html",
        {"agency": agency, "nodes": selectors.agency_nodes(agency), "form": form, "tab": "nodes"},
        status=status,
    )


def _token_once(request, agency, node, token, what):
    return render(
        request,
        "ports/admin/node_token.html",
        {"agency": agency, "node": node, "token": token, "what": what, "tab": "nodes"},
    )


@verified_admin_required
@require_http_methods(["GET", "POST"])
def agency_nodes(request, slug):
    agency = _nodes_agency(request, slug)
    form = NodeRegisterForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        if ScannerNode.objects.filter(pk=form.cleaned_data["node_id"]).exists():
            form.add_error("node_id", _("This node id is taken; choose another."))
        else:
            try:
                node, token = node_register(
                    node_id=form.cleaned_data["node_id"],
                    agency=agency,
                    public_key=form.cleaned_data["public_key"],
                    description=form.cleaned_data["description"],
                    actor=request.user,
                )
            except ValidationError as exc:
                for name, errors in exc.message_dict.items():
                    form.add_error(name if name in form.fields else None, errors)
            else:
                return _token_once(request, agency, node, token, "registered")
    return _nodes_page(request, agency, form, status=400 if request.method == "POST" else 200)


@verified_admin_required
@require_POST
def agency_node_key(request, slug, node_id):
    agency = _nodes_agency(request, slug)
    node = selectors.agency_node(agency, node_id)
    try:
        key = services.node_key_replace(node=node, public_key=request.POST.get("public_key", ""), actor=request.user)
    except ValidationError as exc:
        _flash_errors(request, exc)
    else:
        messages.success(
            request,
            _("Node %(node)s now signs with %(kid)s…; its previous key is retired.")
            % {"node": node.id, "kid": key.kid[:16]},
        )
    return redirect("agency_nodes", slug=agency.slug)


@verified_admin_required
@require_POST
def agency_node_token(request, slug, node_id):
    agency = _nodes_agency(request, slug)
    node = selectors.agency_node(agency, node_id)
    try:
        token = services.node_token_reissue(node=node, actor=request.user)
    except ValidationError as exc:
        _flash_errors(request, exc)
        return redirect("agency_nodes", slug=agency.slug)
    return _token_once(request, agency, node, token, "reissued")


@verified_admin_required
@require_POST
def agency_node_deactivate(request, slug, node_id):
    agency = _nodes_agency(request, slug)
    node = selectors.agency_node(agency, node_id)
    try:
        services.node_deactivate(node=node, actor=request.user)
    except ValidationError as exc:
        _flash_errors(request, exc)
    else:
        messages.success(request, _("Node %(node)s deactivated; its tokens no longer work.") % {"node": node.id})
    return redirect("agency_nodes", slug=agency.slug)
