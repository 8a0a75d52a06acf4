"""The content of letters (clinical-reference §13): what each letter must say, from stored records."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pytest

from dashboard import letters
from dashboard.config import Settings
from dashboard.episodes import episode_outcome
from dashboard.models import Escalation, Visit
from dashboard.outcomes import judge_change
from tests.factories import make_episode, make_patient, make_visit

SETTINGS = Settings()
NOW = dt.datetime(2025, 3, 3, 12, 0, tzinfo=dt.UTC)
PATIENT = make_patient(id="patient-1", osteoporosis=True)


def escalation(rule_id: str = "RF_CES", tier: str = "EMERGENCY", **overrides: object) -> Escalation:
    values: dict[str, object] = {
        "id": f"esc-{rule_id}",
        "patient_id": "patient-1",
        "rule_id": rule_id,
        "tier": tier,
        "reason": "possible cauda equina syndrome: saddle numbness new",
        "action": "Refer at once",
        "timeframe": "Seen within a few hours",
        "opened_at": NOW - dt.timedelta(hours=1),
    }
    return Escalation.model_validate({**values, **overrides})


def referral(escalations: list[Escalation], **overrides: object) -> letters.LetterContent:
    values: dict[str, object] = {
        "episode": make_episode(),
        "recipient": "emergency_department",
        "told": "Go to the emergency department now.",
        "told_at": NOW - dt.timedelta(minutes=30),
        "sender": "Carla Clinician",
        "settings": SETTINGS,
        "letter_date": NOW.date(),
    }
    visits = [
        make_visit(
            0, saddle_anaesthesia="new", bladder_dysfunction="none", leg_weakness="new", leg_weakness_mrc=4
        )
    ]
    return letters.referral_letter(PATIENT, escalations, visits, **{**values, **overrides})  # type: ignore[arg-type]


def text_of(content: letters.LetterContent) -> str:
    return "\n".join(content.texts())


def test_a_ces_referral_states_the_emergency_pathway() -> None:
    content = referral([escalation()])
    assert content.banner == letters.CES_PATHWAY
    assert "emergency MRI within 4 hours" in content.banner
    assert content.title == "Emergency referral: suspected cauda equina syndrome"


def test_a_referral_for_another_rule_has_no_ces_pathway() -> None:
    content = referral([escalation("RF_INFECTION", "URGENT", reason="possible spinal infection: fever")])
    assert content.banner == ""
    assert content.title == "Urgent referral: possible spinal infection"


def test_a_referral_letter_gives_rule_reason_history_told_when_and_sender() -> None:
    text = text_of(referral([escalation()]))
    for expected in (
        "RF_CES (",
        "possible cauda equina syndrome: saddle numbness new",
        "Risk factors recorded: Osteoporosis.",
        "Go to the emergency department now.",
        "Told on 3 Mar 2025, 11:30.",  # Europe/London is UTC in March
        "Carla Clinician",
    ):
        assert expected in text, expected


def test_a_referral_letter_says_what_was_not_asked_and_never_reads_it_as_no() -> None:
    content = referral([escalation()])
    (screening,) = [s for s in content.sections if s.heading == "Latest neurology and screening"]
    answers = dict(screening.table[1:])
    assert answers["Saddle sensation changed"] == "new"
    assert answers["Bladder function changed"] == "no"
    assert answers["Leg weakness"] == "new (MRC 4/5)"
    assert "Bowel function changed" not in answers
    assert "Bowel function changed" in screening.lines[1] and screening.lines[1].startswith("Not asked:")


def test_a_referral_letter_lists_the_most_urgent_rule_first_and_its_timeframe() -> None:
    content = referral([escalation(), escalation("RF_INFECTION", "URGENT", reason="fever")])
    (reasons,) = [s for s in content.sections if s.heading == "Reason for referral"]
    assert reasons.lines[0].startswith("RF_CES") and reasons.lines[1].startswith("RF_INFECTION")
    (timeframe,) = [s for s in content.sections if s.heading == "Timeframe"]
    assert "Seen within a few hours" in timeframe.lines[0]


@pytest.mark.parametrize(
    ("recipient", "told", "told_at", "field"),
    [
        (None, "Told", NOW, "recipient"),
        ("pharmacy", "Told", NOW, "recipient"),
        ("gp", "  ", NOW, "told"),
        ("gp", "x" * (letters.TOLD_MAX + 1), NOW, "told"),
        ("gp", "Told", None, "told_at"),
        ("gp", "Told", NOW + dt.timedelta(minutes=5), "told_at"),
    ],
)
def test_a_referral_request_with_a_gap_is_refused_at_its_field(
    recipient: str | None, told: str, told_at: dt.datetime | None, field: str
) -> None:
    assert set(letters.referral_problems(recipient, told, told_at, NOW)) == {field}


def test_a_complete_referral_request_has_no_problem() -> None:
    assert letters.referral_problems("gp", "Told", NOW, NOW) == {}


def discharged_summary(visits: list[Visit], flags: Sequence[Escalation] = ()) -> letters.LetterContent:
    episode = make_episode(
        status="discharged", discharge_date=visits[-1].visit_date, discharge_reason="goals_met"
    )
    return letters.discharge_summary(
        PATIENT,
        episode,
        visits,
        episode_outcome(PATIENT, episode, visits),
        list(flags),
        last_plan=letters.LastPlan(visits[-1].visit_date, "ab" * 32),
        sender="Carla Clinician",
        settings=SETTINGS,
        letter_date=visits[-1].visit_date,
    )


def test_the_discharge_summary_judges_each_measure_with_judge_change() -> None:
    visits = [
        make_visit(0, episode_id="episode-1", pain_nrs=8, odi_sections=[3] * 10),
        make_visit(40, episode_id="episode-1", pain_nrs=7, odi_sections=[1] * 10),
    ]
    (outcomes,) = [s for s in discharged_summary(visits).sections if s.heading == "Outcome measures"]
    rows = {row[0]: row for row in outcomes.table[1:]}
    assert rows["Pain now (NRS)"][3] == letters.judgement_words(judge_change("pain_nrs", 8, 7).label)
    assert rows["ODI"][3] == letters.judgement_words(judge_change("odi_percent", 60, 20).label)
    assert rows["ODI"][1:3] == ("60 % (3 Feb 2025)", "20 % (15 Mar 2025)")


def test_the_discharge_summary_shows_walking_per_protocol_and_never_judges_a_treadmill() -> None:
    visits = [
        make_visit(0, walk_protocol="treadmill_1_2mph", walk_total_min=4, walk_stop_reason="symptoms"),
        make_visit(7, walk_protocol="spwt", walk_total_m=300, walk_stop_reason="symptoms"),
        make_visit(30, walk_protocol="treadmill_1_2mph", walk_total_min=9, walk_stop_reason="symptoms"),
    ]
    (walking,) = [s for s in discharged_summary(visits).sections if s.heading == "Walking tolerance"]
    lines = "\n".join(walking.lines)
    assert "one walk only" in lines  # the SPWT is never compared with the treadmill
    assert "4 min (3 Feb 2025) → 9 min (5 Mar 2025): shown without a judgement" in lines


def test_the_discharge_summary_lists_every_escalation_still_open_and_how_others_were_closed() -> None:
    closed = escalation(
        "RF_INFECTION",
        "URGENT",
        status="closed",
        closed_at=NOW,
        close_action="urgent_referral",
        close_detail="Seen by GP",
    )
    visits = [make_visit(0, pain_nrs=5)]
    (flags,) = [
        s for s in discharged_summary(visits, [escalation(), closed]).sections if s.heading == "Red flags"
    ]
    assert flags.lines[0].startswith("STILL OPEN: RF_CES")
    assert "Closed 3 Mar 2025, 12:00: Urgent GP / specialist referral (Seen by GP)" in flags.lines[1]


def test_the_discharge_summary_names_the_last_plan_by_date_and_hash() -> None:
    (plan,) = [s for s in discharged_summary([make_visit(0)]).sections if s.heading == "Plan given"]
    assert plan.lines == ("Last plan given on 3 Feb 2025 (SHA-256 " + "ab" * 32 + ").",)


def test_the_chart_carries_pain_and_odi_on_their_own_scales() -> None:
    visits = [make_visit(0, pain_nrs=6, odi_sections=[2] * 10), make_visit(14, pain_nrs=4)]
    pain, odi = letters.chart_series(visits)
    assert (pain.scale_max, odi.scale_max) == (10.0, 100.0)
    assert [v for _, v in pain.points] == [6.0, 4.0] and [v for _, v in odi.points] == [40.0]
