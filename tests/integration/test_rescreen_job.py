"""The background re-screen (dashboard.rescreen, data.rescreen_worker) on SQLite and PostgreSQL: only
patients with another rule set are redone, the lease lets one job run, a worker killed halfway loses
nothing and the next job does only the rest, and a stale patient opened is screened on the spot."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from typing import Any

import pytest
import sqlalchemy as sa

from dashboard import rescreen, services
from dashboard.config import load_settings
from dashboard.red_flags import rule_set_version
from dashboard.rescreen_jobs import RESCREEN_JOB, JobRequest, ScreeningInput
from data import tables as t
from data.demo import generate
from data.rescreen_worker import launch
from data.store import visit_from_row
from data.store.tx_jobs import VISIT_COLUMNS, trusted_visit_from_row
from tests.conftest import ROOT

SETTINGS = load_settings({})
CURRENT = rule_set_version(SETTINGS.rules)
OLD = "0ld0ld0ld0ld"


def make_stale(store: Any, patient_ids: list[str] | None = None) -> None:
    """Give the patients' stored screenings (all patients': None) another rule-set version."""
    statement = sa.update(t.screenings).values(rule_set_version=OLD)
    if patient_ids is not None:
        statement = statement.where(t.screenings.c.patient_id.in_(patient_ids))
    with store.transaction() as tx:
        tx.conn.execute(statement)


def current_screenings(store: Any) -> Counter[str]:
    """How many screenings of the current rule set each patient has."""
    with store.read() as tx:
        rows = tx.conn.execute(
            sa.select(t.screenings.c.patient_id).where(t.screenings.c.rule_set_version == CURRENT)
        )
        return Counter(row.patient_id for row in rows)


def patient_ids(store: Any) -> list[str]:
    with store.read() as tx:
        return sorted(tx.conn.execute(sa.select(t.patients.c.id)).scalars())


def admin(store: Any, username: str = "demo.admin") -> Any:
    with store.read() as tx:
        return tx.get_user_by_username(username)


def job(store: Any) -> Any:
    with store.read() as tx:
        return tx.get_job(RESCREEN_JOB)


def start(store: Any, **kwargs: Any) -> str:
    """Start a job whose worker this test runs itself; returns the job id."""
    started: list[str] = []
    assert rescreen.start_rescreen(store, admin(store), SETTINGS, started.append, **kwargs) == "started"
    return started[0]


@pytest.fixture
def clinic(store: Any) -> Any:
    generate(store, patients=24, seed=5, visits_per_patient=5)
    return store


def test_only_patients_whose_screening_has_another_rule_set_are_redone(clinic: Any) -> None:
    everyone = patient_ids(clinic)
    make_stale(clinic, everyone[:9])
    job_id = start(clinic)
    assert rescreen.run_job(clinic, job_id, SETTINGS.rules, limit=4) == 9
    assert current_screenings(clinic) == Counter(dict.fromkeys(everyone, 1))
    with clinic.read() as tx:
        stored = Counter(tx.conn.execute(sa.select(t.screenings.c.patient_id)).scalars())
    assert [stored[p] for p in everyone] == [2] * 9 + [1] * (len(everyone) - 9)  # the others untouched
    finished = job(clinic)
    assert (finished.state, finished.done, finished.total) == ("done", 9, 9)
    assert rescreen.start_rescreen(clinic, admin(clinic), SETTINGS, print) == "nothing to do"
    intact, _rows, _broken = clinic.verify_audit()
    assert intact


def test_the_job_screens_each_patient_as_re_screening_them_one_by_one_does(clinic: Any) -> None:
    make_stale(clinic)
    rescreen.run_job(clinic, start(clinic), SETTINGS.rules, limit=5)
    with clinic.read() as tx:
        by_job = {pid: tx.screenings(pid)[-1] for pid in patient_ids(clinic)}
    for pid in patient_ids(clinic):
        one = services.rescreen_patient(clinic, admin(clinic), pid, settings=SETTINGS)
        keep = {
            "urgency",
            "flags",
            "not_asked",
            "notes",
            "claudication_pattern",
            "rule_set_version",
            "visit_id",
        }
        assert by_job[pid].model_dump(include=keep) == one.model_dump(include=keep)


def test_a_rescreen_keeps_one_open_escalation_per_rule_and_the_caseload_tier(clinic: Any) -> None:
    with clinic.read() as tx:
        before = {(e.patient_id, e.rule_id, e.status) for e in tx.escalations()}
        tiers = {row["patient_id"]: row["open_tier"] for row in tx.caseload_rows()}
    make_stale(clinic)
    rescreen.run_job(clinic, start(clinic), SETTINGS.rules)
    with clinic.read() as tx:
        escalations = tx.escalations()
        assert {(e.patient_id, e.rule_id, e.status) for e in escalations} == before
        assert {row["patient_id"]: row["open_tier"] for row in tx.caseload_rows()} == tiers
        latest = {pid: tx.screenings(pid)[-1].id for pid in patient_ids(clinic)}
    # Each open escalation now points at the job's screening of its patient (one clinical event).
    assert all(e.last_screening_id == latest[e.patient_id] for e in escalations if e.status == "open")


def test_stored_visits_read_trusted_are_the_visits_validation_gives(clinic: Any) -> None:
    with clinic.read() as tx:
        rows = tx.conn.execute(sa.select(t.visits)).all()
        trusted_rows = {
            row.id: row for row in tx.conn.execute(sa.select(*(t.visits.c[n] for n in VISIT_COLUMNS)))
        }
    assert rows and len(trusted_rows) == len(rows)
    for row in rows:
        trusted, validated = trusted_visit_from_row(trusted_rows[row.id]), visit_from_row(row)
        assert trusted.model_dump() == validated.model_dump()
        assert type(trusted.visit_date) is dt.date and isinstance(trusted.posture_findings, set)


def test_the_job_s_trusted_bulk_read_screens_every_patient_as_the_validated_reads_do(clinic: Any) -> None:
    ids = patient_ids(clinic)
    with clinic.read() as tx:
        fast = tx.screening_inputs(ids)
        validated = [
            ScreeningInput(
                tx.get_patient(pid),
                tx.episodes(pid),
                tx.visits(pid),
                tx.diary_entries(pid),
                tx.escalations(patient_id=pid),
            )
            for pid in ids
        ]
    assert [found.patient.id for found in fast] == ids
    keep = {"urgency", "flags", "not_asked", "notes", "claudication_pattern", "rule_set_version", "visit_id"}
    screened = 0
    for quick, slow in zip(fast, validated, strict=True):
        assert [v.model_dump() for v in quick.visits] == [v.model_dump() for v in slow.visits]
        by_fast, by_validated = (rescreen.screen_one(found, SETTINGS.rules, None) for found in (quick, slow))
        if by_validated is None:
            assert by_fast is None
            continue
        assert by_fast is not None
        assert by_fast[0].model_dump(include=keep) == by_validated[0].model_dump(include=keep)
        assert [e.rule_id for e in by_fast[1]] == [e.rule_id for e in by_validated[1]]
        assert [(e.id, e.tier, v) for e, v in by_fast[2]] == [(e.id, e.tier, v) for e, v in by_validated[2]]
        screened += 1
    assert screened > len(ids) // 2  # the demo clinic's patients mostly have a visit to screen


# --- the lease --------------------------------------------------------------------------------------


def test_the_lease_refuses_a_second_job_while_the_first_is_live_and_passes_on_after_it_expires(
    clinic: Any,
) -> None:
    now = dt.datetime.now(dt.UTC)
    first, second = (JobRequest(RESCREEN_JOB, owner, CURRENT, 5, None) for owner in ("first", "second"))
    with clinic.transaction() as tx:
        assert tx.acquire_job(first, now=now, lease_s=30)
        assert not tx.acquire_job(second, now=now + dt.timedelta(seconds=29), lease_s=30)
    with clinic.transaction() as tx:  # the first worker went quiet: 31 s later its lease is over
        assert tx.acquire_job(second, now=now + dt.timedelta(seconds=31), lease_s=30)
    with clinic.transaction() as tx:
        assert not tx.heartbeat_job(RESCREEN_JOB, "first", now=now, lease_s=30, done_delta=1)
        assert tx.heartbeat_job(RESCREEN_JOB, "second", now=now, lease_s=30, done_delta=2)
    assert (job(clinic).owner, job(clinic).done) == ("second", 2)


def test_a_worker_that_lost_its_lease_writes_nothing(clinic: Any) -> None:
    make_stale(clinic)
    first = start(clinic, lease_s=0.2)
    time.sleep(0.3)
    second = start(clinic)  # took the expired lease over
    with pytest.raises(rescreen.LeaseLost):
        rescreen.run_job(clinic, first, SETTINGS.rules)
    with pytest.raises(rescreen.LeaseLost), clinic.transaction() as tx:
        rescreen.rescreen_chunk(tx, first, SETTINGS.rules, by=None, after=None)
    assert current_screenings(clinic) == Counter()  # the chunk rolled back
    assert rescreen.run_job(clinic, second, SETTINGS.rules) == len(patient_ids(clinic))


def test_two_app_processes_asking_at_once_start_one_job(
    clinic: Any, database_url: str, tmp_path: Any
) -> None:
    make_stale(clinic)
    script = textwrap.dedent(
        """
        import sys, time
        from dashboard import rescreen
        from dashboard.config import load_settings
        from data.store import open_store
        store = open_store(sys.argv[1], migrate=False)
        time.sleep(max(0.0, float(sys.argv[2]) - time.time()))  # both ask at the same moment
        print(rescreen.start_rescreen(store, None, load_settings({}), lambda job_id: None))
        """
    )
    at = str(time.time() + 3.0)
    asks = [
        subprocess.Popen(
            [sys.executable, "-c", script, database_url, at], cwd=ROOT, stdout=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outcomes = sorted(ask.communicate(timeout=120)[0].strip() for ask in asks)
    assert outcomes == ["running", "started"]
    with clinic.read() as tx:
        assert len(tx.audit_entries(action="rescreen.start")) == 1


def test_a_worker_killed_halfway_loses_nothing_and_the_next_job_does_only_the_rest(store: Any) -> None:
    generate(store, patients=120, seed=7, visits_per_patient=3)
    everyone = patient_ids(store)
    make_stale(store)
    with store.read() as tx:
        screenings_before = tx.conn.execute(sa.select(sa.func.count()).select_from(t.screenings)).scalar()
    url = store.engine.url.render_as_string(hide_password=False)
    worker = launch(url, start(store, lease_s=5.0), lease_s=5.0, chunk_patients=2)
    # The worker runs only in 10 ms steps the test allows (SIGSTOP between them), so it is killed
    # halfway however busy the machine: polling a free worker missed it on a loaded CI machine.
    deadline = time.monotonic() + 120
    while worker.poll() is None and time.monotonic() < deadline:
        os.kill(worker.pid, signal.SIGSTOP)
        if job(store).done >= 20:
            break
        os.kill(worker.pid, signal.SIGCONT)
        time.sleep(0.01)
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait(timeout=30)
    halfway = job(store)
    assert worker.returncode == -signal.SIGKILL and halfway.state == "running"
    assert 20 <= halfway.done < len(everyone), "the worker finished before it could be killed"
    redone = current_screenings(store)
    assert sum(redone.values()) == halfway.done and set(redone.values()) == {1}  # whole chunks only
    # Until the lease expires no second job starts; then one does, for the rest only.
    assert rescreen.start_rescreen(store, admin(store), SETTINGS, print) == "running"
    time.sleep(max(0.0, (halfway.expires_at - dt.datetime.now(dt.UTC)).total_seconds()) + 0.2)
    resumed = launch(url, start(store), chunk_patients=7)
    assert resumed.wait(timeout=300) == 0
    finished = job(store)
    rest = len(everyone) - halfway.done
    assert (finished.state, finished.total, finished.done) == ("done", rest, rest)
    assert current_screenings(store) == Counter(dict.fromkeys(everyone, 1))
    with store.read() as tx:
        after = tx.conn.execute(sa.select(sa.func.count()).select_from(t.screenings)).scalar()
    assert after == screenings_before + len(everyone)  # nothing lost, nothing duplicated
    intact, _rows, _broken = store.verify_audit()
    assert intact


# --- a patient opened during a re-screen -------------------------------------------------------------


def test_a_stale_patient_opened_is_screened_on_the_spot_and_a_current_one_is_not(clinic: Any) -> None:
    stale, current = patient_ids(clinic)[:2]
    make_stale(clinic, [stale])
    clinician = admin(clinic, "demo.clinician")
    screened = rescreen.screen_on_open(clinic, clinician, stale, SETTINGS)
    assert screened is not None and screened.rule_set_version == CURRENT
    assert rescreen.screen_on_open(clinic, clinician, stale, SETTINGS) is None  # now current
    assert rescreen.screen_on_open(clinic, clinician, current, SETTINGS) is None
    assert current_screenings(clinic)[stale] == 1


def test_a_read_only_account_opening_a_stale_patient_writes_nothing(clinic: Any) -> None:
    stale = patient_ids(clinic)[0]
    make_stale(clinic, [stale])
    assert rescreen.screen_on_open(clinic, admin(clinic, "demo.readonly"), stale, SETTINGS) is None
    assert current_screenings(clinic)[stale] == 0


def test_only_an_admin_may_start_a_rescreen(clinic: Any) -> None:
    from dashboard.ports import PermissionDeniedError

    make_stale(clinic)
    with pytest.raises(PermissionDeniedError):
        rescreen.start_rescreen(clinic, admin(clinic, "demo.clinician"), SETTINGS, print)
    assert job(clinic) is None


def test_a_clinic_screened_with_the_current_rules_has_no_job_and_nothing_to_do(clinic: Any) -> None:
    assert rescreen.job_status(clinic, admin(clinic), SETTINGS) == (None, 0)
    assert rescreen.start_rescreen(clinic, admin(clinic), SETTINGS, print) == "nothing to do"
    assert job(clinic) is None
