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


def generate_slow_alliance(
    seed: int,
    n_ports: int = 20,
    n_origins: int = 8,
    n_weeks: int = 220,
    n_displacements: int = 16,
    n_deterrence: int = 8,
    n_new_routes: int = 8,
    extra_hits: tuple[float, float] = (0.1, 3.0),
    moved_fraction: float = 0.8,
    lag_weeks: tuple[int, int] = (2, 5),
    seasonality: float = 0.3,
    overdispersion: float = 0.1,
    total_scans_per_week: float = 12_000.0,
    first_week: date = date(2022, 1, 3),
    event_margin_weeks: int = 52,
) -> SyntheticAlliance:
    """An alliance where displacement is small per week and lasts: the kind of data of issue 18.

    20 ports x 8 origins x 220 weeks; ports of log-normal sizes, so a small port sees tens of scans a week on an
    origin and a large one thousands. Several events share an origin (each (port, origin) cell takes part in
    at most one), which is what real data look like and what makes long windows dangerous: a later rise at
    another port on the same origin must not be credited to an earlier tightening.

    - displacement (16): A tightens on O from t0 (scans x2-3); `moved_fraction` (80 %) of its smuggling flow
      leaves A for good, so A's hits fall to 20 % (x1-1.3: the tightened controls catch a little more of
      what is left); from t0 + lag (lag 2-5 weeks) on, and for the rest of the data, B receives D extra hits a
      week, D log-uniform in `extra_hits` (0.1-3), and scans those loads. A's baseline hits are set so that D
      = moved_fraction x A's hits x kappa, kappa in 0.6-1.2 (B finds the loads about as well as A did).
    - deterrence (8): the same tightening at A, nothing rises anywhere;
    - new route (8): B's scans on O x1.2-1.6 and D extra hits a week from t0, no tightening anywhere.

    Half of the tightenings (displacements and deterrence alike) are declared as measures on their origin; the
    others show only as the rise in A's scans. Events start in [event_margin, T - event_margin): every
    displacement has a year of data before and at least a year after by default (it "stays").
    """
    if n_ports > len(PORT_CODES) or n_origins > len(ORIGIN_CODES):
        raise ValueError("too many ports or origins for the code lists")
    n_cells_needed = 2 * n_displacements + n_deterrence + n_new_routes
    if n_cells_needed > n_ports * n_origins // 2:
        raise ValueError("too many events for the (port, origin) cells")
    rng = np.random.default_rng(seed)
    ports = list(PORT_CODES[:n_ports])
    origins = list(ORIGIN_CODES[:n_origins])
    weeks = [first_week + timedelta(weeks=i) for i in range(n_weeks)]
    P, n_o, T = n_ports, n_origins, n_weeks
    if T - 2 * event_margin_weeks < 4:
        raise ValueError("n_weeks too short for the event margin")

    size = rng.lognormal(0.0, 1.0, P)
    origin_w = rng.dirichlet(np.full(n_o, 3.0))
    affinity = rng.lognormal(0.0, 0.6, (P, n_o))
    base = size[:, None] * origin_w[None, :] * affinity
    mu_scans = base / base.sum() * total_scans_per_week
    risk = rng.uniform(0.01, 0.05, n_o)[None, :] * rng.lognormal(0.0, 0.3, (P, n_o))
    mu_hits = mu_scans * risk

    t = np.arange(T)
    phase = rng.uniform(0, 2 * np.pi, n_o)
    amp = seasonality * rng.uniform(0.5, 1.0, n_o)
    season = 1 + amp[:, None] * np.sin(2 * np.pi * t[None, :] / 52.18 + phase[:, None])

    scan_mult = np.ones((P, n_o, T))
    hit_mult = np.ones((P, n_o, T))
    hit_add = np.zeros((P, n_o, T))
    scan_add = np.zeros((P, n_o, T))
    used = np.zeros((P, n_o), dtype=bool)
    measures: list[Measure] = []
    displacements: list[PlantedEvent] = []
    decoys: list[PlantedEvent] = []

    def free_cell(o: int, min_scans: float) -> int | None:
        choices = np.flatnonzero(~used[:, o] & (mu_scans[:, o] >= min_scans))
        return int(rng.choice(choices)) if choices.size else None

    kinds = ["displacement"] * n_displacements + ["deterrence"] * n_deterrence + ["new_route"] * n_new_routes
    for kind in kinds:
        for _attempt in range(50):
            o = int(rng.integers(n_o))
            # the tightened port sees at least tens of scans a week on O; the receiver at least a few
            a = free_cell(o, 10.0)
            if a is None:
                continue
            used[a, o] = True
            b = free_cell(o, 3.0) if kind == "displacement" else None
            if kind == "displacement" and b is None:
                used[a, o] = False
                continue
            break
        else:
            raise ValueError("no free (port, origin) cell left for an event")
        t0 = int(rng.integers(event_margin_weeks, T - event_margin_weeks))
        start = weeks[t0]
        d = float(np.exp(rng.uniform(np.log(extra_hits[0]), np.log(extra_hits[1]))))
        if kind == "new_route":
            scan_mult[a, o, t0:] *= rng.uniform(1.2, 1.6)
            hit_add[a, o, t0:] += d
            scan_add[a, o, t0:] += d
            decoys.append(PlantedEvent(kind, origins[o], start, to_port=ports[a], displaced_hits_per_week=d))
            continue
        declared = len(measures) < (n_displacements + n_deterrence) and bool(rng.random() < 0.5)
        if declared:
            measures.append(Measure(ports[a], origins[o], start))
        if kind == "displacement":
            kappa = rng.uniform(0.6, 1.2)
            mu_hits[a, o] = min(d / (moved_fraction * kappa), 0.5 * mu_scans[a, o])
        scan_mult[a, o, t0:] *= rng.uniform(2.0, 3.0)
        hit_mult[a, o, t0:] *= (1 - moved_fraction) * rng.uniform(1.0, 1.3)
        if kind == "deterrence":
            decoys.append(PlantedEvent(kind, origins[o], start, from_port=ports[a], declared=declared))
            continue
        assert b is not None
        used[b, o] = True
        lag = int(rng.integers(lag_weeks[0], lag_weeks[1] + 1))
        hit_add[b, o, t0 + lag :] += d
        scan_add[b, o, t0 + lag :] += d
        displacements.append(PlantedEvent(kind, origins[o], start, ports[a], ports[b], lag, d, declared))

    lam_s = (mu_scans[:, :, None] * scan_mult + scan_add) * season[None]
    lam_h = (mu_hits[:, :, None] * hit_mult + hit_add) * season[None]
    if overdispersion > 0:
        shape = 1 / overdispersion**2
        lam_s = lam_s * rng.gamma(shape, 1 / shape, lam_s.shape)
        lam_h = lam_h * rng.gamma(shape, 1 / shape, lam_h.shape)
    scans = rng.poisson(lam_s).astype(float)
    hits = np.minimum(rng.poisson(lam_h), scans).astype(float)
    kg = hits * rng.lognormal(np.log(15.0), 1.0, hits.shape)
    series = WeeklySeries(weeks, ports, origins, scans, hits, kg)
    return SyntheticAlliance(series, set(ports), measures, displacements, decoys, [])
