"""Detection over stored data: a planted displacement is flagged, decoys are not, reruns update, status sticks."""

import pytest
from django.core.management import call_command

from notifications.models import Notification
from trends.analytics.synthetic import generate_alliance
from trends.models import DisplacementFlag
from trends.services.displacement import detect_and_store

from .synthetic_load import load_alliance

pytestmark = pytest.mark.django_db

SMALL = {"n_ports": 12, "n_origins": 6, "n_weeks": 120, "total_scans_per_week": 8000, "huge_seizure_rate": 0}


def _alliance(seed, **events):
    kinds = {"n_displacements": 0, "n_deterrence": 0, "n_new_routes": 0, "n_idle_measures": 0, **events}
    return generate_alliance(seed, **SMALL, **kinds)


@pytest.mark.parametrize("seed", [1, 4])  # seed 1: a declared measure; seed 4: a change point only
def test_planted_displacement_is_flagged_with_its_ports_and_origin(cast, seed):
    alliance = _alliance(seed, n_displacements=1, displaced_scale=(0.7, 0.9))
    load_alliance(alliance)
    planted = alliance.displacements[0]
    result = detect_and_store()
    assert result["created"] >= 1
    flags = list(DisplacementFlag.objects.all())
    matching = [
        f
        for f in flags
        if (f.from_port_id, f.to_port_id, f.origin_id) == (planted.from_port, planted.to_port, planted.origin)
    ]
    assert len(matching) == 1, [(f.from_port_id, f.to_port_id, f.origin_id) for f in flags]
    flag = matching[0]
    assert flag.tightening_source == ("measure" if planted.declared else "changepoint")
    assert abs((flag.tightening_starts_on - planted.start).days) <= 8 * 7
    assert flag.wdq < 0
    assert flag.p_value <= 0.05
    assert flag.status == "open"
    assert flag.window_before_end <= flag.window_after_start
    assert flag.evidence
    assert {"week", "a_hits", "b_hits", "c_hits"} <= set(flag.evidence[0])
    liaison = cast["memberships"]["europol_liaison"]
    assert Notification.objects.filter(membership=liaison, kind="displacement").count() == result["created"]


@pytest.mark.parametrize("events", [{"n_deterrence": 2}, {"n_new_routes": 2}], ids=["deterrence", "new-route"])
def test_decoys_raise_nothing(cast, events):
    load_alliance(_alliance(0, **events))
    assert detect_and_store()["flags"] == 0
    assert DisplacementFlag.objects.count() == 0
    assert Notification.objects.filter(kind="displacement").count() == 0


def test_rerun_updates_never_duplicates_and_dismissed_stays_dismissed(cast, api_as, capsys):
    alliance = _alliance(4, n_displacements=1, displaced_scale=(0.7, 0.9))
    load_alliance(alliance)
    call_command("detect_displacement")
    first = {f.pk: f for f in DisplacementFlag.objects.all()}
    assert first
    flag = next(iter(first.values()))
    liaison = api_as(cast["users"]["europol_liaison"])
    response = liaison.post(
        f"/api/v1/displacement/{flag.pk}/status/", {"status": "dismissed", "reason": "known new service"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["status"] == "dismissed"
    notices = Notification.objects.filter(kind="displacement").count()
    call_command("detect_displacement")
    assert "0 new" in capsys.readouterr().out
    again = {f.pk: f for f in DisplacementFlag.objects.all()}
    assert set(again) == set(first)
    flag.refresh_from_db()
    assert flag.status == "dismissed"
    assert flag.status_reason == "known new service"
    assert flag.updated_at >= first[flag.pk].updated_at
    assert Notification.objects.filter(kind="displacement").count() == notices  # no notice for an old flag
    # --since after every tightening examines none and changes nothing.
    assert detect_and_store(since=alliance.series.weeks[-1])["flags"] == 0
    assert DisplacementFlag.objects.count() == len(first)


def test_a_flag_raised_on_short_data_is_strengthened_as_weeks_arrive(cast):
    """The scheduled run sees the data grow: the flag it raised early is updated in place, never duplicated."""
    from dataclasses import replace

    from trends.analytics.displacement import WeeklySeries

    alliance = _alliance(1, n_displacements=1, displaced_scale=(0.8, 0.9))
    planted = alliance.displacements[0]
    series = alliance.series
    first = series.week_index(planted.start) + planted.lag_weeks + 16
    load_alliance(replace(alliance, series=series.truncate(first)))
    detect_and_store()
    early = {
        f.pk: f
        for f in DisplacementFlag.objects.filter(
            from_port_id=planted.from_port, to_port_id=planted.to_port, origin_id=planted.origin
        )
    }
    assert len(early) == 1
    notices = Notification.objects.filter(kind="displacement").count()
    assert notices > 0
    # the rest of the weeks arrive (as the relay would add them), measures already declared
    rest = WeeklySeries(
        series.weeks[first:],
        series.ports,
        series.origins,
        series.scans[:, :, first:],
        series.hits[:, :, first:],
        series.seized_kg[:, :, first:],
    )
    load_alliance(replace(alliance, series=rest, measures=[]))
    result = detect_and_store()
    assert result["created"] == 0
    later = DisplacementFlag.objects.get(
        from_port_id=planted.from_port, to_port_id=planted.to_port, origin_id=planted.origin
    )
    (pk, flag) = next(iter(early.items()))
    assert later.pk == pk
    assert later.p_value <= 0.01
    assert later.updated_at > flag.updated_at  # updated by the later run (its windows are the strongest ones)
    assert len(later.evidence) > len(flag.evidence)  # it runs to the end of the data
    assert str(later.evidence[-1]["week"]) == series.weeks[-1].isoformat()
    assert Notification.objects.filter(kind="displacement").count() == notices  # an update is no news
