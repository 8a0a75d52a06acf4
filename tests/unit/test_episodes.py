"""The outcome of one episode of care and the rules of discharge (clinical-reference §11.1, §11.2)."""

from __future__ import annotations

import datetime as dt
import functools
import typing
from typing import Any

import pytest

from dashboard import episodes
from dashboard.episodes import DISCHARGE_REASONS, OUTCOME_MEASURES, discharge_problems, episode_outcome
from dashboard.models import DischargeReason
from tests import factories

DAY_ONE = dt.date(2025, 2, 3)
make_visit = functools.partial(factories.make_visit, start=DAY_ONE)


def odi(percent: int) -> list[int | None]:
    """Ten ODI section scores whose total gives `percent` (an even number 0-100)."""
    total = percent // 2
    return [min(5, max(0, total - 5 * i)) for i in range(10)]


def spwt(metres: float | None = None, minutes: float | None = None, **extra: Any) -> dict[str, Any]:
    return {"walk_protocol": "spwt", "walk_total_m": metres, "walk_total_min": minutes, **extra}


def six_minutes(metres: float) -> dict[str, Any]:
    return {"walk_protocol": "6mwt", "walk_total_m": metres}


# measure -> visits (day, fields) -> (baseline, final, label)
OUTCOME_CASES: list[Any] = [
    pytest.param(
        "odi_percent",
        [(0, {"odi_sections": odi(42)}), (70, {"odi_sections": odi(18)})],
        (42.0, 18.0, "important_improvement"),
        id="odi_42_to_18_is_an_important_improvement",
    ),
    pytest.param(
        "pain_nrs",
        [(0, {"pain_nrs": 7}), (14, {"pain_nrs": 6})],
        (7.0, 6.0, "no_important_change"),
        id="pain_down_one_point_is_no_important_change",
    ),
    pytest.param(
        "pain_nrs",
        [(0, {"pain_nrs": 7}), (0, {"pain_nrs": 3})],
        (7.0, None, None),
        id="a_final_from_the_baseline_day_is_no_final",
    ),
    pytest.param("pain_nrs", [(0, {})], (None, None, None), id="a_measure_never_recorded_is_empty"),
    pytest.param(
        "rmdq_total",
        [(0, {"rmdq_items": [True] * 12 + [False] * 12}), (30, {"rmdq_items": [True] * 4 + [False] * 20})],
        (12.0, 4.0, "important_improvement"),
        id="rmdq_12_to_4",
    ),
    pytest.param(
        "walk_spwt_m",
        [(0, spwt(300)), (14, spwt(minutes=9)), (28, spwt(400))],
        (300.0, 400.0, "important_improvement"),
        id="spwt_distance_skips_a_timed_test_between",
    ),
    pytest.param(
        "walk_spwt_m",
        [(0, spwt(300)), (28, spwt(100, walk_stop_reason="other"))],
        (300.0, None, None),
        id="a_walk_stopped_for_an_unrelated_reason_is_no_final",
    ),
    pytest.param(
        "walk_6mwt_m",
        [
            (0, {"walk_protocol": "6mwt", "walk_total_m": 300}),
            (28, {"walk_protocol": "6mwt", "walk_total_m": 326}),
        ],
        (300.0, 326.0, "important_improvement"),
        id="six_minute_walk_26_m",
    ),
    pytest.param(
        "walk_spwt_m",
        [(0, spwt(minutes=9)), (28, spwt(minutes=20))],
        (None, None, None),
        id="a_timed_spwt_is_not_a_reported_measure",
    ),
]


@pytest.mark.parametrize(("measure", "visits", "expected"), OUTCOME_CASES)
def test_an_episode_outcome_compares_the_first_value_with_the_last_from_a_later_visit(
    measure: str, visits: list[tuple[int, dict[str, Any]]], expected: tuple[Any, Any, Any]
) -> None:
    outcome = episode_outcome(
        factories.make_patient(),
        factories.make_episode(),
        [make_visit(day, **fields) for day, fields in visits],
    )
    got = outcome.measures[measure]
    assert (got.baseline, got.final, got.label) == expected


def test_every_reported_measure_has_a_case_and_is_always_present() -> None:
    covered = {param.values[0] for param in OUTCOME_CASES}
    assert covered == set(OUTCOME_MEASURES)
    outcome = episode_outcome(factories.make_patient(), factories.make_episode(), [])
    assert set(outcome.measures) == set(OUTCOME_MEASURES) and not outcome.complete


def test_an_episode_is_complete_when_one_measure_is() -> None:
    visits = [make_visit(0, pain_nrs=7, odi_sections=odi(40)), make_visit(28, pain_nrs=3)]
    outcome = episode_outcome(factories.make_patient(), factories.make_episode(), visits)
    assert outcome.complete and outcome.measures["pain_nrs"].improved
    assert not outcome.measures["odi_percent"].complete and outcome.measures["odi_percent"].baseline == 40


def test_visits_of_another_episode_and_archived_ones_are_left_out() -> None:
    visits = [
        make_visit(0, pain_nrs=9, episode_id="old"),
        make_visit(100, pain_nrs=6, episode_id="episode-1"),
        make_visit(120, pain_nrs=2, episode_id="episode-1", archived=True),
        make_visit(130, pain_nrs=5, episode_id="episode-1"),
    ]
    got = episode_outcome(factories.make_patient(), factories.make_episode(), visits).measures["pain_nrs"]
    assert (got.baseline, got.final) == (6.0, 5.0)


@pytest.mark.parametrize(
    ("days", "band"),
    [(0, "< 6 weeks"), (41, "< 6 weeks"), (42, "6–12 weeks"), (84, "6–12 weeks"), (85, "> 12 weeks")],
)
def test_symptom_duration_bands(days: int, band: str) -> None:
    assert episodes.duration_band(days) == band


@pytest.mark.parametrize(
    ("age", "band"), [(49, "< 50"), (50, "50–64"), (64, "50–64"), (65, "65–79"), (80, "≥ 80")]
)
def test_age_bands(age: int, band: str) -> None:
    assert episodes.age_band(age) == band


def test_the_case_mix_is_read_at_baseline() -> None:
    visits = [make_visit(0, odi_sections=odi(42)), make_visit(30, odi_sections=odi(10))]
    mix = episode_outcome(factories.make_patient(), factories.make_episode(), visits).case_mix
    # Onset 2025-01-06, first visit 2025-02-03: 28 days; born 1960-05-01: 64 years.
    assert (mix.odi_band, mix.duration_band, mix.age_band, mix.startback_risk) == (
        "severe",
        "< 6 weeks",
        "50–64",
        None,
    )


# --- discharge ---------------------------------------------------------------------------------

TODAY = dt.date(2025, 6, 2)
LAST_VISIT = make_visit(60)  # 2025-04-04


def problems(**overrides: Any) -> dict[str, str]:
    arguments: dict[str, Any] = {
        "discharge_date": TODAY,
        "reason": "goals_met",
        "note": "",
        "today": TODAY,
        "open_tiers": (),
        "override_reason": "",
    }
    episode = overrides.pop("episode", factories.make_episode())
    return discharge_problems(episode, [LAST_VISIT], **{**arguments, **overrides})


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({}, None),
        ({"discharge_date": LAST_VISIT.visit_date}, None),  # on the day of the last visit
        ({"discharge_date": LAST_VISIT.visit_date - dt.timedelta(days=1)}, "discharge_date"),
        ({"discharge_date": TODAY + dt.timedelta(days=1)}, "discharge_date"),
        ({"discharge_date": None}, "discharge_date"),
        ({"reason": None}, "discharge_reason"),
        ({"reason": "bored"}, "discharge_reason"),
        ({"reason": "other"}, "discharge_note"),
        ({"reason": "other", "note": "Moved away"}, None),
        ({"note": "x" * 2001}, "discharge_note"),
        ({"open_tiers": ["URGENT"]}, "override_reason"),
        ({"open_tiers": ["EMERGENCY"], "override_reason": "Seen in ED today; spinal team took over"}, None),
        ({"open_tiers": ["ROUTINE_REVIEW"]}, None),
        ({"episode": factories.make_episode(status="discharged")}, "_"),
    ],
)
def test_a_discharge_is_refused_by_field_when_it_breaks_a_rule(
    overrides: dict[str, Any], field: str | None
) -> None:
    found = problems(**overrides)
    assert set(found) == ({field} if field else set()), found


def test_every_discharge_reason_is_offered_once() -> None:
    assert set(DISCHARGE_REASONS) == set(typing.get_args(DischargeReason))


# --- the look-back of the trend rules at a re-referral (§11.1) ----------------------------------

OLD = factories.make_episode(
    id="old",
    status="discharged",
    discharge_date=DAY_ONE + dt.timedelta(days=30),
    discharge_reason="goals_met",
)


def new_episode(**overrides: Any) -> Any:
    return factories.make_episode(id="new", **overrides)


# (days from the old discharge to the new episode's first visit, referral date in days or None,
#  whether the trend rules look back)
LOOKBACK_CASES: list[Any] = [
    pytest.param(10, None, True, id="re_referred_ten_days_after_discharge"),
    pytest.param(84, None, True, id="exactly_twelve_weeks_still_looks_back"),
    pytest.param(85, None, False, id="twelve_weeks_and_a_day_does_not"),
    pytest.param(120, 60, True, id="the_referral_date_counts_when_recorded"),
    pytest.param(40, 90, False, id="a_referral_date_past_twelve_weeks_does_not"),
]


@pytest.mark.parametrize(("days", "referral_days", "looks_back"), LOOKBACK_CASES)
def test_a_re_referral_within_twelve_weeks_looks_back_to_the_last_visit_of_the_previous_episode(
    days: int, referral_days: int | None, looks_back: bool
) -> None:
    discharge_day = 30
    referral = None if referral_days is None else DAY_ONE + dt.timedelta(days=discharge_day + referral_days)
    visits = [
        make_visit(0, pain_nrs=6, episode_id="old"),
        make_visit(28, pain_nrs=3, episode_id="old"),
        make_visit(29, pain_nrs=2, episode_id="old", archived=True),
        make_visit(discharge_day + days, pain_nrs=7, episode_id="new"),
    ]
    found = episodes.lookback_visits([OLD, new_episode(referral_date=referral)], visits)
    assert [v.pain_nrs for v in found] == ([3] if looks_back else [])


def test_there_is_no_look_back_without_a_previous_discharge_or_a_visit_to_date_the_new_episode() -> None:
    visits = [make_visit(0, pain_nrs=6, episode_id="old")]
    assert episodes.lookback_visits([new_episode()], visits) == []
    assert episodes.lookback_visits([OLD, new_episode()], visits) == []  # the new episode has no visit yet
    assert episodes.lookback_visits([], visits) == []
