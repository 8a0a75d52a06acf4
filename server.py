"""Stride's web server entry point: `streamlit run server.py` serves app.py with two extra routes.

Streamlit finds `app` below (st.App, ASGI mode under uvicorn). app.py stays the router and the
script AppTests run; this file adds what a script cannot do, because a script never sees an HTTP
response:

- GET /_stride/claim?ticket=...&next=/page swaps a one-time login ticket (dashboard/web_sessions.py)
  for the HttpOnly `stride_session` cookie and redirects (303) back to the page. A meta refresh can
  only issue a GET, so the ticket is what protects it: 256 random bits, stored as a hash, one use,
  60 seconds.
- GET /_stride/logout revokes the cookie's server session, deletes the cookie and goes to "/".
- Security headers on every HTTP response, so a deployment without the proxy sends them too.
- Downloads made on demand stay fetchable (`keep_downloads`): Streamlit 1.67 deletes a file a
  download button's callable made once any two script runs (of any session) end, and drops the
  callable itself when the button is drawn again; with many sessions a browser's fetch came too late
  (HTTP 404) or its request found no callable ("Failed to generate file"), while the handout had
  been recorded as given. A made file is now kept until its first fetch (at most DOWNLOAD_KEEP_S)
  and a redrawn button's previous callable for CALLABLE_KEEP_S; a disabled button still revokes its
  callable at once.
- Keyed widgets read the session state by key (`answer_by_key`): Streamlit 1.67 built a dict of the
  whole session state for every keyed widget, quadratic on the visit form. The startup heap is frozen
  (`gc.freeze`) and Streamlit's full collection after every run is off (.streamlit/config.toml): it
  was the largest item of every interaction's CPU time (docs/performance.md, Load).
- Opt-in measurement hooks for the load benchmark (tests/load/), never on by default:
  STRIDE_RUN_LOG=FILE appends one JSON line per script run and per deferred download (a digest of
  the session id, page hash, start, wall and thread CPU seconds); STRIDE_PROFILE_DIR=DIR also keeps a
  CPU-time cProfile of each (DIR/<n>.prof, named in the line); STRIDE_TRACEMALLOC=FILE starts
  tracemalloc and, on SIGUSR1, writes FILE: traced memory, the top allocation sites, what grew since
  the last signal, and the connected, stored and live Streamlit sessions.

The cookie is Secure when the request came over HTTPS. Behind the proxy that is the proxy's
X-Forwarded-Proto, which uvicorn believes only from FORWARDED_ALLOW_IPS (default 127.0.0.1, the
proxy on the same host).
"""

from __future__ import annotations

import cProfile
import functools
import gc
import hashlib
import itertools
import json
import logging
import os
import signal
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import streamlit as st
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from streamlit.runtime.pages_manager import PagesManager

from dashboard import web_sessions
from dashboard.config import load_settings
from data.store import SqlStore, open_store

log = logging.getLogger("stride")

# Every page is registered by the router's st.navigation. Until a first script run has called it,
# Streamlit treats the pages/ folder as an old-style multipage app: the very first request after a
# restart to a deep link (a patient's /checkin?t=... above all) would show "Page not found" over the
# page, or run a page script without the router. The router's behaviour from the first request on.
PagesManager.uses_pages_directory = False

SECURITY_HEADERS = [
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]
FRAME_ANCESTORS = (b"content-security-policy", b"frame-ancestors 'none'")


@functools.cache
def _store() -> SqlStore:
    # The same database as the router's (migrating is a no-op once the router has opened it).
    return open_store(load_settings().database_url)


def _redirect(target: str) -> Response:
    response = RedirectResponse(target, status_code=303)
    response.headers["Cache-Control"] = "no-store"
    return response


def claim(request: Request) -> Response:
    """Swap a login ticket for the session cookie and go back to the page (303)."""
    target = web_sessions.safe_next(request.query_params.get("next"))
    try:
        token = web_sessions.claim_ticket(_store(), request.query_params.get("ticket", ""))
    except Exception as exc:  # the page then shows the login form; never a traceback
        log.error("login ticket could not be claimed: %s", type(exc).__name__)
        token = None
    response = _redirect(target)
    if token is not None:
        # No Max-Age: the cookie ends with the browser; the server's idle timeout ends it sooner.
        response.set_cookie(
            web_sessions.COOKIE_NAME,
            token,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
            path="/",
        )
    return response


def logout(request: Request) -> Response:
    """Revoke the cookie's session, delete the cookie and go to the start page."""
    token = request.cookies.get(web_sessions.COOKIE_NAME, "")
    try:
        web_sessions.revoke_token(_store(), token, web_sessions.REASON_LOGOUT)
    except Exception as exc:
        log.error("session could not be revoked: %s", type(exc).__name__)
    response = _redirect("/")
    response.delete_cookie(
        web_sessions.COOKIE_NAME,
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    return response


class SecurityHeadersMiddleware:
    """Adds anti-framing, no-sniff and no-referrer headers to every HTTP response (pure ASGI)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [h for h in SECURITY_HEADERS if h[0] not in present]
                if FRAME_ANCESTORS[0] not in present:  # never replace a fuller policy
                    headers.append(FRAME_ANCESTORS)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def session_digest(session_id: str | None) -> str | None:
    """The run log's name for a Streamlit session: a SHA-256 prefix, never the id itself."""
    return hashlib.sha256(session_id.encode()).hexdigest()[:16] if session_id else None


def _measured(
    run: Callable[..., Any], kind: str, log_path: Path, profile_dir: Path | None
) -> Callable[..., Any]:
    """Wrap `run` so each call appends its timing (and cProfile, if asked) to the run log."""
    counter = itertools.count()
    lock = threading.Lock()

    def wrapper(self: Any, arg: Any) -> Any:
        # Thread CPU time, not wall time: the profile shows the run's own work, not its waits for the GIL.
        profile = cProfile.Profile(time.thread_time) if profile_dir is not None else None
        start, wall, cpu = time.time(), time.perf_counter(), time.thread_time()
        try:
            if profile is None:
                return run(self, arg)
            return profile.runcall(run, self, arg)
        finally:
            line: dict[str, Any] = {
                "kind": kind,
                # A digest: a Streamlit session id can resume a disconnected session for a while.
                "session": session_digest(getattr(self, "_session_id", None)),
                "page": getattr(arg, "page_script_hash", None),
                "fragment": bool(getattr(arg, "fragment_id_queue", None)),
                "auto": bool(getattr(arg, "is_auto_rerun", False)),  # a timer's rerun, not a user's
                "start": start,
                "seconds": time.perf_counter() - wall,
                "cpu": time.thread_time() - cpu,
            }
            if profile is not None and profile_dir is not None:
                name = f"{os.getpid()}-{next(counter)}.prof"
                profile.dump_stats(profile_dir / name)
                line["profile"] = name
            with lock, log_path.open("a") as log:
                log.write(json.dumps(line) + "\n")

    return wrapper


_previous_snapshot: list[tracemalloc.Snapshot] = []  # the last summary's, to show what grew since


def _memory_summary(out: Path) -> None:
    """Write what the heap holds after a full collection: tracemalloc's totals, top sites and growth
    since the previous summary, and Streamlit's sessions (connected, kept for reconnection, alive)."""
    from streamlit.runtime import Runtime
    from streamlit.runtime.app_session import AppSession

    gc.collect()
    current, peak = tracemalloc.get_traced_memory()
    snapshot = tracemalloc.take_snapshot()
    top = snapshot.statistics("lineno")[:25]
    grown = snapshot.compare_to(_previous_snapshot[0], "lineno")[:25] if _previous_snapshot else []
    _previous_snapshot[:] = [snapshot]
    manager = Runtime.instance()._session_mgr if Runtime.exists() else None
    summary = {
        "pid": os.getpid(),
        "at": time.time(),
        "traced_bytes": current,
        "traced_peak_bytes": peak,
        "active_sessions": len(manager.list_active_sessions()) if manager else None,
        "stored_sessions": len(manager.list_sessions()) if manager else None,
        "live_app_sessions": sum(isinstance(o, AppSession) for o in gc.get_objects()),
        "tracemalloc_overhead_bytes": tracemalloc.get_tracemalloc_memory(),
        "top": [{"site": str(s.traceback[0]), "bytes": s.size, "blocks": s.count} for s in top],
        "grown": [{"site": str(d.traceback[0]), "bytes": d.size_diff, "blocks": d.count_diff} for d in grown],
    }
    out.write_text(json.dumps(summary, indent=1))


def _install_measurement_hooks() -> None:
    """The opt-in hooks of the module docstring; nothing happens unless their variable is set."""
    if log := os.environ.get("STRIDE_RUN_LOG"):
        from streamlit.runtime.media_file_manager import MediaFileManager
        from streamlit.runtime.scriptrunner.script_runner import ScriptRunner

        profile_dir = Path(p) if (p := os.environ.get("STRIDE_PROFILE_DIR")) else None
        if profile_dir is not None:
            profile_dir.mkdir(parents=True, exist_ok=True)
        run_script: Any = ScriptRunner._run_script
        ScriptRunner._run_script = _measured(run_script, "run", Path(log), profile_dir)  # type: ignore[method-assign]
        deferred: Any = MediaFileManager.execute_deferred
        MediaFileManager.execute_deferred = _measured(deferred, "download", Path(log), profile_dir)  # type: ignore[method-assign]
    if out := os.environ.get("STRIDE_TRACEMALLOC"):
        tracemalloc.start(int(os.environ.get("STRIDE_TRACEMALLOC_FRAMES", "1")))
        signal.signal(signal.SIGUSR1, lambda _signum, _frame: _memory_summary(Path(out)))


# How long a file made by a download button's callable stays fetchable, and how long the callable of a
# button drawn again (a rerun) still answers a click made before the rerun: long enough for a browser
# on a busy server, short enough that memory stays bounded (a handout is 0.1-0.4 MB).
DOWNLOAD_KEEP_S = 120.0
CALLABLE_KEEP_S = 60.0
KEPT_STREAMLIT = "1.67.0"  # the MediaFileManager these methods replace (tests/unit/test_kept_downloads.py)


def keep_downloads(manager_class: Any, clock: Callable[[], float] = time.monotonic) -> None:
    """Keep on-demand download files and superseded download callables for a bounded time (docstring)."""
    kept_files: dict[str, float] = {}  # made file id -> when it may go
    orphaned_at: dict[str, float] = {}  # callable id -> when no session's page showed it any more
    execute: Any = manager_class.execute_deferred
    inactive: Any = manager_class._get_inactive_file_ids

    def execute_deferred(self: Any, file_id: str) -> str:
        url: str = execute(self, file_id)
        with self._lock:  # the made file's id is the last part of its URL, before the extension
            kept_files[url.rsplit("/", 1)[-1].split(".", 1)[0]] = clock() + DOWNLOAD_KEEP_S
            self._storage.stride_fetched = kept_files.pop  # the first fetch ends the keeping (below)
        return url

    def get_inactive_file_ids(self: Any) -> set[str]:  # called with self._lock held
        now = clock()
        for file_id, until in list(kept_files.items()):  # a snapshot: the /media route pops from it
            if until <= now:
                kept_files.pop(file_id, None)
        return set(inactive(self)) - kept_files.keys()

    def remove_orphaned_deferred_callables(self: Any) -> None:  # called with self._lock held
        now = clock()
        shown = {f for files in self._files_by_session_and_coord.values() for f in files.values()}
        for file_id in list(self._deferred_callables):
            if file_id in shown:
                orphaned_at.pop(file_id, None)
            elif now - orphaned_at.setdefault(file_id, now) >= CALLABLE_KEEP_S:
                orphaned_at.pop(file_id, None)
                self._drop_deferred_id(file_id)
        for file_id in [f for f in orphaned_at if f not in self._deferred_callables]:
            del orphaned_at[file_id]  # revoked meanwhile (a disabled button)

    manager_class.execute_deferred = execute_deferred
    manager_class._get_inactive_file_ids = get_inactive_file_ids
    manager_class._remove_orphaned_deferred_callables = remove_orphaned_deferred_callables


KEPT_METHODS = ("execute_deferred", "_get_inactive_file_ids", "_remove_orphaned_deferred_callables")
STREAMLIT_METHODS: dict[str, Any] = {}  # Streamlit's own, as shipped (the tests' baseline)


def end_keeping_when_fetched(storage_class: Any) -> None:
    """A kept file is kept only until the browser has fetched it once: then Streamlit's own rule
    (gone after the next two script runs) applies again, so a clinic export is not left fetchable by
    its address (tests/browser/test_export_download.py)."""
    get_file: Any = storage_class.get_file

    def get_file_then_release(self: Any, filename: str) -> Any:
        found = get_file(self, filename)
        if (fetched := getattr(self, "stride_fetched", None)) is not None:
            fetched(filename.split(".", 1)[0], None)
        return found

    storage_class.get_file = get_file_then_release


def _install_download_keeping() -> None:
    from streamlit.runtime.media_file_manager import MediaFileManager
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

    if getattr(MediaFileManager, "stride_kept", False):  # this file imported twice in one process
        return
    STREAMLIT_METHODS.update({name: getattr(MediaFileManager, name) for name in KEPT_METHODS})
    keep_downloads(MediaFileManager)
    end_keeping_when_fetched(MemoryMediaFileStorage)
    MediaFileManager.stride_kept = True  # type: ignore[attr-defined]


def answer_by_key(safe_class: Any) -> None:
    """Make `filtered_state` a view that looks up one key at a time (see `_install_keyed_state`)."""
    from streamlit.runtime.state.common import is_element_id
    from streamlit.runtime.state.session_state import STREAMLIT_INTERNAL_KEY_PREFIX as internal_prefix

    whole: Any = safe_class.filtered_state

    class KeyedState(Mapping[str, Any]):
        """The session's user keys and widget values by key, each read when asked for."""

        __slots__ = ("_safe",)

        def __init__(self, safe: Any) -> None:
            self._safe = safe

        def __getitem__(self, key: str) -> Any:
            if not isinstance(key, str) or is_element_id(key) or key.startswith(internal_prefix):
                raise KeyError(key)
            with self._safe._lock:
                return self._safe._state[key]

        def __contains__(self, key: object) -> bool:
            try:
                self[key]  # type: ignore[index]
            except KeyError:
                return False
            return True

        def __iter__(self) -> Iterator[str]:
            return iter(whole.fget(self._safe))

        def __len__(self) -> int:
            return len(whole.fget(self._safe))

    safe_class.filtered_state = property(KeyedState)


KEYED_STATE_STREAMLIT = "1.67.0"  # the SafeSessionState.filtered_state this replaces (tests/app)


def _install_keyed_state() -> None:
    # Every keyed widget (number_input, selectbox, text_input, date_input, radio, slider) asks Streamlit
    # 1.67 for `filtered_state` to test `key in state and state[key] is None`, and that property builds
    # a dict of the whole session state each time: a visit form of ~150 widgets over ~300 keys made a
    # full run quadratic (40 % of a save's profile). The view answers that one key; iterating it still
    # gives the whole state, as before. tests/app/test_keyed_state.py checks both agree.
    from streamlit.runtime.state.safe_session_state import SafeSessionState

    if getattr(SafeSessionState, "stride_keyed", False):
        return
    answer_by_key(SafeSessionState)
    SafeSessionState.stride_keyed = True  # type: ignore[attr-defined]


# The modules every page imports sooner or later, imported here once so that they can be frozen below.
WARM_IMPORTS = (
    "pandas",
    "plotly.graph_objects",
    "fpdf",
    "fontTools.subset",
    "dashboard.services",
    "dashboard.charts",
    "dashboard.trends",
    "reports.handout",
    "reports.handout_web",
    "data.library",
)


def _freeze_startup_heap() -> None:
    # Python's full garbage collections walk every tracked object; the modules above alone are
    # hundreds of thousands of them and never become garbage. Frozen (gc.freeze), they are left out,
    # so the collections an interaction triggers (Streamlit's own after-run collection is off in
    # .streamlit/config.toml) walk only what the sessions made.
    import importlib

    for name in WARM_IMPORTS:
        importlib.import_module(name)
    gc.collect()
    gc.freeze()


_install_download_keeping()  # before the measurement hooks, which then time the kept execute_deferred
_install_keyed_state()
_install_measurement_hooks()
_freeze_startup_heap()

app = st.App(
    "app.py",
    routes=[Route(web_sessions.CLAIM_PATH, claim), Route(web_sessions.LOGOUT_PATH, logout)],
    middleware=[Middleware(SecurityHeadersMiddleware)],
)
