"""The patient's check-in on the visit form: measurements pre-fill (marked, to confirm), screening
answers sit beside their questions and lead *ask now*, and never fill a question in (§12.1)."""

from __future__ import annotations

import datetime as dt

import pytest

from dashboard.page_keys import Visit as Keys
from dashboard.ports import InvalidInputError
from dashboard.presenters import FIELD_LABELS
from dashboard.report_services import latest_unreviewed
from dashboard.visit_form import new_form_state, reported_values
from dashboard.visit_views import (
    CONFIRM_REPORTED_LABEL,
    ask_now_first,
    patient_said,
    reported_caption,
    reported_notice,
    reported_psfs_caption,
    reported_to_confirm,
    save_visit,
)
from tests.factories import REPORT_ANSWERS, make_patient, make_patient_report, make_visit

K = Keys.PREFIX
REPORT = make_patient_report()
PATIENT = make_patient(id="patient-1")


def previous_visit(**overrides: object) -> object:
    return make_visit(
        psfs=[{"activity": "Climbing stairs", "score": 3}, {"activity": "Walking to the shop", "score": 2}],
        walk_protocol="spwt",
        **overrides,
    )


def test_a_new_form_starts_from_the_patients_measurements_and_no_screening_answer() -> None:
    state = new_form_state(PATIENT, None, None, REPORT)
    assert state[K + "pain_nrs"] == 6 and state[K + "pain_worst_nrs"] == 8
    assert state[K + "walk_protocol"] == "reported"
    assert (state[K + "walk_onset_min"], state[K + "walk_total_min"]) == (5.0, 12.0)
    assert state[K + "walk_stop_reason"] == "symptoms"
    assert state[K + "saddle_anaesthesia"] is None  # the patient's yes is shown, never filled in
    assert state[K + "bladder_dysfunction"] is None and state[K + "night_pain"] is None
    assert state[Keys.REPORT] is REPORT and state[Keys.CONFIRM_REPORTED] is False


def test_a_rating_goes_on_the_row_of_the_clinicians_activity_of_the_same_name() -> None:
    state = new_form_state(PATIENT, None, previous_visit(), REPORT)  # type: ignore[arg-type]
    assert state[K + "psfs_activity_1"] == "Walking to the shop" and state[K + "psfs_score_1"] == 4
    assert state[K + "psfs_score_0"] is None  # an activity the patient did not rate stays unrated


def test_a_rated_activity_the_form_does_not_list_takes_the_first_empty_row() -> None:
    state = {f"{K}psfs_activity_{i}": "" for i in range(5)} | {K + "psfs_activity_0": "Gardening"}
    values = reported_values(REPORT, state, K)
    assert values[K + "psfs_activity_1"] == "Walking to the shop" and values[K + "psfs_score_1"] == 4


def test_the_patients_walk_replaces_the_carried_protocol_and_is_not_called_carried() -> None:
    state = new_form_state(PATIENT, None, previous_visit(), REPORT)  # type: ignore[arg-type]
    assert state[K + "walk_protocol"] == "reported"
    assert "walking protocol" not in state[Keys.CARRIED_ITEMS]
    assert "PSFS activities" in state[Keys.CARRIED_ITEMS]


def test_a_correction_is_never_pre_filled_from_a_check_in() -> None:
    corrected = make_visit(id="visit-1", pain_nrs=3, version=1)
    state = new_form_state(PATIENT, corrected, None, REPORT)
    assert state[K + "pain_nrs"] == 3 and state[Keys.REPORT] is None


def test_each_pre_filled_field_is_marked_patient_reported_on_the_day_with_the_patients_value() -> None:
    assert reported_caption(REPORT, "pain_nrs") == "Patient-reported on 03 Dec 2025: 6"
    walk = reported_caption(REPORT, "walk_protocol")
    assert walk == "Patient-reported on 03 Dec 2025: Patient's own estimate"
    assert reported_caption(REPORT, "walk_total_min") == "Patient-reported on 03 Dec 2025: 12"
    assert reported_psfs_caption(REPORT, "Walking to the shop") == "Patient-reported on 03 Dec 2025: 4"
    assert reported_caption(REPORT, "walk_onset_m") is None and reported_caption(None, "pain_nrs") is None
    assert reported_psfs_caption(REPORT, "Climbing stairs") is None


def test_the_notice_names_what_was_pre_filled_and_the_box_to_tick() -> None:
    notice = reported_notice(REPORT)
    assert "patient-reported on 03 Dec 2025" in notice
    assert "current pain, worst pain, walking, PSFS ratings" in notice and CONFIRM_REPORTED_LABEL in notice


def test_a_check_in_without_measurements_asks_for_no_confirmation() -> None:
    screening_only = make_patient_report(answers={"saddle_anaesthesia": "none"})
    assert reported_to_confirm({Keys.REPORT: screening_only}) is None
    assert "has no measurements" in reported_notice(screening_only)
    assert reported_to_confirm({Keys.REPORT: REPORT}) is REPORT


@pytest.mark.parametrize(
    ("field", "said"),
    [
        ("saddle_anaesthesia", "Patient said yes on 03 Dec 2025"),
        ("bladder_dysfunction", "Patient said not sure on 03 Dec 2025"),
        ("night_pain", "Patient said no on 03 Dec 2025"),
        ("fever", None),  # not answered
        ("trauma", None),  # not a check-in question
    ],
)
def test_each_screening_question_shows_what_the_patient_said(field: str, said: str | None) -> None:
    assert patient_said(REPORT, field) == said


def test_yes_and_not_sure_answers_come_first_in_ask_now_and_no_answer_is_never_listed() -> None:
    saddle, bladder, fever = (FIELD_LABELS[f] for f in ("saddle_anaesthesia", "bladder_dysfunction", "fever"))
    ask_now = ask_now_first(REPORT, [fever, bladder])
    assert ask_now == [f"{saddle} (patient: yes)", f"{bladder} (patient: not sure)", fever]
    assert ask_now_first(None, ["Fever"]) == ["Fever"]


def test_only_the_newest_unreviewed_check_in_of_the_episode_is_pending() -> None:
    older = make_patient_report(id="r-old", submitted_at=REPORT.submitted_at - dt.timedelta(days=2))
    reviewed = make_patient_report(id="r-done", submitted_at=REPORT.submitted_at, reviewed_visit_id="v-1")
    other_episode = make_patient_report(id="r-other", episode_id="episode-0")
    assert latest_unreviewed([older, REPORT, reviewed, other_episode], "episode-1") is REPORT
    assert latest_unreviewed([reviewed, other_episode], "episode-1") is None


def test_saving_without_confirming_the_patients_values_is_refused_by_field_before_any_store() -> None:
    state = {Keys.REPORT: REPORT, Keys.CONFIRM_REPORTED: False}
    with pytest.raises(InvalidInputError) as refused:
        save_visit(None, None, None, PATIENT, None, {}, state)  # type: ignore[arg-type]
    assert set(refused.value.errors) == {"confirm_reported"}


def test_the_stored_answers_are_left_as_they_were() -> None:
    new_form_state(PATIENT, None, previous_visit(), REPORT)  # type: ignore[arg-type]
    assert REPORT.answers == REPORT_ANSWERS


QUESTIONNAIRES = make_patient_report(
    answers={
        **REPORT_ANSWERS,
        "odi_sections": [3, None, 2, 1, 0, 0, 1, None, 2, 1],
        "rmdq_items": [True] * 3 + [False] * 21,
        "zcq_items": {"q1": 2, "q7": 5},
        "startback": {"q1": "agree", "q9": "slightly"},
    }
)


def test_licensed_questionnaires_the_patient_filled_in_pre_fill_each_items_widget() -> None:
    state = new_form_state(PATIENT, None, None, QUESTIONNAIRES)
    assert [state[f"{K}odi_{i}"] for i in range(3)] == [3, None, 2]
    assert state[K + "rmdq_done"] is True and state[K + "rmdq_0"] is True and state[K + "rmdq_3"] is False
    assert state[K + "zcq_q7"] == 5 and state[K + "zcq_q2"] is None
    assert state[K + "sb_q1"] == "agree" and state[K + "sb_q9"] == "slightly" and state[K + "sb_q2"] is None
    assert K + "odi_sections" not in state  # no widget holds a whole questionnaire


def test_each_pre_filled_questionnaire_is_marked_with_how_many_items_the_patient_answered() -> None:
    day = "Patient-reported on 03 Dec 2025"
    assert reported_caption(QUESTIONNAIRES, "odi_sections") == f"{day}: 8 of 10 items answered"
    assert reported_caption(QUESTIONNAIRES, "rmdq_items") == f"{day}: 24 of 24 items answered"
    assert reported_caption(QUESTIONNAIRES, "zcq_items") == f"{day}: 2 of 18 items answered"
    assert reported_caption(QUESTIONNAIRES, "startback") == f"{day}: 2 of 9 items answered"
    assert reported_caption(REPORT, "odi_sections") is None
    assert "PSFS ratings, ODI, STarT Back, RMDQ, ZCQ" in reported_notice(QUESTIONNAIRES)
