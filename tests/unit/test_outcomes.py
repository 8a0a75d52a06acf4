"""Outcome scoring and change judgements behave as clinical-reference §7 describes."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dashboard.models import PsfsActivity
from dashboard.outcomes import (
    MCID_TABLE,
    MEASURES,
    NO_MCID_LABEL,
    ODI_BAND_LABELS,
    judge_change,
    odi_band,
    psfs_paired_means,
    score_odi,
    score_psfs,
    score_rmdq,
    score_startback,
    score_zcq,
    thresholds_for,
)

# --- factories ---------------------------------------------------------------------------------


def make_odi(**overrides: Any) -> list[Any]:
    """Ten ODI sections summing to 16 (the worked example), with sections overridden as s1..s10."""
    sections: list[Any] = [2, 2, 2, 2, 2, 2, 1, 1, 1, 1]
    for key, value in overrides.items():
        sections[int(key.removeprefix("s")) - 1] = value
    return sections


def make_startback(**overrides: str | None) -> dict[str, str | None]:
    """A complete STarT Back form answered all-disagree / not-at-all, with items overridden."""
    answers: dict[str, str | None] = {f"q{i}": "disagree" for i in range(1, 9)}
    answers["q9"] = "not_at_all"
    answers.update(overrides)
    return answers


def make_zcq(**overrides: int | None) -> dict[str, int | None]:
    """A complete ZCQ (all 18 items coded 1 except q7 coded 3), with items overridden."""
    codes: dict[str, int | None] = {f"q{i}": 1 for i in range(1, 19)}
    codes["q7"] = 3
    codes.update(overrides)
    return codes


# --- ODI ---------------------------------------------------------------------------------------


def test_odi_with_all_ten_sections_summing_to_16_scores_32_percent() -> None:
    score = score_odi(make_odi())
    assert score.scorable
    assert score.percent == pytest.approx(32.0)
    assert (score.answered, score.total, score.possible) == (10, 16, 50)
    assert score.band == "moderate"


def test_odi_with_one_missing_section_and_sum_16_scores_16_of_45_unrounded() -> None:
    score = score_odi(make_odi(s1=3, s10=None))
    assert score.scorable
    assert (score.total, score.possible) == (16, 45)
    assert score.percent == pytest.approx(100 * 16 / 45)
    assert round(score.percent or 0, 2) == 35.56


def test_odi_with_two_missing_sections_is_not_scorable_but_keeps_the_answered_count() -> None:
    score = score_odi(make_odi(s8=None, s10=None))
    assert not score.scorable
    assert score.percent is None and score.band is None
    assert score.answered == 8


def test_odi_with_two_statements_marked_counts_the_higher() -> None:
    assert score_odi(make_odi(s1=[1, 4])).total == score_odi(make_odi(s1=4)).total


def test_odi_with_an_empty_list_of_marked_statements_treats_the_section_as_blank() -> None:
    assert score_odi(make_odi(s4=[])).answered == 9


@pytest.mark.parametrize(
    ("section", "value"),
    [(3, 6), (3, -1), (1, True), (10, 2.0), (5, "3"), (7, [2, 6])],
)
def test_odi_rejects_an_out_of_range_entry_naming_its_section(section: int, value: Any) -> None:
    with pytest.raises(ValueError, match=rf"^section {section}\b"):
        score_odi(make_odi(**{f"s{section}": value}))


def test_odi_error_never_echoes_the_rejected_value() -> None:
    with pytest.raises(ValueError) as caught:
        score_odi(make_odi(s2=4711))
    assert "4711" not in str(caught.value)


@pytest.mark.parametrize("count", [0, 9, 11])
def test_odi_needs_exactly_ten_entries(count: int) -> None:
    with pytest.raises(ValueError, match="10 entries"):
        score_odi([0] * count)


@pytest.mark.parametrize(
    ("percent", "band"),
    [
        (0.0, "minimal"),
        (20.0, "minimal"),
        (20.000001, "moderate"),
        (40.0, "moderate"),
        (42.0, "severe"),
        (60.0, "severe"),
        (62.0, "crippled"),
        (80.0, "crippled"),
        (80.1, "bed_bound"),
        (100.0, "bed_bound"),
    ],
)
def test_odi_bands_are_upper_inclusive(percent: float, band: str) -> None:
    assert odi_band(percent) == band


def test_odi_band_labels_cover_every_band_and_soften_crippled() -> None:
    assert set(ODI_BAND_LABELS) == {"minimal", "moderate", "severe", "crippled", "bed_bound"}
    assert ODI_BAND_LABELS["crippled"] == "very severe"


_odi_value = st.one_of(
    st.none(),
    st.integers(0, 5),
    st.lists(st.integers(0, 5), min_size=1, max_size=3),
)


@given(st.lists(_odi_value, min_size=10, max_size=10))
def test_odi_percent_stays_within_0_to_100_for_any_valid_form(sections: list[Any]) -> None:
    score = score_odi(sections)
    assert score.scorable == (sum(entry is None for entry in sections) <= 1)
    if score.scorable:
        assert score.percent is not None and 0.0 <= score.percent <= 100.0
        assert score.band == odi_band(score.percent)


@given(
    st.lists(st.integers(0, 5), min_size=10, max_size=10),
    st.integers(0, 9),
    st.one_of(st.integers(max_value=-1), st.integers(min_value=6), st.booleans(), st.floats()),
)
def test_odi_rejects_any_out_of_range_entry_and_never_clips(
    sections: list[Any], index: int, bad: object
) -> None:
    sections[index] = bad
    with pytest.raises(ValueError, match=rf"^section {index + 1}\b"):
        score_odi(sections)


# --- RMDQ --------------------------------------------------------------------------------------


def test_rmdq_counts_the_statements_that_apply() -> None:
    items: list[Any] = [True] * 7 + [False] * 17
    assert score_rmdq(items).total == 7


def test_rmdq_accepts_yes_no_and_not_applicable_words() -> None:
    items: list[Any] = ["yes"] * 3 + ["no"] * 20 + ["not_applicable"]
    result = score_rmdq(items)
    assert result.scorable and result.total == 3


def test_rmdq_with_any_blank_item_is_not_scorable() -> None:
    items: list[Any] = [True] * 23 + [None]
    result = score_rmdq(items)
    assert not result.scorable and result.total is None and result.answered == 23


@pytest.mark.parametrize("bad", ["maybe", 1, 0.5])
def test_rmdq_rejects_an_unknown_answer_naming_the_item(bad: Any) -> None:
    items: list[Any] = [False] * 24
    items[4] = bad
    with pytest.raises(ValueError, match=r"^item 5\b"):
        score_rmdq(items)


def test_rmdq_needs_exactly_24_items() -> None:
    with pytest.raises(ValueError, match="24"):
        score_rmdq([False] * 23)


# --- STarT Back --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "total", "psychosocial", "risk"),
    [
        ({}, 0, 0, "low"),
        # total 3 is still low, even with a psychosocial subscore of 3
        ({"q5": "agree", "q6": "agree", "q7": "agree"}, 3, 3, "low"),
        # total 4 with psychosocial 3 is medium
        ({"q1": "agree", "q5": "agree", "q6": "agree", "q7": "agree"}, 4, 3, "medium"),
        # total 4 with psychosocial 4 is high
        ({"q5": "agree", "q6": "agree", "q7": "agree", "q8": "agree"}, 4, 4, "high"),
        ({"q5": "agree", "q6": "agree", "q7": "agree", "q9": "very_much"}, 4, 4, "high"),
        ({"q1": "agree", "q2": "agree", "q3": "agree", "q4": "agree", "q9": "extremely"}, 5, 1, "medium"),
        ({"q1": "agree", "q2": "agree", "q3": "agree", "q9": "moderately"}, 3, 0, "low"),
    ],
)
def test_startback_totals_and_risk_groups(
    overrides: dict[str, str], total: int, psychosocial: int, risk: str
) -> None:
    result = score_startback(make_startback(**overrides))
    assert (result.scorable, result.total, result.psychosocial, result.risk) == (
        True,
        total,
        psychosocial,
        risk,
    )


@pytest.mark.parametrize("answer", ["not_at_all", "slightly", "moderately"])
def test_startback_bothersomeness_below_very_much_scores_nothing(answer: str) -> None:
    assert score_startback(make_startback(q9=answer)).total == 0


@pytest.mark.parametrize("missing", ["q1", "q5", "q9"])
def test_startback_with_any_item_missing_is_not_scorable(missing: str) -> None:
    answers = make_startback()
    del answers[missing]
    assert not score_startback(answers).scorable
    assert not score_startback(make_startback(**{missing: None})).scorable


@pytest.mark.parametrize(("item", "answer"), [("q3", "very_much"), ("q9", "agree"), ("q2", "yes")])
def test_startback_rejects_an_invalid_answer_naming_the_item(item: str, answer: str) -> None:
    with pytest.raises(ValueError, match=rf"^item {item}\b"):
        score_startback(make_startback(**{item: answer}))


def test_startback_rejects_an_unknown_item() -> None:
    with pytest.raises(ValueError, match=r"^item q10\b"):
        score_startback(make_startback(q10="agree"))


# --- PSFS --------------------------------------------------------------------------------------


def test_psfs_mean_uses_only_the_activities_rated_today() -> None:
    items = [
        PsfsActivity(activity="Walking to the shop", score=4),
        PsfsActivity(activity="Gardening", score=None),
        PsfsActivity(activity="Standing to cook", score=7),
    ]
    result = score_psfs(items)
    assert result.mean == pytest.approx((4 + 7) / 2) and result.rated == 2


def test_psfs_accepts_plain_dicts() -> None:
    result = score_psfs([{"activity": "Walking", "score": 3}, {"activity": "Stairs", "score": 6}])
    assert result.mean == pytest.approx(4.5)


def test_psfs_with_nothing_rated_has_no_mean() -> None:
    assert score_psfs([{"activity": "Walking", "score": None}]).mean is None
    assert score_psfs(None).rated == 0


@pytest.mark.parametrize("bad", [11, -1, True, 2.5])
def test_psfs_rejects_an_out_of_range_rating_naming_the_activity(bad: Any) -> None:
    with pytest.raises(ValueError, match=r"^activity 2\b"):
        score_psfs([{"activity": "Walking", "score": 3}, {"activity": "Stairs", "score": bad}])


def test_psfs_change_pairs_only_activities_rated_at_both_visits() -> None:
    baseline: list[dict[str, Any]] = [{"activity": "Walking", "score": 2}, {"activity": "Stairs", "score": 4}]
    latest: list[dict[str, Any]] = [
        {"activity": "Walking", "score": 6},
        {"activity": "Stairs", "score": None},
        {"activity": "Cycling", "score": 9},
    ]
    assert psfs_paired_means(baseline, latest) == (2.0, 6.0, 1)
    assert psfs_paired_means(baseline, [{"activity": "Cycling", "score": 5}]) is None


# --- ZCQ ---------------------------------------------------------------------------------------


def test_zcq_subscales_are_raw_means() -> None:
    result = score_zcq(make_zcq(q1=5, q8=4, q13=3))
    assert result.symptom_severity == pytest.approx((5 + 1 * 5 + 3) / 7)
    assert result.physical_function == pytest.approx((4 + 1 * 4) / 5)
    assert result.satisfaction == pytest.approx((3 + 1 * 5) / 6)


@pytest.mark.parametrize(
    ("blank", "subscale", "scored"),
    [
        (("q1", "q2"), "symptom_severity", True),
        (("q1", "q2", "q3"), "symptom_severity", False),
        (("q8",), "physical_function", True),
        (("q8", "q9"), "physical_function", False),
        (("q13",), "satisfaction", True),
        (("q13", "q14"), "satisfaction", False),
    ],
)
def test_zcq_missing_item_limits_per_subscale(blank: tuple[str, ...], subscale: str, scored: bool) -> None:
    result = score_zcq(make_zcq(**dict.fromkeys(blank)))
    assert (getattr(result, subscale) is not None) == scored


def test_zcq_without_satisfaction_items_has_no_satisfaction_score() -> None:
    codes = {key: value for key, value in make_zcq().items() if int(key[1:]) <= 12}
    result = score_zcq(codes)
    assert result.satisfaction is None
    assert result.symptom_severity is not None and result.physical_function is not None


@pytest.mark.parametrize(("item", "code"), [("q7", 2), ("q8", 5), ("q1", 0), ("q13", True)])
def test_zcq_rejects_a_code_outside_the_items_range(item: str, code: Any) -> None:
    with pytest.raises(ValueError, match=rf"^item {item}\b"):
        score_zcq(make_zcq(**{item: code}))


# --- MCID table --------------------------------------------------------------------------------


def test_every_mcid_row_names_a_known_measure_with_its_direction_source_and_tag() -> None:
    for row in MCID_TABLE:
        assert row.measure in MEASURES
        assert row.direction == MEASURES[row.measure].direction
        assert row.source and re.fullmatch(r"\[[CSU]\]", row.tag)
        assert row.threshold is not None or row.relative_fraction is not None


def test_mcid_table_matches_the_clinical_reference_summary() -> None:
    summary = {(row.measure, row.kind): (row.threshold, row.relative_fraction) for row in MCID_TABLE}
    assert summary[("pain_nrs", "MCID")] == (2.0, 0.30)
    assert summary[("odi_percent", "MCID")] == (10.0, 0.30)
    assert summary[("odi_percent", "MDC90")] == (10.0, None)
    assert summary[("rmdq_total", "MCID")] == (5.0, 0.30)
    assert summary[("psfs_mean", "MDC90")] == (2.0, None)
    assert summary[("walk_spwt_m", "MCID")] == (None, 0.30)
    assert summary[("walk_6mwt_m", "MCID")] == (26.0, None)


# --- judge_change ------------------------------------------------------------------------------

# (measure, baseline, latest, label): each threshold exactly met, and just missed, both directions.
CHANGE_CASES = [
    ("pain_nrs", 8, 6, "important_improvement"),  # 2 points (25%)
    ("pain_nrs", 9, 8, "no_important_change"),  # 1 point (11%)
    ("pain_nrs", 10, 7, "important_improvement"),  # 3 points and exactly 30%
    ("pain_nrs", 3, 2, "important_improvement"),  # 1 point but 33% of baseline
    ("pain_nrs", 6, 8, "important_worsening"),  # 2 points worse
    ("pain_nrs", 0, 1, "no_important_change"),  # relative rule needs a non-zero baseline
    ("pain_worst_nrs", 7, 5, "important_improvement"),
    ("pain_worst_nrs", 7, 6, "no_important_change"),
    ("odi_percent", 50, 40, "important_improvement"),  # 10 points (20%)
    ("odi_percent", 30, 21, "important_improvement"),  # 9 points but 30%
    ("odi_percent", 50, 41, "within_measurement_error"),  # 9 points, 18%: under the MDC90 of 10
    ("odi_percent", 50, 60, "important_worsening"),
    ("odi_percent", 50, 59, "within_measurement_error"),
    ("rmdq_total", 20, 15, "important_improvement"),  # 5 points (25%)
    ("rmdq_total", 20, 16, "no_important_change"),  # 4 points (20%)
    ("rmdq_total", 10, 7, "important_improvement"),  # 3 points but 30%
    ("rmdq_total", 10, 13, "important_worsening"),  # 30% worse
    ("psfs_mean", 3, 5, "beyond_measurement_error"),
    ("psfs_mean", 5, 3, "beyond_measurement_error"),
    ("psfs_mean", 3, 4.9, "within_measurement_error"),
    ("walk_spwt_m", 500, 650, "important_improvement"),  # exactly 30%
    ("walk_spwt_m", 500, 649, "no_important_change"),
    ("walk_spwt_m", 500, 350, "important_worsening"),
    ("walk_spwt_m", 500, 351, "no_important_change"),
    ("walk_6mwt_m", 300, 326, "important_improvement"),  # 26 m
    ("walk_6mwt_m", 300, 325, "no_important_change"),
    ("walk_6mwt_m", 300, 274, "important_worsening"),
    ("zcq_ss", 3.0, 2.5, "important_improvement"),
    ("zcq_pf", 2.0, 2.25, "no_important_change"),
    ("walk_treadmill_min", 5, 10, NO_MCID_LABEL),
    ("walk_reported_min", 20, 5, NO_MCID_LABEL),
    # An SPWT that was timed, not measured: no confirmed MCID for its time (revised §7.8).
    ("walk_spwt_min", 9, 18, NO_MCID_LABEL),
]


@pytest.mark.parametrize(("measure", "baseline", "latest", "label"), CHANGE_CASES)
def test_judge_change_labels_each_measure_at_its_threshold(
    measure: str, baseline: float, latest: float, label: str
) -> None:
    assert judge_change(measure, baseline, latest).label == label


def test_every_measure_is_covered_by_the_threshold_cases() -> None:
    assert {case[0] for case in CHANGE_CASES} == set(MEASURES)


def test_judge_change_reports_change_as_latest_minus_baseline_and_improvement_by_direction() -> None:
    pain = judge_change("pain_nrs", 7, 4)
    walk = judge_change("walk_spwt_m", 400, 600)
    assert (pain.change, pain.improvement, pain.direction) == (-3, 3, "better")
    assert (walk.change, walk.improvement, walk.direction) == (200, 200, "better")
    assert walk.relative_change == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("measure", "baseline", "latest", "expected_text"),
    [
        ("pain_nrs", 6, 3, "fell by 3 points"),
        ("pain_nrs", 6, 3, "MCID of 2 points"),
        ("pain_nrs", 3, 2, "of 30% of baseline"),
        ("walk_spwt_m", 100, 130, "30% of baseline"),
        ("walk_6mwt_m", 300, 330, "26–35 m"),
        ("odi_percent", 40, 35, "MDC90 of 10 points"),
        ("walk_treadmill_min", 5, 7, "no confirmed MCID"),
    ],
)
def test_judge_change_criterion_says_which_criterion_applied(
    measure: str, baseline: float, latest: float, expected_text: str
) -> None:
    assert expected_text in judge_change(measure, baseline, latest).criterion


def test_the_relative_criterion_alone_is_named_when_the_absolute_one_is_missed() -> None:
    criterion = judge_change("pain_nrs", 3, 2).criterion
    assert "30% of baseline" in criterion and "2 points" not in criterion


def test_an_mcid_criterion_takes_precedence_over_measurement_error() -> None:
    # ODI 20 -> 14 is 6 points (under the MDC90) but 30% of baseline: clinically important wins.
    judgement = judge_change("odi_percent", 20, 14)
    assert judgement.label == "important_improvement"
    assert judgement.source == "Ostelo 2008" and judgement.tag == "[C]"


def test_measurement_error_cites_the_mdc_source() -> None:
    judgement = judge_change("odi_percent", 60, 55)
    assert judgement.label == "within_measurement_error"
    assert judgement.tag == "[S]"


def test_no_change_at_all_is_within_measurement_error_where_an_mdc_is_known() -> None:
    assert judge_change("odi_percent", 30, 30).label == "within_measurement_error"
    assert judge_change("pain_nrs", 5, 5).label == "no_important_change"


def test_judgement_is_frozen() -> None:
    judgement = judge_change("pain_nrs", 5, 2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        judgement.label = "no_important_change"  # type: ignore[misc]


@pytest.mark.parametrize("measure", ["walk_total_m", "zcq_sat", ""])
def test_judge_change_rejects_an_unknown_measure(measure: str) -> None:
    with pytest.raises(ValueError, match="measure"):
        judge_change(measure, 1, 2)
    with pytest.raises(ValueError, match="measure"):
        thresholds_for(measure)


@pytest.mark.parametrize(("baseline", "latest"), [(None, 2), (2, float("nan")), (True, 2), ("3", 2)])
def test_judge_change_rejects_values_that_are_not_finite_numbers(baseline: Any, latest: Any) -> None:
    with pytest.raises(ValueError):
        judge_change("pain_nrs", baseline, latest)


def test_a_remembered_judgement_equals_one_judged_afresh_and_a_bool_is_still_refused() -> None:
    from dashboard.outcomes import _judged

    remembered = judge_change("pain_nrs", 1, 6)  # 1 and True are one key of a cache
    assert judge_change("pain_nrs", 1.0, 6.0) == remembered == _judged.__wrapped__("pain_nrs", 1.0, 6.0)
    with pytest.raises(ValueError):
        judge_change("pain_nrs", True, 6)


def test_a_baseline_of_almost_nothing_gives_a_judgement_not_an_overflow() -> None:
    judgement = judge_change("walk_spwt_m", 7.4e-322, 150.0)
    assert judgement.label == "important_improvement"
    assert "over 1,000,000%" in judgement.criterion
