"""Clinic outcomes (clinical-reference §11.3): denominators, period bounds, Wilson intervals, funnel
statuses and red-flag timeliness, as tables of cases."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pytest

from dashboard.clinic_outcomes import (
    FUNNEL_STATUSES,
    clinic_outcomes,
    flag_timeliness,
    funnel_limits,
    funnel_status,
    wilson_interval,
)
from dashboard.episodes import OUTCOME_MEASURES
from dashboard.models import Escalation
from tests import factories

START, END = dt.date(2026, 1, 1), dt.date(2026, 3, 31)
IMPROVED = (7.0, 3.0, "important_improvement")
SAME = (6.0, 6.0, "no_important_change")
BASELINE_ONLY = (6.0, None, None)
_ids = itertools.count(1)


def row(clinician: str | None = "c1", discharged: dt.date | None = END, **measures: Any) -> tuple[Any, Any]:
    """A discharged (or, with discharged=None, open) episode of `clinician` and its outcome."""
    n = next(_ids)
    status = {"status": "discharged", "discharge_date": discharged, "discharge_reason": "goals_met"}
    episode = factories.make_episode(
        id=f"episode-{n}", patient_id=f"patient-{n}", clinician_id=clinician, **(status if discharged else {})
    )
    return episode, factories.make_episode_outcome(**measures)


# rows -> pain_nrs as (n_discharged, n_baseline, n_complete, n_improved, pct_improved, ci95), in_progress
OUTCOME_CASES: list[Any] = [
    pytest.param(
        [row(pain_nrs=IMPROVED) for _ in range(8)] + [row(pain_nrs=SAME) for _ in range(2)],
        ((10, 10, 10, 8, 80.0, (49.0, 94.3)), 0),
        id="eight_of_ten_improved_with_a_wilson_interval",
    ),
    pytest.param(
        [
            row(discharged=START, pain_nrs=IMPROVED),
            row(discharged=END, pain_nrs=SAME),
            row(discharged=START - dt.timedelta(days=1), pain_nrs=IMPROVED),
            row(discharged=END + dt.timedelta(days=1), pain_nrs=IMPROVED),
        ],
        ((2, 2, 2, 1, 50.0, (9.5, 90.5)), 0),
        id="both_bounds_are_inclusive_and_nothing_outside_counts",
    ),
    pytest.param(
        [row(pain_nrs=IMPROVED), row(discharged=None, pain_nrs=IMPROVED), row(discharged=None)],
        ((1, 1, 1, 1, 100.0, (20.7, 100.0)), 2),
        id="open_episodes_are_in_progress_and_never_in_a_denominator",
    ),
    pytest.param(
        [
            row(pain_nrs=IMPROVED),
            row(pain_nrs=SAME),
            row(pain_nrs=IMPROVED),
            row(pain_nrs=BASELINE_ONLY),
            row(),
        ],
        ((5, 4, 3, 2, 66.7, (20.8, 93.9)), 0),
        id="a_baseline_without_a_final_counts_for_completeness_only",
    ),
    pytest.param([], ((0, 0, 0, 0, None, None), 0), id="an_empty_period_divides_by_nothing"),
    pytest.param(
        [row(pain_nrs=BASELINE_ONLY) for _ in range(3)],
        ((3, 3, 0, 0, None, None), 0),
        id="every_patient_incomplete_gives_no_proportion",
    ),
]


@pytest.mark.parametrize(("rows", "expected"), OUTCOME_CASES)
def test_clinic_outcomes_count_the_episodes_discharged_in_the_period(rows: list[Any], expected: Any) -> None:
    (n_discharged, n_baseline, n_complete, n_improved, pct, ci), in_progress = expected
    result = clinic_outcomes(rows, period_start=START, period_end=END)
    pain = result.by_measure["pain_nrs"]
    assert (pain.n_discharged, pain.n_baseline, pain.n_complete, pain.n_improved) == (
        n_discharged,
        n_baseline,
        n_complete,
        n_improved,
    )
    assert (None if pain.pct_improved is None else round(pain.pct_improved, 1)) == pct
    assert (None if pain.ci95 is None else tuple(round(x, 1) for x in pain.ci95)) == ci
    assert result.in_progress == in_progress and result.n_discharged == n_discharged
    assert set(result.by_measure) == set(OUTCOME_MEASURES)  # every measure, with data or not
    assert all(m.n_discharged == n_discharged for m in result.by_measure.values())
    if pain.n_complete == 0:
        assert result.funnel["pain_nrs"] == []  # no chart without data


def test_completeness_is_complete_over_baseline() -> None:
    rows = [row(pain_nrs=IMPROVED), row(pain_nrs=SAME), row(pain_nrs=IMPROVED), row(pain_nrs=BASELINE_ONLY)]
    pain = clinic_outcomes(rows, period_start=START, period_end=END).by_measure["pain_nrs"]
    assert pain.completeness_pct == 75.0
    assert (
        clinic_outcomes([], period_start=START, period_end=END).by_measure["pain_nrs"].completeness_pct
        is None
    )


def test_a_period_ending_before_it_starts_is_refused() -> None:
    with pytest.raises(ValueError, match="ends before it starts"):
        clinic_outcomes([], period_start=END, period_end=START)


# One clinician with 200 complete episodes, 120 improved (60 %), and clinician "x" with 20 complete
# episodes of which `improved` improved: the pooled proportion moves with x (§11.3).
FUNNEL_CASES: list[Any] = [
    pytest.param(3, "below", id="15_percent_is_below_the_99_8_limit"),
    pytest.param(6, "alert_low", id="30_percent_is_between_the_low_limits"),
    pytest.param(12, "within", id="60_percent_is_within"),
    pytest.param(18, "alert_high", id="90_percent_is_between_the_high_limits"),
    pytest.param(20, "above", id="100_percent_is_above_the_99_8_limit"),
]


@pytest.mark.parametrize(("improved", "status"), FUNNEL_CASES)
def test_each_clinician_gets_a_funnel_status(improved: int, status: str) -> None:
    rows = [row("big", pain_nrs=IMPROVED if n < 120 else SAME) for n in range(200)]
    rows += [row("x", pain_nrs=IMPROVED if n < improved else SAME) for n in range(20)]
    result = clinic_outcomes(rows, period_start=START, period_end=END)
    points = {p.clinician_id: p for p in result.funnel["pain_nrs"]}
    assert (points["x"].n, points["x"].pct, points["x"].status) == (20, 5.0 * improved, status)
    assert points["big"].status == "within"


def test_every_funnel_status_has_a_case() -> None:
    assert {case.values[1] for case in FUNNEL_CASES} == set(FUNNEL_STATUSES)


def test_a_point_exactly_on_a_limit_is_inside_it() -> None:
    limits = funnel_limits(60.0, 20)
    assert funnel_status(limits.high95, limits, 60.0) == "within"
    assert funnel_status(limits.low95, limits, 60.0) == "within"
    assert funnel_status(limits.low998, limits, 60.0) == "alert_low"
    assert funnel_status(limits.high998, limits, 60.0) == "alert_high"


def test_with_a_pooled_proportion_of_zero_or_one_every_point_is_within() -> None:
    everyone = [row("a", pain_nrs=IMPROVED) for _ in range(30)] + [row("b", pain_nrs=IMPROVED)]
    nobody = [row("a", pain_nrs=SAME) for _ in range(30)] + [row("b", pain_nrs=SAME)]
    for rows in (everyone, nobody):
        funnel = clinic_outcomes(rows, period_start=START, period_end=END).funnel["pain_nrs"]
        assert {p.status for p in funnel} == {"within"}


def test_a_clinician_without_a_complete_episode_is_not_plotted() -> None:
    rows = [row("a", pain_nrs=IMPROVED), row("b", pain_nrs=BASELINE_ONLY), row("c")]
    funnel = clinic_outcomes(rows, period_start=START, period_end=END).funnel["pain_nrs"]
    assert [p.clinician_id for p in funnel] == ["a"]


def test_limits_are_clipped_to_0_and_100_percent() -> None:
    limits = funnel_limits(95.0, 3)
    assert limits.high998 == 100.0 and limits.high95 == 100.0 and 0.0 <= limits.low998 < limits.low95


def test_the_wilson_interval_of_nothing_is_none_and_of_all_reaches_100() -> None:
    assert wilson_interval(0, 0) is None
    low, high = wilson_interval(5, 5) or (0, 0)
    assert (round(low, 1), high) == (56.6, 100.0)


def test_case_mix_and_discharge_reasons_are_counted_over_the_discharged_episodes() -> None:
    mix = {"startback_risk": "high", "age_band": "65–79"}
    rows = [
        (
            factories.make_episode(
                id="e1", status="discharged", discharge_date=END, discharge_reason="referred_on"
            ),
            factories.make_episode_outcome(case_mix=mix),
        ),
        (
            factories.make_episode(
                id="e2", status="discharged", discharge_date=END, discharge_reason="goals_met"
            ),
            factories.make_episode_outcome(),
        ),
        (factories.make_episode(id="e3"), factories.make_episode_outcome(case_mix=mix)),  # open: not counted
    ]
    result = clinic_outcomes(rows, period_start=START, period_end=END)
    assert result.case_mix["startback_risk"] == {"high": 1, "not recorded": 1}
    assert result.case_mix["age_band"] == {"65–79": 1, "not recorded": 1}
    assert result.discharge_reasons == {"goals_met": 1, "referred_on": 1}


# --- red-flag timeliness ---------------------------------------------------------------------------

OPENED = dt.datetime(2026, 2, 2, 9, 0, tzinfo=dt.UTC)
NOW = dt.datetime(2026, 4, 30, 12, 0, tzinfo=dt.UTC)


def flag(
    tier: str,
    rule_id: str = "RF_X",
    *,
    closed_after: dt.timedelta | None = None,
    event: str | None = None,
    **over: Any,
) -> Escalation:
    """An escalation opened at OPENED (or `opened_at`), closed `closed_after` later or still open."""
    n = next(_ids)
    opened = over.pop("opened_at", OPENED)
    closed = {} if closed_after is None else {"status": "closed", "closed_at": opened + closed_after}
    return Escalation(
        id=f"esc-{n}",
        patient_id=over.pop("patient_id", f"patient-{n}"),
        rule_id=rule_id,
        tier=tier,
        opened_at=opened,
        last_screening_id=event or f"screening-{n}",
        **closed,
        **over,
    )


HOURS = dt.timedelta(hours=1)
DAYS = dt.timedelta(days=1)
# escalations -> {tier: (events, within, late, pending)}
TIMELINESS_CASES: list[Any] = [
    pytest.param(
        [flag("EMERGENCY", closed_after=3 * HOURS)], {"EMERGENCY": (1, 1, 0, 0)}, id="emergency_same_day"
    ),
    pytest.param(
        [flag("EMERGENCY", closed_after=DAYS)], {"EMERGENCY": (1, 0, 1, 0)}, id="emergency_next_day_is_late"
    ),
    pytest.param([flag("URGENT", closed_after=10 * DAYS)], {"URGENT": (1, 1, 0, 0)}, id="urgent_in_ten_days"),
    pytest.param(
        [flag("URGENT", closed_after=15 * DAYS)], {"URGENT": (1, 0, 1, 0)}, id="urgent_in_fifteen_days"
    ),
    pytest.param(
        [flag("URGENT", "RF_MSCC", closed_after=30 * HOURS)],
        {"URGENT": (1, 0, 1, 0)},
        id="mscc_needs_24_hours",
    ),
    pytest.param(
        [flag("URGENT", "RF_MSCC", closed_after=20 * HOURS)],
        {"URGENT": (1, 1, 0, 0)},
        id="mscc_within_24_hours",
    ),
    pytest.param(
        [flag("ROUTINE_REVIEW", opened_at=NOW - 50 * DAYS)],
        {"ROUTINE_REVIEW": (1, 0, 1, 0)},
        id="routine_still_open_past_six_weeks_is_late",
    ),
    pytest.param(
        [flag("ROUTINE_REVIEW", opened_at=dt.datetime(2026, 3, 30, tzinfo=dt.UTC))],
        {"ROUTINE_REVIEW": (1, 0, 0, 1)},
        id="routine_open_within_six_weeks_is_pending",
    ),
    pytest.param(
        [
            flag("URGENT", closed_after=30 * DAYS, event="s1", patient_id="p1"),
            flag("ROUTINE_REVIEW", closed_after=30 * DAYS, event="s1", patient_id="p1"),
        ],
        {"URGENT": (1, 0, 1, 0), "ROUTINE_REVIEW": (0, 0, 0, 0)},
        id="one_event_counts_once_at_its_most_urgent_target",
    ),
    pytest.param(
        [flag("EMERGENCY", opened_at=dt.datetime(2025, 12, 31, 23, tzinfo=dt.UTC), closed_after=HOURS)],
        {"EMERGENCY": (0, 0, 0, 0)},
        id="opened_before_the_period_is_left_out",
    ),
]


@pytest.mark.parametrize(("escalations", "expected"), TIMELINESS_CASES)
def test_red_flag_timeliness_per_tier(escalations: list[Escalation], expected: dict[str, Any]) -> None:
    result = flag_timeliness(escalations, period_start=START, period_end=END, today=NOW)
    assert list(result) == ["EMERGENCY", "URGENT", "ROUTINE_REVIEW"]  # most urgent first
    for tier, (events, within, late, pending) in expected.items():
        got = result[tier]
        assert (got.n_events, got.n_within, got.n_late, got.n_pending) == (events, within, late, pending), (
            tier
        )


def test_timeliness_reports_the_share_within_target_of_those_decided_and_the_median_time() -> None:
    escalations = [
        flag("URGENT", closed_after=2 * DAYS),
        flag("URGENT", closed_after=4 * DAYS),
        flag("URGENT", closed_after=20 * DAYS),
        flag("URGENT", opened_at=NOW - DAYS),  # pending: not decided yet
    ]
    urgent = flag_timeliness(escalations, period_start=START, period_end=NOW.date(), today=NOW)["URGENT"]
    assert urgent.pct_within == pytest.approx(200 / 3)
    assert urgent.median_hours_to_close == 96.0
    empty = flag_timeliness([], period_start=START, period_end=END, today=NOW)["URGENT"]
    assert (empty.n_events, empty.pct_within, empty.median_hours_to_close) == (0, None, None)


def test_case_mix_tables_list_the_bands_in_their_natural_order() -> None:
    from dashboard.outcome_views import case_mix_frames

    ages = ["≥ 80", "< 50", "65–79", None, "50–64"]
    rows = [
        (
            factories.make_episode(
                id=f"e{n}", status="discharged", discharge_date=END, discharge_reason="goals_met"
            ),
            factories.make_episode_outcome(case_mix={"age_band": age}),
        )
        for n, age in enumerate(ages)
    ]
    frames = case_mix_frames(clinic_outcomes(rows, period_start=START, period_end=END))
    table = frames["Age band at the first visit"]
    assert table["Group"].to_list() == ["< 50", "50–64", "65–79", "≥ 80", "not recorded"]
    assert table["Share"].to_list() == ["20%"] * 5


def test_the_funnel_figure_names_every_clinician_and_draws_both_limits() -> None:
    from dashboard.outcome_charts import funnel_figure, trend_figure
    from dashboard.outcome_services import MonthPoint, OutcomesReport

    rows = [row("big", pain_nrs=IMPROVED if n < 120 else SAME) for n in range(200)]
    rows += [row("x", pain_nrs=IMPROVED if n < 3 else SAME) for n in range(20)]
    outcomes = clinic_outcomes(rows, period_start=START, period_end=END)
    report = OutcomesReport(outcomes, {}, {}, {"big": "Dr <b>Big</b>", "x": "Dr X"}, [])
    fig = funnel_figure(report, "pain_nrs")
    assert fig is not None
    names = [trace.name for trace in fig.data]
    assert "95% limits" in names and "99.8% limits" in names
    points = {trace.name: list(trace.text) for trace in fig.data if trace.mode == "markers+text"}
    assert points == {
        "Within the expected range": ["Dr &lt;b&gt;Big&lt;/b&gt;"],
        "Below the 99.8% limit": ["Dr X"],
    }
    assert funnel_figure(report, "rmdq_total") is None  # nobody complete: no chart
    assert trend_figure([MonthPoint(START, 0, None, None)], "pain_nrs") is None
