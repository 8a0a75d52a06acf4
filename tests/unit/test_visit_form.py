"""The visit form asks every screening question and maps widget values to visits and back faithfully."""

import datetime as dt
from typing import Any

import pytest
from pydantic import ValidationError

from dashboard.models import SCREENING_FIELDS, Visit, field_errors
from dashboard.visit_form import (
    ALL_NEGATIVE,
    FORM_LABELS,
    PATIENT_LABELS,
    SCREENING_GROUPS,
    error_message,
    form_state_from_visit,
    new_form_state,
    open_form,
    values_from_form_state,
    walking_metric_hint,
    walking_time_warnings,
)
from tests.factories import make_patient, make_visit


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


def visit_errors(**values: object) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        Visit.model_validate({"visit_date": dt.date.today(), **values})
    return {field: error_message(field, message) for field, message in field_errors(caught.value).items()}


def test_out_of_range_values_are_refused_with_the_forms_label_and_words():
    errors = visit_errors(
        visit_date=dt.date.today() + dt.timedelta(days=1),
        pain_nrs=11,
        walk_protocol="spwt",
        walk_onset_min=-1.5,
        notes="n" * 6000,
    )
    assert errors == {
        "visit_date": "Visit date must not be in the future",
        "pain_nrs": "Current pain, NPRS (0–10) must be at most 10",
        "walk_onset_min": "Time to first symptom (min) must be at least 0",
        "notes": "Notes can hold at most 5,000 characters (you entered 6,000)",
    }


def test_notes_of_exactly_five_thousand_characters_are_accepted():
    assert len(Visit(visit_date=dt.date.today(), notes="n" * 5000).notes) == 5000


def test_a_message_naming_another_field_names_it_by_its_label_too():
    errors = visit_errors(walk_protocol="6mwt", walk_onset_m=300.0, walk_total_m=200.0)
    expected = "Total distance (m) must not be less than Distance to first symptom (m)"
    assert errors == {"walk_total_m": expected}


def test_a_time_over_the_protocols_cap_names_the_protocol_by_its_label():
    errors = visit_errors(walk_protocol="6mwt", walk_total_min=9.0)
    expected = "Total time (min) must be at most 6 min (the 6-minute walk test"
    assert errors["walk_total_min"].startswith(expected)


def test_no_message_shows_an_internal_field_name():
    messages = [
        error_message(field, f"must not be less than {other}")
        for field in FORM_LABELS
        for other in ("walk_onset_m", "walk_onset_min", "visit_date")
    ]
    assert not [m for m in messages if "_" in m]
    assert error_message("symptom_onset", "must not be before birth_date", PATIENT_LABELS) == (
        "Symptom onset (this episode) must not be before Date of birth"
    )


@pytest.mark.parametrize(
    ("state", "words"),
    [
        ({"walk_protocol": "spwt", "walk_total_m": 400.0}, None),
        ({"walk_protocol": "spwt", "walk_total_min": 9.0}, "without a clinical judgement"),
        ({"walk_protocol": "6mwt", "walk_total_min": 6.0}, "will not be charted or compared"),
        ({"walk_protocol": "treadmill_1_2mph", "walk_total_min": 9.0}, None),
        ({"walk_protocol": None, "walk_total_min": 9.0}, None),
    ],
)
def test_the_form_says_what_is_lost_when_the_main_walking_measure_is_missing(
    state: dict[str, object], words: str | None
) -> None:
    hint = walking_metric_hint({f"v_{k}": v for k, v in state.items()}, "v_")
    if words is None:
        assert hint is None
    else:
        assert hint is not None and words in hint and hint.startswith("Total distance (m) not recorded")


def test_a_new_follow_up_form_copies_forward_and_asks_to_confirm_what_it_carried() -> None:
    patient = make_patient(id="p-1", next_review_date=dt.date(2025, 4, 1))
    previous = make_visit(id="v-1", walk_protocol="spwt", pain_nrs=6)
    state = new_form_state(patient, None, previous)
    assert state["v_form_id"] == "p-1:new"
    assert (state["v_walk_protocol"], state["v_pain_nrs"]) == ("spwt", None)
    assert state["v_carried_items"] == ["walking protocol"]
    assert state["v_carried_from"] == previous.visit_date.isoformat()
    assert (state["v_confirm_carried"], state["v_base_version"]) == (False, None)
    assert state["v_next_review_date"] == dt.date(2025, 4, 1)


def test_a_correction_form_holds_the_visit_and_the_version_it_corrects() -> None:
    visit = make_visit(id="v-1", pain_nrs=6, version=3)
    state = new_form_state(make_patient(id="p-1"), visit, None)
    assert (state["v_form_id"], state["v_pain_nrs"], state["v_base_version"]) == ("p-1:v-1", 6, 3)
    assert (state["v_carried_items"], state["v_carried_from"]) == ([], None)


def test_opening_another_patients_form_clears_the_old_one() -> None:
    session: dict[str, Any] = {"v_pain_nrs": 9, "v_form_id": "p-0:new", "patient_id": "p-0"}
    open_form(session, make_patient(id="p-1"), None, None)
    assert (session["v_form_id"], session["v_pain_nrs"], session["patient_id"]) == ("p-1:new", None, "p-0")


def test_values_streamlit_dropped_on_a_trip_to_another_page_are_put_back() -> None:
    patient = make_patient(id="p-1")
    session: dict[str, Any] = {}
    open_form(session, patient, None, None)
    session["v_pain_nrs"] = 4
    open_form(session, patient, None, None)  # the run that keeps a copy
    del session["v_pain_nrs"]  # a run of another page did not draw the widget
    open_form(session, patient, None, None)
    assert session["v_pain_nrs"] == 4


@pytest.mark.parametrize(
    ("state", "count"),
    [
        ({"walk_protocol": "spwt", "walk_onset_min": 430.0, "walk_total_min": 1200.0}, 2),  # "4:30", "12:00"
        ({"walk_protocol": "spwt", "walk_onset_min": 4.5, "walk_total_min": 30.0}, 0),  # at the cap
        ({"walk_protocol": "6mwt", "walk_total_min": 7.0}, 1),
        ({"walk_protocol": None, "walk_total_min": 430.0}, 0),  # no protocol, no cap to read against
    ],
)
def test_a_walking_time_over_the_protocols_cap_is_pointed_out_while_typing(
    state: dict[str, object], count: int
) -> None:
    warnings = walking_time_warnings({f"v_{k}": v for k, v in state.items()}, "v_")
    assert len(warnings) == count
    assert all("4 min 30 s is 4.5" in w and "minutes" in w for w in warnings)
