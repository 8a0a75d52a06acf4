"""Check the audit trail's hash chain from the command line.

    python -m data.audit verify [--database-url URL]

Prints "audit chain intact: N rows" (exit 0) or "audit chain BROKEN at seq S" (exit 1); exit 2 when
the database cannot be read.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from dashboard.config import load_settings
from data.store import open_store


def verify(database_url: str) -> tuple[bool, int, int | None]:
    """(intact, rows checked, first broken seq) of the audit chain; the database is not migrated."""
    store = open_store(database_url, migrate=False)
    try:
        return store.verify_audit()
    finally:
        store.close()


def main(argv: list[str] | None = None) -> int:
    """Command line: `verify` the audit chain."""
    parser = argparse.ArgumentParser(prog="python -m data.audit", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("verify", help="recompute the hash chain of the audit trail")
    check.add_argument(
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
        intact, rows, broken = verify(url)
    except SQLAlchemyError as exc:
        print(f"Could not read the audit trail ({type(exc).__name__}).", file=sys.stderr)
        return 2
    if intact:
        print(f"audit chain intact: {rows} rows")
        return 0
    print(f"audit chain BROKEN at seq {broken}")
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
