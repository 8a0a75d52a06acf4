"""Several clinicians on one server (issue 11): two app processes on one PostgreSQL database.

Each test module run gets fresh PostgreSQL databases made from STRIDE_TEST_POSTGRES_URL (as
tests/conftest.py does; a missing URL fails under CI=true and skips otherwise). Both app servers
are started at the same moment from two threads, so their start-up migrations race for the
advisory lock. The app opens (and migrates) its store on the first script run, not when the
health endpoint answers, so the fresh-schema test also loads the first page on both at once.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import create_engine, text

from data import demo
from data.store import open_store
from tests.browser.conftest import (
    AppServer,
    assert_no_exception,
    screenshot,
    wait_for_app,
    wait_for_login_cookie,
)
from tests.conftest import POSTGRES_URL_ENV, _libpq_url, _with_database, missing_requirement

pytestmark = [pytest.mark.browser, pytest.mark.postgres]

PAIN_LABEL = "Current pain, NPRS (0–10)"
REASON_LABEL = "Reason for the correction"
CANNOT_OPEN = "Stride cannot open its database"


# --- databases and servers -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def fresh_postgres() -> Iterator[Callable[[], str]]:
    """Make fresh, empty PostgreSQL databases: `make()` returns a URL; all are dropped afterwards."""
    admin_url = os.environ.get(POSTGRES_URL_ENV)
    if not admin_url:
        missing_requirement(f"{POSTGRES_URL_ENV} is not set (scripts/run-tests sets it)")
    import psycopg

    names: list[str] = []

    def make() -> str:
        name = f"stride_t_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(_libpq_url(admin_url), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        names.append(name)
        return _with_database(admin_url, name)

    yield make
    with psycopg.connect(_libpq_url(admin_url), autocommit=True) as conn:
        for name in names:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def servers_at_once(
    app_server_factory: Callable[..., AppServer], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[str], list[AppServer]]]:
    """`start(url)`: two app servers on one database, started in two threads at the same moment."""
    started: list[AppServer] = []
    # The factory's first mktemp creates pytest's base temp dir, which is not thread-safe: do it here.
    tmp_path_factory.getbasetemp()

    def start(url: str) -> list[AppServer]:
        with ThreadPoolExecutor(max_workers=2) as pool:
            futures = [pool.submit(app_server_factory, database_url=url, seed=False) for _ in range(2)]
            pair = [f.result() for f in futures]  # re-raises a server's start-up failure
        started.extend(pair)
        return pair

    yield start
    for server in started:  # before the databases are dropped under them
        server.stop()


def assert_clean_log(server: AppServer) -> None:
    log = server.log_path.read_text(errors="replace")
    for bad in ("Traceback", "could not be opened"):
        assert bad not in log, f"server {server.url} logged {bad!r}:\n{server.log_tail()}"


@dataclass
class Clinic:
    url: str
    a: AppServer
    b: AppServer


@pytest.fixture(scope="module")
def clinic(fresh_postgres: Callable[[], str], servers_at_once: Callable[[str], list[AppServer]]) -> Clinic:
    """The demo clinic (6 patients, seed 11) on a fresh PostgreSQL database, served by A and B."""
    url = fresh_postgres()
    store = open_store(url)
    try:
        demo.generate(store, patients=6, seed=11)
    finally:
        store.close()
    a, b = servers_at_once(url)
    return Clinic(url, a, b)


# --- browser helpers -----------------------------------------------------------------------------


@pytest.fixture
def new_page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Callable[[], Any]]:
    """`new_page()`: a page in its own browser context (own cookies, own Streamlit session)."""
    contexts: list[Any] = []
    pages: list[Any] = []

    def make() -> Any:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(30_000)
        contexts.append(context)
        pages.append(context.new_page())
        return pages[-1]

    try:
        yield make
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            for i, page in enumerate(pages):
                screenshot(page, f"FAILED-{request.node.nodeid}-{i}")
    finally:
        for context in contexts:
            context.close()


def log_in(page: Any, base_url: str, username: str) -> None:
    page.goto(base_url)
    wait_for_app(page)
    page.get_by_role("textbox", name="Username").fill(username)
    page.get_by_role("textbox", name="Password").fill("stride-demo")
    page.get_by_role("button", name="Log in").click()
    wait_for_login_cookie(page)


def go_to(page: Any, title: str) -> None:
    page.locator('[data-testid="stSidebarNav"]').get_by_text(title, exact=False).first.click()
    wait_for_app(page)


def open_patient(page: Any, patient_ref: str) -> None:
    go_to(page, "Patients")
    search = page.get_by_label("Find by name or reference")
    search.fill(patient_ref)
    search.press("Enter")
    wait_for_app(page)
    page.get_by_role("button", name="Open").first.click()
    # "Open" reruns the script twice (st.rerun): wait for the record itself, not the first idle moment.
    page.get_by_role("heading", name=re.compile(re.escape(f"· {patient_ref}"))).wait_for()
    wait_for_app(page)


def fill_and_commit(page: Any, label: str, value: str) -> None:
    field = page.get_by_label(label, exact=True)
    field.fill(value)
    field.press("Enter")
    wait_for_app(page)


def newest_visit_row(page: Any) -> Any:
    """The first row of the Patients page's visit list (newest first)."""
    return page.locator(
        '[data-testid="stHorizontalBlock"]', has=page.get_by_role("button", name="Correct")
    ).first


def open_correction_of_newest_visit(page: Any, patient_ref: str, pain: str, reason: str) -> None:
    open_patient(page, patient_ref)
    page.get_by_role("button", name="Correct").first.click()
    wait_for_app(page)
    page.get_by_role("heading", name=re.compile("Correct a visit")).wait_for()
    fill_and_commit(page, PAIN_LABEL, pain)
    fill_and_commit(page, REASON_LABEL, reason)


# --- tests ---------------------------------------------------------------------------------------


def test_two_servers_starting_together_on_an_empty_database_create_the_schema_once(
    fresh_postgres: Callable[[], str], servers_at_once: Callable[[str], list[AppServer]], new_page: Any
) -> None:
    url = fresh_postgres()
    a, b = servers_at_once(url)  # both healthy, or the fixture has failed the test
    page_a, page_b = new_page(), new_page()
    # The store (and its migration) opens on the first script run: start both runs together.
    page_a.goto(a.url, wait_until="commit")
    page_b.goto(b.url, wait_until="commit")
    for page, server in ((page_a, a), (page_b, b)):
        wait_for_app(page, timeout_ms=60_000)
        page.get_by_role("button", name="Log in").wait_for()
        expect(page.get_by_text(CANNOT_OPEN)).to_have_count(0)
        assert_no_exception(page, server)
        assert_clean_log(server)

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
            tables = set(
                conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).scalars()
            )
    finally:
        engine.dispose()
    assert {"patients", "visits", "screenings", "audit", "users", "alembic_version"} <= tables


def test_a_visit_saved_through_one_server_is_seen_through_the_other(clinic: Clinic, new_page: Any) -> None:
    for server in (clinic.a, clinic.b):
        assert_clean_log(server)
    today = dt.date.today().isoformat()

    page_a = new_page()
    log_in(page_a, clinic.a.url, "demo.clinician")
    open_patient(page_a, "DEMO-00001")
    go_to(page_a, "Visit")
    fill_and_commit(page_a, PAIN_LABEL, "3")
    confirm = page_a.locator('[data-testid="stCheckbox"]', has_text="Confirm carried-forward items")
    page_a.get_by_role("button", name="Save visit").wait_for()  # the form is drawn down to its end
    if confirm.count():
        confirm.click()
        wait_for_app(page_a)
    page_a.get_by_role("button", name="Save visit").click()
    wait_for_app(page_a)
    assert_no_exception(page_a, clinic.a)
    page_a.get_by_text("Visit saved.").wait_for()

    page_b = new_page()
    log_in(page_b, clinic.b.url, "demo.admin")
    open_patient(page_b, "DEMO-00001")
    row = newest_visit_row(page_b)
    row.get_by_text(today).wait_for()
    expect(row.get_by_text("Pain 3/10")).to_have_count(1)
    assert_no_exception(page_b, clinic.b)
    screenshot(page_b, "two-servers-visit-seen-on-b")


def test_corrections_of_one_visit_through_two_servers_do_not_overwrite_each_other(
    clinic: Clinic, new_page: Any
) -> None:
    store = open_store(clinic.url)
    try:
        with store.read() as tx:
            patient = tx.find_patient_by_ref("DEMO-00002")
            assert patient is not None
            visit = tx.visits(patient.id or "")[-1]
            clinician = tx.get_user_by_username("demo.clinician")
            assert clinician is not None
    finally:
        store.close()
    pain_a, pain_b = [p for p in (2, 8, 5) if p != visit.pain_nrs][:2]

    page_a, page_b = new_page(), new_page()
    log_in(page_a, clinic.a.url, "demo.clinician")
    log_in(page_b, clinic.b.url, "demo.admin")
    # Both open the correction form of the same (newest) visit before either saves.
    open_correction_of_newest_visit(page_a, "DEMO-00002", str(pain_a), "Pain misread, A")
    open_correction_of_newest_visit(page_b, "DEMO-00002", str(pain_b), "Pain misread, B")

    page_a.get_by_role("button", name="Save correction").click()
    wait_for_app(page_a)
    assert_no_exception(page_a, clinic.a)
    page_a.get_by_text("Visit saved.").wait_for()

    page_b.get_by_role("button", name="Save correction").click()
    wait_for_app(page_b)
    page_b.get_by_text(re.compile(r"was changed by|Visit saved\.")).first.wait_for()
    wait_for_app(page_b)  # one of the two shows, so B's run has started: read the page once it has ended
    assert_no_exception(page_b, clinic.b)
    screenshot(page_b, "two-servers-correction-saved-last-on-b")
    stale_shown = page_b.get_by_text(re.compile("was changed by Demo Clinician")).count()
    saved_shown = page_b.get_by_text("Visit saved.").count()

    store = open_store(clinic.url)
    try:
        with store.read() as tx:
            stored = tx.get_visit(visit.id or "")
            assert stored is not None
            corrections = [
                e.user_id
                for e in tx.audit_entries(limit=1_000_000)
                if e.action == "visit.correct" and e.entity_id == visit.id
            ]
            reasons = [r.reason for r in tx.revisions("visit", visit.id or "")]
        audit_intact = store.verify_audit()[0]
    finally:
        store.close()
    outcome = {
        "B shows the stale-record message": stale_shown == 1,
        "B shows 'Visit saved.'": saved_shown > 0,
        "stored pain (A, B)": (stored.pain_nrs, pain_a, pain_b),
        "stored version": (stored.version, visit.version + 1),
        "last changed by A": stored.updated_by == clinician.id,
        "corrections by A / all": (corrections.count(clinician.id), len(corrections)),
        "revision reasons": reasons,
    }
    assert stale_shown == 1 and saved_shown == 0, outcome
    # Nothing of B's is saved: A's correction stands alone.
    assert (stored.pain_nrs, stored.version, stored.updated_by) == (
        pain_a,
        visit.version + 1,
        clinician.id,
    ), outcome
    assert corrections == [clinician.id], outcome
    assert reasons == ["Pain misread, A"], outcome
    assert audit_intact
