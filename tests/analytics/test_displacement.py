"""Displacement detection on small hand-built and generated alliances (pure numpy, no database)."""

from datetime import date, timedelta

import numpy as np
import pytest

from trends.analytics.displacement import (
    Measure,
    Tightening,
    WeeklySeries,
    benjamini_hochberg,
    detect_displacement,
    find_tightenings,
    same_tightening,
    week_start,
)
from trends.analytics.synthetic import generate_alliance, match_flag

PORTS = ["NLRTM", "BEANR", "DEHAM", "ESALG", "FRLEH", "ITGOA", "GRPIR", "PLGDN", "SIKOP", "PTSIN"]
ORIGINS = ["ECGYE", "COCTG", "BRSSZ"]
WEEKS = [date(2024, 1, 1) + timedelta(weeks=i) for i in range(104)]
A, B, ORIG = 0, 3, 0  # NLRTM tightens on ECGYE, ESALG receives


def build(seed=1, season=0.3, tighten=None, receive=None, new_route=None, seizure=None):
    """Weekly series of 10 ports x 3 origins x 104 weeks with shared seasonality and Poisson noise.

    tighten: (port, origin, week): scans x2, hits x0.3 from that week.
    receive: (port, origin, week, hits/week): extra hits (and scans for those loads) from that week.
    new_route: (port, origin, week, hits/week): scans x1.4 and extra hits from that week.
    seizure: (port, origin, week, kg): one extra hit carrying that many kilograms.
    """
    rng = np.random.default_rng(seed)
    size = np.array([40, 25, 20, 6, 10, 8, 5, 4, 3, 2], dtype=float)
    share = np.array([0.5, 0.3, 0.2])
    t = np.arange(len(WEEKS))
    seasonal = 1 + season * np.sin(2 * np.pi * t / 52.18)
    mu_s = np.ones((len(PORTS), len(ORIGINS), len(WEEKS))) * (size[:, None] * share[None, :] * 20)[:, :, None]
    mu_h = mu_s * 0.03
    if tighten:
        p, o, w = tighten
        mu_s[p, o, w:] *= 2
        mu_h[p, o, w:] *= 0.3
    for event, scan_factor in ((receive, None), (new_route, 1.4)):
        if event:
            p, o, w, extra = event
            if scan_factor:
                mu_s[p, o, w:] *= scan_factor
            else:
                mu_s[p, o, w:] += extra
            mu_h[p, o, w:] += extra
    mu_s, mu_h = mu_s * seasonal, mu_h * seasonal
    scans = rng.poisson(mu_s).astype(float)
    hits = np.minimum(rng.poisson(mu_h), scans).astype(float)
    kg = hits * 20.0
    if seizure:
        p, o, w, load = seizure
        scans[p, o, w] += 1
        hits[p, o, w] += 1
        kg[p, o, w] += load
    return WeeklySeries(WEEKS, PORTS, ORIGINS, scans, hits, kg)


def test_declared_tightening_with_displacement_is_flagged_with_the_right_ports_and_origin():
    series = build(tighten=(A, ORIG, 60), receive=(B, ORIG, 63, 6.0))
    flags = detect_displacement(series, measures=[Measure(PORTS[A], ORIGINS[ORIG], WEEKS[60])])
    assert [(f.from_port, f.to_port, f.origin) for f in flags] == [("NLRTM", "ESALG", "ECGYE")]
    f = flags[0]
    assert f.tightening.source == "measure"
    assert f.tightening.starts_on == WEEKS[60]
    assert f.wdq < 0
    assert f.effect > 0.5
    assert f.p_value <= 0.05
    assert f.window_before[1] == WEEKS[60] <= f.window_after[0] < f.window_after[1]
    assert f.window_before[0] < f.window_before[1]
    assert f.confidence in ("low", "medium", "high")
    assert len(f.evidence) == (f.window_after[1] - f.window_before[0]).days // 7
    assert f.evidence[0]["week"] == f.window_before[0]
    assert f.seized_kg_after > f.seized_kg_before > 0


def test_undeclared_tightening_is_found_from_scan_counts_and_flagged():
    series = build(tighten=(A, ORIG, 60), receive=(B, ORIG, 62, 6.0))
    tightenings = find_tightenings(series)
    assert [(t.port, t.origin, t.source) for t, _ in tightenings] == [("NLRTM", "ECGYE", "changepoint")]
    assert abs(tightenings[0][1] - 60) <= 2
    flags = detect_displacement(series)
    assert [(f.from_port, f.to_port, f.origin) for f in flags] == [("NLRTM", "ESALG", "ECGYE")]


def test_deterrence_without_displacement_raises_nothing():
    series = build(tighten=(A, ORIG, 60))
    assert find_tightenings(series)  # the tightening itself is seen
    assert detect_displacement(series, measures=[Measure(PORTS[A], ORIGINS[ORIG], WEEKS[60])]) == []


def test_new_route_without_any_tightening_raises_nothing():
    series = build(new_route=(B, ORIG, 60, 6.0))
    assert detect_displacement(series) == []


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_shared_seasonality_alone_raises_nothing(seed):
    series = build(seed=seed, season=0.6)
    assert find_tightenings(series) == []
    assert detect_displacement(series) == []


def test_one_ten_tonne_seizure_alone_raises_nothing():
    series = build(seizure=(B, ORIG, 70, 10_000.0))
    assert series.seized_kg.max() >= 10_000
    assert detect_displacement(series, measures=[Measure(PORTS[A], ORIGINS[ORIG], WEEKS[66])]) == []


def test_two_runs_give_the_same_identities_and_a_longer_history_keeps_them():
    series = build(tighten=(A, ORIG, 60), receive=(B, ORIG, 63, 6.0))
    measures = [Measure(PORTS[A], None, date(2025, 2, 26))]  # every origin, declared mid-week
    first = detect_displacement(series, measures=measures)
    second = detect_displacement(series, measures=measures)
    assert first
    assert [f.key for f in first] == [f.key for f in second]
    assert len({f.key for f in first}) == len(first)
    earlier = detect_displacement(series.truncate(80), measures=measures)
    assert {f.key for f in earlier} == {f.key for f in first}


def test_since_limits_the_tightenings_examined():
    series = build(tighten=(A, ORIG, 40), receive=(B, ORIG, 42, 6.0))
    later = build(seed=5, tighten=(1, 1, 80), receive=(4, 1, 82, 5.0))
    series.scans[:, 1], series.hits[:, 1] = later.scans[:, 1], later.hits[:, 1]
    measures = [Measure(PORTS[A], ORIGINS[ORIG], WEEKS[40]), Measure(PORTS[1], ORIGINS[1], WEEKS[80])]
    everything = detect_displacement(series, measures=measures)
    assert {(f.from_port, f.to_port, f.origin) for f in everything} == {
        ("NLRTM", "ESALG", "ECGYE"),
        ("BEANR", "FRLEH", "COCTG"),
    }
    recent = detect_displacement(series, measures=measures, since=WEEKS[60])
    assert [(f.from_port, f.to_port, f.origin) for f in recent] == [("BEANR", "FRLEH", "COCTG")]
    assert all(f.tightening.starts_on >= WEEKS[60] for f in recent)


def test_members_restrict_ports_and_control():
    series = build(tighten=(A, ORIG, 60), receive=(B, ORIG, 63, 6.0))
    measures = [Measure(PORTS[A], ORIGINS[ORIG], WEEKS[60])]
    without_b = [p for p in PORTS if p != "ESALG"]
    assert detect_displacement(series, members=without_b, measures=measures) == []


def test_generated_alliance_planted_displacement_is_found():
    al = generate_alliance(
        3,
        n_ports=15,
        n_origins=4,
        n_weeks=120,
        n_displacements=1,
        n_deterrence=1,
        n_new_routes=1,
        n_idle_measures=1,
        displaced_scale=(0.8, 0.9),
    )
    (planted,) = al.displacements
    assert planted.displaced_hits_per_week >= 3
    flags = detect_displacement(al.series, al.members, al.measures)
    assert flags
    assert all(match_flag(f, planted) for f in flags)


def test_benjamini_hochberg_matches_the_step_up_rule():
    p = np.array([0.01, 0.04, 0.03, 0.005])
    assert np.allclose(benjamini_hochberg(p), [0.02, 0.04, 0.04, 0.02])
    assert benjamini_hochberg(np.array([])).size == 0


def test_rows_build_the_same_series_and_week_start_is_monday():
    assert week_start(date(2024, 1, 3)) == date(2024, 1, 1)
    rows = [
        {"week": date(2024, 1, 3), "port": "NLRTM", "origin": "ECGYE", "scans": 5, "hits": 1, "seized_kg": 2.0},
        {"week": date(2024, 1, 15), "port": "BEANR", "origin": "ECGYE", "scans": 3, "hits": 0, "seized_kg": 0.0},
    ]
    series = WeeklySeries.from_rows(rows)
    assert series.weeks == [date(2024, 1, 1), date(2024, 1, 8), date(2024, 1, 15)]
    assert series.scans[:, 0, :].tolist() == [[0, 0, 3], [5, 0, 0]]


def test_a_receiver_with_no_hit_before_is_flagged():
    series = build(tighten=(A, ORIG, 60), receive=(9, ORIG, 62, 6.0))
    series.hits[9, ORIG, :60] = 0  # PTSIN never had a hit on ECGYE before the tightening
    flags = detect_displacement(series, measures=[Measure(PORTS[A], ORIGINS[ORIG], WEEKS[60])])
    assert [(f.from_port, f.to_port, f.origin) for f in flags] == [("NLRTM", "PTSIN", "ECGYE")]
    assert flags[0].confidence == "high"


def test_same_tightening_tolerates_a_moved_change_point_but_not_a_moved_measure():
    cp = Tightening("NLRTM", "ECGYE", WEEKS[60], "changepoint")
    assert same_tightening(cp, Tightening("NLRTM", "ECGYE", WEEKS[62], "changepoint"))
    assert not same_tightening(cp, Tightening("NLRTM", "ECGYE", WEEKS[66], "changepoint"))
    assert not same_tightening(cp, Tightening("BEANR", "ECGYE", WEEKS[60], "changepoint"))
    measure = Tightening("NLRTM", "ECGYE", WEEKS[60], "measure")
    assert not same_tightening(measure, Tightening("NLRTM", "ECGYE", WEEKS[61], "measure"))


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 6])
def test_a_rise_at_b_after_a_measure_that_changed_nothing_at_a_raises_nothing(seed):
    # the intersection-union rule: B's rise alone is not displacement unless A's risk fell too
    series = build(seed=seed, new_route=(B, ORIG, 62, 6.0))
    assert detect_displacement(series, measures=[Measure(PORTS[A], ORIGINS[ORIG], WEEKS[60])]) == []
