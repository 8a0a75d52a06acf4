"""Transaction methods for patients, their episodes of care and their visits, and the erasure of a
patient's clinical rows (the _PatientsAndVisits part of SqlTx)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, func, insert, select

from dashboard.episodes import current_episode
from dashboard.models import Episode, Escalation, Patient, Visit
from data import tables as t
from data.store.rows import (
    episode_columns,
    episode_from_row,
    escalation_from_row,
    patient_columns,
    patient_from_row,
    search_key,
    visit_columns,
    visit_from_row,
)
from data.store.tx_base import _TxBase

# What a unique index refuses: a second patient with one reference, a second open episode of a patient.
_DUPLICATE_REF = ("patient_ref", "A patient with this reference already exists.")
_SECOND_OPEN_EPISODE = ("episode", "This patient already has an open episode of care.")


class _PatientsAndVisits(_TxBase):
    """Patients, episodes of care and visits; a patient's erasure (its audit side is _Audit's)."""

    # --- patients ------------------------------------------------------------------------------
    def get_patient(self, patient_id: str) -> Patient | None:
        return self._first(t.patients, t.patients.c.id == patient_id, patient_from_row)

    def find_patient_by_ref(self, patient_ref: str) -> Patient | None:
        return self._first(t.patients, t.patients.c.patient_ref == patient_ref, patient_from_row)

    def search_patients(
        self, query: str, *, include_archived: bool = False, limit: int = 50
    ) -> list[Patient]:
        stmt = select(t.patients)
        for word in search_key(query).split():
            stmt = stmt.where(t.patients.c.search_key.contains(word, autoescape=True))
        if not include_archived:
            stmt = stmt.where(t.patients.c.archived.is_(False))
        stmt = stmt.order_by(t.patients.c.search_key).limit(limit)
        return [patient_from_row(row) for row in self.conn.execute(stmt)]

    def count_patients(self) -> int:
        return int(self.conn.execute(select(func.count()).select_from(t.patients)).scalar() or 0)

    def insert_patient(self, patient: Patient) -> Patient:
        row = self._new_row(patient)
        with self._unique(*_DUPLICATE_REF):
            self.conn.execute(insert(t.patients).values(**row, **patient_columns(patient)))
        saved: Patient = patient.model_copy(update=row)
        # Every patient starts with one open episode of care, with their onset (§11.1).
        self.insert_episode(
            Episode(
                patient_id=saved.saved_id,
                symptom_onset=saved.symptom_onset,
                clinician_id=saved.clinician_id,
                recorded_by=saved.recorded_by,
            )
        )
        return saved

    def update_patient(self, patient: Patient, expected_version: int) -> Patient:
        with self._unique(*_DUPLICATE_REF):
            saved: Patient = self._versioned_update(
                t.patients, patient, expected_version, patient_columns(patient)
            )
        # Archive, restore, reassignment, review date, name: the caseload's stored inputs follow.
        self.refresh_caseload_inputs([saved.saved_id])
        return saved

    # --- episodes ------------------------------------------------------------------------------
    def episodes(self, patient_id: str) -> list[Episode]:
        """The patient's episodes of care, oldest first."""
        stmt = (
            select(t.episodes)
            .where(t.episodes.c.patient_id == patient_id)
            .order_by(t.episodes.c.recorded_at, t.episodes.c.id)
        )
        return [episode_from_row(row) for row in self.conn.execute(stmt)]

    def get_episode(self, episode_id: str) -> Episode | None:
        return self._first(t.episodes, t.episodes.c.id == episode_id, episode_from_row)

    def open_episode(self, patient_id: str) -> Episode | None:
        """The patient's open episode, or None when every episode is discharged."""
        e = t.episodes.c
        return self._first(t.episodes, (e.patient_id == patient_id) & (e.status == "open"), episode_from_row)

    def insert_episode(self, episode: Episode) -> Episode:
        row = self._new_row(episode)
        with self._unique(*_SECOND_OPEN_EPISODE):
            self.conn.execute(insert(t.episodes).values(**row, **episode_columns(episode)))
        self.refresh_summaries([episode.patient_id])  # a new episode is a new baseline for the caseload
        return episode.model_copy(update=row)

    def update_episode(self, episode: Episode, expected_version: int) -> Episode:
        with self._unique(*_SECOND_OPEN_EPISODE):
            saved = self._versioned_update(t.episodes, episode, expected_version, episode_columns(episode))
        self.refresh_summaries([episode.patient_id])  # a re-opened episode may be current again
        return saved

    def episodes_for_outcomes(
        self, start: dt.date, end: dt.date
    ) -> list[tuple[Patient, Episode, list[Visit]]]:
        """Episodes of active patients discharged from start to end (inclusive), each with its patient
        and its non-archived visits: what clinic outcomes are computed from (§11.3). Three reads."""
        ep, p, v = t.episodes, t.patients, t.visits
        rows = self.conn.execute(
            select(ep)
            .join(p, p.c.id == ep.c.patient_id)
            .where(
                ep.c.status == "discharged",
                ep.c.discharge_date >= start,
                ep.c.discharge_date <= end,
                p.c.archived.is_(False),
            )
            .order_by(ep.c.discharge_date, ep.c.id)
        ).all()
        episodes = [episode_from_row(row) for row in rows]
        patient_ids = sorted({e.patient_id for e in episodes})
        patients: dict[str, Patient] = {}
        visits: dict[str, list[Visit]] = {}
        for chunk in (patient_ids[i : i + 500] for i in range(0, len(patient_ids), 500)):
            for row in self.conn.execute(select(p).where(p.c.id.in_(chunk))):
                patients[row.id] = patient_from_row(row)
            for row in self.conn.execute(
                select(v).where(v.c.patient_id.in_(chunk), v.c.archived.is_(False)).order_by(v.c.visit_date)
            ):
                if row.episode_id is not None:
                    visits.setdefault(row.episode_id, []).append(visit_from_row(row))
        return [(patients[e.patient_id], e, visits.get(e.saved_id, [])) for e in episodes]

    def open_episode_count(self) -> int:
        """Open episodes of active patients (the clinic's episodes in progress)."""
        ep, p = t.episodes, t.patients
        stmt = (
            select(func.count())
            .select_from(ep.join(p, p.c.id == ep.c.patient_id))
            .where(ep.c.status == "open", p.c.archived.is_(False))
        )
        return int(self.conn.execute(stmt).scalar() or 0)

    def escalations_opened(self, start: dt.date, end: dt.date) -> list[tuple[Escalation, str | None]]:
        """Escalations of active patients recorded from start to end (inclusive, UTC days), each with
        its patient's clinician id (the Outcomes page's clinician filter)."""
        e, p = t.escalations, t.patients
        after = dt.datetime.combine(start, dt.time.min, tzinfo=dt.UTC)
        before = dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC)
        stmt = (
            select(e, p.c.clinician_id.label("patient_clinician_id"))
            .join(p, p.c.id == e.c.patient_id)
            .where(e.c.recorded_at >= after, e.c.recorded_at < before, p.c.archived.is_(False))
            .order_by(e.c.recorded_at, e.c.id)
        )
        return [(escalation_from_row(row), row.patient_clinician_id) for row in self.conn.execute(stmt)]

    # --- visits --------------------------------------------------------------------------------
    def visits(self, patient_id: str, *, include_archived: bool = False) -> list[Visit]:
        stmt = select(t.visits).where(t.visits.c.patient_id == patient_id)
        if not include_archived:
            stmt = stmt.where(t.visits.c.archived.is_(False))
        stmt = stmt.order_by(t.visits.c.visit_date, t.visits.c.recorded_at)
        return [visit_from_row(row) for row in self.conn.execute(stmt)]

    def get_visit(self, visit_id: str) -> Visit | None:
        return self._first(t.visits, t.visits.c.id == visit_id, visit_from_row)

    def insert_visit(self, visit: Visit) -> Visit:
        """Store a new visit; one that names no episode of its patient joins the patient's open episode
        (else their latest), so every stored visit belongs to an episode (an import, an older caller)."""
        episodes = self.episodes(visit.patient_id or "")
        if visit.episode_id not in {e.id for e in episodes}:
            current = current_episode(episodes)
            visit = visit.model_copy(update={"episode_id": current.id if current else None})
        row = self._new_row(visit)
        self.conn.execute(insert(t.visits).values(**row, **visit_columns(visit)))
        self.refresh_summaries([visit.patient_id or ""])
        return visit.model_copy(update=row)

    def update_visit(self, visit: Visit, expected_version: int) -> Visit:
        saved = self._versioned_update(t.visits, visit, expected_version, visit_columns(visit))
        self.refresh_summaries([visit.patient_id or ""])
        return saved

    # --- erasure -------------------------------------------------------------------------------
    def erase_patient_data(self, stub: Patient, expected_version: int) -> dict[str, int]:
        """Erasure: delete a patient's clinical rows and overwrite the patient row with `stub`.

        Visits, episodes, screenings, escalations, handouts, letters, revisions, the caseload summary and
        the patient's own voice (invites, check-in reports, diary entries) go; the patient row stays (the
        audit stub points at its id), hidden from search. Returns the number of rows deleted per table.
        """
        patient_id = stub.id or ""
        if self.conn.dialect.name == "sqlite":
            # Overwrite deleted content with zeros instead of leaving it in the file's free space.
            self.conn.exec_driver_sql("PRAGMA secure_delete = ON")
        visit_ids = select(t.visits.c.id).where(t.visits.c.patient_id == patient_id)
        escalation_ids = select(t.escalations.c.id).where(t.escalations.c.patient_id == patient_id)
        removed = {
            "revisions": self.conn.execute(
                delete(t.revisions).where(
                    (t.revisions.c.patient_id == patient_id)
                    | (t.revisions.c.entity_id == patient_id)
                    | t.revisions.c.entity_id.in_(visit_ids)
                    | t.revisions.c.entity_id.in_(escalation_ids)
                )
            ).rowcount
        }
        episode_ids = select(t.episodes.c.id).where(t.episodes.c.patient_id == patient_id)
        removed["revisions"] += self.conn.execute(
            delete(t.revisions).where(t.revisions.c.entity_id.in_(episode_ids))
        ).rowcount
        for table in (
            t.screenings,
            t.escalations,
            t.handouts,
            t.letters,
            t.visits,
            t.episodes,
            t.patient_summaries,
        ):
            result = self.conn.execute(delete(table).where(table.c.patient_id == patient_id))
            removed[table.name] = result.rowcount
        removed.update(self.delete_patient_reported(patient_id))
        values = {**patient_columns(stub), "search_key": ""}
        self._versioned_update(t.patients, stub, expected_version, values)
        return {name: int(n or 0) for name, n in removed.items()}
