"""Keyed audit chain: HMAC-SHA256 under the clinic key, sealed redactions, SQLite triggers, the head.

Until 0003 the chain hash was a public SHA-256 formula: anyone able to write to the database could
re-hash the whole chain, fake a redaction (the `redacted` flag was not covered) or delete the newest
rows, and it still verified. From here:

- `hash` is the HMAC-SHA256, under the clinic key (data.clinic_key, kept outside the database), of
  the previous hash, the seq, `at`, who, what and the payload digest;
- a redacted row points (`redacted_by`) to the "patient.erase" entry that redacted it, and `seal`,
  the HMAC of (hash, redacted, redacted_by), authenticates that state;
- SQLite gets the append-only triggers PostgreSQL has had since 0001, with the same one exception
  (an erasure's redaction, pointing to an existing erasure entry about the same patient); the
  PostgreSQL trigger function learns the two new columns and the same pointer check;
- the head of the chain (seq and hash of the newest row) is written outside the database
  (data.audit_head), so the verifier sees rows removed from the end.

Existing rows are re-sealed in seq order, but only after the chain verifies with the 0003 formula
and every redacted row has an erasure entry after it: a tampered chain is never re-blessed (the
upgrade stops with an error, and nothing changes). The formulas are frozen copies here on purpose.
The head is written before the migration's transaction commits: if the upgrade then fails, the
database stays at 0003, where no head is read, and the next upgrade writes it again.

No downgrade: going back would give up the key's protection; restore the copy data.migrate made
before the upgrade (SQLite: <database>.before-<head>.bak) or a backup instead.

Revision ID: 0005
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from typing import Any

import sqlalchemy as sa
from alembic import op

from data.audit_head import AuditHead, audit_head_path, head_lock, write_head
from data.clinic_key import load_clinic_key

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

GENESIS_HASH = "0" * 64
ERASURE_ACTION = "patient.erase"

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
    sa.column("redacted_by", sa.Integer()),
    sa.column("seal", sa.String()),
)

_APPEND_ONLY = "the audit trail is append-only (an erasure may only redact a patient''s entries)"

# PostgreSQL: DELETE and TRUNCATE are always refused; an UPDATE only when it is an erasure's
# redaction of a patient's row: redacted false -> true, reason '', before and after NULL,
# redacted_by naming a later "patient.erase" entry about the same patient, a new seal, and every
# other column (compared as the whole row minus those six) unchanged.
_TRIGGER_FUNCTION_0005 = f"""
CREATE OR REPLACE FUNCTION stride_audit_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND OLD.redacted IS FALSE AND NEW.redacted IS TRUE
       AND OLD.patient_id IS NOT NULL
       AND NEW.reason = '' AND NEW.before IS NULL AND NEW.after IS NULL
       AND OLD.redacted_by IS NULL AND NEW.redacted_by > OLD.seq
       AND NEW.seal IS NOT NULL
       AND EXISTS (SELECT 1 FROM audit e WHERE e.seq = NEW.redacted_by
                   AND e.action = '{ERASURE_ACTION}' AND e.patient_id = OLD.patient_id)
       AND (to_jsonb(NEW) - ARRAY['reason', 'before', 'after', 'redacted', 'redacted_by', 'seal'])
           = (to_jsonb(OLD) - ARRAY['reason', 'before', 'after', 'redacted', 'redacted_by', 'seal'])
    THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION '{_APPEND_ONLY}';
END;
$$ LANGUAGE plpgsql;
"""

# SQLite: the same rule as two triggers (SQLite has no TRUNCATE; a DELETE trigger also stops the
# truncate optimisation of a DELETE without WHERE).
_UNCHANGED = " AND ".join(
    f"NEW.{c} IS OLD.{c}"
    for c in (
        "seq",
        "at",
        "user_id",
        "action",
        "entity",
        "entity_id",
        "patient_id",
        "prev_hash",
        "hash",
        "payload_sha256",
    )
)
_SQLITE_TRIGGERS = (
    f"""
CREATE TRIGGER audit_append_only_update BEFORE UPDATE ON audit FOR EACH ROW
WHEN NOT (
    OLD.redacted = 0 AND NEW.redacted = 1
    AND OLD.patient_id IS NOT NULL
    AND NEW.reason = '' AND NEW.before IS NULL AND NEW.after IS NULL
    AND OLD.redacted_by IS NULL AND NEW.redacted_by > OLD.seq
    AND NEW.seal IS NOT NULL
    AND EXISTS (SELECT 1 FROM audit e WHERE e.seq = NEW.redacted_by
                AND e.action = '{ERASURE_ACTION}' AND e.patient_id = OLD.patient_id)
    AND {_UNCHANGED}
)
BEGIN
    SELECT RAISE(ABORT, '{_APPEND_ONLY}');
END
""",
    """
CREATE TRIGGER audit_append_only_delete BEFORE DELETE ON audit FOR EACH ROW
BEGIN
    SELECT RAISE(ABORT, 'the audit trail is append-only');
END
""",
)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def _at(value: dt.datetime) -> str:
    utc = value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
    return utc.replace(tzinfo=None).isoformat(timespec="microseconds")


def payload_sha256_0003(row: dict[str, Any]) -> str:
    """The payload digest from revision 0003: SHA-256 of {reason, before, after}."""
    canonical = _canonical({"reason": row["reason"], "before": row["before"], "after": row["after"]})
    return hashlib.sha256(canonical.encode()).hexdigest()


def hash_0003(prev_hash: str, row: dict[str, Any]) -> str:
    """The public chain hash of revision 0003."""
    canonical = {
        "at": _at(row["at"]),
        **{k: row[k] for k in ("user_id", "action", "entity", "entity_id", "patient_id", "payload_sha256")},
    }
    return hashlib.sha256((prev_hash + _canonical(canonical)).encode()).hexdigest()


def hash_0005(key: bytes, prev_hash: str, row: dict[str, Any]) -> str:
    """The keyed chain hash from revision 0005 (data.store.audit_hash)."""
    canonical = {
        "at": _at(row["at"]),
        **{
            k: row[k]
            for k in ("seq", "user_id", "action", "entity", "entity_id", "patient_id", "payload_sha256")
        },
    }
    message = f"stride-audit-row:v1\n{prev_hash}\n{_canonical(canonical)}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def seal_0005(key: bytes, row: dict[str, Any]) -> str:
    """The seal of a row's redaction state from revision 0005 (data.store.audit_seal)."""
    state = {"hash": row["hash"], "redacted": bool(row["redacted"]), "redacted_by": row["redacted_by"]}
    message = f"stride-audit-seal:v1\n{_canonical(state)}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


class AuditChainBrokenError(RuntimeError):
    """The existing chain does not verify: re-sealing it would hide the tampering."""


def _broken(seq: int, why: str) -> AuditChainBrokenError:
    return AuditChainBrokenError(
        f"audit chain BROKEN at seq {seq} ({why}): the upgrade stops here so that re-sealing does not "
        "hide tampering (run `python -m data.audit verify` with the previous version, investigate, "
        "restore a backup)"
    )


def _verified_0003(rows: list[dict[str, Any]]) -> None:
    """Check the 0003 chain and give every redacted row the erasure entry that redacted it."""
    prev = GENESIS_HASH
    for row in rows:
        if row["redacted"]:
            shape = row["reason"] == "" and row["before"] is None and row["after"] is None
            payload_ok = shape and row["patient_id"] is not None and bool(row["payload_sha256"])
        else:
            payload_ok = row["payload_sha256"] == payload_sha256_0003(row)
        if not payload_ok or row["prev_hash"] != prev or row["hash"] != hash_0003(prev, row):
            raise _broken(row["seq"], "the 0003 hash does not match")
        prev = row["hash"]
    erasures: dict[str, list[int]] = {}
    for row in rows:
        if row["action"] == ERASURE_ACTION and not row["redacted"] and row["patient_id"]:
            erasures.setdefault(row["patient_id"], []).append(row["seq"])
    for row in rows:
        if row["redacted"]:
            later = [seq for seq in erasures.get(row["patient_id"], []) if seq > row["seq"]]
            if not later:
                raise _broken(row["seq"], "a redacted entry without a later erasure entry")
            row["redacted_by"] = later[0]


def upgrade() -> None:
    with op.batch_alter_table("audit", schema=None) as batch_op:
        batch_op.add_column(sa.Column("redacted_by", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("seal", sa.String(length=64), nullable=True))
    conn = op.get_bind()
    url = conn.engine.url.render_as_string(hide_password=False)
    key = load_clinic_key(url)
    rows = [dict(r._mapping) for r in conn.execute(sa.select(_audit).order_by(_audit.c.seq))]
    _verified_0003(rows)
    prev = GENESIS_HASH
    updates = []
    for row in rows:
        row["prev_hash"] = prev
        row["hash"] = hash_0005(key, prev, row)
        row["seal"] = seal_0005(key, row)
        updates.append(
            {
                "k_seq": row["seq"],
                "v_prev": prev,
                "v_hash": row["hash"],
                "v_by": row["redacted_by"],
                "v_seal": row["seal"],
            }
        )
        prev = row["hash"]
    postgres = conn.dialect.name == "postgresql"
    if updates:
        if postgres:
            op.execute("ALTER TABLE audit DISABLE TRIGGER audit_append_only")
        stmt = (
            sa.update(_audit)
            .where(_audit.c.seq == sa.bindparam("k_seq"))
            .values(
                prev_hash=sa.bindparam("v_prev"),
                hash=sa.bindparam("v_hash"),
                redacted_by=sa.bindparam("v_by"),
                seal=sa.bindparam("v_seal"),
            )
        )
        for start in range(0, len(updates), 1000):
            conn.execute(stmt, updates[start : start + 1000])
        if postgres:
            op.execute("ALTER TABLE audit ENABLE TRIGGER audit_append_only")
    if postgres:
        op.execute(_TRIGGER_FUNCTION_0005)
    else:
        for trigger in _SQLITE_TRIGGERS:
            op.execute(trigger)
    head_path = audit_head_path(url)
    if head_path is not None:
        head = AuditHead(rows[-1]["seq"], rows[-1]["hash"]) if rows else AuditHead(0, GENESIS_HASH)
        with head_lock(head_path):
            write_head(head_path, key, head)


def downgrade() -> None:
    raise RuntimeError(
        "revision 0005 cannot be downgraded: the old chain formula would give up the clinic key's "
        "protection. Restore the copy made before the upgrade, or a backup, instead."
    )
