"""A public key has one spelling (SPEC section 3: a key is registered once, under one kid).

Ed25519 `x` is 43 base64url characters; the last one carries 2 unused bits that decoders ignore,
so one key has four spellings and four RFC 7638 thumbprints. Every path that takes a public key
refuses all but the canonical one (and padding, wrong lengths, foreign characters) with an error
naming the field, instead of registering the same key again under another kid.
"""

import io

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import CommandError, call_command
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from ports.keys import public_x, thumbprint
from ports.models import ScannerNode, SigningKey
from tests.scans.helpers import Node, now_z

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _x() -> str:
    return public_x(Ed25519PrivateKey.generate().public_key())


def _other_spellings(x: str) -> list[str]:
    """The three non-canonical spellings of `x`: the same 32 bytes, other unused trailing bits."""
    last = ALPHABET.index(x[-1])
    assert last % 4 == 0  # canonical: the two unused bits are zero
    return [x[:-1] + ALPHABET[last + bits] for bits in (1, 2, 3)]


def _malformed(x: str) -> list[str]:
    return [*_other_spellings(x), x + "=", x[:-1], x + "A", x[:-1] + "+", x[:-1] + "/", x[:-1] + "é", ""]


def _session(user, client_class):
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    client = client_class()
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


@pytest.fixture
def admin_api(cast):
    return _session(cast["users"]["antwerp_admin"], APIClient)


@pytest.fixture
def admin_page(cast):
    return _session(cast["users"]["antwerp_admin"], Client)


def test_the_same_bytes_decode_under_every_spelling():
    """The premise of the attack: decoders accept all four spellings as the same key."""
    import base64

    x = _x()
    raw = base64.urlsafe_b64decode(x + "=")
    for other in _other_spellings(x):
        assert base64.urlsafe_b64decode(other + "=") == raw
        assert thumbprint(other) != thumbprint(x)


def test_api_register_refuses_other_spellings_naming_the_field(cast, admin_api):
    x = _x()
    assert admin_api.post("/api/v1/keys/", {"agency": "beanr-customs", "x": x}, format="json").status_code == 201
    for bad in _malformed(_x()) + _other_spellings(x):
        response = admin_api.post("/api/v1/keys/", {"agency": "beanr-customs", "x": bad}, format="json")
        if bad == "":
            assert response.status_code == 400  # neither x nor pem given
            continue
        assert response.status_code == 400, (bad, response.json())
        assert "x" in response.json()["errors"], response.json()
    for wrong_type in (["a"], {"x": "y"}, 42):
        response = admin_api.post("/api/v1/keys/", {"agency": "beanr-customs", "x": wrong_type}, format="json")
        assert response.status_code == 400
        assert "x" in response.json()["errors"]
    assert SigningKey.objects.filter(agency__slug="beanr-customs", held_by_portal=False).count() == 1


def test_api_register_by_pem_derives_x_and_refuses_the_key_again(cast, admin_api):
    private = Ed25519PrivateKey.generate()
    x = public_x(private.public_key())
    pem = private.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    response = admin_api.post("/api/v1/keys/", {"agency": "beanr-customs", "pem": pem.decode()}, format="json")
    assert response.status_code == 201
    assert response.json()["x"] == x
    assert response.json()["kid"] == thumbprint(x)
    for again in (x, *_other_spellings(x)):
        response = admin_api.post("/api/v1/keys/", {"agency": "beanr-customs", "x": again}, format="json")
        assert response.status_code == 400
        assert "x" in response.json()["errors"]
    broken = admin_api.post("/api/v1/keys/", {"agency": "beanr-customs", "pem": "-----BEGIN junk"}, format="json")
    assert broken.status_code == 400
    assert "pem" in broken.json()["errors"]
    assert SigningKey.objects.filter(x__startswith=x[:42]).count() == 1


def test_node_rotation_refuses_its_own_key_spelled_otherwise(cast, make_agency):
    node = Node("beanr-xr-01", make_agency("beanr-customs"))
    for bad in _other_spellings(node.x) + _malformed(_x()):
        jws = node.sign({"node": node.id, "x": bad, "created_at": now_z()}, typ="key+json")
        response = node.client.post("/api/v1/nodes/me/keys/", {"jws": jws}, format="json")
        assert response.status_code == 400, (bad, response.json())
        assert "x" in response.json()["errors"]
    assert list(SigningKey.objects.filter(node_id=node.id).values_list("kid", "status")) == [(node.kid, "active")]


def test_register_node_command_refuses_other_spellings(cast, make_agency, tmp_path):
    make_agency("beanr-customs")
    keyfile = tmp_path / "node.pub"
    x = _x()
    keyfile.write_text(x + "\n")
    call_command(
        "register_node", "beanr-xr-07", "--agency", "beanr-customs", "--public-key", str(keyfile), stdout=io.StringIO()
    )
    for n, bad in enumerate(_other_spellings(x) + _malformed(_x())):
        keyfile.write_text(bad + "\n")
        with pytest.raises(CommandError, match="public_key"):
            call_command(
                "register_node", f"beanr-xr-{10 + n}", "--agency", "beanr-customs", "--public-key", str(keyfile)
            )
    assert list(ScannerNode.objects.values_list("id", flat=True)) == ["beanr-xr-07"]
    assert list(SigningKey.objects.filter(node_id="beanr-xr-07").values_list("x", flat=True)) == [x]


def test_agency_node_pages_refuse_other_spellings(cast, admin_page):
    x = _x()
    response = admin_page.post("/agency/beanr-customs/nodes/", {"node_id": "beanr-scanner-07", "public_key": x})
    assert response.status_code == 200
    for n, bad in enumerate(_other_spellings(x) + _malformed(_x())[:-1]):
        response = admin_page.post(
            "/agency/beanr-customs/nodes/", {"node_id": f"beanr-scanner-{10 + n}", "public_key": bad}
        )
        assert response.status_code == 400, bad
        assert "Not an Ed25519 public key" in response.content.decode(), bad
        # The admin replacing the node's key: refused, the message names the field.
        response = admin_page.post(
            "/agency/beanr-customs/nodes/beanr-scanner-07/key/", {"public_key": bad}, follow=True
        )
        assert "Not an Ed25519 public key" in response.content.decode(), bad
    assert list(ScannerNode.objects.values_list("id", flat=True)) == ["beanr-scanner-07"]
    assert list(SigningKey.objects.filter(node_id="beanr-scanner-07").values_list("x", "status")) == [(x, "active")]
