"""Another process holding SQLite's write lock makes an action fail fast with a readable "busy" error.

A raw sqlite3 connection takes the write lock (BEGIN IMMEDIATE) and keeps it; the store, opened with a
short lock wait, must then raise StoreBusy with its message for every action that writes (opening a
patient writes its audit entry), save nothing, still serve plain reads (WAL readers do not wait for
writers), and work normally once the lock is released.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from dashboard import services
from dashboard.ports import StoreBusy, StrideError
from data.store import DEFAULT_BUSY_TIMEOUT_S, busy_timeout_from_env, open_store
from tests.integration.support import make_user, patient_values, visit_values

SHORT_WAIT_S = 0.2  # the test's lock wait: long enough to be a real wait, short enough to stay fast


@pytest.fixture
def database(tmp_path: Path) -> Iterator[str]:
    yield f"sqlite:///{tmp_path}/busy.sqlite3"


def _hold_write_lock(database_url: str) -> sqlite3.Connection:
    """A second connection that takes SQLite's write lock and keeps it until closed."""
    holder = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None, timeout=0)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("UPDATE meta SET value = value WHERE 0")  # a write statement inside the lock
    return holder


def test_actions_fail_with_a_readable_busy_message_while_another_writer_holds_the_lock(database: str) -> None:
    store = open_store(database, busy_timeout_s=SHORT_WAIT_S)
    try:
        user = make_user(store, "busy.clinician", "clinician", "Busy Clinician")
        patient = services.register_patient(store, user, patient_values(patient_ref="BUSY-0001"))
        pid = patient.id or ""
        holder = _hold_write_lock(database)
        try:
            with pytest.raises(StoreBusy) as opened:
                services.open_patient(store, user, pid)  # audits the opening: a write
            assert str(opened.value) == "The database is busy. Please try again in a moment."
            assert isinstance(opened.value, StrideError)  # pages already show StrideError messages
            with pytest.raises(StoreBusy):
                services.record_visit(store, user, pid, visit_values(pain_nrs=4))
            # Reading does not wait for the writer (WAL): the record shows, without its audit entry.
            record = services.open_patient(store, user, pid, audit=False)
            assert record.visits == []
        finally:
            holder.rollback()
            holder.close()

        # Lock released: the same actions work and nothing from the refused ones was kept.
        assert services.open_patient(store, user, pid).visits == []
        services.record_visit(store, user, pid, visit_values(pain_nrs=4))
        assert [v.pain_nrs for v in services.open_patient(store, user, pid).visits] == [4]
        assert store.verify_audit()[0]
    finally:
        store.close()


def test_the_lock_wait_comes_from_the_environment_with_a_default() -> None:
    assert busy_timeout_from_env({}) == DEFAULT_BUSY_TIMEOUT_S
    assert busy_timeout_from_env({"STRIDE_DB_BUSY_TIMEOUT_S": "2.5"}) == 2.5
    for bad in ("-1", "soon", "nan"):
        with pytest.raises(ValueError):
            busy_timeout_from_env({"STRIDE_DB_BUSY_TIMEOUT_S": bad})
