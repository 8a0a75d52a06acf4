"""Audit redaction for patient erasure: payload digest, redacted flag, re-hashed chain, narrower trigger.

The chain hash used to cover each row's reason, before and after directly, so erasing them broke
the chain. From here it covers `payload_sha256`, the SHA-256 of {reason, before, after}; an erasure
may then drop the payload (redacted true) and the chain still verifies.

Existing rows get their digest, and the whole chain is re-hashed with the new formula in seq order,
but only after it verifies with the old one: a tampered chain is never re-blessed (the upgrade
stops with an error, and nothing changes). The formulas are frozen copies here on purpose: later
changes to data.store must not change what this migration did.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

GENESIS_HASH = "0" * 64

_audit = sa.table(
    "audit",
    sa.column("seq", sa.Integer()),
    sa.column("at", sa.DateTime(timezone=True)),
    sa.column("user_id", sa.String()),
    sa.column("action", sa.String()),
    sa.column("entity", sa.String()),
    sa.column("entity_id", sa.String()),
    sa.column("patient_id", sa.String()),
    sa.column("reason", sa.Text()),
    sa.column("before", sa.JSON()),
    sa.column("after", sa.JSON()),
    sa.column("prev_hash", sa.String()),
    sa.column("hash", sa.String()),
    sa.column("payload_sha256", sa.String()),
    sa.column("redacted", sa.Boolean()),
)

# PostgreSQL: DELETE and TRUNCATE are always refused; an UPDATE only when it is an erasure's
# redaction of a patient's row: redacted false -> true, reason '', before and after NULL, and every
# other column (compared as the whole row minus those four) unchanged.
_TRIGGER_FUNCTION_0003 = """
CREATE OR REPLACE FUNCTION stride_audit_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND OLD.redacted IS FALSE AND NEW.redacted IS TRUE
       AND OLD.patient_id IS NOT NULL
       AND NEW.reason = '' AND NEW.before IS NULL AND NEW.after IS NULL
       AND (to_jsonb(NEW) - ARRAY['reason', 'before', 'after', 'redacted'])
           = (to_jsonb(OLD) - ARRAY['reason', 'before', 'after', 'redacted'])
    THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'the audit trail is append-only (an erasure may only redact a patient''s entries)';
END;
$$ LANGUAGE plpgsql;
"""
_TRIGGER_FUNCTION_0001 = """
CREATE OR REPLACE FUNCTION stride_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only';
END;
$$ LANGUAGE plpgsql;
"""


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def _at(value: dt.datetime) -> str:
    utc = value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
    return utc.replace(tzinfo=None).isoformat(timespec="microseconds")


def hash_0001(prev_hash: str, row: dict[str, Any]) -> str:
    """The chain hash of revisions 0001-0002: reason, before and after hashed directly."""
    canonical = {
        "at": _at(row["at"]),
        **{k: row[k] for k in ("user_id", "action", "entity", "entity_id", "patient_id", "reason")},
        "before": row["before"],
        "after": row["after"],
    }
    return hashlib.sha256((prev_hash + _canonical(canonical)).encode()).hexdigest()


def payload_sha256_0003(row: dict[str, Any]) -> str:
    """The payload digest from revision 0003: SHA-256 of {reason, before, after}."""
    canonical = _canonical({"reason": row["reason"], "before": row["before"], "after": row["after"]})
    return hashlib.sha256(canonical.encode()).hexdigest()


def hash_0003(prev_hash: str, row: dict[str, Any]) -> str:
    """The chain hash from revision 0003: the payload enters through its digest."""
    canonical = {
        "at": _at(row["at"]),
        **{k: row[k] for k in ("user_id", "action", "entity", "entity_id", "patient_id", "payload_sha256")},
    }
    return hashlib.sha256((prev_hash + _canonical(canonical)).encode()).hexdigest()


class AuditChainBrokenError(RuntimeError):
    """The existing chain does not verify: re-hashing it would hide the tampering."""


def _rehash(
    conn: sa.Connection,
    old_hash: Callable[[str, dict[str, Any]], str],
    new_hash: Callable[[str, dict[str, Any]], str],
    digest: Callable[[dict[str, Any]], str | None],
) -> None:
    """Verify every row with `old_hash`, then rewrite digest, prev_hash and hash with `new_hash`."""
    rows = [dict(r._mapping) for r in conn.execute(sa.select(_audit).order_by(_audit.c.seq))]
    prev = GENESIS_HASH
    for row in rows:
        if row["prev_hash"] != prev or row["hash"] != old_hash(prev, row):
            raise AuditChainBrokenError(
                f"audit chain BROKEN at seq {row['seq']}: the upgrade stops here so that re-hashing "
                "does not hide tampering (run `python -m data.audit verify`, investigate, restore a backup)"
            )
        prev = row["hash"]
    updates = []
    prev = GENESIS_HASH
    for row in rows:
        row["payload_sha256"] = digest(row)
        row["hash"] = new_hash(prev, row)
        updates.append(
            {"k_seq": row["seq"], "v_digest": row["payload_sha256"], "v_prev": prev, "v_hash": row["hash"]}
        )
        prev = row["hash"]
    if not updates:
        return
    postgres = conn.dialect.name == "postgresql"
    if postgres:
        op.execute("ALTER TABLE audit DISABLE TRIGGER audit_append_only")
    stmt = (
        sa.update(_audit)
        .where(_audit.c.seq == sa.bindparam("k_seq"))
        .values(
            payload_sha256=sa.bindparam("v_digest"),
            prev_hash=sa.bindparam("v_prev"),
            hash=sa.bindparam("v_hash"),
        )
    )
    for start in range(0, len(updates), 1000):
        conn.execute(stmt, updates[start : start + 1000])
    if postgres:
        op.execute("ALTER TABLE audit ENABLE TRIGGER audit_append_only")


def upgrade() -> None:
    with op.batch_alter_table("audit", schema=None) as batch_op:
        batch_op.add_column(sa.Column("payload_sha256", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("redacted", sa.Boolean(), nullable=False, server_default=sa.false()))
    conn = op.get_bind()
    _rehash(conn, hash_0001, hash_0003, payload_sha256_0003)
    if conn.dialect.name == "postgresql":
        op.execute(_TRIGGER_FUNCTION_0003)


def downgrade() -> None:
    conn = op.get_bind()
    redacted = conn.execute(
        sa.select(sa.func.count()).select_from(_audit).where(_audit.c.redacted.is_(True))
    ).scalar()
    if redacted:
        raise RuntimeError(
            f"{redacted} audit entries were redacted by patient erasure: the old chain formula "
            "cannot cover them, so this database cannot go back before revision 0003"
        )
    if conn.dialect.name == "postgresql":
        op.execute(_TRIGGER_FUNCTION_0001)

    def checked_0003(prev_hash: str, row: dict[str, Any]) -> str:
        intact = row["payload_sha256"] == payload_sha256_0003(row)
        return hash_0003(prev_hash, row) if intact else ""

    _rehash(conn, checked_0003, hash_0001, lambda _row: None)
    with op.batch_alter_table("audit", schema=None) as batch_op:
        batch_op.drop_column("redacted")
        batch_op.drop_column("payload_sha256")
