"""The visit form asks every screening question and maps widget values to visits and back faithfully."""

import datetime as dt

from dashboard.models import SCREENING_FIELDS, Visit
from dashboard.visit_form import ALL_NEGATIVE, SCREENING_GROUPS, form_state_from_visit, values_from_form_state
from tests.factories import make_visit


def test_every_screening_question_belongs_to_exactly_one_group():
    grouped = [field for group in SCREENING_GROUPS.values() for field in group["fields"]]
    assert sorted(grouped) == sorted(SCREENING_FIELDS)


def test_all_negative_answers_fire_no_rule_as_negatives():
    visit = make_visit(**ALL_NEGATIVE)
    assert all(getattr(visit, field) in (False, "none") for field in SCREENING_FIELDS)


def test_a_corrected_visit_round_trips_through_the_form_unchanged():
    visit = make_visit(
        pain_nrs=6,
        odi_sections=[1, 2, None, 3, 1, 0, 2, None, 1, 1],
        walk_protocol="spwt",
        walk_onset_min=4.5,
        walk_total_min=9.0,
        walk_total_m=610.0,
        startback={"q1": "agree", "q9": "slightly"},
        rmdq_items=[True] * 3 + [False] * 21,
        zcq_items={"q1": 3, "q7": 5, "q8": 2},
        psfs=[{"activity": "Walking to the shops", "score": 4}],
        posture_findings={"forward_lean"},
        saddle_anaesthesia="none",
        fever=False,
        notes="Walked with a trolley.",
    )
    state = form_state_from_visit(visit, "v_", copy_forward_only=False)
    again = Visit.model_validate(values_from_form_state(state, "v_"))
    assert again.clinical_dict() == visit.clinical_dict()


def test_a_follow_up_starts_with_only_the_copy_forward_fields():
    visit = make_visit(
        pain_nrs=6,
        walk_protocol="spwt",
        posture_findings={"forward_lean"},
        fever=True,
        psfs=[{"activity": "Gardening", "score": 3}],
    )
    values = values_from_form_state(form_state_from_visit(visit, "v_", copy_forward_only=True), "v_")
    assert values["walk_protocol"] == "spwt" and values["posture_findings"] == {"forward_lean"}
    assert values["psfs"] == [{"activity": "Gardening", "score": None}]  # names carried, scores empty
    assert values["pain_nrs"] is None and values["fever"] is None
    assert values["visit_date"] == dt.date.today()
