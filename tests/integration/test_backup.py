"""Backup and restore of the SQLite database (data.backup) and the audit-chain check (data.audit)."""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from dashboard import services
from data import audit, backup, demo
from data import tables as t
from data.store import open_store
from tests.integration.support import CLEAN_SCREEN, as_database_owner, patient_values


def _rows(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every Stride table, in primary-key order."""
    store = open_store(url, migrate=False)
    try:
        with store.read() as tx:
            return {
                table.name: [
                    tuple(row) for row in tx.conn.execute(select(table).order_by(*table.primary_key.columns))
                ]
                for table in t.metadata.sorted_tables
            }
    finally:
        store.close()


def _use(store: Any) -> None:
    """Some writes on top of the demo clinic (so the WAL file holds committed pages)."""
    with store.read() as tx:
        clinician = tx.get_user_by_username("demo.clinician")
    assert clinician is not None
    patient = services.register_patient(store, clinician, patient_values(patient_ref="BKP-1"))
    services.record_visit(store, clinician, patient.id, {**CLEAN_SCREEN, "visit_date": dt.date.today()})


@pytest.fixture
def sqlite_clinic(tmp_path: Path) -> tuple[str, Path]:
    """A demo clinic in a SQLite file, closed again (as when the app is stopped)."""
    path = tmp_path / "clinic" / "stride.sqlite3"
    url = f"sqlite:///{path}"
    store = open_store(url)
    try:
        demo.generate(store, patients=8, seed=5)
        _use(store)
    finally:
        store.close()
    return url, path


def test_backup_then_restore_gives_the_same_rows_and_an_intact_chain(
    sqlite_clinic: tuple[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, path = sqlite_clinic
    original = _rows(url)
    live = open_store(url)  # the app keeps running during a backup
    try:
        assert backup.main(["--database-url", url, "--out-dir", str(tmp_path / "backups")]) == 0
        printed = Path(capsys.readouterr().out.strip())
    finally:
        live.close()
    assert re.fullmatch(r"stride-\d{8}T\d{6}Z\.sqlite3", printed.name)
    assert printed.parent == tmp_path / "backups" and printed.is_file()
    assert printed.stat().st_mode & 0o077 == 0
    assert backup.integrity_problems(printed) == []
    assert not Path(f"{printed}-wal").exists()

    # Into a new place: no --force needed.
    elsewhere = tmp_path / "restored" / "stride.sqlite3"
    assert backup.restore_sqlite(printed, elsewhere) is None
    assert _rows(f"sqlite:///{elsewhere}") == original

    # Over the live database after more work: refused without --force, then the old file is kept.
    store = open_store(url)
    try:
        with store.read() as tx:
            clinician = tx.get_user_by_username("demo.clinician")
        assert clinician is not None
        services.register_patient(store, clinician, patient_values(patient_ref="AFTER-BACKUP"))
    finally:
        store.close()
    changed = _rows(url)
    assert changed != original
    with pytest.raises(backup.BackupError, match="--force"):
        backup.restore_sqlite(printed, path)
    assert backup.main(["--database-url", url, "--restore", str(printed), "--force"]) == 0
    assert _rows(url) == original
    kept = list(path.parent.glob("stride.sqlite3.before-restore-*.bak"))
    assert len(kept) == 1 and _rows(f"sqlite:///{kept[0]}") == changed

    capsys.readouterr()
    assert audit.main(["verify", "--database-url", url]) == 0
    assert capsys.readouterr().out.startswith("audit chain intact: ")


def test_restore_refuses_a_database_that_is_in_use(sqlite_clinic: tuple[str, Path], tmp_path: Path) -> None:
    url, path = sqlite_clinic
    copy = backup.backup_sqlite(path, tmp_path / "backups")
    app = sqlite3.connect(path)  # another process with the database open
    try:
        app.execute("SELECT count(*) FROM patients").fetchone()
        with pytest.raises(backup.BackupError, match="in use"):
            backup.restore_sqlite(copy, path, force=True)
    finally:
        app.close()
    assert not list(path.parent.glob("*.bak"))


def test_restore_refuses_a_damaged_backup(sqlite_clinic: tuple[str, Path], tmp_path: Path) -> None:
    _url, path = sqlite_clinic
    damaged = tmp_path / "damaged.sqlite3"
    damaged.write_bytes(b"SQLite format 3\x00" + b"\xff" * 4096)
    before = path.read_bytes()
    with pytest.raises(backup.BackupError, match="integrity"):
        backup.restore_sqlite(damaged, path, force=True)
    assert path.read_bytes() == before


def test_postgresql_backup_prints_the_pg_dump_command(capsys: pytest.CaptureFixture[str]) -> None:
    url = "postgresql+psycopg://stride:s3cret@db.example.org:5433/clinic"
    assert backup.main(["--database-url", url, "--out-dir", "var/backups"]) == 2
    out = capsys.readouterr().out
    assert "pg_dump --format=custom" in out and "postgresql://stride@db.example.org:5433/clinic" in out
    assert "s3cret" not in out


def test_audit_verify_exit_codes(store: Any, database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    demo.generate(store, patients=3, seed=5)
    _use(store)
    intact, rows, _ = store.verify_audit()
    assert intact and rows >= 3
    assert audit.main(["verify", "--database-url", database_url]) == 0
    assert capsys.readouterr().out.strip() == f"audit chain intact: {rows} rows"

    # The database itself refuses edits: its guard is switched off to play the attacker.
    with as_database_owner(store) as conn:
        seq = conn.execute(select(t.audit.c.seq).order_by(t.audit.c.seq).limit(1).offset(1)).scalar_one()
        conn.execute(t.audit.update().where(t.audit.c.seq == seq).values(reason="quietly rewritten"))
    assert audit.main(["verify", "--database-url", database_url]) == 1
    assert capsys.readouterr().out.strip() == f"audit chain BROKEN at seq {seq}"


def test_audit_verify_of_a_missing_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert audit.main(["verify", "--database-url", f"sqlite:///{tmp_path}/none.sqlite3"]) == 2
    assert not (tmp_path / "none.sqlite3").exists()
