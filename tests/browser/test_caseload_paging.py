"""The caseload's paging in Chromium at 1024 px and at phone width (375 px), mouse and keyboard."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import AppServer, assert_no_exception, screenshot, seed_demo, wait_for_app
from tests.browser.test_pages_in_browser import go_to, log_in

PATIENTS = 120  # the demo clinic of `make run`: three pages of open episodes


def test_the_caseload_pages_by_mouse_and_keyboard_at_1024_and_375_px(
    page: Any, app_server_factory: Callable[..., AppServer], tmp_path: Any
) -> None:
    url = f"sqlite:///{tmp_path}/caseload.sqlite3"
    seed_demo(url, patients=PATIENTS)
    server = app_server_factory(url)
    page.set_viewport_size({"width": 1024, "height": 900})
    log_in(page, server.url)
    go_to(page, "Caseload")
    expect(page.get_by_text(re.compile(r"^Page 1 of 2 · patients 1–50 of \d+$"))).to_be_visible()
    previous = page.get_by_role("button", name="← Previous")
    following = page.get_by_role("button", name="Next →")
    expect(previous).to_be_disabled()

    following.click()
    wait_for_app(page)
    expect(page.get_by_text(re.compile(r"^Page 2 of 2 · patients 51–\d+ of \d+$"))).to_be_visible()
    expect(following).to_be_disabled()
    following.scroll_into_view_if_needed()
    screenshot(page, "caseload-paging-1024")

    previous.focus()  # the keyboard reaches the paging buttons: Enter turns the page
    page.keyboard.press("Enter")
    wait_for_app(page)
    expect(page.get_by_text(re.compile(r"^Page 1 of 2"))).to_be_visible()

    page.get_by_label("Search by name or reference").fill("%_'; drop")
    page.get_by_label("Search by name or reference").press("Enter")
    wait_for_app(page)
    expect(page.get_by_text("No patient matches these filters")).to_be_visible()
    page.get_by_label("Search by name or reference").fill("")
    page.get_by_label("Search by name or reference").press("Enter")
    wait_for_app(page)

    page.set_viewport_size({"width": 375, "height": 800})
    wait_for_app(page)
    expect(following).to_be_visible()
    expect(page.get_by_text(re.compile(r"^Page 1 of 2"))).to_be_visible()
    box = following.bounding_box()
    assert box is not None and box["x"] + box["width"] <= 375  # whole on a phone, not off the edge
    following.scroll_into_view_if_needed()
    screenshot(page, "caseload-paging-375")
    assert_no_exception(page, server)
