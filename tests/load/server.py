"""The app under load: a seeded SQLite clinic and one `streamlit run server.py`, or a stack already running.

Also what the runner reads from outside the app: each process's memory from /proc/PID/status, the
server's run log (STRIDE_RUN_LOG, one JSON line per script run), and rows counted in the database.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[2]
HEALTH_TIMEOUT_S = 90.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def seed(database_url: str, patients: int, seed_value: int = 20261204) -> None:
    """The fictional demo clinic, dated from today so visits recorded now are the latest."""
    cmd = [sys.executable, "-m", "data.demo", "--database-url", database_url]
    cmd += ["--patients", str(patients), "--seed", str(seed_value), "--today"]
    subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, timeout=600)


def memory_kb(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak) of a process, in kB, from /proc/PID/status."""
    values: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            values[name] = int(rest.split()[0])
    return values


def count_rows(database_url: str) -> dict[str, int]:
    """Visits and handouts stored: what the load's saves and downloads must match."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return {
                t: int(conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one())
                for t in ("visits", "handouts")
            }
    finally:
        engine.dispose()


def is_demo(database_url: str) -> bool:
    """True when the database holds the fictional demo clinic (the only kind the load may write to)."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            value = conn.execute(text("SELECT value FROM meta WHERE key = 'demo'")).scalar_one_or_none()
            return value == "true"
    finally:
        engine.dispose()


def patient_refs(database_url: str) -> list[str]:
    """Patients a visit can be recorded for (an open episode: a discharged one takes no new visits)
    and whose pages draw no error alert before the load starts (no open escalation, no urgent or
    emergency screening), so every error alert the load sees is one the load caused."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT p.patient_ref FROM patients p JOIN episodes e ON e.patient_id = p.id "
                    "AND e.status = 'open' WHERE NOT EXISTS (SELECT 1 FROM escalations x "
                    "WHERE x.patient_id = p.id AND x.status = 'open') AND NOT EXISTS (SELECT 1 FROM "
                    "screenings s WHERE s.patient_id = p.id AND s.urgency IN ('URGENT', 'EMERGENCY')) "
                    "ORDER BY p.patient_ref"
                )
            )
            return [str(r[0]) for r in rows]
    finally:
        engine.dispose()


def session_digest(session_id: str) -> str:
    """How server.py's run log names a Streamlit session (a SHA-256 prefix, never the id itself)."""
    return hashlib.sha256(session_id.encode()).hexdigest()[:16]


def read_run_log(path: Path | None) -> list[dict[str, Any]]:
    """The server's run log lines (empty when there is none)."""
    if path is None or not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _healthy(url: str) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(f"{url}/_stcore/health", timeout=2) as response:
            return bool(response.read().decode().strip() == "ok")
    except OSError:
        return False


@dataclass
class Stack:
    """What the load drives: a base URL, the app processes' PIDs, the database, the run log."""

    url: str
    pids: Sequence[int]
    database_url: str | None
    run_log: Path | None
    log: Path | None = None
    ca_file: Path | None = None  # HTTPS: the certificate the client trusts (the proxy's test certificate)
    proxy: Any = None  # the tests.proxy_stack.Stack behind `url`, when the runner started one

    def signal_all(self, signum: int) -> None:
        for pid in self.pids:
            os.kill(pid, signum)


@contextmanager
def local_server(
    work: Path,
    *,
    patients: int,
    port: int = 0,
    extra_env: dict[str, str | None] | None = None,
    database_url: str | None = None,
) -> Iterator[Stack]:
    """Seed a SQLite clinic under `work` (unless a database is given) and serve it; stop it after."""
    work.mkdir(parents=True, exist_ok=True)
    if database_url is None:
        db = work / "stride.sqlite3"
        database_url = f"sqlite:///{db}"
        if not db.exists():
            seed(database_url, patients)
    run_log = work / "runs.jsonl"
    run_log.unlink(missing_ok=True)
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    # MALLOC_ARENA_MAX=2 as `make run` and the deployment's unit start the app (day.py compares both).
    env = {
        **os.environ,
        "STRIDE_DATABASE_URL": database_url,
        "STRIDE_RUN_LOG": str(run_log),
        "MALLOC_ARENA_MAX": "2",
    }
    env.update(extra_env or {})
    env = {name: value for name, value in env.items() if value is not None}  # None: leave it unset
    cmd = [
        sys.executable, "-m", "streamlit", "run", str(ROOT / "server.py"),
        "--server.headless", "true", "--server.address", "127.0.0.1", "--server.port", str(port),
        "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
    ]  # fmt: skip
    log = work / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(cmd, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + HEALTH_TIMEOUT_S
        while not _healthy(url):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the app did not start; see {log}")
            time.sleep(0.3)
        yield Stack(url, [process.pid], database_url, run_log, log)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=15)


@contextmanager
def proxy_server(work: Path, *, patients: int, processes: int = 2) -> Iterator[Stack]:
    """The deployed shape: a throwaway PostgreSQL with the demo clinic, `processes` app processes on it
    behind Debian's nginx (docs/nginx/stride.conf: TLS, sticky route cookie), each with the run log and
    MALLOC_ARENA_MAX=2; everything stopped afterwards, also on failure."""
    from tests.proxy_stack import start_stack

    work.mkdir(parents=True, exist_ok=True)
    pg_dir = Path(tempfile.mkdtemp(prefix="stride-load-pg-"))  # its own: pg-throwaway gives it to postgres
    pg = str(ROOT / "scripts" / "pg-throwaway")
    started = subprocess.run(
        [pg, "start", str(pg_dir), str(free_port())], capture_output=True, text=True, timeout=120, check=False
    )
    try:
        if started.returncode != 0:
            raise RuntimeError(f"PostgreSQL did not start: {started.stderr.strip()}")
        database_url = started.stdout.strip().splitlines()[-1]
        seed(database_url, patients)
        run_log = work / "runs.jsonl"
        env = {"STRIDE_RUN_LOG": str(run_log), "MALLOC_ARENA_MAX": "2"}
        proxy = start_stack(work / "stack", database_url, processes, extra_env=env)
        try:
            yield Stack(
                proxy.url, proxy.app_pids, database_url, run_log, ca_file=proxy.certificate, proxy=proxy
            )
        finally:
            proxy.stop()
    finally:
        subprocess.run([pg, "stop", str(pg_dir)], capture_output=True, timeout=120, check=False)


def sessions_per_process(stack: Stack) -> list[int]:
    """How many websocket sessions nginx sent to each app process (its access log's upstream= field)."""
    return list(stack.proxy.requests_per_process("/_stcore/stream")) if stack.proxy is not None else []
