"""Clinic export and import (moving a clinic to another server), and the per-patient subject-access export.

    python -m data.transfer export --database-url URL --out FILE.zip [--include-password-hashes]
    python -m data.transfer import --database-url URL FILE.zip [--dry-run] [--from-another-clinic]

Exit codes: 0 done, 1 errors in the file (reported by file, row and field; nothing written), 2 refused
(the target clinic already holds data, the export was made by an incompatible version of Stride, or
the archive is not signed with this clinic's key and --from-another-clinic was not given). The
command line runs as the operator: no account, no permission check, audited without a user.
"""

from __future__ import annotations

import argparse
import sys

from data import clinic_key
from data.store import open_store
from data.transfer.export import export_clinic
from data.transfer.writer import import_clinic


def _default_url() -> str:
    from dashboard.config import load_settings

    return load_settings().database_url


def main(argv: list[str] | None = None) -> int:
    """Command line: export or import a clinic (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="python -m data.transfer", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    export = commands.add_parser("export", help="write the whole clinic to a zip")
    export.add_argument(
        "--database-url", default=None, help="default: STRIDE_DATABASE_URL or var/stride.sqlite3"
    )
    export.add_argument("--out", required=True, help="the zip file to write")
    export.add_argument("--include-password-hashes", action="store_true", help="also export password hashes")
    imp = commands.add_parser("import", help="load an export into an empty clinic")
    imp.add_argument(
        "--database-url", default=None, help="default: STRIDE_DATABASE_URL or var/stride.sqlite3"
    )
    imp.add_argument("file", help="the zip written by `export`")
    imp.add_argument("--dry-run", action="store_true", help="check everything, write nothing")
    imp.add_argument(
        "--from-another-clinic",
        action="store_true",
        help="accept an archive this clinic's key did not sign: audited as such, no password hash "
        "and no demo flag is taken over (every account needs a new password)",
    )
    args = parser.parse_args(argv)
    url = args.database_url or _default_url()
    store = open_store(url)
    try:
        if args.command == "export":
            try:
                manifest = export_clinic(
                    store, args.out, include_password_hashes=args.include_password_hashes
                )
            except clinic_key.ClinicKeyError as exc:
                print(f"Export refused: {exc}; nothing was written.", file=sys.stderr)
                return 2
            counts = ", ".join(
                f"{manifest.rows(name)} {name.split('.')[0]}"
                for name in ("patients.csv", "visits.csv", "audit.json")
            )
            print(f"Exported {counts} to {args.out}")
            print(
                f"Signed with {clinic_key.key_source(url)} (fingerprint {manifest.key_fingerprint}): "
                "a restore of this file needs the same key.",
                file=sys.stderr,
            )
            if args.include_password_hashes:
                print("The file holds password hashes: keep it as safe as the database.", file=sys.stderr)
            return 0
        report = import_clinic(
            store, args.file, dry_run=args.dry_run, from_another_clinic=args.from_another_clinic
        )
        if report.signature:  # only once the archive got as far as its manifest
            print(
                f"Signature {report.signature or 'not checked'}; clinic key: {report.key_used}",
                file=sys.stderr,
            )
        for error in report.errors:
            print(error, file=sys.stderr)
        for warning in report.warnings:
            print(f"warning: {warning}", file=sys.stderr)
        print(report.summary(), file=sys.stderr if report.exit_code else sys.stdout)
        return report.exit_code
    finally:
        store.close()
