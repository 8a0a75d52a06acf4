"""Progress timeline and caseload: visit table, baselines, change judgements against the MCID table."""

from __future__ import annotations

import datetime as dt
import functools
import typing
from typing import Any

import pandas as pd
import pytest

from dashboard.outcomes import ChangeLabel
from dashboard.trends import (
    FRAME_COLUMNS,
    JUDGEMENT_TEXT,
    ONE_VALUE_TEXT,
    WALKING_TREND_TEXT,
    ChangeRow,
    baseline_latest,
    caseload_row,
    caseload_table,
    change_table,
    filter_caseload,
    mcid_band,
    protocol_note,
    visit_frame,
)
from tests import factories

DAY_ONE = dt.date(2025, 3, 3)
TODAY = dt.date(2025, 6, 2)


# A visit `day` days after DAY_ONE with only the given fields recorded.
make_visit = functools.partial(factories.make_visit, start=DAY_ONE)


def odi_sections(percent: int) -> list[int | None]:
    """Ten ODI section scores whose total gives `percent` (an even number 0-100)."""
    total = percent // 2
    return [min(5, max(0, total - 5 * i)) for i in range(10)]


def psfs(**ratings: int | None) -> list[dict[str, Any]]:
    """PSFS entries from activity=rating keywords (underscores become spaces)."""
    return [{"activity": name.replace("_", " "), "score": score} for name, score in ratings.items()]


def row_for(rows: list[ChangeRow], measure: str) -> ChangeRow:
    """The change-table row of one measure."""
    return next(row for row in rows if row.measure == measure)


def pain_pair(first: int, latest: int) -> ChangeRow:
    """The NRS change row for two visits four weeks apart."""
    return row_for(change_table([make_visit(0, pain_nrs=first), make_visit(28, pain_nrs=latest)]), "pain_nrs")


# --- visit_frame -------------------------------------------------------------------------------


def test_visit_frame_has_one_row_per_visit_oldest_first_and_skips_archived_visits() -> None:
    stamp = dt.datetime(2025, 3, 3, 9, tzinfo=dt.UTC)
    later_same_day = make_visit(0, id="b", pain_nrs=4, recorded_at=stamp + dt.timedelta(hours=2))
    earlier_same_day = make_visit(0, id="a", pain_nrs=6, recorded_at=stamp)
    archived = make_visit(7, id="x", pain_nrs=9, archived=True)
    frame = visit_frame([make_visit(14, id="c"), archived, later_same_day, earlier_same_day])
    assert frame["visit_id"].to_list() == ["a", "b", "c"]
    assert list(frame.columns) == list(FRAME_COLUMNS)


def test_visit_frame_derives_scores_from_the_raw_answers() -> None:
    frame = visit_frame(
        [
            make_visit(
                odi_sections=odi_sections(32),
                rmdq_items=[True] * 9 + [False] * 15,
                psfs=psfs(stairs=4, shopping=6),
                startback={**{f"q{i}": "agree" for i in range(1, 9)}, "q9": "extremely"},
                zcq_items={
                    **{f"q{i}": 3 for i in range(1, 7)},
                    "q7": 3,
                    **{f"q{i}": 2 for i in range(8, 13)},
                },
            )
        ]
    )
    row = frame.iloc[0]
    assert row["odi_percent"] == 32.0 and row["odi_band"] == "moderate"
    assert row["rmdq_total"] == 9
    assert row["psfs_mean"] == 5.0 and row["psfs_rated"] == 2
    assert row["startback_risk"] == "high"
    assert (row["zcq_ss"], row["zcq_pf"]) == (3.0, 2.0)


def test_visit_frame_reads_the_primary_and_onset_walking_metric_of_each_protocol_with_units() -> None:
    spwt = make_visit(0, walk_protocol="spwt", walk_total_m=400, walk_onset_m=150, walk_total_min=9)
    treadmill = make_visit(7, walk_protocol="treadmill_1_2mph", walk_total_min=8, walk_onset_min=3)
    frame = visit_frame([spwt, treadmill])
    assert frame["walk_primary"].to_list() == [400.0, 8.0]
    assert frame["walk_onset"].to_list() == [150.0, 3.0]
    assert frame["walk_primary_unit"].to_list() == ["m", "min"]
    assert frame["walk_onset_unit"].to_list() == ["m", "min"]


def test_visit_frame_leaves_unscorable_questionnaires_and_missing_measurements_empty() -> None:
    frame = visit_frame([make_visit(odi_sections=[None, None, *[2] * 8])])
    assert pd.isna(frame.loc[0, "odi_percent"]) and pd.isna(frame.loc[0, "pain_nrs"])
    assert pd.isna(frame.loc[0, "walk_primary"])


def test_visit_frame_of_no_visits_is_empty_but_keeps_its_columns() -> None:
    frame = visit_frame([])
    assert frame.empty and list(frame.columns) == list(FRAME_COLUMNS)


# --- baselines ---------------------------------------------------------------------------------


def test_baseline_is_the_first_visit_with_a_value_not_the_first_visit() -> None:
    frame = visit_frame([make_visit(0), make_visit(7, pain_nrs=8), make_visit(14, pain_nrs=6)])
    series = baseline_latest(frame, "pain_nrs")
    assert series is not None
    assert (series.first_value, series.first_date) == (8.0, DAY_ONE + dt.timedelta(days=7))
    assert (series.latest_value, series.previous_value, series.n_values) == (6.0, 8.0, 2)


def test_walking_baseline_is_the_first_record_of_the_same_protocol() -> None:
    frame = visit_frame(
        [
            make_visit(0, walk_protocol="treadmill_1_2mph", walk_total_min=6),
            make_visit(7, walk_protocol="spwt", walk_total_m=300),
            make_visit(14, walk_protocol="spwt", walk_total_m=450),
        ]
    )
    series = baseline_latest(frame, "walk_primary", "walk_spwt_m")
    assert series is not None and (series.first_value, series.latest_value) == (300.0, 450.0)


def test_walking_results_cannot_be_read_without_naming_a_protocol() -> None:
    with pytest.raises(ValueError, match="protocol"):
        baseline_latest(visit_frame([make_visit(walk_protocol="spwt", walk_total_m=300)]), "walk_primary")


def test_a_series_never_recorded_has_no_baseline() -> None:
    assert baseline_latest(visit_frame([make_visit(pain_nrs=5)]), "odi_percent") is None


@pytest.mark.parametrize(
    ("measure", "baseline", "band"),
    [
        ("pain_nrs", 7.0, (5.0, 9.0, "MCID")),  # 2 points is smaller than 30% of 7
        ("pain_nrs", 5.0, (3.5, 6.5, "MCID")),  # 30% of 5 = 1.5 is smaller than 2 points
        ("odi_percent", 40.0, (30.0, 50.0, "MCID")),
        ("walk_spwt_m", 300.0, (210.0, 390.0, "MCID")),
        ("walk_6mwt_m", 300.0, (274.0, 326.0, "MCID")),
        ("psfs_mean", 4.0, (2.0, 6.0, "MDC90")),
    ],
)
def test_the_band_of_no_important_change_is_the_smallest_change_that_meets_the_mcid(
    measure: str, baseline: float, band: tuple[float, float, str]
) -> None:
    result = mcid_band(measure, baseline)
    assert result is not None
    assert result[:2] == pytest.approx(band[:2])
    assert result[2] == band[2]


def test_walking_protocols_without_a_confirmed_mcid_have_no_band() -> None:
    assert mcid_band("walk_treadmill_min", 8.0) is None
    assert mcid_band("walk_reported_min", 20.0) is None


# --- change judgements -------------------------------------------------------------------------


def test_nrs_from_7_to_5_is_a_clinically_important_improvement() -> None:
    row = pain_pair(7, 5)
    assert row.judgement == "important_improvement"
    assert row.judgement_text == "▲ Clinically important improvement"
    assert row.change_since_first == -2.0


def test_nrs_from_7_to_6_is_no_clinically_important_change() -> None:
    row = pain_pair(7, 6)
    assert row.judgement == "no_important_change"
    assert row.judgement_text.startswith("–")


def test_nrs_from_4_to_6_is_a_clinically_important_worsening() -> None:
    assert pain_pair(4, 6).judgement_text == "▼ Clinically important worsening"


def test_a_one_point_nrs_fall_is_important_only_when_it_is_30_percent_of_baseline() -> None:
    # 3 -> 2 is 33%: the relative criterion alone meets the MCID; 5 -> 4 is only 20%.
    assert pain_pair(3, 2).judgement == "important_improvement"
    assert pain_pair(5, 4).judgement == "no_important_change"


def test_odi_from_40_to_31_is_within_measurement_error() -> None:
    fourteen_of_45 = [2, 2, 2, 2, 1, 1, 1, 1, 2, None]  # one section missing: 14/45 = 31.1 %
    visits = [make_visit(0, odi_sections=odi_sections(40)), make_visit(28, odi_sections=fourteen_of_45)]
    row = row_for(change_table(visits), "odi_percent")
    assert row.latest_value == pytest.approx(31.11, abs=0.01)  # unrounded
    # 8.9 points and 22% miss the MCID (10 points or 30%) and stay under the MDC90 of 10 points.
    assert row.judgement == "within_measurement_error"
    assert row.judgement_text == "≈ Within measurement error"


def test_odi_from_40_to_30_meets_the_10_point_mcid() -> None:
    visits = [make_visit(0, odi_sections=odi_sections(40)), make_visit(28, odi_sections=odi_sections(30))]
    row = row_for(change_table(visits), "odi_percent")
    assert (row.first_value, row.latest_value, row.change_since_first) == (40.0, 30.0, -10.0)
    assert row.judgement == "important_improvement"


def test_rmdq_improving_by_30_percent_of_baseline_is_important_even_below_5_points() -> None:
    visits = [
        make_visit(0, rmdq_items=[True] * 10 + [False] * 14),
        make_visit(28, rmdq_items=[True] * 7 + [False] * 17),
    ]
    row = row_for(change_table(visits), "rmdq_total")
    assert row.judgement == "important_improvement"
    assert "30%" in row.criterion


def test_each_row_carries_first_previous_and_latest_values_with_dates() -> None:
    visits = [make_visit(0, pain_nrs=8), make_visit(14, pain_nrs=7), make_visit(28, pain_nrs=5)]
    row = row_for(change_table(visits), "pain_nrs")
    assert (row.first_value, row.previous_value, row.latest_value) == (8.0, 7.0, 5.0)
    assert row.first_date == DAY_ONE and row.latest_date == DAY_ONE + dt.timedelta(days=28)
    assert (row.change_since_first, row.change_since_previous) == (-3.0, -2.0)
    assert "NRS" in row.label and "points" in row.label


def test_a_measure_recorded_once_has_no_judgement_yet() -> None:
    row = row_for(change_table([make_visit(0, pain_nrs=6), make_visit(7)]), "pain_nrs")
    assert row.judgement is None and row.judgement_text == ONE_VALUE_TEXT
    assert row.change_since_first is None and row.previous_value is None


def test_measures_never_recorded_have_no_row() -> None:
    measures = [row.measure for row in change_table([make_visit(0, pain_nrs=6), make_visit(7, pain_nrs=5)])]
    assert measures == ["pain_nrs"]


def test_current_and_worst_pain_are_separate_series() -> None:
    visits = [make_visit(0, pain_nrs=6, pain_worst_nrs=9), make_visit(14, pain_worst_nrs=6)]
    rows = change_table(visits)
    assert row_for(rows, "pain_worst_nrs").judgement == "important_improvement"
    assert row_for(rows, "pain_nrs").judgement is None


def test_walking_has_one_row_per_protocol_compared_only_within_it() -> None:
    visits = [
        make_visit(0, walk_protocol="spwt", walk_total_m=300),
        make_visit(7, walk_protocol="treadmill_1_2mph", walk_total_min=5),
        make_visit(14, walk_protocol="spwt", walk_total_m=390),
        make_visit(21, walk_protocol="treadmill_1_2mph", walk_total_min=9),
    ]
    rows = change_table(visits)
    spwt, treadmill = row_for(rows, "walk_spwt_m"), row_for(rows, "walk_treadmill_min")
    assert (spwt.first_value, spwt.latest_value, spwt.unit) == (300.0, 390.0, "m")
    assert spwt.judgement == "important_improvement"  # exactly 30% counts (≥ threshold)
    assert (treadmill.first_value, treadmill.latest_value, treadmill.change_since_first) == (5.0, 9.0, 4.0)
    assert treadmill.judgement == "no_mcid" and "no confirmed MCID" in treadmill.judgement_text
    assert "(m)" in spwt.label and "(min)" in treadmill.label


def test_a_timed_spwt_is_a_series_of_its_own_shown_without_a_judgement() -> None:
    # Revised §7.8: symptoms at 4 min, total 9 min, and no distance measured.
    visits = [
        make_visit(0, walk_protocol="spwt", walk_onset_min=4, walk_total_min=9),
        make_visit(14, walk_protocol="spwt", walk_onset_min=6, walk_total_min=15),
    ]
    row = row_for(change_table(visits), "walk_spwt_min")
    assert (row.first_value, row.latest_value, row.unit, row.protocol) == (9.0, 15.0, "min", "spwt")
    assert row.judgement == "no_mcid" and "(min)" in row.label and "total time" in row.label


def test_an_spwt_timed_at_one_visit_and_measured_at_another_gives_two_rows_never_one() -> None:
    visits = [
        make_visit(0, walk_protocol="spwt", walk_total_m=300),
        make_visit(7, walk_protocol="spwt", walk_total_min=9),
        make_visit(14, walk_protocol="spwt", walk_total_m=400),
    ]
    rows = change_table(visits)
    distance, time = row_for(rows, "walk_spwt_m"), row_for(rows, "walk_spwt_min")
    assert (distance.first_value, distance.latest_value) == (300.0, 400.0)
    assert distance.judgement == "important_improvement"
    assert (time.first_value, time.latest_value, time.judgement) == (9.0, 9.0, None)


def test_a_walking_test_stopped_for_an_unrelated_reason_is_not_compared() -> None:
    visits = [
        make_visit(0, walk_protocol="spwt", walk_total_m=300),
        make_visit(14, walk_protocol="spwt", walk_total_m=100, walk_stop_reason="other"),
    ]
    row = row_for(change_table(visits), "walk_spwt_m")
    assert row.judgement is None and row.latest_value == 300.0


def test_6mwt_uses_its_26_metre_threshold() -> None:
    visits = [
        make_visit(0, walk_protocol="6mwt", walk_total_m=300),
        make_visit(14, walk_protocol="6mwt", walk_total_m=326),
    ]
    assert row_for(change_table(visits), "walk_6mwt_m").judgement == "important_improvement"


def test_psfs_change_uses_only_the_activities_rated_at_both_visits() -> None:
    visits = [
        make_visit(0, psfs=psfs(stairs=2, shopping=4, gardening=None)),
        make_visit(28, psfs=psfs(stairs=5, shopping=None, gardening=9)),
    ]
    row = row_for(change_table(visits), "psfs_mean")
    # Visit means are 3.0 and 7.0, but only "stairs" was rated at both: change 2 -> 5.
    assert (row.first_value, row.latest_value) == (3.0, 7.0)
    assert row.change_since_first == 3.0
    assert row.judgement == "beyond_measurement_error"
    assert row.judgement_text == "▲ Change beyond measurement error (better)"
    assert "1 activity" in row.note


def test_psfs_with_no_activity_rated_at_both_visits_is_not_compared() -> None:
    visits = [make_visit(0, psfs=psfs(stairs=2)), make_visit(28, psfs=psfs(gardening=8))]
    row = row_for(change_table(visits), "psfs_mean")
    assert row.judgement is None and row.change_since_first is None
    assert "No activity" in row.note


def test_psfs_change_within_2_points_is_within_measurement_error() -> None:
    visits = [make_visit(0, psfs=psfs(stairs=4)), make_visit(28, psfs=psfs(stairs=5))]
    assert row_for(change_table(visits), "psfs_mean").judgement == "within_measurement_error"


def test_every_judgement_label_has_plain_words_with_an_icon() -> None:
    labels = set(typing.get_args(ChangeLabel))
    assert labels <= set(JUDGEMENT_TEXT)
    assert all(text[0] in "▲▼–≈◆·" and text[2:].strip() for text in JUDGEMENT_TEXT.values())


# --- protocol note -----------------------------------------------------------------------------


def test_protocol_note_appears_only_when_more_than_one_walking_protocol_is_recorded() -> None:
    one = [
        make_visit(0, walk_protocol="spwt", walk_total_m=300),
        make_visit(7, walk_protocol="spwt", walk_total_m=350),
    ]
    assert protocol_note(one) is None
    two = [*one, make_visit(14, walk_protocol="6mwt", walk_total_m=320)]
    note = protocol_note(two)
    assert note is not None
    assert "SPWT" in note and "6MWT" in note and "only" in note


def test_protocol_note_is_absent_without_any_walking_test() -> None:
    assert protocol_note([make_visit(pain_nrs=5)]) is None


# --- caseload ----------------------------------------------------------------------------------


def caseload_input(
    nrs: tuple[int | None, ...] = (7, 6),
    walks: tuple[float | None, ...] = (),
    protocol: str = "spwt",
    **overrides: Any,
) -> dict[str, Any]:
    """One patient's caseload row from visits 10 days apart (NRS 7 -> 6 by default, no walking test),
    last seen 10 days ago and due for review in 5 days; `overrides` replace row values."""
    count = max(len(nrs), len(walks))
    start = (TODAY - DAY_ONE).days - 10 - 10 * count
    visits = []
    for i in range(count):
        values: dict[str, Any] = {"pain_nrs": nrs[i] if i < len(nrs) else None}
        if i < len(walks) and walks[i] is not None:
            field = "walk_total_m" if protocol in ("spwt", "6mwt") else "walk_total_min"
            values |= {"walk_protocol": protocol, field: walks[i]}
        visits.append(make_visit(start + 10 * (i + 1), **values))
    row = caseload_row(
        overrides.pop("patient_id", "p1"),
        "MRN-1",
        "Ana Silva",
        overrides.pop("clinician", "dr_a"),
        visits,
        open_tier=overrides.pop("open_tier", None),
        next_review_date=overrides.pop("next_review_date", TODAY + dt.timedelta(days=5)),
    )
    return row | overrides


def one_row(**overrides: Any) -> pd.Series:
    """The caseload_table row computed for one patient."""
    return caseload_table([caseload_input(**overrides)], TODAY).iloc[0]


def test_caseload_adds_nrs_change_and_days_since_the_last_visit() -> None:
    row = one_row()
    assert row["nrs_change"] == -1.0
    assert row["days_since_last_visit"] == 10


@pytest.mark.parametrize(
    ("walks", "protocol", "trend"),
    [
        ((300, 400), "spwt", "better"),
        ((300, 200), "spwt", "worse"),
        ((300, 330), "spwt", "same"),
        ((), "spwt", "none"),
        ((300,), "spwt", "single"),  # one test so far: "–", never "no test"
        ((400, 430), "6mwt", "better"),  # 26 m MCID, not 30% (§7.9)
        ((4, 12), "treadmill_1_2mph", "unjudged"),  # no confirmed MCID (§7.8)
    ],
)
def test_walking_trend_is_the_judge_change_label_of_first_and_latest_of_one_protocol(
    walks: tuple[float, ...], protocol: str, trend: str
) -> None:
    row = one_row(walks=walks, protocol=protocol)
    assert row["walking_trend"] == WALKING_TREND_TEXT[trend]


def test_a_patient_is_overdue_only_when_the_review_date_has_passed() -> None:
    assert one_row(next_review_date=TODAY - dt.timedelta(days=1))["overdue_for_review"]
    assert not one_row(next_review_date=TODAY)["overdue_for_review"]
    assert not one_row(next_review_date=None)["overdue_for_review"]


def test_no_important_nrs_improvement_and_no_walking_gain_is_not_improving() -> None:
    assert one_row()["not_improving"]


def test_an_important_nrs_improvement_is_improving() -> None:
    assert not one_row(nrs=(7, 5))["not_improving"]  # 2 points
    assert not one_row(nrs=(3, 2))["not_improving"]  # 33%, but baseline 3 > 2


def test_better_walking_counts_as_improving_even_without_less_pain() -> None:
    assert not one_row(walks=(300, 400))["not_improving"]


def test_a_timed_spwt_reaches_the_caseload_unjudged() -> None:
    visits = [
        make_visit(0, walk_protocol="spwt", walk_total_min=9),
        make_visit(14, walk_protocol="spwt", walk_total_min=15),
    ]
    row = caseload_table([caseload_row("p", "REF", "A", None, visits)], TODAY).iloc[0]
    assert row["walking_trend"] == WALKING_TREND_TEXT["unjudged"] and row["latest_walk_primary"] == 15


def test_walking_without_an_mcid_is_no_evidence_either_way() -> None:
    assert not one_row(nrs=(), walks=(4, 4), protocol="treadmill_1_2mph")["not_improving"]


def test_a_one_visit_patient_is_never_not_improving() -> None:
    row = one_row(nrs=(7,))
    assert not row["not_improving"] and pd.isna(row["nrs_change"])  # shown as "–", never "+0"


def test_a_patient_without_a_walking_test_is_judged_on_pain_alone() -> None:
    row = one_row(nrs=(8, 8))
    assert row["walking_trend"] == "no test" and row["not_improving"]


def test_a_low_nrs_baseline_is_no_evidence_of_not_improving() -> None:
    assert not one_row(nrs=(2, 2))["not_improving"]


def test_caseload_puts_open_flags_first_then_overdue_then_not_improving() -> None:
    rows = [
        caseload_input(patient_id="calm", nrs=(7, 3)),
        caseload_input(patient_id="stuck"),
        caseload_input(patient_id="overdue", nrs=(7, 3), next_review_date=TODAY - dt.timedelta(days=3)),
        caseload_input(patient_id="flag", nrs=(7, 3), open_tier="URGENT"),
        caseload_input(patient_id="emergency", nrs=(7, 3), open_tier="EMERGENCY"),
    ]
    order = caseload_table(rows, TODAY)["patient_id"].to_list()
    assert order == ["emergency", "flag", "overdue", "stuck", "calm"]


def test_filters_narrow_the_caseload_and_combine() -> None:
    df = caseload_table(
        [
            caseload_input(patient_id="a", clinician="dr_a", open_tier="URGENT"),
            caseload_input(patient_id="b", clinician="dr_b", nrs=(7, 2)),
            caseload_input(
                patient_id="c", clinician="dr_a", open_tier="NONE", next_review_date=dt.date(2025, 1, 1)
            ),
        ],
        TODAY,
    )
    ids = lambda frame: sorted(frame["patient_id"])  # noqa: E731
    assert ids(filter_caseload(df)) == ["a", "b", "c"]
    assert ids(filter_caseload(df, clinician="dr_a")) == ["a", "c"]
    assert ids(filter_caseload(df, open_flags_only=True)) == ["a"]
    assert ids(filter_caseload(df, not_improving_only=True)) == ["a", "c"]
    assert ids(filter_caseload(df, overdue_only=True)) == ["c"]
    assert ids(filter_caseload(df, clinician="dr_a", overdue_only=True, not_improving_only=True)) == ["c"]


def test_caseload_row_aggregates_a_patients_visits() -> None:
    visits = [
        make_visit(0, pain_nrs=7, walk_protocol="treadmill_1_2mph", walk_total_min=4),
        make_visit(7, pain_nrs=6, walk_protocol="spwt", walk_total_m=300, odi_sections=odi_sections(40)),
        make_visit(14, walk_protocol="spwt", walk_total_m=420),
        make_visit(21, pain_nrs=5, odi_sections=odi_sections(30)),
    ]
    row = caseload_row("p9", "MRN-9", "Li Wei", "dr_a", visits, open_tier="ROUTINE_REVIEW")
    assert (row["first_nrs"], row["latest_nrs"], row["nrs_count"]) == (7, 5, 3)
    assert (row["walk_protocol"], row["first_walk_primary"], row["latest_walk_primary"]) == ("spwt", 300, 420)
    assert (row["first_odi_percent"], row["latest_odi_percent"]) == (40.0, 30.0)
    # NRS 7 -> 5 (2 points), ODI 40 -> 30 (10 points), SPWT 300 -> 420 m (40%): each meets its MCID.
    assert {row["pain_change"], row["odi_change"], row["walk_change"]} == {"important_improvement"}
    assert row["last_visit_date"] == DAY_ONE + dt.timedelta(days=21) and row["visit_count"] == 4
    derived = caseload_table([row], TODAY).iloc[0]
    assert derived["walking_trend"] == "▲ better" and not derived["not_improving"]


def test_caseload_row_counts_nrs_recorded_once_as_no_evidence() -> None:
    row = caseload_row("p1", "MRN-1", "A B", None, [make_visit(0, pain_nrs=8), make_visit(14)])
    assert not caseload_table([row], TODAY).iloc[0]["not_improving"]


def test_a_walk_stopped_for_an_unrelated_reason_is_left_out_of_the_caseload_comparison() -> None:
    visits = [
        make_visit(0, walk_protocol="spwt", walk_total_m=300, walk_stop_reason="symptoms"),
        make_visit(14, walk_protocol="spwt", walk_total_m=100, walk_stop_reason="other"),
    ]
    row = caseload_row("p1", "MRN-1", "A B", None, visits)
    assert (row["latest_walk_primary"], row["walk_count"], row["walk_change"]) == (300, 1, None)


def test_caseload_of_ten_thousand_patients_is_computed_in_one_vectorised_pass() -> None:
    template = caseload_input()
    rows = [
        template | {"patient_id": f"p{i}", "first_nrs": i % 11, "latest_nrs": (i * 7) % 11}
        for i in range(10_000)
    ]
    # Speed is measured by `make bench`, not asserted here; this checks the result at that size.
    df = caseload_table(rows, TODAY)
    assert len(df) == 10_000
    assert df["patient_id"].is_unique


def test_an_empty_caseload_keeps_its_columns() -> None:
    df = caseload_table([], TODAY)
    assert df.empty and {"nrs_change", "walking_trend", "not_improving", "overdue_for_review"} <= set(
        df.columns
    )


def test_the_change_table_shows_the_judgement_beside_the_measure_so_it_is_in_view_at_1024_px() -> None:
    from dashboard import page_text

    frame = page_text.change_table_frame([pain_pair(7, 4)])
    assert list(frame.columns[:2]) == ["Measure", "Judgement (first → latest)"]
    assert frame.iloc[0]["Judgement (first → latest)"] == JUDGEMENT_TEXT["important_improvement"]


def _episode_row(patient_id: str, pains: list[int], **episode: Any) -> dict[str, Any]:
    """A caseload row whose pain was scored `pains`, four weeks apart, with the given episode fields."""
    visits = [make_visit(28 * n, pain_nrs=pain) for n, pain in enumerate(pains)]
    return caseload_row(patient_id, patient_id.upper(), patient_id, "dr_a", visits, **episode)


# (the row's episode, its pain scores) -> (open long without improvement, discharged this month)
EPISODE_VIEW_CASES: list[Any] = [
    pytest.param(
        {"episode_start": TODAY - dt.timedelta(weeks=13)}, [6, 6], (True, False), id="open_13_weeks_same"
    ),
    pytest.param(
        {"episode_start": TODAY - dt.timedelta(weeks=13)}, [6], (True, False), id="open_13_weeks_one_score"
    ),
    pytest.param(
        {"episode_start": TODAY - dt.timedelta(weeks=13)}, [7, 3], (False, False), id="open_13_weeks_improved"
    ),
    pytest.param(
        {"episode_start": TODAY - dt.timedelta(weeks=11)}, [6, 6], (False, False), id="open_11_weeks"
    ),
    pytest.param(
        {"episode_start": TODAY - dt.timedelta(weeks=12)},
        [6, 6],
        (False, False),
        id="exactly_12_weeks_is_not_more",
    ),
    pytest.param(
        {"episode_start": TODAY - dt.timedelta(weeks=12, days=1)},
        [6, 6],
        (True, False),
        id="twelve_weeks_and_a_day",
    ),
    pytest.param(
        {"episode_status": "discharged", "discharge_date": TODAY.replace(day=1)},
        [6, 6],
        (False, True),
        id="discharged_on_the_first_of_this_month",
    ),
    pytest.param(
        {"episode_status": "discharged", "discharge_date": TODAY.replace(day=1) - dt.timedelta(days=1)},
        [6, 6],
        (False, False),
        id="discharged_last_month",
    ),
    pytest.param(
        {"episode_status": "discharged", "discharge_date": TODAY.replace(year=TODAY.year - 1)},
        [6, 6],
        (False, False),
        id="discharged_this_month_last_year",
    ),
]


@pytest.mark.parametrize(("episode", "pains", "expected"), EPISODE_VIEW_CASES)
def test_the_caseload_marks_long_open_episodes_without_improvement_and_this_months_discharges(
    episode: dict[str, Any], pains: list[int], expected: tuple[bool, bool]
) -> None:
    row = caseload_table([_episode_row("a", pains, **episode)], TODAY).iloc[0]
    assert (bool(row["open_long_without_improvement"]), bool(row["discharged_this_month"])) == expected
    df = caseload_table([_episode_row("a", pains, **episode)], TODAY)
    assert len(filter_caseload(df, open_long_without_improvement_only=True)) == int(expected[0])
    assert len(filter_caseload(df, discharged_this_month_only=True)) == int(expected[1])


def test_the_episode_column_says_how_long_it_has_been_open_or_when_it_ended() -> None:
    from dashboard.page_text import caseload_view

    rows = [
        _episode_row("a", [6], episode_start=TODAY - dt.timedelta(days=100)),
        _episode_row("b", [6], episode_status="discharged", discharge_date=dt.date(2025, 5, 9)),
        _episode_row("c", []),
    ]
    view = caseload_view(caseload_table(rows, TODAY))
    assert sorted(view["episode"]) == ["Discharged 9 May 2025", "Open", "Open 14 wk"]
