"""Child process for test_crash_safety.py: writes visits in lockstep with its parent until it is killed.

    python -m tests.integration.crash_writer DATABASE_URL

Opens the store (migrating it), creates a clinician, registers one patient and prints
"READY <patient_id>"; then records visits through services.record_visit, one after the other.

The parent decides exactly where the kill lands, so no race with the scheduler decides the outcome:

- a listener on the store's engine prints "WRITING <visit_id>" right after the visit's screening is
  inserted (the visit row and its audit entry already written, the commit still to come) and then
  blocks reading one line from stdin, inside the open transaction;
- after each call has returned (i.e. after its commit) it prints "COMMITTED <visit_id>" and again
  blocks reading one line from stdin.

The parent answers each report with a line to let the writer go on, and sends SIGKILL instead of
answering at the point it wants to test. The writer stops when stdin closes (the parent is gone), so
it never outlives the test. The product code is not changed; only this process's engine is observed.
"""

from __future__ import annotations

import datetime as dt
import sys
from typing import Any

from sqlalchemy import event
from sqlalchemy.sql.dml import Insert

from dashboard import services
from data import tables as t
from data.store import open_store
from tests.integration.support import make_user, patient_values, visit_values

FIRST_DAY = dt.date(2025, 2, 3)
MAX_VISITS = 5_000  # a safety stop: the parent kills the child long before this


def _report_and_wait(line: str) -> None:
    """Print `line` and block until the parent answers; exit if the parent has gone."""
    print(line, flush=True)
    if not sys.stdin.readline():
        raise SystemExit(3)  # stdin closed: nobody is driving this writer any more


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m tests.integration.crash_writer DATABASE_URL", file=sys.stderr)
        return 2
    store = open_store(argv[0])
    clinician = make_user(store, "crash.writer", "clinician", "Crash Writer")
    patient = services.register_patient(store, clinician, patient_values(patient_ref="CRASH-0001"))

    held: set[str] = set()

    def screening_inserted(_conn: Any, clause: Any, *_args: Any) -> None:
        # The visit's screening is its transaction's last write: the visit row and its audit entry are
        # in, uncommitted. Stop there once per visit until the parent says go on (or kills us).
        if isinstance(clause, Insert) and clause.table is t.screenings:
            visit_id = clause.compile().params.get("visit_id")
            if visit_id and visit_id not in held:
                held.add(visit_id)
                _report_and_wait(f"WRITING {visit_id}")

    event.listen(store.engine, "after_execute", screening_inserted)
    print(f"READY {patient.id}", flush=True)
    for n in range(MAX_VISITS):
        # Dates move forward (and wrap within a year) so every visit is valid and screened in order.
        day = FIRST_DAY + dt.timedelta(days=n % 365)
        visit, _screening = services.record_visit(
            store, clinician, patient.id or "", visit_values(day, pain_nrs=n % 11, notes=f"burst {n}")
        )
        _report_and_wait(f"COMMITTED {visit.id}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
