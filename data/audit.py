"""Check the audit trail from the command line: its keyed hash chain and its head.

    python -m data.audit verify [--database-url URL]
    python -m data.audit record-head [--database-url URL]

`verify` recomputes the chain under the clinic key and compares it with the head kept outside the
database (data.audit_head). It prints "audit chain intact: N rows" (exit 0), or what is wrong
(exit 1): "audit chain BROKEN at seq S" (a row changed, inserted or removed in the middle, a
redaction without its erasure entry, a chain re-hashed without the key), "audit trail TRUNCATED"
(rows at or below the head are missing), "no audit head" (the head file is gone), or that the head
file is not signed with this clinic's key. Exit 2 when the database cannot be read or is not at the
newest schema (start the app once to migrate it).

`record-head` verifies the chain and records its newest row as the head, replacing any head: for
after a deliberate restore of an older backup, or a database moved without its head file. It
refuses a broken chain (exit 1).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from dashboard.config import load_settings
from data.clinic_key import ClinicKeyError, load_clinic_key
from data.migrate import current_revision, head_revision
from data.store import AuditVerdict, open_store


def check(database_url: str) -> AuditVerdict:
    """The full check of the audit trail (chain and head); the database is not migrated."""
    store = open_store(database_url, migrate=False)
    try:
        return store.check_audit()
    finally:
        store.close()


def verify(database_url: str) -> tuple[bool, int, int | None]:
    """(intact, rows checked, first broken or missing seq) of the audit trail; not migrated."""
    return check(database_url).as_tuple()


def _revision(database_url: str) -> str | None:
    store = open_store(database_url, migrate=False)
    try:
        with store.engine.connect() as conn:
            return current_revision(conn)
    finally:
        store.close()


def main(argv: list[str] | None = None) -> int:
    """Command line: `verify` the audit trail, or `record-head` after a deliberate restore."""
    parser = argparse.ArgumentParser(prog="python -m data.audit", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name, text in (
        ("verify", "recompute the keyed chain and compare it with the head"),
        ("record-head", "verify the chain, then record its newest row as the head"),
    ):
        sub = commands.add_parser(name, help=text)
        sub.add_argument(
            "--database-url", default=None, help="default: STRIDE_DATABASE_URL or var/stride.sqlite3"
        )
    args = parser.parse_args(argv)
    url = args.database_url or load_settings().database_url
    parsed = make_url(url)
    is_file_db = parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:")
    if is_file_db and not Path(str(parsed.database)).is_file():
        print(f"No database at {parsed.database}.", file=sys.stderr)
        return 2
    try:
        load_clinic_key(url, create=False)  # a new key would make every row look forged
        revision = _revision(url)
        if revision != head_revision():
            print(
                f"The database is at schema revision {revision}, not {head_revision()}: "
                "start the app once (it migrates the database), then verify.",
                file=sys.stderr,
            )
            return 2
        if args.command == "record-head":
            store = open_store(url, migrate=False)
            try:
                head = store.record_audit_head()
            except RuntimeError as exc:
                print(str(exc), file=sys.stderr)
                return 1
            finally:
                store.close()
            print(f"audit head recorded at seq {head.seq}")
            return 0
        verdict = check(url)
    except SQLAlchemyError as exc:
        print(f"Could not read the audit trail ({type(exc).__name__}).", file=sys.stderr)
        return 2
    except ClinicKeyError as exc:
        print(f"Could not load the clinic key: {exc}.", file=sys.stderr)
        return 2
    print(verdict.message)
    return 0 if verdict.intact else 1


if __name__ == "__main__":
    raise SystemExit(main())
