"""`python -m data.transfer export|import ...`: the command line of data/transfer/cli.py."""

from data.transfer.cli import main

raise SystemExit(main())
