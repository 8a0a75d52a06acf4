"""The states a clinic meets before and around real work, in a real browser (issue 13).

An empty clinic, a patient with no visits, a session that expired while the tab sat idle, a database
that cannot be reached, and long names in several scripts: each page says what is going on and
what to do next, never shows a traceback, and (at 768 px) nothing runs off the side of the window.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from dashboard import services
from dashboard.ports import User
from data.store import open_store
from tests.browser.conftest import (
    AppServer,
    assert_no_exception,
    screenshot,
    wait_for_app,
    wait_for_layout,
    wait_for_login_cookie,
    wait_for_sidebar_closed,
)
from tests.conftest import missing_requirement

USERNAME = "kim.okafor"
PASSWORD = "walk-the-long-way-7"
UNREACHABLE = "postgresql+psycopg://nobody@127.0.0.1:1/none"
# Given name, family name, reference: long names in several scripts (at most 100 characters each).
LONG_NAMES = [
    ("Maximiliane-Alexandra", "Wolfeschlegelsteinhausenbergerdorff-Łukasz-Müller", "LONG-LATIN"),
    ("Αικατερίνη-Παναγιώτα", "Παπαδοπούλου-Χατζηγεωργίου", "LONG-GREEK"),
    ("Александра-Вероника", "Константинопольская-Преображенская", "LONG-CYRILLIC"),
    ("عبد الرحمن", "بن عبد العزيز آل سعود الفيصل", "LONG-ARABIC"),
    ("सत्यनारायण", "वेंकटरमणन-सुब्रह्मण्यम", "LONG-DEVANAGARI"),
    ("欧阳明月", "司马上官东方诸葛", "LONG-CJK"),
]


def add_clinician(database_url: str) -> User:
    """The clinic's first account, made as the first-admin command line would (no acting user)."""
    store = open_store(database_url)
    try:
        return services.create_user(
            store, None, username=USERNAME, display_name="Kim Okafor", role="clinician", password=PASSWORD
        )
    finally:
        store.close()


def add_patient(database_url: str, user: User, given: str, family: str, ref: str, *, visit: bool) -> str:
    store = open_store(database_url)
    try:
        patient = services.register_patient(
            store,
            user,
            {
                "patient_ref": ref,
                "given_name": given,
                "family_name": family,
                "birth_date": dt.date(1958, 3, 14),
                "sex": "X",
                "symptom_onset": dt.date.today() - dt.timedelta(days=60),
            },
        )
        if visit:
            values = {"visit_date": dt.date.today(), "pain_nrs": 6, "pain_worst_nrs": 8}
            values |= {"walk_protocol": "spwt", "walk_onset_min": 4.0, "walk_total_min": 9.5}
            services.record_visit(store, user, patient.id, values)
        return patient.id
    finally:
        store.close()


@pytest.fixture(scope="module")
def clinic(app_server_factory: Callable[..., AppServer]) -> Iterator[tuple[AppServer, User]]:
    """A new, empty clinic (not a demo) with one clinician account; tests add what they need."""
    server = app_server_factory(seed=False)
    yield server, add_clinician(server.database_url)


def log_in(page: Any, server: AppServer) -> None:
    page.goto(server.url)
    wait_for_app(page)
    page.get_by_role("textbox", name="Username").fill(USERNAME)
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    wait_for_login_cookie(page)
    page.get_by_role("heading", name="Patients").wait_for()


def go_to(page: Any, title: str) -> None:
    nav = page.locator('[data-testid="stSidebarNav"]')
    if not nav.is_visible():
        page.locator('[data-testid="stExpandSidebarButton"]').click()
    nav.get_by_text(title, exact=False).first.click()
    wait_for_app(page)
    collapse = page.locator('[data-testid="stSidebarCollapseButton"] button')
    if page.viewport_size["width"] <= 800 and collapse.is_visible():
        collapse.click()  # in a narrow window the sidebar takes half the page: close it, as a user would
        wait_for_sidebar_closed(page)


def open_patient(page: Any, query: str) -> None:
    go_to(page, "Patients")
    search = page.get_by_label("Find by name or reference")
    search.fill(query)
    search.press("Enter")
    wait_for_app(page)
    page.get_by_role("button", name="Open").first.click()
    wait_for_app(page)


def expect_text(page: Any, text: str | re.Pattern[str], server: AppServer) -> None:
    page.get_by_text(text).first.wait_for()
    assert_no_exception(page, server)


def main_overflows(page: Any) -> bool:
    wait_for_layout(page)  # measure the laid-out page, not one still sliding or resizing
    return bool(
        page.evaluate(
            "() => { const m = document.querySelector('[data-testid=stMain]');"
            " return m.scrollWidth > m.clientWidth + 1; }"
        )
    )


def test_an_empty_clinic_says_what_to_do_first(page, app_server_factory):
    server = app_server_factory(seed=False)
    add_clinician(server.database_url)
    page.goto(server.url)
    wait_for_app(page)
    page.get_by_role("button", name="Log in").wait_for()
    expect(page.get_by_text("Fictional demo clinic")).to_have_count(0)  # demo accounts only on a demo
    log_in(page, server)
    # No patient yet: the add form is open and the page says what to do.
    expect_text(page, "Find a patient above, or pick one from the caseload.", server)
    expect(page.get_by_role("button", name="Add patient")).to_be_visible()
    expect(page.locator('[data-testid="stSidebar"]').get_by_text("Open flags: none")).to_have_count(1)
    screenshot(page, "friendly-empty-patients")
    for title, message in [
        ("Visit", "Choose a patient first."),
        ("Progress", "No patient is chosen yet."),
        ("Plan & handout", "No patient is chosen yet."),
        ("Caseload", "No patients in the clinic yet."),
        ("Red flags", "No open escalations."),
    ]:
        go_to(page, title)
        expect_text(page, re.compile(re.escape(message)), server)
        # Each empty page points somewhere useful.
        if title in ("Visit", "Progress", "Plan & handout", "Caseload"):
            expect(page.get_by_role("link", name=re.compile("patient", re.I)).first).to_be_visible()
        screenshot(page, f"friendly-empty-{title.split()[0].lower()}")


def test_a_patient_with_no_visits_gets_a_first_visit_and_no_empty_charts(page, clinic):
    server, user = clinic
    add_patient(server.database_url, user, "Noor", "Haddad-Lindqvist", "NEW-0001", visit=False)
    log_in(page, server)
    open_patient(page, "NEW-0001")
    expect_text(page, "No visits recorded yet.", server)
    go_to(page, "Visit")
    page.get_by_role("heading", name=re.compile("First visit · Noor Haddad-Lindqvist")).wait_for()
    # Nothing to carry forward on a first visit.
    expect(page.get_by_text("Carried forward")).to_have_count(0)
    expect(page.get_by_role("checkbox", name=re.compile("Confirm carried-forward"))).to_have_count(0)
    go_to(page, "Progress")
    expect_text(page, "No visits are recorded for this patient yet, so there is nothing to chart.", server)
    expect(page.locator('[data-testid="stPlotlyChart"]')).to_have_count(0)
    expect(page.get_by_role("link", name="Record the first visit")).to_have_count(1)
    screenshot(page, "friendly-no-visits-progress")
    go_to(page, "Plan & handout")
    expect_text(page, "A plan is built from the findings of a visit. Record a visit first.", server)
    expect(page.get_by_role("button", name=re.compile("Download the handout"))).to_have_count(0)
    screenshot(page, "friendly-no-visits-plan")


def test_an_idle_session_ends_by_itself_and_says_why(page, app_server_factory):
    # 0.05 min = 3 s. The idle timer (a fragment every 30 s) notices without any click.
    server = app_server_factory(seed=False, extra_env={"STRIDE_SESSION_TIMEOUT_MIN": "0.05"})
    add_clinician(server.database_url)
    log_in(page, server)
    page.get_by_text("Your session ended after a period of inactivity.").wait_for(timeout=50_000)
    assert_no_exception(page, server)
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    expect(page.get_by_text("Log out")).to_have_count(0)
    screenshot(page, "friendly-session-expired")


def test_an_unreachable_database_gets_a_readable_page_naming_the_setting(page, app_server_factory):
    server = app_server_factory(database_url=UNREACHABLE)
    page.goto(server.url)
    wait_for_app(page)
    page.get_by_role("heading", name="Stride cannot open its database").wait_for()
    main = page.locator('[data-testid="stMain"]')
    expect(main.get_by_text("STRIDE_DATABASE_URL").first).to_be_visible()
    # No traceback and no connection details.
    expect(main).not_to_contain_text("Traceback")
    expect(main).not_to_contain_text("nobody@")
    assert_no_exception(page, server)
    expect(page.get_by_role("textbox", name="Password")).to_have_count(0)  # no login form without a database
    screenshot(page, "friendly-database-unreachable")


def pdf_text(data: bytes, tmp_path: Any) -> str:
    if shutil.which("pdftotext") is None:
        missing_requirement("pdftotext is missing: install poppler-utils (scripts/ensure-system-packages)")
    path = tmp_path / "handout.pdf"
    path.write_bytes(data)
    result = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    )
    return result.stdout


def test_long_names_in_several_scripts_fit_every_page(browser, clinic, tmp_path):
    server, user = clinic
    for given, family, ref in LONG_NAMES:
        add_patient(server.database_url, user, given, family, ref, visit=True)
    context = browser.new_context(viewport={"width": 768, "height": 1024}, accept_downloads=True)
    context.set_default_timeout(30_000)
    page = context.new_page()
    overflow = []
    try:
        log_in(page, server)
        search = page.get_by_label("Find by name or reference")
        search.fill("LONG")
        search.press("Enter")
        wait_for_app(page)
        for given, family, _ in LONG_NAMES:
            expect(page.get_by_text(f"{given} {family}").first).to_be_visible()
        screenshot(page, "friendly-long-names-search-768")
        for given, family, ref in LONG_NAMES:
            name = f"{given} {family}"
            open_patient(page, ref)
            page.get_by_role("heading", name=re.compile(re.escape(name))).wait_for()
            for title in ("Progress", "Plan & handout"):
                go_to(page, title)
                page.get_by_text(name).first.wait_for()
                assert_no_exception(page, server)
                if main_overflows(page):
                    overflow.append(f"{ref} on {title}")
            slug = ref.split("-")[1].lower()
            screenshot(page, f"friendly-long-names-plan-{slug}-768")
            with page.expect_download() as download:
                page.get_by_role("button", name="Download the handout (PDF)").click()
            text = pdf_text(download.value.path().read_bytes(), tmp_path)
            wait_for_app(page)
            assert_no_exception(page, server)
            # Scripts written left to right come out of the PDF as typed; Arabic is shaped, so its
            # extracted text differs from the input: check it is there at all.
            if ref == "LONG-ARABIC":
                assert re.search("[\u0600-\u06ff\ufb50-\ufdff\ufe70-\ufeff]", text), ref
            else:
                assert family in text.replace("\n", " "), f"{ref}: the handout should name the patient"
        go_to(page, "Caseload")
        assert_no_exception(page, server)
        screenshot(page, "friendly-long-names-caseload-768")
        if main_overflows(page):
            overflow.append("caseload")
    finally:
        context.close()
    assert not overflow, f"content wider than a 768 px window: {overflow}"
