"""The clinic export's download URL: generated at the click, gone from Streamlit's media store soon after.

Streamlit serves st.download_button data from /media/<hash>.zip to anyone who has the URL, without a
session. The Export and import page makes the export only when the admin clicks (a deferred download),
and a few short fragment runs afterwards let Streamlit delete it; this test fetches the same URL from a
fresh browser context (no cookies, no session) until it answers 404.
"""

from __future__ import annotations

import io
import time
import zipfile

from tests.browser.conftest import assert_no_exception, screenshot, wait_for_app
from tests.browser.test_pages_in_browser import go_to, log_in

# Generous: the sweep runs every 2 s on the page; a loaded 2-core machine may be slow to schedule it.
GONE_WITHIN_S = 60.0


def test_a_downloaded_clinic_export_is_not_fetchable_by_its_url_soon_after(browser, page, app_server_factory):
    server = app_server_factory()  # its own server: no other session's runs help the cleanup along
    log_in(page, server.url, "demo.admin")
    go_to(page, "Export and import")
    with page.expect_download() as info:
        page.get_by_role("button", name="Export and download").click()
    download = info.value
    url = download.url
    assert "/media/" in url
    with open(download.path(), "rb") as handle:
        members = zipfile.ZipFile(io.BytesIO(handle.read())).namelist()
    assert "manifest.json" in members and "manifest.sig" in members

    stranger = browser.new_context()  # no cookies, no Streamlit session
    try:
        started = time.monotonic()
        statuses = []
        while time.monotonic() - started < GONE_WITHIN_S:
            status = stranger.request.get(url).status
            statuses.append(status)
            if status == 404:
                break
            page.wait_for_timeout(500)
        elapsed = time.monotonic() - started
        print(
            f"export URL answered {statuses[:3]}... then 404 after {elapsed:.1f} s ({len(statuses)} fetches)"
        )
        assert statuses[-1] == 404, f"still served after {elapsed:.0f} s: {statuses[-5:]}"
    finally:
        stranger.close()
    wait_for_app(page)
    assert_no_exception(page, server)
    assert page.get_by_role("button", name="Export and download").is_visible()

    # The import's "from another clinic" choice comes with its warning.
    page.get_by_text("This archive comes from another clinic").click()
    wait_for_app(page)
    page.get_by_text("every imported account needs a new password").wait_for()
    screenshot(page, "admin-data-from-another-clinic")
