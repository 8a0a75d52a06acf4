"""AppTest of the visit form with the patient's check-in waiting: marked values to confirm, the
patient's screening answers beside the questions and first in *ask now* (clinical-reference §12.1)."""

from __future__ import annotations

import datetime as dt

from dashboard import checkin_services as cs
from dashboard import services
from dashboard.config import load_settings
from dashboard.presenters import FIELD_LABELS
from data.store import SqlStore
from tests.app.test_visit_and_patients import log_in, open_visit_page, texts, visits_of
from tests.factories import PATIENT_DEFAULTS
from tests.integration.support import offer_to_patients, visit_values

ANSWERS = {
    "pain_nrs": "4",
    "pain_worst_nrs": "7",
    "walk_onset_min": "5",
    "walk_total_min": "12",
    "walk_stop_reason": "symptoms",
    "psfs_0": "5",
    "symptom_saddle": "no",
    "symptom_bladder": "not_sure",
}


def patient_who_checked_in(store: SqlStore, ref: str, more: dict[str, str] | None = None) -> tuple[str, str]:
    """A patient with one visit (one PSFS activity) and a check-in sent since; (patient id, report id)."""
    with store.read() as tx:
        user = tx.get_user_by_username("demo.clinician")
    assert user is not None
    patient = services.register_patient(store, user, PATIENT_DEFAULTS | {"patient_ref": ref})
    psfs = [{"activity": "Walking to the shop", "score": 3}]
    day = dt.date.today() - dt.timedelta(days=7)
    services.record_visit(store, user, patient.saved_id, visit_values(day, pain_nrs=6, psfs=psfs))
    issued = cs.create_invite(store, user, patient.saved_id, "checkin")
    sent = cs.submit_checkin(store, issued.token, ANSWERS | (more or {}), load_settings())
    assert isinstance(sent, cs.CheckinSubmitted)
    return patient.saved_id, sent.report.id


def reviewed_visit_id(store: SqlStore, pid: str) -> str | None:
    with store.read() as tx:
        (report,) = tx.patient_reports(pid)
    return report.reviewed_visit_id


def test_the_form_shows_the_patients_values_marked_and_their_answers_beside_the_questions(
    clinic: SqlStore,
) -> None:
    pid, _ = patient_who_checked_in(clinic, "T-CHECKIN-1")
    at = open_visit_page(log_in(), pid)
    state = at.session_state
    assert (state["v_pain_nrs"], state["v_pain_worst_nrs"], state["v_walk_protocol"]) == (4, 7, "reported")
    assert (state["v_walk_onset_min"], state["v_walk_total_min"]) == (5.0, 12.0)
    assert state["v_psfs_activity_0"] == "Walking to the shop" and state["v_psfs_score_0"] == 5
    assert state["v_saddle_anaesthesia"] is None and state["v_bladder_dysfunction"] is None  # never filled
    day = dt.date.today().strftime("%d %b %Y")
    captions = texts(at, "caption")
    assert f"Patient-reported on {day}: 4" in captions and f"Patient-reported on {day}: 12" in captions
    assert f"Patient said no on {day}" in captions and f"Patient said not sure on {day}" in captions
    assert f"patient-reported on {day}" in texts(at, "info")
    ask_now = next(w for w in texts(at, "warning").splitlines() if w.startswith("Ask now: "))
    assert ask_now.startswith(f"Ask now: {FIELD_LABELS['bladder_dysfunction']} (patient: not sure)")
    assert at.checkbox(key="v_confirm_reported").label.startswith("I have reviewed the patient-reported")


def test_saving_without_confirming_the_patients_values_shows_a_field_message_and_saves_nothing(
    clinic: SqlStore,
) -> None:
    pid, _ = patient_who_checked_in(clinic, "T-CHECKIN-2")
    at = open_visit_page(log_in(), pid)
    at.checkbox(key="v_confirm_carried").check()
    at.button(key="v_save").click().run()
    assert "Patient-reported values must be reviewed with the patient" in texts(at, "error")
    assert len(visits_of(clinic, pid)) == 1 and reviewed_visit_id(clinic, pid) is None


def test_a_confirmed_visit_keeps_the_patients_values_and_links_the_check_in(clinic: SqlStore) -> None:
    pid, _ = patient_who_checked_in(clinic, "T-CHECKIN-3")
    at = open_visit_page(log_in(), pid)
    at.number_input(key="v_pain_worst_nrs").set_value(6)  # changed with the patient
    at.checkbox(key="v_confirm_carried").check()
    at.checkbox(key="v_confirm_reported").check()
    at.button(key="v_save").click().run()
    assert not at.exception, at.exception
    saved = visits_of(clinic, pid)[-1]
    assert (saved.pain_nrs, saved.pain_worst_nrs, saved.walk_protocol, saved.walk_total_min) == (
        4,
        6,
        "reported",
        12.0,
    )
    assert saved.psfs is not None and saved.psfs[0].score == 5
    assert saved.bladder_dysfunction is None  # the patient's answer was never saved as the clinician's
    assert reviewed_visit_id(clinic, pid) == saved.id
    # A reviewed check-in never pre-fills again: the next form starts as a plain follow-up.
    assert at.session_state["v_pain_nrs"] is None
    assert "v_confirm_reported" not in [box.key for box in at.checkbox]


def test_a_patients_odi_pre_fills_the_sections_marked_and_is_saved_once_confirmed(clinic: SqlStore) -> None:
    with clinic.read() as tx:
        admin = tx.get_user_by_username("demo.admin")
    offer_to_patients(clinic, admin, "odi")  # placeholder wording only
    sections = {f"odi_{i}": str(i % 6) for i in range(1, 10)}  # section 10 left blank
    pid, _ = patient_who_checked_in(clinic, "T-CHECKIN-4", sections)
    at = open_visit_page(log_in(), pid)
    assert [at.session_state[f"v_odi_{i}"] for i in range(10)] == [1, 2, 3, 4, 5, 0, 1, 2, 3, None]
    day = dt.date.today().strftime("%d %b %Y")
    assert f"Patient-reported on {day}: 9 of 10 items answered" in texts(at, "caption")
    assert "PSFS ratings, ODI." in texts(at, "info")
    at.checkbox(key="v_confirm_carried").check()
    at.checkbox(key="v_confirm_reported").check()
    at.button(key="v_save").click().run()
    assert not at.exception, at.exception
    assert visits_of(clinic, pid)[-1].odi_sections == [1, 2, 3, 4, 5, 0, 1, 2, 3, None]
