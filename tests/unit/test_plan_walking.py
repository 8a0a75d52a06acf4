"""The printed walking programme from many starting tolerances (clinical-reference §8.2, revised):
it starts from what the patient can already do and never drops below it, builds the daily total
toward 30 minutes on 5 days, then keeps the total and makes the walks fewer and longer.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from dashboard.models import Visit
from dashboard.plan import Plan, ProgrammeWeek, build_plan
from dashboard.walking import (
    DEFAULT_PROGRAMME_WEEKS,
    GOAL_DAYS_PER_WEEK,
    GOAL_MIN_PER_DAY,
    walking_programme,
)
from data.library import load_library
from tests.factories import make_patient, make_visit

LIBRARY = load_library()


def spwt(onset_min: float) -> Visit:
    return make_visit(
        walk_protocol="spwt",
        walk_onset_min=onset_min,
        walk_total_min=onset_min + 1,
        walk_stop_reason="symptoms",
    )


def treadmill(onset_min: float) -> Visit:
    return make_visit(
        walk_protocol="treadmill_1_2mph", walk_onset_min=onset_min, walk_total_min=min(15.0, onset_min + 2)
    )


def reported(minutes: float) -> Visit:
    return make_visit(walk_protocol="reported", walk_total_min=minutes)


def plan_for(*visits: Visit, **options: Any) -> Plan:
    return build_plan(make_patient(), list(visits), LIBRARY, **options)


def daily(week: ProgrammeWeek) -> float:
    return week.bout_min * week.bouts_per_day


# (description, visits, the tolerated minutes the start comes from)
TOLERANCES = [
    ("SPWT first symptom at 1.2 min", [spwt(1.2)], 1.2),
    ("SPWT first symptom at 3 min", [spwt(3.0)], 3.0),
    ("SPWT first symptom at 6 min", [spwt(6.0)], 6.0),
    ("SPWT first symptom at 8 min", [spwt(8.0)], 8.0),
    ("SPWT first symptom at 12.5 min", [spwt(12.5)], 12.5),
    ("SPWT first symptom at 25 min", [spwt(25.0)], 25.0),
    ("treadmill first symptom at 4 min", [treadmill(4.0)], 4.0),
    (
        "treadmill to its 15 min cap, no symptom",
        [make_visit(walk_protocol="treadmill_1_2mph", walk_total_min=15.0, walk_stop_reason="time_cap")],
        15.0,
    ),
    ("reported 10 min", [reported(10.0)], 10.0),
    ("reported 45 min", [reported(45.0)], 45.0),
    (
        "distance-only SPWT with a reported time",
        [make_visit(walk_protocol="spwt", walk_onset_m=150.0, walk_total_m=300.0), reported(20.0)],
        20.0,
    ),
]


@pytest.mark.parametrize(("description", "visits", "tolerated"), TOLERANCES, ids=[t[0] for t in TOLERANCES])
class TestFromEveryStartingTolerance:
    def test_week_one_starts_from_what_the_patient_already_does(
        self, description: str, visits: list[Visit], tolerated: float
    ) -> None:
        plan = plan_for(*visits)
        first = plan.walking_programme[0]
        start = max(1.0, 0.8 * tolerated)
        # Whole minutes: within half a minute of 80% of the tolerated time, and never a walk shorter
        # than that because of the daily goal (the old table cut a 20 min walk to 2 x 15 min).
        assert abs(first.bout_min - start) <= 0.5
        assert first.bout_min <= tolerated or tolerated < 1.25

    def test_no_week_walks_less_a_day_or_in_shorter_walks_than_the_week_before(
        self, description: str, visits: list[Visit], tolerated: float
    ) -> None:
        weeks = plan_for(*visits).walking_programme
        for before, after in itertools.pairwise(weeks):
            assert daily(after) >= daily(before)
            assert after.bout_min >= before.bout_min
            assert after.days_per_week == GOAL_DAYS_PER_WEEK

    def test_the_table_ends_at_one_30_minute_walk_on_5_days_or_after_12_weeks(
        self, description: str, visits: list[Visit], tolerated: float
    ) -> None:
        weeks = plan_for(*visits).walking_programme
        assert [week.week for week in weeks] == list(range(1, len(weeks) + 1))
        assert len(weeks) <= DEFAULT_PROGRAMME_WEEKS
        last = weeks[-1]
        reached = last.bouts_per_day == 1 and last.bout_min >= GOAL_MIN_PER_DAY
        assert reached or len(weeks) == DEFAULT_PROGRAMME_WEEKS
        # Only the last week is one walk at the goal: the table stops once it is reached.
        assert not any(w.bouts_per_day == 1 and w.bout_min >= GOAL_MIN_PER_DAY for w in weeks[:-1])

    def test_no_week_is_repeated_for_more_than_4_weeks(
        self, description: str, visits: list[Visit], tolerated: float
    ) -> None:
        weeks = plan_for(*visits).walking_programme
        runs = [
            len(list(run)) for _, run in itertools.groupby(weeks, key=lambda w: (w.bout_min, w.bouts_per_day))
        ]
        assert max(runs) <= 4

    def test_once_the_daily_goal_is_reached_the_total_is_kept_and_the_walks_get_fewer_and_longer(
        self, description: str, visits: list[Visit], tolerated: float
    ) -> None:
        weeks = plan_for(*visits).walking_programme
        at_goal = [week for week in weeks if daily(week) >= GOAL_MIN_PER_DAY]
        for before, after in itertools.pairwise(at_goal):
            assert daily(after) == daily(before)
            assert after.bouts_per_day <= before.bouts_per_day


def test_a_six_minute_walker_does_not_sit_at_three_walks_of_ten_minutes_for_weeks() -> None:
    weeks = plan_for(spwt(6.0)).walking_programme
    three_by_ten = [week.week for week in weeks if (week.bout_min, week.bouts_per_day) == (10.0, 3)]
    assert 1 <= len(three_by_ten) <= 2
    assert any(week.bouts_per_day < 3 and week.bout_min > 10 for week in weeks)


def test_a_patient_who_walks_25_minutes_is_never_given_shorter_walks() -> None:
    weeks = plan_for(spwt(25.0)).walking_programme
    assert [(w.bout_min, w.bouts_per_day) for w in weeks] == [
        (20.0, 1), (22.0, 1), (24.0, 1), (27.0, 1), (29.0, 1), (30.0, 1)
    ]  # fmt: skip


def test_a_patient_already_past_the_goal_gets_one_week_at_their_own_level_and_is_told_to_keep_going() -> None:
    plan = plan_for(reported(45.0))
    assert [(w.bout_min, w.bouts_per_day) for w in plan.walking_programme] == [(36.0, 1)]
    assert "walking_goal_met" in [item.id for item in plan.section("walking")]


@pytest.mark.parametrize(
    "visits",
    [
        [make_visit()],
        [make_visit(walk_protocol="spwt", walk_onset_m=150.0, walk_total_m=300.0)],
        [make_visit(walk_protocol="6mwt", walk_total_m=320.0, walk_total_min=6.0)],
    ],
    ids=["nothing recorded", "distance only", "6MWT distance only"],
)
def test_without_a_walking_time_the_clinician_is_asked_for_a_start(visits: list[Visit]) -> None:
    plan = plan_for(*visits)
    assert plan.walking_programme == [] and plan.needs_start_bout
    with_start = plan_for(*visits, start_bout_min=4.0)
    assert with_start.walking_programme[0].bout_min == 4.0


def test_a_clinicians_three_long_walks_are_merged_into_fewer_longer_ones_keeping_the_total() -> None:
    weeks = walking_programme(12.0, bouts_per_day=3)
    assert [(w.bout_min, w.bouts_per_day) for w in weeks] == [
        (12.0, 3),
        (12.0, 3),
        (18.0, 2),
        (18.0, 2),
        (36.0, 1),
    ]


@pytest.mark.parametrize("bouts", [0, 5])
def test_more_than_4_walks_a_day_or_none_is_refused(bouts: int) -> None:
    with pytest.raises(ValueError, match="bouts_per_day"):
        walking_programme(3.0, bouts_per_day=bouts)
