"""The re-screen worker: one OS process, at lower CPU priority, that runs a re-screen job whose lease the
app took (dashboard.rescreen.start_rescreen), and `launch`, which starts it from the app.

    .venv/bin/python -m data.rescreen_worker --job JOB_ID [--database-url URL]

The database URL and the rule settings come from the environment the app passed on (STRIDE_DATABASE_URL,
STRIDE_RULE_*), so the worker screens with exactly the app's rule-set version. Logs carry error types
and counts, never patient data.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

from dashboard.config import load_settings
from dashboard.rescreen import LeaseLost, run_job
from dashboard.rescreen_jobs import CHUNK_PATIENTS, LEASE_SECONDS
from data.store import open_store

log = logging.getLogger("stride.rescreen")
ROOT = Path(__file__).resolve().parents[1]  # where `python -m data.rescreen_worker` finds the packages
NICENESS = 10  # below the app's processes: a clinician's click comes first on a busy machine


@contextlib.contextmanager
def bulk_gc() -> Iterator[None]:
    """Python's cyclic garbage collector tuned for bulk reads: the objects alive before are frozen
    (never scanned again) and a collection runs every 50,000 new objects instead of 700. Measured on the
    10,000-patient clinic, the default settings spent most of a load decoding JSON scanning the heap
    (docs/performance.md). Chunks hold no reference cycles worth collecting early."""
    threshold = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


def launch(
    database_url: str,
    job_id: str,
    *,
    lease_s: float = LEASE_SECONDS,
    chunk_patients: int = CHUNK_PATIENTS,
) -> subprocess.Popen[bytes]:
    """Start the worker for `job_id` as a separate process (its own session, so the app's signals and
    reruns never reach it); a thread of the app reaps it when it ends."""
    env = {**os.environ, "STRIDE_DATABASE_URL": database_url}
    command = [sys.executable, "-m", "data.rescreen_worker", "--job", job_id]
    command += ["--lease-s", str(lease_s), "--chunk-patients", str(chunk_patients)]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, start_new_session=True)
    threading.Thread(target=process.wait, name=f"rescreen-{job_id[:8]}", daemon=True).start()
    return process


def main(argv: Sequence[str] | None = None) -> int:
    """Run the job: 0 done, 2 when its lease is not (or no longer) this job's, 1 on any other error."""
    parser = argparse.ArgumentParser(prog="python -m data.rescreen_worker", description=__doc__)
    parser.add_argument("--job", required=True, help="the job id whose lease the app took")
    parser.add_argument("--database-url", help="default: STRIDE_DATABASE_URL")
    parser.add_argument("--chunk-patients", type=int, default=CHUNK_PATIENTS, help="patients per transaction")
    parser.add_argument("--lease-s", type=float, default=LEASE_SECONDS, help="seconds a heartbeat lasts")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    os.nice(NICENESS)
    settings = load_settings()
    store = open_store(args.database_url or settings.database_url, migrate=False)
    try:
        with bulk_gc():
            done = run_job(store, args.job, settings.rules, limit=args.chunk_patients, lease_s=args.lease_s)
    except LeaseLost:
        log.warning("re-screen job %s: the lease is held by another job; stopped", args.job[:8])
        return 2
    except Exception as exc:  # recorded on the job row as failed; the type only, never the values
        log.error("re-screen job %s failed: %s", args.job[:8], type(exc).__name__)
        return 1
    finally:
        store.close()
    log.info("re-screen job %s: %d patients re-screened", args.job[:8], done)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
