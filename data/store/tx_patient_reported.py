"""Transaction methods for the patient's own voice: invites, check-in reports and the walking diary
(the _PatientReported part of SqlTx; clinical-reference §12).

The single-use claim, the identity-failure count and the revocation are each one guarded UPDATE, so
two browser tabs (or a double submit) cannot both succeed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import insert, select, update

from dashboard.patient_reported import DiaryEntry, Invite, PatientReport
from dashboard.ports import StaleRecordError
from data import tables as t
from data.store.rows import _as_date, _as_utc, new_id, utcnow
from data.store.tx_base import _TxBase


def _invite(row: Any) -> Invite:
    created_at, expires_at = _as_utc(row.created_at), _as_utc(row.expires_at)
    assert created_at is not None and expires_at is not None  # NOT NULL columns
    return Invite(
        id=row.id,
        patient_id=row.patient_id,
        episode_id=row.episode_id,
        kind=row.kind,
        token_hash=row.token_sha256,
        created_at=created_at,
        expires_at=expires_at,
        created_by=row.created_by,
        used_at=_as_utc(row.used_at),
        revoked_at=_as_utc(row.revoked_at),
        failed_identity_attempts=row.failed_identity_attempts,
    )


def _report(row: Any) -> PatientReport:
    submitted_at = _as_utc(row.submitted_at)
    assert submitted_at is not None
    return PatientReport(
        id=row.id,
        invite_id=row.invite_id,
        patient_id=row.patient_id,
        episode_id=row.episode_id,
        submitted_at=submitted_at,
        answers=dict(row.answers),
        urgency=row.urgency,
        reviewed_visit_id=row.reviewed_visit_id,
    )


def _diary(row: Any) -> DiaryEntry:
    walk_date = _as_date(row.walk_date)
    assert walk_date is not None
    return DiaryEntry(
        walk_date=walk_date,
        walked_min=row.walked_min,
        symptom_onset_min=row.symptom_onset_min,
        pain_before_nrs=row.pain_before_nrs,
        pain_during_nrs=row.pain_during_nrs,
        pain_next_morning_nrs=row.pain_next_morning_nrs,
        id=row.id,
        invite_id=row.invite_id,
        patient_id=row.patient_id,
        episode_id=row.episode_id,
        recorded_at=_as_utc(row.recorded_at),
        version=row.version,
    )


class _PatientReported(_TxBase):
    """Invites, patient reports and diary entries."""

    # --- invites -------------------------------------------------------------------------------
    def insert_invite(self, invite: Invite) -> Invite:
        invite_id = invite.id or new_id()
        self.conn.execute(
            insert(t.invites).values(
                id=invite_id,
                patient_id=invite.patient_id,
                episode_id=invite.episode_id,
                kind=invite.kind,
                token_sha256=invite.token_hash,
                created_at=invite.created_at,
                created_by=invite.created_by,
                expires_at=invite.expires_at,
                used_at=None,
                revoked_at=None,
                failed_identity_attempts=0,
            )
        )
        found = self.get_invite(invite_id)
        assert found is not None
        return found

    def get_invite(self, invite_id: str) -> Invite | None:
        row = self.conn.execute(select(t.invites).where(t.invites.c.id == invite_id)).first()
        return _invite(row) if row else None

    def invite_by_hash(self, token_hash: str) -> Invite | None:
        row = self.conn.execute(select(t.invites).where(t.invites.c.token_sha256 == token_hash)).first()
        return _invite(row) if row else None

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
        result = self.conn.execute(
            update(t.invites)
            .where(c.id == invite_id, c.used_at.is_(None), c.revoked_at.is_(None))
            .values(used_at=at)
        )
        return result.rowcount == 1

    def revoke_invite(self, invite_id: str, at: dt.datetime) -> bool:
        c = t.invites.c
        result = self.conn.execute(
            update(t.invites).where(c.id == invite_id, c.revoked_at.is_(None)).values(revoked_at=at)
        )
        return result.rowcount == 1

    # --- check-in reports ----------------------------------------------------------------------
    def insert_patient_report(self, report: PatientReport) -> PatientReport:
        report_id = report.id or new_id()
        self.conn.execute(
            insert(t.patient_reports).values(
                id=report_id,
                invite_id=report.invite_id,
                patient_id=report.patient_id,
                episode_id=report.episode_id,
                submitted_at=report.submitted_at,
                answers=dict(report.answers),
                urgency=report.urgency,
                reviewed_visit_id=None,
            )
        )
        return PatientReport(
            report_id,
            report.invite_id,
            report.patient_id,
            report.episode_id,
            report.submitted_at,
            dict(report.answers),
            report.urgency,
        )

    def patient_reports(self, patient_id: str) -> list[PatientReport]:
        c = t.patient_reports.c
        stmt = select(t.patient_reports).where(c.patient_id == patient_id).order_by(c.submitted_at)
        return [_report(row) for row in self.conn.execute(stmt)]

    def mark_report_reviewed(self, report_id: str, visit_id: str) -> bool:
        # A report is reviewed once; the first visit that confirmed it keeps the link.
        c = t.patient_reports.c
        result = self.conn.execute(
            update(t.patient_reports)
            .where(c.id == report_id, c.reviewed_visit_id.is_(None))
            .values(reviewed_visit_id=visit_id)
        )
        return result.rowcount == 1

    # --- walking diary -------------------------------------------------------------------------
    def insert_diary_entry(self, entry: DiaryEntry) -> DiaryEntry:
        now = utcnow()
        entry_id = entry.id or new_id()
        self.conn.execute(
            insert(t.diary_entries).values(
                id=entry_id,
                version=1,
                invite_id=entry.invite_id,
                patient_id=entry.patient_id,
                episode_id=entry.episode_id,
                walk_date=entry.walk_date,
                walked_min=entry.walked_min,
                symptom_onset_min=entry.symptom_onset_min,
                pain_before_nrs=entry.pain_before_nrs,
                pain_during_nrs=entry.pain_during_nrs,
                pain_next_morning_nrs=entry.pain_next_morning_nrs,
                recorded_at=now,
                updated_at=now,
            )
        )
        return self._diary_entry(entry_id)

    def _diary_entry(self, entry_id: str) -> DiaryEntry:
        row = self.conn.execute(select(t.diary_entries).where(t.diary_entries.c.id == entry_id)).one()
        return _diary(row)

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
        counts = {}
        for table in (t.diary_entries, t.patient_reports, t.invites):
            counts[table.name] = self.conn.execute(
                table.delete().where(table.c.patient_id == patient_id)
            ).rowcount
        return counts
