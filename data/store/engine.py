"""Engines for the store: SQLite with WAL, foreign keys, a lock wait and BEGIN IMMEDIATE for writers
(PostgreSQL as is), the lock wait from the environment, "database is locked" raised as StoreBusy, a lost
or refused PostgreSQL connection as StoreUnavailable, and a new SQLite file created owner-only."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from dashboard.ports import StoreBusy, StoreUnavailable

# How long a SQLite connection waits for another writer's lock before the action fails with StoreBusy
# (seconds; STRIDE_DB_BUSY_TIMEOUT_S). Writes take milliseconds, so a longer wait means a bulk job (an
# import, a restore) or a stuck process: the clinician gets a readable "busy" message in seconds
# instead of a generic error after half a minute.
DEFAULT_BUSY_TIMEOUT_S = 10.0
BUSY_TIMEOUT_ENV = "STRIDE_DB_BUSY_TIMEOUT_S"
# PostgreSQL's lock_not_available: a lock_timeout (if an administrator sets one) or NOWAIT ran out.
_PG_LOCK_NOT_AVAILABLE = "55P03"
# PostgreSQL's server going away: class 08 (connection exception), and the shutdowns 57P01
# admin_shutdown (a stop or restart), 57P02 crash_shutdown, 57P03 cannot_connect_now (starting up).
_PG_SERVER_GONE = ("08", "57P01", "57P02", "57P03")


def busy_timeout_from_env(environ: Mapping[str, str] | None = None) -> float:
    """The lock wait in seconds from STRIDE_DB_BUSY_TIMEOUT_S (default 10); ValueError unless >= 0."""
    raw = (os.environ if environ is None else environ).get(BUSY_TIMEOUT_ENV, "").strip()
    if not raw:
        return DEFAULT_BUSY_TIMEOUT_S
    value = float(raw)
    if not value >= 0:  # also refuses NaN
        raise ValueError(f"{BUSY_TIMEOUT_ENV} must be a number of seconds, 0 or more")
    return value


def is_busy_error(exc: BaseException) -> bool:
    """True when a database error means "another writer holds the lock" (SQLite busy, PostgreSQL 55P03)."""
    if not isinstance(exc, OperationalError):
        return False
    orig = exc.orig
    if "database is locked" in str(orig).lower() or "database table is locked" in str(orig).lower():
        return True
    return _sqlstate(orig) == _PG_LOCK_NOT_AVAILABLE


def _sqlstate(orig: object) -> str | None:
    return getattr(orig, "sqlstate", None) or getattr(getattr(orig, "diag", None), "sqlstate", None)


def is_unavailable_error(exc: BaseException) -> bool:
    """True when a database error means "the server cannot be reached": a connection SQLAlchemy found
    cut, or a PostgreSQL connection refused, lost or shut down (not a lock wait, not a bad statement)."""
    if not isinstance(exc, (OperationalError, InterfaceError)) or is_busy_error(exc):
        return False
    if exc.connection_invalidated:
        return True
    orig = exc.orig
    if not type(orig).__module__.startswith("psycopg"):
        return False  # SQLite: a missing file or a full disk is not an outage that passes by itself
    # psycopg gives no SQLSTATE when it cannot connect at all (refused, reset, the server gone mid-reply).
    state = _sqlstate(orig)
    return state is None or state.startswith(_PG_SERVER_GONE)


@contextmanager
def _named_store_errors() -> Iterator[None]:
    # The driver's "database is locked" and "connection refused" carry no patient data, but a page would
    # show them as a generic failure: name them, so pages show a readable message. Either way the
    # transaction did not commit, so nothing half-done is kept.
    try:
        yield
    except DBAPIError as exc:
        if is_busy_error(exc):
            raise StoreBusy() from exc
        if is_unavailable_error(exc):
            raise StoreUnavailable() from exc
        raise


# orjson reads an integer past 64 bits as a float (json keeps it exact): a text with a run of 19 digits
# or more, anywhere, is decoded by the standard library. One C pass: digits mapped to "0", then a find.
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_LONG_NUMBER = b"0" * 19


def decode_json(text: str | bytes) -> Any:
    """A stored JSON payload as the standard library's json.loads decodes it, through orjson where that
    gives the same values (3-4x faster on visit payloads, most of what a re-screen or export reads):
    json itself for texts with a run of 19+ digits, and for what orjson refuses (NaN, lone surrogates)."""
    raw = text.encode() if isinstance(text, str) else text
    if _LONG_NUMBER in raw.translate(_DIGITS_AS_ZERO):
        return json.loads(text)
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(text)


def make_engine(url: str, *, immediate: bool = True, busy_timeout_s: float | None = None) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys, a lock wait and (for writers) BEGIN IMMEDIATE."""
    if not url.startswith("sqlite"):
        return create_engine(
            url,
            pool_pre_ping=True,
            pool_size=5,
            max_overflow=5,
            hide_parameters=True,
            json_deserializer=decode_json,
        )
    wait_s = busy_timeout_from_env() if busy_timeout_s is None else busy_timeout_s
    engine = create_engine(
        url,
        connect_args={"timeout": wait_s, "check_same_thread": False},
        hide_parameters=True,
        json_deserializer=decode_json,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite would defer it).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute(f"PRAGMA busy_timeout={int(wait_s * 1000)}")
        # 64 MB of page cache a connection (SQLite's default is 2 MB): the caseload of a large clinic
        # reads its indexes of every patient on each page, from memory rather than through the OS.
        cur.execute("PRAGMA cache_size=-65536")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Writers take the lock at BEGIN so the audit chain and version checks never interleave.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def _create_private_file(path_text: str) -> None:
    """Create a new SQLite file owner-only (0600) before SQLite does; its -wal and -shm files copy the mode.

    An existing file keeps its mode (an operator may have chosen group access on purpose).
    """
    import os
    from pathlib import Path

    if not path_text or path_text == ":memory:" or path_text.startswith("file:"):
        return
    path = Path(path_text)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.close(fd)  # SQLite takes an empty file as a new database
