"""The verified-signature memory (ports/signing.py): an exact repeat is answered from memory, anything else is
verified again, so tampering after a read still shows as `invalid` on the next read."""

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.db import connection

from ports import signing
from ports.keys import b64url
from ports.models import KeyStatus, SigningKey
from sharing.models import Alert

pytestmark = pytest.mark.django_db


def _key():
    private = Ed25519PrivateKey.generate()
    x = b64url(private.public_key().public_bytes_raw())
    return private, SigningKey(kid="memo-test", x=x, status=KeyStatus.ACTIVE)


@pytest.fixture(autouse=True)
def fresh_memory(settings):
    settings.SIGNATURE_MEMO_SIZE = 1000
    signing.forget_verified()
    yield
    signing.forget_verified()


def test_a_repeat_is_remembered_and_a_changed_signature_is_not():
    private, key = _key()
    document = {"id": "a", "n": 1, "title": "Seals"}
    jws = signing.sign_with_private_key(document, private, key.kid, "alert+json")
    assert signing.status_of(jws, "alert+json", document, key) == signing.SignatureStatus.VERIFIED
    assert len(signing._VERIFIED) == 1
    assert signing.status_of(jws, "alert+json", document, key) == signing.SignatureStatus.VERIFIED
    assert len(signing._VERIFIED) == 1  # answered from memory
    header, payload, signature = jws.split(".")
    flipped = signature[:-2] + ("AA" if signature[-2:] != "AA" else "BA")
    assert signing.status_of(f"{header}.{payload}.{flipped}", "alert+json", document, key) == "invalid"
    other = signing.sign_with_private_key({**document, "title": "Other"}, private, key.kid, "alert+json")
    forged = f"{header}.{other.split('.')[1]}.{signature}"  # remembered signature, another payload
    assert signing.status_of(forged, "alert+json", {**document, "title": "Other"}, key) == "invalid"


def test_the_same_jws_under_another_key_is_verified_again():
    private, key = _key()
    document = {"id": "a"}
    jws = signing.sign_with_private_key(document, private, key.kid, "alert+json")
    assert signing.status_of(jws, "alert+json", document, key) == "verified"
    _, stranger = _key()
    assert signing.status_of(jws, "alert+json", document, stranger) == "invalid"


def test_stored_fields_are_compared_on_every_read_with_exact_types():
    private, key = _key()
    document = {"id": "a", "version": 1, "flag": True, "ratio": 1e-7, "none": None}
    jws = signing.sign_with_private_key(document, private, key.kid, "alert+json")
    assert signing.status_of(jws, "alert+json", document, key) == "verified"  # a float: RFC 8785 decides
    assert signing.status_of(jws, "alert+json", {**document, "flag": 1}, key) == "invalid"
    assert signing.status_of(jws, "alert+json", {**document, "version": True}, key) == "invalid"
    assert signing.status_of(jws, "alert+json", {**document, "ratio": 1.0000001e-7}, key) == "invalid"
    assert signing.status_of(jws, "alert+json", {**document, "extra": ""}, key) == "invalid"


def test_key_status_is_read_on_every_call():
    private, key = _key()
    jws = signing.sign_with_private_key({"id": "a"}, private, key.kid, "alert+json")
    assert signing.status_of(jws, "alert+json", {"id": "a"}, key) == "verified"
    key.status = KeyStatus.REVOKED
    assert signing.status_of(jws, "alert+json", {"id": "a"}, key) == "key_revoked"


def test_the_memory_is_bounded(settings):
    settings.SIGNATURE_MEMO_SIZE = 3
    private, key = _key()
    for n in range(10):
        jws = signing.sign_with_private_key({"n": n}, private, key.kid, "alert+json")
        assert signing.status_of(jws, "alert+json", {"n": n}, key) == "verified"
    assert len(signing._VERIFIED) == 3


def test_off_when_the_size_is_zero(settings):
    settings.SIGNATURE_MEMO_SIZE = 0
    private, key = _key()
    jws = signing.sign_with_private_key({"n": 1}, private, key.kid, "alert+json")
    assert signing.status_of(jws, "alert+json", {"n": 1}, key) == "verified"
    assert signing._VERIFIED == {}


def test_a_row_read_then_tampered_reads_invalid(cast, publish, api_as):
    """The API path: the first read fills the memory; a change to the stored row after it is still caught."""
    users = cast["users"]
    alert = publish(users["author"], tlp="GREEN", title="Cloned seals")
    client = api_as(users["author"])
    assert client.get(f"/api/v1/alerts/{alert['id']}/").json()["signature_status"] == "verified"
    assert signing._VERIFIED  # remembered
    pk = Alert._meta.pk.get_db_prep_value(Alert._meta.pk.to_python(alert["id"]), connection)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE sharing_alert SET title = 'Nothing to see' WHERE id = %s", [pk])
    assert client.get(f"/api/v1/alerts/{alert['id']}/").json()["signature_status"] == "invalid"
    assert api_as(users["rotterdam_customs"]).get(f"/api/v1/alerts/{alert['id']}/").status_code == 404
