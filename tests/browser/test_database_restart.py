"""PostgreSQL restarting under a clinician mid-visit, through the proxy (issue 24, bad input).

The deployed shape (tests/browser/test_proxy.py) on a PostgreSQL server of this module's own, which the
test stops and starts again. The clinician has typed a visit; the save meets the outage: a readable
sentence, no Streamlit error, nothing stored, and the typed values kept in the tab. Once the server is
back, "Try again" brings the form back as it was, the save goes through, and the other process shows it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from dashboard.ports import StoreUnavailable
from data import demo
from data import tables as t
from data.store import open_store
from tests.browser.conftest import assert_no_exception, screenshot, wait_for_app
from tests.browser.test_proxy import pinned_page, process_of
from tests.browser.test_two_servers import PAIN_LABEL, go_to, log_in, newest_visit_row, open_patient
from tests.conftest import missing_requirement
from tests.pg_outage import Server, own_postgres
from tests.proxy_stack import Stack, nginx_path, start_stack

__all__ = ["pinned_page"]  # the fixture of test_proxy.py, here on this module's own stack

pytestmark = [pytest.mark.browser, pytest.mark.postgres]

PATIENT = "DEMO-00002"


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with own_postgres() as running:
        yield running


@pytest.fixture(scope="module")
def stack(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The demo clinic (6 patients, seed 11) on the module's own server, two processes behind nginx."""
    if nginx_path() is None:
        missing_requirement("nginx is missing: run scripts/ensure-system-packages")
    store = open_store(server.url)
    try:
        demo.generate(store, patients=6, seed=11)
    finally:
        store.close()
    running = start_stack(tmp_path_factory.mktemp("restart") / "stack", server.url)
    try:
        yield running
    finally:
        running.stop()


def stored_visits(server: Server) -> int:
    """Every visit row in the clinic's database (archived ones too)."""
    store = open_store(server.url)
    try:
        with store.read() as tx:
            return int(tx.conn.execute(select(func.count()).select_from(t.visits)).scalar() or 0)
    finally:
        store.close()


def type_a_visit(page: Any, pain: str) -> None:
    go_to(page, "Visit")
    field = page.get_by_label(PAIN_LABEL, exact=True)
    field.fill(pain)
    field.press("Enter")
    wait_for_app(page)
    page.get_by_role("button", name="Save visit").wait_for()
    confirm = page.locator('[data-testid="stCheckbox"]', has_text="Confirm carried-forward items")
    if confirm.count():
        confirm.click()
        wait_for_app(page)


def test_a_save_during_a_database_restart_is_refused_readably_keeps_the_form_and_goes_through_after(
    server: Server, stack: Stack, pinned_page: Any
) -> None:
    page = pinned_page(0)
    log_in(page, stack.url, "demo.clinician")
    open_patient(page, PATIENT)
    type_a_visit(page, "7")
    before = stored_visits(server)

    server.halt()
    try:
        page.get_by_role("button", name="Save visit").click()
        expect(page.get_by_text(StoreUnavailable.MESSAGE)).to_be_visible()
        expect(page.get_by_text("Visit saved.")).to_have_count(0)
        assert_no_exception(page, stack.apps[0])  # no Streamlit error notice, no traceback
        screenshot(page, "database-restart-save-refused")
    finally:
        server.resume()
    assert stored_visits(server) == before  # nothing of the refused save

    page.get_by_role("button", name="Try again").click()
    wait_for_app(page)
    expect(page.get_by_label(PAIN_LABEL, exact=True)).to_have_value("7")  # the typed visit, as it was
    today = dt.date.today()
    expect(page.get_by_role("spinbutton", name="day, Visit date")).to_have_attribute(
        "aria-valuenow", str(today.day)
    )  # drawn afresh after the outage, the date widget would be empty
    screenshot(page, "database-restart-form-kept")
    page.get_by_role("button", name="Save visit").click()
    wait_for_app(page)
    expect(page.get_by_text("Visit saved.")).to_be_visible()
    assert stored_visits(server) == before + 1
    assert_no_exception(page, stack.apps[0])

    other = pinned_page(1)
    log_in(other, stack.url, "demo.admin")
    open_patient(other, PATIENT)
    row = newest_visit_row(other)
    row.get_by_text(dt.date.today().isoformat()).wait_for()
    expect(row.get_by_text("Pain 7/10")).to_have_count(1)
    assert (process_of(page, stack), process_of(other, stack)) == (0, 1)
    assert_no_exception(other, stack.apps[1])
