"""Settings are read once from STRIDE_* environment variables, each declared beside its default."""

from __future__ import annotations

from dataclasses import fields

import pytest

from dashboard.config import RuleSettings, Settings, load_settings, settings_names
from dashboard.patient_reported import DiaryThresholds


def test_every_setting_but_the_rule_settings_has_its_own_environment_variable() -> None:
    names = settings_names()
    assert set(names) == {f.name for f in fields(Settings)} - {"rules"}
    assert names["lockout_attempts"] == "STRIDE_LOCKOUT_ATTEMPTS" and list(names)[0] == "database_url"
    assert all(variable.startswith("STRIDE_") for variable in names.values())


def test_unset_or_empty_variables_keep_the_safe_defaults() -> None:
    assert load_settings({}) == Settings() == load_settings({"STRIDE_CLINIC_NAME": ""})


def test_a_set_variable_is_read_as_its_settings_type() -> None:
    settings = load_settings(
        {
            "STRIDE_CLINIC_NAME": "Elm Street Physio",
            "STRIDE_LOCKOUT_ATTEMPTS": "7",
            "STRIDE_SESSION_TIMEOUT_MIN": "22.5",
            "STRIDE_TRUST_FORWARDED_FOR": " Yes ",
            "STRIDE_RF_CES_POSSIBLE_EMERGENCY": "true",
        }
    )
    assert (settings.clinic_name, settings.lockout_attempts, settings.session_timeout_min) == (
        "Elm Street Physio",
        7,
        22.5,
    )
    assert settings.trust_forwarded_for is True and settings.rules.ces_possible_tier == "EMERGENCY"


def test_the_rule_settings_read_their_own_variables_and_keep_their_defaults() -> None:
    assert load_settings({}).rules == RuleSettings()
    rules = load_settings(
        {"STRIDE_DIARY_GREEN_MAX": "2", "STRIDE_DIARY_AMBER_MAX": "7", "STRIDE_RF_MALIGNANCY_AGE_OVER": "55"}
    ).rules
    assert (rules.diary_green_max, rules.diary_amber_max, rules.malignancy_age_over_years) == (2, 7, 55)
    assert rules.diary_thresholds == DiaryThresholds(green_max=2, amber_max=7)


def test_the_diary_thresholds_default_to_green_up_to_3_and_amber_up_to_5() -> None:
    assert RuleSettings().diary_thresholds == DiaryThresholds(green_max=3, amber_max=5)


def test_impossible_diary_thresholds_stop_the_settings_from_loading() -> None:
    with pytest.raises(ValueError, match="diary thresholds"):
        load_settings({"STRIDE_DIARY_GREEN_MAX": "6"})
