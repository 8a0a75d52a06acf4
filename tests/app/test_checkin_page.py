"""AppTest checks of the patient's own page (/checkin?t=<token>): no account, only the link (issue 21).

Each test gets the fictional demo clinic in a fresh SQLite file; a clinician makes the link through the
service, and the test then drives the page as the patient, logged out.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from streamlit.testing.v1 import AppTest

from dashboard import checkin_services as cs
from dashboard import checkin_text as text
from dashboard import governance
from dashboard import page_keys as keys
from dashboard import patient_reported as pr
from dashboard.config import load_settings
from data.store import SqlStore
from tests.app.conftest import as_shown
from tests.conftest import ROOT
from tests.factories import placeholder_wording_file
from tests.integration.support import WordingUpload, offer_to_patients

APP = str(ROOT / "app.py")
K = keys.Checkin


def a_patient_with_a_link(clinic: SqlStore, kind: str = "checkin") -> tuple[Any, cs.IssuedInvite]:
    """A demo patient with an open episode and a visit, and a new link for them."""
    with clinic.read() as tx:
        clinician = tx.get_user_by_username("demo.clinician")
        patient = next(
            p
            for p in tx.search_patients("")
            if tx.open_episode(p.id or "") is not None and tx.visits(p.id or "")
        )
    issued = cs.create_invite(clinic, clinician, patient.id or "", kind)  # type: ignore[arg-type]
    return patient, issued


def open_link(token: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    at.query_params["t"] = token
    # A first run registers the router's pages; the page's address (checkin) is not its file name.
    at.run().switch_page("pages/patient_link.py").run()
    assert not at.exception, at.exception
    return at


def shown(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [m.value for m in at.title] + [m.value for m in at.subheader]
    parts += [e.value for e in (*at.info, *at.error, *at.warning, *at.success, *at.caption)]
    return as_shown("\n".join(str(p) for p in parts))


def verify(at: AppTest, born: dt.date) -> AppTest:
    at.text_input[0].input(born.strftime("%d/%m/%Y"))
    at.button[0].click().run()
    assert not at.exception, at.exception
    return at


def test_a_forged_link_shows_one_calm_message_and_no_form(clinic: SqlStore) -> None:
    at = open_link("x" * pr.TOKEN_LENGTH)
    assert cs.LINK_CLOSED in shown(at)
    assert not at.text_input and not at.radio and not at.button


def test_before_the_identity_check_only_the_clinics_name_shows(clinic: SqlStore) -> None:
    patient, issued = a_patient_with_a_link(clinic)
    at = open_link(issued.token)
    page = shown(at)
    assert load_settings().clinic_name in page
    assert patient.family_name not in page and patient.given_name not in page
    assert [t.label for t in at.text_input] == ["Your date of birth"]
    assert not at.radio


def test_a_wrong_date_of_birth_is_refused_and_the_right_one_opens_the_form(clinic: SqlStore) -> None:
    patient, issued = a_patient_with_a_link(clinic)
    at = verify(open_link(issued.token), patient.birth_date - dt.timedelta(days=1))
    assert cs.IDENTITY_WRONG in shown(at) and not at.radio
    at.text_input[0].input("31/02/1970")
    at.button[0].click().run()
    assert "does not exist" in shown(at)
    at = verify(at, patient.birth_date)
    assert len(at.radio) >= 2 + len(pr.SYMPTOM_QUESTIONS)


def test_a_yes_to_saddle_numbness_shows_the_emergency_instructions_before_sending(clinic: SqlStore) -> None:
    patient, issued = a_patient_with_a_link(clinic)
    at = verify(open_link(issued.token), patient.birth_date)
    at.radio(key=K.PREFIX + "symptom_saddle").set_value("yes").run()
    assert not at.exception, at.exception
    settings = load_settings()
    assert any(as_shown(e.value) == as_shown(text.emergency_now(settings)) for e in at.error)
    # Recorded already, though nothing was sent: a patient-reported emergency for every clinician.
    with clinic.read() as tx:
        emergencies = [e for e in tx.escalations(patient_id=patient.id) if e.tier == "EMERGENCY"]
        assert tx.patient_reports(patient.id or "") == []
    assert [e.source for e in emergencies] == ["patient"]
    at.button(key=K.PREFIX + "send").click().run()
    assert any(as_shown(e.value) == as_shown(text.emergency_now(settings)) for e in at.error)
    assert text.THANK_YOU in shown(at)
    with clinic.read() as tx:
        (report,) = tx.patient_reports(patient.id or "")
    assert report.answers["saddle_anaesthesia"] == "new" and report.urgency == "EMERGENCY"


def test_not_sure_about_a_bladder_change_shows_same_day_advice(clinic: SqlStore) -> None:
    patient, issued = a_patient_with_a_link(clinic)
    at = verify(open_link(issued.token), patient.birth_date)
    at.radio(key=K.PREFIX + "symptom_bladder").set_value("not_sure").run()
    assert any(as_shown(w.value) == as_shown(text.same_day(load_settings())) for w in at.warning)


def test_a_typo_in_the_minutes_gets_a_field_message_and_nothing_is_sent(clinic: SqlStore) -> None:
    patient, issued = a_patient_with_a_link(clinic)
    at = verify(open_link(issued.token), patient.birth_date)
    at.radio(key=K.PREFIX + "pain_nrs").set_value(4)
    at.text_input(key=K.PREFIX + "walk_total_min").input("ten")
    at.button(key=K.PREFIX + "send").click().run()
    assert "Type the number of minutes" in shown(at)
    assert text.FIX_ABOVE in shown(at)  # beside the button the patient just pressed
    assert at.text_input(key=K.PREFIX + "walk_total_min").value == "ten"  # what was typed stays
    with clinic.read() as tx:
        assert tx.patient_reports(patient.id or "") == []
    at.text_input(key=K.PREFIX + "walk_total_min").input("10")
    at.button(key=K.PREFIX + "send").click().run()
    assert text.THANK_YOU in shown(at)
    with clinic.read() as tx:
        (report,) = tx.patient_reports(patient.id or "")
    assert (report.answers["pain_nrs"], report.answers["walk_total_min"]) == (4, 10.0)


def test_a_sent_link_opened_again_says_the_answers_were_sent_and_shows_no_form(clinic: SqlStore) -> None:
    patient, issued = a_patient_with_a_link(clinic)
    at = verify(open_link(issued.token), patient.birth_date)
    at.button(key=K.PREFIX + "send").click().run()
    again = open_link(issued.token)  # F5 or the link opened again: a new session
    assert cs.ALREADY_SENT in shown(again) and not again.radio and not again.text_input


def test_a_diary_link_keeps_walks_and_shows_the_light_in_words(clinic: SqlStore) -> None:
    patient, issued = a_patient_with_a_link(clinic, "diary")
    at = verify(open_link(issued.token), patient.birth_date)
    assert text.DIARY_TITLE in shown(at)
    assert as_shown(text.safety_net(load_settings())) in shown(at)
    at.text_input(key=K.PREFIX + "d0_walked_min").input("25")
    at.radio(key=K.PREFIX + "d0_pain_before_nrs").set_value(2)
    at.radio(key=K.PREFIX + "d0_pain_during_nrs").set_value(7)
    at.button(key=K.PREFIX + "save").click().run()
    assert not at.exception, at.exception
    assert text.DIARY_SAVED in shown(at)
    assert "25 minutes" in shown(at) and pr.LIGHT_WORDS["red"] in shown(at)
    assert at.text_input(key=K.PREFIX + "d1_walked_min").value == ""  # an empty form for the next walk
    assert at.radio(key=K.PREFIX + "d1_pain_during_nrs").value is None


def test_a_licensed_questionnaire_shows_only_when_the_clinic_offers_it_and_its_answers_are_stored(
    clinic: SqlStore,
) -> None:
    patient, issued = a_patient_with_a_link(clinic)
    with clinic.read() as tx:
        admin = tx.get_user_by_username("demo.admin")
    governance.record_licence(clinic, admin, "odi", "Clinic licence 0000 (fictional)")
    at = verify(open_link(issued.token), patient.birth_date)
    assert "Oswestry" not in shown(at) and not [r for r in at.radio if "placeholder" in r.label]

    offer_to_patients(clinic, admin, "startback")  # the ODI's licence is already recorded
    governance.record_patient_use(clinic, admin, "odi", "Clause 4 (fictional)")
    governance.load_wording(clinic, admin, "odi", WordingUpload(placeholder_wording_file("odi")))
    at.run()
    questions = [r for r in at.radio if r.label.startswith("Item ")]
    assert len(questions) == 10 + 9 and as_shown(questions[0].label) == "Item 1 placeholder"
    assert [as_shown(o) for o in questions[0].options][:2] == ["Answer 0 placeholder", "Answer 1 placeholder"]
    assert "Oswestry Disability Index" in shown(at)
    for i in range(1, 11):
        at.radio(key=f"{K.PREFIX}odi_{i}").set_value(str(i % 6))
    at.radio(key=f"{K.PREFIX}startback_q9").set_value("slightly")
    at.button(key=K.PREFIX + "send").click().run()
    assert not at.exception, at.exception
    assert text.THANK_YOU in shown(at)
    with clinic.read() as tx:
        (report,) = tx.patient_reports(patient.id or "")
    assert report.answers["odi_sections"] == [1, 2, 3, 4, 5, 0, 1, 2, 3, 4]
    assert report.answers["startback"] == {"q9": "slightly"}


def test_a_long_paste_and_a_future_walk_reach_the_server_and_get_field_messages(clinic: SqlStore) -> None:
    """No browser-side limit cuts a paste or drops a date: the server refuses them, nothing is stored."""
    patient, issued = a_patient_with_a_link(clinic, "diary")
    at = verify(open_link(issued.token), patient.birth_date)
    assert all(t.proto.max_chars == 0 for t in at.text_input)  # no max_chars on any field
    at.text_input(key=K.PREFIX + "d0_walked_min").input("2" * 5000)
    at.date_input(key=K.PREFIX + "d0_day").set_value(dt.date.today() + dt.timedelta(days=3))
    at.radio(key=K.PREFIX + "d0_pain_before_nrs").set_value(2)
    at.radio(key=K.PREFIX + "d0_pain_during_nrs").set_value(3)
    at.button(key=K.PREFIX + "save").click().run()
    page = shown(at)
    assert "too long" in page and "in the future" in page and text.FIX_ABOVE in page
    assert at.text_input(key=K.PREFIX + "d0_walked_min").value == "2" * 5000  # what was typed stays
    with clinic.read() as tx:
        assert tx.diary_entries(patient.id or "") == []
