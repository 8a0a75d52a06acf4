"""A baseline and a follow-up visit recorded in the browser: the derived change is shown before saving."""

from __future__ import annotations

import datetime as dt
import re

from playwright.sync_api import expect

from dashboard import services
from data.store import open_store
from tests.browser.conftest import assert_no_exception, wait_for_app
from tests.browser.test_pages_in_browser import go_to, log_in, open_patient


def fill(page, label: str, value: str) -> None:
    field = page.get_by_label(label, exact=True)
    field.fill(value)
    field.press("Enter")
    wait_for_app(page)


def test_a_baseline_and_a_follow_up_show_the_derived_change(page, app_server_factory):
    server = app_server_factory()
    store = open_store(server.database_url)
    try:
        with store.read() as tx:
            clinician = tx.get_user_by_username("demo.clinician")
        services.register_patient(
            store,
            clinician,
            {
                "patient_ref": "FLOW-0001",
                "given_name": "Grace",
                "family_name": "Okafor",
                "birth_date": dt.date(1958, 4, 2),
                "sex": "F",
                "symptom_onset": dt.date(2026, 9, 1),
            },
        )
    finally:
        store.close()

    log_in(page, server.url)
    open_patient(page, "FLOW-0001")
    go_to(page, "Visit")
    page.get_by_text("First visit").first.wait_for()
    fill(page, "Current pain, NPRS (0–10)", "7")
    page.get_by_role("button", name="Save visit").click()
    wait_for_app(page)
    page.get_by_text("Visit saved.").wait_for()

    # The form is now a follow-up: change is judged live, before anything is saved.
    page.get_by_text("Follow-up visit").first.wait_for()
    fill(page, "Current pain, NPRS (0–10)", "4")
    table = page.locator('[data-testid="stTable"]')
    table.get_by_text("Clinically important improvement").wait_for()
    expect(table.get_by_text(re.compile(r"^[−-]3$")).first).to_be_visible()  # 7 → 4 points
    page.locator('[data-testid="stCheckbox"]', has_text="Confirm carried-forward items").click()
    wait_for_app(page)
    page.get_by_role("button", name="Save visit").click()
    wait_for_app(page)
    page.get_by_text("Visit saved.").wait_for()
    assert_no_exception(page, server)
