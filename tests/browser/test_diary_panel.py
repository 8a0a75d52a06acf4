"""The walking diary on the Progress page in a real browser (clinical-reference §12.3): a patient's
week of walks typed through their diary link, read by the clinician at 1024 px and on a 375 px phone.
Screenshots of the panel go to test-artifacts/screenshots/diary-panel-<width>.png."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from dashboard import checkin_services as cs
from dashboard import services
from dashboard.config import load_settings
from dashboard.patient_reported import DiaryEntry
from data.store import open_store
from tests.browser.conftest import (
    SCREENSHOTS,
    assert_no_exception,
    seed_demo,
    wait_for_app,
    wait_for_layout,
)
from tests.browser.test_pages_in_browser import go_to, log_in, open_patient
from tests.factories import PATIENT_DEFAULTS
from tests.integration.support import visit_values

REF = "DIARY-0001"
# (pain during, pain next morning) a day up to yesterday; pain before is 2: the last two are red.
WEEK = ((2, 1), (3, 2), (4, 2), (3, 1), (5, 3), (7, None), (8, None))


def clinic_with_a_diary(url: str) -> str:
    """A small demo clinic and one patient with a week of diary walks, typed through a diary link; the
    patient's id."""
    seed_demo(url, patients=3)
    settings, store = load_settings(), open_store(url)
    try:
        with store.read() as tx:
            user = tx.get_user_by_username("demo.clinician")
        patient = services.register_patient(store, user, PATIENT_DEFAULTS | {"patient_ref": REF})
        today = dt.date.today()
        services.record_visit(store, user, patient.saved_id, visit_values(today - dt.timedelta(days=14)))
        token = cs.create_invite(store, user, patient.saved_id, "diary").token
        for days_ago, (during, morning) in zip(range(len(WEEK), 0, -1), WEEK, strict=True):
            raw = {
                "walked_min": str(10 + 2 * days_ago),
                "pain_before_nrs": "2",
                "pain_during_nrs": str(during),
            }
            entry = cs.add_diary_entry(store, token, raw, today - dt.timedelta(days=days_ago), settings)
            assert isinstance(entry, DiaryEntry) and entry.id
            if morning is not None:
                cs.add_next_morning_pain(store, token, entry.id, morning, entry.version, settings)
        return patient.saved_id
    finally:
        store.close()


def panel_screenshot(page: Any, width: int) -> Path:
    """The diary panel (heading to table) at `width`: the viewport grows to the page's height first,
    since Streamlit scrolls inside its main element."""
    height = page.evaluate("() => document.querySelector('[data-testid=stMain]').scrollHeight")
    page.set_viewport_size({"width": width, "height": int(height)})
    wait_for_layout(page)
    top = page.get_by_role("heading", name="Walking diary (patient-reported)").bounding_box()
    bottom = page.locator('[data-testid="stDataFrame"]').last.bounding_box()
    assert top is not None and bottom is not None
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"diary-panel-{width}.png"
    clip = {
        "x": 0,
        "y": top["y"] - 8,
        "width": width,
        "height": bottom["y"] + bottom["height"] - top["y"] + 16,
    }
    page.screenshot(path=str(path), clip=clip)
    page.set_viewport_size({"width": width, "height": 800})
    wait_for_layout(page)
    return path


def test_the_clinician_reads_the_walking_diary_at_1024_px_and_on_a_phone(page, app_server_factory, tmp_path):
    url = f"sqlite:///{tmp_path}/clinic.sqlite3"
    patient_id = clinic_with_a_diary(url)
    server = app_server_factory(database_url=url)
    page.set_viewport_size({"width": 1024, "height": 800})
    log_in(page, server.url)
    open_patient(page, REF)
    go_to(page, "Progress")
    heading = page.get_by_role("heading", name="Walking diary (patient-reported)")
    expect(heading).to_be_visible()
    expect(page.get_by_text("patient-reported, provisional").first).to_be_visible()
    expect(page.get_by_text("Two red walks in a row: the patient was told to go back")).to_be_visible()
    chart = page.locator('[data-testid="stPlotlyChart"]').last
    # One bar and one light marker per walk (the line itself has no points).
    expect(chart.locator(".barlayer .point")).to_have_count(len(WEEK))
    expect(chart.locator(".scatterlayer .trace.scatter .points path")).to_have_count(len(WEEK))
    expect(chart.get_by_text("Red walk")).to_be_attached()
    expect(chart.get_by_text("Green: pain 0–3")).to_be_attached()
    expect(page.locator('[data-testid="stDataFrame"]').last).to_be_visible()
    assert_no_exception(page, server)
    panel_screenshot(page, 1024)

    # A phone opens the page afresh (its sidebar starts closed), by the address with the opaque id only.
    page.set_viewport_size({"width": 375, "height": 800})
    page.goto(f"{server.url}/progress?patient={patient_id}")
    wait_for_app(page)
    expect(heading).to_be_attached()
    wait_for_layout(page)
    heading.scroll_into_view_if_needed()
    expect(heading).to_be_in_viewport()
    box = chart.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 375
    # Nothing pushes the page sideways on a phone.
    overflow = page.evaluate(
        "() => { const m = document.querySelector('[data-testid=stMain]');"
        " return m.scrollWidth - m.clientWidth; }"
    )
    assert overflow <= 1
    panel_screenshot(page, 375)
    assert_no_exception(page, server)
