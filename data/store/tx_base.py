"""What every group of transaction methods (the mixins SqlTx combines) shares: the connection, the
clinic key and the audit-chain position, new-row bookkeeping, version-checked updates, the meta table."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Connection, Table, insert, select, update
from sqlalchemy.exc import IntegrityError

from dashboard.ports import DuplicateError, StaleRecordError, User
from data import tables as t
from data.audit_head import AuditHead
from data.store.rows import _as_utc, first_version, new_id, utcnow

Read = TypeVar("Read")


class _TxBase(ABC):
    """One transaction's state and shared helpers; what other groups provide is declared abstract."""

    def __init__(self, conn: Connection, clinic_key: bytes = b"") -> None:
        self.conn = conn
        self.clinic_key = clinic_key  # signs audit rows; empty in a read-only unit of work
        # The chain position before this transaction's first append, and its newest row (for the head).
        self.audit_base: AuditHead | None = None
        self.audit_tail: AuditHead | None = None
        # PostgreSQL: the transaction's audit entries, chained and written together just before commit
        # (flush_audit), so the chain's lock is held for milliseconds, not for the rest of the use case.
        self.audit_queue: list[dict[str, Any]] = []

    # --- bookkeeping -------------------------------------------------------------------------
    def _new_row(self, record: Any) -> dict[str, Any]:
        return {
            **first_version(record.id or new_id(), record.recorded_by, utcnow()),
            "updated_by": record.updated_by or record.recorded_by,
            "archived": record.archived,
        }

    def _first(
        self, table: Table, condition: ColumnElement[bool], read: Callable[[Any], Read]
    ) -> Read | None:
        """The first row of `table` that meets `condition`, read into its record (None: there is none)."""
        row = self.conn.execute(select(table).where(condition)).first()
        return read(row) if row else None

    @contextmanager
    def _unique(self, field: str, message: str) -> Iterator[None]:
        """A savepoint in which a unique-constraint violation becomes DuplicateError(field, message)."""
        try:
            with self.conn.begin_nested():
                yield
        except IntegrityError:
            raise DuplicateError(field, message) from None  # the database error carries the values

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

    # --- provided by other groups --------------------------------------------------------------
    @abstractmethod
    def get_user(self, user_id: str) -> User | None:
        """The user with this id (data.store.tx_accounts)."""

    @abstractmethod
    def refresh_summaries(self, patient_ids: list[str] | None = None) -> None:
        """Recompute the caseload summaries of some patients, None: all (data.store.tx_caseload)."""

    @abstractmethod
    def refresh_caseload_inputs(self, patient_ids: list[str]) -> None:
        """Copy the patients' record and episode facts into their summary rows (data.store.tx_caseload)."""

    @abstractmethod
    def delete_patient_reported(self, patient_id: str) -> Mapping[str, int]:
        """Erasure: a patient's invites, check-ins and diary entries (data.store.tx_patient_reported)."""
