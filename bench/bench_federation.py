"""Federation benchmark (SPEC 10.2): how fast a receiving instance verifies and stores a peer's pages.

The receiving side of the pull sync, `federation.services.apply_objects`, on the benchmark database playing
instance `nl`: a peer `be` (its portal and agency keys held by this script, its signed instance document applied
as `add_peer` applies it) sends pages of `FEDERATION_PAGE_SIZE` (500) STIX reports, each carrying a real
Ed25519-signed alert document; every object is parsed, checked against the home and the key of the peer's
document, verified, validated and stored as `sync_peer` does, one transaction per page.

Two variants side by side:
- fresh: every object new (a catch-up of a backlog);
- replay: the same pages applied again (a page repeated after a crash: nothing stored, everything checked).

Reported: verified objects per second, and the catch-up time of a 100,000-object backlog extrapolated from the
fresh rate (a real 100,000 run: BENCH_FEDERATION_SIZE=100000). The HTTP fetch of each page is not included: the
serving side is the TAXII read path measured by bench/bench_taxii.py.

Run by `make bench` (scripts/bench.sh), or alone with DATABASE_URL set. BENCH_FEDERATION_SIZE (default 5000).
Figures in docs/benchmarks.md ("Federation").
"""

import os
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alliance.settings.test")

import django  # noqa: E402

django.setup()

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402
from django.db import transaction  # noqa: E402
from django.test import override_settings  # noqa: E402
from django.utils import timezone  # noqa: E402

from correlation.models import Correlation  # noqa: E402
from federation.models import FederatedCopy, Peer, PeerReason  # noqa: E402
from federation.services import apply_instance_document, apply_objects, apply_objects_one_by_one  # noqa: E402
from interop import stix  # noqa: E402
from ports import signing  # noqa: E402
from ports.keys import public_jwk, public_x  # noqa: E402
from ports.models import Agency, AgencyKind, Port  # noqa: E402
from ports.services import agency_ensure, reference_ports_load  # noqa: E402
from sharing.models import Alert, AlertVersion  # noqa: E402

PAGE = 1000  # FEDERATION_PAGE_SIZE
SIZE = int(os.environ.get("BENCH_FEDERATION_SIZE", "10000"))
SIZE_BEFORE = int(os.environ.get("BENCH_FEDERATION_SIZE_BEFORE", "1000"))  # the one-by-one path is slow
CONTAINERS = ["MSCU1234566", "MSKU9070323", "TGHU0123450"]


def _jwk(key: Ed25519PrivateKey, owner: str) -> dict:
    return {**public_jwk(public_x(key.public_key())), "owner": owner, "status": "active"}


def _setup() -> tuple[Peer, dict, Ed25519PrivateKey]:
    reference_ports_load()
    port = Port.objects.get(locode="BEANR")
    customs = agency_ensure(kind=AgencyKind.CUSTOMS, port=port, name="Antwerp Customs")
    agency_ensure(kind=AgencyKind.CUSTOMS, port=Port.objects.get(locode="NLRTM"), name="Rotterdam Customs")
    portal, key = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    payload = {
        "instance": "be",
        "url": "http://be.bench",
        "agencies": [{"slug": customs.slug, "name": customs.name, "kind": customs.kind, "port": "BEANR"}],
        "keys": [_jwk(portal, "portal"), _jwk(key, customs.slug)],
        "issued_at": signing.rfc3339(timezone.now()),
    }
    Peer.objects.filter(pk="be").delete()
    peer = Peer.objects.create(id="be", url="http://be.bench", key_thumbprint=payload["keys"][0]["kid"])
    apply_instance_document(peer, payload)
    return peer, {"slug": customs.slug, "kid": payload["keys"][1]["kid"]}, key


def _objects(n: int, signer: dict, key: Ed25519PrivateKey) -> list[dict]:
    now = signing.rfc3339(timezone.now().replace(microsecond=0))
    out = []
    for i in range(n):
        amber = i % 5 == 0
        doc = {
            "id": str(uuid.uuid4()),
            "version": 1,
            "type": "alert",
            "status": "active",
            "agency": signer["slug"],
            "author": f"{signer['slug']}/bench1",
            "port": "BEANR",
            "title": f"Benchmark alert {i}",
            "body": "Seals replaced, cloned seal numbers attached. Check the doors of the reefer containers.",
            "category": "seal_tampering",
            "severity": "medium",
            "tlp": "AMBER" if amber else "GREEN",
            "audience": {"agencies": ["nlrtm-customs"] if amber else [], "ports": [], "users": []},
            "containers": [CONTAINERS[i % len(CONTAINERS)]] if i % 10 == 0 else [],
            "vessels": [],
            "origin": "ECGYE",
            "valid_until": None,
            "source_reliability": "B",
            "information_reliability": "2",
            "handling": None,
            "created_at": now,
        }
        jws = signing.sign_with_private_key(doc, key, signer["kid"], "alert+json")
        out.append(
            {
                "type": "report",
                "spec_version": "2.1",
                "id": stix.report_id("alert", doc["id"]),
                "extensions": {
                    stix.EXTENSION_ID: {"extension_type": "property-extension", "document": doc, "jws": jws}
                },
            }
        )
    return out


def _apply(apply, peer: Peer, objects: list[dict]) -> tuple[float, int, int]:
    started, applied, already = time.perf_counter(), 0, 0
    for start in range(0, len(objects), PAGE):
        with transaction.atomic():
            result = apply(peer, objects[start : start + PAGE])
        applied += result.applied
        already += result.already
        assert not result.refused, result.refused
    return time.perf_counter() - started, applied, already


def _cleanup(objects: list[dict]) -> None:
    ids = [o["extensions"][stix.EXTENSION_ID]["document"]["id"] for o in objects]
    FederatedCopy.objects.filter(object_id__in=ids).delete()
    Correlation.objects.all().delete()
    AlertVersion.objects.filter(alert_id__in=ids).delete()
    Alert.objects.filter(pk__in=ids).delete()


def apply_step() -> float:
    """The receiving side alone, one-by-one (before) and bulk (after); returns the bulk fresh rate."""
    rows = []
    with override_settings(INSTANCE_ID="nl", HOME_AGENCIES=["port:NLRTM"]):
        peer, signer, key = _setup()
        for name, apply, size in (
            ("before (one by one)", apply_objects_one_by_one, SIZE_BEFORE),
            ("after (bulk)", apply_objects, SIZE),
        ):
            objects = _objects(size, signer, key)
            fresh, applied, _ = _apply(apply, peer, objects)
            replay, _, already = _apply(apply, peer, objects)
            assert (applied, already) == (size, size), (applied, already)
            rows.append((name, size, fresh, replay))
            _cleanup(objects)
        PeerReason.objects.filter(peer=peer).delete()
        Agency.objects.filter(home_instance="be").update(home_instance="")
    print(f"apply step (no HTTP), pages of {PAGE}, one in ten alerts names a container (correlated)")
    print(f"{'variant':<22} {'objects':>8} {'fresh s':>8} {'fresh obj/s':>12} {'replay obj/s':>13}")
    for name, size, fresh, replay in rows:
        print(f"{name:<22} {size:>8} {fresh:>8.2f} {size / fresh:>12.0f} {size / replay:>13.0f}")
    before, after = rows[0][1] / rows[0][2], rows[1][1] / rows[1][2]
    print(f"bulk/one-by-one fresh rate: x{after / before:.1f}")
    return after


def main() -> None:
    rate = apply_step()
    print(f"catch-up of 100,000 objects at the bulk apply rate (apply only): {100_000 / rate:.0f} s")
    if os.environ.get("BENCH_FEDERATION_LIVE", "1") != "0":
        from bench.bench_federation_live import live

        live()


if __name__ == "__main__":
    main()
