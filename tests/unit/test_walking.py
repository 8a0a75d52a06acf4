"""Walking-test metrics, same-protocol pairing, claudication pattern and the walking programme."""

from __future__ import annotations

import datetime as dt
import functools
import itertools
from typing import Any

import pytest

from dashboard.models import Visit
from dashboard.outcomes import MEASURES
from dashboard.walking import (
    GOAL_DAYS_PER_WEEK,
    GOAL_MIN_PER_DAY,
    ONSET_METRIC,
    PRIMARY_METRIC,
    change_measure,
    chronological,
    claudication_pattern,
    is_walking_record,
    latest_same_protocol_pair,
    onset_metric,
    primary_metric,
    starting_bout_min,
    symptom_free_walk_min,
    walking_programme,
)
from tests import factories

DAY_ONE = dt.date(2025, 3, 3)
GOAL_WEEKLY_MIN = GOAL_MIN_PER_DAY * GOAL_DAYS_PER_WEEK


# A visit `day` days after DAY_ONE with only the given fields recorded.
make_visit = functools.partial(factories.make_visit, start=DAY_ONE)


def make_spwt(day: int = 0, total_m: float | None = 400.0, **overrides: Any) -> Visit:
    """A self-paced walking test stopped by symptoms, with its total distance in metres."""
    fields: dict[str, Any] = {
        "walk_protocol": "spwt",
        "walk_total_m": total_m,
        "walk_stop_reason": "symptoms",
    }
    return make_visit(day, **(fields | overrides))


def make_treadmill(day: int = 0, total_min: float | None = 8.0, **overrides: Any) -> Visit:
    """A 1.2 mph treadmill test, with its total time in minutes."""
    fields: dict[str, Any] = {"walk_protocol": "treadmill_1_2mph", "walk_total_min": total_min}
    return make_visit(day, **(fields | overrides))


def make_reported(day: int = 0, total_min: float | None = 15.0) -> Visit:
    """A patient's own estimate of how long they can walk, in minutes."""
    return make_visit(day, walk_protocol="reported", walk_total_min=total_min)


# --- metrics -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("visit", "expected"),
    [
        (make_spwt(total_m=420.0, walk_total_min=12.0), 420.0),
        (make_treadmill(total_min=9.5, walk_total_m=300.0), 9.5),
        (make_visit(walk_protocol="6mwt", walk_total_m=310.0, walk_total_min=6.0), 310.0),
        (make_reported(total_min=20.0), 20.0),
        # Revised §7.8: an SPWT that was timed, not measured, is compared on its time.
        (make_spwt(total_m=None, walk_total_min=12.0), 12.0),
        (make_visit(walk_protocol="6mwt", walk_total_min=6.0), None),
        (make_visit(), None),
    ],
)
def test_primary_metric_follows_the_protocol(visit: Visit, expected: float | None) -> None:
    assert primary_metric(visit) == expected
    assert is_walking_record(visit) == (expected is not None)


def test_every_protocol_has_a_primary_and_onset_metric_in_the_same_unit() -> None:
    assert PRIMARY_METRIC.keys() == ONSET_METRIC.keys()
    for protocol, total in PRIMARY_METRIC.items():
        assert ONSET_METRIC[protocol].rsplit("_", 1)[1] == total.rsplit("_", 1)[1]
        assert total in Visit.model_fields and ONSET_METRIC[protocol] in Visit.model_fields


def test_onset_metric_reads_time_or_distance_to_first_symptom() -> None:
    assert onset_metric(make_spwt(walk_onset_m=150.0)) == 150.0
    assert onset_metric(make_treadmill(walk_onset_min=3.0)) == 3.0
    assert onset_metric(make_visit()) is None


@pytest.mark.parametrize(
    ("protocol", "measure"),
    [
        ("spwt", "walk_spwt_m"),
        ("treadmill_1_2mph", "walk_treadmill_min"),
        ("6mwt", "walk_6mwt_m"),
        ("reported", "walk_reported_min"),
    ],
)
def test_change_measure_names_a_judge_change_measure(protocol: str, measure: str) -> None:
    assert change_measure(protocol) == measure
    assert measure in MEASURES


def test_change_measure_rejects_an_unknown_protocol() -> None:
    with pytest.raises(ValueError, match="walk_protocol"):
        change_measure("two_stage_treadmill")


# --- ordering and pairing ----------------------------------------------------------------------


def test_chronological_orders_by_date_then_recorded_time_and_drops_archived() -> None:
    morning = make_visit(1, recorded_at=dt.datetime(2025, 3, 4, 9, tzinfo=dt.UTC), notes="morning")
    evening = make_visit(1, recorded_at=dt.datetime(2025, 3, 4, 17, tzinfo=dt.UTC), notes="evening")
    archived = make_visit(2, archived=True)
    first = make_visit(0)
    assert chronological([evening, archived, morning, first]) == [first, morning, evening]


def test_chronological_reads_naive_utc_and_other_zones_as_one_clock_and_an_unsaved_visit_last() -> None:
    oslo = dt.timezone(dt.timedelta(hours=1))
    at = functools.partial(dt.datetime, 2025, 3, 4)
    ten_utc_in_oslo = make_visit(1, recorded_at=at(11, tzinfo=oslo), notes="10:00 UTC")
    nine_naive = make_visit(1, recorded_at=at(9), notes="09:00 UTC")
    eleven_utc = make_visit(1, recorded_at=at(11, tzinfo=dt.UTC), notes="11:00 UTC")
    unsaved = make_visit(1, recorded_at=None, notes="being previewed")
    next_day = make_visit(2, recorded_at=at(8, tzinfo=dt.UTC))
    visits = [next_day, unsaved, eleven_utc, ten_utc_in_oslo, nine_naive]
    assert chronological(visits) == [nine_naive, ten_utc_in_oslo, eleven_utc, unsaved, next_day]


def test_pair_is_the_latest_record_and_the_latest_earlier_one_of_the_same_protocol() -> None:
    older = make_spwt(0, 300.0)
    previous = make_spwt(7, 500.0)
    treadmill = make_treadmill(10)
    latest = make_spwt(14, 200.0)
    assert latest_same_protocol_pair([latest, treadmill, older, previous]) == (previous, latest)


@pytest.mark.parametrize(
    ("description", "visits"),
    [
        ("no visits", []),
        ("latest visit has no walking record", [make_spwt(0), make_visit(7)]),
        ("latest walking metric missing", [make_spwt(0), make_spwt(7, total_m=None)]),
        ("no earlier record of that protocol", [make_treadmill(0), make_spwt(7)]),
        ("latest stopped for another reason", [make_spwt(0), make_spwt(7, walk_stop_reason="other")]),
        (
            "only earlier record stopped for another reason",
            [make_spwt(0, walk_stop_reason="other"), make_spwt(7)],
        ),
        ("only earlier record archived", [make_spwt(0, archived=True), make_spwt(7)]),
    ],
)
def test_no_pair_when(description: str, visits: list[Visit]) -> None:
    assert latest_same_protocol_pair(visits) is None, description


def test_pair_skips_an_earlier_test_stopped_for_another_reason() -> None:
    counted = make_spwt(0, 600.0)
    unrelated = make_spwt(7, 100.0, walk_stop_reason="other")
    latest = make_spwt(14, 250.0)
    assert latest_same_protocol_pair([counted, unrelated, latest]) == (counted, latest)


def test_pair_ignores_an_archived_latest_visit() -> None:
    earlier = make_spwt(0, 600.0)
    later = make_spwt(7, 500.0)
    assert latest_same_protocol_pair([earlier, later, make_visit(14, archived=True)]) == (earlier, later)


# --- claudication pattern (§3.4) ---------------------------------------------------------------


def walking_leg_pain(
    relief: str | None = None,
    location: str | None = None,
    pulses: str = "not_assessed",
    cart: bool | None = None,
    standing: bool | None = None,
    leg_pain: bool | None = True,
) -> Visit:
    """A visit recording walking leg pain and the findings that tell its pattern apart."""
    return make_visit(
        leg_pain_on_walking=leg_pain,
        relief=relief,
        symptom_location=location,
        pedal_pulses=pulses,
        shopping_cart_sign=cart,
        triggered_by_standing_alone=standing,
    )


SIT, STAND = "sitting_or_flexion", "standing_still"
REDUCED = "reduced_or_absent"


@pytest.mark.parametrize(
    ("relief", "location", "pulses", "cart", "standing", "pattern"),
    [
        # vascular: relieved by standing still, with calf symptoms or reduced pulses
        (STAND, "calf", "not_assessed", None, None, "vascular"),
        (STAND, "buttock_thigh", REDUCED, None, None, "vascular"),
        (STAND, "calf", "normal", True, True, "vascular"),
        (STAND, None, "not_assessed", None, None, "indeterminate"),
        (STAND, "mixed", "normal", None, None, "indeterminate"),
        # neurogenic: relieved by sitting or bending, plus trolley sign, standing trigger or thigh
        (SIT, None, "not_assessed", True, None, "neurogenic"),
        (SIT, None, "normal", None, True, "neurogenic"),
        (SIT, "buttock_thigh", "not_assessed", None, None, "neurogenic"),
        (SIT, "mixed", "not_assessed", None, None, "indeterminate"),
        (SIT, "calf", "normal", False, False, "indeterminate"),
        (SIT, None, "not_assessed", None, None, "indeterminate"),
        # reduced pulses rule out the neurogenic reading, and sitting relief is not vascular
        (SIT, "buttock_thigh", REDUCED, True, True, "indeterminate"),
        # no relief recorded, or none: neither pattern
        (None, "calf", REDUCED, None, None, "indeterminate"),
        ("none", "buttock_thigh", "normal", True, True, "indeterminate"),
        (None, None, "not_assessed", None, None, "indeterminate"),
    ],
)
def test_claudication_pattern_truth_table(
    relief: str | None,
    location: str | None,
    pulses: str,
    cart: bool | None,
    standing: bool | None,
    pattern: str,
) -> None:
    assert claudication_pattern(walking_leg_pain(relief, location, pulses, cart, standing)) == pattern


@pytest.mark.parametrize("leg_pain", [False, None])
def test_without_walking_leg_pain_the_pattern_is_none_whatever_else_is_recorded(
    leg_pain: bool | None,
) -> None:
    visit = walking_leg_pain(STAND, "calf", REDUCED, leg_pain=leg_pain)
    assert claudication_pattern(visit) == "none"


ALL_FINDINGS = list(
    itertools.product(
        [SIT, STAND, "none", None],
        ["buttock_thigh", "calf", "mixed", "none", None],
        ["normal", REDUCED, "not_assessed"],
        [True, False, None],
        [True, False, None],
    )
)


@pytest.mark.parametrize(("relief", "location", "pulses", "cart", "standing"), ALL_FINDINGS)
def test_claudication_pattern_invariants_hold_for_every_combination_of_findings(
    relief: str | None, location: str | None, pulses: str, cart: bool | None, standing: bool | None
) -> None:
    pattern = claudication_pattern(walking_leg_pain(relief, location, pulses, cart, standing))
    assert pattern in {"vascular", "neurogenic", "indeterminate"}
    if pattern == "vascular":
        assert relief == STAND
    if pattern == "neurogenic":
        assert relief == SIT and pulses != REDUCED
    if relief not in (SIT, STAND):
        assert pattern == "indeterminate"
    # Unanswered yes/no findings read exactly as "no".
    as_no = walking_leg_pain(relief, location, pulses, bool(cart), bool(standing))
    assert claudication_pattern(as_no) == pattern


# --- starting bout -----------------------------------------------------------------------------


def test_starting_bout_is_80_percent_of_the_latest_time_to_first_symptom() -> None:
    visits = [
        make_spwt(0, walk_onset_min=5.0, walk_total_min=10.0),
        make_treadmill(7, walk_onset_min=4.0, total_min=6.0),
    ]
    assert symptom_free_walk_min(visits) == 4.0
    assert starting_bout_min(visits) == pytest.approx(0.8 * 4.0)


def test_starting_bout_prefers_a_test_over_a_later_reported_estimate() -> None:
    visits = [make_spwt(0, walk_onset_min=10.0, walk_total_min=12.0), make_reported(7, 30.0)]
    assert symptom_free_walk_min(visits) == 10.0


def test_starting_bout_falls_back_to_reported_minutes_when_no_test_exists() -> None:
    visits = [make_reported(0, 30.0), make_reported(7, 20.0), make_visit(10)]
    assert symptom_free_walk_min(visits) == 20.0
    assert starting_bout_min(visits) == pytest.approx(16.0)


def test_a_test_reaching_its_time_cap_without_symptoms_counts_its_total_time() -> None:
    visit = make_treadmill(0, total_min=15.0, walk_stop_reason="time_cap")
    assert symptom_free_walk_min([visit]) == 15.0


def test_starting_bout_is_never_shorter_than_one_minute() -> None:
    assert starting_bout_min([make_spwt(0, walk_onset_min=0.5, walk_total_min=2.0)]) == 1.0


def test_no_starting_bout_without_a_walking_time() -> None:
    assert starting_bout_min([make_visit(0), make_spwt(7, walk_onset_m=100.0)]) is None


# --- walking programme (§8.2) ------------------------------------------------------------------


# The programme's shape from many starting tolerances: tests/unit/test_plan_walking.py.


def test_walking_programme_starts_at_the_given_bout_and_grows_about_10_percent_a_week() -> None:
    weeks = walking_programme(4.0, weeks=3)
    assert weeks[0].bout_min == pytest.approx(4.0)
    assert weeks[1].weekly_total_min == pytest.approx(weeks[0].weekly_total_min * 1.10)
    assert weeks[2].weekly_total_min == pytest.approx(weeks[1].weekly_total_min * 1.10)


def test_walking_programme_reaches_30_minutes_on_5_days_and_stays_there() -> None:
    last = walking_programme(2.0, weeks=52)[-1]
    assert last.at_goal
    assert last.bout_min * last.bouts_per_day == pytest.approx(GOAL_MIN_PER_DAY)
    assert last.days_per_week == GOAL_DAYS_PER_WEEK


def test_walking_programme_uses_two_walks_a_day_when_three_would_pass_the_goal() -> None:
    # 3 x 12 min on 5 days would be 180 min, past the 150-min goal; 2 x 12 min stays under it.
    first = walking_programme(12.0, weeks=1)[0]
    assert (first.bouts_per_day, first.bout_min, first.at_goal) == (2, 12.0, False)


def test_walking_programme_honours_a_clinicians_edits() -> None:
    weeks = walking_programme(3.0, weeks=2, bouts_per_day=2, weekly_increase_fraction=0.2)
    assert weeks[0].bouts_per_day == 2
    assert weeks[1].weekly_total_min == pytest.approx(weeks[0].weekly_total_min * 1.2)


@pytest.mark.parametrize(
    ("start_bout_min", "kwargs"),
    [(0.0, {}), (-1.0, {}), (float("nan"), {}), (3.0, {"weeks": 0}), (3.0, {"days_per_week": 8})],
)
def test_walking_programme_rejects_impossible_doses(start_bout_min: float, kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        walking_programme(start_bout_min, **kwargs)
