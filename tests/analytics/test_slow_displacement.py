"""Slow displacement (issue 18): evidence that accumulates over growing windows, a clean control, the onset
check, the growth shown on the flag page, and a fast run of the evaluation harness (pure numpy, no database)."""

from datetime import date, timedelta

import numpy as np
import pytest

from bench.eval_displacement import evaluate_slow, null_rate, stratum_rows
from trends.analytics.displacement import (
    DetectionParams,
    Measure,
    WeeklySeries,
    detect_displacement,
    evidence_growth,
    find_tightenings,
)
from trends.analytics.synthetic import generate_slow_alliance

PORTS = ["NLRTM", "BEANR", "DEHAM", "ESALG", "FRLEH", "ITGOA", "GRPIR", "PLGDN", "SIKOP", "PTSIN", "ESVLC", "BEZEE"]
ORIGINS = ["ECGYE", "COCTG"]
T = 200
WEEKS = [date(2022, 1, 3) + timedelta(weeks=i) for i in range(T)]
A, B, ORIG = 0, 3, 0  # Rotterdam tightens on Guayaquil, Algeciras receives


def small_alliance(seed=1, tighten=None, receive=None, also_tighten=None, scan_factor=2.5):
    """12 ports x 2 origins x 200 weeks with tens of scans a week on an origin and about a hit a week or less.

    tighten / also_tighten: (port, week): scans x scan_factor and hits x 0.2 from that week.
    receive: (port, week, extra hits a week) from that week on, for good.
    """
    rng = np.random.default_rng(seed)
    size = np.array([60, 50, 45, 30, 40, 35, 25, 20, 30, 25, 200, 30], dtype=float)
    mu_s = np.repeat(np.stack([size, size * 0.6], axis=1)[:, :, None], T, axis=2)
    mu_h = mu_s * 0.025
    for event in (tighten, also_tighten):
        if event:
            p, w = event
            mu_s[p, ORIG, w:] *= scan_factor
            mu_h[p, ORIG, w:] *= 0.2
    if receive:
        p, w, extra = receive
        mu_h[p, ORIG, w:] += extra
        mu_s[p, ORIG, w:] += extra
    season = 1 + 0.2 * np.sin(2 * np.pi * np.arange(T) / 52.18)
    scans = rng.poisson(mu_s * season).astype(float)
    hits = np.minimum(rng.poisson(mu_h * season), scans).astype(float)
    return WeeklySeries(WEEKS, PORTS, ORIGINS, scans, hits, hits * 20.0)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_slow_displacement_is_flagged_once_the_evidence_has_accumulated(seed):
    # 1.2 extra hits a week at a port that had about 0.75 a week, from 3 weeks after the tightening, for good.
    series = small_alliance(seed, tighten=(A, 90), receive=(B, 93, 1.2))
    measures = [Measure("NLRTM", "ECGYE", WEEKS[90])]
    flags = detect_displacement(series, measures=measures)
    assert [(f.from_port, f.to_port, f.origin) for f in flags] == [("NLRTM", "ESALG", "ECGYE")]
    # the window that carried it is a long one, and the evidence runs to the end of the data
    (flag,) = flags
    assert (flag.window_after[1] - flag.window_after[0]).days >= 26 * 7
    assert flag.evidence[-1]["week"] == WEEKS[-1]
    # with 8 weeks of data after the tightening the same test had far less to go on
    early = [f for f in detect_displacement(series.truncate(98), measures=measures) if f.to_port == "ESALG"]
    assert not early or early[0].p_raw > flag.p_raw


def test_a_flag_raised_early_is_strengthened_not_duplicated_as_data_grow():
    series = small_alliance(4, tighten=(A, 60), receive=(B, 62, 2.0))
    measures = [Measure("NLRTM", "ECGYE", WEEKS[60])]
    runs = [detect_displacement(series.truncate(n), measures=measures) for n in (100, 140, 200)]
    keys = [{f.key for f in run if f.to_port == "ESALG"} for run in runs]
    assert keys[0]
    assert keys[0] == keys[1] == keys[2]
    p = [next(f.p_raw for f in run if f.to_port == "ESALG") for run in runs]
    assert p[2] < p[0]  # more data, stronger evidence, same identity


def test_an_undeclared_x2_rise_of_scans_on_a_small_port_is_a_tightening():
    # Rotterdam sees about 36 scans a week on Cartagena... here: Algeciras, 18 a week on Guayaquil x 2.2.
    series = small_alliance(5, tighten=(B, 90), scan_factor=2.2)
    found = [(t.port, t.origin, t.source, w) for t, w in find_tightenings(series)]
    assert [(p, o, s) for p, o, s, _ in found] == [("ESALG", "ECGYE", "changepoint")]
    assert abs(found[0][3] - 90) <= 3


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_another_tightened_port_in_the_control_does_not_make_other_ports_look_risky(seed):
    # Two ports tighten on the same origin (deterrence only): the big one's fall must not be read as a rise
    # of every other port's risk against a control that holds it.
    series = small_alliance(seed, tighten=(A, 80), also_tighten=(10, 82))
    measures = [Measure("NLRTM", "ECGYE", WEEKS[80]), Measure("ESVLC", "ECGYE", WEEKS[82])]
    assert detect_displacement(series, measures=measures) == []


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_rise_that_begins_long_after_the_tightening_is_not_credited_to_it(seed):
    # Rotterdam tightens at week 60 (deterrence); Algeciras's risk rises from week 110 for another reason.
    series = small_alliance(seed, tighten=(A, 60), receive=(B, 110, 2.0))
    assert detect_displacement(series, measures=[Measure("NLRTM", "ECGYE", WEEKS[60])]) == []


def test_the_same_rise_is_credited_to_one_tightening_only():
    series = small_alliance(6, tighten=(A, 60), also_tighten=(1, 61), receive=(B, 63, 2.0))
    measures = [Measure("NLRTM", "ECGYE", WEEKS[60]), Measure("BEANR", "ECGYE", WEEKS[61])]
    flags = detect_displacement(series, measures=measures)
    assert len([f for f in flags if f.to_port == "ESALG"]) == 1


def test_evidence_growth_accumulates_the_excess_against_the_control():
    rows = []
    for k in range(20):
        after = k >= 10
        rows.append(
            {
                "week": (WEEKS[0] + timedelta(weeks=k)).isoformat(),
                "b_scans": 100.0,
                "b_hits": 4.0 if after else 2.0,
                "c_scans": 1000.0,
                "c_hits": 20.0 if k % 2 else 40.0,  # the control's risk moves; B's expectation follows it
            }
        )
    before = [r for r in rows[:10]]
    ratio = sum(r["b_hits"] for r in before) / sum(r["b_scans"] * r["c_hits"] / r["c_scans"] for r in before)
    growth = evidence_growth(rows, WEEKS[10], WEEKS[10])
    assert [g["week"] for g in growth] == [r["week"] for r in rows[10:]]
    expected = [100 * r["c_hits"] / 1000 * ratio for r in rows[10:]]
    assert growth[-1]["cumulative_hits"] == 40.0
    assert growth[-1]["cumulative_expected"] == pytest.approx(sum(expected), abs=1e-3)
    assert growth[-1]["cumulative_excess"] == pytest.approx(40.0 - sum(expected), abs=1e-3)
    assert growth[-1]["z"] == pytest.approx((40.0 - sum(expected)) / sum(expected) ** 0.5, abs=0.01)
    assert all(g["complete"] for g in growth)
    excess = [g["cumulative_excess"] for g in growth]
    assert excess == sorted(excess)


def test_evidence_growth_leaves_hidden_cells_out_and_says_so():
    rows = [{"week": WEEKS[k], "b_scans": 50.0, "b_hits": 2.0, "c_scans": 500.0, "c_hits": 20.0} for k in range(8)]
    rows[6] = {**rows[6], "b_hits": "<3"}
    rows[7] = {**rows[7], "c_scans": None}
    growth = evidence_growth(rows, WEEKS[4], WEEKS[4])
    assert [g["complete"] for g in growth] == [True, True, False, False]
    assert growth[-1]["cumulative_hits"] == 4.0
    assert growth[2]["b_hits"] is None
    # nothing before the after window to compare with: nothing is complete, no z
    assert all(g["z"] is None and not g["complete"] for g in evidence_growth(rows, WEEKS[0], WEEKS[0]))


def test_the_slow_generator_plants_what_the_issue_describes():
    al = generate_slow_alliance(0)
    s = al.series
    assert s.scans.shape == (20, 8, 220)
    assert len(al.displacements) == 16
    assert sorted(d.kind for d in al.decoys) == ["deterrence"] * 8 + ["new_route"] * 8
    assert all(0.1 <= e.displaced_hits_per_week <= 3.0 for e in al.displacements)
    assert all(2 <= e.lag_weeks <= 5 for e in al.displacements)
    assert 0 < len(al.measures) < 24  # some tightenings declared, the others only visible in the scans
    cells = [(e.from_port, e.origin) for e in al.displacements] + [(e.to_port, e.origin) for e in al.displacements]
    cells += [(d.from_port or d.to_port, d.origin) for d in al.decoys]
    assert len(cells) == len(set(cells))  # a (port, origin) cell takes part in one event at most


def test_the_harness_runs_and_scores_a_clear_case_and_a_null_alliance():
    clear = {"n_displacements": 2, "n_deterrence": 1, "n_new_routes": 1, "extra_hits": (2.5, 3.0)}
    r = evaluate_slow([3], monitor=False, **clear)
    rows = {row["name"]: row for row in stratum_rows(r["events"], r["false_flags"])}
    assert rows["all"]["events"] == 2
    assert rows["1-3"]["recall"] == 1.0
    assert r["false_flags"] == 0
    assert null_rate([5], slow=True) == (0, 1)
    assert null_rate([5], slow=False) == (0, 1)


def test_params_keep_windows_distinct_and_counted_once():
    from trends.analytics.displacement import _after_windows

    params = DetectionParams()
    # near the end of the data every window length collapses onto "all the data since": counted once
    short = _after_windows(t0=100, T=112, params=params)
    assert len({(lo, hi) for _, lo, hi in short}) == len(short)
    assert all(hi == 112 for _, _, hi in short)
    full = _after_windows(t0=20, T=200, params=params)
    assert len(full) == len(params.lags) * len(params.after_windows)
