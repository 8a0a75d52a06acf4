"""Alembic migrations run at start-up under a lock, so several app processes can start together.

PostgreSQL: a session advisory lock. SQLite: an exclusive file lock, and a file backup before upgrading.
"""

from __future__ import annotations

import fcntl
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Any constant shared by every Stride process; it only has to differ from other apps' keys.
MIGRATION_LOCK_KEY = 7_310_000


def alembic_config() -> Config:
    """Alembic configuration pointing at data/migrations (no alembic.ini needed)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def head_revision() -> str | None:
    """The newest migration revision shipped with this code."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(conn: Connection) -> str | None:
    """The revision the database is at (None when empty)."""
    return MigrationContext.configure(conn).get_current_revision()


@contextmanager
def _sqlite_lock(db_path: Path) -> Iterator[None]:
    lock_path = db_path.with_name(db_path.name + ".migrate.lock")
    with open(lock_path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _run(conn: Connection) -> None:
    cfg = alembic_config()
    cfg.attributes["connection"] = conn
    command.upgrade(cfg, "head")


def upgrade(engine: Engine) -> None:
    """Bring the database to the newest schema, serialised across processes."""
    head = head_revision()
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK_KEY})
            conn.commit()
            try:
                current = current_revision(conn)
                conn.rollback()  # end the read's implicit transaction before the upgrade's own
                if current != head:
                    with conn.begin():
                        _run(conn)
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK_KEY})
                conn.commit()
        return
    db_path = Path(str(engine.url.database))
    with _sqlite_lock(db_path):
        with engine.connect() as conn:
            current = current_revision(conn)
            conn.rollback()
        if current == head:
            return
        if current is not None and db_path.exists():
            # A copy of the database as it was, in case an upgrade goes wrong.
            shutil.copy2(db_path, db_path.with_name(f"{db_path.name}.before-{head}.bak"))
        with engine.begin() as conn:
            _run(conn)
