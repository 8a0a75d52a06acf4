"""Everything of the clinic export that touches the audit trail, in one place.

audit.json holds every row with seq, prev_hash, hash, payload_sha256 and redacted (an erased
patient's entries keep their place in the chain without their payload). On import the chain is
checked with the store's own check and kept as it is, hashes and all; the import's own entry
("clinic.import") is chained after the imported rows. Exports are audited after their snapshot, so
an export never contains its own entry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, text

from dashboard.ports import User
from data import tables
from data.store import AUDIT_LOCK_KEY, SqlStore, check_audit_chain, reseal_audit_chain
from data.transfer.codec import format_timestamp
from data.transfer.layout import table_keys

if TYPE_CHECKING:
    from data.store import SqlTx
    from data.transfer.reader import ImportReport, Parsed, Reader

AUDIT_KEYS = table_keys(tables.audit)


def audit_json(row: Any) -> dict[str, Any]:
    """One audit row (every column of the audit table) as an object of audit.json."""
    return {**row._asdict(), "at": format_timestamp(row.at), "redacted": bool(row.redacted)}


def audit_export(store: SqlStore, actor: User | None, action: str, **values: Any) -> None:
    """Audit an export (or a subject-access export) in a transaction of its own."""
    with store.transaction() as tx:
        tx.insert_audit(user_id=actor.id if actor else None, action=action, **values)


def read_audit(reader: Reader) -> None:
    """Check audit.json: every row well formed, seq increasing, the chain intact (else a file error)."""
    rows = []
    for n, item in enumerate(reader.json_list("audit.json"), start=1):
        checked = reader.json_record("audit.json", n, item, AUDIT_KEYS)
        if checked is None:
            return  # the chain cannot be checked with a row missing
        rows.append((n, checked))
    prev_seq = 0
    for n, entry in rows:
        if entry["seq"] <= prev_seq:
            reader.error("audit.json", n, "seq", "must increase from row to row")
            return
        prev_seq = entry["seq"]
    if reader.report.from_another_clinic:
        # Another clinic's chain is sealed with its own key, which this clinic does not hold: it
        # cannot be verified here. Its rows are re-sealed under this clinic's key, in order, so that
        # tampering after the import still shows; the import's audit entry says so.
        reader.out.audit = reseal_audit_chain((v for _n, v in rows), reader.clinic_key)
        return
    # The store's own check: payload digests (or the one allowed redaction), then the keyed hashes.
    # Sealed with the clinic key: the target must hold the exporting clinic's key.
    intact, n_checked, broken = check_audit_chain((entry for _n, entry in rows), reader.clinic_key)
    if not intact:
        reader.error(
            "audit.json",
            rows[n_checked - 1][0],
            "hash",
            f"the audit chain is broken at seq {broken}, or does not verify with this clinic's key: "
            "a restore of the same clinic needs the exporting clinic's key installed first",
        )
        return
    reader.out.audit = [v for _n, v in rows]


def lock_audit_chain(conn: Connection) -> None:
    """Hold the audit chain's lock for the import transaction (PostgreSQL; SQLite writes one at a time)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": AUDIT_LOCK_KEY})


def continue_audit_sequence(conn: Connection, audit: list[dict[str, Any]]) -> None:
    """After the imported rows went in with their own seq, move the serial past them (PostgreSQL)."""
    if audit and conn.dialect.name == "postgresql":
        conn.execute(
            text("SELECT setval(pg_get_serial_sequence('audit', 'seq'), :m)"),
            {"m": max(row["seq"] for row in audit)},
        )


def audit_import(
    tx: SqlTx,
    actor: User | None,
    report: ImportReport,
    parsed: Parsed,
    *,
    no_password: int,
    from_another_clinic: bool,
) -> None:
    """The import's own entry ("clinic.import"), chained after the imported audit rows."""
    tx.insert_audit(
        user_id=actor.id if actor else None,
        action="clinic.import",
        reason=(
            "archive from another clinic, accepted by the admin: signature "
            f"{report.signature}, password hashes and demo flag not taken over; its audit history "
            "could not be verified with this clinic's key and was re-sealed with it"
            if from_another_clinic
            else ""
        ),
        after={
            "manifest_sha256": parsed.manifest_sha256,
            "exported_at": parsed.source_created_at,
            **{name.split(".")[0]: n for name, n in report.counts.items()},
            "accounts_without_password": no_password,
            "from_another_clinic": from_another_clinic,
            "signature": report.signature,
        },
    )
