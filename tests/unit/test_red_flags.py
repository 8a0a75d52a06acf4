"""Tests of the red-flag engine against clinical-reference §3: one table of rule boundaries, then
trends, unanswered questions, ordering, versioning and properties of random visits."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import itertools
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from dashboard.config import RuleSettings
from dashboard.models import SCREENING_FIELDS, Patient, Screening, Visit
from dashboard.patient_reported import DiaryEntry
from dashboard.red_flags import (
    DISCLAIMER,
    RULES,
    Urgency,
    derive_facts,
    rule_set_version,
    rules_markdown,
    screen,
    to_screening,
)
from tests import factories

START = dt.date(2024, 3, 4)

# Every screening question answered "no" / "none": a fully answered clean visit.
CLEAN_ANSWERS: dict[str, Any] = {
    "saddle_anaesthesia": "none",
    "bladder_dysfunction": "none",
    "bowel_dysfunction": "none",
    "sexual_dysfunction": "none",
    "bilateral_radicular_pain": "none",
    "new_radicular_pain": False,
    "leg_weakness": "none",
    "difficulty_walking_new": False,
    "fever": False,
    "systemically_unwell": False,
    "recent_infection": False,
    "unexplained_weight_loss": False,
    "night_pain": False,
    "trauma": "none",
    "sudden_severe_pain": False,
    "pulsatile_abdominal_mass": False,
    "rest_pain_or_tissue_loss": False,
}
UNANSWERED: dict[str, Any] = {field: None for field in SCREENING_FIELDS}
CES_CORE = [
    "saddle_anaesthesia",
    "bladder_dysfunction",
    "bowel_dysfunction",
    "bilateral_radicular_pain",
    "leg_weakness",
]
CATALOGUE_IDS = [
    "RF_CES",
    "RF_CES_POSSIBLE",
    "RF_PROGRESSIVE_NEURO",
    "RF_NEW_NEURO_DEFICIT",
    "RF_SEVERE_MOTOR_STABLE",
    "RF_MSCC",
    "RF_MALIGNANCY_CANCER_HX",
    "RF_MALIGNANCY_SUSPECTED",
    "RF_INFECTION",
    "RF_SYSTEMIC_FEATURES",
    "RF_INFECTION_RISK",
    "RF_FRACTURE",
    "RF_FRACTURE_MAJOR_TRAUMA",
    "RF_AAA",
    "RF_VASCULAR_CLAUDICATION",
    "RF_CRITICAL_LIMB_ISCHAEMIA",
    "RF_PERSISTENT_NO_IMPROVEMENT",
    "RF_WALKING_DECLINE",
    "RF_DIARY_NOT_SETTLING",
]


def aged(years: int) -> dt.date:
    """A birth date giving exactly `years` completed years on START."""
    return START.replace(year=START.year - years)


def make_patient(**overrides: Any) -> Patient:
    """A 40-year-old patient with no risk factors, onset 30 days before START."""
    fields: dict[str, Any] = {
        "patient_ref": "MRN-001",
        "given_name": "Ada",
        "family_name": "Example",
        "birth_date": aged(40),
        "sex": "F",
        "symptom_onset": START - dt.timedelta(days=30),
    }
    return Patient(**(fields | overrides))


# A fully answered clean visit `day` days after START; overrides replace the clean answers.
make_visit = functools.partial(factories.make_visit, start=START, **CLEAN_ANSWERS)
# A walking-diary entry `day` days after START (pain during the walk, before=2 unless given).
walk = functools.partial(factories.make_diary_entry, start=START)


def fired_ids(
    patient: Patient,
    visits: list[Visit],
    settings: RuleSettings | None = None,
    diary: tuple[DiaryEntry, ...] = (),
) -> list[str]:
    return [flag.rule_id for flag in screen(patient, visits, settings, diary=diary).flags]


def row(sentence: str, rule_id: str, fires: bool, *visits: dict[str, Any], **patient: Any) -> Any:
    """One table row: a patient, visit specs (each may give `day`), the rule and whether it fires."""
    return pytest.param(patient, list(visits) or [{}], rule_id, fires, (), None, id=sentence)


def diary_row(sentence: str, fires: bool, *diary: DiaryEntry, settings: RuleSettings | None = None) -> Any:
    """One RF_DIARY_NOT_SETTLING row: a clean first visit, then the diary (read by the clinic's settings)."""
    visits = [{"episode_id": "episode-1"}]
    return pytest.param({}, visits, "RF_DIARY_NOT_SETTLING", fires, diary, settings, id=sentence)


SPWT: dict[str, Any] = {"walk_protocol": "spwt"}
TREADMILL: dict[str, Any] = {"walk_protocol": "treadmill_1_2mph"}
ODI_30 = [3, 3, 3, 3, 3, 0, 0, 0, 0, 0]  # 15 of 50 = 30 %
ODI_16 = [2, 2, 2, 2, 0, 0, 0, 0, 0, 0]  # 8 of 50 = 16 %

RULE_TABLE = [
    # RF_CES: any core feature new or worsening; chronic_stable never fires.
    row("new_saddle_numbness_is_an_emergency", "RF_CES", True, {"saddle_anaesthesia": "new"}),
    row("worsening_saddle_numbness_fires_ces", "RF_CES", True, {"saddle_anaesthesia": "worsening"}),
    row("chronic_stable_saddle_numbness_does_not", "RF_CES", False, {"saddle_anaesthesia": "chronic_stable"}),
    row("new_bladder_dysfunction_fires_ces", "RF_CES", True, {"bladder_dysfunction": "new"}),
    row("worsening_bowel_dysfunction_fires_ces", "RF_CES", True, {"bowel_dysfunction": "worsening"}),
    row("new_pain_in_both_legs_fires_ces", "RF_CES", True, {"bilateral_radicular_pain": "new"}),
    row(
        "chronic_stable_bilateral_pain_does_not",
        "RF_CES",
        False,
        {"bilateral_radicular_pain": "chronic_stable"},
    ),
    row("new_sexual_dysfunction_alone_is_not_ces", "RF_CES", False, {"sexual_dysfunction": "new"}),
    # RF_CES_POSSIBLE: sexual dysfunction without another CES feature.
    row(
        "new_sexual_dysfunction_alone_is_possible_ces", "RF_CES_POSSIBLE", True, {"sexual_dysfunction": "new"}
    ),
    row(
        "worsening_sexual_dysfunction_is_possible_ces",
        "RF_CES_POSSIBLE",
        True,
        {"sexual_dysfunction": "worsening"},
    ),
    row(
        "stable_sexual_dysfunction_is_not", "RF_CES_POSSIBLE", False, {"sexual_dysfunction": "chronic_stable"}
    ),
    row(
        "sexual_dysfunction_with_ces_core_is_left_to_rf_ces",
        "RF_CES_POSSIBLE",
        False,
        {"sexual_dysfunction": "new", "bladder_dysfunction": "new"},
    ),
    # RF_PROGRESSIVE_NEURO: progressive, an MRC drop, or new weakness with MRC ≤ 3.
    row(
        "progressive_weakness_is_an_emergency", "RF_PROGRESSIVE_NEURO", True, {"leg_weakness": "progressive"}
    ),
    row(
        "new_weakness_mrc_3_is_an_emergency",
        "RF_PROGRESSIVE_NEURO",
        True,
        {"leg_weakness": "new", "leg_weakness_mrc": 3},
    ),
    row(
        "new_weakness_mrc_4_is_not_an_emergency",
        "RF_PROGRESSIVE_NEURO",
        False,
        {"leg_weakness": "new", "leg_weakness_mrc": 4},
    ),
    row("new_weakness_ungraded_is_not_an_emergency", "RF_PROGRESSIVE_NEURO", False, {"leg_weakness": "new"}),
    row(
        "mrc_falling_from_4_to_3_is_an_emergency",
        "RF_PROGRESSIVE_NEURO",
        True,
        {"leg_weakness": "new", "leg_weakness_mrc": 4},
        {"day": 7, "leg_weakness": "stable", "leg_weakness_mrc": 3},
    ),
    row(
        "mrc_unchanged_at_4_is_not_a_drop",
        "RF_PROGRESSIVE_NEURO",
        False,
        {"leg_weakness": "new", "leg_weakness_mrc": 4},
        {"day": 7, "leg_weakness": "stable", "leg_weakness_mrc": 4},
    ),
    row(
        "mrc_rising_from_3_to_4_is_not_a_drop",
        "RF_PROGRESSIVE_NEURO",
        False,
        {"leg_weakness": "stable", "leg_weakness_mrc": 3},
        {"day": 7, "leg_weakness": "stable", "leg_weakness_mrc": 4},
    ),
    row(
        "mrc_drop_compares_with_the_last_visit_that_graded_it",
        "RF_PROGRESSIVE_NEURO",
        True,
        {"leg_weakness_mrc": 5},
        {"day": 7},
        {"day": 14, "leg_weakness": "stable", "leg_weakness_mrc": 4},
    ),
    row(
        "mrc_drop_needs_a_grade_at_the_latest_visit",
        "RF_PROGRESSIVE_NEURO",
        False,
        {"leg_weakness": "stable", "leg_weakness_mrc": 5},
        {"day": 7, "leg_weakness": "stable"},
    ),
    # RF_NEW_NEURO_DEFICIT: new weakness MRC ≥ 4 or ungraded, only when the emergency rule is silent.
    row(
        "new_weakness_mrc_4_is_urgent",
        "RF_NEW_NEURO_DEFICIT",
        True,
        {"leg_weakness": "new", "leg_weakness_mrc": 4},
    ),
    row(
        "new_weakness_mrc_5_is_urgent",
        "RF_NEW_NEURO_DEFICIT",
        True,
        {"leg_weakness": "new", "leg_weakness_mrc": 5},
    ),
    row("new_weakness_without_mrc_is_urgent", "RF_NEW_NEURO_DEFICIT", True, {"leg_weakness": "new"}),
    row(
        "new_weakness_mrc_3_is_left_to_progressive",
        "RF_NEW_NEURO_DEFICIT",
        False,
        {"leg_weakness": "new", "leg_weakness_mrc": 3},
    ),
    row(
        "new_weakness_with_an_mrc_drop_is_left_to_progressive",
        "RF_NEW_NEURO_DEFICIT",
        False,
        {"leg_weakness_mrc": 5},
        {"day": 7, "leg_weakness": "new", "leg_weakness_mrc": 4},
    ),
    row(
        "stable_weakness_is_not_a_new_deficit",
        "RF_NEW_NEURO_DEFICIT",
        False,
        {"leg_weakness": "stable", "leg_weakness_mrc": 4},
    ),
    # RF_SEVERE_MOTOR_STABLE: stable weakness with MRC ≤ 2.
    row(
        "stable_weakness_mrc_2_is_urgent",
        "RF_SEVERE_MOTOR_STABLE",
        True,
        {"leg_weakness": "stable", "leg_weakness_mrc": 2},
    ),
    row(
        "stable_weakness_mrc_3_is_not",
        "RF_SEVERE_MOTOR_STABLE",
        False,
        {"leg_weakness": "stable", "leg_weakness_mrc": 3},
    ),
    row("stable_weakness_ungraded_is_not", "RF_SEVERE_MOTOR_STABLE", False, {"leg_weakness": "stable"}),
    # RF_MSCC: cancer history plus a neurological or CES feature.
    row(
        "cancer_with_new_weakness_is_mscc",
        "RF_MSCC",
        True,
        {"leg_weakness": "new", "leg_weakness_mrc": 5},
        history_of_cancer=True,
    ),
    row(
        "cancer_with_progressive_weakness_is_mscc",
        "RF_MSCC",
        True,
        {"leg_weakness": "progressive"},
        history_of_cancer=True,
    ),
    row(
        "cancer_with_new_gait_trouble_is_mscc",
        "RF_MSCC",
        True,
        {"difficulty_walking_new": True},
        history_of_cancer=True,
    ),
    row(
        "cancer_with_new_radicular_pain_is_mscc",
        "RF_MSCC",
        True,
        {"new_radicular_pain": True},
        history_of_cancer=True,
    ),
    row(
        "cancer_with_a_ces_feature_is_mscc",
        "RF_MSCC",
        True,
        {"bowel_dysfunction": "new"},
        history_of_cancer=True,
    ),
    row(
        "cancer_with_an_mrc_drop_is_mscc",
        "RF_MSCC",
        True,
        {"leg_weakness_mrc": 5},
        {"day": 7, "leg_weakness_mrc": 4},
        history_of_cancer=True,
    ),
    row(
        "cancer_with_sexual_dysfunction_alone_is_not_mscc",
        "RF_MSCC",
        False,
        {"sexual_dysfunction": "new"},
        history_of_cancer=True,
    ),
    row(
        "cancer_with_stable_weakness_is_not_mscc",
        "RF_MSCC",
        False,
        {"leg_weakness": "stable", "leg_weakness_mrc": 4},
        history_of_cancer=True,
    ),
    row("new_radicular_pain_without_cancer_is_not_mscc", "RF_MSCC", False, {"new_radicular_pain": True}),
    # RF_MALIGNANCY_CANCER_HX.
    row("any_cancer_history_is_urgent", "RF_MALIGNANCY_CANCER_HX", True, history_of_cancer=True),
    row("no_cancer_history_does_not_fire", "RF_MALIGNANCY_CANCER_HX", False),
    # RF_MALIGNANCY_SUSPECTED: 2 or more of age > 50, weight loss, night pain, failure to improve.
    row(
        "age_51_with_weight_loss_is_suspicious",
        "RF_MALIGNANCY_SUSPECTED",
        True,
        {"unexplained_weight_loss": True},
        birth_date=aged(51),
    ),
    row(
        "age_50_with_weight_loss_is_not",
        "RF_MALIGNANCY_SUSPECTED",
        False,
        {"unexplained_weight_loss": True},
        birth_date=aged(50),
    ),
    row(
        "weight_loss_with_night_pain_is_suspicious",
        "RF_MALIGNANCY_SUSPECTED",
        True,
        {"unexplained_weight_loss": True, "night_pain": True},
    ),
    row("night_pain_alone_is_not", "RF_MALIGNANCY_SUSPECTED", False, {"night_pain": True}),
    row("age_over_50_alone_is_not", "RF_MALIGNANCY_SUSPECTED", False, birth_date=aged(70)),
    row(
        "night_pain_and_no_improvement_after_28_days_is_suspicious",
        "RF_MALIGNANCY_SUSPECTED",
        True,
        {"pain_nrs": 6},
        {"day": 28, "pain_nrs": 6, "night_pain": True},
    ),
    row(
        "night_pain_and_no_improvement_after_27_days_is_not",
        "RF_MALIGNANCY_SUSPECTED",
        False,
        {"pain_nrs": 6},
        {"day": 27, "pain_nrs": 6, "night_pain": True},
    ),
    row(
        "night_pain_with_improvement_after_28_days_is_not",
        "RF_MALIGNANCY_SUSPECTED",
        False,
        {"pain_nrs": 6},
        {"day": 28, "pain_nrs": 4, "night_pain": True},
    ),
    row(
        "features_with_a_cancer_history_are_left_to_the_cancer_rules",
        "RF_MALIGNANCY_SUSPECTED",
        False,
        {"unexplained_weight_loss": True},
        birth_date=aged(60),
        history_of_cancer=True,
    ),
    # RF_INFECTION: fever or unwell plus a risk factor.
    row("fever_with_iv_drug_use_is_an_emergency", "RF_INFECTION", True, {"fever": True}, iv_drug_use=True),
    row(
        "unwell_with_recent_infection_is_an_emergency",
        "RF_INFECTION",
        True,
        {"systemically_unwell": True, "recent_infection": True},
    ),
    row(
        "temperature_38_0_counts_as_fever",
        "RF_INFECTION",
        True,
        {"temperature_c": 38.0},
        immunosuppressed=True,
    ),
    row(
        "temperature_37_9_is_not_fever", "RF_INFECTION", False, {"temperature_c": 37.9}, immunosuppressed=True
    ),
    row("fever_without_a_risk_factor_is_not_infection", "RF_INFECTION", False, {"fever": True}),
    # RF_SYSTEMIC_FEATURES: fever or unwell without a risk factor.
    row("fever_without_a_risk_factor_is_urgent", "RF_SYSTEMIC_FEATURES", True, {"fever": True}),
    row(
        "feeling_unwell_without_a_risk_factor_is_urgent",
        "RF_SYSTEMIC_FEATURES",
        True,
        {"systemically_unwell": True},
    ),
    row(
        "temperature_38_0_without_a_risk_factor_is_urgent",
        "RF_SYSTEMIC_FEATURES",
        True,
        {"temperature_c": 38.0},
    ),
    row(
        "temperature_37_9_without_a_risk_factor_is_not",
        "RF_SYSTEMIC_FEATURES",
        False,
        {"temperature_c": 37.9},
    ),
    row(
        "fever_with_recent_infection_is_left_to_rf_infection",
        "RF_SYSTEMIC_FEATURES",
        False,
        {"fever": True, "recent_infection": True},
    ),
    # RF_INFECTION_RISK: IV drug use or immunosuppression, afebrile (read literally).
    row("iv_drug_use_without_fever_is_urgent", "RF_INFECTION_RISK", True, iv_drug_use=True),
    row("immunosuppression_without_fever_is_urgent", "RF_INFECTION_RISK", True, immunosuppressed=True),
    row(
        "immunosuppressed_and_unwell_but_afebrile_still_fires",
        "RF_INFECTION_RISK",
        True,
        {"systemically_unwell": True},
        immunosuppressed=True,
    ),
    row(
        "immunosuppressed_with_fever_is_not",
        "RF_INFECTION_RISK",
        False,
        {"fever": True},
        immunosuppressed=True,
    ),
    row(
        "immunosuppressed_with_temperature_38_2_is_not",
        "RF_INFECTION_RISK",
        False,
        {"temperature_c": 38.2},
        immunosuppressed=True,
    ),
    row("recent_infection_alone_is_not", "RF_INFECTION_RISK", False, {"recent_infection": True}),
    # RF_FRACTURE.
    row(
        "minor_trauma_with_osteoporosis_is_urgent",
        "RF_FRACTURE",
        True,
        {"trauma": "minor"},
        osteoporosis=True,
    ),
    row(
        "minor_trauma_on_long_term_steroids_is_urgent",
        "RF_FRACTURE",
        True,
        {"trauma": "minor"},
        prolonged_corticosteroids=True,
    ),
    row("minor_trauma_at_age_71_is_urgent", "RF_FRACTURE", True, {"trauma": "minor"}, birth_date=aged(71)),
    row("minor_trauma_at_age_70_is_not", "RF_FRACTURE", False, {"trauma": "minor"}, birth_date=aged(70)),
    row("minor_trauma_alone_is_not", "RF_FRACTURE", False, {"trauma": "minor"}),
    row(
        "osteoporosis_with_sudden_severe_pain_is_urgent",
        "RF_FRACTURE",
        True,
        {"sudden_severe_pain": True},
        osteoporosis=True,
    ),
    row("sudden_severe_pain_without_osteoporosis_is_not", "RF_FRACTURE", False, {"sudden_severe_pain": True}),
    row("osteoporosis_without_trauma_or_sudden_pain_is_not", "RF_FRACTURE", False, osteoporosis=True),
    # RF_FRACTURE_MAJOR_TRAUMA, RF_AAA, RF_CRITICAL_LIMB_ISCHAEMIA.
    row("major_trauma_is_an_emergency", "RF_FRACTURE_MAJOR_TRAUMA", True, {"trauma": "major"}),
    row("minor_trauma_is_not_major", "RF_FRACTURE_MAJOR_TRAUMA", False, {"trauma": "minor"}),
    row("pulsatile_abdominal_mass_is_an_emergency", "RF_AAA", True, {"pulsatile_abdominal_mass": True}),
    row("no_pulsatile_mass_no_aaa", "RF_AAA", False, {"pulsatile_abdominal_mass": False}),
    row(
        "rest_pain_or_tissue_loss_is_urgent",
        "RF_CRITICAL_LIMB_ISCHAEMIA",
        True,
        {"rest_pain_or_tissue_loss": True},
    ),
    row(
        "no_rest_pain_no_limb_ischaemia",
        "RF_CRITICAL_LIMB_ISCHAEMIA",
        False,
        {"rest_pain_or_tissue_loss": False},
    ),
    # RF_VASCULAR_CLAUDICATION: vascular or indeterminate pattern; neurogenic is not a red flag.
    row(
        "calf_pain_eased_by_standing_still_is_vascular",
        "RF_VASCULAR_CLAUDICATION",
        True,
        {"leg_pain_on_walking": True, "relief": "standing_still", "symptom_location": "calf"},
    ),
    row(
        "walking_leg_pain_with_nothing_else_is_indeterminate",
        "RF_VASCULAR_CLAUDICATION",
        True,
        {"leg_pain_on_walking": True},
    ),
    row(
        "neurogenic_pattern_is_not_a_red_flag",
        "RF_VASCULAR_CLAUDICATION",
        False,
        {
            "leg_pain_on_walking": True,
            "relief": "sitting_or_flexion",
            "symptom_location": "buttock_thigh",
            "pedal_pulses": "normal",
        },
    ),
    row(
        "no_walking_leg_pain_is_not_claudication",
        "RF_VASCULAR_CLAUDICATION",
        False,
        {"leg_pain_on_walking": False},
    ),
    # RF_PERSISTENT_NO_IMPROVEMENT: more than 42 days of care and not improved.
    row(
        "no_improvement_after_43_days_needs_review",
        "RF_PERSISTENT_NO_IMPROVEMENT",
        True,
        {"pain_nrs": 6},
        {"day": 43, "pain_nrs": 6},
    ),
    row(
        "no_improvement_after_42_days_does_not",
        "RF_PERSISTENT_NO_IMPROVEMENT",
        False,
        {"pain_nrs": 6},
        {"day": 42, "pain_nrs": 6},
    ),
    row(
        "a_2_point_nrs_gain_is_improvement",
        "RF_PERSISTENT_NO_IMPROVEMENT",
        False,
        {"pain_nrs": 6},
        {"day": 60, "pain_nrs": 4},
    ),
    row(
        "a_1_point_nrs_gain_from_6_is_not",
        "RF_PERSISTENT_NO_IMPROVEMENT",
        True,
        {"pain_nrs": 6},
        {"day": 60, "pain_nrs": 5},
    ),
    row(
        "an_nrs_baseline_of_2_is_no_evidence",
        "RF_PERSISTENT_NO_IMPROVEMENT",
        False,
        {"pain_nrs": 2},
        {"day": 60, "pain_nrs": 2},
    ),
    row(
        "an_nrs_baseline_of_3_is_evidence",
        "RF_PERSISTENT_NO_IMPROVEMENT",
        True,
        {"pain_nrs": 3},
        {"day": 60, "pain_nrs": 3},
    ),
    row(
        "an_unchanged_odi_is_evidence",
        "RF_PERSISTENT_NO_IMPROVEMENT",
        True,
        {"odi_sections": ODI_30},
        {"day": 60, "odi_sections": ODI_30},
    ),
    row(
        "an_odi_improved_by_14_points_counts_as_improvement",
        "RF_PERSISTENT_NO_IMPROVEMENT",
        False,
        {"pain_nrs": 6, "odi_sections": ODI_30},
        {"day": 60, "pain_nrs": 6, "odi_sections": ODI_16},
    ),
    row(
        "a_30_percent_longer_spwt_counts_as_improvement",
        "RF_PERSISTENT_NO_IMPROVEMENT",
        False,
        {"pain_nrs": 6, **SPWT, "walk_total_m": 500},
        {"day": 60, "pain_nrs": 6, **SPWT, "walk_total_m": 650},
    ),
    row("no_measure_to_compare_is_no_evidence", "RF_PERSISTENT_NO_IMPROVEMENT", False, {}, {"day": 60}),
    row("a_single_visit_never_shows_persistence", "RF_PERSISTENT_NO_IMPROVEMENT", False, {"pain_nrs": 8}),
    # RF_WALKING_DECLINE: > 50 % fall against the latest earlier record of the same protocol.
    row(
        "a_51_percent_fall_in_spwt_needs_review",
        "RF_WALKING_DECLINE",
        True,
        {**SPWT, "walk_total_m": 1000},
        {"day": 7, **SPWT, "walk_total_m": 490},
    ),
    row(
        "exactly_a_50_percent_fall_does_not",
        "RF_WALKING_DECLINE",
        False,
        {**SPWT, "walk_total_m": 1000},
        {"day": 7, **SPWT, "walk_total_m": 500},
    ),
    row(
        "a_51_percent_fall_in_treadmill_time_needs_review",
        "RF_WALKING_DECLINE",
        True,
        {**TREADMILL, "walk_total_min": 10},
        {"day": 7, **TREADMILL, "walk_total_min": 4.9},
    ),
    row(
        "a_51_percent_fall_in_a_timed_spwt_needs_review",
        "RF_WALKING_DECLINE",
        True,
        {**SPWT, "walk_onset_min": 4, "walk_total_min": 10},
        {"day": 7, **SPWT, "walk_onset_min": 2, "walk_total_min": 4.9},
    ),
    row(
        "a_timed_spwt_is_never_compared_with_a_measured_one",
        "RF_WALKING_DECLINE",
        False,
        {**SPWT, "walk_total_m": 1000},
        {"day": 7, **SPWT, "walk_total_min": 3},
    ),
    row(
        "a_measured_spwt_skips_a_timed_one_between",
        "RF_WALKING_DECLINE",
        True,
        {**SPWT, "walk_total_m": 1000},
        {"day": 7, **SPWT, "walk_total_min": 30},
        {"day": 14, **SPWT, "walk_total_m": 400},
    ),
    row(
        "a_fall_across_protocols_is_never_compared",
        "RF_WALKING_DECLINE",
        False,
        {"walk_protocol": "6mwt", "walk_total_m": 1000},
        {"day": 7, **SPWT, "walk_total_m": 100},
    ),
    row(
        "a_latest_test_stopped_for_another_reason_does_not_count",
        "RF_WALKING_DECLINE",
        False,
        {**SPWT, "walk_total_m": 1000},
        {"day": 7, **SPWT, "walk_total_m": 100, "walk_stop_reason": "other"},
    ),
    row(
        "an_earlier_test_stopped_for_another_reason_is_skipped",
        "RF_WALKING_DECLINE",
        True,
        {**SPWT, "walk_total_m": 1000},
        {"day": 7, **SPWT, "walk_total_m": 450, "walk_stop_reason": "other"},
        {"day": 14, **SPWT, "walk_total_m": 450},
    ),
    row(
        "compares_with_the_most_recent_earlier_record",
        "RF_WALKING_DECLINE",
        False,
        {**SPWT, "walk_total_m": 1000},
        {"day": 7, **SPWT, "walk_total_m": 600},
        {"day": 14, **SPWT, "walk_total_m": 450},
    ),
    row(
        "a_decline_before_the_latest_visit_does_not_fire",
        "RF_WALKING_DECLINE",
        False,
        {**SPWT, "walk_total_m": 1000},
        {"day": 7, **SPWT, "walk_total_m": 100},
        {"day": 14},
    ),
    row("a_first_walking_record_does_not_fire", "RF_WALKING_DECLINE", False, {**SPWT, "walk_total_m": 100}),
    # RF_DIARY_NOT_SETTLING: the latest two diary entries by walk date both red (§12.3); by default
    # green ≤ 3, amber 4–5, red ≥ 6 during the walk, and a walk worse the next morning is red.
    diary_row("two_red_diary_entries_in_a_row_need_review", True, walk(1, 6), walk(2, 6)),
    diary_row("a_red_then_an_amber_entry_does_not", False, walk(1, 8), walk(2, 4)),
    diary_row("a_single_red_entry_does_not", False, walk(1, 9)),
    diary_row("pain_5_during_the_walk_is_still_amber", False, walk(1, 6), walk(2, 5)),
    diary_row("pain_6_during_the_walk_is_red", True, walk(1, 7), walk(2, 6)),
    diary_row("no_diary_does_not", False),
    diary_row("two_reds_before_a_green_entry_do_not", False, walk(1, 7), walk(2, 8), walk(3, 2)),
    diary_row("the_latest_two_by_walk_date_count_not_typing_order", True, walk(3, 7), walk(1, 2), walk(2, 8)),
    diary_row(
        "the_24_hour_rule_makes_a_green_walk_red",
        True,
        walk(1, 7),
        walk(2, 2, before=2, morning=3),
    ),
    diary_row(
        "next_morning_back_to_the_pain_before_the_walk_stays_green",
        False,
        walk(1, 7),
        walk(2, 2, before=2, morning=2),
    ),
    diary_row(
        "a_clinic_with_amber_up_to_7_reads_pain_7_as_amber",
        False,
        walk(1, 7),
        walk(2, 7),
        settings=RuleSettings(diary_amber_max=7),
    ),
    diary_row(
        "a_clinic_with_amber_up_to_7_reads_pain_8_as_red",
        True,
        walk(1, 8),
        walk(2, 8),
        settings=RuleSettings(diary_amber_max=7),
    ),
    diary_row(
        "a_stricter_clinic_reads_pain_5_as_red",
        True,
        walk(1, 5),
        walk(2, 5),
        settings=RuleSettings(diary_green_max=2, diary_amber_max=4),
    ),
    diary_row(
        "entries_of_an_earlier_episode_do_not_count",
        False,
        walk(1, 7, episode_id="old-episode"),
        walk(2, 8, episode_id="old-episode"),
    ),
]


@pytest.mark.parametrize(("patient", "visits", "rule_id", "fires", "diary", "settings"), RULE_TABLE)
def test_rule_fires_exactly_at_its_boundary(
    patient: dict[str, Any],
    visits: list[dict[str, Any]],
    rule_id: str,
    fires: bool,
    diary: tuple[DiaryEntry, ...],
    settings: RuleSettings | None,
) -> None:
    ids = fired_ids(make_patient(**patient), [make_visit(**spec) for spec in visits], settings, diary)
    assert (rule_id in ids) is fires, ids


def test_the_rule_table_covers_every_catalogue_rule_firing_and_silent() -> None:
    covered = {(param.values[2], param.values[3]) for param in RULE_TABLE}
    assert {rule_id for rule_id, fires in covered if fires} == set(CATALOGUE_IDS)
    assert {rule_id for rule_id, fires in covered if not fires} == set(CATALOGUE_IDS)


# --- The table itself ------------------------------------------------------------------------------


def test_every_catalogue_rule_appears_exactly_once_in_catalogue_order() -> None:
    assert [rule.rule_id for rule in RULES] == CATALOGUE_IDS


def test_every_rule_carries_trigger_action_timeframe_source_and_evidence_tag() -> None:
    for rule in RULES:
        assert rule.trigger and rule.action and rule.timeframe and rule.source, rule.rule_id
        assert re.search(r"\[[CSU]\]", rule.evidence_tag), rule.rule_id
        assert re.search(r"\[[CSU]\]", rule.source), rule.rule_id


@pytest.mark.parametrize(
    ("rule_id", "tier"),
    [
        ("RF_CES", "EMERGENCY"),
        ("RF_CES_POSSIBLE", "URGENT"),
        ("RF_PROGRESSIVE_NEURO", "EMERGENCY"),
        ("RF_NEW_NEURO_DEFICIT", "URGENT"),
        ("RF_SEVERE_MOTOR_STABLE", "URGENT"),
        ("RF_MSCC", "EMERGENCY"),
        ("RF_MALIGNANCY_CANCER_HX", "URGENT"),
        ("RF_MALIGNANCY_SUSPECTED", "URGENT"),
        ("RF_INFECTION", "EMERGENCY"),
        ("RF_SYSTEMIC_FEATURES", "URGENT"),
        ("RF_INFECTION_RISK", "URGENT"),
        ("RF_FRACTURE", "URGENT"),
        ("RF_FRACTURE_MAJOR_TRAUMA", "EMERGENCY"),
        ("RF_AAA", "EMERGENCY"),
        ("RF_VASCULAR_CLAUDICATION", "ROUTINE_REVIEW"),
        ("RF_CRITICAL_LIMB_ISCHAEMIA", "URGENT"),
        ("RF_PERSISTENT_NO_IMPROVEMENT", "ROUTINE_REVIEW"),
        ("RF_WALKING_DECLINE", "ROUTINE_REVIEW"),
        ("RF_DIARY_NOT_SETTLING", "ROUTINE_REVIEW"),
    ],
)
def test_each_rule_has_the_catalogue_tier_by_default(rule_id: str, tier: str) -> None:
    rule = next(rule for rule in RULES if rule.rule_id == rule_id)
    assert rule.tier_for(RuleSettings()) == tier


def test_a_clinic_may_raise_possible_ces_to_an_emergency() -> None:
    settings = RuleSettings(ces_possible_tier="EMERGENCY")
    result = screen(make_patient(), [make_visit(sexual_dysfunction="new")], settings)
    assert result.urgency is Urgency.EMERGENCY
    assert [(f.rule_id, f.tier) for f in result.flags] == [("RF_CES_POSSIBLE", Urgency.EMERGENCY)]


def test_the_malignancy_age_cut_off_follows_the_settings() -> None:
    patient = make_patient(birth_date=aged(55))
    visits = [make_visit(unexplained_weight_loss=True)]
    assert "RF_MALIGNANCY_SUSPECTED" in fired_ids(patient, visits)
    assert "RF_MALIGNANCY_SUSPECTED" not in fired_ids(
        patient, visits, RuleSettings(malignancy_age_over_years=60)
    )


# --- Overall result ----------------------------------------------------------------------------------


def test_a_fully_answered_clean_visit_fires_nothing() -> None:
    result = screen(make_patient(), [make_visit(pain_nrs=4, leg_weakness_mrc=5, temperature_c=36.8)])
    assert result.urgency is Urgency.NONE
    assert result.flags == []
    assert result.not_asked == []
    assert result.notes == []
    assert result.claudication_pattern == "none"
    assert "No rule fired" in result.headline and "safe" not in result.headline.lower()


def test_flags_come_most_urgent_first_and_set_the_overall_urgency() -> None:
    visit = make_visit(leg_pain_on_walking=True, fever=True, pulsatile_abdominal_mass=True)
    result = screen(make_patient(), [visit])
    assert [f.rule_id for f in result.flags] == ["RF_AAA", "RF_SYSTEMIC_FEATURES", "RF_VASCULAR_CLAUDICATION"]
    assert result.urgency is Urgency.EMERGENCY
    assert result.claudication_pattern == "indeterminate"


def test_urgency_is_a_string_enum_ordered_by_tier() -> None:
    assert Urgency.EMERGENCY > Urgency.URGENT > Urgency.ROUTINE_REVIEW > Urgency.NONE
    assert Urgency.URGENT == "URGENT"
    assert max([Urgency.ROUTINE_REVIEW, Urgency.EMERGENCY, Urgency.NONE]) is Urgency.EMERGENCY
    assert Urgency.ROUTINE_REVIEW < "URGENT"


def test_screening_without_visits_is_refused() -> None:
    with pytest.raises(ValueError, match="visit"):
        screen(make_patient(), [])


def test_screening_only_archived_visits_is_refused() -> None:
    with pytest.raises(ValueError, match="visit"):
        screen(make_patient(), [make_visit(archived=True)])


# --- Which visits, and in which order --------------------------------------------------------------


def test_an_archived_latest_visit_is_ignored() -> None:
    visits = [make_visit(), make_visit(day=3, saddle_anaesthesia="new", archived=True)]
    assert screen(make_patient(), visits).urgency is Urgency.NONE


def test_an_archived_earlier_grade_is_not_used_for_an_mrc_drop() -> None:
    visits = [make_visit(leg_weakness_mrc=5, archived=True), make_visit(day=7, leg_weakness_mrc=4)]
    assert "RF_PROGRESSIVE_NEURO" not in fired_ids(make_patient(), visits)


def test_visit_order_does_not_change_the_result() -> None:
    visits = [
        make_visit(pain_nrs=7, leg_weakness_mrc=5, **SPWT, walk_total_m=900),
        make_visit(day=20, pain_nrs=7, leg_weakness_mrc=5, night_pain=True),
        make_visit(day=44, pain_nrs=7, leg_weakness="stable", leg_weakness_mrc=4, **SPWT, walk_total_m=400),
    ]
    patient = make_patient(birth_date=aged(52))
    results = [screen(patient, list(order)) for order in itertools.permutations(visits)]
    assert all(result == results[0] for result in results)
    assert {f.rule_id for f in results[0].flags} >= {
        "RF_PROGRESSIVE_NEURO",
        "RF_MALIGNANCY_SUSPECTED",
        "RF_PERSISTENT_NO_IMPROVEMENT",
        "RF_WALKING_DECLINE",
    }


def test_two_visits_on_one_day_are_ordered_by_recorded_at() -> None:
    morning = dt.datetime(2024, 3, 4, 9, tzinfo=dt.UTC)
    afternoon = dt.datetime(2024, 3, 4, 15, tzinfo=dt.UTC)
    alarming = make_visit(saddle_anaesthesia="new", recorded_at=morning)
    calm = make_visit(recorded_at=afternoon)
    assert screen(make_patient(), [calm, alarming]).urgency is Urgency.NONE
    later_alarming = alarming.model_copy(update={"recorded_at": afternoon})
    calm_earlier = calm.model_copy(update={"recorded_at": morning})
    assert screen(make_patient(), [later_alarming, calm_earlier]).urgency is Urgency.EMERGENCY


def test_an_unsaved_visit_is_the_newest_of_its_day() -> None:
    saved = make_visit(recorded_at=dt.datetime(2024, 3, 4, 9, tzinfo=dt.UTC))
    being_saved = make_visit(saddle_anaesthesia="new")
    assert screen(make_patient(), [being_saved, saved]).urgency is Urgency.EMERGENCY


def test_screening_answers_are_never_carried_forward() -> None:
    visits = [make_visit(saddle_anaesthesia="new"), make_visit(day=7, saddle_anaesthesia=None)]
    result = screen(make_patient(), visits)
    assert "RF_CES" not in [f.rule_id for f in result.flags]
    assert result.not_asked[0] == "saddle_anaesthesia"


def test_facts_derive_age_onset_care_days_and_nrs_gain() -> None:
    patient = make_patient(birth_date=dt.date(1970, 3, 5))
    visits = [make_visit(pain_nrs=7), make_visit(day=10, pain_nrs=4)]
    facts = derive_facts(patient, visits)
    assert (facts.age, facts.days_since_onset, facts.care_days) == (54, 40, 10)
    assert (facts.nrs_baseline, facts.nrs_current, facts.nrs_gain) == (7, 4, 3)
    assert facts.improved and not facts.not_improved


def test_nrs_gain_needs_a_baseline_from_an_earlier_visit() -> None:
    facts = derive_facts(make_patient(), [make_visit(), make_visit(day=10, pain_nrs=4)])
    assert (facts.nrs_baseline, facts.nrs_gain) == (4, None)


# --- Unanswered questions and missing measurements ---------------------------------------------------


def test_unanswered_questions_never_fire_a_rule() -> None:
    result = screen(make_patient(), [make_visit(**UNANSWERED)])
    assert result.flags == []
    assert result.urgency is Urgency.NONE


def test_not_asked_lists_every_question_that_could_raise_the_tier_most_urgent_first() -> None:
    result = screen(make_patient(), [make_visit(**UNANSWERED)])
    assert result.not_asked == [
        *CES_CORE,
        "trauma",
        "pulsatile_abdominal_mass",
        "sexual_dysfunction",
        "fever",
        "systemically_unwell",
        "rest_pain_or_tissue_loss",
    ]


def test_not_asked_lists_the_ces_core_even_when_the_tier_is_already_an_emergency() -> None:
    visit = make_visit(**(UNANSWERED | {"pulsatile_abdominal_mass": True}))
    result = screen(make_patient(), [visit])
    assert result.urgency is Urgency.EMERGENCY
    assert result.not_asked == CES_CORE


def test_not_asked_leaves_out_questions_that_cannot_raise_the_tier() -> None:
    result = screen(make_patient(), [make_visit(fever=None, trauma="minor", pulsatile_abdominal_mass=True)])
    assert result.not_asked == []


def test_a_second_malignancy_feature_is_asked_for_when_one_is_present() -> None:
    result = screen(make_patient(birth_date=aged(60)), [make_visit(night_pain=None)])
    assert result.not_asked == ["night_pain"]


def test_no_improvement_in_the_history_counts_as_a_malignancy_feature_when_deciding_what_to_ask() -> None:
    # Pain unchanged after 35 days of care is one malignancy feature (from the change evidence of
    # the whole history); night pain would be the second, so it is asked.
    visits = [make_visit(pain_nrs=6), make_visit(day=35, pain_nrs=6, night_pain=None)]
    result = screen(make_patient(), visits)
    assert result.urgency < Urgency.URGENT
    assert result.not_asked == ["night_pain"]
    with_night_pain = [visits[0], make_visit(day=35, pain_nrs=6, night_pain=True)]
    assert "RF_MALIGNANCY_SUSPECTED" in fired_ids(make_patient(), with_night_pain)


def test_an_unanswered_question_does_not_silence_another_rule() -> None:
    saddle = make_visit(**(UNANSWERED | {"saddle_anaesthesia": "new"}))
    assert fired_ids(make_patient(), [saddle]) == ["RF_CES"]
    feverish = make_visit(**(UNANSWERED | {"fever": True}))
    assert fired_ids(make_patient(iv_drug_use=True), [feverish]) == ["RF_INFECTION"]


def test_new_weakness_without_an_mrc_grade_asks_for_one() -> None:
    result = screen(make_patient(), [make_visit(leg_weakness="new")])
    (flag,) = result.flags
    assert flag.rule_id == "RF_NEW_NEURO_DEFICIT"
    assert "MRC grade not recorded" in flag.reason and "grade" in flag.reason
    assert any("leg_weakness_mrc" in note for note in result.notes)


def test_new_weakness_with_an_mrc_grade_has_no_data_quality_note() -> None:
    result = screen(make_patient(), [make_visit(leg_weakness="new", leg_weakness_mrc=4)])
    assert "not recorded" not in result.flags[0].reason
    assert result.notes == []


def test_a_risk_factor_without_a_temperature_is_noted() -> None:
    result = screen(make_patient(immunosuppressed=True), [make_visit()])
    assert any("temperature_c" in note for note in result.notes)


def test_a_walking_test_without_its_primary_result_is_noted() -> None:
    result = screen(make_patient(), [make_visit(walk_protocol="6mwt", walk_onset_m=80)])
    assert any("6mwt" in note for note in result.notes)
    assert result.flags == []


def test_a_timed_spwt_is_a_walking_record_and_needs_no_note() -> None:
    result = screen(make_patient(), [make_visit(walk_protocol="spwt", walk_onset_min=4, walk_total_min=9)])
    assert not any("walking test" in note for note in result.notes)


# --- Reason texts -----------------------------------------------------------------------------------


def reason(rule_id: str, patient: Patient, visits: list[Visit]) -> str:
    return next(f.reason for f in screen(patient, visits).flags if f.rule_id == rule_id)


def test_the_ces_reason_names_the_values_that_fired_it() -> None:
    text = reason(
        "RF_CES", make_patient(), [make_visit(saddle_anaesthesia="new", bladder_dysfunction="worsening")]
    )
    assert "saddle anaesthesia: new" in text and "bladder dysfunction: worsening" in text


ONE_WEEK = "whole-spine MRI within 1 week"


def cancer_row(sentence: str, visits: list[dict[str, Any]], present: list[str], absent: list[str]) -> Any:
    """One RF_MALIGNANCY_CANCER_HX reason row: visit specs, phrases the reason names and must not."""
    return pytest.param(visits, present, absent, id=sentence)


CANCER_REASON_TABLE = [
    cancer_row(
        "pain_up_two_points_since_the_previous_visit_is_worsening_pain_with_one_week_mri",
        [{"pain_nrs": 4}, {"day": 7, "pain_nrs": 6}],
        ["worsening pain (NRS 4 → 6 since the previous visit)", ONE_WEEK, "within 24 h", "NG234"],
        ["within 2 weeks"],
    ),
    cancer_row(
        "pain_up_one_point_is_not_worsening_and_reads_two_weeks",
        [{"pain_nrs": 4}, {"day": 7, "pain_nrs": 5}],
        ["urgent review within 2 weeks"],
        ["worsening pain (NRS"],
    ),
    cancer_row(
        "pain_up_two_points_since_the_baseline_over_several_visits_is_worsening",
        [{"pain_nrs": 3}, {"day": 7, "pain_nrs": 4}, {"day": 14, "pain_nrs": 5}],
        ["worsening pain (NRS 3 → 5 since the baseline)", ONE_WEEK],
        ["within 2 weeks"],
    ),
    cancer_row(
        "pain_falling_is_not_worsening",
        [{"pain_nrs": 8}, {"day": 7, "pain_nrs": 2}],
        ["urgent review within 2 weeks"],
        ["worsening pain (NRS"],
    ),
    cancer_row(
        "a_first_visit_says_worsening_cannot_be_judged",
        [{"pain_nrs": 9}],
        ["cannot be judged at a first visit", "urgent review within 2 weeks"],
        ["worsening pain (NRS"],
    ),
    cancer_row(
        "night_pain_alone_gives_the_24_hour_and_one_week_timeframe",
        [{"night_pain": True}],
        ["night pain", ONE_WEEK, "within 24 h"],
        ["urgent review within 2 weeks"],
    ),
    cancer_row(
        "sudden_severe_pain_is_named",
        [{"sudden_severe_pain": True}],
        ["sudden severe pain", ONE_WEEK],
        [],
    ),
    cancer_row(
        "the_features_no_field_holds_are_always_asked_about",
        [{}],
        ["thoracic or cervical pain", "worse on straining", "localised spinal tenderness"],
        ["CG75"],
    ),
]


@pytest.mark.parametrize(("visits", "present", "absent"), CANCER_REASON_TABLE)
def test_the_cancer_history_reason_names_the_pain_features_and_their_timeframe(
    visits: list[dict[str, Any]], present: list[str], absent: list[str]
) -> None:
    text = reason(
        "RF_MALIGNANCY_CANCER_HX", make_patient(history_of_cancer=True), [make_visit(**v) for v in visits]
    )
    for phrase in present:
        assert phrase in text
    for phrase in absent:
        assert phrase not in text


def test_the_mscc_rules_cite_ng234_which_replaced_cg75() -> None:
    for rule_id in ("RF_MSCC", "RF_MALIGNANCY_CANCER_HX"):
        rule = next(r for r in RULES if r.rule_id == rule_id)
        assert "NG234" in rule.source
    cancer_hx = next(r for r in RULES if r.rule_id == "RF_MALIGNANCY_CANCER_HX")
    assert "MRI within 1 week" in cancer_hx.timeframe


def test_the_mscc_reason_names_the_neurological_features() -> None:
    visits = [make_visit(difficulty_walking_new=True, new_radicular_pain=True)]
    text = reason("RF_MSCC", make_patient(history_of_cancer=True), visits)
    assert "new difficulty walking" in text and "new radicular pain" in text


def test_the_walking_decline_reason_gives_the_fall_and_both_results() -> None:
    visits = [make_visit(**SPWT, walk_total_m=1000), make_visit(day=7, **SPWT, walk_total_m=400)]
    text = reason("RF_WALKING_DECLINE", make_patient(), visits)
    assert "60%" in text and "1000 m" in text and "400 m" in text


def test_the_persistence_reason_names_the_measure_that_did_not_improve() -> None:
    visits = [make_visit(pain_nrs=6), make_visit(day=50, pain_nrs=6)]
    text = reason("RF_PERSISTENT_NO_IMPROVEMENT", make_patient(), visits)
    assert "50 days" in text and "6 → 6" in text


def test_the_disclaimer_says_decision_support_and_never_safe() -> None:
    assert "registered clinician" in DISCLAIMER and "not a diagnosis" in DISCLAIMER
    assert "no rule fired" in DISCLAIMER and 'never "safe"' in DISCLAIMER


# --- Versioning, storage and documentation ----------------------------------------------------------


def test_rule_set_version_is_a_short_stable_hash() -> None:
    assert re.fullmatch(r"[0-9a-f]{12}", rule_set_version(RuleSettings()))
    assert rule_set_version(RuleSettings()) == rule_set_version(RuleSettings())
    assert screen(make_patient(), [make_visit()]).rule_set_version == rule_set_version(RuleSettings())


@pytest.mark.parametrize(
    "change",
    [
        {"ces_possible_tier": "EMERGENCY"},
        {"malignancy_age_over_years": 60},
        {"fracture_age_over_years": 65},
        {"failure_to_improve_days": 21},
        {"persistent_no_improvement_days": 56},
        {"walking_decline_fraction": 0.4},
        {"diary_green_max": 2},
        {"diary_amber_max": 6},
    ],
)
def test_rule_set_version_changes_when_a_setting_changes(change: dict[str, Any]) -> None:
    changed = dataclasses.replace(RuleSettings(), **change)
    assert rule_set_version(changed) != rule_set_version(RuleSettings())


def test_to_screening_stores_the_result() -> None:
    result = screen(make_patient(history_of_cancer=True), [make_visit(**(UNANSWERED | {"night_pain": True}))])
    stored = to_screening(result, patient_id="p1", visit_id="v1")
    assert isinstance(stored, Screening)
    assert (stored.patient_id, stored.visit_id, stored.urgency) == ("p1", "v1", "URGENT")
    assert [f.rule_id for f in stored.flags] == ["RF_MALIGNANCY_CANCER_HX"]
    assert stored.flags[0].tier == "URGENT" and stored.flags[0].evidence_tag.startswith("[S]")
    assert stored.not_asked == result.not_asked and stored.not_asked[:5] == CES_CORE
    assert stored.rule_set_version == result.rule_set_version


def test_rules_markdown_has_one_row_per_rule_with_settings_filled_in() -> None:
    text = rules_markdown(RuleSettings(malignancy_age_over_years=60))
    rows = [line for line in text.splitlines() if line.startswith("| `RF_")]
    assert [line.split("`")[1] for line in rows] == CATALOGUE_IDS
    assert "age over 60" in text and "{" not in text
    assert "more than 50%" in rules_markdown()


# --- Properties of random visits ---------------------------------------------------------------------

CHANGE4 = ["none", "new", "worsening", "chronic_stable"]
ANSWER_VALUES: dict[str, list[Any]] = {field: [False, True] for field in SCREENING_FIELDS} | {
    "saddle_anaesthesia": CHANGE4,
    "bladder_dysfunction": CHANGE4,
    "bowel_dysfunction": CHANGE4,
    "sexual_dysfunction": CHANGE4,
    "bilateral_radicular_pain": CHANGE4,
    "leg_weakness": ["none", "new", "stable", "progressive"],
    "trauma": ["none", "minor", "major"],
}
NEGATIVE: dict[str, Any] = {field: values[0] for field, values in ANSWER_VALUES.items()}
POSITIVE: dict[str, Any] = {
    field: {"leg_weakness": "progressive", "trauma": "major"}.get(field, values[1])
    for field, values in ANSWER_VALUES.items()
}


@st.composite
def random_visit(draw: st.DrawFn, index: int) -> Visit:
    fields: dict[str, Any] = {
        field: draw(st.none() | st.sampled_from(values)) for field, values in ANSWER_VALUES.items()
    }
    fields |= {
        "visit_date": START + dt.timedelta(days=draw(st.integers(0, 90))),
        "recorded_at": dt.datetime(2024, 6, 1, tzinfo=dt.UTC) + dt.timedelta(minutes=index),
        "id": f"v{index}",
        "archived": index > 0 and draw(st.booleans()),
        "pain_nrs": draw(st.none() | st.integers(0, 10)),
        "leg_weakness_mrc": draw(st.none() | st.integers(0, 5)),
        "temperature_c": draw(st.none() | st.floats(35.0, 41.0)),
        "odi_sections": draw(st.none() | st.lists(st.none() | st.integers(0, 5), min_size=10, max_size=10)),
        "leg_pain_on_walking": draw(st.none() | st.booleans()),
        "relief": draw(st.none() | st.sampled_from(["sitting_or_flexion", "standing_still", "none"])),
        "symptom_location": draw(st.none() | st.sampled_from(["buttock_thigh", "calf", "mixed", "none"])),
        "pedal_pulses": draw(st.sampled_from(["normal", "reduced_or_absent", "not_assessed"])),
    }
    protocol = draw(st.none() | st.sampled_from(["spwt", "treadmill_1_2mph", "6mwt", "reported"]))
    if protocol is not None:
        amount = draw(st.none() | st.floats(0.0, 6.0))
        unit = "walk_total_m" if protocol in ("spwt", "6mwt") else "walk_total_min"
        fields |= {
            "walk_protocol": protocol,
            unit: None if amount is None else amount * (150 if unit == "walk_total_m" else 1),
            "walk_stop_reason": draw(
                st.none() | st.sampled_from(["symptoms", "fatigue", "time_cap", "other"])
            ),
        }
    return Visit(**fields)


@st.composite
def random_case(draw: st.DrawFn) -> tuple[Patient, list[Visit]]:
    risks = {
        name: draw(st.booleans())
        for name in (
            "history_of_cancer",
            "osteoporosis",
            "prolonged_corticosteroids",
            "immunosuppressed",
            "iv_drug_use",
        )
    }
    patient = make_patient(birth_date=aged(draw(st.integers(18, 95))), **risks)
    count = draw(st.integers(1, 4))
    return patient, [draw(random_visit(index)) for index in range(count)]


def latest_of(visits: list[Visit]) -> Visit:
    return max((v for v in visits if not v.archived), key=lambda v: (v.visit_date, v.recorded_at))


def answered(visits: list[Visit], field: str, value: Any) -> list[Visit]:
    latest = latest_of(visits)
    changed = Visit.model_validate(latest.model_dump() | {field: value})
    return [changed if v is latest else v for v in visits]


PROPERTY_SETTINGS = hypothesis_settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@PROPERTY_SETTINGS
@given(random_case())
def test_screen_never_raises_and_urgency_is_the_highest_flag(case: tuple[Patient, list[Visit]]) -> None:
    patient, visits = case
    result = screen(patient, visits)
    assert result.urgency == max((f.tier for f in result.flags), default=Urgency.NONE)
    assert [f.tier for f in result.flags] == sorted((f.tier for f in result.flags), reverse=True)
    assert set(result.not_asked) <= {f for f in SCREENING_FIELDS if getattr(latest_of(visits), f) is None}


@PROPERTY_SETTINGS
@given(random_case())
def test_answering_a_not_asked_question_no_never_raises_the_tier(case: tuple[Patient, list[Visit]]) -> None:
    patient, visits = case
    result = screen(patient, visits)
    for field in result.not_asked:
        assert screen(patient, answered(visits, field, NEGATIVE[field])).urgency <= result.urgency
        if field not in CES_CORE:
            assert screen(patient, answered(visits, field, POSITIVE[field])).urgency > result.urgency


@PROPERTY_SETTINGS
@given(random_case())
def test_not_asked_holds_exactly_the_questions_whose_positive_answer_would_raise_the_tier(
    case: tuple[Patient, list[Visit]],
) -> None:
    # The what-if screens behind not_asked reuse the history's change evidence; a full screen of
    # the visit answered positively must reach the same verdict for every unanswered question.
    patient, visits = case
    result = screen(patient, visits)
    latest = latest_of(visits)
    for field in SCREENING_FIELDS:
        if getattr(latest, field) is not None or field in CES_CORE:
            continue
        raised = screen(patient, answered(visits, field, POSITIVE[field])).urgency > result.urgency
        assert (field in result.not_asked) == raised, field


def test_a_walking_decline_across_a_recent_discharge_is_seen_through_the_look_back() -> None:
    earlier = factories.make_visit(0, walk_protocol="spwt", walk_total_m=400.0, episode_id="old")
    latest = factories.make_visit(40, walk_protocol="spwt", walk_total_m=100.0, episode_id="new")
    patient = factories.make_patient()
    without = screen(patient, [latest])
    with_lookback = screen(patient, [latest], lookback=[earlier])
    assert "RF_WALKING_DECLINE" not in {f.rule_id for f in without.flags}
    assert "RF_WALKING_DECLINE" in {f.rule_id for f in with_lookback.flags}
    assert any("previous episode's last visit" in note for note in with_lookback.notes)


def test_the_look_back_never_becomes_the_current_episodes_baseline() -> None:
    earlier = factories.make_visit(0, pain_nrs=9, episode_id="old")
    latest = factories.make_visit(40, pain_nrs=8, episode_id="new")
    facts = derive_facts(factories.make_patient(), [latest])
    result = screen(factories.make_patient(), [latest], lookback=[earlier])
    assert facts.nrs_baseline == 8 and facts.visit_count == 1
    assert "RF_PERSISTENT_NO_IMPROVEMENT" not in {f.rule_id for f in result.flags}
