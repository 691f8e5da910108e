"""Alerts and best practices: signed documents under TLP 2.0 (SPEC sections 3 and 4).

Each document kind has two tables. The head row (`Alert`, `Practice`) holds
the latest signed version's fields: what lists, filters and the access rule
read. The version rows (`AlertVersion`, `PracticeVersion`) hold every signed
version, the JWS exactly as signed. The audience of the latest version is
denormalised into grant rows (one per named agency, port or member) so the
TLP rule is one indexed query; container and vessel numbers and tags get
their own indexed rows for the filters.
"""

import uuid

from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ports.models import Agency, Membership, Port, SigningKey

__all__ = [
    "CATEGORY_DEFINITIONS",
    "Alert",
    "AlertGrant",
    "AlertIdentifier",
    "AlertVersion",
    "Category",
    "DocumentStatus",
    "GrantKind",
    "Handling",
    "IdentifierKind",
    "InformationReliability",
    "Practice",
    "PracticeGrant",
    "PracticeTag",
    "PracticeVersion",
    "Severity",
    "SourceReliability",
    "Tlp",
]


class Tlp(models.TextChoices):
    """TLP 2.0 labels, written as the standard writes them."""

    CLEAR = "CLEAR", "TLP:CLEAR"
    GREEN = "GREEN", "TLP:GREEN"
    AMBER = "AMBER", "TLP:AMBER"
    AMBER_STRICT = "AMBER+STRICT", "TLP:AMBER+STRICT"
    RED = "RED", "TLP:RED"


class DocumentStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class Severity(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")
    CRITICAL = "critical", _("Critical")


class Category(models.TextChoices):
    RIP_ON_RIP_OFF = "rip_on_rip_off", _("Rip-on/rip-off")
    CONCEALMENT_IN_GOODS = "concealment_in_goods", _("Concealment in goods")
    CONCEALMENT_IN_STRUCTURE = "concealment_in_structure", _("Concealment in the container structure")
    REEFER_UNIT = "reefer_unit", _("Reefer unit")
    SEAL_TAMPERING = "seal_tampering", _("Seal tampering")
    CONTAINER_NUMBER_CLONING = "container_number_cloning", _("Container number cloning")
    INSIDER_CORRUPTION = "insider_corruption", _("Insider corruption")
    PIN_CODE_THEFT = "pin_code_theft", _("PIN code theft")
    EXTRACTION_TEAM = "extraction_team", _("Extraction team")
    TRANSSHIPMENT_ABUSE = "transshipment_abuse", _("Transshipment abuse")
    PRECURSOR_CHEMICALS = "precursor_chemicals", _("Precursor chemicals")
    HULL_CONCEALMENT = "hull_concealment", _("Hull concealment")
    SEA_DROP_OFF = "sea_drop_off", _("Sea drop-off")
    CHEMICAL_CONCEALMENT = "chemical_concealment", _("Chemical concealment")
    FRONT_COMPANY = "front_company", _("Front company")
    PERIMETER_INTRUSION = "perimeter_intrusion", _("Perimeter intrusion")
    INTIMIDATION_VIOLENCE = "intimidation_violence", _("Intimidation and violence")
    IT_SYSTEM_COMPROMISE = "it_system_compromise", _("IT system compromise")
    OTHER = "other", _("Other")


# One line each: shown in the alert form and in the OpenAPI schema.
CATEGORY_DEFINITIONS: dict[str, str] = {
    "rip_on_rip_off": "Drugs added to a legitimate container at loading (rip-on) and removed at the destination "
    "terminal before customs clearance (rip-off), often in bags behind the doors.",
    "concealment_in_goods": "Drugs hidden inside or among the declared cargo (fruit boxes, coffee sacks, pallets).",
    "concealment_in_structure": "Drugs built into the container itself: floors, walls, roof, cross members, "
    "corner posts.",
    "reefer_unit": "Drugs hidden in the refrigeration unit, its compressor housing or insulation of a reefer "
    "container.",
    "seal_tampering": "Seals broken and replaced, cloned or reattached so the container looks untouched.",
    "container_number_cloning": "A second container painted with the number of a legitimate one, or documents "
    "swapped, to move a loaded box out of the terminal.",
    "insider_corruption": "Port, terminal, customs or logistics staff bribed or coerced to help the network.",
    "pin_code_theft": "Container release PIN codes stolen or bought to collect a container before its consignee.",
    "extraction_team": "People entering the terminal (often hiding in containers) to retrieve drugs from a box.",
    "transshipment_abuse": "Use of transshipment hubs to break the trail between the origin and the real destination.",
    "precursor_chemicals": "Shipments of chemicals used to produce or process drugs, or their diversion.",
    "hull_concealment": "Drugs attached to or hidden in the vessel hull, sea chests or other underwater parts, "
    "often by divers.",
    "sea_drop_off": "Drugs dropped at sea from a vessel and collected by small boats.",
    "chemical_concealment": "Drugs dissolved or impregnated into another substance (liquids, plastics, "
    "textiles) to be extracted later.",
    "front_company": "A shell or legitimate-looking company used as consignee, shipper or logistics provider.",
    "perimeter_intrusion": "Breach of the port or terminal perimeter (fences, gates, quays) to reach containers.",
    "intimidation_violence": "Threats, violence or extortion against port workers, officers or their families.",
    "it_system_compromise": "Intrusion into terminal operating, port community or customs systems to track or "
    "release containers.",
    "other": "Anything else; explain in the body.",
}


class SourceReliability(models.TextChoices):
    """Europol's 4x4 evaluation: how reliable the source is."""

    A = "A", _("A: no doubt about authenticity, trustworthiness and competence")
    B = "B", _("B: source has in most cases proved reliable")
    C = "C", _("C: source has in most cases proved unreliable")
    X = "X", _("X: reliability cannot be assessed")


class InformationReliability(models.TextChoices):
    """Europol's 4x4 evaluation: how reliable the information is (a code, written as a string)."""

    ONE = "1", _("1: known to be true without reservation")
    TWO = "2", _("2: known personally to the source but not to the official passing it on")
    THREE = "3", _("3: not known personally to the source but corroborated")
    FOUR = "4", _("4: cannot be judged")


class Handling(models.TextChoices):
    H0 = "H0", _("H0: may be shared further under the TLP label")
    H1 = "H1", _("H1: not to be used as evidence in judicial proceedings without the owner's permission")
    H2 = "H2", _("H2: never leaves the portal: no export, feed or webhook")
    H3 = "H3", _("H3: never leaves the portal; restrictions set by the owner apply")


def _choices_check(field: str, choices, name: str, nullable: bool = False) -> models.CheckConstraint:
    condition = Q(**{f"{field}__in": [c.value for c in choices]})
    if nullable:
        condition |= Q(**{f"{field}__isnull": True})
    return models.CheckConstraint(condition=condition, name=name)


class AlertFields(models.Model):
    """The signed fields of an alert document (audience apart), shared by the head and version rows."""

    version = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=DocumentStatus.choices)
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    author = models.CharField(max_length=96)  # membership handle, as signed
    port = models.ForeignKey(Port, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    title = models.CharField(max_length=200)
    body = models.TextField()
    category = models.CharField(max_length=32, choices=Category.choices)
    severity = models.CharField(max_length=8, choices=Severity.choices)
    tlp = models.CharField(max_length=12, choices=Tlp.choices)
    containers = models.JSONField(default=list, blank=True)
    vessels = models.JSONField(default=list, blank=True)
    origin = models.ForeignKey(Port, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    valid_until = models.DateTimeField(null=True, blank=True)
    source_reliability = models.CharField(  # noqa: DJ001 - null is "not given" in the signed document
        max_length=1, choices=SourceReliability.choices, null=True, blank=True
    )
    information_reliability = models.CharField(  # noqa: DJ001 - as above
        max_length=1, choices=InformationReliability.choices, null=True, blank=True
    )
    handling = models.CharField(max_length=2, choices=Handling.choices, null=True, blank=True)  # noqa: DJ001
    created_at = models.DateTimeField()  # the signed time of this version, whole seconds
    key = models.ForeignKey(SigningKey, on_delete=models.PROTECT, related_name="+", db_column="kid")
    jws = models.TextField()  # byte for byte as signed

    class Meta:
        abstract = True


def _alert_checks(prefix: str) -> list[models.CheckConstraint]:
    return [
        _choices_check("status", DocumentStatus, f"{prefix}_status_valid"),
        _choices_check("category", Category, f"{prefix}_category_valid"),
        _choices_check("severity", Severity, f"{prefix}_severity_valid"),
        _choices_check("tlp", Tlp, f"{prefix}_tlp_valid"),
        _choices_check("source_reliability", SourceReliability, f"{prefix}_source_reliability_valid", True),
        _choices_check("information_reliability", InformationReliability, f"{prefix}_info_reliability_valid", True),
        _choices_check("handling", Handling, f"{prefix}_handling_valid", True),
        models.CheckConstraint(condition=Q(version__gte=1), name=f"{prefix}_version_positive"),
    ]


class Alert(AlertFields):
    """One row per alert id: the latest version's fields; its TLP and audience govern the whole history."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    first_created_at = models.DateTimeField()  # version 1's signed time
    # Set by the periodic verifier: counts exclude objects known to be invalid.
    # Reads never trust it to say "verified"; they recompute from the JWS.
    integrity_failed = models.BooleanField(default=False)
    # tsvector on PostgreSQL (GIN-indexed by a migration); SQLite accepts the
    # type name, leaves it empty and searches with icontains.
    search_vector = SearchVectorField(null=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = _alert_checks("alert")
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="alert_feed"),
            models.Index(fields=["tlp", "-created_at"], name="alert_tlp_feed"),
            models.Index(fields=["agency", "-created_at"], name="alert_agency_feed"),
            models.Index(fields=["author"], name="alert_author"),
            models.Index(fields=["category", "-created_at"], name="alert_category_feed"),
            models.Index(fields=["port"], name="alert_port"),
            models.Index(fields=["origin"], name="alert_origin"),
            models.Index(fields=["integrity_failed"], name="alert_integrity_failed"),
            # Every column the access rule reads: a count of what a reader may see is an index-only scan,
            # not a walk over wide rows (each carries its JWS).
            models.Index(fields=["tlp", "agency", "integrity_failed", "author", "id"], name="alert_access_cover"),
        ]

    def __str__(self) -> str:
        return f"alert {self.id} v{self.version}"

    def get_absolute_url(self) -> str:
        return f"/alerts/{self.id}/"


class AlertVersion(AlertFields):
    """Every signed version of an alert, kept forever, the JWS exactly as signed."""

    alert = models.ForeignKey(Alert, on_delete=models.PROTECT, related_name="versions")
    audience = models.JSONField()  # {"agencies": [...], "ports": [...], "users": [...]}, as signed

    class Meta:
        ordering = ["alert", "-version"]
        constraints = [
            *_alert_checks("alert_version"),
            models.UniqueConstraint(fields=["alert", "version"], name="alert_version_unique"),
        ]

    def __str__(self) -> str:
        return f"alert {self.alert_id} v{self.version}"


class GrantKind(models.TextChoices):
    AGENCY = "agency", _("Agency named in audience.agencies")
    PORT = "port", _("Port named in audience.ports")
    USER = "user", _("Member named in audience.users")
    # SPEC 10.1: a handle names its agency; a member of an agency homed at another instance has no row here, so
    # the grant keeps the handle and that agency (what the peer offer reads), and no reader here matches it.
    REMOTE_USER = "remote", _("Member of an agency homed at another instance, named in audience.users")


def _grant_constraints(prefix: str) -> list[models.BaseConstraint]:
    return [
        models.CheckConstraint(
            condition=(
                Q(kind=GrantKind.AGENCY) & Q(agency__isnull=False) & Q(port__isnull=True) & Q(member__isnull=True)
            )
            | (Q(kind=GrantKind.PORT) & Q(port__isnull=False) & Q(agency__isnull=True) & Q(member__isnull=True))
            | (Q(kind=GrantKind.USER) & Q(member__isnull=False) & Q(agency__isnull=True) & Q(port__isnull=True))
            | (
                Q(kind=GrantKind.REMOTE_USER)
                & Q(agency__isnull=False)
                & ~Q(handle="")
                & Q(port__isnull=True)
                & Q(member__isnull=True)
            ),
            name=f"{prefix}_one_target",
        ),
    ]


class GrantFields(models.Model):
    """One audience entry of the latest version: the access rule joins on these, by indexed id."""

    kind = models.CharField(max_length=8, choices=GrantKind.choices)
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    port = models.ForeignKey(Port, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    member = models.ForeignKey(Membership, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    handle = models.CharField(max_length=96, blank=True, default="")  # REMOTE_USER only

    class Meta:
        abstract = True

    @property
    def value(self) -> str:
        if self.kind == GrantKind.AGENCY:
            return self.agency.slug
        if self.kind == GrantKind.PORT:
            return self.port_id
        if self.kind == GrantKind.REMOTE_USER:
            return self.handle
        return self.member.handle


class AlertGrant(GrantFields):
    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="grants")

    class Meta:
        constraints = _grant_constraints("alert_grant")
        indexes = [
            models.Index(fields=["agency", "alert"], name="alert_grant_agency"),
            models.Index(fields=["port", "alert"], name="alert_grant_port"),
            models.Index(fields=["member", "alert"], name="alert_grant_member"),
            models.Index(fields=["alert"], name="alert_grant_alert"),
        ]

    def __str__(self) -> str:
        return f"{self.alert_id} -> {self.kind}"


class IdentifierKind(models.TextChoices):
    CONTAINER = "container", _("Container (ISO 6346)")
    VESSEL = "vessel", _("Vessel (IMO)")


class AlertIdentifier(models.Model):
    """A container or vessel number of the latest version, indexed for the filters and correlation."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="identifiers")
    kind = models.CharField(max_length=10, choices=IdentifierKind.choices)
    value = models.CharField(max_length=11)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["alert", "kind", "value"], name="alert_identifier_unique"),
        ]
        indexes = [models.Index(fields=["kind", "value"], name="alert_identifier_lookup")]

    def __str__(self) -> str:
        return f"{self.kind} {self.value}"


class PracticeFields(models.Model):
    """The signed fields of a best practice (audience apart)."""

    version = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=DocumentStatus.choices)
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    author = models.CharField(max_length=96)
    title = models.CharField(max_length=200)
    body = models.TextField()  # Markdown
    tags = models.JSONField(default=list, blank=True)
    tlp = models.CharField(max_length=12, choices=Tlp.choices)
    created_at = models.DateTimeField()
    key = models.ForeignKey(SigningKey, on_delete=models.PROTECT, related_name="+", db_column="kid")
    jws = models.TextField()

    class Meta:
        abstract = True


def _practice_checks(prefix: str) -> list[models.CheckConstraint]:
    return [
        _choices_check("status", DocumentStatus, f"{prefix}_status_valid"),
        _choices_check("tlp", Tlp, f"{prefix}_tlp_valid"),
        models.CheckConstraint(condition=Q(version__gte=1), name=f"{prefix}_version_positive"),
    ]


class Practice(PracticeFields):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    first_created_at = models.DateTimeField()
    integrity_failed = models.BooleanField(default=False)
    # tsvector on PostgreSQL (GIN-indexed by a migration); SQLite accepts the
    # type name, leaves it empty and searches with icontains.
    search_vector = SearchVectorField(null=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = _practice_checks("practice")
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="practice_feed"),
            models.Index(fields=["tlp", "-created_at"], name="practice_tlp_feed"),
            models.Index(fields=["agency", "-created_at"], name="practice_agency_feed"),
            models.Index(fields=["author"], name="practice_author"),
            models.Index(fields=["integrity_failed"], name="practice_integrity_failed"),
            models.Index(fields=["tlp", "agency", "integrity_failed", "author", "id"], name="practice_access_cover"),
        ]

    def __str__(self) -> str:
        return f"practice {self.id} v{self.version}"

    def get_absolute_url(self) -> str:
        return f"/practices/{self.id}/"


class PracticeVersion(PracticeFields):
    practice = models.ForeignKey(Practice, on_delete=models.PROTECT, related_name="versions")
    audience = models.JSONField()

    class Meta:
        ordering = ["practice", "-version"]
        constraints = [
            *_practice_checks("practice_version"),
            models.UniqueConstraint(fields=["practice", "version"], name="practice_version_unique"),
        ]

    def __str__(self) -> str:
        return f"practice {self.practice_id} v{self.version}"


class PracticeGrant(GrantFields):
    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="grants")

    class Meta:
        constraints = _grant_constraints("practice_grant")
        indexes = [
            models.Index(fields=["agency", "practice"], name="practice_grant_agency"),
            models.Index(fields=["port", "practice"], name="practice_grant_port"),
            models.Index(fields=["member", "practice"], name="practice_grant_member"),
            models.Index(fields=["practice"], name="practice_grant_practice"),
        ]

    def __str__(self) -> str:
        return f"{self.practice_id} -> {self.kind}"


class PracticeTag(models.Model):
    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="tag_rows")
    tag = models.CharField(max_length=40)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["practice", "tag"], name="practice_tag_unique")]
        indexes = [models.Index(fields=["tag"], name="practice_tag_lookup")]

    def __str__(self) -> str:
        return self.tag
