"""KEK rotation re-wraps every held private key: signing still works with the same kids; the old KEK
no longer opens them; a wrong old KEK changes nothing."""

import io

import pytest
from cryptography.exceptions import InvalidTag
from django.core.management import CommandError, call_command

from ports.keys import decrypt_private_key
from ports.models import AuditEntry, SigningKey
from ports.services import agency_key_ensure, portal_key_ensure


def test_rewrap_under_a_new_kek(cast, make_agency, settings, monkeypatch):
    settings.ALLIANCE_KEK = "old-secret"
    keys = [agency_key_ensure(make_agency("beanr-customs")), agency_key_ensure(make_agency("deham-customs"))]
    portal = portal_key_ensure()
    before = {k.kid: bytes(k.private_key_encrypted) for k in SigningKey.objects.filter(held_by_portal=True)}
    assert {k.kid for k in keys} | {portal.kid} <= set(before)

    settings.ALLIANCE_KEK = "new-secret"
    monkeypatch.setattr("sys.stdin", io.StringIO("old-secret\n"))
    out = io.StringIO()
    call_command("rewrap_keys", "--old-kek-stdin", stdout=out)
    assert f"re-wrapped {len(before)} private key(s)" in out.getvalue()
    for key in SigningKey.objects.filter(held_by_portal=True):
        assert bytes(key.private_key_encrypted) != before[key.kid]
        opened = decrypt_private_key(key.private_key_encrypted, key.kid)  # the new KEK opens it
        assert opened.public_key() is not None
        with pytest.raises(InvalidTag):  # the old KEK no longer does
            decrypt_private_key(key.private_key_encrypted, key.kid, kek="old-secret")
    assert AuditEntry.objects.filter(action="keys.rewrapped").count() == 1


def test_wrong_old_kek_changes_nothing(cast, make_agency, settings, monkeypatch):
    settings.ALLIANCE_KEK = "old-secret"
    agency_key_ensure(make_agency("beanr-customs"))
    before = {k.kid: bytes(k.private_key_encrypted) for k in SigningKey.objects.filter(held_by_portal=True)}
    settings.ALLIANCE_KEK = "new-secret"
    monkeypatch.setattr("sys.stdin", io.StringIO("not-the-old-one\n"))
    with pytest.raises(CommandError, match="does not open with the old KEK"):
        call_command("rewrap_keys", "--old-kek-stdin")
    after = {k.kid: bytes(k.private_key_encrypted) for k in SigningKey.objects.filter(held_by_portal=True)}
    assert after == before
