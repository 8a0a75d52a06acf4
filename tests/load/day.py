"""Memory over a working day: open and close many clinician sessions against one server.

For each allocator setting (glibc's default arenas, then MALLOC_ARENA_MAX=2) a fresh server is
started with STRIDE_TRACEMALLOC (server.py), warmed up with two sessions, then `sessions` tabs log in,
open a patient and Progress, and close, ten at a time. Before and after, the runner reads the
process's RSS and asks the server (SIGUSR1) for tracemalloc's traced bytes after a full collection and
for how many Streamlit sessions are active, stored for reconnection, and alive on the heap. Memory
that tracemalloc no longer traces but RSS still shows is the allocator keeping freed pages, not a leak.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import time
from pathlib import Path
from typing import Any

from tests.load.journey import Outcome, log_in, open_patient, open_progress
from tests.load.protocol import ProtocolError, Tab
from tests.load.server import Stack, local_server, memory_kb, patient_refs, seed

BATCH = 10


def memory_summary(stack: Stack, out: Path, timeout_s: float = 60.0) -> dict[str, Any]:
    """Ask the server for its tracemalloc summary (SIGUSR1) and wait until it is written."""
    out.unlink(missing_ok=True)
    stack.signal_all(signal.SIGUSR1)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            summary: dict[str, Any] = json.loads(out.read_text())
        except (OSError, ValueError):
            time.sleep(0.2)
            continue
        summary["rss_kb"] = memory_kb(stack.pids[0])["VmRSS"]
        return summary
    raise RuntimeError("the server wrote no memory summary")


async def _session(url: str, ref: str) -> list[str]:
    tab = Tab(url)
    out = Outcome()
    try:
        await log_in(tab, out)
        await open_patient(tab, out, ref)
        await open_progress(tab, out)
    except ProtocolError as exc:
        out.failure = str(exc)
    finally:
        await tab.close()
    return out.errors


async def _sessions(url: str, refs: list[str], count: int) -> list[str]:
    errors: list[str] = []
    for start in range(0, count, BATCH):
        batch = [_session(url, refs[(start + i) % len(refs)]) for i in range(min(BATCH, count - start))]
        for result in await asyncio.gather(*batch):
            errors += result
    return errors


def one_day(work: Path, db: Path, sessions: int, arena_max: str | None) -> dict[str, Any]:
    """One server, one allocator setting: memory before and after `sessions` sessions."""
    work.mkdir(parents=True, exist_ok=True)
    copy = work / "stride.sqlite3"
    shutil.copy(db, copy)
    summary_file = work / "memory.json"
    env: dict[str, str | None] = {"STRIDE_TRACEMALLOC": str(summary_file), "MALLOC_ARENA_MAX": arena_max}
    with local_server(work, patients=0, extra_env=env, database_url=f"sqlite:///{copy}") as stack:
        refs = patient_refs(f"sqlite:///{copy}")
        errors = asyncio.run(_sessions(stack.url, refs, 2))  # warm: imports, caches, first page runs
        before = memory_summary(stack, summary_file)
        started = time.monotonic()
        errors += asyncio.run(_sessions(stack.url, refs, sessions))
        after = memory_summary(stack, summary_file)
        return {
            "malloc_arena_max": arena_max or "default",
            "sessions": sessions,
            "seconds": time.monotonic() - started,
            "errors": errors,
            "before": before,
            "after": after,
        }


def working_day(work: Path, *, patients: int, sessions: int) -> dict[str, Any]:
    """Both allocator settings on copies of one seeded clinic."""
    work.mkdir(parents=True, exist_ok=True)
    db = work / "seed.sqlite3"
    seed(f"sqlite:///{db}", patients)
    runs = [one_day(work / name, db, sessions, arena) for name, arena in (("default", None), ("arena2", "2"))]
    return {"runs": runs}


def render_day(day: dict[str, Any]) -> list[str]:
    """The working-day section of bench/load.md."""
    lines = [
        "## Memory over a working day",
        "",
        "| allocator | sessions | RSS before → after | traced (tracemalloc) before → after | "
        "Streamlit sessions after: active / stored for reconnect / alive | errors |",
        "|---|---:|---:|---:|---|---:|",
    ]
    for run in day["runs"]:
        b, a = run["before"], run["after"]
        rss = f"{b['rss_kb'] / 1024:.0f} → {a['rss_kb'] / 1024:.0f} MB"
        traced = f"{b['traced_bytes'] / 2**20:.1f} → {a['traced_bytes'] / 2**20:.1f} MB"
        sessions = f"{a['active_sessions']} / {a['stored_sessions']} / {a['live_app_sessions']}"
        lines.append(
            f"| MALLOC_ARENA_MAX={run['malloc_arena_max']} | {run['sessions']} | {rss} | {traced} | "
            f"{sessions} | {len(run['errors'])} |"
        )
    last = day["runs"][-1]["after"]
    overhead = ", ".join(f"{r['after']['tracemalloc_overhead_bytes'] / 2**20:.0f} MB" for r in day["runs"])
    lines += [
        "",
        f"RSS includes tracemalloc's own bookkeeping ({overhead} at the end of each run).",
        "",
        "What grew during the day (tracemalloc, after a full collection; MALLOC_ARENA_MAX=2 run):",
        "",
        "```",
        *[f"{g['bytes'] / 2**10:+9.0f} kB {g['blocks']:+8d} blocks  {g['site']}" for g in last["grown"][:15]],
        "```",
    ]
    errors = [e for r in day["runs"] for e in r["errors"]]
    if errors:
        lines += ["", "Errors (first 10):", "", *[f"- {e}" for e in errors[:10]]]
    return [*lines, ""]
