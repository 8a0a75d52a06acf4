"""build_plan: advice chosen from the latest findings, the walking programme, the safety net."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from dashboard.config import Settings
from dashboard.plan import Plan, build_plan, never_recommend_hits
from dashboard.walking import GOAL_DAYS_PER_WEEK, GOAL_MIN_PER_DAY
from data.library import load_library
from tests.factories import make_patient, make_visit

LIBRARY = load_library()
NEUROGENIC: dict[str, Any] = {
    "leg_pain_on_walking": True,
    "relief": "sitting_or_flexion",
    "symptom_location": "buttock_thigh",
    "shopping_cart_sign": True,
}
HIGH_RISK_STARTBACK = {**{f"q{i}": "agree" for i in range(1, 9)}, "q9": "extremely"}
LOW_RISK_STARTBACK = {**{f"q{i}": "disagree" for i in range(1, 9)}, "q9": "slightly"}


def plan_for(*visits: Any, patient: Any = None, **options: Any) -> Plan:
    """A plan from the shipped library for the given visits (one empty visit by default)."""
    return build_plan(patient or make_patient(), list(visits) or [make_visit()], LIBRARY, **options)


def ids(plan: Plan, section: Any) -> list[str]:
    """Ids of the items chosen for one section."""
    return [item.id for item in plan.section(section)]


def exercise_ids(plan: Plan) -> list[str]:
    """Ids of the exercises chosen."""
    return [exercise.id for exercise in plan.exercises]


def spwt(onset_min: float, **fields: Any) -> Any:
    """A visit with a self-paced walking test whose first symptom came after `onset_min` minutes."""
    return make_visit(
        walk_protocol="spwt",
        walk_onset_min=onset_min,
        walk_total_min=onset_min,
        walk_stop_reason="symptoms",
        **fields,
    )


# --- Always there ----------------------------------------------------------------------------------


def test_a_plan_with_no_findings_still_has_core_messages_general_advice_and_a_flare_up_plan() -> None:
    plan = plan_for()
    assert ids(plan, "core") == ["back_pain_common", "pain_not_damage", "pace_and_build"]
    assert ids(plan, "posture") == ["posture_general"]
    assert ids(plan, "footwear") == ["footwear_general", "footwear_features"]
    assert ids(plan, "flare_up") == ["flare_up_plan", "flare_up_review"]


def test_the_safety_net_is_always_there_without_the_cancer_lines() -> None:
    assert ids(plan_for(), "safety_net") == [
        "safety_net_intro",
        "safety_net_emergency",
        "safety_net_collapse",
        "safety_net_same_day",
        "safety_net_review",
    ]


def test_the_cancer_lines_are_added_only_with_a_history_of_cancer() -> None:
    with_history = plan_for(patient=make_patient(history_of_cancer=True))
    assert "safety_net_cancer" in ids(with_history, "safety_net")
    assert "safety_net_cancer" not in ids(plan_for(), "safety_net")
    assert any("cancer" in line for line in with_history.summary)


def test_safety_net_services_are_filled_in_from_the_settings() -> None:
    settings = Settings(
        emergency_number="112", urgent_advice="your family doctor", emergency_department="the ER"
    )
    lines = " ".join(
        text for item in plan_for(settings=settings).safety_net for text in (item.title, *item.bullets)
    )
    assert "Go to the ER straight away, or call 112" in lines
    assert "your family doctor" in lines
    assert "{" not in lines and "999" not in lines


def test_the_plan_names_the_patient_clinician_clinic_and_library_version() -> None:
    plan = plan_for(clinician_name="Alex Rivera", plan_date=dt.date(2025, 3, 3))
    assert (plan.patient_display_name, plan.patient_ref) == ("Zoë Łukasz-Müller", "T-0001")
    assert (plan.clinician_name, plan.clinic_name) == ("Alex Rivera", Settings().clinic_name)
    assert plan.plan_date == dt.date(2025, 3, 3)
    assert plan.library_version == LIBRARY.version


def test_the_plan_date_defaults_to_today() -> None:
    assert plan_for().plan_date == dt.date.today()


# --- Findings select advice -----------------------------------------------------------------------


def test_a_posture_finding_adds_its_cue_to_the_general_one() -> None:
    plan = plan_for(make_visit(posture_findings={"forward_lean", "prolonged_standing_intolerance"}))
    assert ids(plan, "posture") == ["posture_general", "forward_lean", "prolonged_standing_intolerance"]


def test_a_footwear_finding_adds_its_comfort_line() -> None:
    assert ids(plan_for(make_visit(footwear_findings={"high_heel"})), "footwear") == [
        "footwear_general",
        "high_heel",
        "footwear_features",
    ]


def test_a_finding_the_library_does_not_know_is_reported_to_the_clinician_not_printed() -> None:
    plan = plan_for(make_visit(posture_findings={"slouching"}))
    assert ids(plan, "posture") == ["posture_general"]
    assert any("slouching" in line for line in plan.summary)


def test_only_the_latest_visit_findings_count() -> None:
    earlier = make_visit(visit_date=dt.date(2025, 2, 3), posture_findings={"forward_lean"})
    latest = make_visit(visit_date=dt.date(2025, 2, 17), posture_findings={"flat_back"})
    assert ids(plan_for(latest, earlier), "posture") == ["posture_general", "flat_back"]


def test_an_archived_visit_is_ignored() -> None:
    kept = make_visit(visit_date=dt.date(2025, 2, 3), posture_findings={"forward_lean"})
    archived = make_visit(visit_date=dt.date(2025, 2, 17), posture_findings={"flat_back"}, archived=True)
    assert ids(plan_for(kept, archived), "posture") == ["posture_general", "forward_lean"]


def test_a_neurogenic_pattern_gives_flexion_friendly_exercises_and_interval_walking() -> None:
    plan = plan_for(make_visit(**NEUROGENIC))
    assert plan.claudication_pattern == "neurogenic"
    assert exercise_ids(plan) == ["pelvic_tilt", "knee_to_chest", "exercise_bike"]
    assert all(exercise.flexion_friendly for exercise in plan.exercises)
    assert "walking_intervals" in ids(plan, "walking")


def test_a_follow_up_that_did_not_reassess_walking_symptoms_keeps_the_stenosis_tailoring() -> None:
    plan = plan_for(make_visit(0, **NEUROGENIC), make_visit(14, pain_nrs=3))
    assert plan.claudication_pattern == "neurogenic"
    assert exercise_ids(plan) == ["pelvic_tilt", "knee_to_chest", "exercise_bike"]
    assert "walking_intervals" in ids(plan, "walking")
    assert any("not re-assessed since" in line for line in plan.summary)


def test_the_why_panel_names_the_walking_symptoms_that_changed() -> None:
    plan = plan_for(make_visit(0, **NEUROGENIC), make_visit(14, **{**NEUROGENIC, "relief": "none"}))
    (line,) = [line for line in plan.summary if "changed since" in line]
    assert "what eases it" in line and "leg pain" not in line
    assert plan.claudication_pattern != "neurogenic"


def test_without_a_neurogenic_pattern_the_general_exercises_are_chosen() -> None:
    plan = plan_for()
    assert exercise_ids(plan) == ["pelvic_tilt", "bridge", "bird_dog", "plank", "open_book"]
    assert "walking_intervals" not in ids(plan, "walking")


def test_a_vascular_pattern_asks_the_clinician_for_a_gp_review() -> None:
    visit = make_visit(leg_pain_on_walking=True, relief="standing_still", symptom_location="calf")
    plan = plan_for(visit)
    assert plan.claudication_pattern == "vascular"
    assert any("ABPI" in line for line in plan.summary)


def test_a_high_startback_risk_adds_advice_about_worry_and_mood() -> None:
    plan = plan_for(make_visit(startback=HIGH_RISK_STARTBACK))
    assert plan.startback_risk == "high"
    assert "worries_and_mood" in ids(plan, "core")


def test_a_low_startback_risk_adds_reassurance() -> None:
    plan = plan_for(make_visit(startback=LOW_RISK_STARTBACK))
    assert ids(plan, "core")[-1] == "good_outlook"


def test_an_incomplete_startback_adds_no_risk_advice_and_says_so() -> None:
    plan = plan_for(make_visit(startback={"q1": "agree"}))
    assert plan.startback_risk is None
    assert {"good_outlook", "worries_and_mood"}.isdisjoint(ids(plan, "core"))
    assert any("STarT Back" in line for line in plan.summary)


def test_the_latest_complete_startback_is_used() -> None:
    first = make_visit(visit_date=dt.date(2025, 2, 3), startback=HIGH_RISK_STARTBACK)
    later = make_visit(visit_date=dt.date(2025, 2, 17))
    assert plan_for(first, later).startback_risk == "high"


# --- Walking programme ----------------------------------------------------------------------------


def test_the_programme_starts_a_little_below_the_latest_symptom_free_walk() -> None:
    plan = plan_for(spwt(10.0))
    assert plan.start_bout_min == pytest.approx(8.0)
    assert plan.walking_programme[0].bout_min == 8.0
    assert not plan.needs_start_bout


def test_the_programme_builds_week_by_week_towards_the_goal_and_stops_there() -> None:
    weeks = plan_for(spwt(5.0)).walking_programme
    totals = [week.weekly_total_min for week in weeks]
    assert [week.week for week in weeks] == list(range(1, len(weeks) + 1))
    assert totals == sorted(totals)
    assert totals[0] < totals[-1] <= GOAL_MIN_PER_DAY * GOAL_DAYS_PER_WEEK
    assert all(week.bout_min == int(week.bout_min) for week in weeks)


def test_without_any_walking_time_the_programme_waits_for_the_clinician() -> None:
    plan = plan_for()
    assert plan.walking_programme == []
    assert plan.needs_start_bout
    assert "walking_first_walk_to_agree" in ids(plan, "walking")
    assert any("first walk length" in line for line in plan.summary)


def test_the_clinician_can_set_the_first_walk_length() -> None:
    plan = plan_for(spwt(10.0), start_bout_min=3.0)
    assert plan.walking_programme[0].bout_min == 3.0
    assert any("set by the clinician" in line for line in plan.summary)


def test_short_first_walks_get_encouragement() -> None:
    assert "walking_short_start" in ids(plan_for(spwt(3.0)), "walking")


def test_a_patient_already_at_the_goal_is_told_to_keep_going() -> None:
    reported = make_visit(walk_protocol="reported", walk_total_min=45.0)
    assert "walking_goal_met" in ids(plan_for(reported), "walking")


@pytest.mark.parametrize("minutes", [0.0, -2.0, 500.0])
def test_an_impossible_first_walk_length_is_refused(minutes: float) -> None:
    with pytest.raises(ValueError, match="start_bout_min"):
        plan_for(start_bout_min=minutes)


def test_a_plan_needs_a_visit() -> None:
    with pytest.raises(ValueError, match="visits"):
        build_plan(make_patient(), [], LIBRARY)


# --- Record keeping and the never-recommend check -------------------------------------------------


def test_the_plan_survives_a_json_round_trip() -> None:
    plan = plan_for(spwt(6.0, **NEUROGENIC), patient=make_patient(history_of_cancer=True))
    plan.personal_note = "See you in two weeks."
    assert Plan.from_json(plan.to_json()) == plan


def test_the_plan_records_every_library_item_it_used() -> None:
    plan = plan_for(make_visit(**NEUROGENIC, footwear_findings={"poor_fit"}))
    used = plan.item_ids()
    assert "poor_fit" in used and "knee_to_chest" in used and "safety_net_emergency" in used
    assert len(used) == len(set(used))


def test_an_edited_dose_is_kept() -> None:
    plan = plan_for()
    plan.exercises[0].dose = "Twice a day, 5 times."
    assert Plan.from_json(plan.to_json()).exercises[0].dose == "Twice a day, 5 times."


def test_a_personal_note_mentioning_a_never_recommend_term_is_caught() -> None:
    plan = plan_for()
    plan.personal_note = "Wear your back brace on long walks."
    assert [hit for text in plan.patient_texts() for hit in never_recommend_hits(text)] == ["belt or corset"]


def test_a_freshly_built_plan_recommends_nothing_on_the_never_list() -> None:
    plan = plan_for(
        spwt(4.0, **NEUROGENIC, posture_findings=set(LIBRARY.posture_ids()), footwear_findings={"high_heel"}),
        patient=make_patient(history_of_cancer=True),
    )
    assert [hit for text in plan.patient_texts() for hit in never_recommend_hits(text)] == []
