"""A scanner node with its own key, and signed scan documents, for the scan tests."""

from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from rest_framework.test import APIClient

from ports.keys import public_x, thumbprint
from ports.services import node_register
from ports.signing import sign_with_private_key

CONTAINERS = ["MSCU1234566", "CSQU3054383", "TGHU1234562", "MAEU1234563", "HLXU1234565"]


def iso6346(owner_serial: str) -> str:
    """Complete a 10-character owner code + serial with its ISO 6346 check digit."""
    from stdnum import iso6346 as std

    return owner_serial + std.calc_check_digit(owner_serial)


def now_z(delta: timedelta = timedelta()) -> str:
    return (datetime.now(UTC) + delta).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


class Node:
    def __init__(self, node_id: str, agency):
        self.private = Ed25519PrivateKey.generate()
        self.x = public_x(self.private.public_key())
        self.kid = thumbprint(self.x)
        self.node, self.token = node_register(node_id=node_id, agency=agency, public_key=self.x)
        self.id = node_id
        self.port = self.node.port_id
        self.client = APIClient()
        self.client.credentials(HTTP_AUTHORIZATION=f"Token {self.token}")
        self._n = 0

    def document(self, **overrides) -> dict:
        self._n += 1
        doc = {
            "scan_id": f"{self.id}-{self._n:06d}",
            "node": self.id,
            "port": self.port,
            "scanned_at": now_z(-timedelta(minutes=1)),
            "container": iso6346(f"MSCU{self._n:06d}"),
            "origin": "ECGYE",
            "mode": "import",
            "verdict": "clear",
        }
        doc.update(overrides)
        return {k: v for k, v in doc.items() if v is not ...}

    def sign(self, document: dict, *, private=None, kid=None, typ="scan+json") -> str:
        return sign_with_private_key(document, private or self.private, kid or self.kid, typ)

    def push(self, document: dict | None = None, **overrides):
        jws = self.sign(document or self.document(**overrides))
        return self.client.post("/api/v1/scans/", {"jws": jws}, format="json")

    def batch(self, items: list[str]):
        return self.client.post("/api/v1/scans/batch/", {"items": items}, format="json")
