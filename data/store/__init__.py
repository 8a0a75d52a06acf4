"""The SQLAlchemy implementation of the store Protocol (SQLite by default, PostgreSQL by URL).

Writes run in one transaction each; edits check the record version; the audit trail is hash-chained.

Import from `data.store`; the package by part:
- rows: stored rows to domain models, records to columns (first_version, patient_columns,
  episode_columns, visit_columns), utcnow, new_id, search_key
- chain: the audit chain's formula (hash, seal, check, re-seal), no SQL
- tx_base, tx_patients, tx_records, tx_audit, tx_accounts, tx_caseload: the transaction methods by
  group, as mixins on one base; tx: SqlTx combining them (implements dashboard.ports.Tx)
- engine: make_engine, the lock wait, StoreBusy; sqlstore: SqlStore and open_store
"""

from __future__ import annotations

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
    busy_timeout_from_env,
    is_busy_error,
    is_unavailable_error,
    make_engine,
)
from data.store.rows import (
    bookkeeping_from_row,
    episode_columns,
    episode_from_row,
    escalation_from_row,
    fields_from_row,
    first_version,
    letter_from_row,
    new_id,
    patient_columns,
    patient_from_row,
    screening_from_row,
    search_key,
    utcnow,
    visit_columns,
    visit_from_row,
)
from data.store.sqlstore import SUMMARY_LOCK_KEY, SqlStore, open_store
from data.store.tx import SqlTx
from data.store.tx_audit import AUDIT_LOCK_KEY

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
    "episode_columns",
    "episode_from_row",
    "escalation_from_row",
    "fields_from_row",
    "first_version",
    "is_busy_error",
    "is_unavailable_error",
    "letter_from_row",
    "make_engine",
    "new_id",
    "open_store",
    "patient_columns",
    "patient_from_row",
    "payload_sha256",
    "reseal_audit_chain",
    "screening_from_row",
    "search_key",
    "utcnow",
    "visit_columns",
    "visit_from_row",
]
