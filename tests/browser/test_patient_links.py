"""A clinician creates a check-in link on a 1024 px screen: the QR code shows and the slip downloads.

The page is kept as test-artifacts/screenshots/patient-link-1024.png, to look at.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import AppServer, assert_no_exception, screenshot, wait_for_app, wait_for_layout
from tests.browser.test_pages_in_browser import log_in, open_patient
from tests.conftest import pdf_text


def test_a_new_check_in_link_shows_its_qr_code_and_its_slip_downloads(
    page: Any, app_server: str, app: AppServer, tmp_path: Path
) -> None:
    page.set_viewport_size({"width": 1024, "height": 1100})
    log_in(page, app_server)
    open_patient(page, "DEMO-00003")
    page.get_by_role("button", name="Create a check-in link").click()
    wait_for_app(page)
    assert_no_exception(page, app)
    qr = page.get_by_role("img", name="QR code of the new check-in link")
    expect(qr).to_be_visible()
    assert qr.bounding_box()["width"] >= 200  # large enough to scan from the screen
    link = page.locator('[data-testid="stCode"]').inner_text().strip()
    assert re.fullmatch(r"https?://\S+/checkin\?t=[A-Za-z0-9_-]{43}", link), link
    expect(page.get_by_text("Shown only now.")).to_be_visible()
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Print the slip (PDF)").click()
    slip = tmp_path / download_info.value.suggested_filename
    download_info.value.save_as(slip)
    assert slip.name.startswith("stride-checkin-link-until-") and slip.read_bytes().startswith(b"%PDF")
    assert link in "".join(pdf_text(slip).split())
    qr.scroll_into_view_if_needed()
    wait_for_layout(page)
    screenshot(page, "patient-link-1024")
    page.get_by_role("button", name="Done").click()
    wait_for_app(page)
    expect(page.get_by_role("img", name="QR code of the new check-in link")).to_have_count(0)
    expect(page.get_by_text(link)).to_have_count(0)
