"""On a phone-sized screen (375 px) the clinician confirms the patient's check-in values into a visit
(clinical-reference §12.1): marked, answers beside the questions, a tick before saving, then linked."""

from __future__ import annotations

import datetime as dt
import re

from playwright.sync_api import expect

from dashboard import checkin_services as cs
from dashboard import services
from dashboard.config import load_settings
from data.store import open_store
from tests.browser.conftest import assert_no_exception, screenshot, wait_for_app, wait_for_layout
from tests.browser.test_pages_in_browser import go_to, log_in, open_patient
from tests.integration.support import visit_values

PHONE = {"width": 375, "height": 812}


def patient_who_checked_in(database_url: str) -> None:
    store = open_store(database_url)
    try:
        with store.read() as tx:
            clinician = tx.get_user_by_username("demo.clinician")
        patient = services.register_patient(
            store,
            clinician,
            {
                "patient_ref": "CHECKIN-0001",
                "given_name": "Amara",
                "family_name": "Njoku",
                "birth_date": dt.date(1957, 3, 9),
                "sex": "F",
                "symptom_onset": dt.date(2026, 9, 1),
            },
        )
        first = visit_values(
            dt.date.today() - dt.timedelta(days=7),
            pain_nrs=7,
            psfs=[{"activity": "Walking to the shop", "score": 3}],
        )
        services.record_visit(store, clinician, patient.saved_id, first)
        issued = cs.create_invite(store, clinician, patient.saved_id, "checkin")
        answers = {"pain_nrs": "5", "walk_total_min": "14", "psfs_0": "6", "symptom_bladder": "not_sure"}
        sent = cs.submit_checkin(store, issued.token, answers, load_settings())
        assert isinstance(sent, cs.CheckinSubmitted)
    finally:
        store.close()


def test_the_clinician_confirms_the_patients_values_into_a_visit_on_a_phone(page, app_server_factory):
    server = app_server_factory()
    patient_who_checked_in(server.database_url)
    log_in(page, server.url)
    open_patient(page, "CHECKIN-0001")
    go_to(page, "Visit")
    page.get_by_role("heading", name=re.compile("Follow-up visit")).wait_for()
    page.set_viewport_size(PHONE)
    wait_for_layout(page)

    day = dt.date.today().strftime("%d %b %Y")
    expect(page.get_by_label("Current pain, NPRS (0–10)", exact=True)).to_have_value("5")
    expect(page.get_by_text(f"Patient-reported on {day}: 5").first).to_be_visible()
    expect(page.get_by_text(f"Patient said not sure on {day}")).to_be_visible()
    ask_now = re.compile(r"^Ask now: Bladder function changed \(patient:.? not sure\)")  # the patient's first
    expect(page.get_by_text(ask_now)).to_be_visible()
    for name, text in (("marked", "Pre-filled from the patient's check-in"), ("screening", "Patient said")):
        page.get_by_text(text).first.scroll_into_view_if_needed()
        wait_for_layout(page)
        screenshot(page, f"visit_checkin_{name}_375")

    page.get_by_role("button", name="Save visit").click()
    wait_for_app(page)
    expect(page.get_by_text("Patient-reported values must be reviewed with the patient")).to_be_visible()
    page.locator('[data-testid="stCheckbox"]', has_text="Confirm carried-forward items").click()
    wait_for_app(page)
    reviewed = "I have reviewed the patient-reported values"
    confirm = page.locator('[data-testid="stCheckbox"]', has_text=reviewed)
    confirm.click()
    wait_for_app(page)
    confirm.scroll_into_view_if_needed()
    wait_for_layout(page)
    screenshot(page, "visit_checkin_confirm_375")
    page.get_by_role("button", name="Save visit").click()
    wait_for_app(page)
    page.get_by_text("Visit saved.").wait_for()
    assert_no_exception(page, server)

    store = open_store(server.database_url)
    try:
        with store.read() as tx:
            patient = tx.find_patient_by_ref("CHECKIN-0001")
            saved = tx.visits(patient.id)[-1]
            (report,) = tx.patient_reports(patient.id)
    finally:
        store.close()
    assert (saved.pain_nrs, saved.walk_protocol, saved.walk_total_min) == (5, "reported", 14.0)
    assert saved.psfs is not None and saved.psfs[0].score == 6
    assert report.reviewed_visit_id == saved.id
