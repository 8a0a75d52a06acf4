"""PostgreSQL stopped or restarting under the app (issue 24, bad input): a readable refusal, nothing lost.

A real server of its own (scripts/pg-throwaway on a free port), stopped with a fast shutdown as a
restart stops it: connections in the pool are cut, new ones are refused. Every store action meanwhile
raises StoreUnavailable (a sentence for the page, no driver text), changes nothing, and once the server
is back the same store reconnects by itself (pool_pre_ping) and the action goes through.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError, OperationalError

from dashboard import services
from dashboard.ports import StoreBusy, StoreUnavailable
from data.store import SqlStore, is_busy_error, is_unavailable_error, open_store
from tests.integration.support import Team, counts, make_team, patient_values, visit_values
from tests.pg_outage import Server, own_postgres

pytestmark = pytest.mark.xdist_group("postgres-outage")


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with own_postgres() as running:
        yield running


@pytest.fixture
def opened(server: Server) -> Iterator[tuple[SqlStore, Team, str]]:
    """A fresh database of its own on the server, with a team and one patient."""
    store = open_store(server.new_database())
    try:
        team = make_team(store)
        patient = services.register_patient(store, team.clinician, patient_values())
        yield store, team, patient.id or ""
    finally:
        if not server.running:  # a test failed while it was down
            server.resume()
        store.close()


def _wrapped(orig: BaseException, *, invalidated: bool = False) -> OperationalError:
    return OperationalError("SELECT 1", {}, orig, connection_invalidated=invalidated)


# What each driver error means to the clinician: (error, busy, unavailable).
DRIVER_ERRORS = {
    "sqlite lock wait ran out": (_wrapped(sqlite3.OperationalError("database is locked")), True, False),
    "sqlite bad statement": (_wrapped(sqlite3.OperationalError("no such table: visits")), False, False),
    "sqlite connection found cut": (_wrapped(sqlite3.OperationalError("x"), invalidated=True), False, True),
    "postgres refused the connection": (_wrapped(psycopg.OperationalError("refused")), False, True),
    "postgres shut down by an admin": (_wrapped(psycopg.errors.AdminShutdown("terminating")), False, True),
    "postgres starting up": (_wrapped(psycopg.errors.CannotConnectNow("starting up")), False, True),
    "postgres connection failure": (_wrapped(psycopg.errors.ConnectionFailure("lost")), False, True),
    "postgres lock not available": (_wrapped(psycopg.errors.LockNotAvailable("lock")), True, False),
    "postgres query cancelled": (_wrapped(psycopg.errors.QueryCanceled("timeout")), False, False),
    "postgres duplicate key": (
        IntegrityError("INSERT", {}, psycopg.errors.UniqueViolation("dup")),
        False,
        False,
    ),
}


@pytest.mark.parametrize("case", DRIVER_ERRORS)
def test_each_driver_error_is_named_busy_unavailable_or_left_as_a_fault(case: str) -> None:
    error, busy, unavailable = DRIVER_ERRORS[case]
    assert (is_busy_error(error), is_unavailable_error(error)) == (busy, unavailable)


def test_a_save_while_postgresql_is_down_changes_nothing_and_goes_through_after_its_restart(
    server: Server, opened: tuple[SqlStore, Team, str]
) -> None:
    store, team, patient_id = opened
    services.record_visit(store, team.clinician, patient_id, visit_values(pain_nrs=6))  # pool warmed
    before = counts(store, patient_id)

    server.halt()
    with pytest.raises(StoreUnavailable) as refused:
        services.record_visit(store, team.clinician, patient_id, visit_values(pain_nrs=4))
    assert str(refused.value) == StoreUnavailable.NOTHING_CHANGED  # no driver text, host or patient data
    with pytest.raises(StoreUnavailable) as read:
        services.open_patient(store, team.clinician, patient_id, audit=False)  # reads too
    assert str(read.value) == StoreUnavailable.MESSAGE  # a read claims nothing about earlier saves

    server.resume()
    assert counts(store, patient_id) == before  # the refused save left nothing behind
    services.record_visit(store, team.clinician, patient_id, visit_values(pain_nrs=4))
    record = services.open_patient(store, team.clinician, patient_id)
    assert [visit.pain_nrs for visit in record.visits] == [6, 4]
    assert counts(store, patient_id)["visits"] == before["visits"] + 1


def test_a_restart_between_two_actions_is_not_noticed_by_the_second(
    server: Server, opened: tuple[SqlStore, Team, str]
) -> None:
    store, team, patient_id = opened
    services.record_visit(store, team.clinician, patient_id, visit_values(pain_nrs=6))
    server.halt()
    server.resume()  # every pooled connection is now dead: the pool pings and reconnects
    services.record_visit(store, team.clinician, patient_id, visit_values(pain_nrs=5))
    assert len(services.open_patient(store, team.clinician, patient_id).visits) == 2


def test_a_connection_cut_inside_a_transaction_rolls_it_back_readably(
    server: Server, opened: tuple[SqlStore, Team, str]
) -> None:
    store, team, patient_id = opened
    before = counts(store, patient_id)
    with pytest.raises(StoreUnavailable) as refused, store.transaction() as tx:
        tx.conn.exec_driver_sql("SELECT pg_terminate_backend(pg_backend_pid())")  # as a crash cuts it
    assert str(refused.value) == StoreUnavailable.NOTHING_CHANGED
    assert not isinstance(refused.value, StoreBusy)
    assert counts(store, patient_id) == before


def test_a_connection_lost_at_commit_says_the_change_may_or_may_not_be_stored(
    server: Server, opened: tuple[SqlStore, Team, str]
) -> None:
    store, team, patient_id = opened
    with (
        store.engine.connect() as other,
        pytest.raises(StoreUnavailable) as refused,
        store.transaction() as tx,
    ):
        pid = tx.conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        # Cut just before the COMMIT is sent (waiting up to 5 s for the backend to end).
        cut = f"SELECT pg_terminate_backend({int(pid or 0)}, 5000)"
        event.listen(tx.conn, "commit", lambda _conn: other.exec_driver_sql(cut))
        tx.conn.exec_driver_sql("SELECT 1")
    assert str(refused.value) == StoreUnavailable.AT_COMMIT
    assert "check the record before saving again" in str(refused.value)
