"""Out-of-range visit input typed in a real browser reaches the server and is refused there, by field.

Widget limits used to drop such input in the browser: pain 11 or a negative onset time turned the widget
red, a future date fell back to today, 6,000 pasted characters pasted nothing, and the save went ahead.
"""

from __future__ import annotations

import datetime as dt

from playwright.sync_api import expect

from dashboard import services
from data.store import open_store
from tests.browser.conftest import assert_no_exception, screenshot, wait_for_app
from tests.browser.test_pages_in_browser import choose, go_to, log_in, open_patient


def register(server, patient_ref: str):
    """A new patient (no visits yet) in the server's clinic, registered by the demo clinician."""
    store = open_store(server.database_url)
    try:
        with store.read() as tx:
            clinician = tx.get_user_by_username("demo.clinician")
        return services.register_patient(
            store,
            clinician,
            {
                "patient_ref": patient_ref,
                "given_name": "Ines",
                "family_name": "Moreau",
                "birth_date": dt.date(1961, 6, 3),
                "sex": "F",
                "symptom_onset": dt.date(2026, 8, 1),
            },
        )
    finally:
        store.close()


def stored_visits(server, patient) -> list:
    store = open_store(server.database_url)
    try:
        with store.read() as tx:
            return tx.visits(patient.saved_id)
    finally:
        store.close()


def test_pain_11_a_negative_onset_a_future_date_and_long_notes_are_refused_by_field(page, app_server_factory):
    server = app_server_factory()
    patient = register(server, "REFUSE-0001")

    page.set_viewport_size({"width": 1024, "height": 800})
    log_in(page, server.url)
    open_patient(page, "REFUSE-0001")
    go_to(page, "Visit")
    page.get_by_text("First visit").first.wait_for()

    for label, value in (("Current pain, NPRS (0–10)", "11"), ("Time to first symptom (min)", "-2")):
        field = page.get_by_label(label, exact=True)
        field.fill(value)
        field.press("Enter")
        wait_for_app(page)
    future = dt.date.today() + dt.timedelta(days=5)
    date_field = page.get_by_label("Visit date", exact=True)
    date_field.click()
    date_field.press("Control+a")
    date_field.press_sequentially(future.isoformat())
    date_field.press("Enter")
    wait_for_app(page)
    notes = page.get_by_label("Notes", exact=True)
    notes.click()
    page.keyboard.insert_text("n" * 6000)  # what a paste does
    notes.press("Tab")  # a text area sends its text when it loses focus
    wait_for_app(page)

    page.get_by_role("button", name="Save visit").click()
    wait_for_app(page)
    alerts = page.locator('[data-testid="stAlert"]')
    expect(alerts.filter(has_text="Nothing was saved")).to_have_count(1)
    for message in (
        "Current pain, NPRS (0–10) must be at most 10",
        "Time to first symptom (min) must be at least 0",
        "Visit date must not be in the future",
        "Notes can hold at most 5,000 characters (you entered 6,000)",
    ):
        expect(alerts.filter(has_text=message)).to_have_count(1)
    expect(page.get_by_text("Visit saved.")).to_have_count(0)
    expect(notes).to_have_value("n" * 6000)  # nothing typed is lost
    # Streamlit scrolls inside its own container: one picture at the top fields, one at the save button.
    alerts.filter(has_text="Visit date must not be in the future").scroll_into_view_if_needed()
    screenshot(page, "visit-input-refused-1024-top")
    alerts.filter(has_text="Nothing was saved").scroll_into_view_if_needed()
    screenshot(page, "visit-input-refused-1024-save")
    assert_no_exception(page, server)

    assert stored_visits(server, patient) == []


def test_walking_times_typed_with_a_colon_are_pointed_out_at_once_and_refused_together(
    page, app_server_factory
):
    # A number field drops the colon a clinician types: "4:30" arrives as 430 minutes, "12:00" as 1200.
    server = app_server_factory()
    patient = register(server, "REFUSE-0002")
    page.set_viewport_size({"width": 1024, "height": 800})
    log_in(page, server.url)
    open_patient(page, "REFUSE-0002")
    go_to(page, "Visit")
    page.get_by_text("First visit").first.wait_for()
    choose(page, "Walking test protocol", "Self-paced walking test (SPWT, ≤ 30 min)")
    for label, typed in (("Time to first symptom (min)", "4:30"), ("Total time (min)", "12:00")):
        field = page.get_by_label(label, exact=True)
        field.click()
        page.keyboard.type(typed)
        field.press("Tab")
        wait_for_app(page)
    alerts = page.locator('[data-testid="stAlert"]')
    for label, minutes in (("Time to first symptom (min)", "430"), ("Total time (min)", "1200")):
        # md_escape keeps "Label:" from reading as markdown with a word joiner after the colon
        warning = alerts.filter(has_text=label).filter(
            has_text=f"{minutes} is more than this protocol's 30 minutes"
        )
        expect(warning).to_have_count(1)
    expect(alerts.filter(has_text="4 min 30 s is 4.5").first).to_be_visible()
    screenshot(page, "visit-walking-time-typed-with-colon-1024")

    page.get_by_role("button", name="Save visit").click()
    wait_for_app(page)
    expect(alerts.filter(has_text="Nothing was saved")).to_have_count(1)
    for label in ("Time to first symptom (min)", "Total time (min)"):  # both in one refusal
        expect(alerts.filter(has_text=f"{label} must be at most 30 min")).to_have_count(1)
    assert_no_exception(page, server)
    assert stored_visits(server, patient) == []
