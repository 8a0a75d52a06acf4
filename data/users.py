"""Account administration from the command line: `python -m data.users create-admin` makes the first admin.

The password is read from the terminal (never from the command line, so it stays out of shell history).
`python -m data.users unlock USERNAME` is the break-glass that clears the login throttle of an account
(`--clients` also clears every client's); it is audited.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from dashboard import services
from dashboard.config import load_settings
from dashboard.ports import InvalidInputError
from data.store import open_store


def main(argv: list[str] | None = None) -> int:
    """Create an admin account or unlock one; exit 1 with field messages when the input breaks a rule."""
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    create = sub.add_parser("create-admin", help="create an admin account")
    create.add_argument("--database-url", default=None, help="defaults to STRIDE_DATABASE_URL or var/")
    create.add_argument("--username", required=True)
    create.add_argument("--display-name", required=True)
    create.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    unlock = sub.add_parser("unlock", help="clear the login throttle of an account (audited)")
    unlock.add_argument("username")
    unlock.add_argument("--database-url", default=None, help="defaults to STRIDE_DATABASE_URL or var/")
    unlock.add_argument("--clients", action="store_true", help="also clear the throttle of every client")
    args = parser.parse_args(argv)

    if args.command == "unlock":
        store = open_store(args.database_url or load_settings().database_url)
        try:
            services.unlock_account(store, None, args.username, clients=args.clients)
        finally:
            store.close()
        print(
            f"Login throttle cleared for '{args.username.strip()}'"
            + (" and every client." if args.clients else ".")
        )
        return 0
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Repeat: ") != password:
            print("The two passwords differ; nothing was created.", file=sys.stderr)
            return 1
    store = open_store(args.database_url or load_settings().database_url)
    try:
        user = services.create_user(
            store,
            None,
            username=args.username,
            display_name=args.display_name,
            role="admin",
            password=password,
        )
    except InvalidInputError as exc:
        for field, message in exc.errors.items():
            print(f"{field}: {message}", file=sys.stderr)
        return 1
    finally:
        store.close()
    print(f"Admin account '{user.username}' created.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
