"""Sessions: an idle tab is logged out by the timeout, and no patient page is reachable by URL."""

from __future__ import annotations

import sqlite3

from playwright.sync_api import expect

from tests.browser.conftest import assert_no_exception, wait_for_app
from tests.browser.test_pages_in_browser import go_to, log_in


def test_an_idle_tab_is_logged_out_by_the_timeout(page, app_server_factory):
    server = app_server_factory(extra_env={"STRIDE_SESSION_TIMEOUT_MIN": "0.1"})  # six seconds
    log_in(page, server.url)
    go_to(page, "Caseload")
    # No interaction at all: the timed fragment must notice and show the login page by itself.
    page.get_by_role("button", name="Log in").wait_for(timeout=40_000)
    expect(page.get_by_text("Your session ended after a period of inactivity")).to_have_count(1)
    expect(page.get_by_text("DEMO-0")).to_have_count(0)
    assert_no_exception(page, server)


def test_a_patient_page_opened_by_url_without_login_shows_only_the_login_page(page, app_server_factory):
    # A fresh server, so the very first request is the deep link (Streamlit's pages/ fallback case).
    server = app_server_factory()
    database = sqlite3.connect(server.database_url.removeprefix("sqlite:///"))
    patient_id = database.execute("SELECT id FROM patients LIMIT 1").fetchone()[0]
    pages = ("progress", "visit", "plan", "patients", "caseload", "flags", "admin")
    admin_pages = ("admin_audit", "admin_governance", "admin_data", "admin_erasure")
    for path in pages + admin_pages:
        page.goto(f"{server.url}/{path}?patient={patient_id}")
        wait_for_app(page)
        page.get_by_role("button", name="Log in").wait_for()
        expect(page.get_by_text("DEMO-0")).to_have_count(0)
        assert_no_exception(page, server)
