"""Transaction methods for the patient's own voice: invites, check-in reports and the walking diary
(the _PatientReported part of SqlTx; clinical-reference §12).

Each record's columns are its dataclass's fields. The single-use claim, the identity-failure count and
the revocation are each one guarded UPDATE, so two browser tabs (or a double submit) cannot both win.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from sqlalchemy import Table, insert, select, update

from dashboard.patient_reported import DiaryEntry, Invite, PatientReport
from dashboard.ports import StaleRecordError
from data import tables as t
from data.store.rows import _as_utc, fields_from_row, new_id, utcnow
from data.store.tx_base import _TxBase

Record = TypeVar("Record", Invite, PatientReport, DiaryEntry)


def _reader(record_type: type[Record]) -> Callable[[Any], Record]:
    """Read a row into its record; stored times come back in UTC (SQLite keeps them naive)."""

    def read(row: Any) -> Record:
        values: dict[str, Any] = fields_from_row(row, record_type)
        read_back: dict[str, Any] = {
            k: _as_utc(v) if isinstance(v, dt.datetime) else v for k, v in values.items()
        }
        return record_type(**read_back)

    return read


_invite, _report, _diary = _reader(Invite), _reader(PatientReport), _reader(DiaryEntry)


class _PatientReported(_TxBase):
    """Invites, patient reports and diary entries."""

    def _insert(self, table: Table, record: Record, **extra: Any) -> str:
        record_id = record.id or new_id()
        values = {**dataclasses.asdict(record), **extra, "id": record_id}
        self.conn.execute(insert(table).values(**values))
        return record_id

    # --- invites -------------------------------------------------------------------------------
    def insert_invite(self, invite: Invite) -> Invite:
        fresh = dataclasses.replace(invite, used_at=None, revoked_at=None, failed_identity_attempts=0)
        found = self.get_invite(self._insert(t.invites, fresh))
        assert found is not None
        return found

    def get_invite(self, invite_id: str) -> Invite | None:
        return self._first(t.invites, t.invites.c.id == invite_id, _invite)

    def invite_by_hash(self, token_hash: str) -> Invite | None:
        return self._first(t.invites, t.invites.c.token_hash == token_hash, _invite)

    def invites(self, patient_id: str) -> list[Invite]:
        stmt = select(t.invites).where(t.invites.c.patient_id == patient_id).order_by(t.invites.c.created_at)
        return [_invite(row) for row in self.conn.execute(stmt)]

    def record_identity_failure(self, invite_id: str) -> int:
        c = t.invites.c
        self.conn.execute(
            update(t.invites)
            .where(c.id == invite_id)
            .values(failed_identity_attempts=c.failed_identity_attempts + 1)
        )
        count = self.conn.execute(select(c.failed_identity_attempts).where(c.id == invite_id)).scalar()
        return int(count or 0)

    def use_invite(self, invite_id: str, at: dt.datetime) -> bool:
        # Guarded on "not used, not revoked": of two submits of one check-in only the first wins.
        c = t.invites.c
        guarded = update(t.invites).where(c.id == invite_id, c.used_at.is_(None), c.revoked_at.is_(None))
        return self.conn.execute(guarded.values(used_at=at)).rowcount == 1

    def revoke_invite(self, invite_id: str, at: dt.datetime) -> bool:
        c = t.invites.c
        guarded = update(t.invites).where(c.id == invite_id, c.revoked_at.is_(None))
        return self.conn.execute(guarded.values(revoked_at=at)).rowcount == 1

    # --- check-in reports ----------------------------------------------------------------------
    def insert_patient_report(self, report: PatientReport) -> PatientReport:
        unreviewed = dataclasses.replace(report, answers=dict(report.answers), reviewed_visit_id=None)
        return dataclasses.replace(unreviewed, id=self._insert(t.patient_reports, unreviewed))

    def patient_reports(self, patient_id: str) -> list[PatientReport]:
        c = t.patient_reports.c
        stmt = select(t.patient_reports).where(c.patient_id == patient_id).order_by(c.submitted_at)
        return [_report(row) for row in self.conn.execute(stmt)]

    def mark_report_reviewed(self, report_id: str, visit_id: str) -> bool:
        # A report is reviewed once; the first visit that confirmed it keeps the link.
        c = t.patient_reports.c
        guarded = update(t.patient_reports).where(c.id == report_id, c.reviewed_visit_id.is_(None))
        return self.conn.execute(guarded.values(reviewed_visit_id=visit_id)).rowcount == 1

    # --- walking diary -------------------------------------------------------------------------
    def insert_diary_entry(self, entry: DiaryEntry) -> DiaryEntry:
        now = utcnow()
        first = dataclasses.replace(entry, version=1, recorded_at=now)
        return self._diary_entry(self._insert(t.diary_entries, first, updated_at=now))

    def _diary_entry(self, entry_id: str) -> DiaryEntry:
        found = self._first(t.diary_entries, t.diary_entries.c.id == entry_id, _diary)
        assert found is not None
        return found

    def add_next_morning_pain(self, entry_id: str, pain_nrs: int, expected_version: int) -> DiaryEntry:
        c = t.diary_entries.c
        result = self.conn.execute(
            update(t.diary_entries)
            .where(c.id == entry_id, c.version == expected_version)
            .values(pain_next_morning_nrs=pain_nrs, version=expected_version + 1, updated_at=utcnow())
        )
        if result.rowcount != 1:
            raise StaleRecordError("diary entry", None, None)
        return self._diary_entry(entry_id)

    def diary_entries(self, patient_id: str, episode_id: str | None = None) -> list[DiaryEntry]:
        c = t.diary_entries.c
        stmt = select(t.diary_entries).where(c.patient_id == patient_id)
        if episode_id is not None:
            stmt = stmt.where(c.episode_id == episode_id)
        return [_diary(row) for row in self.conn.execute(stmt.order_by(c.walk_date, c.recorded_at))]

    def delete_patient_reported(self, patient_id: str) -> Mapping[str, int]:
        """Erasure: every invite, report and diary entry of a patient (children first)."""
        tables = (t.diary_entries, t.patient_reports, t.invites)
        return {
            table.name: self.conn.execute(table.delete().where(table.c.patient_id == patient_id)).rowcount
            for table in tables
        }
