"""The SQLAlchemy implementation of the store Protocol (SQLite by default, PostgreSQL by URL).

Writes run in one transaction each; edits check the record version; the audit trail is hash-chained.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    bindparam,
    delete,
    func,
    insert,
    null,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError

from dashboard.episodes import current_episode
from dashboard.models import TIER_ORDER, Episode, Escalation, Patient, Screening, Visit
from dashboard.ports import (
    AuditEntry,
    DuplicateError,
    FlagSummary,
    Handout,
    Letter,
    PinnedEmergency,
    Revision,
    StaleRecordError,
    Throttle,
    User,
    WebSession,
)
from dashboard.summaries import (
    STORED_FIELDS,
    SUMMARY_VERSION,
    SUMMARY_VISIT_FIELDS,
    patient_summary,
    summary_visit,
)
from data import tables as t
from data.audit_head import AuditHead, AuditHeadError, audit_head_path, head_lock, read_head, write_head
from data.clinic_key import load_clinic_key
from data.store.chain import (
    AUDIT_HASHED,
    ERASURE_ACTION,
    GENESIS_HASH,
    AuditChainCheck,
    AuditVerdict,
    audit_hash,
    audit_seal,
    check_audit_chain,
    payload_sha256,
    reseal_audit_chain,
)
from data.store.engine import (
    BUSY_TIMEOUT_ENV,
    DEFAULT_BUSY_TIMEOUT_S,
    _busy_as_store_busy,
    _create_private_file,
    busy_timeout_from_env,
    is_busy_error,
    make_engine,
)
from data.store.rows import (
    _as_date,
    _as_utc,
    _user,
    _web_session,
    bookkeeping_from_row,
    episode_from_row,
    escalation_from_row,
    letter_from_row,
    new_id,
    patient_from_row,
    screening_from_row,
    search_key,
    utcnow,
    visit_columns,
    visit_from_row,
)

log = logging.getLogger(__name__)

# SUMMARY_VERSION (dashboard.summaries): when it changes, the store recomputes the summaries on open.
# One advisory-lock key for the audit chain on PostgreSQL: appends are serialised so the chain stays linear.
AUDIT_LOCK_KEY = 7_310_001
SUMMARY_LOCK_KEY = 7_310_002


class SqlTx:
    """One transaction on the store (implements dashboard.ports.Tx)."""

    def __init__(self, conn: Connection, clinic_key: bytes = b"") -> None:
        self.conn = conn
        self.clinic_key = clinic_key  # signs audit rows; empty in a read-only unit of work
        # The chain position before this transaction's first append, and its newest row (for the head).
        self.audit_base: AuditHead | None = None
        self.audit_tail: AuditHead | None = None

    # --- bookkeeping -------------------------------------------------------------------------
    def _new_row(self, record: Any) -> dict[str, Any]:
        now = utcnow()
        return {
            "id": record.id or new_id(),
            "version": 1,
            "recorded_at": now,
            "updated_at": now,
            "recorded_by": record.recorded_by,
            "updated_by": record.updated_by or record.recorded_by,
            "archived": record.archived,
        }

    def _versioned_update(
        self, table: Any, record: Any, expected_version: int, values: dict[str, Any]
    ) -> Any:
        now = utcnow()
        result = self.conn.execute(
            update(table)
            .where(table.c.id == record.id, table.c.version == expected_version)
            .values(
                **values,
                version=expected_version + 1,
                updated_at=now,
                updated_by=record.updated_by,
                archived=record.archived,
            )
        )
        if result.rowcount != 1:
            current = self.conn.execute(
                select(table.c.updated_by, table.c.updated_at).where(table.c.id == record.id)
            ).first()
            who = None
            if current is not None and current.updated_by:
                user = self.get_user(current.updated_by)
                who = user.display_name if user else None
            raise StaleRecordError(
                table.name.rstrip("s"), who, _as_utc(current.updated_at) if current else None
            )
        return record.model_copy(update={"version": expected_version + 1, "updated_at": now})

    # --- meta ----------------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        return self.conn.execute(select(t.meta.c.value).where(t.meta.c.key == key)).scalar()

    def set_meta(self, key: str, value: str) -> None:
        if self.get_meta(key) is None:
            self.conn.execute(insert(t.meta).values(key=key, value=value))
        else:
            self.conn.execute(update(t.meta).where(t.meta.c.key == key).values(value=value))

    # --- patients ------------------------------------------------------------------------------
    def get_patient(self, patient_id: str) -> Patient | None:
        row = self.conn.execute(select(t.patients).where(t.patients.c.id == patient_id)).first()
        return patient_from_row(row) if row else None

    def find_patient_by_ref(self, patient_ref: str) -> Patient | None:
        row = self.conn.execute(select(t.patients).where(t.patients.c.patient_ref == patient_ref)).first()
        return patient_from_row(row) if row else None

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

    @staticmethod
    def _patient_values(patient: Patient) -> dict[str, Any]:
        return {
            "patient_ref": patient.patient_ref,
            "search_key": search_key(patient.given_name, patient.family_name, patient.patient_ref),
            "clinician_id": patient.clinician_id,
            "next_review_date": patient.next_review_date,
            "data": patient.clinical_dict(),
            "language": patient.language,
        }

    def insert_patient(self, patient: Patient) -> Patient:
        row = self._new_row(patient)
        try:
            with self.conn.begin_nested():
                self.conn.execute(insert(t.patients).values(**row, **self._patient_values(patient)))
        except IntegrityError:
            raise DuplicateError(
                "patient_ref", "A patient with this reference already exists."
            ) from None  # the database error carries the values
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
        try:
            with self.conn.begin_nested():
                return self._versioned_update(
                    t.patients, patient, expected_version, self._patient_values(patient)
                )
        except IntegrityError:
            raise DuplicateError(
                "patient_ref", "A patient with this reference already exists."
            ) from None  # the database error carries the values

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
        row = self.conn.execute(select(t.episodes).where(t.episodes.c.id == episode_id)).first()
        return episode_from_row(row) if row else None

    def open_episode(self, patient_id: str) -> Episode | None:
        """The patient's open episode, or None when every episode is discharged."""
        row = self.conn.execute(
            select(t.episodes).where(t.episodes.c.patient_id == patient_id, t.episodes.c.status == "open")
        ).first()
        return episode_from_row(row) if row else None

    @staticmethod
    def _episode_values(episode: Episode) -> dict[str, Any]:
        return {
            "patient_id": episode.patient_id,
            "status": episode.status,
            "symptom_onset": episode.symptom_onset,
            "discharge_date": episode.discharge_date,
            "data": episode.clinical_dict(),
        }

    def insert_episode(self, episode: Episode) -> Episode:
        row = self._new_row(episode)
        try:
            with self.conn.begin_nested():
                self.conn.execute(insert(t.episodes).values(**row, **self._episode_values(episode)))
        except IntegrityError:
            raise DuplicateError("episode", "This patient already has an open episode of care.") from None
        self.refresh_summaries([episode.patient_id])  # a new episode is a new baseline for the caseload
        return episode.model_copy(update=row)

    def update_episode(self, episode: Episode, expected_version: int) -> Episode:
        try:
            with self.conn.begin_nested():
                saved = self._versioned_update(
                    t.episodes, episode, expected_version, self._episode_values(episode)
                )
        except IntegrityError:
            raise DuplicateError("episode", "This patient already has an open episode of care.") from None
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
        row = self.conn.execute(select(t.visits).where(t.visits.c.id == visit_id)).first()
        return visit_from_row(row) if row else None

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

    # --- screenings and escalations ------------------------------------------------------------
    def insert_screening(self, screening: Screening) -> Screening:
        row = self._new_row(screening)
        payload = screening.model_dump(
            mode="json",
            exclude={"id", "version", "recorded_at", "updated_at", "recorded_by", "updated_by", "archived"},
        )
        self.conn.execute(
            insert(t.screenings).values(
                **row,
                patient_id=screening.patient_id,
                visit_id=screening.visit_id,
                urgency=screening.urgency,
                rule_set_version=screening.rule_set_version,
                data=payload,
            )
        )
        return screening.model_copy(update=row)

    def screenings(self, patient_id: str) -> list[Screening]:
        stmt = (
            select(t.screenings)
            .where(t.screenings.c.patient_id == patient_id)
            .order_by(t.screenings.c.recorded_at)
        )
        return [screening_from_row(row) for row in self.conn.execute(stmt)]

    @staticmethod
    def _escalation_values(escalation: Escalation) -> dict[str, Any]:
        payload = escalation.model_dump(
            mode="json",
            exclude={"id", "version", "recorded_at", "updated_at", "recorded_by", "updated_by", "archived"},
        )
        return {
            "patient_id": escalation.patient_id,
            "rule_id": escalation.rule_id,
            "tier": escalation.tier,
            "status": escalation.status,
            "data": payload,
        }

    def escalations(self, *, patient_id: str | None = None, status: str | None = None) -> list[Escalation]:
        stmt = select(t.escalations).where(t.escalations.c.archived.is_(False))
        if patient_id is not None:
            stmt = stmt.where(t.escalations.c.patient_id == patient_id)
        if status is not None:
            stmt = stmt.where(t.escalations.c.status == status)
        stmt = stmt.order_by(t.escalations.c.recorded_at)
        return [escalation_from_row(row) for row in self.conn.execute(stmt)]

    def insert_escalation(self, escalation: Escalation) -> Escalation:
        row = self._new_row(escalation)
        self.conn.execute(insert(t.escalations).values(**row, **self._escalation_values(escalation)))
        self.refresh_summaries([escalation.patient_id])
        return escalation.model_copy(update=row)

    def update_escalation(self, escalation: Escalation, expected_version: int) -> Escalation:
        saved = self._versioned_update(
            t.escalations, escalation, expected_version, self._escalation_values(escalation)
        )
        self.refresh_summaries([escalation.patient_id])
        return saved

    # --- revisions and audit -------------------------------------------------------------------
    def insert_revision(self, revision: Revision, patient_id: str | None) -> None:
        self.conn.execute(
            insert(t.revisions).values(
                id=new_id(),
                entity=revision.entity,
                entity_id=revision.entity_id,
                patient_id=patient_id,
                version=revision.version,
                changed_at=revision.changed_at,
                changed_by=revision.changed_by,
                reason=revision.reason,
                before=revision.before,
                after=revision.after,
            )
        )

    def revisions(self, entity: str, entity_id: str) -> list[Revision]:
        stmt = (
            select(t.revisions)
            .where(t.revisions.c.entity == entity, t.revisions.c.entity_id == entity_id)
            .order_by(t.revisions.c.version)
        )
        return [
            Revision(
                entity=row.entity,
                entity_id=row.entity_id,
                version=row.version,
                changed_at=_as_utc(row.changed_at) or utcnow(),
                changed_by=row.changed_by,
                reason=row.reason,
                before=row.before,
                after=row.after,
            )
            for row in self.conn.execute(stmt)
        ]

    def insert_audit(
        self,
        *,
        user_id: str | None,
        action: str,
        entity: str | None = None,
        entity_id: str | None = None,
        patient_id: str | None = None,
        reason: str = "",
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
    ) -> int:
        """Append one entry to the audit chain (HMAC-sealed with the clinic key); returns its seq."""
        if not self.clinic_key:
            raise RuntimeError("audit entries are written only in a store transaction")
        postgres = self.conn.dialect.name == "postgresql"
        if postgres:
            self.conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": AUDIT_LOCK_KEY})
        last = self.conn.execute(
            select(t.audit.c.seq, t.audit.c.hash).order_by(t.audit.c.seq.desc()).limit(1)
        ).first()
        prev_seq, prev_hash = (last.seq, last.hash) if last else (0, GENESIS_HASH)
        if self.audit_base is None:
            self.audit_base = AuditHead(prev_seq, prev_hash)
        # The seq is part of what is sealed, so it is chosen before the insert (under the write lock).
        if postgres:
            seq = int(
                self.conn.execute(text("SELECT nextval(pg_get_serial_sequence('audit', 'seq'))")).scalar_one()
            )
        else:
            seq = prev_seq + 1
        before, after = _jsonable(before), _jsonable(after)
        row = {
            "seq": seq,
            "at": utcnow(),
            "user_id": user_id,
            "action": action,
            "entity": entity,
            "entity_id": entity_id,
            "patient_id": patient_id,
            "reason": reason,
            "before": before,
            "after": after,
            "payload_sha256": payload_sha256(reason, before, after),
            "redacted": False,
            "redacted_by": None,
            "prev_hash": prev_hash,
        }
        chain_hash = audit_hash(self.clinic_key, prev_hash, row)
        row["hash"] = chain_hash
        row["seal"] = audit_seal(self.clinic_key, row)
        self.conn.execute(insert(t.audit).values(**row))
        self.audit_tail = AuditHead(seq, chain_hash)
        return seq

    def count_audit_to_redact(self, patient_id: str) -> int:
        """How many audit entries about a patient still carry their payload (an erasure will redact them)."""
        return int(
            self.conn.execute(
                select(func.count())
                .select_from(t.audit)
                .where(t.audit.c.patient_id == patient_id, t.audit.c.redacted.is_(False))
            ).scalar_one()
        )

    def redact_audit_for_patient(self, patient_id: str, erasure_seq: int) -> int:
        """Erasure: drop the payload (reason, before, after) of every audit row about a patient.

        `erasure_seq` is the patient's "patient.erase" entry, written first in the same transaction:
        each redacted row points to it (redacted_by) and gets a new seal over its redaction state,
        so a redaction without an erasure entry, or by someone without the clinic key, is detected.
        The rows stay (when, who, what, which record) with their payload digest and chain hash; the
        triggers allow exactly this change and no other. Returns the number of rows redacted.
        """
        rows = self.conn.execute(
            select(t.audit.c.seq, t.audit.c.hash).where(
                t.audit.c.patient_id == patient_id,
                t.audit.c.redacted.is_(False),
                t.audit.c.seq < erasure_seq,
            )
        ).all()
        if not rows:
            return 0
        updates = [
            {
                "k_seq": r.seq,
                "v_seal": audit_seal(
                    self.clinic_key, {"hash": r.hash, "redacted": True, "redacted_by": erasure_seq}
                ),
            }
            for r in rows
        ]
        self.conn.execute(
            update(t.audit)
            .where(t.audit.c.seq == bindparam("k_seq"))
            .values(
                reason="",
                before=null(),
                after=null(),
                redacted=True,
                redacted_by=erasure_seq,
                seal=bindparam("v_seal"),
            ),
            updates,
        )
        return len(updates)

    def erase_patient_data(self, stub: Patient, expected_version: int) -> dict[str, int]:
        """Erasure: delete a patient's clinical rows and overwrite the patient row with `stub`.

        Visits, episodes, screenings, escalations, handouts, letters, revisions and the caseload summary
        go; the patient row stays (the audit stub points at its id), hidden from search. Returns the
        number of rows deleted per table.
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
        values = {**self._patient_values(stub), "search_key": ""}
        self._versioned_update(t.patients, stub, expected_version, values)
        return {name: int(n or 0) for name, n in removed.items()}

    def audit_entries(
        self,
        *,
        user_id: str | None = None,
        patient_id: str | None = None,
        action: str | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        limit: int = 500,
    ) -> list[AuditEntry]:
        stmt = select(t.audit)
        if user_id:
            stmt = stmt.where(t.audit.c.user_id == user_id)
        if patient_id:
            stmt = stmt.where(t.audit.c.patient_id == patient_id)
        if action:
            stmt = stmt.where(t.audit.c.action == action)
        if since:
            stmt = stmt.where(t.audit.c.at >= since)
        if until:
            stmt = stmt.where(t.audit.c.at < until)
        stmt = stmt.order_by(t.audit.c.seq.desc()).limit(limit)
        return [
            AuditEntry(
                seq=row.seq,
                at=_as_utc(row.at) or utcnow(),
                user_id=row.user_id,
                action=row.action,
                entity=row.entity,
                entity_id=row.entity_id,
                patient_id=row.patient_id,
                reason=row.reason,
                before=row.before,
                after=row.after,
                redacted=row.redacted,
            )
            for row in self.conn.execute(stmt)
        ]

    def verify_audit_chain(self, key: bytes, tails: dict[int, str] | None = None) -> AuditChainCheck:
        """Recompute the chain under `key`: (intact, rows checked, first broken seq or None)."""
        rows = self.conn.execute(select(t.audit).order_by(t.audit.c.seq))
        return check_audit_chain((row._asdict() for row in rows), key, tails=tails)

    # --- users ---------------------------------------------------------------------------------
    def get_user(self, user_id: str) -> User | None:
        row = self.conn.execute(select(t.users).where(t.users.c.id == user_id)).first()
        return _user(row) if row else None

    def get_user_by_username(self, username: str) -> User | None:
        row = self.conn.execute(select(t.users).where(t.users.c.username == username)).first()
        return _user(row) if row else None

    def password_hash(self, user_id: str) -> str | None:
        return self.conn.execute(select(t.users.c.password_hash).where(t.users.c.id == user_id)).scalar()

    def users(self) -> list[User]:
        return [_user(row) for row in self.conn.execute(select(t.users).order_by(t.users.c.username))]

    def insert_user(self, user: User, password_hash: str) -> User:
        now = utcnow()
        user_id = user.id or new_id()
        try:
            with self.conn.begin_nested():
                self.conn.execute(
                    insert(t.users).values(
                        id=user_id,
                        version=1,
                        recorded_at=now,
                        updated_at=now,
                        archived=False,
                        username=user.username,
                        display_name=user.display_name,
                        role=user.role,
                        password_hash=password_hash,
                        active=user.active,
                        failed_logins=0,
                        locked_until=None,
                        session_epoch=user.session_epoch,
                        must_change_password=user.must_change_password,
                    )
                )
        except IntegrityError:
            raise DuplicateError(
                "username", "This username is already taken."
            ) from None  # the database error carries the values
        return User(
            id=user_id,
            username=user.username,
            display_name=user.display_name,
            role=user.role,
            active=user.active,
            session_epoch=user.session_epoch,
            must_change_password=user.must_change_password,
        )

    def update_user(self, user: User, *, password_hash: str | None = None) -> User:
        values: dict[str, Any] = {
            "display_name": user.display_name,
            "role": user.role,
            "active": user.active,
            "failed_logins": user.failed_logins,
            "locked_until": user.locked_until,
            "session_epoch": user.session_epoch,
            "must_change_password": user.must_change_password,
            "updated_at": utcnow(),
            "version": t.users.c.version + 1,
        }
        if password_hash is not None:
            values["password_hash"] = password_hash
        self.conn.execute(update(t.users).where(t.users.c.id == user.id).values(**values))
        refreshed = self.get_user(user.id)
        assert refreshed is not None
        return refreshed

    # --- login throttling -----------------------------------------------------------------------
    def get_throttle(self, key: str) -> Throttle | None:
        stmt = select(t.login_throttle).where(t.login_throttle.c.key == key)
        if self.conn.dialect.name == "postgresql":
            stmt = stmt.with_for_update()  # concurrent logins of one account count every failure
        row = self.conn.execute(stmt).first()
        if row is None:
            return None
        return Throttle(
            key=row.key,
            kind=row.kind,
            failures=row.failures,
            last_at=_as_utc(row.last_at) or utcnow(),
            blocked_until=_as_utc(row.blocked_until),
        )

    def put_throttle(self, throttle: Throttle) -> None:
        values = {
            "kind": throttle.kind,
            "failures": throttle.failures,
            "last_at": throttle.last_at,
            "blocked_until": throttle.blocked_until,
        }
        table = t.login_throttle
        done = self.conn.execute(update(table).where(table.c.key == throttle.key).values(**values))
        if done.rowcount:
            return
        try:
            with self.conn.begin_nested():
                self.conn.execute(insert(table).values(key=throttle.key, **values))
        except IntegrityError:  # another process inserted the row meanwhile
            self.conn.execute(update(table).where(table.c.key == throttle.key).values(**values))

    def delete_throttles(
        self, *, keys: Iterable[str] = (), kind: str | None = None, older_than: dt.datetime | None = None
    ) -> int:
        table = t.login_throttle
        removed = 0
        if older_than is not None:  # pruning: rows last touched before `older_than`, no delay running
            stale = (table.c.last_at < older_than) & (
                table.c.blocked_until.is_(None) | (table.c.blocked_until < older_than)
            )
            removed += self.conn.execute(delete(table).where(stale)).rowcount
        if keys := list(keys):
            removed += self.conn.execute(delete(table).where(table.c.key.in_(keys))).rowcount
        if kind is not None:
            removed += self.conn.execute(delete(table).where(table.c.kind == kind)).rowcount
        return removed

    # --- browser login sessions ----------------------------------------------------------------
    def insert_web_session(self, session: WebSession, ticket_sha256: str) -> WebSession:
        session_id = session.id or new_id()
        self.conn.execute(
            insert(t.web_sessions).values(
                id=session_id,
                user_id=session.user_id,
                ticket_sha256=ticket_sha256,
                ticket_expires_at=session.ticket_expires_at,
                ticket_used_at=None,
                token_sha256=None,
                created_at=session.created_at,
                last_seen_at=session.last_seen_at,
                revoked_at=None,
                revoke_reason="",
                session_epoch=session.session_epoch,
            )
        )
        found = self.get_web_session(session_id)
        assert found is not None
        return found

    def _web_session_where(self, condition: ColumnElement[bool]) -> WebSession | None:
        row = self.conn.execute(select(t.web_sessions).where(condition)).first()
        return _web_session(row) if row else None

    def web_session_by_ticket(self, ticket_sha256: str) -> WebSession | None:
        return self._web_session_where(t.web_sessions.c.ticket_sha256 == ticket_sha256)

    def web_session_by_token(self, token_sha256: str) -> WebSession | None:
        return self._web_session_where(t.web_sessions.c.token_sha256 == token_sha256)

    def get_web_session(self, session_id: str) -> WebSession | None:
        return self._web_session_where(t.web_sessions.c.id == session_id)

    def claim_web_session(self, session_id: str, token_sha256: str, at: dt.datetime) -> bool:
        # One UPDATE guarded on "not used, not revoked": of two concurrent claims only one wins.
        c = t.web_sessions.c
        result = self.conn.execute(
            update(t.web_sessions)
            .where(c.id == session_id, c.ticket_used_at.is_(None), c.revoked_at.is_(None))
            .values(ticket_used_at=at, token_sha256=token_sha256, last_seen_at=at)
        )
        return result.rowcount == 1

    def touch_web_session(self, session_id: str, at: dt.datetime) -> None:
        c = t.web_sessions.c
        self.conn.execute(
            update(t.web_sessions).where(c.id == session_id, c.revoked_at.is_(None)).values(last_seen_at=at)
        )

    def revoke_web_session(self, session_id: str, at: dt.datetime, reason: str) -> bool:
        c = t.web_sessions.c
        result = self.conn.execute(
            update(t.web_sessions)
            .where(c.id == session_id, c.revoked_at.is_(None))
            .values(revoked_at=at, revoke_reason=reason[:32])
        )
        return result.rowcount == 1

    # --- handouts ------------------------------------------------------------------------------
    def insert_handout(
        self,
        *,
        patient_id: str,
        recorded_by: str | None,
        pdf: bytes,
        plan: dict[str, Any],
        rule_set_version: str,
        library_version: str,
    ) -> Handout:
        now = utcnow()
        handout_id = new_id()
        digest = hashlib.sha256(pdf).hexdigest()
        self.conn.execute(
            insert(t.handouts).values(
                id=handout_id,
                version=1,
                recorded_at=now,
                updated_at=now,
                recorded_by=recorded_by,
                updated_by=recorded_by,
                archived=False,
                patient_id=patient_id,
                sha256=digest,
                pdf=pdf,
                plan=plan,
                rule_set_version=rule_set_version,
                library_version=library_version,
            )
        )
        return Handout(
            handout_id, patient_id, now, recorded_by, digest, pdf, plan, rule_set_version, library_version
        )

    def handouts(self, patient_id: str) -> list[Handout]:
        stmt = (
            select(t.handouts).where(t.handouts.c.patient_id == patient_id).order_by(t.handouts.c.recorded_at)
        )
        return [
            Handout(
                row.id,
                row.patient_id,
                _as_utc(row.recorded_at) or utcnow(),
                row.recorded_by,
                row.sha256,
                bytes(row.pdf),
                row.plan,
                row.rule_set_version,
                row.library_version,
            )
            for row in self.conn.execute(stmt)
        ]

    # --- letters -------------------------------------------------------------------------------
    def insert_letter(
        self,
        *,
        patient_id: str,
        episode_id: str | None,
        kind: str,
        recipient: str,
        recorded_by: str | None,
        pdf: bytes,
        content: dict[str, Any],
        escalation_ids: Sequence[str] = (),
    ) -> Letter:
        now = utcnow()
        letter = Letter(
            new_id(),
            patient_id,
            episode_id,
            kind,
            recipient,
            now,
            recorded_by,
            hashlib.sha256(pdf).hexdigest(),
            pdf,
            content,
            tuple(escalation_ids),
        )
        self.conn.execute(
            insert(t.letters).values(
                id=letter.id,
                version=1,
                recorded_at=now,
                updated_at=now,
                recorded_by=recorded_by,
                updated_by=recorded_by,
                archived=False,
                patient_id=patient_id,
                episode_id=episode_id,
                kind=kind,
                recipient=recipient,
                sha256=letter.sha256,
                pdf=pdf,
                data={"content": content, "escalation_ids": list(escalation_ids)},
            )
        )
        return letter

    def letters(self, patient_id: str) -> list[Letter]:
        stmt = select(t.letters).where(t.letters.c.patient_id == patient_id).order_by(t.letters.c.recorded_at)
        return [letter_from_row(row) for row in self.conn.execute(stmt)]

    def open_flag_summary(self, *, emergency_limit: int = 20) -> FlagSummary:
        """Counts of open escalations per tier and the EMERGENCY ones, newest first, in two small queries."""
        e, p = t.escalations, t.patients
        live = (e.c.status == "open") & e.c.archived.is_(False) & p.c.archived.is_(False)
        counts = {
            row.tier: row.n
            for row in self.conn.execute(
                select(e.c.tier, func.count().label("n"))
                .select_from(e.join(p, p.c.id == e.c.patient_id))
                .where(live)
                .group_by(e.c.tier)
            )
        }
        emergencies = [
            PinnedEmergency(
                row.rule_id,
                row.patient_id,
                row.patient_ref,
                f"{row.data['given_name']} {row.data['family_name']}",
            )
            for row in self.conn.execute(
                select(e.c.rule_id, e.c.patient_id, p.c.patient_ref, p.c.data)
                .select_from(e.join(p, p.c.id == e.c.patient_id))
                .where(live, e.c.tier == "EMERGENCY")
                # Newest first: the emergency just raised is the one to act on, and the limit keeps it.
                .order_by(e.c.recorded_at.desc(), e.c.id.desc())
                .limit(emergency_limit)
            )
        ]
        return FlagSummary(counts, emergencies)

    # --- caseload ------------------------------------------------------------------------------
    def _summaries(self, patient_ids: list[str] | None) -> list[dict[str, Any]]:
        """The domain's summary of each patient (all patients, or the given ones), as stored rows.

        Two reads (visits, open escalations); the judgements are dashboard.summaries', never SQL's.
        """
        v, e = t.visits, t.escalations
        live: ColumnElement[bool] = v.c.archived.is_(False)
        open_live: ColumnElement[bool] = (e.c.status == "open") & e.c.archived.is_(False)
        if patient_ids is not None:
            live = live & v.c.patient_id.in_(patient_ids)
            open_live = open_live & e.c.patient_id.in_(patient_ids)
            ids = list(dict.fromkeys(patient_ids))
        else:
            ids = list(self.conn.execute(select(t.patients.c.id)).scalars())
        visits: dict[str, list[Visit]] = {}
        open_episodes: set[str] = set()
        # Only the payload keys a summary reads, extracted by the database: no whole payload is decoded.
        walk_keys = [
            key for key in SUMMARY_VISIT_FIELDS if key.startswith("walk_") and key != "walk_protocol"
        ]
        payload = [
            v.c.data["odi_sections"].label("odi_sections"),
            *(v.c.data[key].as_float().label(key) for key in walk_keys if key != "walk_stop_reason"),
            v.c.data["walk_stop_reason"].as_string().label("walk_stop_reason"),
        ]
        stmt = select(
            v.c.patient_id, v.c.visit_date, v.c.recorded_at, v.c.pain_nrs, v.c.walk_protocol, *payload
        ).where(live)
        # The current episode's visits only (the open one, else the latest), as screening reads them
        # (dashboard.services.current_episode_visits, §11.1): a re-referral starts a new baseline.
        ep = t.episodes
        episode_stmt = select(ep.c.patient_id, ep.c.id, ep.c.status).order_by(ep.c.recorded_at, ep.c.id)
        if patient_ids is not None:
            episode_stmt = episode_stmt.where(ep.c.patient_id.in_(patient_ids))
        current: dict[str, str] = {}
        for pid, episode_id, status in self.conn.execute(episode_stmt):
            if current.get(pid) not in open_episodes:
                current[pid] = episode_id
            if status == "open":
                open_episodes.add(episode_id)
        stmt = stmt.add_columns(v.c.episode_id)
        for row in self.conn.execute(stmt):
            if row.episode_id is not None and row.episode_id != current.get(row.patient_id, row.episode_id):
                continue
            values = row._mapping
            visits.setdefault(row.patient_id, []).append(
                summary_visit(row.visit_date, row.recorded_at, values)
            )
        tiers: dict[str, str] = {}
        for pid, tier in self.conn.execute(select(e.c.patient_id, e.c.tier).where(open_live)):
            if TIER_ORDER.get(tier, 0) > TIER_ORDER[tiers.get(pid, "NONE")]:
                tiers[pid] = tier
        known = (
            set(ids)
            if patient_ids is None
            else set(self.conn.execute(select(t.patients.c.id).where(t.patients.c.id.in_(ids))).scalars())
        )
        return [
            patient_summary(pid, visits.get(pid, ()), open_tier=tiers.get(pid, "NONE")).stored()
            for pid in ids
            if pid in known
        ]

    def refresh_summaries(self, patient_ids: list[str] | None = None) -> None:
        """Recompute the caseload summaries of some patients (None: every patient) in this transaction."""
        rows = self._summaries(patient_ids)
        if patient_ids is None:
            self.conn.execute(delete(t.patient_summaries))
        else:
            self.conn.execute(
                delete(t.patient_summaries).where(t.patient_summaries.c.patient_id.in_(patient_ids))
            )
        for chunk in (rows[i : i + 2000] for i in range(0, len(rows), 2000)):
            self.conn.execute(insert(t.patient_summaries), chunk)
        if patient_ids is None:
            self.set_meta("summary_version", SUMMARY_VERSION)

    def caseload_rows(self) -> list[dict[str, Any]]:
        """One row per active patient: details joined to the stored summaries (one indexed read)."""
        p, ps, ep = t.patients, t.patient_summaries, t.episodes
        # Discharged: the patient has episodes and none is open (one indexed lookup each, §11.1).
        has_open = select(ep.c.id).where(ep.c.patient_id == p.c.id, ep.c.status == "open").exists()
        has_any = select(ep.c.id).where(ep.c.patient_id == p.c.id).exists()
        # When the open episode began (its referral date, else its first visit) and the latest discharge:
        # the caseload's "open > 12 weeks" and "discharged this month" (dashboard.trends).
        is_open = (ep.c.patient_id == p.c.id) & (ep.c.status == "open")
        open_referral = select(ep.c.data["referral_date"].as_string()).where(is_open).scalar_subquery()
        v = t.visits
        open_first_visit = (
            select(func.min(v.c.visit_date))
            .select_from(v.join(ep, ep.c.id == v.c.episode_id))
            .where(is_open, v.c.archived.is_(False))
            .scalar_subquery()
        )
        last_discharge = (
            select(func.max(ep.c.discharge_date)).where(ep.c.patient_id == p.c.id).scalar_subquery()
        )
        stmt = (
            select(
                p.c.id,
                p.c.patient_ref,
                # The two name fields, not the whole payload: no patient JSON is decoded in Python
                # (JSON_EXTRACT on SQLite, ->> on PostgreSQL).
                p.c.data["given_name"].as_string().label("given_name"),
                p.c.data["family_name"].as_string().label("family_name"),
                p.c.clinician_id,
                p.c.next_review_date,
                ps.c.patient_id.label("summary_of"),
                *(ps.c[name] for name in STORED_FIELDS if name != "patient_id"),
                has_open.label("has_open_episode"),
                has_any.label("has_episode"),
                open_referral.label("open_referral_date"),
                open_first_visit.label("open_first_visit"),
                last_discharge.label("last_discharge_date"),
            )
            .select_from(p.outerjoin(ps, ps.c.patient_id == p.c.id))
            .where(p.c.archived.is_(False))
        )
        out = []
        for row in self.conn.execute(stmt):
            if row.summary_of is None:  # no summary yet: the domain's summary of no visits
                summary = patient_summary(row.id, ()).stored()
            else:
                summary = dict(zip(STORED_FIELDS, row[6 : 6 + len(STORED_FIELDS)], strict=True))
            n_visits = summary["n_visits"] or 0
            discharged = bool(row.has_episode and not row.has_open_episode)
            out.append(
                {
                    **summary,
                    "patient_id": row.id,
                    "patient_ref": row.patient_ref,
                    "name": f"{row.given_name} {row.family_name}",
                    "clinician_id": row.clinician_id,
                    "next_review_date": row.next_review_date,
                    "n_visits": n_visits,
                    "visit_count": n_visits,
                    "open_tier": summary["open_tier"] or "NONE",
                    "episode_status": "discharged" if discharged else "open",
                    "episode_start": None
                    if discharged
                    else (_as_date(row.open_referral_date) or _as_date(row.open_first_visit)),
                    "discharge_date": _as_date(row.last_discharge_date) if discharged else None,
                }
            )
        return out


def _jsonable(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is None:
        return None
    return json.loads(json.dumps(value, default=str))


class SqlStore:
    """The clinic's database (implements dashboard.ports.Store).

    `clinic_key` seals the audit chain (data.clinic_key); `audit_head_path` is where the head of the
    chain is kept outside the database (data.audit_head), None for no head (an in-memory database).
    """

    def __init__(
        self,
        engine: Engine,
        read_engine: Engine | None = None,
        *,
        clinic_key: bytes,
        audit_head_path: Path | None = None,
    ) -> None:
        self.engine = engine
        self.read_engine = read_engine or engine
        self.clinic_key = clinic_key
        self.audit_head_path = audit_head_path

    @contextmanager
    def transaction(self) -> Iterator[SqlTx]:
        """A write transaction: commits on success, rolls back on any error (StoreBusy if locked out);
        then moves the audit head."""
        with _busy_as_store_busy(), self.engine.begin() as conn:
            tx = SqlTx(conn, self.clinic_key)
            yield tx
        if tx.audit_tail is not None:
            self._advance_audit_head(tx.audit_base, tx.audit_tail)

    @contextmanager
    def read(self) -> Iterator[SqlTx]:
        """A read-only unit of work (rolled back at the end); StoreBusy if locked out."""
        with _busy_as_store_busy(), self.read_engine.connect() as conn:
            yield SqlTx(conn)
            conn.rollback()

    def _advance_audit_head(self, base: AuditHead | None, tail: AuditHead) -> None:
        """Record `tail` (just committed) as the audit head, if it is newer and extends the recorded one.

        Never moves the head back (another process may have recorded a newer row) and never past a
        head that is no longer in the chain: that is evidence of truncation, kept for the verifier.
        A head that cannot be written is logged, not raised: the entries are committed, and a head
        that lags is by design (rows newer than the head are accepted).
        """
        path = self.audit_head_path
        if path is None:
            return
        try:
            with head_lock(path):
                current = read_head(path, self.clinic_key) or AuditHead(0, GENESIS_HASH)
                if current.seq >= tail.seq:
                    return
                if current.seq and current != base:
                    with self.read() as tx:
                        found = tx.conn.execute(
                            select(t.audit.c.hash).where(t.audit.c.seq == current.seq)
                        ).scalar()
                    if found != current.hash:
                        log.warning(
                            "the audit head no longer matches the chain: not moved (run `make verify-audit`)"
                        )
                        return
                write_head(path, self.clinic_key, tail)
        except (OSError, AuditHeadError) as exc:
            log.warning("the audit head could not be recorded (%s)", type(exc).__name__)

    def record_audit_head(self) -> AuditHead:
        """Verify the chain and record its newest row as the head, whatever head was there (admin use).

        For after a deliberate restore of an older backup, or a database moved without its head file.
        Raises RuntimeError when the chain itself is broken: a tampered chain is never re-anchored.
        """
        if self.audit_head_path is None:
            raise RuntimeError("an in-memory database has no audit head")
        tails: dict[int, str] = {}
        with self.read() as tx:
            check = tx.verify_audit_chain(self.clinic_key, tails)
        if not check.intact:
            raise RuntimeError(f"audit chain BROKEN at seq {check.broken}: the head is not moved")
        head = AuditHead(*max(tails.items())) if tails else AuditHead(0, GENESIS_HASH)
        with head_lock(self.audit_head_path):
            write_head(self.audit_head_path, self.clinic_key, head)
        return head

    def check_audit(self) -> AuditVerdict:
        """Check the audit chain under the clinic key and against its head kept outside the database."""
        problem: str | None = None
        head: AuditHead | None = None
        try:
            # The head first: a writer committing meanwhile only adds rows newer than it.
            head = read_head(self.audit_head_path, self.clinic_key)
        except AuditHeadError as exc:
            problem, message = "head not authentic", str(exc)
        tails: dict[int, str] = {}
        with self.read() as tx:
            check = tx.verify_audit_chain(self.clinic_key, tails)
            tail_seq = tx.conn.execute(select(func.max(t.audit.c.seq))).scalar()
        if problem is not None:
            return AuditVerdict(False, check.rows, check.broken, problem, message, None, tail_seq)
        head_seq = head.seq if head else None
        if head is not None and head.seq and (tail_seq is None or tail_seq < head.seq):
            return AuditVerdict(
                False,
                check.rows,
                head.seq,
                "truncated",
                f"audit trail TRUNCATED: it ends at seq {tail_seq or 0}, but seq {head.seq} was committed "
                "(the head kept outside the database): the newest entries were removed",
                head_seq,
                tail_seq,
            )
        if not check.intact:
            return AuditVerdict(
                False,
                check.rows,
                check.broken,
                "broken",
                f"audit chain BROKEN at seq {check.broken}",
                head_seq,
                tail_seq,
            )
        if head is None and tail_seq is not None and self.audit_head_path is not None:
            return AuditVerdict(
                False,
                check.rows,
                check.broken,
                "no head",
                f"no audit head at {self.audit_head_path}: truncation cannot be ruled out",
                None,
                tail_seq,
            )
        if head is not None and head.seq and tails.get(head.seq) != head.hash:
            return AuditVerdict(
                False,
                check.rows,
                head.seq,
                "truncated",
                f"audit trail TRUNCATED: the entry at seq {head.seq} (the head kept outside the database) is "
                "missing or different: entries were removed and others written in their place",
                head_seq,
                tail_seq,
            )
        return AuditVerdict(
            True, check.rows, None, None, f"audit chain intact: {check.rows} rows", head_seq, tail_seq
        )

    def verify_audit(self) -> tuple[bool, int, int | None]:
        """Check the audit chain and its head: (intact, rows, first broken or missing seq)."""
        return self.check_audit().as_tuple()

    @property
    def is_demo(self) -> bool:
        """True when the database was filled by the fictional demo generator."""
        with self.read() as tx:
            return tx.get_meta("demo") == "true"

    def close(self) -> None:
        """Release every pooled connection."""
        self.engine.dispose()
        if self.read_engine is not self.engine:
            self.read_engine.dispose()


def open_store(url: str, *, migrate: bool = True, busy_timeout_s: float | None = None) -> SqlStore:
    """Open the clinic's database at `url`, running migrations under a lock first.

    `busy_timeout_s`: how long SQLite waits for another writer (default: STRIDE_DB_BUSY_TIMEOUT_S, 10 s).
    """
    if url.startswith("sqlite:///"):
        _create_private_file(url.removeprefix("sqlite:///").split("?", 1)[0])
    engine = make_engine(url, busy_timeout_s=busy_timeout_s)
    if migrate:
        from data.migrate import upgrade

        upgrade(engine)
    read_engine = (
        make_engine(url, immediate=False, busy_timeout_s=busy_timeout_s) if url.startswith("sqlite") else None
    )
    # The clinic key and the head live outside the database (see data.clinic_key, data.audit_head).
    store = SqlStore(
        engine, read_engine, clinic_key=load_clinic_key(url), audit_head_path=audit_head_path(url)
    )
    with store.read() as tx:
        stale = tx.get_meta("summary_version") != SUMMARY_VERSION
    if stale:  # a new database, one from before the summaries, or one filled by a bulk import
        with store.transaction() as tx:
            # Several processes may open the store at once: one refreshes, the others find it done.
            if tx.conn.dialect.name == "postgresql":
                tx.conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": SUMMARY_LOCK_KEY})
            if tx.get_meta("summary_version") != SUMMARY_VERSION:
                tx.refresh_summaries()
    return store


__all__ = [
    "AUDIT_HASHED",
    "AUDIT_LOCK_KEY",
    "AuditChainCheck",
    "AuditVerdict",
    "BUSY_TIMEOUT_ENV",
    "DEFAULT_BUSY_TIMEOUT_S",
    "ERASURE_ACTION",
    "GENESIS_HASH",
    "SUMMARY_LOCK_KEY",
    "SqlStore",
    "SqlTx",
    "audit_hash",
    "audit_seal",
    "bookkeeping_from_row",
    "busy_timeout_from_env",
    "check_audit_chain",
    "episode_from_row",
    "escalation_from_row",
    "is_busy_error",
    "letter_from_row",
    "make_engine",
    "new_id",
    "open_store",
    "patient_from_row",
    "payload_sha256",
    "reseal_audit_chain",
    "screening_from_row",
    "search_key",
    "utcnow",
    "visit_columns",
    "visit_from_row",
]
