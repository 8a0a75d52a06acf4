"""An import file just above server.maxUploadSize gets a clear message and never reaches the app."""

from __future__ import annotations

import tomllib

from playwright.sync_api import expect

from tests.browser.conftest import assert_no_exception
from tests.browser.test_pages_in_browser import go_to, log_in
from tests.conftest import ROOT

MAX_UPLOAD_MB = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["server"]["maxUploadSize"]


def test_an_upload_just_above_the_limit_is_refused_with_a_message(page, app, app_server, tmp_path):
    too_big = tmp_path / "clinic-export.zip"
    with too_big.open("wb") as handle:
        handle.truncate(MAX_UPLOAD_MB * 1024 * 1024 + 1024)  # sparse: 1 KiB over the limit
    log_in(page, app_server, "demo.admin")
    go_to(page, "Export and import")
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(too_big))
    page.get_by_text(f"{MAX_UPLOAD_MB:.1f}MB", exact=False).first.wait_for()
    expect(page.get_by_role("button", name="Check")).to_have_count(0)  # nothing reached the app
    assert_no_exception(page, app)
