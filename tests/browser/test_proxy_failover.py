"""Sticky sessions broken (issue 24, bad input): a browser sent to the other process, or its process stops.

Either way the browser's next connection lands on a process that never saw its Streamlit session.
The clinician must stay logged in (the login lives in the database: dashboard/web_sessions.py),
be told that the page started afresh, and find everything saved before still there. An upload
sent to the wrong process is refused (Streamlit marks the file) and never reaches a page; a reload
recovers. This module gets its own stack (tests/browser/test_proxy.py): its last test stops a process.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from dashboard.web_sessions import RESUMED_NOTICE
from tests.browser.conftest import assert_no_exception, screenshot, wait_for_app
from tests.browser.test_proxy import pinned_page, process_of, route_cookie, save_visit_with_pain, stack
from tests.browser.test_two_servers import PAIN_LABEL, go_to, log_in, newest_visit_row, open_patient
from tests.conftest import ROOT
from tests.proxy_stack import Stack

__all__ = ["pinned_page", "stack"]  # fixtures shared with test_proxy.py (this module's own instances)


def still_logged_in_and_told(page: Any, timeout_ms: float = 30_000) -> None:
    expect(page.get_by_text(RESUMED_NOTICE)).to_be_visible(timeout=timeout_ms)
    expect(page.get_by_text("Log out")).to_be_attached()
    expect(page.get_by_role("button", name="Log in")).to_have_count(0)


def test_a_browser_whose_route_cookie_changes_mid_session_stays_logged_in(
    stack: Stack, pinned_page: Any
) -> None:
    page = pinned_page(0)
    log_in(page, stack.url, "demo.clinician")
    open_patient(page, "DEMO-00003")
    expect(page.get_by_text(RESUMED_NOTICE)).to_have_count(0)  # the login's own page says nothing

    page.context.add_cookies([route_cookie(stack, stack.route_to(1))])
    # The open websocket stays with its process: the page goes on working as before.
    go_to(page, "Caseload")
    page.get_by_role("heading", name="Caseload").first.wait_for()
    # Its next connection goes to the other process, which resumes the login from the database.
    page.reload()
    wait_for_app(page)
    still_logged_in_and_told(page)
    assert process_of(page, stack) == 1
    assert_no_exception(page, stack.apps[1])


def test_an_upload_sent_to_the_wrong_process_is_refused_and_a_reload_recovers(
    stack: Stack, pinned_page: Any, tmp_path: Path
) -> None:
    export = tmp_path / "clinic-export.zip"
    export.write_bytes(b"PK\x05\x06" + b"\0" * 18)  # an empty zip: enough to be offered a check
    page = pinned_page(0)
    log_in(page, stack.url, "demo.admin")
    go_to(page, "Export and import")
    page.context.add_cookies([route_cookie(stack, stack.route_to(1))])
    uploader = page.locator('[data-testid="stFileUploaderDropzoneInput"]')

    # The page's session lives on process 0; its upload now goes to process 1, which refuses it.
    before = len(stack.access_lines())
    uploader.set_input_files(str(export))
    expect(page.locator('[data-testid="stFileChipIconError"]')).to_be_visible()
    expect(page.get_by_text("Request failed with status code 400")).to_be_attached()  # its tooltip
    expect(page.get_by_role("button", name="Check")).to_have_count(0)  # nothing reached the page
    [refused] = [line for line in stack.access_lines()[before:] if "PUT /_stcore/upload_file/" in line]
    assert '" 400 ' in refused and f"upstream=127.0.0.1:{stack.apps[1].port} " in refused

    # A reload moves the page to process 1: still logged in, told so, and the upload goes through,
    # XSRF check included (both processes share one cookie secret).
    page.reload()
    wait_for_app(page)
    still_logged_in_and_told(page)
    before = len(stack.access_lines())
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(export))
    expect(page.get_by_role("button", name="Check")).to_be_visible()
    [accepted] = [line for line in stack.access_lines()[before:] if "PUT /_stcore/upload_file/" in line]
    assert '" 204 ' in accepted and f"upstream=127.0.0.1:{stack.apps[1].port} " in accepted
    assert_no_exception(page, stack.apps[1])


def test_every_process_of_the_stack_has_the_same_cookie_secret_made_for_this_run(stack: Stack) -> None:
    secrets = set()
    for pid in stack.app_pids:
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        [secret] = [v for v in environ if v.startswith(b"STREAMLIT_SERVER_COOKIE_SECRET=")]
        secrets.add(secret.split(b"=", 1)[1].decode())
    [secret] = secrets
    assert re.fullmatch(r"[0-9a-f]{64}", secret)
    committed = (ROOT / ".streamlit" / "config.toml").read_text() + (
        ROOT / "docs" / "deployment.md"
    ).read_text()
    assert secret not in committed and "cookieSecret =" not in committed


# Last in this module: it stops process 0 for good.
def test_when_a_process_stops_its_browsers_reconnect_to_the_other_and_lose_nothing_saved(
    stack: Stack, pinned_page: Any
) -> None:
    page = pinned_page(0)
    log_in(page, stack.url, "demo.clinician")
    open_patient(page, "DEMO-00002")
    save_visit_with_pain(page, "6")  # saved through process 0
    go_to(page, "Visit")
    page.get_by_label(PAIN_LABEL, exact=True).fill("9")  # typed, never saved

    stack.apps[0].stop()
    # Streamlit's page reconnects by itself; nginx sends it to the process still running.
    still_logged_in_and_told(page, timeout_ms=90_000)
    wait_for_app(page, timeout_ms=60_000)
    screenshot(page, "proxy-reconnected-to-the-other-process")
    assert process_of(page, stack) == 1
    assert_no_exception(page, stack.apps[1])

    open_patient(page, "DEMO-00002")
    row = newest_visit_row(page)
    row.get_by_text(dt.date.today().isoformat()).wait_for()
    expect(row.get_by_text("Pain 6/10")).to_have_count(1)  # what was saved is there
    expect(row.get_by_text("Pain 9/10")).to_have_count(0)  # what was only typed was never saved
