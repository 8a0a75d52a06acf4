"""Back up and restore the clinic's SQLite database.

    python -m data.backup [--database-url URL] [--out-dir var/backups]
    python -m data.backup --restore BACKUP_FILE [--database-url URL] [--force]

A backup uses SQLite's online backup API, so the app may keep running: it is a consistent copy of
every committed transaction (including those still in the WAL file), written as one self-contained
file stride-YYYYmmddTHHMMSSZ.sqlite3 readable by its owner only, checked with PRAGMA integrity_check
before it gets its final name. The path is printed.

A restore replaces the database with a backup. Stop the app first: a restore refuses a database
that another process has open, refuses to replace an existing database unless --force is given,
and then keeps the old file beside it as <name>.before-restore-<timestamp>.bak. It also checks the
backup's audit chain under the clinic key (a broken chain is refused) and compares it with the
audit head kept beside the database: a backup older than the head TRUNCATES the audit trail, which
is said plainly and needs --force; the head then moves to the backup's newest entry (the old head
is kept as <head>.before-restore-<timestamp>).

PostgreSQL is backed up with its own tools: the command prints the pg_dump command to use and
exits with 2.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import sqlite3
import sys
import tempfile
from pathlib import Path

from sqlalchemy.engine import make_url

from dashboard.config import DEFAULT_SQLITE_PATH, load_settings
from data.audit_head import AuditHead, AuditHeadError, audit_head_path, head_lock, read_head, write_head
from data.clinic_key import ClinicKeyError, load_clinic_key

DEFAULT_OUT_DIR = DEFAULT_SQLITE_PATH.parent / "backups"


class BackupError(Exception):
    """A backup or restore that could not be made (the message says why; nothing was replaced)."""


def _stamp(now: dt.datetime | None = None) -> str:
    return (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%dT%H%M%SZ")


def sqlite_path(database_url: str) -> Path:
    """The file of a sqlite:/// URL (ValueError for another database or an in-memory one)."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        raise ValueError("not a SQLite database URL")
    if not url.database or url.database == ":memory:":
        raise ValueError("an in-memory SQLite database has no file to back up")
    return Path(url.database)


def integrity_problems(path: Path) -> list[str]:
    """PRAGMA integrity_check of a SQLite file: empty when the file is sound."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            rows = [str(row[0]) for row in conn.execute("PRAGMA integrity_check")]
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        return [f"not a readable SQLite database ({exc})"]
    return [] if rows == ["ok"] else rows


def _free_name(directory: Path, stem: str) -> Path:
    candidate = directory / f"{stem}.sqlite3"
    n = 2
    while candidate.exists():
        candidate = directory / f"{stem}-{n}.sqlite3"
        n += 1
    return candidate


def _copy_with_backup_api(source: Path, destination: Path) -> None:
    """Copy a SQLite database page by page into `destination` (a new file), as one rollback-journal file."""
    src = sqlite3.connect(source, timeout=30)
    try:
        dst = sqlite3.connect(destination)
        try:
            src.backup(dst)
            # The copy inherits WAL mode; a backup is one self-contained file.
            dst.execute("PRAGMA journal_mode=DELETE")
        finally:
            dst.close()
    finally:
        src.close()


def backup_sqlite(db_path: str | os.PathLike[str], out_dir: str | os.PathLike[str] = DEFAULT_OUT_DIR) -> Path:
    """Write a verified copy of the database to `out_dir` and return its path."""
    source = Path(db_path)
    if not source.is_file():
        raise BackupError(f"no database at {source}")
    directory = Path(out_dir)
    directory.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".stride-backup-", suffix=".part", dir=directory)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        os.chmod(tmp, 0o600)
        _copy_with_backup_api(source, tmp)
        if problems := integrity_problems(tmp):
            raise BackupError("the backup failed its integrity check: " + "; ".join(problems[:5]))
        target = _free_name(directory, f"stride-{_stamp()}")
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


def _assert_not_in_use(path: Path) -> None:
    """Refuse a database another process has open: leaving WAL mode needs the only connection."""
    try:
        conn = sqlite3.connect(path, timeout=0.5)
        try:
            mode = conn.execute("PRAGMA journal_mode=DELETE").fetchone()
        finally:
            conn.close()
    except sqlite3.OperationalError:
        mode = None
    if mode is None or str(mode[0]).lower() != "delete":
        raise BackupError(f"{path} is in use by another process: stop the app before restoring")


def _backup_audit_tail(backup: Path, key: bytes) -> tuple[AuditHead, dict[int, str]] | None:
    """The newest audit row of a backup after checking its chain (None: older schema or no audit table).

    A backup at an older schema is checked by its migration when the app next starts (a broken
    chain stops that migration); one at the current schema is checked here.
    """
    from sqlalchemy import create_engine, select

    from data import tables as t
    from data.migrate import current_revision, head_revision
    from data.store import GENESIS_HASH, check_audit_chain

    engine = create_engine(f"sqlite:///file:{backup}?mode=ro&uri=true")
    try:
        with engine.connect() as conn:
            if current_revision(conn) != head_revision():
                return None
            tails: dict[int, str] = {}
            rows = conn.execute(select(t.audit).order_by(t.audit.c.seq))
            check = check_audit_chain((r._asdict() for r in rows), key, tails=tails)
    finally:
        engine.dispose()
    if not check.intact:
        raise BackupError(f"the backup's audit chain is BROKEN at seq {check.broken}: it was not restored")
    return (AuditHead(*max(tails.items())) if tails else AuditHead(0, GENESIS_HASH)), tails


def restore_sqlite(
    backup_path: str | os.PathLike[str],
    target_path: str | os.PathLike[str],
    *,
    force: bool = False,
    notes: list[str] | None = None,
) -> Path | None:
    """Replace the database at `target_path` with a backup; return where the old file was kept.

    The backup must pass PRAGMA integrity_check. A target that exists is replaced only with
    `force`, and only when no other process has it open (stop the app first); the old database is
    then kept as <target>.before-restore-<timestamp>.bak (returned). A missing target is simply
    created (None returned). The backup's audit chain must verify under the clinic key; a backup
    older than the audit head truncates the trail and needs `force` (what is lost goes to `notes`).
    """
    backup = Path(backup_path)
    target = Path(target_path)
    if not backup.is_file():
        raise BackupError(f"no backup at {backup}")
    if problems := integrity_problems(backup):
        raise BackupError("the backup failed its integrity check: " + "; ".join(problems[:5]))
    url = f"sqlite:///{target}"
    try:
        key = load_clinic_key(url, create=False)
    except ClinicKeyError as exc:
        raise BackupError(f"{exc}: put the clinic's key in place before restoring its backup") from None
    checked = _backup_audit_tail(backup, key)
    tail = checked[0] if checked else None
    head_path = audit_head_path(url)
    assert head_path is not None
    try:
        head = read_head(head_path, key)
    except AuditHeadError as exc:
        raise BackupError(str(exc)) from None
    message = None
    if tail is not None and head is not None and head.seq > tail.seq:
        message = (
            f"restoring this backup TRUNCATES the audit trail: the backup ends at seq {tail.seq}, "
            f"the clinic's audit head is at seq {head.seq} (the {head.seq - tail.seq} newest sequence "
            "numbers, and the changes they record, are lost)"
        )
    elif checked is not None and head is not None and head.seq and checked[1].get(head.seq) != head.hash:
        message = (
            f"this backup's audit trail differs from the clinic's at seq {head.seq} (the audit head): "
            "it comes from another history of the database"
        )
    # Either loses audit history: refused unless forced, and then said in the notes.
    if message is not None:
        if not force:
            raise BackupError(f"{message}; give --force to restore it anyway")
        if notes is not None:
            notes.append(message)
    kept: Path | None = None
    if target.exists():
        if not force:
            raise BackupError(f"{target} exists: give --force to replace it (the old file is kept)")
        _assert_not_in_use(target)  # also folds any WAL file into the database file
        kept = target.with_name(f"{target.name}.before-restore-{_stamp()}.bak")
        shutil.copy2(target, kept)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".restore", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        os.chmod(tmp, 0o600)
        _copy_with_backup_api(backup, tmp)
        for stale in (Path(f"{target}-wal"), Path(f"{target}-shm"), Path(f"{target}-journal")):
            stale.unlink(missing_ok=True)  # never let an old journal be applied to the restored file
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if tail is not None:
        # The restored database is now the clinic's record: its newest entry becomes the head.
        with head_lock(head_path):
            if head_path.exists():
                shutil.copy2(head_path, head_path.with_name(f"{head_path.name}.before-restore-{_stamp()}"))
            write_head(head_path, key, tail)
    return kept


def pg_dump_command(database_url: str, out_dir: str | os.PathLike[str] = DEFAULT_OUT_DIR) -> str:
    """The pg_dump command that backs up a PostgreSQL clinic (the password is never printed)."""
    url = make_url(database_url)
    # `URL.set(password=None)` would leave the password as it is: replace the field itself.
    libpq = url.set(drivername=url.get_backend_name())._replace(password=None).render_as_string()
    out = Path(out_dir) / f"stride-{_stamp()}.dump"
    # umask 077: the dump is owner-only, like the SQLite backups.
    return f"(umask 077 && pg_dump --format=custom --file='{out}' '{libpq}')"


def main(argv: list[str] | None = None) -> int:
    """Command line: back up (default) or restore (--restore) the clinic's database."""
    parser = argparse.ArgumentParser(prog="python -m data.backup", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url", default=None, help="default: STRIDE_DATABASE_URL or var/stride.sqlite3"
    )
    parser.add_argument("--out-dir", default=str(DEFAULT_OUT_DIR), help="where backups go")
    parser.add_argument("--restore", metavar="BACKUP_FILE", help="replace the database with this backup")
    parser.add_argument("--force", action="store_true", help="with --restore: replace an existing database")
    args = parser.parse_args(argv)
    url = args.database_url or load_settings().database_url
    try:
        path = sqlite_path(url)
    except ValueError as exc:
        if make_url(url).get_backend_name() == "postgresql":
            print("PostgreSQL is backed up with pg_dump (give the password via PGPASSWORD or ~/.pgpass):")
            print(f"  {pg_dump_command(url, args.out_dir)}")
            print("Restore with: pg_restore --clean --if-exists --dbname=<database URL> <file>")
            return 2
        print(f"Refused: {exc}.", file=sys.stderr)
        return 2
    try:
        if args.restore:
            notes: list[str] = []
            kept = restore_sqlite(args.restore, path, force=args.force, notes=notes)
            for note in notes:
                print(f"Warning: {note}.")
            print(f"Restored {path} from {args.restore}")
            if kept:
                print(f"The previous database was kept as {kept}")
        else:
            print(backup_sqlite(path, args.out_dir))
    except BackupError as exc:
        print(f"Refused: {exc}.", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
