"""Stride's load benchmark (issue 24): `python -m tests.load.run` (`make load`).

    .venv/bin/python -m tests.load.run [--sessions 5,10,20,30] [--iterations 2] [--time-limit 120]
        [--patients 200] [--url URL --pid PID [--pid PID] --database-url URL [--run-log FILE]]
        [--no-profile] [--no-day] [--day-sessions 200] [--out bench/]

Without --url it seeds a fictional SQLite clinic and starts one `streamlit run server.py` on loopback;
with --url it drives a stack already running (e.g. two processes behind nginx), reads each --pid's
memory, counts rows through --database-url (a demo clinic only: the load writes visits) and reads
the server's time from --run-log, the file the processes were started with as STRIDE_RUN_LOG.
At each level N, N clinician sessions run at once, each `--iterations` times (log in, open a
patient, record a visit, open Progress, download the handout; tests/load/journey.py), none started
after `--time-limit` seconds; a session still running a minute after that is cut and counted as an
error.

Reported per step: wall-time p50/p95 (until the script run finished), the server's own time for the
step (its script runs, from the STRIDE_RUN_LOG the runner sets), errors, saves acknowledged against
visits stored, handouts downloaded against handouts stored, each process's RSS at the start and end
of the level, the load client's own CPU time (it shares the cores), and p95 against N. When a target
is missed (p95 < 2 s per step, 0 errors, RSS < 500 MB) and the runner owns the server, one more
pass at the smallest N under cProfile (STRIDE_PROFILE_DIR) gives each step's profile: where its
time goes. Then tests/load/day.py measures memory over a working day (--no-day skips it).

Output: bench/load.md and bench/load.json, and a short section with a link in bench/results.md.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import itertools
import json
import math
import os
import platform
import pstats
import resource
import statistics
import subprocess
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.load.journey import STEPS, Outcome, clinician_session
from tests.load.server import (
    ROOT,
    Stack,
    count_rows,
    is_demo,
    local_server,
    memory_kb,
    patient_refs,
    proxy_server,
    read_run_log,
    sessions_per_process,
)

BENCH_DIR = ROOT / "bench"
TARGET_P95_S = 2.0
TARGET_RSS_MB = 500.0
GRACE_S = 60.0
SECTION_START = "<!-- load benchmark (tests/load/run.py) -->"
SECTION_END = "<!-- end of load benchmark -->"


@dataclass
class Level:
    """One level of load: N sessions at once, and everything measured while they ran."""

    sessions: int
    wall_s: float = 0.0
    outcomes: list[Outcome] = field(default_factory=list)
    cut: int = 0
    client_cpu_s: float = 0.0
    rss_start_kb: dict[int, int] = field(default_factory=dict)
    rss_end_kb: dict[int, int] = field(default_factory=dict)
    hwm_end_kb: dict[int, int] = field(default_factory=dict)
    rows_before: dict[str, int] = field(default_factory=dict)
    rows_after: dict[str, int] = field(default_factory=dict)
    server_s: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    server_cpu_s: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))

    def step_walls(self) -> dict[str, list[float]]:
        walls: dict[str, list[float]] = defaultdict(list)
        for out in self.outcomes:
            for step in out.steps:
                if step.name in STEPS:
                    walls[step.name].append(step.wall_s)
        return walls

    @property
    def errors(self) -> list[str]:
        return [e for out in self.outcomes for e in out.errors] + ["session cut at the time limit"] * self.cut

    @property
    def acknowledged(self) -> int:
        return sum(out.saves_acknowledged for out in self.outcomes)

    @property
    def downloaded(self) -> int:
        return sum(out.handouts for out in self.outcomes)

    def stored(self, table: str) -> int | None:
        if table not in self.rows_after:
            return None
        return self.rows_after[table] - self.rows_before[table]


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by the nearest-rank method; nan for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def covered(intervals: Sequence[tuple[float, float]]) -> float:
    """Seconds covered by the union of (start, end) intervals: work that ran side by side counts once."""
    total, reach = 0.0, -math.inf
    for start, end in sorted(intervals):
        if end > reach:
            total += end - max(start, reach)
            reach = end
    return total


def server_time_by_step(
    outcomes: Sequence[Outcome], runs: Sequence[dict[str, Any]]
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """The server's time per step: the span its script runs covered, runs of the tab's sessions that
    started inside the step (and, for the handout, the deferred download that started inside it,
    which carries no session id and runs beside the click's rerun)."""
    by_session: dict[str, list[dict[str, Any]]] = defaultdict(list)
    downloads = [r for r in runs if r["kind"] == "download"]
    for run in runs:
        if run["kind"] == "run" and not run.get("auto"):
            by_session[run["session"]].append(run)
    result: dict[str, list[float]] = defaultdict(list)
    cpu: dict[str, list[float]] = defaultdict(list)
    for out in outcomes:
        for step in out.steps:
            if step.name not in STEPS:
                continue
            inside = [
                r
                for session in out.session_ids
                for r in by_session.get(session, [])
                if step.started_at <= r["start"] <= step.ended_at
            ]
            if step.name == "handout":
                inside += [d for d in downloads if step.started_at <= d["start"] <= step.ended_at]
            result[step.name].append(covered([(r["start"], r["start"] + r["seconds"]) for r in inside]))
            cpu[step.name].append(sum(r["cpu"] for r in inside))
    return result, cpu


async def run_level(
    stack: Stack, sessions: int, iterations: int, time_limit_s: float, refs: list[str]
) -> Level:
    """N sessions at once, each `iterations` times, none started after the time limit."""
    level = Level(sessions)
    if stack.database_url:
        level.rows_before = count_rows(stack.database_url)
    level.rss_start_kb = {pid: memory_kb(pid)["VmRSS"] for pid in stack.pids}
    patients = itertools.cycle(refs)
    cpu0, start = time.process_time(), time.monotonic()

    async def one(slot: int) -> None:
        await asyncio.sleep(slot * 0.2)  # staggered, as clinicians are
        for _ in range(iterations):
            if time.monotonic() - start > time_limit_s:
                return
            level.outcomes.append(await clinician_session(stack.url, next(patients), ca_file=stack.ca_file))

    tasks = [asyncio.create_task(one(i)) for i in range(sessions)]
    _, pending = await asyncio.wait(tasks, timeout=time_limit_s + GRACE_S)
    for task in pending:
        task.cancel()
    level.cut = len(pending)
    await asyncio.gather(*pending, return_exceptions=True)
    level.wall_s = time.monotonic() - start
    level.client_cpu_s = time.process_time() - cpu0
    for pid in stack.pids:
        mem = memory_kb(pid)
        level.rss_end_kb[pid], level.hwm_end_kb[pid] = mem["VmRSS"], mem["VmHWM"]
    if stack.database_url:
        level.rows_after = count_rows(stack.database_url)
    return level


def profile_steps(
    outcomes: Sequence[Outcome], runs: Sequence[dict[str, Any]], profile_dir: Path, out_dir: Path
) -> dict[str, list[str]]:
    """Merge the cProfiles of each step's script runs; the top functions by cumulative time per step."""
    files: dict[str, list[Path]] = defaultdict(list)
    by_session: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for run in runs:
        by_session[str(run["session"])].append(run)
    for out in outcomes:
        for step in out.steps:
            if step.name not in STEPS:
                continue
            for session in out.session_ids:
                for run in by_session.get(session, []):
                    if "profile" in run and step.started_at <= run["start"] <= step.ended_at:
                        files[step.name].append(profile_dir / run["profile"])
            if step.name == "handout":
                for run in by_session.get("None", []):
                    if "profile" in run and step.started_at <= run["start"] <= step.ended_at:
                        files[step.name].append(profile_dir / run["profile"])
    tops: dict[str, list[str]] = {}
    out_dir.mkdir(parents=True, exist_ok=True)
    for step_name, paths in files.items():
        stats = pstats.Stats(*map(str, paths))
        per_run = max(1, len(paths))
        entries = sorted(stats.stats.items(), key=lambda kv: kv[1][3], reverse=True)  # type: ignore[attr-defined]
        lines = []
        for (filename, line, func), (_, _, tottime, cumtime, _) in entries:
            short = filename.replace(str(ROOT) + "/", "").split("site-packages/")[-1]
            if short.startswith(("<", "~")) or "threading.py" in short or "cProfile" in short:
                continue
            lines.append(
                f"{cumtime / per_run * 1000:8.1f} ms cum {tottime / per_run * 1000:7.1f} ms own  "
                f"{short}:{line} {func}"
            )
            if len(lines) == 25:
                break
        tops[step_name] = lines
        (out_dir / f"{step_name.replace(' ', '-')}.txt").write_text(
            f"{step_name}: {len(paths)} script runs, per run\n" + "\n".join(lines) + "\n"
        )
    return tops


def _ms(value: float) -> str:
    return "–" if math.isnan(value) else f"{value * 1000:,.0f} ms" if value < 1 else f"{value:.2f} s"


def render(
    levels: Sequence[Level], meta: dict[str, Any], tops: dict[str, list[str]], day: dict[str, Any] | None
) -> str:
    """bench/load.md: targets beside figures, the curve, the profiles of missed steps."""
    last = levels[-1]
    walls = last.step_walls()
    lines = [
        "# Stride load benchmark",
        "",
        f"Run {meta['when']} on {meta['machine']}; load average at start {meta['load_start']}, at end "
        f"{meta['load_end']} (the machine is shared: figures under other engineers' load are noisy). "
        f"Commit {meta['commit']}; {meta['stack']}; {meta['patients']} patients; "
        f"{meta['iterations']} iterations per session; time limit {meta['time_limit_s']:.0f} s per level.",
        "",
        f"## At {last.sessions} sessions",
        "",
        "| step | n | wall p50 | wall p95 | server p50 | server p95 | server CPU p50 | target | |",
        "|---|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for name in STEPS:
        w, s, c = walls.get(name, []), last.server_s.get(name, []), last.server_cpu_s.get(name, [])
        p95 = percentile(w, 95)
        verdict = "pass" if p95 < TARGET_P95_S else "**miss**"
        lines.append(
            f"| {name} | {len(w)} | {_ms(percentile(w, 50))} | {_ms(p95)} | {_ms(percentile(s, 50))} | "
            f"{_ms(percentile(s, 95))} | {_ms(percentile(c, 50))} | p95 < {TARGET_P95_S:.0f} s | {verdict} |"
        )
    lines += ["", "| measure | value | target | |", "|---|---:|---|---|"]
    errors = last.errors
    lines.append(f"| errors | {len(errors)} | 0 | {'pass' if not errors else '**miss**'} |")
    stored = last.stored("visits")
    lines.append(
        f"| saves acknowledged / visits stored | {last.acknowledged} / {stored} | equal | "
        f"{'pass' if stored == last.acknowledged else '**miss**'} |"
    )
    handouts = last.stored("handouts")
    lines.append(
        f"| handouts downloaded (PDF) / stored | {last.downloaded} / {handouts} | equal | "
        f"{'pass' if handouts == last.downloaded else '**miss**'} |"
    )
    for pid in last.rss_end_kb:
        mb = last.rss_end_kb[pid] / 1024
        lines.append(
            f"| RSS of process {pid}: start → end (peak) | {last.rss_start_kb[pid] / 1024:.0f} → {mb:.0f} MB "
            f"({last.hwm_end_kb[pid] / 1024:.0f}) | < {TARGET_RSS_MB:.0f} MB | "
            f"{'pass' if mb < TARGET_RSS_MB else '**miss**'} |"
        )
    lines.append(f"| load client's CPU time | {last.client_cpu_s:.1f} s of {last.wall_s:.0f} s | | |")
    if spread := meta.get("sessions_per_process"):  # through the proxy: its sticky routing at work
        lines.append(
            f"| websocket sessions per app process (all levels) | {' / '.join(map(str, spread))} | "
            f"each > 0 | {'pass' if all(spread) else '**miss**'} |"
        )
    lines += [
        "",
        "## p95 against sessions",
        "",
        "| sessions | sessions run | " + " | ".join(STEPS) + " | errors | client CPU | RSS end |",
        "|---:|---:|" + "---:|" * (len(STEPS) + 3),
    ]
    for level in levels:
        level_walls = level.step_walls()
        rss = ", ".join(f"{v / 1024:.0f} MB" for v in level.rss_end_kb.values())
        lines.append(
            f"| {level.sessions} | {len(level.outcomes)} | "
            + " | ".join(_ms(percentile(level_walls.get(n, []), 95)) for n in STEPS)
            + f" | {len(level.errors)} | {level.client_cpu_s:.1f} s | {rss} |"
        )
    if errors:
        lines += ["", "### Errors (first 20)", "", *[f"- {e}" for e in errors[:20]]]
    if tops:
        lines += [
            "",
            "## Where each step's server time goes (cProfile, per script run)",
            "",
            f"{meta.get('profile_note', '')}",
            "",
        ]
        for name in STEPS:
            if name in tops:
                lines += [f"### {name}", "", "```", *tops[name][:12], "```", ""]
    if day:
        from tests.load.day import render_day

        lines += ["", *render_day(day)]
    lines += [
        "",
        "## Method",
        "",
        "A protocol-level client (tests/load/protocol.py) speaks Streamlit's websocket protocol as a browser "
        "tab does; tests/load/test_client_matches_browser.py checks it against Chromium. Wall time: from the "
        "BackMsg to the end of the script run(s) it caused. Server time: the sum of those script runs as the "
        "server timed them (STRIDE_RUN_LOG, server.py), side-by-side work counted once; server CPU: "
        "those runs' thread CPU time, the work itself whatever else the cores were doing. 'visit field' "
        "pools the field edits of the visit form.",
        "",
    ]
    return "\n".join(lines)


def write_outputs(text: str, data: dict[str, Any], out_dir: Path) -> None:
    """bench/load.md, bench/load.json and the load section of bench/results.md (others' text kept)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "load.md").write_text(text)
    (out_dir / "load.json").write_text(json.dumps(data, indent=1, default=str))
    results = out_dir / "results.md"
    current = results.read_text() if results.exists() else "# Stride benchmark results\n"
    if SECTION_START in current:
        head, _, rest = current.partition(SECTION_START)
        _, _, tail = rest.partition(SECTION_END)
        current = head.rstrip() + "\n" + tail.lstrip("\n")
    summary = text.split("## p95 against sessions")[0].split("\n", 2)[2]
    link = "Full report: [load.md](load.md)."
    section = f"{SECTION_START}\n## Load (make load)\n\n{link}\n\n{summary.strip()}\n{SECTION_END}\n"
    results.write_text(current.rstrip() + "\n\n" + section)


def _commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _load_avg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Stride's load benchmark (make load).")
    parser.add_argument(
        "--sessions", default="5,10,20,30", help="comma-separated levels (default 5,10,20,30)"
    )
    parser.add_argument("--iterations", type=int, default=2, help="clinician sessions per slot (default 2)")
    parser.add_argument(
        "--time-limit", type=float, default=120.0, help="seconds per level before no new session"
    )
    parser.add_argument("--patients", type=int, default=200, help="size of the seeded clinic (default 200)")
    parser.add_argument("--url", help="drive a stack already running at this base URL")
    parser.add_argument(
        "--stack",
        choices=("local", "proxy"),
        default="local",
        help="local: one app process on SQLite (default); proxy: nginx with TLS in front of --processes app "
        "processes on a throwaway PostgreSQL, as deployed",
    )
    parser.add_argument("--processes", type=int, default=2, help="app processes behind the proxy (default 2)")
    parser.add_argument(
        "--pid", type=int, action="append", default=[], help="an app process of --url (repeat)"
    )
    parser.add_argument("--database-url", help="the database of --url, to count stored rows")
    parser.add_argument("--run-log", type=Path, help="the STRIDE_RUN_LOG the processes of --url append to")
    parser.add_argument("--no-profile", action="store_true", help="no cProfile pass when a target is missed")
    parser.add_argument("--no-day", action="store_true", help="skip memory over a working day (day.py)")
    parser.add_argument("--day-sessions", type=int, default=200)
    parser.add_argument("--out", type=Path, default=BENCH_DIR)
    return parser.parse_args(argv)


def _missed(level: Level) -> bool:
    walls = level.step_walls()
    return (
        any(percentile(walls.get(n, []), 95) >= TARGET_P95_S for n in STEPS)
        or bool(level.errors)
        or any(v / 1024 >= TARGET_RSS_MB for v in level.rss_end_kb.values())
    )


def _measure(stack: Stack, args: argparse.Namespace, levels_n: Sequence[int]) -> list[Level]:
    refs = patient_refs(stack.database_url) if stack.database_url else [f"DEMO-{i:05d}" for i in range(1, 41)]
    levels = []
    for n in levels_n:
        offset = len(read_run_log(stack.run_log))
        level = asyncio.run(run_level(stack, n, args.iterations, args.time_limit, refs))
        runs = read_run_log(stack.run_log)[offset:]
        level.server_s, level.server_cpu_s = server_time_by_step(level.outcomes, runs)
        levels.append(level)
        walls = level.step_walls()
        print(
            f"{n:3d} sessions: {len(level.outcomes)} run, {len(level.errors)} errors, "
            + ", ".join(f"{name} p95 {_ms(percentile(walls.get(name, []), 95))}" for name in STEPS),
            flush=True,
        )
    return levels


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    levels_n = [int(x) for x in args.sessions.split(",") if x.strip()]
    meta: dict[str, Any] = {
        "when": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}",
        "load_start": _load_avg(),
        "commit": _commit(),
        "patients": args.patients,
        "iterations": args.iterations,
        "time_limit_s": args.time_limit,
    }
    tops: dict[str, list[str]] = {}
    with tempfile.TemporaryDirectory(prefix="stride-load-") as tmp:
        work = Path(tmp)
        if args.url:
            if not args.pid or not args.database_url:
                raise SystemExit(
                    "--url needs the app processes' --pid (one per process) and its --database-url"
                )
            if not is_demo(args.database_url):
                # The load records visits and gives handouts: never into a real clinic's records.
                raise SystemExit("refused: the load writes visits, and --database-url is not a demo clinic")
            meta["stack"] = f"a running stack at {args.url} ({len(args.pid)} processes)"
            stack = Stack(args.url, args.pid, args.database_url, args.run_log)
            levels = _measure(stack, args, levels_n)
        elif args.stack == "proxy":
            meta["stack"] = (
                f"nginx (docs/nginx/stride.conf, TLS, sticky route cookie) in front of {args.processes} app "
                "processes on one PostgreSQL (throwaway cluster), loopback"
            )
            with proxy_server(work / "proxy", patients=args.patients, processes=args.processes) as stack:
                levels = _measure(stack, args, levels_n)
                meta["sessions_per_process"] = sessions_per_process(stack)
            meta["profile_note"] = (
                "No profile pass through the proxy: the per-step profiles come from the one-process run "
                "(make load without --stack)."
            )
        else:
            meta["stack"] = "one app process (streamlit run server.py), SQLite, loopback"
            with local_server(work / "app", patients=args.patients) as stack:
                levels = _measure(stack, args, levels_n)
            if _missed(levels[-1]) and not args.no_profile:
                profile_dir = work / "profiles"
                small = min(levels_n)
                env = {"STRIDE_PROFILE_DIR": str(profile_dir)}
                with local_server(work / "app", patients=args.patients, extra_env=env) as stack:
                    profiled = _measure(stack, args, [small])
                    runs = read_run_log(stack.run_log)
                tops = profile_steps(profiled[0].outcomes, runs, profile_dir, args.out / "load-profiles")
                meta["profile_note"] = (
                    f"A separate pass at {small} sessions under cProfile (which slows the code it profiles): "
                    "the work one step costs the server, in milliseconds per script run. Full lists in "
                    "bench/load-profiles/."
                )
        day = None
        if not args.no_day:
            from tests.load.day import working_day

            day = working_day(work / "day", patients=args.patients, sessions=args.day_sessions)
    meta["load_end"] = _load_avg()
    text = render(levels, meta, tops, day)
    data = {"meta": meta, "levels": [_level_dict(level) for level in levels], "day": day}
    write_outputs(text, data, args.out)
    print(text)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(f"load client CPU: {usage.ru_utime + usage.ru_stime:.1f} s", flush=True)
    return (
        0 if not levels[-1].errors and levels[-1].stored("visits") in (None, levels[-1].acknowledged) else 1
    )


def _level_dict(level: Level) -> dict[str, Any]:
    walls = level.step_walls()
    return {
        "sessions": level.sessions,
        "sessions_run": len(level.outcomes),
        "wall_s": level.wall_s,
        "client_cpu_s": level.client_cpu_s,
        "errors": level.errors,
        "saves_acknowledged": level.acknowledged,
        "visits_stored": level.stored("visits"),
        "handouts_downloaded": level.downloaded,
        "handouts_stored": level.stored("handouts"),
        "rss_start_kb": level.rss_start_kb,
        "rss_end_kb": level.rss_end_kb,
        "hwm_end_kb": level.hwm_end_kb,
        "steps": {
            n: {
                "n": len(walls.get(n, [])),
                "wall_p50": percentile(walls.get(n, []), 50),
                "wall_p95": percentile(walls.get(n, []), 95),
                "server_p50": percentile(level.server_s.get(n, []), 50),
                "server_p95": percentile(level.server_s.get(n, []), 95),
                "server_mean": statistics.fmean(level.server_s[n]) if level.server_s.get(n) else math.nan,
                "server_cpu_p50": percentile(level.server_cpu_s.get(n, []), 50),
            }
            for n in STEPS
        },
    }


if __name__ == "__main__":
    raise SystemExit(main())
