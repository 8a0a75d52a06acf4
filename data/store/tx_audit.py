"""Transaction methods for revisions and the audit trail: appending a sealed entry, listing and
verifying entries, redacting a patient's entries on erasure (the _Audit part of SqlTx)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict
from typing import Any

from sqlalchemy import bindparam, func, insert, null, select, text, update

from dashboard.ports import AuditEntry, Revision
from data import tables as t
from data.audit_head import AuditHead
from data.store.chain import (
    GENESIS_HASH,
    AuditChainCheck,
    audit_hash,
    audit_seal,
    check_audit_chain,
    payload_sha256,
)
from data.store.rows import _as_utc, fields_from_row, new_id, utcnow
from data.store.tx_base import _TxBase

# One advisory-lock key for the audit chain on PostgreSQL: appends are serialised so the chain stays linear.
AUDIT_LOCK_KEY = 7_310_001


def _jsonable(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is None:
        return None
    return json.loads(json.dumps(value, default=str))


class _Audit(_TxBase):
    """Revisions and the audit trail."""

    # --- revisions and audit -------------------------------------------------------------------
    def insert_revision(self, revision: Revision, patient_id: str | None) -> None:
        self.conn.execute(insert(t.revisions).values(id=new_id(), patient_id=patient_id, **asdict(revision)))

    def revisions(self, entity: str, entity_id: str) -> list[Revision]:
        stmt = (
            select(t.revisions)
            .where(t.revisions.c.entity == entity, t.revisions.c.entity_id == entity_id)
            .order_by(t.revisions.c.version)
        )
        return [
            Revision(**fields_from_row(row, Revision, changed_at=_as_utc(row.changed_at) or utcnow()))
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
        at_commit: bool = True,
    ) -> int:
        """Append one entry to the audit chain (HMAC-sealed with the clinic key); returns its seq, or 0
        on PostgreSQL while it waits for the commit (`at_commit`; pass False for a seq needed now).

        On PostgreSQL a transaction's entries are queued, then chained and written in their order just
        before it commits (flush_audit): the chain's advisory lock, which serialises every audited
        action of every process, is held for that writing alone, not through the rest of the use case
        (screening, summaries). SQLite's write lock is the whole transaction's anyway: written at once.
        An entry written at once follows the entries queued before it, so the chain keeps their order."""
        if not self.clinic_key:
            raise RuntimeError("audit entries are written only in a store transaction")
        entry = {
            "user_id": user_id,
            "action": action,
            "entity": entity,
            "entity_id": entity_id,
            "patient_id": patient_id,
            "reason": reason,
            "before": _jsonable(before),
            "after": _jsonable(after),
        }
        if at_commit and self.conn.dialect.name == "postgresql":
            self.audit_queue.append(entry)
            return 0
        self.flush_audit()
        return self._chain_audit([entry])

    def flush_audit(self) -> int:
        """Write the transaction's queued audit entries to the chain, in order; the last seq (0: none)."""
        queued, self.audit_queue = self.audit_queue, []
        return self._chain_audit(queued) if queued else 0

    def _chain_audit(self, entries: list[dict[str, Any]]) -> int:
        postgres = self.conn.dialect.name == "postgresql"
        if postgres:
            self.conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": AUDIT_LOCK_KEY})
        last = self.conn.execute(
            select(t.audit.c.seq, t.audit.c.hash).order_by(t.audit.c.seq.desc()).limit(1)
        ).first()
        prev_seq, prev_hash = (last.seq, last.hash) if last else (0, GENESIS_HASH)
        if self.audit_base is None:
            self.audit_base = AuditHead(prev_seq, prev_hash)
        for entry in entries:
            # The seq is part of what is sealed, so it is chosen before the insert (under the write lock).
            if postgres:
                seq = int(
                    self.conn.execute(
                        text("SELECT nextval(pg_get_serial_sequence('audit', 'seq'))")
                    ).scalar_one()
                )
            else:
                seq = prev_seq + 1
            row = {
                "seq": seq,
                "at": utcnow(),
                **entry,
                "payload_sha256": payload_sha256(entry["reason"], entry["before"], entry["after"]),
                "redacted": False,
                "redacted_by": None,
                "prev_hash": prev_hash,
            }
            row["hash"] = audit_hash(self.clinic_key, prev_hash, row)
            row["seal"] = audit_seal(self.clinic_key, row)
            self.conn.execute(insert(t.audit).values(**row))
            prev_seq, prev_hash = seq, row["hash"]
        self.audit_tail = AuditHead(prev_seq, prev_hash)
        return prev_seq

    def count_audit_to_redact(self, patient_id: str) -> int:
        """How many audit entries about a patient still carry their payload (an erasure will redact them)."""
        self.flush_audit()  # this transaction's own entries count too
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
        self.flush_audit()
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
        """The audit entries that match, newest first (this transaction's queued ones written first)."""
        self.flush_audit()
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
            AuditEntry(**fields_from_row(row, AuditEntry, at=_as_utc(row.at) or utcnow()))
            for row in self.conn.execute(stmt)
        ]

    def verify_audit_chain(self, key: bytes, tails: dict[int, str] | None = None) -> AuditChainCheck:
        """Recompute the chain under `key`: (intact, rows checked, first broken seq or None)."""
        self.flush_audit()
        rows = self.conn.execute(select(t.audit).order_by(t.audit.c.seq))
        return check_audit_chain((row._asdict() for row in rows), key, tails=tails)
