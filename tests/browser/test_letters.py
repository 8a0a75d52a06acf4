"""Letters in a real browser (issue 20, clinical-reference §13): a clinician closes an RF_CES event with
a referral letter to the emergency department, and discharges a demo patient and downloads the
discharge summary; both PDFs are read back with pdftotext. Its own server: the event it closes and the
episode it discharges are nobody else's."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import expect

from tests.browser.conftest import assert_no_exception, screenshot, wait_for_app
from tests.browser.test_pages_in_browser import choose, go_to, log_in, open_patient
from tests.conftest import pdf_text

TOLD = "Go to the emergency department now; do not wait for your appointment."


def flat(text: str) -> str:
    return " ".join(text.split())


def test_a_clinician_closes_a_ces_event_with_a_referral_letter(page, app_server_factory, tmp_path: Path):
    server = app_server_factory()
    log_in(page, server.url)
    go_to(page, "Red flags")
    card = page.locator('[class*="st-key-flag_"]').filter(has_text="rule: RF_CES").first
    expect(card).to_be_visible()
    patient = re.search(r"\((DEMO-\d+)\)", card.inner_text())
    assert patient is not None
    card.get_by_text("Close with a referral letter").click()
    wait_for_app(page)
    submit = card.get_by_role("button", name="Close and write the letter")
    submit.click()  # nothing chosen yet: refused at its fields, nothing closed
    expect(card.get_by_text("Choose who the letter goes to.")).to_be_visible()
    expect(card.get_by_text("Say what the patient was told")).to_be_visible()
    card.get_by_text("Emergency department", exact=True).click()
    card.get_by_role("textbox", name="What the patient was told").fill(TOLD)
    submit.click()
    download_button = page.get_by_role("button", name="Download the referral letter (PDF)")
    expect(download_button).to_be_visible()
    expect(page.get_by_text("with the letter as its evidence")).to_be_visible()
    screenshot(page, "referral-letter-given")
    with page.expect_download() as info:
        download_button.click()
    saved = tmp_path / "referral.pdf"
    info.value.save_as(saved)
    assert info.value.suggested_filename.startswith("stride-referral-")
    assert patient.group(1) not in info.value.suggested_filename  # no patient data in the file name
    text = flat(pdf_text(saved))
    for expected in (
        "To: Emergency department",
        f"ref {patient.group(1)}",
        "Emergency referral: suspected cauda equina syndrome",
        "emergency MRI within 4 hours",
        "RF_CES",
        TOLD,
        "Demo Clinician",
        "Latest neurology and screening",
    ):
        assert expected in text, expected
    expect(page.locator('[class*="st-key-flag_"]').filter(has_text=patient.group(1))).to_have_count(0)
    assert_no_exception(page, server)


def test_a_clinician_discharges_a_patient_and_downloads_the_discharge_summary(
    page, app_server_factory, tmp_path: Path
):
    server = app_server_factory()
    log_in(page, server.url)
    open_patient(page, "DEMO-00003")
    go_to(page, "Progress")
    page.get_by_text("Discharge this episode").click()
    wait_for_app(page)
    choose(page, "Reason", "Goals met")
    page.get_by_role("button", name="Discharge").click()
    wait_for_app(page)
    override = page.get_by_role("textbox", name="Why discharge with the escalation open")
    if override.count():  # the demo patient may have an urgent escalation open: say why, as §11.1 asks
        override.fill("Referred to the spinal team today")
        page.get_by_role("button", name="Discharge").click()
    expect(page.get_by_text("This episode is discharged")).to_be_visible()
    page.get_by_role("button", name="Write the discharge summary").click()
    letter_row = page.locator('[class*="st-key-letter_"]').first
    expect(letter_row).to_be_visible()
    screenshot(page, "discharge-summary-given")
    with page.expect_download() as info:
        letter_row.get_by_role("button").click()
    saved = tmp_path / "summary.pdf"
    info.value.save_as(saved)
    text = flat(pdf_text(saved))
    for expected in (
        "Discharge summary",
        "To: GP",
        "ref DEMO-00003",
        "Reason for discharge: Goals met",
        "Outcome measures",
        "Walking tolerance",
        "Red flags",
        "Re-referral",
    ):
        assert expected in text, expected
    assert re.search(r"(Clinically important|No clinically important) (improvement|change|worsening)", text)
    assert re.search(r"discharged \d{1,2} \w{3} \d{4}", text)
    assert_no_exception(page, server)
