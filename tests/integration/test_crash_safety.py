"""A writer killed with SIGKILL in the middle of a burst of visits loses nothing it reported as saved.

A child process (tests/integration/crash_writer.py) records visits through services.record_visit and
prints "COMMITTED <id>" after each call returns, and "WRITING <id>" while a visit's transaction is open
(visit row, audit entry and screening written, the commit still to come). After each report it blocks
on its stdin until the parent answers, so the parent chooses the kill point exactly: it sends SIGKILL,
instead of an answer, after a given number of commits, either inside the next transaction or right
after a commit. No timing decides where the kill lands. The parent then checks on SQLite and on
PostgreSQL that: the SQLite file passes `PRAGMA integrity_check`; every reported visit is stored and
no other; no visit exists without its "visit.create" audit entry and its screening (one transaction,
all or nothing); a visit killed inside its transaction left nothing at all; the audit hash chain
verifies; and the database still takes writes.
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import select

from dashboard import services
from data import tables as t
from data.store import open_store
from tests.conftest import ROOT
from tests.integration.support import make_user, visit_values

READ_TIMEOUT_S = 120.0


@dataclass
class Burst:
    """What the killed writer reported on its stdout."""

    patient_id: str = ""
    committed: list[str] = field(default_factory=list)
    in_flight: str | None = None  # the visit whose transaction was open (and blocked) at the kill
    other: list[str] = field(default_factory=list)


def _pump(stream: Any, lines: queue.Queue[str | None]) -> None:
    for line in stream:
        lines.put(line.rstrip("\n"))
    lines.put(None)  # end of output


def _go_on(child: subprocess.Popen[str]) -> None:
    """Let the writer, blocked after its last report, carry on to the next step."""
    assert child.stdin is not None
    child.stdin.write("go\n")
    child.stdin.flush()


def _run_and_kill(database_url: str, kill_after: int, inside_transaction: bool) -> Burst:
    """Start the writer; SIGKILL it once `kill_after` commits are reported (inside the next transaction)."""
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.integration.crash_writer", database_url],
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,  # one pipe: a full, unread stderr pipe could stall the writer
        text=True,
    )
    lines: queue.Queue[str | None] = queue.Queue()
    reader = threading.Thread(target=_pump, args=(child.stdout, lines), daemon=True)
    reader.start()
    burst = Burst()
    writing: str | None = None
    deadline = time.monotonic() + READ_TIMEOUT_S
    try:
        while True:
            try:
                line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                pytest.fail(f"the writer reported {len(burst.committed)} commits in {READ_TIMEOUT_S:.0f} s")
            if line is None:
                child.wait(timeout=10)
                output = "\n".join(burst.other[-40:])
                pytest.fail(f"the writer exited ({child.returncode}) before the kill:\n{output}")
            word, _, value = line.partition(" ")
            if word == "READY":
                burst.patient_id = value
            elif word == "WRITING":
                writing = value
                if inside_transaction and len(burst.committed) >= kill_after:
                    break  # the writer waits for an answer inside this visit's open transaction
                _go_on(child)
            elif word == "COMMITTED":
                assert value == writing
                burst.committed.append(value)
                if not inside_transaction and len(burst.committed) >= kill_after:
                    break  # the writer waits for an answer right after this commit
                _go_on(child)
            else:
                burst.other.append(line)
        os.kill(child.pid, signal.SIGKILL)
        burst.in_flight = writing if inside_transaction else None
        assert child.wait(timeout=30) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=30)
        for pipe in (child.stdin, child.stdout):
            if pipe is not None:
                # The writer is dead: nothing can read what was buffered.
                with contextlib.suppress(BrokenPipeError):
                    pipe.close()
    reader.join(timeout=30)
    # The writer was blocked waiting for an answer when it was killed: it cannot have reported more.
    while (line := lines.get_nowait() if not lines.empty() else None) is not None:
        word, _, _value = line.partition(" ")
        assert word not in ("COMMITTED", "WRITING"), f"the writer went on without an answer: {line}"
        burst.other.append(line)
    assert burst.patient_id, "the writer never reported its patient:\n" + "\n".join(burst.other[-40:])
    return burst


@pytest.mark.parametrize(
    ("kill_after", "inside_transaction"),
    [
        pytest.param(15, True, id="15-commits-then-inside-a-transaction"),
        pytest.param(33, False, id="33-commits-then-right-after-a-commit"),
        pytest.param(52, True, id="52-commits-then-inside-a-transaction"),
    ],
)
def test_a_writer_killed_mid_burst_leaves_every_reported_visit_complete(
    database_url: str, kill_after: int, inside_transaction: bool
) -> None:
    burst = _run_and_kill(database_url, kill_after, inside_transaction)
    committed = burst.committed
    assert len(committed) >= kill_after, burst.other
    assert len(set(committed)) == len(committed)

    if database_url.startswith("sqlite:///"):
        # Raw sqlite3 first: it replays the WAL the killed writer left behind, then checks every page.
        with sqlite3.connect(database_url.removeprefix("sqlite:///")) as raw:
            assert raw.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            assert raw.execute("PRAGMA foreign_key_check").fetchall() == []
        raw.close()

    store = open_store(database_url)
    try:
        with store.read() as tx:
            conn = tx.conn
            visit_ids = set(
                conn.execute(select(t.visits.c.id).where(t.visits.c.patient_id == burst.patient_id)).scalars()
            )
            audited = set(
                conn.execute(
                    select(t.audit.c.entity_id).where(
                        t.audit.c.action == "visit.create", t.audit.c.entity == "visit"
                    )
                ).scalars()
            )
            screened = set(
                conn.execute(
                    select(t.screenings.c.visit_id).where(t.screenings.c.visit_id.is_not(None))
                ).scalars()
            )

        missing = [v for v in committed if v not in visit_ids]
        assert not missing, f"{len(missing)} of {len(committed)} visits reported as committed are missing"
        assert visit_ids - audited == set(), "a visit without its visit.create audit entry"
        assert visit_ids - screened == set(), "a visit without its screening"
        assert audited - visit_ids == set(), "a visit.create audit entry without its visit"
        assert screened - visit_ids == set(), "a screening of a visit that does not exist"
        if burst.in_flight is not None:
            # Killed with the visit, its audit entry and screening written but not committed: all gone.
            assert burst.in_flight not in visit_ids | audited | screened
        # Killed while blocked (inside a transaction or right after a commit): exactly the reported visits.
        assert visit_ids == set(committed)
        intact, rows, broken = store.verify_audit()
        assert intact, f"audit chain broken at seq {broken} of {rows}"
        assert rows >= len(visit_ids) + 2  # user.create, patient.create, one visit.create per visit

        # The database still takes writes after the crash (no lock or open transaction left behind).
        survivor = make_user(store, "after.crash", "clinician", "After Crash")
        visit, screening = services.record_visit(store, survivor, burst.patient_id, visit_values(pain_nrs=2))
        assert screening.visit_id == visit.id
        assert store.verify_audit()[0]
    finally:
        store.close()
