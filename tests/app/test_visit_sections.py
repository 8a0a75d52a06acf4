"""AppTest of the visit form's sections: a field edit reruns its own section (an st.fragment) and the
sections that show what it changes, never the whole page; nothing typed in another section is lost, and
the one save stores every field entered through section reruns."""

from __future__ import annotations

import datetime as dt

from streamlit.testing.v1 import AppTest

from dashboard import services
from dashboard.page_keys import LAST_SEEN
from data.store import SqlStore
from tests.app.test_visit_and_patients import (
    log_in,
    open_visit_page,
    patient_id,
    texts,
    visits_of,
    whole_page,
)


def a_section_ran_alone(at: AppTest) -> bool:
    """True when the last run was a section rerun: the page's title (outside every section) was not drawn."""
    return not at.title


def test_a_walking_edit_reruns_its_section_and_the_derived_values_but_not_the_page(clinic: SqlStore) -> None:
    at = open_visit_page(log_in(), patient_id(clinic, "DEMO-00002"))
    at.selectbox(key="v_walk_protocol").set_value("treadmill_1_2mph").run()  # the last visit's was the SPWT
    assert not at.exception, at.exception
    assert a_section_ran_alone(at)
    assert [s.value for s in at.subheader] == ["2 · Walking tolerance", "Derived values"]
    assert "This protocol stops at 15 min." in texts(at, "caption")  # the section's live feedback


def test_a_screening_answer_reruns_its_group_and_the_warning_above_the_save_button(clinic: SqlStore) -> None:
    at = open_visit_page(log_in(), patient_id(clinic, "DEMO-00002"))
    at.selectbox(key="v_bowel_dysfunction").set_value("new").run()
    assert a_section_ran_alone(at)
    assert "Derived values" not in [s.value for s in at.subheader]  # an answer changes no score
    # At the answer and above the save button, both drawn by this rerun.
    assert texts(at, "error").count("EMERGENCY: possible cauda equina syndrome") == 2


def test_a_section_rerun_keeps_every_other_sections_values(clinic: SqlStore) -> None:
    at = open_visit_page(log_in(), patient_id(clinic, "DEMO-00002"))
    at.number_input(key="v_pain_nrs").set_value(6)
    at.text_area(key="v_notes").input("Walked to the clinic today.")
    at.button_group(key="v_odi_0").set_value(3).run()  # pain, notes and ODI: three sections at once
    assert a_section_ran_alone(at)
    at.text_area(key="v_notes").input("Walked to the clinic, then rested.").run()  # notes alone
    assert a_section_ran_alone(at)
    assert "1 · Pain" not in [s.value for s in at.subheader]  # the pain section did not run
    for key, value in (("v_pain_nrs", 6), ("v_notes", "Walked to the clinic, then rested."), ("v_odi_0", 3)):
        assert at.session_state[key] == value, key
    whole_page(at)  # and a full run shows them all again
    assert at.number_input(key="v_pain_nrs").value == 6
    assert at.button_group(key="v_odi_0").value == 3
    assert at.text_area(key="v_notes").value == "Walked to the clinic, then rested."


def test_a_save_after_section_edits_stores_every_field(clinic: SqlStore) -> None:
    pid = patient_id(clinic, "DEMO-00002")
    before = len(visits_of(clinic, pid))
    at = open_visit_page(log_in(), pid)
    at.number_input(key="v_pain_nrs").set_value(4)
    at.selectbox(key="v_walk_protocol").set_value("treadmill_1_2mph").run()
    at.number_input(key="v_walk_onset_min").set_value(3.5).run()
    at.number_input(key="v_walk_total_min").set_value(8.0).run()
    whole_page(at).selectbox(key="v_relief").set_value("sitting_or_flexion").run()
    whole_page(at).button(key="v_neg_ces").click().run()
    whole_page(at).button_group(key="v_odi_2").set_value(4).run()
    whole_page(at).text_input(key="v_psfs_activity_1").input("Climbing stairs").run()
    whole_page(at).number_input(key="v_psfs_score_1").set_value(6).run()
    whole_page(at).text_area(key="v_notes").input("Stopped at the corner twice.").run()
    at.checkbox(key="v_confirm_carried").check().run()  # the closing section is in every section rerun
    assert a_section_ran_alone(at)
    whole_page(at).button(key="v_save").click().run()
    assert not at.exception, at.exception
    assert "Visit saved." in texts(at, "success"), texts(at, "error")
    saved = visits_of(clinic, pid)
    assert len(saved) == before + 1
    visit = saved[-1]
    assert (visit.pain_nrs, visit.walk_protocol, visit.walk_onset_min, visit.walk_total_min) == (
        4,
        "treadmill_1_2mph",
        3.5,
        8.0,
    )
    assert visit.relief == "sitting_or_flexion"
    assert visit.saddle_anaesthesia == "none" and visit.bowel_dysfunction == "none"
    assert visit.odi_sections is not None and visit.odi_sections[2] == 4
    assert visit.psfs is not None and {"activity": "Climbing stairs", "score": 6} in [
        p.model_dump() for p in visit.psfs
    ]
    assert visit.notes == "Stopped at the corner twice."


def test_a_refused_save_keeps_what_section_reruns_entered_and_names_the_field(clinic: SqlStore) -> None:
    pid = patient_id(clinic, "DEMO-00002")
    before = len(visits_of(clinic, pid))
    at = open_visit_page(log_in(), pid)
    at.number_input(key="v_pain_nrs").set_value(12).run()
    at.number_input(key="v_pain_worst_nrs").set_value(7).run()
    whole_page(at).checkbox(key="v_confirm_carried").check()
    at.button(key="v_save").click().run()
    assert "Current pain, NPRS (0–10) must be at most 10" in texts(at, "error")
    assert len(visits_of(clinic, pid)) == before
    # Corrected in its section: the other value is still there, and the save goes through.
    at.number_input(key="v_pain_nrs").set_value(3).run()
    whole_page(at).button(key="v_save").click().run()
    assert "Visit saved." in texts(at, "success"), texts(at, "error")
    assert (visits_of(clinic, pid)[-1].pain_nrs, visits_of(clinic, pid)[-1].pain_worst_nrs) == (3, 7)


def test_an_edit_in_a_section_counts_as_activity_for_the_idle_timeout(clinic: SqlStore) -> None:
    at = open_visit_page(log_in(), patient_id(clinic, "DEMO-00002"))
    earlier = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10)
    at.session_state[LAST_SEEN] = earlier
    at.number_input(key="v_pain_nrs").set_value(2).run()
    assert a_section_ran_alone(at)
    assert at.session_state[LAST_SEEN] > earlier  # the router did not run, the section counted the edit


def test_an_edit_after_the_idle_timeout_ends_the_session_as_a_full_run_would(clinic: SqlStore) -> None:
    at = open_visit_page(log_in(), patient_id(clinic, "DEMO-00002"))
    at.session_state[LAST_SEEN] = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=16)
    at.number_input(key="v_pain_nrs").set_value(2).run()
    assert not at.exception, at.exception
    assert "user" not in at.session_state
    assert "period of inactivity" in texts(at, "info")


def test_an_edit_after_the_account_was_deactivated_ends_the_session(clinic: SqlStore) -> None:
    at = open_visit_page(log_in(), patient_id(clinic, "DEMO-00002"))
    with clinic.read() as tx:
        admin, clinician = tx.get_user_by_username("demo.admin"), tx.get_user_by_username("demo.clinician")
    assert admin is not None and clinician is not None
    services.admin_update_user(clinic, admin, clinician.id, active=False)
    at.number_input(key="v_pain_nrs").set_value(2).run()
    assert not at.exception, at.exception
    assert "user" not in at.session_state
    assert any("account was changed" in info.value for info in at.info)
