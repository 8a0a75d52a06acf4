"""Transaction methods for what a visit leads to: screenings and escalations, handouts and letters,
and the open-flag summary (the _Records part of SqlTx)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from sqlalchemy import func, insert, select

from dashboard.models import BOOKKEEPING_FIELDS, Escalation, Screening
from dashboard.ports import FlagSummary, Handout, Letter, PinnedEmergency
from data import tables as t
from data.store.rows import (
    _as_utc,
    escalation_from_row,
    fields_from_row,
    first_version,
    letter_from_row,
    new_id,
    screening_from_row,
    utcnow,
)
from data.store.tx_base import _TxBase


class _Records(_TxBase):
    """Screenings, escalations, handouts, letters and the open-flag summary."""

    # --- screenings and escalations ------------------------------------------------------------
    def _screening_row(self, screening: Screening) -> dict[str, Any]:
        """A screening's whole row: a first version's bookkeeping, its columns and its payload."""
        return {
            **self._new_row(screening),
            "patient_id": screening.patient_id,
            "visit_id": screening.visit_id,
            "urgency": screening.urgency,
            "rule_set_version": screening.rule_set_version,
            "data": screening.clinical_dict(),
        }

    def insert_screening(self, screening: Screening) -> Screening:
        row = self._screening_row(screening)
        self.conn.execute(insert(t.screenings).values(**row))
        return screening.model_copy(update={name: row[name] for name in BOOKKEEPING_FIELDS})

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
        digest = hashlib.sha256(pdf).hexdigest()
        handout = Handout(
            new_id(), patient_id, now, recorded_by, digest, pdf, plan, rule_set_version, library_version
        )
        # Every field of a handout is a column of its row.
        self.conn.execute(
            insert(t.handouts).values({**asdict(handout), **first_version(handout.id, recorded_by, now)})
        )
        return handout

    def handouts(self, patient_id: str) -> list[Handout]:
        stmt = (
            select(t.handouts).where(t.handouts.c.patient_id == patient_id).order_by(t.handouts.c.recorded_at)
        )
        return [
            Handout(
                **fields_from_row(
                    row, Handout, recorded_at=_as_utc(row.recorded_at) or utcnow(), pdf=bytes(row.pdf)
                )
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
        row = {**asdict(letter), **first_version(letter.id, recorded_by, now)}
        # The content as printed and the escalations the letter closed are the row's payload.
        row["data"] = {"content": row.pop("content"), "escalation_ids": list(row.pop("escalation_ids"))}
        self.conn.execute(insert(t.letters).values(row))
        return letter

    def letters(self, patient_id: str) -> list[Letter]:
        stmt = select(t.letters).where(t.letters.c.patient_id == patient_id).order_by(t.letters.c.recorded_at)
        return [letter_from_row(row) for row in self.conn.execute(stmt)]

    def open_flag_summary(self, *, emergency_limit: int = 20) -> FlagSummary:
        """Counts of open escalations per tier and the EMERGENCY ones, newest first, in two small queries."""
        e, p = t.escalations, t.patients
        live = (e.c.status == "open") & e.c.archived.is_(False) & p.c.archived.is_(False)
        # Counted from ix_escalations_open alone, less the archived patients' (few, from
        # ix_patients_caseload): no patient row is read per open flag.
        archived = select(p.c.id).where(p.c.archived.is_(True))
        counts = {
            row.tier: row.n
            for row in self.conn.execute(
                select(e.c.tier, func.count().label("n"))
                .where(e.c.status == "open", e.c.archived.is_(False), e.c.patient_id.not_in(archived))
                .group_by(e.c.tier)
            )
        }
        emergencies = [
            PinnedEmergency(
                row.rule_id,
                row.patient_id,
                row.patient_ref,
                f"{row.data['given_name']} {row.data['family_name']}",
                (row.escalation or {}).get("source") == "patient",
            )
            for row in self.conn.execute(
                select(e.c.rule_id, e.c.patient_id, p.c.patient_ref, p.c.data, e.c.data.label("escalation"))
                .select_from(e.join(p, p.c.id == e.c.patient_id))
                .where(live, e.c.tier == "EMERGENCY")
                # Newest first: the emergency just raised is the one to act on, and the limit keeps it.
                .order_by(e.c.recorded_at.desc(), e.c.id.desc())
                .limit(emergency_limit)
            )
        ]
        return FlagSummary(counts, emergencies)
