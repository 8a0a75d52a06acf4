"""The red-flag engine reads the walking diary between visits (clinical-reference §12.3): the diary rule's
tier, reason and action, the episode it reads, and properties of random diaries. Its boundary rows sit
in the rule table of tests/unit/test_red_flags.py."""

from __future__ import annotations

import functools

from hypothesis import given
from hypothesis import strategies as st

from dashboard.config import RuleSettings
from dashboard.patient_reported import DiaryEntry, not_settling
from dashboard.red_flags import RULES, Urgency, derive_facts, rule_set_version, rules_markdown, screen
from tests import factories
from tests.unit.test_red_flags import CLEAN_ANSWERS, PROPERTY_SETTINGS, START, make_patient

make_visit = functools.partial(factories.make_visit, start=START, episode_id="episode-1", **CLEAN_ANSWERS)
walk = functools.partial(factories.make_diary_entry, start=START)
TWO_REDS = (walk(1, 2, walked=25), walk(2, 7, walked=40), walk(4, 2, before=2, morning=4, walked=40))


def diary_flags(diary: tuple[DiaryEntry, ...], settings: RuleSettings | None = None) -> list[str]:
    result = screen(make_patient(), [make_visit()], settings, diary=diary)
    return [flag.rule_id for flag in result.flags]


def test_two_red_entries_alone_raise_a_routine_review_and_never_more() -> None:
    result = screen(make_patient(), [make_visit()], diary=TWO_REDS)
    assert result.urgency is Urgency.ROUTINE_REVIEW
    assert [(flag.rule_id, flag.tier) for flag in result.flags] == [
        ("RF_DIARY_NOT_SETTLING", Urgency.ROUTINE_REVIEW)
    ]


def test_the_reason_names_both_red_days_why_each_is_red_and_the_last_green_day() -> None:
    flag = screen(make_patient(), [make_visit()], diary=TWO_REDS).flags[0]
    assert flag.reason == (
        "two red walking-diary entries in a row (06 Mar 2024, 08 Mar 2024): pain 7/10 during the walk "
        "(red from 6); pain 4/10 the next morning, above 2/10 before the walk (24-hour rule); last green "
        "day: 25 min walked on 05 Mar 2024"
    )


def test_the_reason_says_when_the_episode_has_no_green_day_yet() -> None:
    flag = screen(make_patient(), [make_visit()], diary=(walk(1, 8), walk(2, 9))).flags[0]
    assert flag.reason.endswith("; no green day in this episode's diary yet")


def test_the_reason_reads_red_by_the_clinics_own_thresholds() -> None:
    stricter = RuleSettings(diary_green_max=2, diary_amber_max=4)
    flag = screen(make_patient(), [make_visit()], stricter, diary=(walk(1, 5), walk(2, 5))).flags[0]
    assert "pain 5/10 during the walk (red from 5)" in flag.reason


def test_the_action_eases_back_to_the_last_green_week_and_cites_the_reference() -> None:
    rule = next(rule for rule in RULES if rule.rule_id == "RF_DIARY_NOT_SETTLING")
    assert rule.action.startswith("Review the walking programme: ease back to the last green week")
    assert rule.timeframe == "At or before the next visit"
    assert rule.source == "clinical-reference §12.3; project convention [U]"


def test_a_diary_without_an_episode_counts_for_the_current_one() -> None:
    assert diary_flags((walk(1, 7, episode_id=None), walk(2, 7, episode_id="episode-1"))) == [
        "RF_DIARY_NOT_SETTLING"
    ]


def test_only_the_current_episodes_entries_are_the_latest_two() -> None:
    diary = (walk(1, 7, episode_id="episode-1"), walk(2, 7, episode_id="episode-1"))
    later_elsewhere = walk(3, 1, episode_id="other-episode")
    assert diary_flags((*diary, later_elsewhere)) == ["RF_DIARY_NOT_SETTLING"]


def test_facts_carry_the_latest_two_entries_by_walk_date() -> None:
    facts = derive_facts(make_patient(), [make_visit()], diary=TWO_REDS[::-1])
    assert facts.diary_latest == TWO_REDS[1:] and facts.diary_not_settling
    assert facts.diary_last_green == TWO_REDS[0]


def test_the_diary_rule_is_in_the_rule_set_version_and_the_readme_table() -> None:
    assert rule_set_version(RuleSettings(diary_amber_max=7)) != rule_set_version()
    assert "pain during the walk above 5 (green up to 3)" in rules_markdown()
    assert "above 7 (green up to 2)" in rules_markdown(RuleSettings(diary_green_max=2, diary_amber_max=7))


@st.composite
def random_diary(draw: st.DrawFn) -> tuple[DiaryEntry, ...]:
    days = draw(st.lists(st.integers(1, 40), unique=True, max_size=6))
    return tuple(
        walk(
            day,
            draw(st.integers(0, 10)),
            before=draw(st.integers(0, 10)),
            morning=draw(st.none() | st.integers(0, 10)),
        )
        for day in days
    )


@PROPERTY_SETTINGS
@given(random_diary(), st.integers(0, 10), st.integers(0, 10))
def test_a_diary_alone_fires_exactly_when_not_settling_and_never_above_routine_review(
    diary: tuple[DiaryEntry, ...], green_max: int, amber_extra: int
) -> None:
    settings = RuleSettings(diary_green_max=green_max, diary_amber_max=min(10, green_max + amber_extra))
    result = screen(make_patient(), [make_visit()], settings, diary=diary)
    fired = not_settling(diary, settings.diary_thresholds)
    assert [flag.rule_id for flag in result.flags] == (["RF_DIARY_NOT_SETTLING"] if fired else [])
    assert result.urgency <= Urgency.ROUTINE_REVIEW


def test_entries_on_the_visit_day_and_after_it_both_count() -> None:
    # The diary is kept between visits: a screening after the latest visit reads the days since.
    assert diary_flags((walk(0, 7), walk(10, 7))) == ["RF_DIARY_NOT_SETTLING"]
