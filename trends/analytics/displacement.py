"""Displacement (balloon effect) detection on weekly per-(port, origin) series.

Pure numpy/scipy: no Django import, so the management command, the Celery task and the benchmark all call
the same functions. The method is documented in docs/displacement.md; in short:

1. Tightenings at port A on origin O: declared measures, plus upward changes in A's scan intensity on O found
   by a moving-window (MOSUM) Poisson likelihood-ratio scan on the scan counts, with the other members' scans
   on O as exposure (so the origin's shared seasonality does not look like a change). Only material (rate
   ratio >= 1.3, >= 3 more scans a week) and sustained (the median week after is raised too) changes count.
2. For every other member port B: a before window of up to three years before the change, an after window of
   all the data since the change plus 3 weeks (evidence that accumulates as data grow); control C = the members minus A, B, the ports that tightened on O and the ports
   whose own risk moved. Risk = hits (suspect + positive) per scan. One-sided tests on counts with scans as
   exposure: B's risk rose relative to C, and A's risk fell relative to C (intersection-union: the candidate's
   p is the larger of the two). With several after windows configured, the best is kept and its p is
   Bonferroni-corrected for their number; all candidates of a run are then adjusted together by
   Benjamini-Hochberg. Timing checks (onset, pre-trend, late rise) keep a rise that began for another reason
   from being credited to the tightening; one rise is credited to one tightening only (the one whose step in
   B's risk fits best), and the receivers of one tightening share its loss (conservation).
3. The WDQ of Bowers & Johnson on the hit counts of the windows is reported; a flag needs -2.5 <= WDQ < -0.2
   and an adjusted p <= alpha. Seized kilograms are reported beside each flag and never tested.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
from scipy import stats

WEEK = timedelta(days=7)


def week_start(d: date) -> date:
    """The Monday (ISO week start) of the week holding `d`."""
    return d - timedelta(days=d.weekday())


@dataclass(frozen=True)
class Measure:
    """A declared tightening at `port` on `origin` (None: every origin) from `starts_on`."""

    port: str
    origin: str | None
    starts_on: date


@dataclass(frozen=True)
class Tightening:
    """A tightening of controls at `port` on `origin`; `source` is "measure" or "changepoint".

    `starts_on` is the measure's declared date, or the first week of the raised scan level for a change point.
    """

    port: str
    origin: str
    starts_on: date
    source: str

    @property
    def key(self) -> tuple[str, str, date, str]:
        return (self.port, self.origin, self.starts_on, self.source)


def same_tightening(a: Tightening, b: Tightening, tolerance_weeks: int = 3) -> bool:
    """Whether two tightenings are the same event, allowing a change point to move a few weeks as data grows."""
    if (a.port, a.origin, a.source) != (b.port, b.origin, b.source):
        return False
    if a.source == "measure":
        return a.starts_on == b.starts_on
    return abs((a.starts_on - b.starts_on).days) <= 7 * tolerance_weeks


@dataclass(frozen=True)
class DisplacementFlag:
    from_port: str
    to_port: str
    origin: str
    tightening: Tightening
    window_before: tuple[date, date]  # half-open [start, end)
    window_after: tuple[date, date]  # half-open [start, end)
    lag_weeks: int
    wdq: float
    effect: float  # relative change of B's hits per scan against the control: (after/before) - 1
    p_value: float  # adjusted (window search: Bonferroni; candidates of the run: Benjamini-Hochberg)
    p_raw: float  # the candidate's p before the adjustment across candidates
    confidence: str  # "low" | "medium" | "high"
    seized_kg_before: float  # at B, in the before window
    seized_kg_after: float  # at B, in the after window
    evidence: tuple[dict, ...] = field(repr=False)  # weekly a/b/c scans, hits, kg over both windows

    @property
    def key(self) -> tuple[str, str, str, tuple[str, str, date, str]]:
        """Stable identity (A, B, O, tightening): a later run updates the flag with this key."""
        return (self.from_port, self.to_port, self.origin, self.tightening.key)


@dataclass(frozen=True)
class DetectionParams:
    before_weeks: int = 156  # before window: up to this many weeks before the tightening (the baseline)
    min_before_weeks: int = 8
    # after windows, each starting at the tightening + a lag: these lengths in weeks, 0 meaning every week of
    # data since (the evidence that accumulates as data grow); cut at the end of the data. One window (all the
    # data since t0 + 3 weeks) since the shifts sought persist: 12 windows (12/26/52/all x lags 0/3/6) cost a
    # Bonferroni factor of 12 and found fewer (tuning seeds: recall 0.63 -> 0.69, precision 0.80 -> 0.84)
    after_windows: tuple[int, ...] = (0,)
    min_after_weeks: int = 4  # shorter after windows (data ending) are not examined
    lags: tuple[int, ...] = (3,)  # weeks between A's change and the start of the after window
    history_weeks: int = 52  # weeks before the tightening used to estimate over-dispersion
    min_hits_a: int = 5  # A needs this many hits on O in the before window (risk it can lose)
    min_hits_b: int = 5  # B needs this many hits on O over both windows
    # onset: B's rise must begin near the tightening. The profile likelihood of a step in B's risk (against
    # the control) over the before and after windows, maximised over every week, may exceed its maximum over
    # the weeks [t0 - onset_early, t0 + max(lags) + onset_late] by at most onset_threshold (after dividing by
    # B's dispersion); otherwise the rise belongs to another event (a later route, an earlier one)
    onset_early: int = 4
    onset_late: int = 4
    onset_threshold: float = 4.0
    control_z: float = 2.5  # a control port whose own risk moved by more than this (|z|) leaves the control
    # plausibility (conservation): B's extra hits (against the control) may be at most this many times A's lost
    # hits (-WDQ), and so may the gains of all B flagged for one tightening together (the flow that left A is
    # what can arrive elsewhere, found there up to this many times as well); receivers are credited in order of
    # balance (-WDQ nearest 1) until the budget is spent. At least `min_gain_ratio` of A's loss must reach B (a
    # displacement spread thinly over many ports is out of scope, and a rise of a tenth of A's loss next to the
    # port that took all of it is chance, not a second receiver)
    max_gain_ratio: float = 2.5
    min_gain_ratio: float = 0.2
    compete_by: str = "balance"  # among tightenings claiming one rise: "balance" (-WDQ nearest 1) or "p"
    compete_weeks: int = 16  # tightenings on one origin this close claim the same rise at B
    # two tightenings further apart both flagged for B: both kept only if a second step in B's risk improves
    # the fit by this much (likelihood ratio after B's dispersion); otherwise one rise, credited once
    second_rise_lr: float = 9.0
    # the claim whose step in B's risk fits best wins; claims this close to it in fit (likelihood ratio after
    # dispersion) are a tie, decided by compete_by
    compete_tie: float = 4.0
    pre_weeks: int = 26  # the pre-trend and late-rise checks compare this many weeks with the rest
    trend_z: float = 2.5
    alpha: float = 0.01  # on the adjusted p (Benjamini-Hochberg false discovery rate)
    # change-point detection on scan counts
    cp_window: int = 12
    cp_long_windows: tuple[int, ...] = (26,)  # also scanned with these window lengths (small ports)
    cp_long_min_ratio: float = 1.8  # material on a long window: a clear step (x2-3), not a slow growth of trade
    cp_min_before: int = 8
    cp_min_after: int = 6
    cp_threshold: float = 30.0  # likelihood-ratio statistic, after dividing by the series' dispersion
    cp_min_ratio: float = 1.3  # material: scan rate after / before
    cp_min_increase: float = 3.0  # material: extra scans a week
    cp_max_changes: int = 3  # per (port, origin)
    cp_measure_tolerance: int = 8  # weeks: a change point this close to a declared measure is that measure
    # confidence rule
    high_p: float = 0.001
    high_effect: float = 0.5
    medium_p: float = 0.01
    medium_effect: float = 0.25


@dataclass
class WeeklySeries:
    """Weekly counts per (port, origin): arrays of shape (ports, origins, weeks) on consecutive ISO weeks."""

    weeks: list[date]
    ports: list[str]
    origins: list[str]
    scans: np.ndarray
    hits: np.ndarray  # suspect + positive
    seized_kg: np.ndarray

    def __post_init__(self) -> None:
        shape = (len(self.ports), len(self.origins), len(self.weeks))
        self.scans = np.asarray(self.scans, dtype=float).reshape(shape)
        self.hits = np.asarray(self.hits, dtype=float).reshape(shape)
        self.seized_kg = np.asarray(self.seized_kg, dtype=float).reshape(shape)
        for a, b in zip(self.weeks, self.weeks[1:], strict=False):
            if b - a != WEEK or a.weekday() != 0:
                raise ValueError("weeks must be consecutive ISO week starts (Mondays)")

    @classmethod
    def from_rows(cls, rows: Iterable[Mapping], weeks: list[date] | None = None) -> WeeklySeries:
        """Build from rows with keys week (any date in the week), port, origin, scans, hits, seized_kg.

        Rows for the same (port, origin, week) are summed. Without `weeks`, the index runs from the first to
        the last week present, missing weeks counting as zero.
        """
        rows = list(rows)
        ports = sorted({r["port"] for r in rows})
        origins = sorted({r["origin"] for r in rows})
        if weeks is None:
            present = [week_start(r["week"]) for r in rows]
            if not present:
                return cls([], [], [], np.zeros((0, 0, 0)), np.zeros((0, 0, 0)), np.zeros((0, 0, 0)))
            first, last = min(present), max(present)
            weeks = [first + WEEK * i for i in range((last - first).days // 7 + 1)]
        wi = {w: i for i, w in enumerate(weeks)}
        pi = {p: i for i, p in enumerate(ports)}
        oi = {o: i for i, o in enumerate(origins)}
        shape = (len(ports), len(origins), len(weeks))
        scans, hits, kg = np.zeros(shape), np.zeros(shape), np.zeros(shape)
        for r in rows:
            t = wi.get(week_start(r["week"]))
            if t is None:
                continue
            idx = (pi[r["port"]], oi[r["origin"]], t)
            scans[idx] += r["scans"]
            hits[idx] += r["hits"]
            kg[idx] += r.get("seized_kg", 0.0) or 0.0
        return cls(list(weeks), ports, origins, scans, hits, kg)

    def truncate(self, n_weeks: int) -> WeeklySeries:
        """The first `n_weeks` weeks only (what a run at that time would have seen)."""
        return WeeklySeries(
            self.weeks[:n_weeks],
            self.ports,
            self.origins,
            self.scans[:, :, :n_weeks],
            self.hits[:, :, :n_weeks],
            self.seized_kg[:, :, :n_weeks],
        )

    def week_index(self, d: date) -> int | None:
        if not self.weeks:
            return None
        t = (week_start(d) - self.weeks[0]).days // 7
        return t if 0 <= t < len(self.weeks) else None


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (step-up, monotone, capped at 1)."""
    p = np.asarray(p, dtype=float)
    m = p.size
    if m == 0:
        return p
    order = np.argsort(p)
    ranked = p[order] * m / np.arange(1, m + 1)
    ranked = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(ranked, 1.0)
    return out


def confidence_label(p_adjusted: float, effect: float, params: DetectionParams | None = None) -> str:
    """high: p <= 0.001 and B's risk up >= 50%; medium: p <= 0.01 and up >= 25%; otherwise low."""
    params = params or DetectionParams()
    if p_adjusted <= params.high_p and effect >= params.high_effect:
        return "high"
    if p_adjusted <= params.medium_p and effect >= params.medium_effect:
        return "medium"
    return "low"


def _member_index(series: WeeklySeries, members: Iterable[str] | None) -> np.ndarray:
    if members is None:
        return np.arange(len(series.ports))
    wanted = set(members)
    return np.array([i for i, p in enumerate(series.ports) if p in wanted], dtype=int)


def _window_sums(c: np.ndarray, lo, hi) -> np.ndarray:
    """Sums over [lo, hi) along the last axis from a cumulative sum with a leading zero."""
    return np.take(c, hi, axis=-1) - np.take(c, lo, axis=-1)


def _cumsum0(x: np.ndarray) -> np.ndarray:
    pad = np.zeros(x.shape[:-1] + (1,))
    return np.concatenate([pad, np.cumsum(x, axis=-1)], axis=-1)


def _scan_exposure(s: np.ndarray) -> np.ndarray:
    """Expected scans per (port, origin, week) from the origin's scans at the other member ports.

    s: (P, O, T) member scans. The origin's alliance-wide (seasonal) movement cancels; a change specific to
    (p, o) does not. A tightening elsewhere on the same origin raises the exposure, so it can only hide a
    change at p, never create one. (A cross-ratio that also divides out p's other origins was tried: one
    large event in any cell of the table then shows up as a false change in many others.)
    """
    not_p_o = s.sum(axis=0, keepdims=True) - s
    # an origin handled by a single port: no reference, the raw counts are used (flat exposure)
    return np.where(not_p_o > 0, not_p_o, 1.0)


def _changepoints(series: WeeklySeries, midx: np.ndarray, params: DetectionParams) -> list[tuple[int, int, int]]:
    """Upward, material, sustained changes in scan intensity: (member position, origin, week index)."""
    s = series.scans[midx]
    n_ports, n_origins, T = s.shape
    W = params.cp_window
    if T < params.cp_min_before + params.cp_min_after:  # noqa: SIM300 - T is the series length, not a constant
        return []
    e = _scan_exposure(s)
    y = s.reshape(n_ports * n_origins, T)
    e = e.reshape(n_ports * n_origins, T)
    # normalise exposure so that the series' overall rate is 1 (keeps numbers readable)
    ysum = y.sum(axis=1, keepdims=True)
    esum = e.sum(axis=1, keepdims=True)
    e = e * np.where(esum > 0, ysum / np.where(esum > 0, esum, 1), 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(e > 0, y / np.where(e > 0, e, 1), 0.0)
    e = np.where(e > 0, e, 1e-9)
    # dispersion from consecutive differences: robust to a level shift, which touches only one difference
    # (after the normalisation the overall rate is 1, so a week's Poisson variance of y/e is 1/e)
    d2 = (rate[:, 1:] - rate[:, :-1]) ** 2
    v = 1 / e[:, 1:] + 1 / e[:, :-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        phi = np.nanmedian(np.where(v > 0, d2 / v, np.nan), axis=1) / stats.chi2.ppf(0.5, 1)
    phi = np.where(np.isfinite(phi), np.maximum(phi, 1.0), 1.0)

    ts = np.arange(params.cp_min_before, T - params.cp_min_after + 1)
    cy, ce = _cumsum0(y), _cumsum0(e)
    combined = np.full((y.shape[0], ts.size), -np.inf)
    # Several window lengths: 12 weeks finds big changes quickly; 26 weeks gives a small port (tens of scans
    # a week on the origin) enough counts for a x2 rise to pass the same threshold.
    for width in sorted({params.cp_window, *params.cp_long_windows}):
        min_ratio = params.cp_min_ratio if width <= params.cp_window else params.cp_long_min_ratio
        lo = np.maximum(ts - width, 0)
        hi = np.minimum(ts + width, T)
        yb, eb = _window_sums(cy, lo, ts), _window_sums(ce, lo, ts)
        ya, ea = _window_sums(cy, ts, hi), _window_sums(ce, ts, hi)
        with np.errstate(divide="ignore", invalid="ignore"):
            r0 = (yb + ya) / (eb + ea)
            lr = 2 * (_xlogy_ratio(yb, eb * r0) + _xlogy_ratio(ya, ea * r0))
            rb = yb / eb
            ra = ya / ea
            ratio = np.where(rb > 0, ra / np.where(rb > 0, rb, 1), np.inf)
            increase = (ya - rb * ea) / (hi - ts)
        score = lr / phi[:, None]
        # sustained: the median week after the change is raised too, so one blitz week does not qualify
        post_median = np.full(ratio.shape, 0.0)
        for j, t in enumerate(ts):
            post_median[:, j] = np.median(rate[:, t : hi[j]], axis=1)
        sustained = post_median >= rb * (1 + (params.cp_min_ratio - 1) / 2)
        ok = (
            np.isfinite(score)
            & (score >= params.cp_threshold)
            & (ratio >= min_ratio)
            & (increase >= params.cp_min_increase)
            & sustained
        )
        combined = np.maximum(combined, np.where(ok, score, -np.inf))
    ok = np.isfinite(combined)
    score = combined
    # peaks closer than the longest window are one change seen by overlapping windows (a 26-week window still
    # sees a step 12 weeks after its centre), not two changes
    W = max(params.cp_window, *params.cp_long_windows)
    found: list[tuple[int, int, int]] = []
    for row in np.flatnonzero(ok.any(axis=1)):
        sc = np.where(ok[row], score[row], -np.inf)
        for _ in range(params.cp_max_changes):
            j = int(np.argmax(sc))
            if not np.isfinite(sc[j]):
                break
            found.append((row // n_origins, row % n_origins, int(ts[j])))
            sc[np.abs(ts - ts[j]) < W] = -np.inf
    return found


def _xlogy_ratio(x: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """x * log(x / mu) with 0 log 0 = 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(x > 0, x * np.log(np.where(x > 0, x, 1) / np.where(mu > 0, mu, 1)), 0.0)


def find_tightenings(
    series: WeeklySeries,
    members: Iterable[str] | None = None,
    measures: Iterable[Measure] = (),
    params: DetectionParams | None = None,
) -> list[tuple[Tightening, int]]:
    """Declared measures and detected upward changes in scan intensity, with their week index.

    A change point within `cp_measure_tolerance` weeks of a declared measure on the same port and origin is
    that measure and is dropped. A measure with origin None applies to every origin.
    """
    params = params or DetectionParams()
    midx = _member_index(series, members)
    member_ports = {series.ports[i] for i in midx}
    out: list[tuple[Tightening, int]] = []
    declared: dict[tuple[str, str], list[int]] = {}
    for m in measures:
        if m.port not in member_ports:
            continue
        t = series.week_index(m.starts_on)
        if t is None:
            continue
        origins = series.origins if m.origin is None else [m.origin] if m.origin in series.origins else []
        for o in origins:
            tig = Tightening(m.port, o, m.starts_on, "measure")
            if all(existing.key != tig.key for existing, _ in out):
                out.append((tig, t))
                declared.setdefault((m.port, o), []).append(t)
    for pm, o, t in _changepoints(series, midx, params):
        port, origin = series.ports[midx[pm]], series.origins[o]
        if any(abs(t - td) <= params.cp_measure_tolerance for td in declared.get((port, origin), [])):
            continue
        out.append((Tightening(port, origin, series.weeks[t], "changepoint"), t))
    out.sort(key=lambda x: (x[0].starts_on, x[0].port, x[0].origin, x[0].source))
    return out


def _dispersion(h_x: np.ndarray, s_x: np.ndarray, h_c: np.ndarray, s_c: np.ndarray) -> np.ndarray:
    """Pearson dispersion of weekly hits of X given the control's weekly risk and X's scans, floored at 1.

    Arrays (N, k): N candidates, k history weeks. Model: h_x[t] ~ Poisson(rho * s_x[t] * h_c[t] / s_c[t]).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        e = np.where(s_c > 0, s_x * h_c / np.where(s_c > 0, s_c, 1), 0.0)
    valid = e > 0
    esum = np.where(valid, e, 0).sum(axis=1)
    hsum = np.where(valid, h_x, 0).sum(axis=1)
    rho = np.where(esum > 0, hsum / np.where(esum > 0, esum, 1), 0)
    mu = rho[:, None] * e
    with np.errstate(divide="ignore", invalid="ignore"):
        contrib = np.where(valid & (mu > 0), (h_x - mu) ** 2 / np.where(mu > 0, mu, 1), 0.0)
    df = valid.sum(axis=1) - 1
    phi = np.where(df > 0, contrib.sum(axis=1) / np.maximum(df, 1), 1.0)
    # With small weekly counts (a hit a week or less) the Pearson estimate is very noisy and skewed upwards
    # (one week of 5 hits at a mean of 1 adds 16): only the part of it above Poisson noise is kept, phi
    # minus two standard errors of its estimate under Poisson counts (variance of one week's term: 2 + 1/mu).
    with np.errstate(divide="ignore", invalid="ignore"):
        inv_mu = np.where(valid & (mu > 0), 1 / np.where(mu > 0, mu, 1), 0.0).sum(axis=1) / np.maximum(df + 1, 1)
        se = np.sqrt((2 + inv_mu) / np.maximum(df, 1))
    phi = np.where(df > 0, phi - 2 * se, 1.0)
    return np.maximum(phi, 1.0)


def _score_z(h_xa, s_xa, h_ca, s_ca, h_xb, s_xb, h_cb, s_cb, iterations: int = 25):
    """Signed score (Pearson) statistic for a change of X's risk relative to C between two windows.

    Poisson counts h with scans s as exposure; the null model has no group x window interaction:
    mu[g, w] = s[g, w] * a[g] * b[w], fitted by iterative proportional fitting to the observed group and
    window totals. With one degree of freedom the four residuals share one magnitude d, and
    X^2 = d^2 * sum(1 / mu). Returns sqrt(X^2) signed by the direction (positive: X's risk rose), and the log
    ratio of X's after/before risk relative to C's (0.5 added to each count) as the effect size. Unlike a Wald
    test on log counts, the score test stays informative when a port had no hit before (the variance comes
    from the null fit, not from the zero count).
    """
    tot_x, tot_c = h_xa + h_xb, h_ca + h_cb
    tot_a, tot_b = h_xa + h_ca, h_xb + h_cb
    ax = np.ones(np.broadcast(h_xa, h_ca, h_xb, h_cb).shape)
    ac = np.ones_like(ax)
    ba = np.ones_like(ax)
    bb = np.ones_like(ax)
    with np.errstate(divide="ignore", invalid="ignore"):
        for _ in range(iterations):
            ax = tot_x / (s_xa * ba + s_xb * bb)
            ac = tot_c / (s_ca * ba + s_cb * bb)
            ba = tot_a / (s_xa * ax + s_ca * ac)
            bb = tot_b / (s_xb * ax + s_cb * ac)
        mu = [s_xa * ax * ba, s_ca * ac * ba, s_xb * ax * bb, s_cb * ac * bb]
        d = h_xa - mu[0]
        inv = sum(np.where(m > 0, 1 / m, np.inf) for m in mu)
        z = np.sign(d) * np.sqrt(d**2 * inv)
        theta = np.log((h_xa + 0.5) / s_xa) - np.log((h_ca + 0.5) / s_ca) - np.log((h_xb + 0.5) / s_xb)
        theta = theta + np.log((h_cb + 0.5) / s_cb)
    return np.where(np.isfinite(z), z, 0.0), theta


def _after_windows(t0: int, T: int, params: DetectionParams) -> list[tuple[int, int, int]]:
    """The distinct after windows (lag, lo, hi) examined for a tightening at week t0 with T weeks of data.

    Each lag with each window length (0: all the data since); windows are cut at the end of the data, so
    while data are short several coincide and are counted once (the Bonferroni factor is the number of
    distinct windows). Windows shorter than `min_after_weeks` are not examined.
    """
    out: dict[tuple[int, int], int] = {}
    for lag in params.lags:
        lo = t0 + lag
        for length in params.after_windows:
            hi = T if length <= 0 else min(lo + length, T)
            if hi - lo >= params.min_after_weeks and (lo, hi) not in out:
                out[(lo, hi)] = lag
    return [(lag, lo, hi) for (lo, hi), lag in out.items()]


def _onset_excess(
    H: np.ndarray, S: np.ndarray, ctrl: np.ndarray, b0: int, hi: np.ndarray, t0: int, params: DetectionParams
) -> np.ndarray:
    """How much better a rise of each B's risk starting elsewhere explains the data than one near t0.

    H, S: (P, T) hits and scans on the origin. For each B (row), over [b0, hi[B]): B's weekly hits against
    the exposure s_B,t x the control's risk that week (control: the `ctrl` ports but B); a step (two
    rates) at week tau has the Poisson likelihood ratio LR(tau) against one rate, counted only for a rise.
    Returns max over every tau minus max over tau in [t0 - onset_early, t0 + max lag + onset_late]
    (0 when the best step is in that range): a large value means the rise at B began well before or well
    after the tightening, so it belongs to another event.
    """
    P, T = H.shape
    end = int(hi.max())
    Hs, Ss = H[:, b0:end], S[:, b0:end]
    with np.errstate(divide="ignore", invalid="ignore"):
        w = ctrl[:, None].astype(float)
        hc = H[ctrl].sum(axis=0)[None, b0:end] - w * Hs
        sc = S[ctrl].sum(axis=0)[None, b0:end] - w * Ss
        e = np.where(sc > 0, Ss * hc / np.where(sc > 0, sc, 1), 0.0)
    n = end - b0
    inside = np.arange(n)[None, :] < (hi - b0)[:, None]
    Hs = np.where(inside, Hs, 0.0)
    e = np.where(inside, e, 0.0)
    cH, cE = _cumsum0(Hs), _cumsum0(e)
    taus = np.arange(1, n)  # a step between week tau - 1 and tau (relative to b0)
    hl, el = cH[:, taus], cE[:, taus]
    hr, er = cH[:, -1:] - hl, cE[:, -1:] - el
    with np.errstate(divide="ignore", invalid="ignore"):
        r0 = (hl + hr) / (el + er)
        lr = 2 * (_xlogy_ratio(hl, el * r0) + _xlogy_ratio(hr, er * r0))
        up = hr / er > hl / el
    edge = params.min_after_weeks
    usable = (taus[None, :] >= min(params.min_before_weeks, t0 - b0)) & (taus[None, :] <= (hi - b0 - edge)[:, None])
    lr = np.where(up & usable & (el > 0) & (er > 0) & np.isfinite(lr), lr, 0.0)
    lo_ok = t0 - params.onset_early - b0
    hi_ok = t0 + max(params.lags) + params.onset_late - b0
    allowed = (taus >= lo_ok) & (taus <= hi_ok)
    best_all = lr.max(axis=1)
    best_allowed = np.where(allowed[None, :], lr, 0.0).max(axis=1)
    return best_all - best_allowed


def _stable_ports(
    H: np.ndarray, S: np.ndarray, ctrl: np.ndarray, b0: int, t0: int, T: int, params: DetectionParams
) -> np.ndarray:
    """The control ports whose own risk did not move against the rest of the control.

    A control that holds a receiver of another displacement or a new route (its risk rises) or an undetected
    tightening (it falls) is biased, and more so as windows grow to years and events on the same origin
    accumulate. Each control port is tested against the other control ports (before: [b0, t0), after:
    [t0, T)) with the same score test, |z| divided by the port's dispersion; the port that moved most leaves
    the control if its |z| exceeds `control_z`, and the test is repeated on the ports left (one moved port
    in the reference makes the others look as if they moved the other way, so they are removed one by one).
    """
    keep = ctrl.copy()
    if T - t0 < params.min_after_weeks:
        return keep
    h0 = max(0, t0 - params.history_weeks)
    while keep.sum() >= 3:
        idx = np.flatnonzero(keep)
        h_b, s_b = H[idx, b0:t0].sum(axis=1), S[idx, b0:t0].sum(axis=1)
        h_a, s_a = H[idx, t0:T].sum(axis=1), S[idx, t0:T].sum(axis=1)
        hc_b, sc_b = h_b.sum() - h_b, s_b.sum() - s_b
        hc_a, sc_a = h_a.sum() - h_a, s_a.sum() - s_a
        ok = (s_b > 0) & (s_a > 0) & (sc_b > 0) & (sc_a > 0) & (h_a + h_b > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            z, _ = _score_z(h_a, s_a, hc_a, sc_a, h_b, s_b, hc_b, sc_b)
        HX, SX = H[idx, h0:t0], S[idx, h0:t0]
        phi = _dispersion(HX, SX, HX.sum(axis=0)[None, :] - HX, SX.sum(axis=0)[None, :] - SX)
        score = np.where(ok, np.abs(z) / np.sqrt(phi), 0.0)
        worst = int(np.argmax(score))
        if score[worst] <= params.control_z:
            break
        keep[idx[worst]] = False
    return keep


def _candidates(
    series: WeeklySeries,
    midx: np.ndarray,
    tig: Tightening,
    t0: int,
    params: DetectionParams,
    tightened: Mapping[tuple[int, int], list[int]] | None = None,
):
    """Test every other member B for one tightening; yields dicts with the best after window per B.

    `tightened`: (member position, origin) -> weeks of every tightening found; a port that tightened on the
    origin during the windows is left out of the control (its risk falls by design, which would make every
    other port look as if its risk rose).
    """
    P = len(midx)
    T = len(series.weeks)
    o = series.origins.index(tig.origin)
    a = int(np.flatnonzero(np.array([series.ports[i] for i in midx]) == tig.port)[0])
    S = series.scans[midx, o, :]
    H = series.hits[midx, o, :]
    b0 = max(0, t0 - params.before_weeks)
    if t0 - b0 < params.min_before_weeks:
        return
    windows = _after_windows(t0, T, params)
    if not windows:
        return
    lags = np.array([w[0] for w in windows], dtype=int)
    lo = np.array([w[1] for w in windows], dtype=int)
    hi = np.array([w[2] for w in windows], dtype=int)
    ctrl = np.ones(P, dtype=bool)
    ctrl[a] = False
    for (pos, oo), weeks in (tightened or {}).items():
        if oo == o and any(b0 < w < T for w in weeks):
            ctrl[pos] = False
    ctrl &= _stable_ports(H, S, ctrl, b0, t0, T, params)
    if ctrl.sum() < 1:
        return
    cw = ctrl.astype(float)
    cS, cH = _cumsum0(S), _cumsum0(H)
    totS, totH = cS[ctrl].sum(axis=0), cH[ctrl].sum(axis=0)
    hb = cH[:, t0] - cH[:, b0]
    sb = cS[:, t0] - cS[:, b0]
    if hb[a] < params.min_hits_a or sb[a] <= 0:
        return
    ha = cH[:, hi] - cH[:, lo]  # (P, K)
    sa = cS[:, hi] - cS[:, lo]
    tha, tsa = totH[hi] - totH[lo], totS[hi] - totS[lo]
    thb, tsb = totH[t0] - totH[b0], totS[t0] - totS[b0]
    # control = the control ports minus B, per B
    hcb = thb - cw * hb  # (P,)
    scb = tsb - cw * sb
    hca = tha[None, :] - cw[:, None] * ha  # (P, K)
    sca = tsa[None, :] - cw[:, None] * sa
    valid = (
        (np.arange(P) != a)[:, None]
        & (sb > 0)[:, None]
        & (sa > 0)
        & (scb > 0)[:, None]
        & (sca > 0)
        & (sa[a] > 0)[None, :]
        & ((hb[:, None] + ha) >= params.min_hits_b)
    )
    if not valid.any():
        return
    # over-dispersion of B and of A against the control, from the weeks before the tightening
    h0 = max(0, t0 - params.history_weeks)
    HB, SB = H[:, h0:t0], S[:, h0:t0]
    HC = H[ctrl, h0:t0].sum(axis=0)[None, :] - cw[:, None] * HB
    SC = S[ctrl, h0:t0].sum(axis=0)[None, :] - cw[:, None] * SB
    phi_b = _dispersion(HB, SB, HC, SC)
    phi_a = _dispersion(np.broadcast_to(H[a, h0:t0], HB.shape), np.broadcast_to(S[a, h0:t0], SB.shape), HC, SC)
    z_b, theta_b = _score_z(ha, sa, hca, sca, hb[:, None], sb[:, None], hcb[:, None], scb[:, None])
    z_a, _ = _score_z(ha[a][None, :], sa[a][None, :], hca, sca, hb[a], sb[a], hcb[:, None], scb[:, None])
    z_b = z_b / np.sqrt(phi_b[:, None])
    z_a = z_a / np.sqrt(phi_a[:, None])
    p_b = stats.norm.sf(z_b)  # B's risk rose against the control
    p_a = stats.norm.cdf(z_a)  # A's risk fell against the control
    p_win = np.where(valid & np.isfinite(p_b) & np.isfinite(p_a), np.maximum(p_b, p_a), np.inf)
    rows = np.flatnonzero(valid.any(axis=1))
    best = np.argmin(p_win, axis=1)
    onset = _onset_excess(H, S, ctrl, b0, hi[best], t0, params) / phi_b
    # B's rise must not be under way before the tightening (a pre-trend, as in a difference-in-differences):
    # B's risk in the last `pre_weeks` before t0 against its earlier weeks, relative to the control
    pre = np.zeros(P)
    split = t0 - params.pre_weeks
    if split - b0 >= params.min_before_weeks:
        pre, _ = _score_z(
            cH[:, t0] - cH[:, split],
            cS[:, t0] - cS[:, split],
            (totH[t0] - totH[split]) - cw * (cH[:, t0] - cH[:, split]),
            (totS[t0] - totS[split]) - cw * (cS[:, t0] - cS[:, split]),
            cH[:, split] - cH[:, b0],
            cS[:, split] - cS[:, b0],
            (totH[split] - totH[b0]) - cw * (cH[:, split] - cH[:, b0]),
            (totS[split] - totS[b0]) - cw * (cS[:, split] - cS[:, b0]),
        )
        pre = pre / np.sqrt(phi_b)
    # ... nor begin long after it: in a long after window, the weeks after the first `pre_weeks` against the
    # first ones (a rise that stays has the same level in both)
    late = np.zeros(P)
    lo_b, hi_b = lo[best], hi[best]
    mid = lo_b + params.pre_weeks
    has_late = hi_b - mid >= params.pre_weeks
    if has_late.any():
        r = np.arange(P)
        mid_c = np.minimum(mid, hi_b)
        h1, s1 = cH[r, mid_c] - cH[r, lo_b], cS[r, mid_c] - cS[r, lo_b]
        h2, s2 = cH[r, hi_b] - cH[r, mid_c], cS[r, hi_b] - cS[r, mid_c]
        c1h, c1s = totH[mid_c] - totH[lo_b] - cw * h1, totS[mid_c] - totS[lo_b] - cw * s1
        c2h, c2s = totH[hi_b] - totH[mid_c] - cw * h2, totS[hi_b] - totS[mid_c] - cw * s2
        z_late, _ = _score_z(h2, s2, c2h, c2s, h1, s1, c1h, c1s)
        z_early, _ = _score_z(h1, s1, c1h, c1s, cH[:, t0] - cH[:, b0], sb, hcb, scb)
        late = np.where(has_late & (z_early / np.sqrt(phi_b) < params.trend_z), z_late / np.sqrt(phi_b), 0.0)
    for b in rows:
        n_windows = int(valid[b].sum())
        j = int(best[b])
        p_raw = min(1.0, float(p_win[b, j]) * n_windows)
        with np.errstate(divide="ignore", invalid="ignore"):
            num = ha[b, j] / hca[b, j] - hb[b] / hcb[b]
            den = ha[a, j] / hca[b, j] - hb[a] / hcb[b]
            wdq = float(num / den) if den != 0 and np.isfinite(num / den) else float("nan")
        yield {
            "b": int(b),
            "a": a,
            "o": o,
            "lag": int(lags[j]),
            "before": (b0, t0),
            "after": (int(lo[j]), int(hi[j])),
            "p_raw": p_raw,
            "wdq": wdq,
            "effect": float(math.expm1(theta_b[b, j])),
            "onset": float(onset[b]),
            "pre_trend": float(pre[b]),
            "late_rise": float(late[b]),
            "p_b": float(p_b[b, j]),
            "p_a": float(p_a[b, j]),
            "n_windows": n_windows,
            "phi_b": float(phi_b[b]),
        }


def _evidence(series: WeeklySeries, midx: np.ndarray, a: int, b: int, o: int, start: int, end: int) -> tuple:
    S, H, K = (x[midx, o, start:end] for x in (series.scans, series.hits, series.seized_kg))
    rows = []
    for k in range(end - start):
        c = [float(x[:, k].sum() - x[a, k] - x[b, k]) for x in (S, H, K)]
        rows.append(
            {
                "week": series.weeks[start + k],
                "a_scans": float(S[a, k]),
                "a_hits": float(H[a, k]),
                "a_seized_kg": float(K[a, k]),
                "b_scans": float(S[b, k]),
                "b_hits": float(H[b, k]),
                "b_seized_kg": float(K[b, k]),
                "c_scans": c[0],
                "c_hits": c[1],
                "c_seized_kg": c[2],
            }
        )
    return tuple(rows)


def _number(value) -> float | None:
    """A figure of an evidence row, or None when it is hidden ("<3") or missing."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def evidence_growth(rows: Iterable[Mapping], before_end: date, after_start: date) -> list[dict]:
    """How the evidence at B grew week by week since the after window began: cumulative excess against C.

    rows: evidence rows (week, b_scans, b_hits, c_scans, c_hits; weeks as dates or ISO strings). B's expected
    hits in a week are its scans x the control's risk that week x B's ratio to the control in the before window
    (the weeks before `before_end`); the excess is observed minus expected. Per week from `after_start`:
    observed and expected hits, their running sums, the cumulative excess and z = excess / sqrt(expected)
    (a Poisson yardstick, not the flag's test). A week with a hidden or missing figure contributes nothing and
    is marked `complete: False`, so a reader who sees release cells gets the same picture from what they see.
    """

    def as_date(v) -> date:
        return v if isinstance(v, date) else date.fromisoformat(str(v))

    parsed = []
    for r in rows:
        figures = [_number(r.get(k)) for k in ("b_scans", "b_hits", "c_scans", "c_hits")]
        parsed.append((as_date(r["week"]), figures))
    before_obs = before_exp = 0.0
    for week, (bs, bh, cs, ch) in parsed:
        if week < before_end and None not in (bs, bh, cs, ch) and cs:
            before_obs += bh
            before_exp += bs * ch / cs
    ratio = before_obs / before_exp if before_exp > 0 else None
    out: list[dict] = []
    cum_obs = cum_exp = 0.0
    for week, (bs, bh, cs, ch) in parsed:
        if week < after_start:
            continue
        complete = ratio is not None and None not in (bs, bh, cs, ch) and bool(cs)
        obs = exp = None
        if complete:
            obs, exp = bh, bs * ch / cs * ratio
            cum_obs += obs
            cum_exp += exp
        excess = cum_obs - cum_exp
        out.append(
            {
                "week": week.isoformat(),
                "b_hits": obs,
                "b_expected": None if exp is None else round(exp, 3),
                "cumulative_hits": cum_obs,
                "cumulative_expected": round(cum_exp, 3),
                "cumulative_excess": round(excess, 3),
                "z": round(excess / math.sqrt(cum_exp), 2) if cum_exp > 0 else None,
                "complete": complete,
            }
        )
    return out


def _week_end(series: WeeklySeries, t: int) -> date:
    return series.weeks[t - 1] + WEEK


def detect_displacement(
    series: WeeklySeries,
    members: Iterable[str] | None = None,
    measures: Iterable[Measure] = (),
    since: date | None = None,
    params: DetectionParams | None = None,
) -> list[DisplacementFlag]:
    """Flags of displacement from a tightened port A to a member port B on an origin O.

    `members`: the ports of the alliance (default: every port of the series); other ports are ignored, also in
    the control. `since`: examine only tightenings starting on or after that date (default: whole history).
    The same input always yields the same flags, in order of adjusted p.
    """
    params = params or DetectionParams()
    midx = _member_index(series, members)
    if midx.size < 3 or len(series.weeks) == 0:
        return []
    tightenings = find_tightenings(series, members, measures, params)
    tightened: dict[tuple[int, int], list[int]] = {}
    member_pos = {series.ports[i]: k for k, i in enumerate(midx)}
    for tig, t in tightenings:
        tightened.setdefault((member_pos[tig.port], series.origins.index(tig.origin)), []).append(t)
    if since is not None:
        tightenings = [(tig, t) for tig, t in tightenings if tig.starts_on >= since]
    cands = []
    for tig, t0 in tightenings:
        for c in _candidates(series, midx, tig, t0, params, tightened):
            c["tightening"] = tig
            cands.append(c)
    if not cands:
        return []
    p_adj = benjamini_hochberg(np.array([c["p_raw"] for c in cands]))
    flags, claims = [], []
    for c, p in zip(cands, p_adj, strict=True):
        if not (
            p <= params.alpha
            and -params.max_gain_ratio <= c["wdq"] < -params.min_gain_ratio
            and c["onset"] <= params.onset_threshold
            and c["pre_trend"] <= params.trend_z
            and c["late_rise"] <= params.trend_z
        ):
            continue
        a, b, o = c["a"], c["b"], c["o"]
        (b0, t0), (lo, hi) = c["before"], c["after"]
        kg = series.seized_kg[midx[b], o]
        flags.append(
            DisplacementFlag(
                from_port=series.ports[midx[a]],
                to_port=series.ports[midx[b]],
                origin=series.origins[o],
                tightening=c["tightening"],
                window_before=(series.weeks[b0], _week_end(series, t0)),
                window_after=(series.weeks[lo], _week_end(series, hi)),
                lag_weeks=c["lag"],
                wdq=c["wdq"],
                effect=c["effect"],
                p_value=float(p),
                p_raw=c["p_raw"],
                confidence=confidence_label(float(p), c["effect"], params),
                seized_kg_before=float(kg[b0:t0].sum()),
                seized_kg_after=float(kg[lo:hi].sum()),
                # to the end of the data, so the flag page shows how the evidence kept growing
                evidence=_evidence(series, midx, a, b, o, b0, len(series.weeks)),
            )
        )
        claims.append(c)
    kept = _one_explanation_per_rise(flags, claims, series, midx, tightened, params)
    kept = _one_loss_shared(kept, params)
    kept.sort(key=lambda f: (f.p_value, f.from_port, f.to_port, f.origin, f.tightening.starts_on))
    return kept


def _one_loss_shared(flags: list[DisplacementFlag], params: DetectionParams) -> list[DisplacementFlag]:
    """Receivers of one tightening, best balanced first, while their gains (-WDQ) add up to `max_gain_ratio`.

    Conservation: the smuggling that left A is what can arrive at the receivers, so their extra hits together
    are bounded by A's lost hits times how much better they may find the loads. A coincident rise at another
    port on the same origin (a new route, a receiver of another tightening) otherwise adds a second receiver
    to a loss another port already accounts for.
    """
    kept, used = [], {}
    for f in sorted(flags, key=lambda f: (abs(math.log(-f.wdq)), f.p_raw, f.to_port)):
        key = (f.from_port, f.origin, f.tightening.key)
        if used.get(key, 0.0) - f.wdq > params.max_gain_ratio:
            continue
        used[key] = used.get(key, 0.0) - f.wdq
        kept.append(f)
    return kept


def _steps_lr(h: np.ndarray, e: np.ndarray, cuts: Iterable[int]) -> float:
    """Poisson likelihood ratio of a piecewise-constant rate (steps at `cuts`) against one rate.

    h: weekly hits, e: their expected values under the control's risk (same length); cuts: indices where a
    new rate begins.
    """
    bounds = [0, *sorted(set(cuts)), len(h)]
    H, E = h.sum(), e.sum()
    if H <= 0 or E <= 0:
        return 0.0
    lr = 0.0
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        hs, es = h[lo:hi].sum(), e[lo:hi].sum()
        if hs > 0 and es > 0:
            lr += 2 * hs * math.log((hs / es) / (H / E))
    return lr


def _best_step(h: np.ndarray, e: np.ndarray, kept: list[int], allowed: range) -> tuple[float, int | None]:
    """The best upward step in `allowed`, added to the steps `kept`: (likelihood ratio of all steps, week)."""
    best, where = _steps_lr(h, e, kept), None
    base = best
    for tau in allowed:
        if tau <= 0 or tau >= len(h) or tau in kept:
            continue
        bounds = [0, *sorted({*kept, tau}), len(h)]
        k = bounds.index(tau)
        lo, hi = bounds[k - 1], bounds[k + 1]
        eb, ea = e[lo:tau].sum(), e[tau:hi].sum()
        if eb <= 0 or ea <= 0 or h[tau:hi].sum() / ea <= h[lo:tau].sum() / eb:
            continue  # only a rise at B
        lr = _steps_lr(h, e, [*kept, tau])
        if lr > best:
            best, where = lr, tau
    return (best if where is not None else base), where


def _one_explanation_per_rise(
    flags: list[DisplacementFlag],
    claims: list[dict],
    series: WeeklySeries,
    midx: np.ndarray,
    tightened: Mapping[tuple[int, int], list[int]],
    params: DetectionParams,
) -> list[DisplacementFlag]:
    """Keep, for each rise at B on O, only the tightening that explains it; several only for several rises.

    Every flag on one (B, O) claims a rise of B's risk beginning near its tightening (weeks [t0 - onset_early,
    t0 + max lag + onset_late]). B's weekly hits are set against the hits expected at the risk of a common
    control (the members other than B, the tightened ports and the other flagged receivers on O), over the
    weeks from the earliest before window to the end of the data. The claim whose step fits best (Poisson
    likelihood ratio of one upward step in its range) wins; claims within `compete_tie` of it (a rise the
    data cannot place between them) are ranked by balance (-WDQ nearest 1, then p). Another claim is kept
    only if its tightening is more than `compete_weeks` from every kept one and a further step in its range
    improves the fit by at least `second_rise_lr` (after B's dispersion): a second rise, not the same one
    seen from another tightening. A long after window otherwise credits a rise that began a year later, at
    another tightening, to an earlier one as well.
    """
    groups: dict[tuple[str, str], list[int]] = {}
    for i, f in enumerate(flags):
        groups.setdefault((f.to_port, f.origin), []).append(i)
    receivers: dict[int, set[int]] = {}
    for c in claims:
        receivers.setdefault(c["o"], set()).add(c["b"])
    kept: list[DisplacementFlag] = []
    T = len(series.weeks)
    for members in groups.values():
        if len(members) == 1:
            kept.append(flags[members[0]])
            continue
        c0 = claims[members[0]]
        b, o = c0["b"], c0["o"]
        start = min(claims[i]["before"][0] for i in members)
        ctrl = np.ones(len(midx), dtype=bool)
        ctrl[b] = False
        for (pos, oo), _weeks in tightened.items():
            if oo == o:
                ctrl[pos] = False
        for r in receivers.get(o, ()):
            ctrl[r] = False
        if ctrl.sum() < 1:
            ctrl = np.ones(len(midx), dtype=bool)
            ctrl[b] = False
        S = series.scans[midx, o, start:T]
        H = series.hits[midx, o, start:T]
        hc, sc = H[ctrl].sum(axis=0), S[ctrl].sum(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            e = np.where(sc > 0, S[b] * hc / np.where(sc > 0, sc, 1), 0.0)
        h = np.where(e > 0, H[b], 0.0)
        phi = max(claims[i]["phi_b"] for i in members)

        def allowed(i: int, start: int = start) -> range:
            t0 = claims[i]["before"][1] - start
            return range(t0 - params.onset_early, t0 + max(params.lags) + params.onset_late + 1)

        def balance(i: int) -> tuple:
            f = flags[i]
            bal = abs(math.log(-f.wdq)) if params.compete_by == "balance" else 0.0
            return (bal, f.p_raw, f.tightening.starts_on, f.from_port)

        fit = {i: _best_step(h, e, [], allowed(i))[0] / phi for i in members}
        top = max(fit.values())
        first = min((i for i in members if fit[i] >= top - params.compete_tie), key=balance)
        chosen, steps = [first], [_best_step(h, e, [], allowed(first))[1]]
        rest = [i for i in members if i != first]
        while rest:
            base = _steps_lr(h, e, [s for s in steps if s is not None])
            gains = {}
            for i in rest:
                near = any(
                    abs((flags[i].tightening.starts_on - flags[k].tightening.starts_on).days)
                    <= 7 * params.compete_weeks
                    for k in chosen
                )
                if near:
                    continue
                lr, tau = _best_step(h, e, [s for s in steps if s is not None], allowed(i))
                if tau is not None and (lr - base) / phi >= params.second_rise_lr:
                    gains[i] = ((lr - base) / phi, tau)
            if not gains:
                break
            nxt = max(gains, key=lambda i: (gains[i][0], -balance(i)[1]))
            chosen.append(nxt)
            steps.append(gains[nxt][1])
            rest = [i for i in rest if i != nxt]
        kept.extend(flags[i] for i in chosen)
    return kept


__all__ = [
    "DetectionParams",
    "DisplacementFlag",
    "Measure",
    "Tightening",
    "WeeklySeries",
    "benjamini_hochberg",
    "confidence_label",
    "detect_displacement",
    "evidence_growth",
    "find_tightenings",
    "same_tightening",
    "week_start",
]
