"""seed_demo, add_member, issue_token, register_node: idempotent, clear errors, tokens on the last line."""

import io

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import CommandError, call_command

from ports.keys import public_x, thumbprint
from ports.models import Agency, ApiToken, Membership, Port, ScannerNode, SigningKey, hash_token

pytestmark = pytest.mark.django_db


def _snapshot():
    return (
        sorted(Port.objects.values_list("locode", "name", "hub", "is_member")),
        sorted(Agency.objects.values_list("slug", "kind", "port_id")),
        sorted(Membership.objects.values_list("user__username", "agency__slug", "role", "handle")),
        sorted(ScannerNode.objects.values_list("id", "agency__slug", "port_id")),
        sorted(SigningKey.objects.values_list("kid", "status")),
        ApiToken.objects.count(),
    )


def test_seed_demo_is_idempotent(settings, tmp_path, monkeypatch):
    settings.VAR_DIR = tmp_path
    monkeypatch.setenv("DEMO_PASSWORD", "a-demo-password-123")
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    first = _snapshot()
    call_command("seed_demo", stdout=io.StringIO())
    assert _snapshot() == first
    text = out.getvalue()
    assert "a-demo-password-123" in text
    assert "antwerp.officer" in text
    assert "europol.liaison" in text
    # What the SPEC asks of the seed.
    member_ports = Port.objects.filter(is_member=True)
    for port in member_ports:
        for kind in ("customs", "police", "port_authority"):
            assert Agency.objects.filter(port=port, kind=kind).exists(), (port, kind)
    for code in ["BEANR", "NLRTM", "DEHAM", "DEBRV", "ESALG", "ESVLC", "FRLEH"]:
        assert Agency.objects.filter(slug=f"{code.lower()}-terminal-operator").exists()
    assert Agency.objects.filter(slug="europol", port=None).exists()
    roles = set(Membership.objects.values_list("role", flat=True))
    assert roles == {"officer", "analyst", "liaison", "admin"}
    assert ScannerNode.objects.count() >= 5
    for node in ScannerNode.objects.all():
        assert node.keys.filter(status="active").count() == 1
        raw = (tmp_path / "nodes" / f"{node.id}.token").read_text().strip()
        assert ApiToken.objects.filter(node=node, key_hash=hash_token(raw), revoked_at=None).exists()


def test_add_member_creates_and_updates(ports, make_agency):
    make_agency("beanr-customs")
    out = io.StringIO()
    call_command("add_member", "new.person", "--agency", "beanr-customs", "--role", "analyst", stdout=out)
    assert "beanr-customs/" in out.getvalue()
    call_command("add_member", "new.person", "--agency", "beanr-customs", "--role", "officer", stdout=io.StringIO())
    assert Membership.objects.get(user__username="new.person").role == "officer"


def test_add_member_reads_password_from_stdin(ports, make_agency, monkeypatch, django_user_model):
    make_agency("nlrtm-customs")
    monkeypatch.setattr("sys.stdin", io.StringIO("a-long-secret-passphrase\n"))
    call_command(
        "add_member",
        "pw.person",
        "--agency",
        "nlrtm-customs",
        "--role",
        "analyst",
        "--password-stdin",
        stdout=io.StringIO(),
    )
    assert django_user_model.objects.get(username="pw.person").check_password("a-long-secret-passphrase")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--agency", "nowhere-customs", "--role", "analyst"], "Unknown agency"),
        (["--agency", "beanr-terminal-operator", "--role", "liaison"], "public-sector"),
        (["--agency", "beanr-customs", "--role", "wizard"], "Unknown role"),
    ],
)
def test_add_member_rejects_bad_input(ports, make_agency, args, message):
    make_agency("beanr-customs")
    make_agency("beanr-terminal-operator")
    with pytest.raises(CommandError, match=message):
        call_command("add_member", "bad.person", *args, stdout=io.StringIO())


def test_issue_token_prints_token_alone_on_last_line(make_member):
    make_member("token.person", "deham-police", "analyst")
    out = io.StringIO()
    call_command("issue_token", "token.person", stdout=out)
    raw = out.getvalue().strip().splitlines()[-1]
    assert " " not in raw
    assert len(raw) > 30
    token = ApiToken.objects.get(user__username="token.person")
    assert token.key_hash == hash_token(raw)
    assert raw not in (token.key_hash, token.prefix)
    with pytest.raises(CommandError, match="Unknown"):
        call_command("issue_token", "nobody", stdout=io.StringIO())


@pytest.mark.parametrize("form", ["pem", "x"])
def test_register_node_accepts_pem_or_base64url(ports, make_agency, tmp_path, form):
    make_agency("beanr-customs")
    private = Ed25519PrivateKey.generate()
    x = public_x(private.public_key())
    pem = private.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    keyfile = tmp_path / "node.pub"
    keyfile.write_bytes(pem if form == "pem" else x.encode())
    out = io.StringIO()
    call_command("register_node", "beanr-xr-07", "--agency", "beanr-customs", "--public-key", str(keyfile), stdout=out)
    raw = out.getvalue().strip().splitlines()[-1]
    node = ScannerNode.objects.get(id="beanr-xr-07")
    assert node.port_id == "BEANR"
    assert ApiToken.objects.get(node=node).key_hash == hash_token(raw)
    key = SigningKey.objects.get(node=node)
    assert key.kid == thumbprint(x)
    assert key.x == x
    assert not key.held_by_portal


def test_register_node_rejects_unknown_agency_and_wrong_kind(ports, make_agency, tmp_path):
    make_agency("beanr-police")
    keyfile = tmp_path / "node.pub"
    keyfile.write_text(public_x(Ed25519PrivateKey.generate().public_key()))
    with pytest.raises(CommandError, match="Unknown agency"):
        call_command("register_node", "n1", "--agency", "xxabc-customs", "--public-key", str(keyfile))
    with pytest.raises(CommandError, match="customs agency or a port authority"):
        call_command("register_node", "n1", "--agency", "beanr-police", "--public-key", str(keyfile))
    keyfile.write_text("not a key")
    make_agency("beanr-customs")
    with pytest.raises(CommandError, match="public_key"):
        call_command("register_node", "n1", "--agency", "beanr-customs", "--public-key", str(keyfile))
    assert not ScannerNode.objects.exists()
