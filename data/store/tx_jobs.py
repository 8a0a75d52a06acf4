"""Transaction methods of the background re-screen (the _Jobs part of SqlTx): the job's lease and
progress row, which patients' latest screening is of another rule set, their screening inputs read in
bulk (visits trusted as stored, not validated again), and the bulk writes of one chunk."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import asdict
from typing import Any

from sqlalchemy import bindparam, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from dashboard.models import Escalation, Screening, Visit
from dashboard.ports import StaleRecordError
from dashboard.rescreen_jobs import JobRequest, JobState, JobStateName, ScreeningInput
from data import tables as t
from data.store.rows import (
    _as_utc,
    episode_from_row,
    escalation_from_row,
    fields_from_row,
    patient_from_row,
    utcnow,
)
from data.store.tx_base import Read, _TxBase
from data.store.tx_patient_reported import _diary
from data.store.tx_records import _Records


def trusted_visit_from_row(row: Sequence[Any]) -> Visit:
    """A stored visit row of VISIT_COLUMNS as the domain model without validating it again: the store
    validated it when it was written (Visit.from_store). For screening many visits at once; input is
    always validated. The row is unpacked by position (a re-screen reads ~115,000 of them)."""
    (
        ident,
        version,
        recorded_at,
        updated_at,
        recorded_by,
        updated_by,
        archived,
        patient_id,
        episode_id,
        values,
    ) = row
    # Decoded afresh for this row, so taken over rather than copied.
    values.update(
        id=ident,
        version=version,
        recorded_at=_as_utc(recorded_at),
        updated_at=_as_utc(updated_at),
        recorded_by=recorded_by,
        updated_by=updated_by,
        archived=bool(archived),
        patient_id=patient_id,
        episode_id=episode_id,
    )
    return Visit.from_store(values)


# What trusted_visit_from_row reads, in its order: the bookkeeping and the payload. The columns copied
# out of the payload for SQL (visit_date, pain_nrs, ...) are not fetched: SQLite would parse each date.
VISIT_COLUMNS = (
    "id",
    "version",
    "recorded_at",
    "updated_at",
    "recorded_by",
    "updated_by",
    "archived",
    "patient_id",
    "episode_id",
    "data",
)


def _job(row: Any) -> JobState:
    times = ("started_at", "heartbeat_at", "expires_at", "finished_at")
    return JobState(**fields_from_row(row, JobState, **{name: _as_utc(getattr(row, name)) for name in times}))


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
    # `archived IS NOT true` (the column is NOT NULL: the same patients as `IS false`) keeps the planner
    # off the caseload index on `archived`: the keyset query then walks patients in id order and stops
    # at its limit, instead of testing every patient after `after` and sorting them at every chunk.
    return p.c.archived.is_not(True) & has_visit & stale


class _Jobs(_Records, _TxBase):
    """The job lease and the re-screen's bulk reads and writes."""

    # --- the lease -----------------------------------------------------------------------------
    def get_job(self, name: str) -> JobState | None:
        row = self.conn.execute(select(t.jobs).where(t.jobs.c.name == name)).first()
        return _job(row) if row else None

    def acquire_job(self, request: JobRequest, *, now: dt.datetime, lease_s: float) -> bool:
        """Take the job's lease for `request.owner` unless a live one holds it; True when taken.

        One conditional UPDATE (the row exists) or INSERT (the first job ever): on SQLite the write lock,
        on PostgreSQL the row lock and the unique key make two simultaneous requests give one winner."""
        values = {
            **asdict(request),
            "state": "running",
            "done": 0,
            "started_at": now,
            "heartbeat_at": now,
            "expires_at": now + dt.timedelta(seconds=lease_s),
            "finished_at": None,
            "message": "",
        }
        j = t.jobs.c
        live = (j.state == "running") & (j.expires_at > now)
        if self.conn.execute(update(t.jobs).where(j.name == request.name, ~live).values(**values)).rowcount:
            return True
        try:
            with self.conn.begin_nested():
                self.conn.execute(insert(t.jobs).values(**values))
        except IntegrityError:  # the row exists and a live job holds it (or another request won)
            return False
        return True

    def _update_own(self, name: str, owner: str, **values: Any) -> bool:
        """Update the job row only while `owner` holds its lease; False when it does not."""
        j = t.jobs.c
        held = (j.name == name) & (j.owner == owner) & (j.state == "running")
        return self.conn.execute(update(t.jobs).where(held).values(**values)).rowcount == 1

    def heartbeat_job(
        self, name: str, owner: str, *, now: dt.datetime, lease_s: float, done_delta: int
    ) -> bool:
        """Move the lease on and count `done_delta` more patients done; False when `owner` lost it."""
        expires = now + dt.timedelta(seconds=lease_s)
        return self._update_own(
            name, owner, heartbeat_at=now, expires_at=expires, done=t.jobs.c.done + done_delta
        )

    def finish_job(
        self, name: str, owner: str, *, now: dt.datetime, state: JobStateName, message: str = ""
    ) -> bool:
        """End `owner`'s job as done or failed (the lease is released); False when it held no lease."""
        return self._update_own(
            name, owner, state=state, finished_at=now, heartbeat_at=now, expires_at=now, message=message[:200]
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

    def _by_patient(self, ids: list[str], stmt: Any, read: Callable[[Any], Read]) -> dict[str, list[Read]]:
        """The rows `stmt` selects, read into records, grouped by patient (every id present)."""
        grouped: dict[str, list[Read]] = {pid: [] for pid in ids}
        for row in self.conn.execute(stmt).all():  # fetched at once: faster than row by row
            grouped[row.patient_id].append(read(row))
        return grouped

    def screening_inputs(self, patient_ids: Sequence[str]) -> list[ScreeningInput]:
        """What screening the given patients reads, in five queries: each patient with their episodes,
        non-archived visits (oldest first, trusted as stored), walking diary and escalations."""
        ids = list(patient_ids)
        p, e, v, d, x = t.patients, t.episodes, t.visits, t.diary_entries, t.escalations
        mine = [table.c.patient_id.in_(ids) for table in (e, v, d, x)]
        episodes = self._by_patient(
            ids, select(e).where(mine[0]).order_by(e.c.recorded_at, e.c.id), episode_from_row
        )
        visits = self._by_patient(
            ids,
            select(*(v.c[name] for name in VISIT_COLUMNS))
            .where(mine[1], v.c.archived.is_(False))
            .order_by(v.c.patient_id, v.c.visit_date, v.c.recorded_at),
            trusted_visit_from_row,
        )
        diary = self._by_patient(
            ids, select(d).where(mine[2]).order_by(d.c.walk_date, d.c.recorded_at), _diary
        )
        escalations = self._by_patient(
            ids,
            select(x).where(mine[3], x.c.archived.is_(False)).order_by(x.c.recorded_at),
            escalation_from_row,
        )
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
    ) -> list[Escalation]:
        """Open new escalations and update others (each with the version it was read at), without
        refreshing the caseload summaries (the caller does, once per chunk); returns the opened ones."""
        rows = [self._new_row(e) for e in inserted]
        if rows:
            values = [{**row, **self._escalation_values(e)} for row, e in zip(rows, inserted, strict=True)]
            self.conn.execute(insert(t.escalations), values)
        opened = [e.model_copy(update=row) for row, e in zip(rows, inserted, strict=True)]
        if not updated:
            return opened
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
        changes = [
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
        if self.conn.execute(statement, changes).rowcount != len(changes):
            raise StaleRecordError("escalation", None, None)  # changed meanwhile: the chunk rolls back
        return opened
