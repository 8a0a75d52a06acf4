"""The Outcomes page in a real browser (issue 22): the clinic lead opens it on the demo clinic of
`make run` (120 patients, five clinicians, dated from the demo's fixed date) for its last 12 months,
sees the funnel plot and the statuses in words, and downloads the report as a PDF, read back with
pdftotext. Its own server: the session's small clinic has no discharged episode."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from playwright.sync_api import expect

from dashboard import outcome_views
from data.demo import DEMO_PATIENTS, DEMO_TODAY
from tests.browser.conftest import assert_no_exception, screenshot, seed_demo, wait_for_app
from tests.browser.test_pages_in_browser import choose, go_to, log_in
from tests.conftest import pdf_text


def set_date(page, label: str, day: dt.date) -> None:
    """Type a date into a Streamlit date field (year, month and day segments, as YYYY-MM-DD shows
    them) as a keyboard user would, close its calendar and click away: the value is sent on blur."""
    field = page.get_by_role("group", name=label, exact=True)
    field.get_by_role("spinbutton").first.click()
    page.keyboard.type(f"{day:%Y%m%d}")
    page.keyboard.press("Escape")
    page.get_by_role("heading", name="Outcomes").first.click()
    wait_for_app(page)


def test_a_clinic_lead_reads_the_funnel_plot_and_downloads_the_report(
    page, app_server_factory, tmp_path: Path
):
    url = f"sqlite:///{tmp_path}/clinic.sqlite3"
    seed_demo(url, patients=DEMO_PATIENTS)
    server = app_server_factory(database_url=url)
    first, last = DEMO_TODAY - dt.timedelta(days=364), DEMO_TODAY
    log_in(page, server.url, "demo.admin")
    go_to(page, "Outcomes")
    page.get_by_role("radio", name="Custom", exact=True).click()
    wait_for_app(page)
    set_date(page, "First day", first)
    set_date(page, "Last day", last)
    expect(page.get_by_text("Clinically important improvement at discharge")).to_be_visible()
    chart = page.locator('[data-testid="stPlotlyChart"]').first
    expect(chart).to_be_visible()
    expect(chart.locator(".scatterlayer .trace").first).to_be_attached()
    expect(page.get_by_text("Demo Physio Blake").first).to_be_attached()
    expect(page.get_by_text("below the 95% limit (alert)").first).to_be_visible()
    assert_no_exception(page, server)
    screenshot(page, "outcomes-year")

    with page.expect_download() as download:
        page.get_by_role("button", name="Download this report (PDF)").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.name == f"stride-outcomes-{first:%Y-%m-%d}-{last:%Y-%m-%d}.pdf"
    text = " ".join(pdf_text(saved).split())
    assert "Clinic outcomes: episodes discharged" in text
    assert "each clinician against the clinic's rate" in text
    assert "Demo Physio Blake" in text and "below the 95% limit (alert)" in text
    assert "within the expected range" in text and "DEMO-" not in text

    # Another measure redraws only its own section (an st.fragment): the funnel follows the choice and
    # the rest of the page stays as it was.
    choose(page, outcome_views.MEASURE_LABEL, "Disability (ODI)")
    expect(chart.locator(".gtitle")).to_have_text("Disability (ODI): % improved by clinician")
    expect(page.get_by_text("Clinically important improvement at discharge")).to_be_visible()
    expect(page.get_by_role("button", name="Download this report (PDF)")).to_be_visible()
    assert_no_exception(page, server)


def test_a_period_that_ends_before_it_starts_is_refused_in_words(page, app):
    today = dt.date.today()
    log_in(page, app.url, "demo.admin")
    go_to(page, "Outcomes")
    page.get_by_role("radio", name="Custom", exact=True).click()
    wait_for_app(page)
    set_date(page, "Last day", today - dt.timedelta(days=400))
    expect(page.get_by_text("The period ends before it starts")).to_be_visible()
    expect(page.locator('[data-testid="stPlotlyChart"]')).to_have_count(0)
    assert_no_exception(page, app)


def test_a_first_day_eleven_years_back_reaches_the_server_and_is_refused_in_words(page, app):
    today = dt.date.today()
    log_in(page, app.url, "demo.admin")
    go_to(page, "Outcomes")
    page.get_by_role("radio", name="Custom", exact=True).click()
    wait_for_app(page)
    set_date(page, "First day", today.replace(year=today.year - 11))
    expect(page.get_by_text("Choose a period of at most ten years.")).to_be_visible()
    assert_no_exception(page, app)
