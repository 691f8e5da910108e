"""Simulated scanner traffic: realistic signed scans from the demo nodes, over real HTTP.

Origins are weighted like the cocaine routes into Europe (Ecuador and Colombia
first, then Brazil, Panama, Peru, Costa Rica, Suriname); a few percent of scans
are suspect and positives are rare. The optional displacement scenario makes
one port tighten its controls on one origin after a while: that port scans
more and finds less, and the origin's risky traffic moves to a neighbour.
"""

import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from stdnum import imo, iso6346

ORIGINS = {
    "ECGYE": 24,
    "ECPSJ": 10,
    "ECPBO": 4,
    "COCTG": 12,
    "COBUN": 7,
    "COSMR": 4,
    "COTRB": 2,
    "BRSSZ": 12,
    "BRPNG": 4,
    "PECLL": 5,
    "PABLB": 4,
    "PAMIT": 4,
    "PAONX": 2,
    "CRMOB": 4,
    "SRPBM": 2,
}
NEIGHBOURS = {
    "BEANR": ["NLRTM", "DEHAM", "FRLEH"],
    "NLRTM": ["BEANR", "DEHAM", "DEBRV"],
    "DEHAM": ["DEBRV", "NLRTM", "PLGDN"],
    "ESALG": ["ESVLC", "PTSIE", "ITGIT"],
    "ESVLC": ["ESALG", "ESBCN", "ITGOA"],
    "FRLEH": ["BEANR", "NLRTM", "DEHAM"],
    "ITGIT": ["ITGOA", "MTMAR", "GRPIR"],
    "PLGDN": ["LTKLJ", "LVRIX", "EETLL"],
}
OWNERS = ["MSCU", "MAEU", "CMAU", "HLXU", "ONEU", "EGHU", "TGHU", "CSQU", "SUDU", "TCLU"]
ANOMALIES = [
    "organic_density",
    "hidden_compartment",
    "rip_on_bag",
    "modified_structure",
    "reefer_unit",
    "seal_mismatch",
    "cargo_substitution",
    "door_area_load",
]


@dataclass
class SimNode:
    """A demo node: the scanner client's portal API and signing, without its queue (a load generator
    that would rather drop a simulated scan than pile them up while the portal restarts)."""

    id: str
    port: str
    portal: Any
    key: Any
    counter: int = 0


def container(rng: random.Random) -> str:
    stem = rng.choice(OWNERS) + f"{rng.randrange(10**6):06d}"
    return stem + iso6346.calc_check_digit(stem)


def vessel(rng: random.Random) -> str:
    stem = f"9{rng.randrange(10**5):05d}"
    return stem + imo.calc_check_digit(stem)


class Scenario:
    """Per-scan probabilities, shifted by the displacement scenario once it starts."""

    def __init__(
        self,
        rng: random.Random,
        displacement: bool,
        start_after: float,
        tight_port: str = "BEANR",
        to_port: str = "NLRTM",
        origin: str = "ECGYE",
    ):
        self.rng = rng
        self.displacement = displacement
        self.start = time.monotonic() + start_after
        self.tight_port, self.to_port, self.origin = tight_port, to_port, origin

    @property
    def active(self) -> bool:
        return self.displacement and time.monotonic() >= self.start

    def origin_for(self, port: str) -> str:
        weights = dict(ORIGINS)
        if self.active and port == self.tight_port:
            weights[self.origin] *= 1.8  # tighter controls: more of that origin's boxes are scanned
        if self.active and port == self.to_port:
            weights[self.origin] *= 1.5  # the traffic moved here
        return self.rng.choices(list(weights), weights=list(weights.values()))[0]

    def verdict_for(self, port: str, origin: str) -> str:
        suspect, positive = 0.03, 0.005
        if origin in ("ECGYE", "ECPSJ", "COCTG", "BRSSZ"):
            suspect, positive = 0.045, 0.008
        if self.active and origin == self.origin:
            if port == self.tight_port:
                suspect, positive = suspect * 0.3, positive * 0.3
            elif port == self.to_port:
                suspect, positive = suspect * 3, positive * 3
        r = self.rng.random()
        if r < positive:
            return "positive"
        if r < positive + suspect:
            return "suspect"
        return "inconclusive" if r < positive + suspect + 0.02 else "clear"


def document(node: SimNode, scenario: Scenario, rng: random.Random) -> dict:
    node.counter += 1
    origin = scenario.origin_for(node.port)
    verdict = scenario.verdict_for(node.port, origin)
    neighbours = NEIGHBOURS.get(node.port, ["NLRTM", "BEANR"])
    doc = {
        "scan_id": f"{node.id}-{int(time.time())}-{node.counter:07d}",
        "node": node.id,
        "port": node.port,
        "scanned_at": datetime.now(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "container": container(rng),
        "vessel_imo": vessel(rng),
        "voyage": f"{rng.choice(['AE', 'NE', 'SW', 'MX'])}{rng.randrange(100, 999)}",
        "origin": origin,
        "route": [origin] if rng.random() < 0.5 else [origin, rng.choice(["PAMIT", "PABLB", "MAPTM"])],
        "next_port": rng.choice(neighbours),
        "onward_route": rng.sample(neighbours, k=min(2, len(neighbours))),
        "mode": rng.choices(["import", "transshipment", "export"], weights=[70, 25, 5])[0],
        "verdict": verdict,
        "score": round(rng.random() * (0.4 if verdict == "clear" else 1.0), 3),
    }
    if verdict in ("suspect", "positive"):
        doc["anomalies"] = rng.sample(ANOMALIES, k=rng.randint(1, 3))
        doc["score"] = round(0.6 + rng.random() * 0.4, 3)
    if verdict == "positive":
        doc["seized_kg"] = round(rng.lognormvariate(4.5, 1.0), 1)
    return doc


def demo_nodes(url: str, only: list[str] | None = None) -> list[SimNode]:
    from alliance_scanner import Portal
    from alliance_scanner.signing import load_private_pem

    from ports.models import ScannerNode

    nodes_dir = Path(settings.VAR_DIR) / "nodes"
    found = []
    for pem in sorted(nodes_dir.glob("*.pem")):
        node_id = pem.stem
        token_path = nodes_dir / f"{node_id}.token"
        if (only and node_id not in only) or not token_path.exists():
            continue
        node = ScannerNode.objects.filter(id=node_id).first()
        if node is None:
            continue
        portal = Portal(url, token_path.read_text().strip(), timeout=15)
        found.append(SimNode(node_id, node.port_id, portal, load_private_pem(pem.read_bytes())))
    return found


def run(
    *,
    url: str,
    rate: float,
    duration: float | None,
    displacement: bool,
    start_after: float,
    seed: int | None,
    only: list[str] | None,
    log=print,
) -> dict:
    from alliance_scanner.signing import sign

    rng = random.Random(seed)
    nodes = demo_nodes(url, only)
    if not nodes:
        raise RuntimeError("no demo scanner nodes with keys and tokens: run manage.py seed_demo first")
    scenario = Scenario(rng, displacement, start_after)
    stats = {"sent": 0, "created": 0, "duplicate": 0, "rejected": 0, "errors": 0}
    deadline = None if duration is None else time.monotonic() + duration
    tick = 1.0
    while deadline is None or time.monotonic() < deadline:
        started = time.monotonic()
        for node in nodes:
            # Each node's share of the rate per tick, batched like a real node's uplink.
            share = rate * tick / len(nodes)
            count = int(share) + (1 if rng.random() < share - int(share) else 0)
            if count == 0:
                continue
            batch = [document(node, scenario, rng) for _ in range(count)]
            try:
                results = node.portal.batch([sign(d, node.key) for d in batch])
                stats["sent"] += len(batch)
                for result in results:
                    stats[result["status"]] += 1
            except Exception as exc:  # noqa: BLE001 - keep simulating when the portal restarts
                stats["errors"] += 1
                log(f"push from {node.id} failed: {exc}")
        elapsed = time.monotonic() - started
        if elapsed < tick:
            time.sleep(tick - elapsed)
    return stats
