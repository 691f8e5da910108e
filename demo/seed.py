"""The demo alliance: real ports, their agencies, demo members per role, scanner nodes with keys."""

import secrets
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.db import transaction

from ports.instance import home_agencies
from ports.keys import public_x
from ports.models import Agency, AgencyKind, ApiToken, Port, ScannerNode, SigningKey, hash_token
from ports.services import (
    agency_ensure,
    agency_key_ensure,
    member_add,
    node_register,
    portal_key_ensure,
    reference_ports_load,
)

from .content import populate as populate_demo_content

TERMINAL_PORTS = ["BEANR", "NLRTM", "DEHAM", "DEBRV", "ESALG", "ESVLC", "FRLEH"]
SHIPPING_LINE_PORTS = ["BEANR", "NLRTM"]

KIND_NAMES = {
    AgencyKind.CUSTOMS: "Customs",
    AgencyKind.POLICE: "Police",
    AgencyKind.PORT_AUTHORITY: "Port Authority",
    AgencyKind.TERMINAL_OPERATOR: "Terminal Operator",
    AgencyKind.SHIPPING_LINE: "Shipping Line",
}

# username, display name, agency slug, role
DEMO_USERS = [
    ("antwerp.officer", "An Peeters", "beanr-customs", "officer"),
    ("antwerp.admin", "Bart Janssens", "beanr-customs", "admin"),
    ("antwerp.police", "Carine Maes", "beanr-police", "analyst"),
    ("rotterdam.analyst", "Daan de Vries", "nlrtm-customs", "analyst"),
    ("rotterdam.officer", "Eva Bakker", "nlrtm-customs", "officer"),
    ("rotterdam.terminal", "Femke Visser", "nlrtm-terminal-operator", "analyst"),
    ("hamburg.officer", "Greta Schulz", "deham-customs", "officer"),
    ("hamburg.police", "Hans Weber", "deham-police", "analyst"),
    ("hamburg.terminal", "Ines Wagner", "deham-terminal-operator", "analyst"),
    ("algeciras.officer", "Javier Ruiz", "esalg-customs", "officer"),
    ("europol.liaison", "Katrin Novak", "europol", "liaison"),
    ("europol.analyst", "Luca Ferrari", "europol", "analyst"),
]

# node id, agency slug
DEMO_NODES = [
    ("beanr-scan-01", "beanr-customs"),
    ("nlrtm-scan-01", "nlrtm-customs"),
    ("deham-scan-01", "deham-customs"),
    ("esalg-scan-01", "esalg-customs"),
    ("esvlc-scan-01", "esvlc-customs"),
    ("frleh-scan-01", "frleh-customs"),
    ("itgit-scan-01", "itgit-customs"),
    ("plgdn-scan-01", "plgdn-port-authority"),
]


def nodes_dir() -> Path:
    path = settings.VAR_DIR / "nodes"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _node_key(node_id: str) -> Ed25519PrivateKey:
    """The simulated node's private key lives on 'the node' (a git-ignored file), never in the database."""
    path = nodes_dir() / f"{node_id}.pem"
    if path.exists():
        return serialization.load_pem_private_key(path.read_bytes(), password=None)
    key = Ed25519PrivateKey.generate()
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    path.chmod(0o600)
    return key


def _ensure_node(node_id: str, agency: Agency) -> None:
    key = _node_key(node_id)
    x = public_x(key.public_key())
    token_path = nodes_dir() / f"{node_id}.token"
    node = ScannerNode.objects.filter(id=node_id).first()
    known = SigningKey.objects.filter(x=x, node_id=node_id).exists()
    token_ok = (
        token_path.exists()
        and ApiToken.objects.filter(
            node_id=node_id, key_hash=hash_token(token_path.read_text().strip()), revoked_at__isnull=True
        ).exists()
    )
    if node is not None and known and token_ok:
        return
    _, raw = node_register(
        node_id=node_id, agency=agency, public_key=x, description=f"Demo X-ray scanner {node_id}", actor="seed_demo"
    )
    token_path.write_text(raw + "\n")
    token_path.chmod(0o600)


@transaction.atomic
def seed(password: str | None = None) -> dict:
    reference_ports_load()
    for port in Port.objects.filter(is_member=True):
        for kind in (AgencyKind.CUSTOMS, AgencyKind.POLICE, AgencyKind.PORT_AUTHORITY):
            agency_ensure(kind=kind, port=port, name=f"{port.name} {KIND_NAMES[kind]}")
        if port.locode in TERMINAL_PORTS:
            agency_ensure(kind=AgencyKind.TERMINAL_OPERATOR, port=port, name=f"{port.name} Container Terminal")
        if port.locode in SHIPPING_LINE_PORTS:
            agency_ensure(kind=AgencyKind.SHIPPING_LINE, port=port, name=f"{port.name} Shipping Line Agency")
    agency_ensure(kind=AgencyKind.EU_AGENCY, port=None, name="Europol", slug="europol")
    # SPEC 10.1: members, keys and nodes for home agencies only; the others are references (their keys come
    # from their home instance's signed document).
    home = set(home_agencies().values_list("slug", flat=True))
    for agency in Agency.objects.filter(slug__in=home):
        agency_key_ensure(agency)
    portal_key_ensure()
    password = password or secrets.token_urlsafe(12)
    users = []
    for username, name, slug, role in DEMO_USERS:
        if slug not in home:
            continue
        membership = member_add(
            username=username,
            agency=Agency.objects.get(slug=slug),
            role=role,
            password=password,
            display_name=name,
            # A reserved domain: demo mail is never deliverable; `make run` keeps it in var/mail (/mail/).
            email=f"{username}@demo.alliance.invalid",
            actor="seed_demo",
        )
        users.append((username, slug, role, membership.handle))
    nodes = [(node_id, slug) for node_id, slug in DEMO_NODES if slug in home]
    for node_id, slug in nodes:
        _ensure_node(node_id, Agency.objects.get(slug=slug))
    populate_demo_content()
    return {"password": password, "users": users, "nodes": [n for n, _ in nodes]}
