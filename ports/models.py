"""Reference data and actors: ports, agencies, members, scanner nodes, keys, tokens."""

import hashlib
import secrets
import uuid
from typing import cast

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Substr
from django.utils.translation import gettext_lazy as _

from .locode import LOCODE_REGEX


class Hub(models.TextChoices):
    """The five EU organised-crime hubs of Europol's SOCTA."""

    NORTH_WEST = "north_west", _("North-West")
    NORTH_EAST = "north_east", _("North-East")
    SOUTH_EAST = "south_east", _("South-East")
    SOUTHERN = "southern", _("Southern")
    SOUTH_WEST = "south_west", _("South-West")


class Port(models.Model):
    locode = models.CharField(primary_key=True, max_length=5)
    name = models.CharField(max_length=120)
    country = models.CharField(max_length=2)
    hub = models.CharField(max_length=16, choices=Hub.choices, null=True, blank=True)  # noqa: DJ001 - null: not a member
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    is_member = models.BooleanField(default=False)

    class Meta:
        ordering = ["locode"]
        constraints = [
            models.CheckConstraint(condition=Q(locode__regex=LOCODE_REGEX), name="port_locode_syntax"),
            models.CheckConstraint(condition=Q(country=Substr("locode", 1, 2)), name="port_country_matches_locode"),
            models.CheckConstraint(condition=Q(is_member=False) | Q(hub__isnull=False), name="member_port_has_hub"),
            models.CheckConstraint(
                condition=Q(latitude__isnull=True) | Q(latitude__gte=-90, latitude__lte=90), name="port_latitude_range"
            ),
            models.CheckConstraint(
                condition=Q(longitude__isnull=True) | Q(longitude__gte=-180, longitude__lte=180),
                name="port_longitude_range",
            ),
        ]
        indexes = [models.Index(fields=["is_member", "hub"])]

    def __str__(self) -> str:
        return f"{self.locode} {self.name}"


class AgencyKind(models.TextChoices):
    CUSTOMS = "customs", _("Customs")
    POLICE = "police", _("Police")
    PORT_AUTHORITY = "port_authority", _("Port authority")
    EU_AGENCY = "eu_agency", _("EU agency")
    TERMINAL_OPERATOR = "terminal_operator", _("Terminal operator")
    SHIPPING_LINE = "shipping_line", _("Shipping line")


PRIVATE_KINDS = (AgencyKind.TERMINAL_OPERATOR, AgencyKind.SHIPPING_LINE)
PUBLIC_KINDS = tuple(k for k in AgencyKind if k not in PRIVATE_KINDS)
SCANNER_KINDS = (AgencyKind.CUSTOMS, AgencyKind.PORT_AUTHORITY)


class Sector(models.TextChoices):
    PUBLIC = "public", _("Public sector")
    PRIVATE = "private", _("Private sector")


def sector_of(kind: str) -> str:
    return Sector.PRIVATE if kind in PRIVATE_KINDS else Sector.PUBLIC


class Agency(models.Model):
    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=160)
    kind = models.CharField(max_length=24, choices=AgencyKind.choices)
    # Derived from kind and never edited on its own; stored so that the access
    # rule and the liaison constraint can test it in SQL without a join.
    sector = models.CharField(max_length=8, choices=Sector.choices, editable=False)
    port = models.ForeignKey(Port, on_delete=models.PROTECT, null=True, blank=True, related_name="agencies")
    is_active = models.BooleanField(default=True)
    # SPEC 10.1: the instance the agency is homed at ("" = not learnt: `HOME_AGENCIES` decides, see ports.instance).
    # An agency homed elsewhere is a reference only: no members, keys or nodes are managed for it here.
    home_instance = models.SlugField(max_length=64, blank=True, default="")
    # The agency's auth group: object grants that do not follow from TLP (relayed and shared scans).
    group = models.OneToOneField(
        "auth.Group", on_delete=models.PROTECT, null=True, blank=True, editable=False, related_name="agency"
    )

    class Meta:
        ordering = ["slug"]
        verbose_name_plural = "agencies"
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=[k.value for k in AgencyKind]), name="agency_kind_valid"),
            models.CheckConstraint(
                condition=(Q(kind__in=[k.value for k in PRIVATE_KINDS]) & Q(sector=Sector.PRIVATE))
                | (~Q(kind__in=[k.value for k in PRIVATE_KINDS]) & Q(sector=Sector.PUBLIC)),
                name="agency_sector_follows_kind",
            ),
            models.CheckConstraint(
                condition=Q(kind=AgencyKind.EU_AGENCY) | Q(port__isnull=False), name="agency_has_port_unless_eu"
            ),
            # (id, sector) and (id, kind, port) are unique so that memberships and
            # nodes can reference them; see Membership and ScannerNode.
        ]
        indexes = [models.Index(fields=["port", "kind"])]

    def __str__(self) -> str:
        return self.slug

    def save(self, *args, **kwargs):
        self.sector = sector_of(self.kind)
        super().save(*args, **kwargs)

    @property
    def is_public(self) -> bool:
        return self.sector == Sector.PUBLIC

    @property
    def is_private(self) -> bool:
        return self.sector == Sector.PRIVATE


class Role(models.TextChoices):
    OFFICER = "officer", _("Officer")
    ANALYST = "analyst", _("Analyst")
    LIAISON = "liaison", _("Liaison")
    ADMIN = "admin", _("Admin")


def new_handle_suffix() -> str:
    return secrets.token_hex(3)


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="memberships")
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices)
    # Copied from the agency on save (an agency's kind never changes) so the
    # database itself refuses a liaison in a private-sector agency.
    agency_sector = models.CharField(max_length=8, choices=Sector.choices, editable=False)
    handle = models.CharField(max_length=96, unique=True, editable=False)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    deactivated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["agency__slug", "role", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "agency"],
                name="one_membership_per_agency",
                violation_error_message="This user is already a member of this agency.",
            ),
            models.CheckConstraint(
                condition=Q(role__in=[r.value for r in Role]),
                name="membership_role_valid",
                violation_error_message="Unknown role.",
            ),
            models.CheckConstraint(
                condition=~Q(role=Role.LIAISON) | Q(agency_sector=Sector.PUBLIC),
                name="liaison_only_in_public_sector",
                violation_error_message="The liaison role exists only in public-sector agencies.",
            ),
        ]
        indexes = [models.Index(fields=["user", "is_active"]), models.Index(fields=["agency", "is_active"])]

    def __str__(self) -> str:
        return f"{self.user} @ {self.agency} ({self.role})"

    def save(self, *args, **kwargs):
        self.agency_sector = self.agency.sector
        if not self.handle:
            self.handle = f"{self.agency.slug}/{new_handle_suffix()}"
        super().save(*args, **kwargs)


class InvitationStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")


class Invitation(models.Model):
    """A pending membership: an agency admin asks an existing account to join (SPEC section 2, consent).

    No Membership row exists until the holder accepts, so until then nothing the agency
    reads (members, handles, tokens, reports) can name the account.
    """

    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="invitations")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="invitations")
    role = models.CharField(max_length=16, choices=Role.choices)
    status = models.CharField(max_length=8, choices=InvitationStatus.choices, default=InvitationStatus.PENDING)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["agency", "user"],
                condition=Q(status="pending"),
                name="one_pending_invitation_per_agency",
            ),
            models.CheckConstraint(
                condition=Q(role__in=[Role.OFFICER, Role.ANALYST, Role.ADMIN]),
                name="invitation_role_grantable",
                violation_error_message="Invitations are for analysts, officers and admins.",
            ),
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in InvitationStatus]), name="invitation_status_valid"
            ),
        ]
        indexes = [models.Index(fields=["user", "status"])]

    def __str__(self) -> str:
        return f"invitation of {self.user} to {self.agency} ({self.status})"


class ScannerNode(models.Model):
    id = models.SlugField(primary_key=True, max_length=64)
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="scanner_nodes")
    # Copied from the agency on save: the database refuses a node outside
    # customs or a port authority, or at another port than its agency's.
    agency_kind = models.CharField(max_length=24, choices=AgencyKind.choices, editable=False)
    port = models.ForeignKey(Port, on_delete=models.PROTECT, related_name="scanner_nodes", editable=False)
    description = models.CharField(max_length=200, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(agency_kind__in=[k.value for k in SCANNER_KINDS]),
                name="node_agency_customs_or_port_authority",
                violation_error_message="Scanner nodes belong to customs or a port authority.",
            ),
        ]

    def __str__(self) -> str:
        return self.id

    def save(self, *args, **kwargs):
        self.agency_kind = self.agency.kind
        self.port_id = cast(str, self.agency.port_id)  # customs and port authorities sit at a port
        super().save(*args, **kwargs)


class KeyOwner(models.TextChoices):
    AGENCY = "agency", _("Agency")
    NODE = "node", _("Scanner node")
    PORTAL = "portal", _("Portal")


class KeyStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    RETIRED = "retired", _("Retired")
    REVOKED = "revoked", _("Revoked")


class SigningKey(models.Model):
    """An Ed25519 public key (and, when the portal holds it, its encrypted private part)."""

    kid = models.CharField(primary_key=True, max_length=64)  # RFC 7638 thumbprint
    x = models.CharField(max_length=64, unique=True)  # base64url raw public key: registered once
    owner_kind = models.CharField(max_length=8, choices=KeyOwner.choices)
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, null=True, blank=True, related_name="keys")
    node = models.ForeignKey(ScannerNode, on_delete=models.PROTECT, null=True, blank=True, related_name="keys")
    held_by_portal = models.BooleanField(default=False)
    private_key_encrypted = models.BinaryField(null=True, blank=True, editable=False)
    status = models.CharField(max_length=8, choices=KeyStatus.choices, default=KeyStatus.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)
    retired_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revocation_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["created_at", "kid"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(owner_kind=KeyOwner.AGENCY) & Q(agency__isnull=False) & Q(node__isnull=True))
                | (Q(owner_kind=KeyOwner.NODE) & Q(node__isnull=False) & Q(agency__isnull=True))
                | (Q(owner_kind=KeyOwner.PORTAL) & Q(node__isnull=True) & Q(agency__isnull=True)),
                name="key_owner_consistent",
            ),
            models.CheckConstraint(
                condition=Q(held_by_portal=False) | Q(private_key_encrypted__isnull=False), name="held_key_has_private"
            ),
            models.CheckConstraint(
                condition=~Q(owner_kind=KeyOwner.NODE) | Q(held_by_portal=False), name="node_private_key_never_held"
            ),
            models.CheckConstraint(condition=Q(status__in=[s.value for s in KeyStatus]), name="key_status_valid"),
            # One active portal-held key per agency (what the portal signs with),
            # one active key per node, one active portal key.
            models.UniqueConstraint(
                fields=["agency"],
                condition=Q(status="active", held_by_portal=True, owner_kind="agency"),
                name="one_active_held_key_per_agency",
            ),
            models.UniqueConstraint(
                fields=["node"], condition=Q(status="active", owner_kind="node"), name="one_active_key_per_node"
            ),
            models.UniqueConstraint(
                fields=["owner_kind"], condition=Q(status="active", owner_kind="portal"), name="one_active_portal_key"
            ),
        ]
        indexes = [models.Index(fields=["owner_kind", "status"])]

    def __str__(self) -> str:
        return f"{self.owner_label} {self.kid[:12]}… ({self.status})"

    @property
    def owner_label(self) -> str:
        if self.owner_kind == KeyOwner.AGENCY:
            return cast("Agency", self.agency).slug
        if self.owner_kind == KeyOwner.NODE:
            return f"node:{self.node_id}"
        return "portal"


class TokenKind(models.TextChoices):
    PERSONAL = "personal", _("Personal")
    NODE = "node", _("Scanner node")
    PEER = "peer", _("Peer instance")  # SPEC 10.1: what a peer instance reads the federation collection with


def hash_token(raw: str) -> str:
    # Tokens are 256-bit random strings: a fast hash is enough, and a salt adds
    # nothing for secrets that are never chosen by a person.
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiToken(models.Model):
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(max_length=12, editable=False)
    kind = models.CharField(max_length=8, choices=TokenKind.choices)
    # A personal token's holder, and the one membership it acts under (SPEC section 2): never the
    # person's other agencies. `user` is always `membership.user`, kept for the holder's own lists.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="api_tokens"
    )
    membership = models.ForeignKey(
        Membership, on_delete=models.CASCADE, null=True, blank=True, related_name="api_tokens"
    )
    node = models.ForeignKey(ScannerNode, on_delete=models.CASCADE, null=True, blank=True, related_name="tokens")
    peer_instance = models.SlugField(max_length=64, blank=True, default="")  # a peer token's instance id
    name = models.CharField(max_length=100, blank=True)
    read_only = models.BooleanField(default=False)
    # What the holder's own pages name the token by: random, so one holder's ids say nothing of another's.
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    # Null: no expiry (node tokens, and operator-issued tokens); the account page always sets one.
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(kind=TokenKind.PERSONAL)
                    & Q(user__isnull=False)
                    & Q(membership__isnull=False)
                    & Q(node__isnull=True)
                )
                | (Q(kind=TokenKind.NODE) & Q(node__isnull=False) & Q(user__isnull=True) & Q(membership__isnull=True))
                | (
                    Q(kind=TokenKind.PEER)
                    & ~Q(peer_instance="")
                    & Q(node__isnull=True)
                    & Q(user__isnull=True)
                    & Q(membership__isnull=True)
                ),
                name="personal_token_has_membership",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} token {self.prefix}…"


class EmailMode(models.TextChoices):
    IMMEDIATE = "immediate", _("Immediately")
    DIGEST = "digest", _("Daily digest")
    OFF = "off", _("Never")


class UserProfile(models.Model):
    """Per-person preferences: time zone, language, what email to receive; and when they were last here.

    The language is a code of `settings.LANGUAGES` (checked by the service, not by the column, so that
    adding a language needs no migration); blank means the browser's.
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    timezone = models.CharField(max_length=64, default="Europe/Brussels")
    language = models.CharField(max_length=16, blank=True)
    email_alerts = models.CharField(max_length=16, choices=EmailMode.choices, default=EmailMode.DIGEST)
    email_correlations = models.CharField(max_length=16, choices=EmailMode.choices, default=EmailMode.DIGEST)
    email_deliveries = models.CharField(max_length=16, choices=EmailMode.choices, default=EmailMode.DIGEST)
    email_displacement = models.CharField(max_length=16, choices=EmailMode.choices, default=EmailMode.DIGEST)
    # The login before the current one: the home page shows what is new since then.
    previous_visit_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"profile of {self.user}"


class AuditEntry(models.Model):
    """One link of the append-only, hash-chained audit log.

    No foreign keys: an entry must outlive whatever it names, and nothing may
    cascade into it. On PostgreSQL a trigger refuses UPDATE and DELETE.
    """

    seq = models.BigIntegerField(primary_key=True)
    at = models.DateTimeField()
    actor = models.CharField(max_length=150, blank=True)  # username, "system", or node:<id>
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=128, blank=True)
    data = models.JSONField(default=dict)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["seq"]
        indexes = [
            models.Index(fields=["action", "at"]),
            models.Index(fields=["object_type", "object_id"]),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action}"


class AuditHead(models.Model):
    """The single row locked by every append: two appends never share a sequence number."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64, default="0" * 64)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(id=1), name="audit_head_singleton")]

    def __str__(self) -> str:
        return f"audit head #{self.seq}"


class AuditCheckpoint(models.Model):
    """The portal's signature over the chain head at a point in time."""

    seq = models.BigIntegerField(unique=True)
    hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    jws = models.TextField()

    class Meta:
        ordering = ["seq"]

    def __str__(self) -> str:
        return f"checkpoint #{self.seq}"


class RetentionState(models.Model):
    """How far retention has purged one object kind: objects older than `purged_before` may be gone.

    Rollups are never purged; `rebuild_rollups` reads the scans watermark and leaves the days
    before it as they are, since their scans are no longer all there to recount.
    """

    kind = models.CharField(primary_key=True, max_length=16)
    purged_before = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.kind} purged before {self.purged_before:%Y-%m-%d %H:%M}"
