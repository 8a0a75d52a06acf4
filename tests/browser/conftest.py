"""Browser tests: the real app under Streamlit, driven by Playwright with Debian's Chromium.

Every test in tests/browser/ is marked `browser` and put in the xdist group "browser", so under
`-n 2 --dist loadgroup` they all run on one worker against one app server. The server runs
`server.py` (the ASGI entry serving app.py with the login-cookie routes) from the repository root
(so it reads the committed .streamlit/config.toml) on a free loopback port, with
STRIDE_DATABASE_URL naming a SQLite file seeded with the demo clinic.

Chromium is /usr/bin/chromium (never `playwright install`); when it is missing the tests fail
under CI=true and are skipped otherwise. Failing tests leave a screenshot in
test-artifacts/screenshots/.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, missing_requirement

BROWSER_DIR = Path(__file__).resolve().parent
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
HEALTH_TIMEOUT_S = 60.0
DEMO_PATIENTS = 12
DEMO_SEED = 7

APP_SELECTOR = '[data-testid="stApp"]'
# Streamlit exposes its state on the app root; "notRunning" means the script run has finished.
CONNECTED_SELECTOR = '[data-testid="stApp"][data-test-connection-state="CONNECTED"]'
IDLE_SELECTOR = '[data-testid="stApp"][data-test-script-state="notRunning"]'
STATUS_WIDGET_SELECTOR = '[data-testid="stStatusWidget"]'
EXCEPTION_SELECTOR = '[data-testid="stException"]'
# What Streamlit shows instead of the exception when client.showErrorDetails = "none".
REDACTED_ERROR_TEXT = "This app has encountered an error"


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test under tests/browser/ as `browser` and group it on one xdist worker.

    tryfirst: `-m` deselection and pytest-xdist read the marks in their own collection hooks.
    """
    loadgroup = bool(getattr(config.option, "loadgroup", False))  # set in xdist workers only
    for item in items:
        if item.path.is_relative_to(BROWSER_DIR):
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.xdist_group("browser"))
            if loadgroup:
                _suffix_group_for_xdist(item, "browser")


def _suffix_group_for_xdist(item: pytest.Item, group: str) -> None:
    """Work around pytest-xdist#1386 (open; fix proposed in #1388).

    xdist's loadgroup tells the scheduler a test's group by appending "@group" to the nodeid,
    writing `item._nodeid`. pytest 9.2 keeps the id in a structured `item._id` instead, so that
    write is ignored and grouped tests are spread over the workers (one app server each). Where
    that is the case, put the suffix on the structured id ourselves; an xdist that does it too
    yields "...@browser@browser", which the scheduler still reads as group "browser".
    Remove this when the pinned xdist groups correctly without it.
    """
    if hasattr(item, "_nodeid") or not hasattr(item, "_id") or item.nodeid.endswith(f"@{group}"):
        return
    from _pytest.nodeid import NodeId

    item._id = NodeId.parse(f"{item.nodeid}@{group}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Keep each phase's report on the item so the `page` fixture can see a failure."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def seed_demo(database_url: str, patients: int = DEMO_PATIENTS, seed: int = DEMO_SEED) -> None:
    """Fill a database with the fictional demo clinic (`python -m data.demo`)."""
    cmd = [sys.executable, "-m", "data.demo", "--database-url", database_url]
    cmd += ["--patients", str(patients), "--seed", str(seed)]
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    if result.returncode != 0:
        pytest.fail(f"seeding the demo clinic failed ({result.returncode}):\n{result.stderr[-4000:]}")


def _health(base_url: str) -> str:
    # No proxy: the environment may name one, and loopback must never go through it.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(f"{base_url}/_stcore/health", timeout=2) as response:
            return str(response.read().decode().strip())
    except OSError:
        return ""


class AppServer:
    """One `streamlit run` process; `.url` is its base URL, `.log` its combined output."""

    def __init__(
        self,
        database_url: str,
        log_path: Path,
        *,
        app: Path = ROOT / "server.py",
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.database_url = database_url
        self.log_path = log_path
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "STRIDE_DATABASE_URL": database_url, "PYTHONUNBUFFERED": "1"}
        env.update(extra_env or {})
        cmd = [
            sys.executable, "-m", "streamlit", "run", str(app),
            "--server.headless", "true",
            "--server.address", "127.0.0.1",
            "--server.port", str(self.port),
            "--browser.gatherUsageStats", "false",
            "--server.fileWatcherType", "none",
        ]  # fmt: skip
        with open(log_path, "wb") as log:
            self.process = subprocess.Popen(
                cmd, cwd=app.parent, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            )
        try:
            self._wait_healthy()
        except BaseException:
            self.stop()
            raise

    def log_tail(self, lines: int = 40) -> str:
        """The last lines the server printed (tracebacks end up here, never in the browser)."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + HEALTH_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"streamlit exited with {self.process.returncode}:\n{self.log_tail()}")
            if _health(self.url) == "ok":
                return
            time.sleep(0.2)
        pytest.fail(f"streamlit was not healthy after {HEALTH_TIMEOUT_S:.0f} s:\n{self.log_tail()}")

    def stop(self) -> None:
        """Stop the server by its PID (terminate, then kill after 10 s)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


@pytest.fixture(scope="session")
def app_server_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., AppServer]]:
    """Start extra app servers: `start(database_url=None, seed=True, extra_env=None)`.

    Without a database_url each server gets a fresh SQLite file (seeded with the demo clinic
    unless seed=False). Every server started here is stopped at the end of the session.
    """
    servers: list[AppServer] = []
    tmp_path_factory.getbasetemp()  # set up the base folder once: mktemp is not thread-safe before that

    def start(
        database_url: str | None = None, *, seed: bool = True, extra_env: dict[str, str] | None = None
    ) -> AppServer:
        work = tmp_path_factory.mktemp("app")
        if database_url is None:
            database_url = f"sqlite:///{work}/stride.sqlite3"
            if seed:
                seed_demo(database_url)
        server = AppServer(database_url, work / "streamlit.log", extra_env=extra_env)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def app(app_server_factory: Callable[..., AppServer]) -> AppServer:
    """The session's app server (demo clinic, 12 patients, seed 7), with its URL, database and log."""
    return app_server_factory()


@pytest.fixture(scope="session")
def app_server(app: AppServer) -> str:
    """Base URL of the session's app server, e.g. http://127.0.0.1:40123."""
    return app.url


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium under Playwright's sync API, one per session (per xdist worker)."""
    if not os.access(CHROMIUM, os.X_OK):
        missing_requirement(f"{CHROMIUM} is missing: run scripts/ensure-system-packages")
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        missing_requirement("playwright is not installed in the venv (requirements-dev.txt)")
    # Waiting assertions get the same patience as every other wait here (Playwright's default is 5 s,
    # short on a loaded 2-core machine).
    expect.set_options(timeout=30_000)
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        playwright.stop()


def _artifact_name(nodeid: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid.removeprefix("tests/browser/"))[:150]


def screenshot(page: Any, name: str) -> Path:
    """Save a full-page screenshot as test-artifacts/screenshots/<name>.png and return its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{_artifact_name(name)}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A page in a fresh browser context (1280x800, own cookies); screenshot on failure."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=True)
    context.set_default_timeout(30_000)
    new_page = context.new_page()
    try:
        yield new_page
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            screenshot(new_page, f"FAILED-{request.node.nodeid}")
    finally:
        context.close()


def wait_for_app(page: Any, timeout_ms: float = 30_000, settle_ms: float = 150) -> None:
    """Wait until Streamlit is connected and has finished running the script.

    Call it after `goto` and after every interaction that reruns the script; `settle_ms`
    gives a just-triggered rerun time to start before we wait for it to finish.
    """
    page.wait_for_selector(APP_SELECTOR, timeout=timeout_ms)
    page.wait_for_selector(CONNECTED_SELECTOR, timeout=timeout_ms)
    page.wait_for_timeout(settle_ms)
    page.wait_for_selector(IDLE_SELECTOR, timeout=timeout_ms)
    page.wait_for_selector(STATUS_WIDGET_SELECTOR, state="detached", timeout=timeout_ms)


# True once no finite CSS animation or transition is running (e.g. the sidebar's slide-out) and every
# drawn Plotly chart has laid out to its container's width (they re-lay out after a resize).
_STILL_JS = """() => {
  const moving = document.getAnimations().some(a => a.playState === "running"
    && a.effect && a.effect.getComputedTiming().endTime !== Infinity);
  if (moving) return false;
  return [...document.querySelectorAll(".js-plotly-plot")].every(plot => {
    const svg = plot.querySelector(".main-svg");
    return !svg || Math.abs(svg.getBoundingClientRect().width - plot.getBoundingClientRect().width) < 2;
  });
}"""


def wait_for_layout(page: Any, timeout_ms: float = 30_000) -> None:
    """Wait until the page has stopped moving: no running animation, every chart laid out.

    Use it instead of a fixed pause before a screenshot or an axe scan, and after a resize.
    """
    page.wait_for_function(_STILL_JS, timeout=timeout_ms)


def wait_for_sidebar_closed(page: Any, timeout_ms: float = 30_000) -> None:
    """Wait until the collapsed sidebar has slid out of the window (its expand button is shown)."""
    page.locator('[data-testid="stExpandSidebarButton"]').wait_for(timeout=timeout_ms)
    page.wait_for_function(
        "() => { const s = document.querySelector('[data-testid=stSidebar]');"
        " return !s || s.getBoundingClientRect().right <= 0; }",
        timeout=timeout_ms,
    )
    wait_for_layout(page, timeout_ms)


def wait_for_login_cookie(page: Any, timeout_ms: float = 30_000) -> None:
    """After a login, wait until the browser has fetched its session cookie and the page is back.

    A successful login sends the browser to /_stride/claim (server.py), which sets the HttpOnly
    `stride_session` cookie and redirects to the same page in a new Streamlit session; anything typed
    before that reload would be lost. The cookie is HttpOnly, so it is read from the context.
    """
    from playwright.sync_api import expect

    deadline = time.monotonic() + timeout_ms / 1000
    while not any(c["name"] == "stride_session" for c in page.context.cookies()):
        if time.monotonic() > deadline:
            raise AssertionError("the login never fetched its session cookie")
        time.sleep(0.1)
    page.wait_for_load_state()
    wait_for_app(page, timeout_ms)
    expect(page.get_by_text("Log out")).to_be_attached(timeout=timeout_ms)  # the sidebar may be closed


def assert_no_exception(page: Any, server: AppServer | None = None) -> None:
    """Fail if the page shows an exception, a traceback or Streamlit's redacted error notice.

    Pass the `app` fixture as `server` to get the server log (with the traceback) in the failure.
    """
    problems = []
    if page.locator(EXCEPTION_SELECTOR).count():
        problems.append("an st.exception element")
    if page.get_by_text("Traceback").count():
        problems.append('the text "Traceback"')
    if page.get_by_text(REDACTED_ERROR_TEXT).count():
        problems.append("Streamlit's redacted-error notice")
    if problems:
        log = f"\nserver log:\n{server.log_tail()}" if server is not None else ""
        pytest.fail(f"the page shows {', '.join(problems)}{log}", pytrace=False)
