"""A foreign instance on one database: its portal and agency keys held by the test, its documents signed here."""

import uuid
from dataclasses import dataclass, field

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.utils import timezone

from interop import stix
from ports import signing
from ports.keys import public_jwk, public_x
from ports.models import Agency

from ..sharing.conftest import alert_fields


@dataclass
class Origin:
    """Instance `instance_id`, its portal key and one key per home agency, kept by the test (not in our DB)."""

    instance_id: str
    url: str
    agencies: list[Agency]
    portal: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)
    keys: dict[str, Ed25519PrivateKey] = field(default_factory=dict)
    key_status: dict[str, str] = field(default_factory=dict)

    def __post_init__(self):
        for agency in self.agencies:
            self.keys[agency.slug] = Ed25519PrivateKey.generate()

    @property
    def portal_kid(self) -> str:
        return public_jwk(public_x(self.portal.public_key()))["kid"]

    def kid(self, slug: str) -> str:
        return public_jwk(public_x(self.keys[slug].public_key()))["kid"]

    def document(self, signer: Ed25519PrivateKey | None = None) -> str:
        signer = signer or self.portal
        jwks = [{**public_jwk(public_x(self.portal.public_key())), "owner": "portal", "status": "active"}]
        for slug, key in self.keys.items():
            jwk = public_jwk(public_x(key.public_key()))
            jwks.append({**jwk, "owner": slug, "status": self.key_status.get(jwk["kid"], "active")})
        payload = {
            "instance": self.instance_id,
            "url": self.url,
            "agencies": [{"slug": a.slug, "name": a.name, "kind": a.kind, "port": a.port_id} for a in self.agencies],
            "keys": jwks,
            "issued_at": signing.rfc3339(timezone.now()),
        }
        kid = public_jwk(public_x(signer.public_key()))["kid"]
        return signing.sign_with_private_key(payload, signer, kid, "instance+json")

    def alert(self, slug: str, *, key_slug: str | None = None, version: int = 1, doc_id: str | None = None, **fields):
        agency_key = self.keys[key_slug or slug]
        doc = {
            **alert_fields(**fields),
            "id": doc_id or str(uuid.uuid4()),
            "version": version,
            "type": "alert",
            "status": fields.get("status", "active"),
            "agency": slug,
            "author": f"{slug}/a1b2c3",
            "created_at": signing.rfc3339(timezone.now().replace(microsecond=0)),
        }
        jws = signing.sign_with_private_key(doc, agency_key, self.kid(key_slug or slug), "alert+json")
        return self.report(jws, doc)

    def report(self, jws: str, doc: dict) -> dict:
        return {
            "type": "report",
            "spec_version": "2.1",
            "id": stix.report_id("alert", doc["id"]),
            "extensions": {stix.EXTENSION_ID: {"extension_type": "property-extension", "document": doc, "jws": jws}},
        }

    def tombstone(self, object_id: str, version: int, reason: str) -> dict:
        doc = {
            "type": "tombstone",
            "object": object_id,
            "version": version,
            "reason": reason,
            "at": signing.rfc3339(timezone.now().replace(microsecond=0)),
        }
        jws = signing.sign_with_private_key(doc, self.portal, self.portal_kid, "tombstone+json")
        return {
            "type": stix.TOMBSTONE_TYPE,
            "spec_version": "2.1",
            "id": stix.tombstone_id(uuid.uuid4()),
            "extensions": {stix.EXTENSION_ID: {"extension_type": "new-sdo", "document": doc, "jws": jws}},
        }


@pytest.fixture
def at_nl(settings):
    """This test database plays instance `nl`, home to the Rotterdam agencies."""
    settings.INSTANCE_ID = "nl"
    settings.INSTANCE_URL = "http://nl.test"
    settings.HOME_AGENCIES = ["port:NLRTM"]
    return settings


@pytest.fixture
def at_be(settings):
    settings.INSTANCE_ID = "be"
    settings.INSTANCE_URL = "http://be.test"
    settings.HOME_AGENCIES = ["port:BEANR"]
    return settings
