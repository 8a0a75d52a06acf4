"""A background job's lease and progress as the store keeps it (one row per kind of job), and what the
Admin page says about it. Plain values: no store, no widgets.

The lease: a job runs only while its row is `running` and its `expires_at` lies ahead; the worker moves
`expires_at` on with every chunk (its heartbeat). A worker that dies stops the heartbeat, the lease
expires, and the next request takes the row over; the work it committed stays done.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final, Literal

from dashboard.models import Episode, Escalation, Patient, Visit
from dashboard.patient_reported import DiaryEntry

JobStateName = Literal["running", "done", "failed"]

RESCREEN_JOB: Final = "rescreen"
# A live worker heartbeats after every chunk (well under a second at 10,000 patients); a lease not moved
# on for this long belongs to a worker that died, and another request may take it over.
LEASE_SECONDS: Final = 30.0
# Patients re-screened in one transaction: the unit of progress, resumption and rollback.
CHUNK_PATIENTS: Final = 500
POLL_SECONDS: Final = 2.0  # how often the Admin page reads the job row while a job runs

RESCREEN_NOTE: Final = (
    "After a change to the rules or the clinic's rule settings, every patient's current episode is "
    "screened again by one background worker, a chunk of patients at a time; the app stays usable, and a "
    "patient opened meanwhile is screened on the spot. Only patients whose latest screening used another "
    "rule set are redone, so a job that stopped can simply be started again."
)
WORKER_NOT_STARTED: Final = "The re-screen worker could not be started; the server log says why."
START_OUTCOMES: Final = {
    "started": "The re-screen has started.",
    "running": "A re-screen is already running (started from this or another app process).",
    "nothing to do": "Nothing to re-screen: every patient's latest screening uses the current rule set.",
}


@dataclass(frozen=True)
class JobRequest:
    """A request for a job's lease: which job, for whom, and the work it takes on."""

    name: str
    owner: str  # the new job's id: its worker heartbeats under it
    rule_set_version: str
    total: int  # patients to re-screen
    requested_by: str | None  # the admin's user id; None: the app after a rule-set change


@dataclass(frozen=True)
class JobState:
    """One job row: who holds the lease until when, and how far the work has got."""

    name: str
    owner: str | None  # the running job's id (its lease); None before the first job
    state: JobStateName
    rule_set_version: str | None  # the version the job screens with
    total: int  # patients to re-screen when the job started
    done: int  # patients re-screened so far (committed with each chunk)
    requested_by: str | None  # the admin's user id; None when the app started it after a rule change
    started_at: dt.datetime | None
    heartbeat_at: dt.datetime | None
    expires_at: dt.datetime | None
    finished_at: dt.datetime | None
    message: str = ""  # why a job failed (an error type, never patient data)

    def is_live(self, now: dt.datetime) -> bool:
        """True while a worker holds the lease (running, and its heartbeat not yet expired)."""
        return self.state == "running" and self.expires_at is not None and self.expires_at > now

    @property
    def fraction(self) -> float:
        """Progress from 0.0 to 1.0 (1.0 for a job that had nothing to do)."""
        return 1.0 if self.total <= 0 else min(1.0, self.done / self.total)


@dataclass(frozen=True)
class ScreeningInput:
    """Everything screening one patient reads, loaded in bulk for a chunk of patients."""

    patient: Patient
    episodes: list[Episode]  # oldest first
    visits: list[Visit]  # every episode's non-archived visits, oldest first
    diary: list[DiaryEntry]
    escalations: list[Escalation]  # non-archived, oldest first


def _clock(at: dt.datetime | None, now: dt.datetime) -> str:
    if at is None:
        return "—"
    seconds = max(0, int((now - at).total_seconds()))
    return f"{at:%H:%M:%S} UTC ({seconds} s ago)"


def progress_text(job: JobState, now: dt.datetime) -> str:
    """The progress bar's words: patients done of total and the job's state in plain language."""
    counted = f"{job.done:,} of {job.total:,} patients re-screened"
    if job.is_live(now):
        return f"Re-screening: {counted}"
    if job.state == "running":  # the lease ran out: the worker stopped without finishing
        return f"Stopped (the worker stopped answering): {counted}; start it again to finish the rest"
    if job.state == "failed":
        return f"Failed ({job.message or 'see the server log'}): {counted}; start it again to finish the rest"
    return f"Finished: {counted}"


def job_lines(job: JobState, now: dt.datetime) -> list[str]:
    """Started, last heartbeat, finished and the rule-set version of a job, one line each."""
    lines = [
        f"Rule set `{job.rule_set_version or '—'}`",
        f"Started {_clock(job.started_at, now)}",
        f"Last heartbeat {_clock(job.heartbeat_at, now)}",
    ]
    if job.finished_at is not None:
        lines.append(f"Finished {_clock(job.finished_at, now)}")
    return lines


def stale_line(stale: int, version: str) -> str:
    """How many patients' latest screening was made with another rule set than `version`."""
    if stale == 0:
        return f"Every patient's latest screening uses rule set `{version}`."
    noun = "patient's" if stale == 1 else "patients'"
    return f"{stale:,} {noun} latest screening uses another rule set than `{version}`."
