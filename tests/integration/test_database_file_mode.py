"""A new SQLite database holds patient data: it is created owner-only, and so are its WAL side files."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from data.store import open_store
from tests.integration.support import make_user


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_sqlite_database_and_its_wal_files_are_readable_by_the_owner_only(tmp_path: Path) -> None:
    old_umask = os.umask(0o022)  # the usual umask, which would give 0644
    try:
        db = tmp_path / "var" / "stride.sqlite3"
        store = open_store(f"sqlite:///{db}")
        try:
            make_user(store, "carla", "clinician")  # a write, so the -wal and -shm files exist
            side_files = [db.with_name(db.name + suffix) for suffix in ("-wal", "-shm")]
            assert all(path.exists() for path in side_files)
            assert {path.name: mode(path) for path in [db, *side_files]} == {
                path.name: 0o600 for path in [db, *side_files]
            }
        finally:
            store.close()
    finally:
        os.umask(old_umask)


def test_an_existing_database_keeps_the_mode_its_operator_chose(tmp_path: Path) -> None:
    db = tmp_path / "stride.sqlite3"
    open_store(f"sqlite:///{db}").close()
    db.chmod(0o640)

    open_store(f"sqlite:///{db}").close()

    assert mode(db) == 0o640
