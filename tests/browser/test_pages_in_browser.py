"""Every page opens in a real browser without an exception, and the red-flag journey works end to end."""

from __future__ import annotations

import re
import sqlite3

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import assert_no_exception, screenshot, wait_for_app, wait_for_login_cookie

PAGES = ["Patients", "Visit", "Progress", "Plan & handout", "Caseload", "Red flags", "My account"]
ADMIN_PAGES = ["Users", "Audit trail", "Rules and licences", "Export and import", "Erasure"]


def log_in(page, base_url: str, username: str = "demo.clinician") -> None:
    page.goto(base_url)
    wait_for_app(page)
    page.get_by_role("textbox", name="Username").fill(username)
    page.get_by_role("textbox", name="Password").fill("stride-demo")
    page.get_by_role("button", name="Log in").click()
    wait_for_login_cookie(page)


def go_to(page, title: str) -> None:
    page.locator('[data-testid="stSidebarNav"]').get_by_text(title, exact=False).first.click()
    wait_for_app(page)


def open_patient(page, patient_ref: str) -> None:
    """Find a patient by reference and open them; returns once their page shows them.

    Waiting for the patient's own heading (not only for an idle app) matters on a loaded machine: a
    rerun that has not started within the settle time would otherwise let the next click (a page in
    the sidebar) race the Open button's page switch.
    """
    go_to(page, "Patients")
    page.get_by_label("Find by name or reference").fill(patient_ref)
    page.get_by_label("Find by name or reference").press("Enter")
    wait_for_app(page)
    page.get_by_role("button", name="Open").first.click()
    wait_for_app(page)
    page.get_by_role("heading", name=re.compile(re.escape(patient_ref))).first.wait_for()


def choose(page, label: str, option: str, within=None) -> None:
    """Pick an option of a Streamlit selectbox (its list opens with ArrowDown, as a keyboard user would)."""
    (within or page).get_by_label(label, exact=True).first.click()
    page.keyboard.press("ArrowDown")
    page.get_by_role("option", name=option, exact=True).click()
    wait_for_app(page)


def test_the_login_page_shows_no_patient_data_before_login(page, app_server):
    page.goto(app_server)
    wait_for_app(page)
    expect(page.get_by_role("button", name="Log in")).to_have_count(1)
    expect(page.get_by_text("DEMO-0")).to_have_count(0)
    assert_no_exception(page)


def test_every_page_opens_without_an_exception(page, app_server, app):
    log_in(page, app_server, "demo.admin")
    open_patient(page, "DEMO-00002")
    for title in PAGES + ADMIN_PAGES:
        go_to(page, title)
        assert_no_exception(page, app)
        screenshot(page, f"page-{title.split()[0].lower()}-1280")
    # Only opaque ids ever reach the address bar.
    assert "DEMO-" not in page.url


@pytest.mark.parametrize("username", ["demo.clinician"])
def test_new_saddle_numbness_raises_an_emergency_that_is_pinned_until_closed(page, app_server, app, username):
    log_in(page, app_server, username)
    open_patient(page, "DEMO-00001")
    go_to(page, "Visit")
    page.get_by_label("Current pain, NPRS (0–10)").fill("5")
    page.get_by_label("Current pain, NPRS (0–10)").press("Enter")
    wait_for_app(page)
    choose(page, "Saddle sensation changed", "new")
    # Warned live, before anything is saved.
    expect(page.get_by_text("EMERGENCY: possible cauda equina syndrome").first).to_be_visible()
    confirm = page.locator('[data-testid="stCheckbox"]', has_text="Confirm carried-forward items")
    page.get_by_role("button", name="Save visit").wait_for()  # the form is drawn down to its end
    if confirm.count():
        confirm.click()
        wait_for_app(page)
    page.get_by_role("button", name="Save visit").click()
    wait_for_app(page)
    assert_no_exception(page, app)
    # The result is where the clinician is looking (the page stays scrolled down at the button).
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_in_viewport()
    expect(dialog.get_by_text("result of the visit just saved")).to_be_visible()
    expect(dialog.get_by_text("EMERGENCY: act within this appointment").first).to_be_visible()
    screenshot(page, "journey-emergency-dialog")
    dialog.get_by_role("button", name="I have read the result").click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    wait_for_app(page)
    expect(page.get_by_text("EMERGENCY: act within this appointment").first).to_be_visible()
    sidebar = page.locator('[data-testid="stSidebar"]')
    pins = sidebar.locator('.st-key-emergency_pins [data-testid="stPageLink"]')
    pin = pins.filter(has_text=re.compile(r"DEMO-00001.*RF_CES")).first
    expect(pin).to_be_visible()
    screenshot(page, "journey-emergency-banner")

    # The pin is a link to the patient, by opaque id only.
    go_to(page, "Patients")
    pin.click()
    wait_for_app(page)
    expect(page.get_by_role("heading", name="Progress")).to_be_visible()
    expect(page.get_by_text("DEMO-00001").first).to_be_visible()
    assert "patient=" in page.url and "DEMO-" not in page.url

    go_to(page, "Red flags")
    close_button = page.get_by_role("button", name=re.compile(r"^Close (escalation|all \d+ escalations)$"))
    # The innermost block holding this patient's RF_CES card and its close form.
    card = (
        page.locator('[data-testid="stVerticalBlock"]', has_text="RF_CES")
        .filter(has_text="DEMO-00001")
        .filter(has=close_button)
        .last
    )
    card.wait_for()
    wait_for_app(page)  # the card shows, so the Red flags run has started: wait for it to finish
    # In the main area: the sidebar pin reads "(DEMO-00001) · RF_CES" too.
    card_line = page.locator('[data-testid="stMain"] p', has_text=re.compile(r"\(DEMO-00001\) · .*RF_CES"))
    expect(card_line).to_have_count(1)
    open_cards = close_button.count()  # read once the queue is drawn (the card above is in it)
    choose(page, "Action taken", "Sent to the emergency department", within=card)
    card.get_by_role("button", name=re.compile(r"^Close (escalation|all \d+ escalations)$")).click()
    wait_for_app(page)
    # This patient's RF_CES card leaves the queue and no other does (expect waits for the rerun).
    # Not `card` itself: once the card is gone, that query matches an outer block of the page.
    expect(card_line).to_have_count(0)
    expect(close_button).to_have_count(open_cards - 1)
    assert_no_exception(page, app)
    database = sqlite3.connect(app.database_url.removeprefix("sqlite:///"))
    statuses = database.execute(
        "SELECT e.status, json_extract(e.data, '$.close_action') FROM escalations e "
        "JOIN patients p ON p.id = e.patient_id WHERE p.patient_ref = 'DEMO-00001' AND e.rule_id = 'RF_CES'"
    ).fetchall()
    assert statuses == [("closed", "sent_to_ed")]
    expect(pins.filter(has_text=re.compile(r"DEMO-00001.*RF_CES"))).to_have_count(0)
