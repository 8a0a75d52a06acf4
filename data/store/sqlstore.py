"""SqlStore, the clinic's database (implements dashboard.ports.Store): write and read units of work,
the audit head kept outside the database, and open_store (migrations, keys, summaries on open)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, func, select, text

from dashboard.ports import StoreUnavailable
from dashboard.summaries import SUMMARY_VERSION
from data import tables as t
from data.audit_head import AuditHead, AuditHeadError, audit_head_path, head_lock, read_head, write_head
from data.clinic_key import load_clinic_key
from data.store.chain import GENESIS_HASH, AuditVerdict
from data.store.engine import _create_private_file, _named_store_errors, make_engine
from data.store.tx import SqlTx

log = logging.getLogger(__name__)

# SUMMARY_VERSION (dashboard.summaries): when it changes, the store recomputes the summaries on open.
SUMMARY_LOCK_KEY = 7_310_002


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
        """A write transaction: commits on success, rolls back on any error (StoreBusy if locked out,
        StoreUnavailable if the server cannot be reached); then moves the audit head."""
        committing = False
        try:
            with _named_store_errors(), self.engine.begin() as conn:
                tx = SqlTx(conn, self.clinic_key)
                yield tx
                tx.flush_audit()  # PostgreSQL: the queued entries, chained under the lock, then the commit
                committing = True
        except StoreUnavailable as exc:
            # Lost during COMMIT, whether it was stored is not known here; before it, nothing was.
            message = StoreUnavailable.AT_COMMIT if committing else StoreUnavailable.NOTHING_CHANGED
            raise StoreUnavailable(message) from exc.__cause__
        if tx.audit_tail is not None:
            self._advance_audit_head(tx.audit_base, tx.audit_tail)

    @contextmanager
    def read(self) -> Iterator[SqlTx]:
        """A read-only unit of work (rolled back at the end); StoreBusy if locked out, StoreUnavailable if
        the server cannot be reached."""
        with _named_store_errors(), self.read_engine.connect() as conn:
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
