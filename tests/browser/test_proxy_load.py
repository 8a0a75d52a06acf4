"""The load client through the deployed stack (issue 24): nginx with TLS and its sticky route cookie in
front of two app processes on one PostgreSQL, as `make load ARGS="--stack proxy"` drives it.

Two clinician sessions at once, each pinned to its own process by a route cookie nginx's hash sends
there: every step answers without an error, every acknowledged save and every handout is stored once,
and nginx's log shows each process serving its session's websocket. A missing nginx or PostgreSQL
fails under CI=true and skips otherwise.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import fresh_database, missing_requirement
from tests.load.journey import Outcome, clinician_session
from tests.load.server import count_rows, patient_refs, seed
from tests.proxy_stack import ROUTE_COOKIE, Stack, nginx_path, start_stack

pytestmark = [pytest.mark.browser, pytest.mark.postgres]


async def two_sessions(url: str, refs: list[str], routes: list[str], ca_file: Path) -> list[Outcome]:
    return list(
        await asyncio.gather(
            *(
                clinician_session(url, ref, ca_file=ca_file, cookies={ROUTE_COOKIE: route})
                for ref, route in zip(refs, routes, strict=True)
            )
        )
    )


def streams_since(stack: Stack, before: list[int], wait_s: float = 10.0) -> list[int]:
    """Websocket sessions each process served since `before`: nginx logs a websocket when it closes."""
    deadline = time.monotonic() + wait_s
    while True:
        now = stack.requests_per_process("/_stcore/stream")
        streams = [n - m for n, m in zip(now, before, strict=True)]
        if all(streams) or time.monotonic() > deadline:
            return streams
        time.sleep(0.2)


def test_two_sessions_through_the_proxy_on_two_processes_lose_nothing(tmp_path: Path) -> None:
    if nginx_path() is None:
        missing_requirement("nginx is missing: run scripts/ensure-system-packages")
    with fresh_database("postgresql", tmp_path) as url:
        seed(url, 20)
        stack = start_stack(tmp_path / "stack", url, extra_env={"MALLOC_ARENA_MAX": "2"})
        try:
            refs = patient_refs(url)[:2]
            routes = [stack.route_to(0), stack.route_to(1)]
            before = count_rows(url)
            streams_before = stack.requests_per_process("/_stcore/stream")
            # In a thread of its own: the browser tests' Playwright already runs an event loop here.
            with ThreadPoolExecutor(max_workers=1) as pool:
                running = pool.submit(asyncio.run, two_sessions(stack.url, refs, routes, stack.certificate))
                outcomes = running.result()
            after = count_rows(url)
            streams = streams_since(stack, streams_before)
        finally:
            stack.stop()
    assert [o.errors for o in outcomes] == [[], []]
    assert sum(o.saves_acknowledged for o in outcomes) == after["visits"] - before["visits"] == 2
    assert sum(o.handouts for o in outcomes) == after["handouts"] - before["handouts"] == 2
    assert all(n > 0 for n in streams), f"websocket sessions per process: {streams}"
