"""Transaction methods of the background re-screen (the _Jobs part of SqlTx): the job's lease and
progress row, which patients' latest screening is of another rule set, their screening inputs read in
bulk (visits trusted as stored, not validated again), and the bulk writes of one chunk."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from dashboard.models import Escalation, Screening, Visit
from dashboard.ports import StaleRecordError
from dashboard.rescreen_jobs import JobState, JobStateName, ScreeningInput
from data import tables as t
from data.store.rows import (
    _as_utc,
    bookkeeping_from_row,
    episode_from_row,
    escalation_from_row,
    patient_from_row,
    utcnow,
)
from data.store.tx_base import _TxBase
from data.store.tx_patient_reported import _diary
from data.store.tx_records import _Records


def trusted_visit_from_row(row: Any) -> Visit:
    """A stored visit row as the domain model without validating it again: the store validated it when it
    was written (Visit.from_store). For screening many visits at once; input is always validated."""
    return Visit.from_store(
        {**row.data, **bookkeeping_from_row(row), "patient_id": row.patient_id, "episode_id": row.episode_id}
    )


def _job(row: Any) -> JobState:
    return JobState(
        name=row.name,
        owner=row.owner,
        state=row.state,
        rule_set_version=row.rule_set_version,
        total=row.total,
        done=row.done,
        requested_by=row.requested_by,
        started_at=_as_utc(row.started_at),
        heartbeat_at=_as_utc(row.heartbeat_at),
        expires_at=_as_utc(row.expires_at),
        finished_at=_as_utc(row.finished_at),
        message=row.message,
    )


def _stale_condition(rule_set_version: str) -> Any:
    """Active patients with a visit in their current episode whose latest screening is missing or of
    another rule set: who a re-screen still has to do (the current episode as service_base reads it)."""
    p, s, v, e = t.patients, t.screenings, t.visits, t.episodes
    latest_version = (
        select(s.c.rule_set_version)
        .where(s.c.patient_id == p.c.id)
        .order_by(s.c.recorded_at.desc(), s.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    # Correlated with the patient explicitly: nested inside the EXISTS, SQLAlchemy would not infer it.
    open_episode = select(e.c.id).where(e.c.patient_id == p.c.id, e.c.status == "open").limit(1).correlate(p)
    latest_episode = (
        select(e.c.id)
        .where(e.c.patient_id == p.c.id)
        .order_by(e.c.recorded_at.desc(), e.c.id.desc())
        .limit(1)
        .correlate(p)
    )
    current = func.coalesce(open_episode.scalar_subquery(), latest_episode.scalar_subquery())
    has_visit = (
        select(v.c.id)
        .where(
            v.c.patient_id == p.c.id,
            v.c.archived.is_(False),
            or_(v.c.episode_id.is_(None), v.c.episode_id == current),
        )
        .exists()
    )
    stale = func.coalesce(latest_version, "") != rule_set_version  # never screened counts as stale
    return p.c.archived.is_(False) & has_visit & stale


class _Jobs(_Records, _TxBase):
    """The job lease and the re-screen's bulk reads and writes."""

    # --- the lease -----------------------------------------------------------------------------
    def get_job(self, name: str) -> JobState | None:
        row = self.conn.execute(select(t.jobs).where(t.jobs.c.name == name)).first()
        return _job(row) if row else None

    def acquire_job(
        self,
        name: str,
        owner: str,
        *,
        now: dt.datetime,
        lease_s: float,
        rule_set_version: str,
        total: int,
        requested_by: str | None,
    ) -> bool:
        """Take the job's lease for `owner` unless a live one holds it; True when taken.

        One conditional UPDATE (the row exists) or INSERT (the first job ever): on SQLite the write lock,
        on PostgreSQL the row lock and the unique key make two simultaneous requests give one winner."""
        values = {
            "owner": owner,
            "state": "running",
            "rule_set_version": rule_set_version,
            "total": total,
            "done": 0,
            "requested_by": requested_by,
            "started_at": now,
            "heartbeat_at": now,
            "expires_at": now + dt.timedelta(seconds=lease_s),
            "finished_at": None,
            "message": "",
        }
        j = t.jobs.c
        taken = self.conn.execute(
            update(t.jobs)
            .where(j.name == name, or_(j.state != "running", j.expires_at <= now))
            .values(**values)
        ).rowcount
        if taken == 1:
            return True
        try:
            with self.conn.begin_nested():
                self.conn.execute(insert(t.jobs).values(name=name, **values))
        except IntegrityError:  # the row exists and a live job holds it (or another request won)
            return False
        return True

    def heartbeat_job(
        self, name: str, owner: str, *, now: dt.datetime, lease_s: float, done_delta: int
    ) -> bool:
        """Move the lease on and count `done_delta` more patients done; False when `owner` lost it."""
        j = t.jobs.c
        return (
            self.conn.execute(
                update(t.jobs)
                .where(j.name == name, j.owner == owner, j.state == "running")
                .values(
                    heartbeat_at=now,
                    expires_at=now + dt.timedelta(seconds=lease_s),
                    done=j.done + done_delta,
                )
            ).rowcount
            == 1
        )

    def finish_job(
        self, name: str, owner: str, *, now: dt.datetime, state: JobStateName, message: str = ""
    ) -> bool:
        """End `owner`'s job as done or failed (the lease is released); False when it held no lease."""
        j = t.jobs.c
        return (
            self.conn.execute(
                update(t.jobs)
                .where(j.name == name, j.owner == owner, j.state == "running")
                .values(state=state, finished_at=now, heartbeat_at=now, expires_at=now, message=message[:200])
            ).rowcount
            == 1
        )

    # --- what a re-screen reads ------------------------------------------------------------------
    def stale_screening_patients(self, rule_set_version: str, *, after: str | None, limit: int) -> list[str]:
        """Up to `limit` ids of patients still to re-screen with `rule_set_version`, in id order after
        `after` (None: from the first)."""
        p = t.patients
        stmt = select(p.c.id).where(_stale_condition(rule_set_version))
        if after is not None:
            stmt = stmt.where(p.c.id > after)
        return list(self.conn.execute(stmt.order_by(p.c.id).limit(limit)).scalars())

    def count_stale_screening_patients(self, rule_set_version: str) -> int:
        """How many patients still have to be re-screened with `rule_set_version`."""
        stmt = select(func.count()).select_from(t.patients).where(_stale_condition(rule_set_version))
        return int(self.conn.execute(stmt).scalar() or 0)

    def latest_screening_version(self, patient_id: str) -> str | None:
        """The rule-set version of the patient's latest screening (None: never screened)."""
        s = t.screenings.c
        stmt = (
            select(s.rule_set_version)
            .where(s.patient_id == patient_id)
            .order_by(s.recorded_at.desc(), s.id.desc())
            .limit(1)
        )
        return self.conn.execute(stmt).scalar()

    def screening_inputs(self, patient_ids: Sequence[str]) -> list[ScreeningInput]:
        """What screening the given patients reads, in five queries: each patient with their episodes,
        non-archived visits (oldest first, trusted as stored), walking diary and escalations."""
        ids = list(patient_ids)
        p, e, v, d, x = t.patients, t.episodes, t.visits, t.diary_entries, t.escalations
        episodes: dict[str, list[Any]] = {pid: [] for pid in ids}
        for row in self.conn.execute(
            select(e).where(e.c.patient_id.in_(ids)).order_by(e.c.recorded_at, e.c.id)
        ).all():
            episodes[row.patient_id].append(episode_from_row(row))
        visits: dict[str, list[Visit]] = {pid: [] for pid in ids}
        for row in self.conn.execute(
            select(v)
            .where(v.c.patient_id.in_(ids), v.c.archived.is_(False))
            .order_by(v.c.patient_id, v.c.visit_date, v.c.recorded_at)
        ).all():
            visits[row.patient_id].append(trusted_visit_from_row(row))
        diary: dict[str, list[Any]] = {pid: [] for pid in ids}
        for row in self.conn.execute(
            select(d).where(d.c.patient_id.in_(ids)).order_by(d.c.walk_date, d.c.recorded_at)
        ).all():
            diary[row.patient_id].append(_diary(row))
        escalations: dict[str, list[Escalation]] = {pid: [] for pid in ids}
        for row in self.conn.execute(
            select(x).where(x.c.patient_id.in_(ids), x.c.archived.is_(False)).order_by(x.c.recorded_at)
        ).all():
            escalations[row.patient_id].append(escalation_from_row(row))
        return [
            ScreeningInput(
                patient_from_row(row), episodes[row.id], visits[row.id], diary[row.id], escalations[row.id]
            )
            for row in self.conn.execute(select(p).where(p.c.id.in_(ids)).order_by(p.c.id)).all()
        ]

    # --- what a re-screen writes -----------------------------------------------------------------
    def insert_screenings(self, screenings: Sequence[Screening]) -> None:
        """Store many screenings (each carrying its id) in one multi-row INSERT."""
        if not screenings:
            return
        self.conn.execute(insert(t.screenings), [self._screening_row(s) for s in screenings])

    def write_escalations(
        self, inserted: Sequence[Escalation], updated: Sequence[tuple[Escalation, int]]
    ) -> None:
        """Open new escalations (each carrying its id) and update others (each with the version it was
        read at), without refreshing the caseload summaries: the caller refreshes them once per chunk."""
        if inserted:
            self.conn.execute(
                insert(t.escalations),
                [{**self._new_row(e), **self._escalation_values(e)} for e in inserted],
            )
        if not updated:
            return
        x = t.escalations.c
        # One statement executed for many rows; each row only where its version is still the one read.
        statement = (
            update(t.escalations)
            .where(x.id == bindparam("b_id"), x.version == bindparam("b_version"))
            .values(
                version=bindparam("b_next"),
                updated_at=bindparam("b_at"),
                updated_by=bindparam("b_by"),
                tier=bindparam("b_tier"),
                data=bindparam("b_data", type_=t.escalations.c.data.type),
            )
        )
        now = utcnow()
        rows = [
            {
                "b_id": e.id,
                "b_version": version,
                "b_next": version + 1,
                "b_at": now,
                "b_by": e.updated_by,
                "b_tier": e.tier,
                "b_data": self._escalation_values(e)["data"],
            }
            for e, version in updated
        ]
        if self.conn.execute(statement, rows).rowcount != len(rows):
            raise StaleRecordError("escalation", None, None)  # changed meanwhile: the chunk rolls back
