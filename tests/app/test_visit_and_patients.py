"""AppTest of the router, the login page, the patients page and the visit page on a demo clinic."""

from __future__ import annotations

import datetime as dt
import sqlite3
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from data.store import SqlStore
from tests.app.conftest import as_shown
from tests.conftest import ROOT

APP = str(ROOT / "app.py")


def log_in(username: str = "demo.clinician", password: str = "stride-demo") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    at.run()
    at.text_input(key="login_username").input(username)
    at.text_input(key="login_password").input(password)
    at.button[0].click().run()
    assert not at.exception, at.exception
    return at


def patient_id(store: SqlStore, ref: str) -> str:
    with store.read() as tx:
        found = tx.find_patient_by_ref(ref)
    assert found is not None and found.id is not None
    return found.id


def visits_of(store: SqlStore, pid: str) -> list[Any]:
    with store.read() as tx:
        return tx.visits(pid)


def open_visit_page(at: AppTest, pid: str) -> AppTest:
    at.session_state["patient_id"] = pid
    at.switch_page("pages/visit.py").run()
    assert not at.exception, at.exception
    return at


def whole_page(at: AppTest) -> AppTest:
    """Run the whole page again, as a test reaching into another section must: after a field's section
    rerun AppTest's tree holds only that section and the summary, while a browser still shows the rest."""
    at.run()
    assert not at.exception, at.exception
    return at


def texts(at: AppTest, kind: str) -> str:
    return "\n".join(as_shown(str(element.value)) for element in getattr(at, kind))


def test_nothing_but_the_login_page_shows_before_login(clinic: SqlStore) -> None:
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert not at.exception
    assert [b.label for b in at.button] == ["Log in"]
    assert "DEMO-0" not in texts(at, "markdown")


def test_a_wrong_password_is_refused_without_saying_whether_the_user_exists(clinic: SqlStore) -> None:
    wrong = log_in("demo.clinician", "not the password")
    unknown = log_in("nobody.here", "not the password")
    assert texts(wrong, "error") == texts(unknown, "error") != ""
    assert "user" not in wrong.session_state


def test_an_idle_session_is_logged_out_on_the_next_run(clinic: SqlStore) -> None:
    at = log_in()
    at.session_state["last_seen"] = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=16)
    at.run()
    assert "user" not in at.session_state
    assert "period of inactivity" in texts(at, "info")


def test_patients_are_found_forgiving_of_case_and_accents(clinic: SqlStore) -> None:
    with clinic.read() as tx:
        patient = tx.find_patient_by_ref("DEMO-00002")
    assert patient is not None
    at = log_in()
    at.switch_page("pages/patients.py").run()
    query = patient.family_name.upper().replace("É", "E").replace("Ü", "U")
    at.text_input(key="patient_search").input(query).run()
    assert not at.exception
    assert patient.patient_ref in texts(at, "markdown")


def test_a_search_with_a_nul_byte_shows_a_message_instead_of_searching(clinic: SqlStore) -> None:
    at = log_in()
    at.switch_page("pages/patients.py").run()
    at.text_input(key="patient_search").input("Haddad\x00").run()
    assert not at.exception
    assert texts(at, "error").startswith("Search text cannot contain control characters.")
    assert "No patient matches" not in texts(at, "info")


def test_a_name_with_a_nul_byte_gets_a_field_message_and_saves_nothing(clinic: SqlStore) -> None:
    at = log_in()
    at.switch_page("pages/patients.py").run()
    with clinic.read() as tx:
        before = tx.count_patients()
    at.text_input(key="new_ref").input("NEW-NUL")
    at.text_input(key="new_given").input("Ana")
    at.text_input(key="new_family").input("Sil\x00va")
    at.date_input(key="new_birth").set_value(dt.date(1970, 1, 1))
    at.selectbox(key="new_sex").set_value("F")
    at.date_input(key="new_onset").set_value(dt.date(2025, 1, 1))
    at.button(key="FormSubmitter:add_patient-Add patient").click().run()
    assert not at.exception
    assert "Family name must not contain control characters or line breaks" in texts(at, "error")
    with clinic.read() as tx:
        assert tx.count_patients() == before


def test_adding_a_patient_with_bad_input_shows_field_messages_and_saves_nothing(clinic: SqlStore) -> None:
    at = log_in()
    at.switch_page("pages/patients.py").run()
    with clinic.read() as tx:
        before = tx.count_patients()
    at.text_input(key="new_ref").input("NEW-1")
    at.text_input(key="new_given").input("Ana")
    at.button(key="FormSubmitter:add_patient-Add patient").click().run()
    assert not at.exception
    errors = texts(at, "error")
    assert "Family name" in errors and "Date of birth" in errors
    with clinic.read() as tx:
        assert tx.count_patients() == before


def test_a_follow_up_copies_forward_only_what_the_dictionary_allows(clinic: SqlStore) -> None:
    pid = patient_id(clinic, "DEMO-00002")
    last = visits_of(clinic, pid)[-1]
    at = open_visit_page(log_in(), pid)
    assert at.session_state["v_walk_protocol"] == last.walk_protocol
    assert set(at.session_state["v_posture_findings"]) == last.posture_findings
    assert at.session_state["v_pain_nrs"] is None  # measurements are never carried forward
    assert at.session_state["v_saddle_anaesthesia"] is None  # screening answers start as not asked
    assert f"from {last.visit_date.isoformat()}" in texts(at, "info")


def test_asked_all_negative_sets_every_question_of_its_group_and_nothing_else(clinic: SqlStore) -> None:
    at = open_visit_page(log_in(), patient_id(clinic, "DEMO-00002"))
    at.button(key="v_neg_ces").click().run()
    for field in (
        "saddle_anaesthesia",
        "bladder_dysfunction",
        "bowel_dysfunction",
        "sexual_dysfunction",
        "bilateral_radicular_pain",
    ):
        assert at.session_state[f"v_{field}"] == "none"
    assert at.session_state["v_fever"] is None


def test_an_invalid_visit_shows_a_field_message_and_saves_nothing(clinic: SqlStore) -> None:
    pid = patient_id(clinic, "DEMO-00002")
    before = len(visits_of(clinic, pid))
    at = open_visit_page(log_in(), pid)
    at.checkbox(key="v_confirm_carried").check()
    at.session_state["v_walk_protocol"] = "spwt"
    at.session_state["v_walk_onset_min"] = 10.0
    at.session_state["v_walk_total_min"] = 5.0  # below the onset time
    at.button(key="v_save").click().run()
    assert not at.exception
    assert "Nothing was saved" in texts(at, "error")
    assert "Total time (min) must not be less than Time to first symptom (min)" in texts(at, "error")
    assert len(visits_of(clinic, pid)) == before


def test_out_of_range_values_are_refused_by_each_fields_label_and_kept_in_the_form(clinic: SqlStore) -> None:
    pid = patient_id(clinic, "DEMO-00002")
    before = len(visits_of(clinic, pid))
    at = open_visit_page(log_in(), pid)
    at.checkbox(key="v_confirm_carried").check()
    at.session_state["v_walk_protocol"] = "6mwt"
    at.number_input(key="v_pain_nrs").set_value(11)
    at.number_input(key="v_walk_onset_min").set_value(-2.0)
    at.date_input(key="v_visit_date").set_value(dt.date.today() + dt.timedelta(days=3))
    at.text_area(key="v_notes").input("x" * 6000)
    at.button(key="v_save").click().run()
    assert not at.exception, at.exception
    errors = texts(at, "error")
    assert "Current pain, NPRS (0–10) must be at most 10" in errors
    assert "Time to first symptom (min) must be at least 0" in errors
    assert "Visit date must not be in the future" in errors
    assert "Notes can hold at most 5,000 characters (you entered 6,000)" in errors
    assert "Nothing was saved" in errors
    assert "Visit saved" not in texts(at, "success")
    assert len(visits_of(clinic, pid)) == before
    # Nothing typed is lost: the form still holds every value, ready to be corrected.
    assert at.text_area(key="v_notes").value == "x" * 6000
    assert at.number_input(key="v_pain_nrs").value == 11


def test_a_follow_up_is_saved_screened_and_shows_the_banner(clinic: SqlStore) -> None:
    pid = patient_id(clinic, "DEMO-00002")
    before = len(visits_of(clinic, pid))
    at = open_visit_page(log_in(), pid)
    at.number_input(key="v_pain_nrs").set_value(3)
    at.button(key="v_neg_ces").click()
    at.checkbox(key="v_confirm_carried").check()
    at.button(key="v_save").click().run()
    assert not at.exception
    assert "Visit saved." in texts(at, "success")
    assert len(visits_of(clinic, pid)) == before + 1
    assert visits_of(clinic, pid)[-1].pain_nrs == 3
    assert "rule fired" in texts(at, "info") + texts(at, "warning") + texts(at, "error")


def test_new_saddle_numbness_saved_on_the_visit_page_is_an_emergency(clinic: SqlStore) -> None:
    pid = patient_id(clinic, "DEMO-00002")
    at = open_visit_page(log_in(), pid)
    at.session_state["v_saddle_anaesthesia"] = "new"
    at.checkbox(key="v_confirm_carried").check()
    at.button(key="v_save").click().run()
    assert not at.exception
    assert "EMERGENCY" in texts(at, "error")
    assert "RF_CES" in texts(at, "markdown")


def _dialog(at: AppTest) -> Any:
    """The open dialog's block (AppTest has no dialog type: a block whose proto is a dialog), or None."""
    pending = list(at._tree.children.values())
    while pending:
        node = pending.pop()
        proto = getattr(node, "proto", None)
        if proto is not None and proto.DESCRIPTOR.name == "Block" and proto.HasField("dialog"):
            return node
        pending.extend(getattr(node, "children", {}).values())
    return None


def test_saving_an_emergency_shows_the_result_in_a_dialog_that_must_be_acknowledged(clinic: SqlStore) -> None:
    pid = patient_id(clinic, "DEMO-00002")
    at = open_visit_page(log_in(), pid)
    # Answered first (that run warns live), then saved: as a clinician does it.
    at.selectbox(key="v_saddle_anaesthesia").set_value("new").run()
    whole_page(at).checkbox(key="v_confirm_carried").check()
    at.button(key="v_save").click().run()
    assert not at.exception

    dialog = _dialog(at)
    assert dialog is not None, "the save result is shown where the clinician is looking"
    assert dialog.proto.dialog.dismissible is False
    assert "EMERGENCY" in "\n".join(as_shown(str(e.value)) for e in dialog.error)
    assert "RF_CES" in "\n".join(as_shown(str(m.value)) for m in dialog.markdown)

    at.button(key="visit_result_ack").click().run()
    assert not at.exception
    assert _dialog(at) is None


def test_a_save_without_an_emergency_shows_its_result_in_a_toast_and_no_dialog(clinic: SqlStore) -> None:
    at = open_visit_page(log_in(), patient_id(clinic, "DEMO-00002"))
    at.number_input(key="v_pain_nrs").set_value(3)
    at.checkbox(key="v_confirm_carried").check()
    at.button(key="v_save").click().run()
    assert not at.exception
    assert any(str(t.value).startswith("Saved. Screening:") for t in at.toast)
    assert _dialog(at) is None


def test_a_new_ces_answer_warns_of_an_emergency_before_the_visit_is_saved(clinic: SqlStore) -> None:
    pid = patient_id(clinic, "DEMO-00002")
    before = len(visits_of(clinic, pid))
    at = open_visit_page(log_in(), pid)
    assert "possible cauda equina" not in texts(at, "error")

    at.selectbox(key="v_bladder_dysfunction").set_value("worsening").run()

    assert not at.exception
    assert "EMERGENCY: possible cauda equina syndrome" in texts(at, "error")
    assert "worsening" in texts(at, "error")
    assert (
        texts(at, "error").count("EMERGENCY: possible cauda equina syndrome") == 2
    )  # at the answer and the save
    assert len(visits_of(clinic, pid)) == before


def test_a_chronic_stable_ces_answer_gives_no_live_warning(clinic: SqlStore) -> None:
    at = open_visit_page(log_in(), patient_id(clinic, "DEMO-00002"))
    at.selectbox(key="v_saddle_anaesthesia").set_value("chronic_stable").run()
    assert not at.exception
    assert "possible cauda equina" not in texts(at, "error")


def test_a_follow_up_cannot_be_saved_before_the_carried_forward_items_are_confirmed(clinic: SqlStore) -> None:
    pid = patient_id(clinic, "DEMO-00002")
    before = len(visits_of(clinic, pid))
    at = open_visit_page(log_in(), pid)
    at.button(key="v_save").click().run()
    assert "confirm the carried-forward items" in texts(at, "error")
    assert len(visits_of(clinic, pid)) == before


def test_a_readonly_user_is_told_they_cannot_record_a_visit(clinic: SqlStore) -> None:
    at = open_visit_page(log_in("demo.readonly"), patient_id(clinic, "DEMO-00002"))
    assert "cannot" in texts(at, "warning") or "not record" in texts(at, "warning")
    assert "v_save" not in [b.key for b in at.button]


def test_the_visit_form_keeps_what_was_entered_across_a_trip_to_another_page(clinic: SqlStore) -> None:
    pid = patient_id(clinic, "DEMO-00002")
    before = len(visits_of(clinic, pid))
    at = open_visit_page(log_in(), pid)
    # Entered as section reruns only (pain and walking in one, then walking, then the summary's box).
    at.number_input(key="v_pain_nrs").set_value(4)
    at.selectbox(key="v_walk_protocol").set_value("6mwt").run()
    at.number_input(key="v_walk_total_m").set_value(420.0).run()
    at.checkbox(key="v_confirm_carried").check().run()
    at.switch_page("pages/progress.py").run()
    assert not at.exception
    at.switch_page("pages/visit.py").run()
    # Streamlit drops the state of widgets a run does not draw: the form must put it back.
    assert at.selectbox(key="v_walk_protocol").value == "6mwt"
    assert at.number_input(key="v_walk_total_m").value == 420.0
    assert at.number_input(key="v_pain_nrs").value == 4
    at.button(key="v_save").click().run()
    assert not at.exception
    assert "Visit saved." in texts(at, "success"), texts(at, "error")
    saved = visits_of(clinic, pid)
    assert len(saved) == before + 1
    assert (saved[-1].walk_protocol, saved[-1].walk_total_m, saved[-1].pain_nrs) == ("6mwt", 420.0, 4)


def test_opening_a_patient_while_another_writer_holds_the_lock_says_the_database_is_busy(
    clinic: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STRIDE_DB_BUSY_TIMEOUT_S", "0.2")  # read when the app opens its store
    pid = patient_id(clinic, "DEMO-00002")
    at = log_in()
    at.session_state["patient_id"] = pid
    holder = sqlite3.connect(str(clinic.engine.url.database), isolation_level=None, timeout=0)
    try:
        holder.execute("BEGIN IMMEDIATE")  # another writer keeps the lock for the whole run
        at.switch_page("pages/patients.py").run()  # opening the patient audits it: a write
    finally:
        holder.rollback()
        holder.close()
    assert not at.exception
    assert "The database is busy. Please try again in a moment." in texts(at, "error")
    assert not [h.value for h in at.subheader if "DEMO-00002" in h.value]  # the record is not shown


def test_posture_and_footwear_findings_are_offered_by_their_labels_not_their_ids(clinic: SqlStore) -> None:
    at = open_visit_page(log_in(), patient_id(clinic, "DEMO-00002"))
    posture = at.multiselect(key="v_posture_findings")
    assert "Forward lean when standing or walking" in posture.options
    for options in (posture.options, at.multiselect(key="v_footwear_findings").options):
        assert options and not any("_" in option for option in options), options


def _patient_with_one_visit(store: SqlStore, ref: str, **visit: Any) -> str:
    from dashboard import services
    from tests.factories import PATIENT_DEFAULTS
    from tests.integration.support import visit_values

    with store.read() as tx:
        user = tx.get_user_by_username("demo.clinician")
    patient = services.register_patient(store, user, PATIENT_DEFAULTS | {"patient_ref": ref})
    services.record_visit(store, user, patient.id or "", visit_values(dt.date.today(), pain_nrs=5, **visit))
    return patient.id or ""


def test_a_follow_up_carries_the_walking_symptom_answers_forward_to_confirm(clinic: SqlStore) -> None:
    pid = _patient_with_one_visit(
        clinic, "T-CARRY", leg_pain_on_walking=True, relief="sitting_or_flexion", shopping_cart_sign=True
    )
    at = open_visit_page(log_in(), pid)
    assert at.session_state["v_leg_pain_on_walking"] is True
    assert at.session_state["v_relief"] == "sitting_or_flexion"
    assert at.session_state["v_shopping_cart_sign"] is True
    assert at.session_state["v_symptom_location"] is None  # not assessed last time: still not assessed
    assert "walking symptoms" in texts(at, "info")
    assert at.checkbox(key="v_confirm_carried")


def test_a_follow_up_with_nothing_carried_forward_saves_without_a_confirmation(clinic: SqlStore) -> None:
    pid = _patient_with_one_visit(clinic, "T-NOCARRY")
    at = open_visit_page(log_in(), pid)
    assert "v_confirm_carried" not in [box.key for box in at.checkbox]
    at.number_input(key="v_pain_nrs").set_value(4)
    at.button(key="v_save").click().run()
    assert not at.exception, at.exception
    assert "confirm the carried-forward items" not in texts(at, "error")
    assert len(visits_of(clinic, pid)) == 2


def test_claudication_shows_not_assessed_when_no_walking_symptom_was_asked(clinic: SqlStore) -> None:
    at = open_visit_page(log_in(), _patient_with_one_visit(clinic, "T-NOTASKED"))
    (metric,) = [m for m in at.metric if m.label == "Claudication pattern"]
    assert metric.value == "not assessed"


def test_the_next_review_date_is_set_from_the_visit_form_with_the_visit(clinic: SqlStore) -> None:
    pid = _patient_with_one_visit(clinic, "T-REVIEW")
    review = dt.date.today() + dt.timedelta(days=28)
    at = open_visit_page(log_in(), pid)
    at.number_input(key="v_pain_nrs").set_value(4)
    at.date_input(key="v_next_review_date").set_value(review)
    at.button(key="v_save").click().run()
    assert not at.exception, at.exception
    with clinic.read() as tx:
        patient = tx.get_patient(pid)
        revisions = tx.revisions("patient", pid)
    assert patient is not None and patient.next_review_date == review
    assert len(visits_of(clinic, pid)) == 2
    assert any(rev.after.get("next_review_date") == review.isoformat() for rev in revisions)


def test_a_next_review_before_the_visit_is_refused_and_nothing_is_saved(clinic: SqlStore) -> None:
    pid = _patient_with_one_visit(clinic, "T-REVIEW-PAST")
    at = open_visit_page(log_in(), pid)
    at.number_input(key="v_pain_nrs").set_value(4)
    at.date_input(key="v_next_review_date").set_value(dt.date.today() - dt.timedelta(days=1))
    at.button(key="v_save").click().run()
    assert "Next review date must be on or after the visit date." in texts(at, "error")
    assert len(visits_of(clinic, pid)) == 1


def test_a_timed_spwt_is_saved_and_the_form_says_what_is_lost_without_the_distance(clinic: SqlStore) -> None:
    pid = _patient_with_one_visit(clinic, "T-TIMEDFORM")
    at = open_visit_page(log_in(), pid)
    at.selectbox(key="v_walk_protocol").set_value("spwt").run()
    at.number_input(key="v_walk_onset_min").set_value(4.0).run()
    at.number_input(key="v_walk_total_min").set_value(9.0).run()
    assert "Total distance (m) not recorded" in texts(at, "info")
    at.number_input(key="v_walk_total_m").set_value(640.0).run()
    assert "Total distance (m) not recorded" not in texts(at, "info")
    at.number_input(key="v_walk_total_m").set_value(None).run()
    whole_page(at).button(key="v_save").click().run()
    assert not at.exception, at.exception
    saved = visits_of(clinic, pid)[-1]
    assert (saved.walk_protocol, saved.walk_onset_min, saved.walk_total_min, saved.walk_total_m) == (
        "spwt",
        4.0,
        9.0,
        None,
    )


def test_odi_and_start_back_take_one_click_per_item_and_are_open_at_a_first_visit(clinic: SqlStore) -> None:
    from dashboard import services
    from tests.factories import PATIENT_DEFAULTS

    with clinic.read() as tx:
        user = tx.get_user_by_username("demo.clinician")
    patient = services.register_patient(clinic, user, PATIENT_DEFAULTS | {"patient_ref": "T-ONECLICK"})
    at = open_visit_page(log_in(), patient.id or "")
    questionnaires = [e for e in at.expander if "Oswestry" in e.label or "STarT" in e.label]
    assert [e.proto.expanded for e in questionnaires] == [True, True]
    odi = [at.button_group(key=f"v_odi_{i}") for i in range(10)]
    assert not [s for s in at.selectbox if s.key.startswith(("v_odi_", "v_sb_q"))]  # no dropdowns left
    for i, control in enumerate(odi):
        control.set_value(i % 6)
    for i in range(1, 9):
        at.button_group(key=f"v_sb_q{i}").set_value("agree" if i % 2 else "disagree")
    at.button_group(key="v_sb_q9").set_value("very_much")
    at.number_input(key="v_pain_nrs").set_value(6)
    at.button(key="v_save").click().run()
    assert not at.exception, at.exception
    assert "Visit saved." in texts(at, "success"), texts(at, "error")
    saved = visits_of(clinic, patient.id or "")[-1]
    assert saved.odi_sections == [i % 6 for i in range(10)]
    assert saved.startback is not None and saved.startback["q9"] == "very_much"
