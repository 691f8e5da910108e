"""Seeded synthetic alliance for evaluating displacement detection.

Ports of very different sizes (log-normal), origins with their own risk and seasonality (shared by every
port), Poisson noise on gamma-perturbed weekly means (over-dispersion), and events on distinct origins:

- displacement: A tightens on O (A's scans on O x1.5-2.5; a fraction f of the smuggling leaves A, so A's hits
  on O fall to (1 - f) x 1.2 of their level); after a lag of 0-6 weeks (ramping in over 2 weeks) B's hits on
  O rise by D = f x A's baseline hits x kappa (kappa in 0.6-1.2: B detects differently), D hits a week;
- deterrence decoy: the same tightening at A, nothing rises anywhere;
- new-route decoy: B's traffic from O grows (scans x1.2-1.6) with risky cargo (hits + D), no tightening;
- idle measure decoy: a declared measure with no change in the data;
- rare huge seizures: one hit of 10 tonnes.

Half of the tightenings are declared as measures, the others must be found from the scan counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from .displacement import Measure, WeeklySeries

PORT_CODES = (
    "NLRTM BEANR DEHAM DEBRV FRLEH ESALG ESVLC ITGOA GRPIR PLGDN BEZEE FRMRS ITGIT SIKOP HRRJK PTSIN SEGOT FIHEL "
    "EEMUG LVRIX LTKLJ DKAAR IEDUB MTMAR ROCND BGVAR CYLMS ITTRS ESBCN FRDKK DEWVN PLGDY ITSPE ESBIO PTLIS GBFXT "
    "NOOSL SESTO FIKOK ESMAD"
).split()
ORIGIN_CODES = (
    "ECGYE COCTG BRSSZ PECLL PAONX DOCAU CRLIO MXZLO VEPBL GYGEO SRPBM JMKIN PYASU UYMVD ARBUE CLSAI HNPCR GTSTC "
    "BOVVI TTPTS"
).split()

HUGE_KG = 10_000.0


@dataclass(frozen=True)
class PlantedEvent:
    kind: str  # "displacement" | "deterrence" | "new_route" | "idle_measure"
    origin: str
    start: date  # tightening start (or route opening)
    from_port: str | None = None  # A, the tightened port
    to_port: str | None = None  # B, the receiving port / the new route
    lag_weeks: int = 0
    displaced_hits_per_week: float = 0.0  # D: extra expected hits a week at B (at the season's mean)
    declared: bool = False


@dataclass
class SyntheticAlliance:
    series: WeeklySeries
    members: set[str]
    measures: list[Measure]
    displacements: list[PlantedEvent]
    decoys: list[PlantedEvent]
    huge_seizures: list[tuple[str, str, date, float]]


def generate_alliance(
    seed: int,
    n_ports: int = 30,
    n_origins: int = 12,
    n_weeks: int = 156,
    n_displacements: int = 4,
    n_deterrence: int = 2,
    n_new_routes: int = 2,
    n_idle_measures: int = 1,
    seasonality: float = 0.3,
    overdispersion: float = 0.1,
    huge_seizure_rate: float = 0.5,
    total_scans_per_week: float = 30_000.0,
    first_week: date = date(2023, 1, 2),
    displaced_scale: tuple[float, float] = (0.4, 0.9),
    risk_drift: float = 0.0,
) -> SyntheticAlliance:
    """A seeded synthetic alliance with planted displacements and decoys (see the module docstring).

    `displaced_scale` is the range of f, the fraction of A's smuggling that leaves A when it tightens.
    `risk_drift` > 0 adds a slow random walk to each (port, origin)'s log risk (weekly step sd), a departure
    from the detector's model used to measure its robustness; 0 (the default) keeps the risk constant.
    """
    if n_ports > len(PORT_CODES) or n_origins > len(ORIGIN_CODES):
        raise ValueError("too many ports or origins for the code lists")
    n_events = n_displacements + n_deterrence + n_new_routes + n_idle_measures
    if n_events > n_origins:
        raise ValueError("every event needs its own origin: raise n_origins")
    rng = np.random.default_rng(seed)
    ports = list(PORT_CODES[:n_ports])
    origins = list(ORIGIN_CODES[:n_origins])
    weeks = [first_week + timedelta(weeks=i) for i in range(n_weeks)]
    P, n_o, T = n_ports, n_origins, n_weeks

    size = rng.lognormal(0.0, 1.2, P)
    origin_w = rng.dirichlet(np.full(n_o, 2.0))
    affinity = rng.lognormal(0.0, 0.8, (P, n_o)) * (rng.random((P, n_o)) > 0.2)
    base = size[:, None] * origin_w[None, :] * affinity
    mu_scans = base / base.sum() * total_scans_per_week  # (P, n_o) mean weekly scans
    risk = rng.uniform(0.01, 0.06, n_o)[None, :] * rng.lognormal(0.0, 0.3, (P, n_o))  # hits per scan
    mu_hits = mu_scans * risk

    t = np.arange(T)
    phase = rng.uniform(0, 2 * np.pi, n_o)
    amp = seasonality * rng.uniform(0.5, 1.0, n_o)
    season = 1 + amp[:, None] * np.sin(2 * np.pi * t[None, :] / 52.18 + phase[:, None])  # (n_o, T)

    scan_mult = np.ones((P, n_o, T))
    hit_mult = np.ones((P, n_o, T))
    hit_add = np.zeros((P, n_o, T))
    scan_add = np.zeros((P, n_o, T))

    event_origins = rng.permutation(n_o)[:n_events]
    lo_t, hi_t = 40, T - 26
    if hi_t <= lo_t:
        raise ValueError("n_weeks too short for events (needs at least 67)")
    measures: list[Measure] = []
    displacements: list[PlantedEvent] = []
    decoys: list[PlantedEvent] = []
    kinds = (
        ["displacement"] * n_displacements
        + ["deterrence"] * n_deterrence
        + ["new_route"] * n_new_routes
        + ["idle_measure"] * n_idle_measures
    )
    for kind, o in zip(kinds, event_origins, strict=True):
        t0 = int(rng.integers(lo_t, hi_t))
        start = weeks[t0]
        # the tightened / new-route port: one with real traffic from O (at least 2 hits a week)
        eligible = np.flatnonzero(mu_hits[:, o] >= 2.0)
        if eligible.size < 2:
            eligible = np.argsort(mu_hits[:, o])[-2:]
        if kind in ("displacement", "deterrence", "idle_measure"):
            a = int(rng.choice(eligible))
            declared = kind == "idle_measure" or bool(rng.random() < 0.5)
            if declared:
                measures.append(Measure(ports[a], origins[o] if rng.random() < 0.8 else None, start))
            if kind == "idle_measure":
                decoys.append(PlantedEvent(kind, origins[o], start, from_port=ports[a], declared=True))
                continue
            f = rng.uniform(*displaced_scale)
            scan_mult[a, o, t0:] *= rng.uniform(1.5, 2.5)
            hit_mult[a, o, t0:] *= (1 - f) * 1.2
            if kind == "deterrence":
                decoys.append(PlantedEvent(kind, origins[o], start, from_port=ports[a], declared=declared))
                continue
            receivers = np.flatnonzero((mu_scans[:, o] >= 1.0) & (np.arange(P) != a))
            b = int(rng.choice(receivers))
            lag = int(rng.integers(0, 7))
            d = f * mu_hits[a, o] * rng.uniform(0.6, 1.2)
            ramp = np.clip((t - (t0 + lag) + 1) / 2.0, 0, 1)
            hit_add[b, o] += d * ramp
            scan_add[b, o] += d * ramp  # the diverted loads are scanned there
            displacements.append(PlantedEvent(kind, origins[o], start, ports[a], ports[b], lag, float(d), declared))
        else:  # new route at B, no tightening anywhere
            b = int(rng.choice(np.flatnonzero(mu_scans[:, o] >= 1.0)))
            a_ref = int(rng.choice(eligible))
            d = rng.uniform(*displaced_scale) * mu_hits[a_ref, o] * rng.uniform(0.6, 1.2)
            scan_mult[b, o, t0:] *= rng.uniform(1.2, 1.6)
            hit_add[b, o, t0:] += d
            decoys.append(PlantedEvent(kind, origins[o], start, to_port=ports[b], displaced_hits_per_week=float(d)))

    lam_s = (mu_scans[:, :, None] * scan_mult + scan_add) * season[None]
    lam_h = (mu_hits[:, :, None] * hit_mult + hit_add) * season[None]
    if risk_drift > 0:
        walk = np.cumsum(rng.normal(0.0, risk_drift, (P, n_o, T)), axis=2)
        lam_h = lam_h * np.exp(walk - walk.mean(axis=2, keepdims=True))
    if overdispersion > 0:
        shape = 1 / overdispersion**2
        lam_s = lam_s * rng.gamma(shape, 1 / shape, lam_s.shape)
        lam_h = lam_h * rng.gamma(shape, 1 / shape, lam_h.shape)
    scans = rng.poisson(lam_s).astype(float)
    hits = np.minimum(rng.poisson(lam_h), scans).astype(float)
    kg = hits * rng.lognormal(np.log(15.0), 1.0, hits.shape)

    huge: list[tuple[str, str, date, float]] = []
    n_huge = rng.poisson(huge_seizure_rate)
    for _ in range(n_huge):
        p, o, w = int(rng.integers(P)), int(rng.integers(n_o)), int(rng.integers(T))
        scans[p, o, w] += 1
        hits[p, o, w] += 1
        kg[p, o, w] += HUGE_KG
        huge.append((ports[p], origins[o], weeks[w], HUGE_KG))

    series = WeeklySeries(weeks, ports, origins, scans, hits, kg)
    return SyntheticAlliance(series, set(ports), measures, displacements, decoys, huge)


def match_flag(flag, event: PlantedEvent, tolerance_weeks: int = 8) -> bool:
    """Whether a flag is the planted displacement `event` (same A, B, O; tightening start within tolerance)."""
    return (
        flag.from_port == event.from_port
        and flag.to_port == event.to_port
        and flag.origin == event.origin
        and abs((flag.tightening.starts_on - event.start).days) <= 7 * tolerance_weeks
    )
