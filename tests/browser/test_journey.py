"""The whole appointment in a real browser, counting the clinician's interactions (issue 13).

One interaction is a click, a choice in a list, typing one value, or a navigation (opening the
address or a page). The counts per step go to test-artifacts/journey-counts.json and are printed
as a Markdown table for the README. A routine follow-up visit must take at most 12 and a first
(baseline) visit with every questionnaire of the demo's baseline set at most 60 (issue 19).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from playwright.sync_api import expect

from data.store import open_store
from tests.browser.conftest import (
    assert_no_exception,
    screenshot,
    wait_for_app,
    wait_for_layout,
    wait_for_login_cookie,
)
from tests.browser.test_pages_in_browser import choose, go_to, log_in, open_patient
from tests.conftest import ROOT, missing_requirement

PATIENT_REF = "DEMO-00003"
COUNTS_FILE = ROOT / "test-artifacts" / "journey-counts.json"
MAX_VISIT_INTERACTIONS = 12
MAX_BASELINE_INTERACTIONS = 60
BASELINE_COUNTS_FILE = ROOT / "test-artifacts" / "journey-baseline-counts.json"
SCREENING_GROUPS = 6  # Cauda equina, neurology, infection, malignancy, fracture, vascular


def latest_visit(database_url: str, patient_ref: str) -> Any:
    """The newest visit of a patient, read straight from the app's database."""
    store = open_store(database_url)
    try:
        with store.read() as tx:
            patient = tx.find_patient_by_ref(patient_ref)
            return tx.visits(patient.id)[-1]
    finally:
        store.close()


class Journey:
    """Drives the page and counts every interaction under the current step."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.counts: dict[str, int] = {}
        self._step = ""

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        self._step = name
        self.counts[name] = 0
        yield

    def _count(self) -> None:
        self.counts[self._step] += 1

    def open_address(self, url: str) -> None:
        self._count()
        self.page.goto(url)
        wait_for_app(self.page)

    def navigate(self, title: str) -> None:
        """Click a page in the sidebar."""
        self._count()
        self.page.locator('[data-testid="stSidebarNav"]').get_by_text(title, exact=False).first.click()
        wait_for_app(self.page)

    def click(self, locator: Any) -> None:
        self._count()
        locator.click()
        wait_for_app(self.page)

    def type_value(self, locator: Any, value: str, *, commit: bool = True) -> None:
        """Type one value; Enter commits it (a text or number input commits on Enter or blur)."""
        self._count()
        locator.fill(value)
        if commit:
            locator.press("Enter")
            wait_for_app(self.page)

    def select(self, label: str, option: str, within: Any = None) -> None:
        """Open a selectbox and pick one option: one interaction."""
        self._count()
        choose(self.page, label, option, within=within)


def pdf_text(path: Any) -> str:
    if shutil.which("pdftotext") is None:
        missing_requirement("pdftotext is missing: install poppler-utils (scripts/ensure-system-packages)")
    result = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True, timeout=60
    )
    return result.stdout


def test_a_whole_appointment_in_the_browser(page, app, tmp_path):
    journey = Journey(page)

    with journey.step("Log in"):
        journey.open_address(app.url)
        journey.type_value(page.get_by_role("textbox", name="Username"), "demo.clinician", commit=False)
        journey.type_value(page.get_by_role("textbox", name="Password"), "stride-demo", commit=False)
        journey.click(page.get_by_role("button", name="Log in"))
        wait_for_login_cookie(page)  # the browser fetches its session cookie: no interaction

    with journey.step("Find and open the patient"):
        # The Patients page is the landing page after login: no navigation needed.
        journey.type_value(page.get_by_label("Find by name or reference"), PATIENT_REF)
        results = page.get_by_role("button", name="Open")
        expect(results).to_have_count(1)  # the reference finds exactly one patient
        journey.click(results.first)
        heading = page.get_by_role("heading", name=re.compile(PATIENT_REF))
        heading.wait_for()
        patient_name = heading.inner_text().split("·")[0].strip()
        assert patient_name

    with journey.step("Routine follow-up visit"):
        journey.click(page.get_by_role("link", name="Record a visit"))
        page.get_by_role("heading", name=re.compile("Follow-up visit")).wait_for()
        # Copy-forward: the walking protocol comes from the previous visit, marked with its date.
        expect(page.get_by_text(re.compile(r"Carried forward from \d{4}-\d{2}-\d{2}"))).to_have_count(1)
        expect(page.get_by_text(re.compile(r"Protocol from \d{4}-\d{2}-\d{2}"))).to_have_count(1)
        journey.type_value(page.get_by_label("Current pain, NPRS (0–10)"), "6")
        journey.type_value(page.get_by_label("Time to first symptom (min)"), "3.5")
        journey.type_value(page.get_by_label("Total time (min)"), "5")
        negatives = page.get_by_role("button", name="Asked: all negative")
        expect(negatives).to_have_count(SCREENING_GROUPS)
        for index in range(SCREENING_GROUPS):
            journey.click(negatives.nth(index))
        journey.click(page.locator('[data-testid="stCheckbox"]', has_text="Confirm carried-forward items"))
        journey.click(page.get_by_role("button", name="Save visit"))
        page.get_by_text("Visit saved.").wait_for()
        assert_no_exception(page, app)
        # Every screening question was answered, so nothing is left to "Ask now".
        expect(page.get_by_text("Ask now:")).to_have_count(0)
        screenshot(page, "journey-visit-saved")
        saved = latest_visit(app.database_url, PATIENT_REF)
        assert (saved.pain_nrs, saved.walk_onset_min, saved.walk_total_min) == (6, 3.5, 5.0)
        assert saved.walk_protocol == "spwt"  # carried forward

    with journey.step("Close a red flag"):
        journey.navigate("Red flags")
        # One card per event: the rules one screening raised close together.
        close_button = page.get_by_role(
            "button", name=re.compile(r"^Close (escalation|all \d+ escalations)$")
        )
        card = (
            page.locator('[data-testid="stVerticalBlock"]', has_text=PATIENT_REF)
            .filter(has_text="RF_MALIGNANCY_SUSPECTED")
            .filter(has=close_button)
            .last
        )
        card.wait_for()
        journey.select("Action taken", "Urgent GP / specialist referral", within=card)
        journey.click(
            card.get_by_role("button", name=re.compile(r"^Close (escalation|all \d+ escalations)$"))
        )
        page.get_by_text(re.compile(r"Closed .*RF_MALIGNANCY_SUSPECTED.* for .*Urgent GP")).wait_for()
        assert_no_exception(page, app)

    with journey.step("Review progress"):
        journey.navigate("Progress")
        page.get_by_role("heading", name="Trends").wait_for()
        # Plotly loads lazily: wait until the charts have drawn (pain, walking, ODI, PSFS at least).
        page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot .main-svg').length >= 4")
        wait_for_layout(page)
        charts = page.locator('[data-testid="stPlotlyChart"]')
        assert charts.count() >= 4  # read after the wait above: at least four charts are drawn
        expect(page.locator(".js-plotly-plot")).to_have_count(charts.count())
        # Each chart is a figure with a text alternative.
        labels = [charts.nth(i).get_attribute("aria-label") for i in range(charts.count())]
        assert all(labels), labels
        assert "Pain scores over time" in labels
        assert_no_exception(page, app)

    with journey.step("Plan and handout"):
        journey.navigate("Plan & handout")
        button = page.get_by_role("button", name="Download the handout (PDF)")
        with page.expect_download() as download_info:
            journey.click(button)
        pdf = tmp_path / download_info.value.suggested_filename
        download_info.value.save_as(pdf)
        assert pdf.read_bytes().startswith(b"%PDF")
        artifacts = ROOT / "test-artifacts"
        artifacts.mkdir(exist_ok=True)
        shutil.copy(pdf, artifacts / "journey-handout.pdf")
        text = pdf_text(pdf)
        assert patient_name in text
        assert "When to get help" in text
        # The handout is recorded with the patient at the click and listed as given.
        page.get_by_text(re.compile("sha256 [0-9a-f]")).first.wait_for()
        assert_no_exception(page, app)

    total = sum(journey.counts.values())
    COUNTS_FILE.parent.mkdir(parents=True, exist_ok=True)
    COUNTS_FILE.write_text(
        json.dumps({"steps": journey.counts, "total": total, "unit": "interactions"}, indent=2) + "\n"
    )
    rows = "\n".join(f"| {name} | {n} |" for name, n in journey.counts.items())
    print(f"\n| step | interactions |\n|---|---|\n{rows}\n| **whole appointment** | **{total}** |")
    assert journey.counts["Routine follow-up visit"] <= MAX_VISIT_INTERACTIONS, journey.counts


def test_the_next_visit_form_after_a_save_starts_unconfirmed(page, app):
    log_in(page, app.url)
    open_patient(page, "DEMO-00010")
    go_to(page, "Visit")
    confirm = page.get_by_role("checkbox", name=re.compile("Confirm carried-forward items"))
    expect(confirm).not_to_be_checked()
    page.locator('[data-testid="stCheckbox"]', has_text="Confirm carried-forward items").click()
    wait_for_app(page)
    page.get_by_role("button", name="Save visit").click()
    wait_for_app(page)
    page.get_by_text("Visit saved.").wait_for()
    # A new follow-up form, carried forward from the visit just saved: nothing is confirmed yet.
    # Wait for the new form itself: its confirmation names the visit just saved (today).
    fresh = page.get_by_role(
        "checkbox", name=f"Confirm carried-forward items (from {dt.date.today().isoformat()})"
    )
    fresh.wait_for()
    expect(fresh).not_to_be_checked()  # the next visit's carried-forward items are confirmed afresh


def test_a_first_visit_with_odi_start_back_and_psfs_takes_at_most_60_interactions(page, app_server_factory):
    from dashboard import services
    from tests.factories import PATIENT_DEFAULTS

    server = app_server_factory()
    store = open_store(server.database_url)
    try:
        with store.read() as tx:
            clinician = tx.get_user_by_username("demo.clinician")
        services.register_patient(store, clinician, PATIENT_DEFAULTS | {"patient_ref": "BASE-00001"})
    finally:
        store.close()
    log_in(page, server.url)
    open_patient(page, "BASE-00001")
    journey = Journey(page)
    with journey.step("First visit, all baseline questionnaires"):
        journey.click(page.get_by_role("link", name="Record a visit"))
        page.get_by_role("heading", name=re.compile("First visit")).wait_for()
        journey.type_value(page.get_by_label("Current pain, NPRS (0–10)"), "6")
        journey.type_value(page.get_by_label("Worst pain in 24 h (0–10)"), "8")
        journey.select("Walking test protocol", "Self-paced walking test (SPWT, ≤ 30 min)")
        journey.type_value(page.get_by_label("Time to first symptom (min)"), "4")
        journey.type_value(page.get_by_label("Total time (min)"), "9")
        journey.type_value(page.get_by_label("Total distance (m)"), "520")
        journey.select("Why the test stopped", "symptoms")
        for label, option in (
            ("Leg pain on walking", "yes"),
            ("What eases it", "sitting or bending forward"),
            ("Where it is felt", "buttock or thigh"),
            ("Easier leaning on a trolley", "yes"),
            ("Brought on by standing alone", "yes"),
            ("Pedal pulses", "normal"),
        ):
            journey.select(label, option)
        negatives = page.get_by_role("button", name="Asked: all negative")
        expect(negatives).to_have_count(SCREENING_GROUPS)
        for index in range(SCREENING_GROUPS):
            journey.click(negatives.nth(index))
        # One click per ODI section and STarT Back item: the questionnaires are open at a first visit.
        odi = [2, 1, 3, 2, 2, 3, 1, None, 2, 2]  # section 8 left blank, as patients often do
        for number, score in enumerate(odi, start=1):
            if score is not None:
                group = page.get_by_role("radiogroup", name=re.compile(rf"^{number}\. "))
                journey.click(group.first.get_by_role("radio", name=str(score), exact=True))
        startback = ["agree", "disagree", "agree", "disagree", "agree", "agree", "disagree", "disagree"]
        for number, answer in enumerate(startback, start=1):
            group = page.get_by_role("radiogroup", name=re.compile(rf"^{number}\. ")).last
            journey.click(group.get_by_role("radio", name=answer, exact=True))
        nine = page.get_by_role("radiogroup", name="9. Bothersomeness")
        journey.click(nine.get_by_role("radio", name="moderately", exact=True))
        for index, (activity, score) in enumerate((("Walking to the shops", "3"), ("Standing to cook", "4"))):
            journey.type_value(page.get_by_placeholder(f"Activity {index + 1}", exact=True), activity)
            journey.type_value(page.get_by_label(f"Score {index + 1}", exact=True), score)
        journey.click(page.get_by_role("button", name="Save visit"))
        page.get_by_text("Visit saved.").wait_for()
        assert_no_exception(page, server)
        screenshot(page, "journey-baseline-saved")
    saved = latest_visit(server.database_url, "BASE-00001")
    assert saved.odi_sections == odi and saved.startback is not None and saved.startback["q9"] == "moderately"
    assert (saved.walk_total_m, saved.walk_total_min, saved.leg_pain_on_walking) == (520.0, 9.0, True)
    assert [entry.activity for entry in saved.psfs or []] == ["Walking to the shops", "Standing to cook"]
    total = journey.counts["First visit, all baseline questionnaires"]
    BASELINE_COUNTS_FILE.parent.mkdir(parents=True, exist_ok=True)
    BASELINE_COUNTS_FILE.write_text(json.dumps({"steps": journey.counts, "unit": "interactions"}) + "\n")
    print(f"\nFirst visit with ODI, STarT Back, PSFS, walking test and screening: {total} interactions")
    assert total <= MAX_BASELINE_INTERACTIONS, journey.counts
