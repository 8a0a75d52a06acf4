"""A baseline and a follow-up visit recorded in the browser: the derived change is shown before saving."""

from __future__ import annotations

import datetime as dt
import re

from playwright.sync_api import expect

from dashboard import services
from data.store import open_store
from tests.browser.conftest import assert_no_exception, wait_for_app
from tests.browser.test_journey import latest_visit
from tests.browser.test_pages_in_browser import choose, go_to, log_in, open_patient


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
    # The first visit recorded only pain, so nothing was carried forward and nothing needs confirming.
    confirm = page.locator('[data-testid="stCheckbox"]', has_text="Confirm carried-forward items")
    expect(confirm).to_have_count(0)
    page.get_by_role("button", name="Save visit").click()
    wait_for_app(page)
    page.get_by_text("Visit saved.").wait_for()
    assert_no_exception(page, server)


def test_what_was_entered_on_the_visit_page_survives_a_trip_to_another_page(page, app):
    log_in(page, app.url)
    open_patient(page, "DEMO-00011")
    go_to(page, "Visit")
    page.get_by_role("heading", name=re.compile("Follow-up visit")).wait_for()
    choose(page, "Walking test protocol", "6-minute walk test")
    fill(page, "Total distance (m)", "420")
    fill(page, "Current pain, NPRS (0–10)", "4")
    page.locator('[data-testid="stCheckbox"]', has_text="Confirm carried-forward items").click()
    wait_for_app(page)

    go_to(page, "Progress")
    page.get_by_role("heading", name="Trends").wait_for()
    go_to(page, "Visit")
    page.get_by_role("heading", name=re.compile("Follow-up visit")).wait_for()
    wait_for_app(page)
    # The page shows what was entered, and that is what Save sends (not the widgets' defaults).
    expect(page.get_by_label("Total distance (m)", exact=True)).to_have_value("420.00")
    expect(page.get_by_label("Current pain, NPRS (0–10)", exact=True)).to_have_value("4")
    page.get_by_role("button", name="Save visit").click()
    wait_for_app(page)
    expect(page.get_by_text("Visit saved.")).to_be_visible()
    assert_no_exception(page, app)
    saved = latest_visit(app.database_url, "DEMO-00011")
    assert (saved.visit_date, saved.walk_protocol, saved.walk_total_m, saved.pain_nrs) == (
        dt.date.today(),
        "6mwt",
        420.0,
        4,
    )


def test_a_value_typed_and_saved_at_once_is_saved_with_the_visit(page, app):
    # A clinician in a hurry types the last value and clicks Save without pressing Enter: the click
    # commits the field, whose section rerun used to pre-empt the click's run, so nothing was saved
    # and nothing said so (the form simply stayed filled in).
    log_in(page, app.url)
    open_patient(page, "DEMO-00011")
    go_to(page, "Visit")
    page.get_by_role("heading", name=re.compile("Follow-up visit")).wait_for()
    fill(page, "Current pain, NPRS (0–10)", "4")
    page.locator('[data-testid="stCheckbox"]', has_text="Confirm carried-forward items").click()
    wait_for_app(page)
    page.get_by_label("Worst pain in 24 h (0–10)", exact=True).fill("8")  # no Enter, no Tab
    page.get_by_role("button", name="Save visit").click()
    expect(page.get_by_text("Visit saved.")).to_be_visible()
    assert_no_exception(page, app)
    saved = latest_visit(app.database_url, "DEMO-00011")
    assert (saved.visit_date, saved.pain_nrs, saved.pain_worst_nrs) == (dt.date.today(), 4, 8)
