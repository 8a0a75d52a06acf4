"""What the Outcomes page offers and says around the report: periods, filters, captions and downloads."""

from __future__ import annotations

import datetime as dt
from typing import Any

from dashboard import outcome_views
from dashboard.clinic_outcomes import TierTimeliness, clinic_outcomes
from dashboard.episodes import EpisodeOutcome
from dashboard.models import Episode
from dashboard.outcome_services import OutcomeFilters, OutcomesReport
from tests import factories

START, END = dt.date(2026, 10, 1), dt.date(2026, 12, 31)
IMPROVED = (7.0, 3.0, "important_improvement")


def discharged(**measures: Any) -> tuple[Episode, EpisodeOutcome]:
    """A discharged episode with these measures as (baseline, final, judge_change label)."""
    episode = factories.make_episode(status="discharged", discharge_date=END, discharge_reason="goals_met")
    return episode, factories.make_episode_outcome(**measures)


def report(
    *rows: tuple[Episode, EpisodeOutcome], timeliness: dict[str, TierTimeliness] | None = None
) -> OutcomesReport:
    outcomes = clinic_outcomes(list(rows), period_start=START, period_end=END)
    return OutcomesReport(outcomes, timeliness or {}, {}, {}, [])


def test_a_custom_period_starts_as_this_month_so_far() -> None:
    assert outcome_views.custom_period_defaults(dt.date(2026, 12, 4)) == (
        dt.date(2026, 12, 1),
        dt.date(2026, 12, 4),
    )


def test_everyone_leaves_a_filter_off_and_a_clinician_is_chosen_by_account_id() -> None:
    everyone = outcome_views.EVERYONE
    assert (
        outcome_views.filters_chosen({"Dr Ada": "u1"}, everyone, everyone, everyone, everyone)
        == OutcomeFilters()
    )
    assert outcome_views.filters_chosen(
        {"Dr Ada": "u1"}, "Dr Ada", "high", "< 50", everyone
    ) == OutcomeFilters(clinician_id="u1", startback_risk="high", age_band="< 50")


def test_the_heading_and_the_downloads_name_the_period_and_no_patient() -> None:
    outcomes = report().outcomes
    assert outcome_views.period_heading(outcomes) == "1 Oct 2026 to 31 Dec 2026"
    assert outcome_views.download_file_name(outcomes, "pdf") == "stride-outcomes-2026-10-01-2026-12-31.pdf"
    pdf = outcome_views.PDF_DOWNLOAD.button("outcomes_pdf", "r.pdf")
    assert (pdf["mime"], pdf["type"], pdf["on_click"]) == ("application/pdf", "primary", "ignore")
    assert outcome_views.CSV_DOWNLOAD.button("outcomes_csv", "r.csv")["mime"] == "text/csv"


def test_only_measures_with_a_complete_episode_are_offered_for_the_funnel() -> None:
    assert outcome_views.measures_with_data(report(discharged(pain_nrs=IMPROVED)).outcomes) == ["pain_nrs"]
    assert outcome_views.measures_with_data(report(discharged()).outcomes) == []


def test_timeliness_is_shown_only_when_a_red_flag_was_raised_in_the_period() -> None:
    quiet = TierTimeliness(
        "URGENT", n_events=0, n_within=0, n_late=0, n_pending=0, median_hours_to_close=None
    )
    raised = TierTimeliness(
        "EMERGENCY", n_events=1, n_within=1, n_late=0, n_pending=0, median_hours_to_close=2
    )
    assert not outcome_views.any_red_flag_raised(report(timeliness={"URGENT": quiet}))
    assert outcome_views.any_red_flag_raised(report(timeliness={"URGENT": quiet, "EMERGENCY": raised}))


def test_the_captions_name_the_funnel_statuses_and_the_shorter_rule_targets() -> None:
    assert "Spiegelhalter 2005" in outcome_views.funnel_caption()
    assert outcome_views.timeliness_caption().endswith(outcome_views.rule_target_note())
    assert outcome_views.MEASURE_CAPTION.startswith("Complete: a baseline and a later final value")


def test_a_cleared_period_control_falls_back_to_the_default_kind() -> None:
    assert outcome_views.period_kind(None) == outcome_views.DEFAULT_PERIOD_KIND == "Quarter"
    assert outcome_views.period_kind("Year") == "Year"


def test_the_headline_counts_discharged_complete_and_open_episodes() -> None:
    outcomes = report(discharged(pain_nrs=IMPROVED), discharged()).outcomes
    counts = outcome_views.headline_counts(outcomes)
    assert [(label, n) for label, n, _help in counts] == [
        ("Discharged in the period", 2),
        ("With a complete measure", 1),
        ("Episodes in progress (open)", 0),
    ]
    assert counts[2][2] == "Open episodes never enter a denominator."


def test_the_page_says_that_differences_can_reflect_case_mix() -> None:
    assert outcome_views.PAGE_CAPTION.endswith(outcome_views.CASE_MIX_NOTE)
    assert "Choose a longer period or clear a filter." in outcome_views.NOTHING_DISCHARGED
