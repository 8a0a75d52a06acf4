"""Re-screening every patient after a rule-set change, as one background job (issue 24).

Only patients whose latest stored screening was made with another rule-set version are redone, a chunk
of them per transaction: their inputs are read in bulk, screened, and the screenings, escalation changes,
caseload summaries, one audit entry and the job's heartbeat are written together. A worker that dies
loses at most its open chunk (rolled back); the next job finds only the patients still to do. A patient
opened meanwhile is screened on the spot (`screen_on_open`), so no one is shown a stale screening.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Literal

from dashboard import auth
from dashboard.config import RuleSettings, Settings
from dashboard.episodes import current_episode
from dashboard.escalation_services import (
    _audit_opened,
    escalation_changes,
    rescreen_patient,
    screen_with_history,
)
from dashboard.models import Escalation, Screening, Visit
from dashboard.ports import Store, StrideError, Tx, User
from dashboard.red_flags import rule_set_version, to_screening
from dashboard.rescreen_jobs import (
    CHUNK_PATIENTS,
    LEASE_SECONDS,
    RESCREEN_JOB,
    JobRequest,
    JobState,
    ScreeningInput,
)
from dashboard.service_base import _audit, authorize

StartOutcome = Literal["started", "running", "nothing to do"]
PERMISSION = "approve_rules"  # re-screening the clinic follows from the rule set an admin governs


class LeaseLost(StrideError):
    """The job's lease expired and another job took it over: this worker's open chunk is rolled back."""

    def __init__(self) -> None:
        super().__init__("The re-screen job lost its lease to another job.")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _current_visits(visits: list[Visit], episodes_current_id: str | None) -> list[Visit]:
    # The current episode's visits, as service_base.current_episode_visits reads them (§11.1).
    if episodes_current_id is None:
        return visits
    return [v for v in visits if v.episode_id in (None, episodes_current_id)]


def screen_one(
    found: ScreeningInput, rules: RuleSettings, by: str | None
) -> tuple[Screening, list[Escalation], list[tuple[Escalation, int]]] | None:
    """One patient's new screening (with its id) and the escalations it opens and updates; None when
    the current episode has no visit to screen."""
    current = current_episode(found.episodes)
    visits = _current_visits(found.visits, current.id if current else None)
    if not visits:
        return None
    patient = found.patient
    result = screen_with_history(patient, visits, found.episodes, lambda: found.visits, found.diary, rules)
    screening = to_screening(result, patient.id or "", visits[-1].id).model_copy(
        update={"id": str(uuid.uuid4()), "recorded_by": by, "updated_by": by}
    )
    opened, updated = escalation_changes(found.escalations, patient, screening, by)
    return screening, opened, updated


def rescreen_chunk(
    tx: Tx,
    job_id: str,
    rules: RuleSettings,
    *,
    by: str | None,
    after: str | None,
    limit: int = CHUNK_PATIENTS,
    lease_s: float = LEASE_SECONDS,
) -> list[str]:
    """Re-screen the next `limit` patients still to do after id `after`, in this transaction, and move
    the job's lease on; returns their ids (empty: nothing is left). LeaseLost when the job is no longer
    `job_id`'s: the caller's transaction then rolls back, so no screening is written twice."""
    version = rule_set_version(rules)
    ids = tx.stale_screening_patients(version, after=after, limit=limit)
    if not ids:
        return []
    screenings: list[Screening] = []
    opened: list[Escalation] = []
    updated: list[tuple[Escalation, int]] = []
    tiers: dict[str | None, str] = {}  # the tier each escalation had before
    for found in tx.screening_inputs(ids):
        outcome = screen_one(found, rules, by)
        if outcome is not None:
            screenings.append(outcome[0])
            opened.extend(outcome[1])
            updated.extend(outcome[2])
            tiers.update((e.id, e.tier) for e in found.escalations)
    tx.insert_screenings(screenings)
    for escalation in tx.write_escalations(opened, updated):
        _audit_opened(tx, None, escalation)
    # A caseload summary reads the escalations for its open tier only: refreshed once for the chunk's
    # patients with an escalation opened or raised (most updates only move last_screening_id on).
    raised = {e.patient_id for e, _ in updated if tiers.get(e.id) != e.tier}
    changed = sorted({e.patient_id for e in opened} | raised)
    if changed:
        tx.refresh_summaries(changed)
    tx.insert_audit(
        user_id=by,
        action="rescreen.chunk",
        entity="job",
        entity_id=job_id,
        after={"patients": len(screenings), "rule_set_version": version, "escalations_opened": len(opened)},
    )
    if not tx.heartbeat_job(RESCREEN_JOB, job_id, now=_now(), lease_s=lease_s, done_delta=len(ids)):
        raise LeaseLost()
    return ids


def run_job(
    store: Store,
    job_id: str,
    rules: RuleSettings,
    *,
    limit: int = CHUNK_PATIENTS,
    lease_s: float = LEASE_SECONDS,
    on_chunk: Callable[[int], None] | None = None,
) -> int:
    """Run job `job_id` (whose lease the starter took) to the end, one transaction per chunk; returns
    the patients re-screened. The job row ends `done`, or `failed` with the error's type (re-raised)."""
    with store.read() as tx:
        job = tx.get_job(RESCREEN_JOB)
    if job is None or job.owner != job_id or not job.is_live(_now()):
        raise LeaseLost()
    by = job.requested_by
    done, after = 0, None
    try:
        while True:
            with store.transaction() as tx:
                ids = rescreen_chunk(tx, job_id, rules, by=by, after=after, limit=limit, lease_s=lease_s)
            if not ids:
                break
            done, after = done + len(ids), ids[-1]
            if on_chunk is not None:
                on_chunk(done)
    except LeaseLost:
        raise
    except Exception as exc:
        with store.transaction() as tx:
            tx.finish_job(RESCREEN_JOB, job_id, now=_now(), state="failed", message=type(exc).__name__)
        raise
    with store.transaction() as tx:
        tx.finish_job(RESCREEN_JOB, job_id, now=_now(), state="done")
    return done


def start_rescreen(
    store: Store,
    actor: User | None,
    settings: Settings,
    launch: Callable[[str], object],
    *,
    lease_s: float = LEASE_SECONDS,
) -> StartOutcome:
    """Take the re-screen lease and start the worker (`launch(job_id)`), unless a live job holds it or no
    patient needs it. `actor` None: the app itself, after a rule-set change; else an admin (re-checked)."""
    job_id = str(uuid.uuid4())
    version = rule_set_version(settings.rules)
    with store.transaction() as tx:
        if actor is not None:
            authorize(tx, actor, PERMISSION)
        job = tx.get_job(RESCREEN_JOB)
        if job is not None and job.is_live(_now()):
            return "running"
        total = tx.count_stale_screening_patients(version)
        if total == 0:
            return "nothing to do"
        by = actor.id if actor else None
        request = JobRequest(RESCREEN_JOB, job_id, version, total, by)
        if not tx.acquire_job(request, now=_now(), lease_s=lease_s):
            return "running"
        _audit(
            tx, actor, "rescreen.start", "job", job_id, after={"patients": total, "rule_set_version": version}
        )
    try:
        launch(job_id)
    except OSError as exc:  # the worker could not be started: the lease is released at once
        with store.transaction() as tx:
            tx.finish_job(RESCREEN_JOB, job_id, now=_now(), state="failed", message=type(exc).__name__)
        raise
    return "started"


def job_status(store: Store, actor: User, settings: Settings) -> tuple[JobState | None, int | None]:
    """The re-screen job's row (None before the first job) and, while no job runs, how many patients'
    latest screening has another rule set than the current one (None while one runs: the progress bar
    says it, and the count is not asked for at every poll)."""
    with store.read() as tx:
        authorize(tx, actor, PERMISSION)
        job = tx.get_job(RESCREEN_JOB)
        if job is not None and job.is_live(_now()):
            return job, None
        return job, tx.count_stale_screening_patients(rule_set_version(settings.rules))


def screen_on_open(store: Store, actor: User, patient_id: str, settings: Settings) -> Screening | None:
    """Screen a patient on the spot when their latest screening has another rule-set version (a rule
    change the background job has not reached yet); None when it is current, or the role may not write."""
    if not patient_id or not auth.can(actor.role, "write_clinical"):
        return None
    with store.read() as tx:
        latest = tx.latest_screening_version(patient_id)
    if latest is None or latest == rule_set_version(settings.rules):
        return None
    return rescreen_patient(store, actor, patient_id, settings=settings)
