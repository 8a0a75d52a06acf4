"""The load benchmark's protocol client does what Chromium does: the same stored rows, the same server time.

One clinician session in Chromium and one over tests/load/protocol.py, the same steps on the same
patient (log in, open the patient, record a visit with the same values, open Progress, download the
handout), against one app server with the run log on (STRIDE_RUN_LOG, server.py). Each step's server
time is what its script runs (timer reruns left out) cost the server: their thread CPU time must agree
within 25 % (plus 100 ms: a full garbage collection lands in either run); their wall time is shown
beside it but not compared, because on this shared 2-core machine another engineer's job can double it. A
warm-up client session first pays the one-off costs (imports, page bytecode) for neither.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import re
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from dashboard.visit_form import field_label
from tests.browser.conftest import AppServer, wait_for_app
from tests.browser.test_pages_in_browser import go_to
from tests.load.journey import SAVED_TEXT, VISIT_VALUES, Outcome, clinician_session
from tests.load.run import covered
from tests.load.server import patient_refs, read_run_log

TOLERANCE = 0.25
# 0.1 s: Streamlit's full collection after every run is off (.streamlit/config.toml), so Python's own
# full collection (~70 ms at this heap) lands in whichever run allocates, the browser's or the client's.
SLACK_S = 0.100
COMPARED = ("login", "open patient", "open visit", "visit field", "save visit", "open progress", "handout")


def server_cost(runs: list[dict[str, Any]], windows: list[tuple[float, float]]) -> tuple[float, float]:
    """Per occurrence of a step: the server's wall time (the span its script runs and downloads
    covered) and its CPU time (their thread CPU seconds), user-caused runs only."""
    wall = cpu = 0.0
    for start, end in windows:
        inside = [r for r in runs if start <= r["start"] <= end and not r.get("auto")]
        wall += covered([(r["start"], r["start"] + r["seconds"]) for r in inside])
        cpu += sum(r["cpu"] for r in inside)
    return wall / len(windows), cpu / len(windows)


def browser_session(
    page: Any, base_url: str, patient_ref: str, downloads: Path
) -> dict[str, list[tuple[float, float]]]:
    """The journey's steps in Chromium; each step's (start, end) in time.time(), to read the run log."""
    windows: dict[str, list[tuple[float, float]]] = {name: [] for name in COMPARED}

    def timed(name: str, action: Callable[[], None]) -> None:
        start = time.time()
        action()
        windows[name].append((start, time.time()))

    page.goto(base_url)
    wait_for_app(page)
    page.get_by_role("textbox", name="Username").fill("demo.clinician")
    page.get_by_role("textbox", name="Password").fill("stride-demo")

    def submit_login() -> None:
        # log_in's own wait: the claim's cookie, the reload, the sidebar's Log out.
        page.get_by_role("button", name="Log in").click()
        from tests.browser.conftest import wait_for_login_cookie

        wait_for_login_cookie(page)

    timed("login", submit_login)
    go_to(page, "Patients")
    search = page.get_by_label("Find by name or reference")
    search.fill(patient_ref)
    search.press("Enter")
    wait_for_app(page)

    def open_found() -> None:
        page.get_by_role("button", name="Open").first.click()
        wait_for_app(page)
        page.get_by_role("heading", name=re.compile(re.escape(patient_ref))).first.wait_for()

    timed("open patient", open_found)
    timed("open visit", lambda: go_to(page, "Visit"))
    for _, key, value in VISIT_VALUES:
        box = page.get_by_label(field_label(key.removeprefix("v_")), exact=True)

        def type_value(box: Any = box, value: object = value) -> None:
            box.fill(str(value))
            box.press("Control+Enter" if isinstance(value, str) else "Enter")
            wait_for_app(page)

        timed("visit field", type_value)
    confirm = page.locator('[data-testid="stCheckbox"]', has_text="Confirm carried-forward items")
    page.get_by_role("button", name="Save visit").wait_for()
    if confirm.count():

        def tick() -> None:
            confirm.click()
            wait_for_app(page)

        timed("visit field", tick)

    def save() -> None:
        page.get_by_role("button", name="Save visit").click()
        expect(page.get_by_text(SAVED_TEXT)).to_be_visible()
        wait_for_app(page)

    timed("save visit", save)
    timed("open progress", lambda: go_to(page, "Progress"))
    go_to(page, "Plan & handout")

    def download() -> None:
        with page.expect_download() as info:
            page.get_by_role("button", name="Download the handout (PDF)").click()
        target = downloads / "handout.pdf"
        info.value.save_as(target)
        assert target.read_bytes().startswith(b"%PDF-")
        wait_for_app(page)

    timed("handout", download)
    return windows


def client_session(url: str, patient_ref: str) -> Outcome:
    """One protocol-client session, on its own thread (Playwright's sync API holds this one's loop)."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, clinician_session(url, patient_ref)).result()


def new_rows(database: Path, patient_ref: str, since: str) -> list[tuple[Any, ...]]:
    """The visits and handouts stored for a patient after `since` (ISO time), values that matter."""
    with sqlite3.connect(database) as db:
        visits = db.execute(
            "SELECT v.pain_nrs, v.data FROM visits v JOIN patients p ON p.id = v.patient_id "
            "WHERE p.patient_ref = ? AND v.recorded_at > ? ORDER BY v.recorded_at",
            (patient_ref, since),
        ).fetchall()
        handouts = db.execute(
            "SELECT count(*) FROM handouts h JOIN patients p ON p.id = h.patient_id "
            "WHERE p.patient_ref = ? AND h.recorded_at > ?",
            (patient_ref, since),
        ).fetchone()[0]
    rows: list[tuple[Any, ...]] = []
    for pain, data in visits:
        values = json.loads(data)
        rows.append(("visit", pain, values.get("pain_worst_nrs"), values.get("notes")))
    return [*rows, ("handouts", handouts)]


def _latest(database: Path) -> str:
    """The newest recorded_at of visits and handouts: rows after it are the next run's."""
    with sqlite3.connect(database) as db:
        times = [
            db.execute(f"SELECT max(recorded_at) FROM {t}").fetchone()[0] for t in ("visits", "handouts")
        ]
    return str(max(t for t in times if t is not None))


def test_the_load_client_and_chromium_store_the_same_rows_at_the_same_server_cost(
    page, app_server_factory, tmp_path
):
    run_log = tmp_path / "runs.jsonl"
    app: AppServer = app_server_factory(extra_env={"STRIDE_RUN_LOG": str(run_log)})
    database = Path(app.database_url.removeprefix("sqlite:///"))
    ref = patient_refs(app.database_url)[0]
    warm = client_session(app.url, ref)
    assert warm.errors == []

    since = _latest(database)
    windows = browser_session(page, app.url, ref, tmp_path)
    browser_rows = new_rows(database, ref, since)
    since = _latest(database)
    client = client_session(app.url, ref)
    client_rows = new_rows(database, ref, since)

    assert client.errors == []
    assert client.saves_acknowledged == 1 and client.handouts == 1
    assert browser_rows == client_rows == [("visit", 4, 6, VISIT_VALUES[2][2]), ("handouts", 1)]

    runs = read_run_log(run_log)
    report, misses = [], []
    for name in COMPARED:
        client_windows = [(s.started_at, s.ended_at) for s in client.steps if s.name == name]
        browser_wall, browser_cpu = server_cost(runs, windows[name])
        client_wall, client_cpu = server_cost(runs, client_windows)
        report.append(
            f"{name}: server CPU browser {browser_cpu * 1000:.0f} ms, client {client_cpu * 1000:.0f} ms; "
            f"server wall browser {browser_wall * 1000:.0f} ms, client {client_wall * 1000:.0f} ms"
        )
        if abs(client_cpu - browser_cpu) > TOLERANCE * browser_cpu + SLACK_S:
            misses.append(name)
    print("\n".join(report))
    assert not misses, f"server time differs by more than 25 % for {misses}:\n" + "\n".join(report)
