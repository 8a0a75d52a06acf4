"""The re-screen on Admin → Rules and licences (AppTest, a real worker process): how many patients have
another rule set, starting the job and its progress bar, the app starting it after a rule-set change, a
stale patient screened when opened, and a database that cannot be reached shown as one readable line."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from dashboard import page_keys
from dashboard.config import load_settings
from dashboard.ports import StoreUnavailable
from dashboard.red_flags import rule_set_version
from dashboard.rescreen_jobs import RESCREEN_JOB
from data import tables as t
from data.store import SqlStore
from data.store.engine import make_engine
from tests.app.conftest import as_shown

ROOT = Path(__file__).resolve().parents[2]
PAGE = "pages/admin_governance.py"
CURRENT = rule_set_version(load_settings({}).rules)


def user(store: SqlStore, username: str) -> Any:
    with store.read() as tx:
        return tx.get_user_by_username(username)


def logged_in(store: SqlStore, username: str = "demo.admin") -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    at.session_state["user"] = user(store, username)
    at.run()
    assert not at.exception, at.exception
    return at


def make_stale(store: SqlStore) -> None:
    with store.transaction() as tx:
        tx.conn.execute(sa.update(t.screenings).values(rule_set_version="0ld0ld0ld0ld"))


def finished_job(store: SqlStore, timeout_s: float = 120) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with store.read() as tx:
            job = tx.get_job(RESCREEN_JOB)
        if job is not None and job.state != "running":
            return job
        time.sleep(0.1)
    raise AssertionError("the re-screen worker did not finish")


def shown(at: AppTest, kind: str) -> str:
    return "\n".join(as_shown(str(element.value)) for element in getattr(at, kind))


def test_an_admin_starts_the_rescreen_and_watches_it_finish(clinic: SqlStore) -> None:
    at = logged_in(clinic)
    make_stale(clinic)  # the rules changed after this app process opened the store
    at.switch_page(PAGE).run()
    assert not at.exception
    assert "8 patients' latest screening uses another rule set" in shown(at, "markdown")
    at.button(key=page_keys.Admin.RESCREEN_START).click().run()
    assert not at.exception
    assert "The re-screen has started." in shown(at, "info")
    job = finished_job(clinic)
    assert (job.state, job.done, job.total) == ("done", 8, 8)
    assert job.requested_by == user(clinic, "demo.admin").id
    at.run()
    bar = at.get("progress")[0]
    assert bar.proto.value == 100 and "Finished: 8 of 8 patients re-screened" in bar.proto.text
    assert "Every patient's latest screening uses rule set" in shown(at, "markdown")


def test_the_app_starts_the_rescreen_itself_after_a_rule_set_change(clinic: SqlStore) -> None:
    make_stale(clinic)  # before any app process opened the store: as after an upgrade of the rules
    logged_in(clinic, "demo.clinician")
    job = finished_job(clinic)
    assert (job.state, job.done, job.requested_by) == ("done", 8, None)
    with clinic.read() as tx:
        versions = set(tx.conn.execute(sa.select(t.screenings.c.rule_set_version)).scalars())
    assert versions == {CURRENT, "0ld0ld0ld0ld"}


def test_a_stale_patient_opened_shows_a_screening_of_the_current_rule_set(clinic: SqlStore) -> None:
    at = logged_in(clinic, "demo.clinician")
    make_stale(clinic)
    with clinic.read() as tx:
        patient_id = tx.conn.execute(sa.select(t.screenings.c.patient_id).limit(1)).scalar()
    at.session_state["patient_id"] = patient_id
    at.switch_page("pages/progress.py").run()
    assert not at.exception
    assert f"Rule set {CURRENT}" in shown(at, "caption")


def test_an_unreachable_database_is_one_readable_line_on_the_page(clinic: SqlStore) -> None:
    # A PostgreSQL server that is down: nothing listens on the port, so every connection is refused.
    down = SqlStore(make_engine("postgresql+psycopg://postgres@127.0.0.1:1/stride"), clinic_key=b"k" * 32)
    at = AppTest.from_file(str(ROOT / PAGE), default_timeout=30)
    at.session_state[page_keys.STORE] = down
    at.session_state[page_keys.USER] = user(clinic, "demo.admin")
    at.session_state[page_keys.SETTINGS] = load_settings({})
    at.run()
    assert not at.exception
    assert shown(at, "error") == StoreUnavailable.MESSAGE
