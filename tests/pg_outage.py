"""A PostgreSQL server of a test's own that it may stop and start again (scripts/pg-throwaway halt and
resume): a database outage or restart under the app, without touching the suite's shared cluster."""

from __future__ import annotations

import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import ROOT, missing_requirement
from tests.load.server import free_port

PG_THROWAWAY = str(ROOT / "scripts" / "pg-throwaway")


def _pg(*args: str) -> str:
    done = subprocess.run([PG_THROWAWAY, *args], capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        missing_requirement(f"pg-throwaway {args[0]} failed: {done.stderr.strip()[-300:]}")
    return done.stdout.strip()


@dataclass
class Server:
    """A running (or halted) PostgreSQL server; `url` is its database "stride"."""

    folder: Path
    url: str

    @property
    def running(self) -> bool:
        return (self.folder / "data" / "postmaster.pid").exists()

    def halt(self) -> None:
        """A fast shutdown, as a restart does it: every connection is cut, new ones are refused."""
        _pg("halt", str(self.folder))

    def resume(self) -> None:
        """Start it again on its port (waits until it accepts connections)."""
        _pg("resume", str(self.folder))

    def new_database(self) -> str:
        """A fresh, empty database on this server: its URL."""
        import psycopg

        name = f"outage_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url.replace("+psycopg", ""), autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        return self.url.rsplit("/", 1)[0] + f"/{name}"


@contextmanager
def own_postgres() -> Iterator[Server]:
    """Start a server for the caller alone; stopped and removed afterwards."""
    # Not under pytest's 0700 temp folders: pg-throwaway gives the folder to postgres, who must reach it.
    folder = Path(tempfile.mkdtemp(prefix="stride-outage-pg-"))
    server = Server(folder, _pg("start", str(folder), str(free_port())))
    try:
        yield server
    finally:
        subprocess.run([PG_THROWAWAY, "stop", str(folder)], capture_output=True, timeout=120, check=False)
