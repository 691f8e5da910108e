"""Webhook tests: an HTTPS receiver on loopback behind a throwaway CA, scan pushing and relay helpers."""

import datetime
import ipaddress
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from scans.services.relay import relay_batch
from tests.scans.helpers import Node
from tests.sharing.conftest import verified_session  # noqa: F401 - a fixture shared with the key tests
from webhooks import services
from webhooks.models import WebhookDelivery


def _cert(subject: str, issuer_name, issuer_key, public_key, *, ca: bool, sans=None) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(issuer_name or x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
    else:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False).add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False
        )
    return builder.sign(issuer_key, hashes.SHA256())


def make_ca_and_server_cert(directory: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate for localhost / 127.0.0.1: (ca.pem, server.pem, server.key)."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _cert("Alliance test CA", None, ca_key, ca_key.public_key(), ca=True)
    server_key = ec.generate_private_key(ec.SECP256R1())
    server = _cert(
        "localhost",
        ca.subject,
        ca_key,
        server_key.public_key(),
        ca=False,
        sans=[x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))],
    )
    pem = serialization.Encoding.PEM
    ca_path, cert_path, key_path = directory / "ca.pem", directory / "server.pem", directory / "server.key"
    ca_path.write_bytes(ca.public_bytes(pem))
    cert_path.write_bytes(server.public_bytes(pem))
    key_path.write_bytes(server_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return ca_path, cert_path, key_path


class Receiver:
    """An HTTPS server in a thread that answers 500 to the first `fail_first` POSTs (or 302 to all)."""

    def __init__(self, directory: Path):
        self.ca, cert, key = make_ca_and_server_cert(directory)
        self.fail_first = 0
        self.redirect = False
        self.received: list[dict] = []  # every POST, answered or failed, in order
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    n = len(receiver.received)
                    if receiver.redirect:
                        status = 302
                    elif n < receiver.fail_first:
                        status = 500
                    else:
                        status = 200
                    receiver.received.append(
                        {"path": self.path, "headers": dict(self.headers), "body": body, "status": status}
                    )
                self.send_response(status)
                if status == 302:
                    self.send_header("Location", "https://localhost:9/elsewhere")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "/hook") -> str:
        return f"https://localhost:{self.port}{path}"

    @property
    def accepted(self) -> list[dict]:
        with self.lock:
            return [r for r in self.received if r["status"] == 200]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(tmp_path, settings):
    """The receiver, trusted through WEBHOOK_CA_BUNDLE and allowed through WEBHOOK_ALLOWED_HOSTS."""
    server = Receiver(tmp_path)
    settings.WEBHOOK_ALLOWED_HOSTS = ["localhost"]
    settings.WEBHOOK_CA_BUNDLE = str(server.ca)
    settings.WEBHOOK_BACKOFF_SECONDS = 1
    yield server
    server.stop()


@pytest.fixture
def admin_client(cast, verified_session):  # noqa: F811 - the fixture imported above
    """Antwerp customs' admin with a second-factor session."""
    return verified_session(cast["users"]["antwerp_admin"])


@pytest.fixture
def queued(monkeypatch):
    """Attempts queued for the worker, recorded instead of sent to a broker (tests run them in-process)."""
    calls: list[str] = []
    monkeypatch.setattr(services, "_enqueue", lambda ids, countdown=None: calls.extend(ids))
    return calls


@pytest.fixture
def antwerp_node(cast, make_agency):
    return Node("beanr-wh-01", make_agency("beanr-customs"))


def push_and_relay(node: Node, capture, **fields) -> dict:
    """Push one scan through the API, relay it, and run the after-commit hooks (attempts created)."""
    response = node.push(**fields)
    assert response.status_code == 201, response.json()
    scan = response.json()
    with capture(execute=True):
        relay_batch(scan_ids=[scan["id"]])
    return scan


def attempts_of(scan_id: str) -> list[WebhookDelivery]:
    return list(WebhookDelivery.objects.filter(delivery__scan_id=scan_id).select_related("endpoint", "delivery"))


def verify_independently(jwks: dict, headers: dict, body: bytes) -> dict:
    """Check X-Alliance-Signature with joserfc against the portal key of the public JWKS; returns the header."""
    import base64
    import json

    from joserfc import jws as jose_jws
    from joserfc.jwk import KeySet

    signature = headers["X-Alliance-Signature"]
    protected, payload, _ = signature.split(".")
    assert payload == "", "a detached JWS carries no payload"
    header = json.loads(base64.urlsafe_b64decode(protected + "=" * (-len(protected) % 4)))
    portal = [k for k in jwks["keys"] if k["owner"] == "portal"]
    assert header["alg"] == "EdDSA"
    assert header["kid"] in {k["kid"] for k in portal}
    key_set = KeySet.import_key_set({"keys": portal})
    jose_jws.deserialize_compact(signature, key_set, algorithms=["EdDSA"], payload=body)
    # ... and a one-byte change in the body does not verify, so the check above is not vacuous.
    with pytest.raises(jose_jws.BadSignatureError):
        jose_jws.deserialize_compact(signature, key_set, algorithms=["EdDSA"], payload=body + b" ")
    return header
