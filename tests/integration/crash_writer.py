"""Child process for test_crash_safety.py: writes visits in a burst until it is killed.

    python -m tests.integration.crash_writer DATABASE_URL

Opens the store (migrating it), creates a clinician, registers one patient and prints
"READY <patient_id>"; then records visits through services.record_visit without pause, printing
"COMMITTED <visit_id>" (flushed) only after each call has returned, i.e. after its commit. The parent
kills it with SIGKILL somewhere in the burst; anything printed must survive the crash.
"""

from __future__ import annotations

import datetime as dt
import sys

from dashboard import services
from data.store import open_store
from tests.integration.support import make_user, patient_values, visit_values

FIRST_DAY = dt.date(2025, 2, 3)
MAX_VISITS = 5_000  # a safety stop: the parent kills the child long before this


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m tests.integration.crash_writer DATABASE_URL", file=sys.stderr)
        return 2
    store = open_store(argv[0])
    clinician = make_user(store, "crash.writer", "clinician", "Crash Writer")
    patient = services.register_patient(store, clinician, patient_values(patient_ref="CRASH-0001"))
    print(f"READY {patient.id}", flush=True)
    for n in range(MAX_VISITS):
        # Dates move forward (and wrap within a year) so every visit is valid and screened in order.
        day = FIRST_DAY + dt.timedelta(days=n % 365)
        visit, _screening = services.record_visit(
            store, clinician, patient.id or "", visit_values(day, pain_nrs=n % 11, notes=f"burst {n}")
        )
        print(f"COMMITTED {visit.id}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
