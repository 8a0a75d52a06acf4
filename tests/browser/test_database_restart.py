"""PostgreSQL restarting under a clinician mid-visit, through the proxy (issue 24, bad input).

The deployed shape (tests/browser/test_proxy.py) on a PostgreSQL server of this module's own, which the
test stops and starts again. The clinician has typed a visit; the save meets the outage: a readable
sentence, no Streamlit error, nothing stored, and the typed values kept in the tab. Once the server is
back, "Try again" brings the form back as it was, the save goes through, and the other process shows it.
The same restart under load (the protocol client of `make load`, sessions back to back on both
processes): every refusal is the readable one, every acknowledged save is stored, and a session after
the restart goes through without an error.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from dashboard.ports import StoreUnavailable
from data import tables as t
from data.store import open_store
from tests.browser.conftest import assert_no_exception, screenshot, wait_for_app
from tests.browser.test_proxy import pinned_page, process_of, type_a_visit
from tests.browser.test_two_servers import PAIN_LABEL, log_in, newest_visit_row, open_patient
from tests.conftest import missing_requirement
from tests.load.journey import Outcome, clinician_session
from tests.load.server import count_rows, patient_refs, seed
from tests.pg_outage import Server, own_postgres
from tests.proxy_stack import ROUTE_COOKIE, Stack, nginx_path, start_stack

__all__ = ["pinned_page"]  # the fixture of test_proxy.py, here on this module's own stack

pytestmark = [pytest.mark.browser, pytest.mark.postgres]


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with own_postgres() as running:
        yield running


@pytest.fixture(scope="module")
def stack(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The demo clinic (12 patients) on the module's own server, two processes behind nginx."""
    if nginx_path() is None:
        missing_requirement("nginx is missing: run scripts/ensure-system-packages")
    seed(server.url, 12)  # the fictional demo clinic, dated from today
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


def test_a_save_during_a_database_restart_is_refused_readably_keeps_the_form_and_goes_through_after(
    server: Server, stack: Stack, pinned_page: Any
) -> None:
    page = pinned_page(0)
    log_in(page, stack.url, "demo.clinician")
    patient = patient_refs(server.url)[0]  # an open episode, no open flag
    open_patient(page, patient)
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
    # What became of the click (up to the colon, after which md_escape puts a word joiner).
    expect(page.get_by_text(StoreUnavailable.NOTHING_CHANGED.split(":")[0])).to_be_visible()
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
    open_patient(other, patient)
    row = newest_visit_row(other)
    row.get_by_text(dt.date.today().isoformat()).wait_for()
    expect(row.get_by_text("Pain 7/10")).to_have_count(1)
    assert (process_of(page, stack), process_of(other, stack)) == (0, 1)
    assert_no_exception(other, stack.apps[1])


# What a page may say while the database is away: the store's sentences, by their start (the load
# client keeps an error alert's first 80 characters, of its markdown). A save refused as NOTHING_CHANGED
# was not stored; after MESSAGE (the page's run failed, not the save) or AT_COMMIT it may have been.
NEUTRAL, NOTHING_CHANGED, AT_COMMIT = (
    text[:60]
    for text in (StoreUnavailable.MESSAGE, StoreUnavailable.NOTHING_CHANGED, StoreUnavailable.AT_COMMIT)
)


async def sessions_through_a_restart(
    stack: Stack,
    server: Server,
    refs: list[str],
    *,
    slots: int = 4,
    halt_at_s: float = 4.0,
    down_s: float = 4.0,
) -> list[Outcome]:
    """Sessions back to back in `slots` slots (pinned to both processes) for 16 s; PostgreSQL stops
    `halt_at_s` into it and starts again `down_s` later, so sessions are in flight through it."""
    routes = [stack.route_to(0), stack.route_to(1)]
    started, outcomes = time.monotonic(), list[Outcome]()

    async def slot(index: int) -> None:
        while time.monotonic() - started < 16.0:
            cookies = {ROUTE_COOKIE: routes[index % 2]}
            ref = refs[index % len(refs)]
            outcome = await clinician_session(stack.url, ref, ca_file=stack.certificate, cookies=cookies)
            outcomes.append(outcome)
            if outcome.errors:  # refused: a moment before trying again, as a clinician would
                await asyncio.sleep(0.5)

    async def restart() -> None:
        await asyncio.sleep(halt_at_s)
        await asyncio.to_thread(server.halt)
        await asyncio.sleep(down_s)
        await asyncio.to_thread(server.resume)

    await asyncio.gather(restart(), *(slot(i) for i in range(slots)))
    return outcomes


def test_a_database_restart_under_load_is_refused_readably_and_loses_no_acknowledged_save(
    server: Server, stack: Stack
) -> None:
    refs = patient_refs(server.url)
    before = count_rows(server.url)
    # In a thread of its own: the browser tests' Playwright already runs an event loop here.
    with ThreadPoolExecutor(max_workers=1) as pool:
        outcomes = pool.submit(asyncio.run, sessions_through_a_restart(stack, server, refs)).result()
        [after_restart] = pool.submit(asyncio.run, sessions_after(stack, refs)).result()
    after = count_rows(server.url)

    errors = [error for outcome in outcomes for error in outcome.errors]
    # As the page's markdown has them: a page escapes the sentence (md_escape) before it shows it.
    alerts = [e.split("error message: ", 1)[1].replace("\\", "") for e in errors if "error message: " in e]
    assert alerts, "no session met the outage: the test did not test it"
    assert all(alert.startswith((NEUTRAL, NOTHING_CHANGED, AT_COMMIT)) for alert in alerts), alerts
    for fault in ("exception element", "HTTP 5", "websocket", "timeout", "page not found"):
        assert not [e for e in errors if fault in e], errors
    acknowledged = sum(o.saves_acknowledged for o in outcomes) + after_restart.saves_acknowledged
    maybe = [e for e in errors if e.startswith("save visit: error message: ")]
    maybe = [e for e in maybe if not e.replace("\\", "").split(": ", 2)[2].startswith(NOTHING_CHANGED)]
    assert acknowledged <= after["visits"] - before["visits"] <= acknowledged + len(maybe)
    assert after_restart.errors == [] and after_restart.saves_acknowledged == 1  # back to normal


async def sessions_after(stack: Stack, refs: list[str]) -> list[Outcome]:
    return [await clinician_session(stack.url, refs[0], ca_file=stack.certificate)]
