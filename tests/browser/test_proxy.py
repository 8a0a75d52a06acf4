"""Stride as deployed (issue 24): real nginx with docs/nginx/stride.conf, two app processes, one PostgreSQL.

The stack (tests/proxy_stack.py) serves HTTPS on a loopback port with a certificate made for this
run; Chromium ignores that it is self-signed, Python's client trusts exactly it. Each browser
context is pinned to a process by a route cookie chosen so that nginx's consistent hash sends it
there; which process served a request is read from nginx's access log. A missing nginx, Chromium or
PostgreSQL fails under CI=true and skips otherwise.
"""

from __future__ import annotations

import datetime as dt
import http.client
import re
import tomllib
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from data import demo
from data.store import open_store
from tests.browser.conftest import assert_no_exception, screenshot, wait_for_app
from tests.browser.test_two_servers import PAIN_LABEL, go_to, log_in, newest_visit_row, open_patient
from tests.conftest import ROOT, fresh_database, missing_requirement
from tests.proxy_stack import ROUTE_COOKIE, SITE_TEMPLATE, Stack, nginx_path, start_stack

pytestmark = [pytest.mark.browser, pytest.mark.postgres]

MAX_UPLOAD_MB = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["server"]["maxUploadSize"]
SITE = SITE_TEMPLATE.read_text(encoding="utf-8")
SECURITY_HEADERS = {
    "strict-transport-security": "max-age=31536000",
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The demo clinic (6 patients, seed 11) on a fresh PostgreSQL database, behind nginx."""
    if nginx_path() is None:
        missing_requirement("nginx is missing: run scripts/ensure-system-packages")
    work = tmp_path_factory.mktemp("proxy")
    with fresh_database("postgresql", work) as url:
        store = open_store(url)
        try:
            demo.generate(store, patients=6, seed=11)
        finally:
            store.close()
        stack = start_stack(work / "stack", url)
        try:
            yield stack
        finally:
            stack.stop()  # before the database is dropped under it


@pytest.fixture
def pinned_page(browser: Any, stack: Stack, request: pytest.FixtureRequest) -> Iterator[Callable[[int], Any]]:
    """`pinned_page(i)`: a page in its own browser context whose route cookie nginx sends to process i."""
    contexts: list[Any] = []

    def make(index: int) -> Any:
        context = browser.new_context(viewport={"width": 1280, "height": 900}, ignore_https_errors=True)
        context.set_default_timeout(30_000)
        context.add_cookies([route_cookie(stack, stack.route_to(index))])
        contexts.append(context)
        return context.new_page()

    try:
        yield make
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            for i, context in enumerate(contexts):
                for page in context.pages:
                    screenshot(page, f"FAILED-{request.node.nodeid}-{i}")
    finally:
        for context in contexts:
            context.close()


def route_cookie(stack: Stack, value: str) -> dict[str, Any]:
    return {"name": ROUTE_COOKIE, "value": value, "url": stack.url, "secure": True, "httpOnly": True}


def process_of(page: Any, stack: Stack) -> int:
    """Which app process nginx sends this browser context to now (its own cookies, read from the log)."""
    marker = uuid.uuid4().hex
    response = page.context.request.get(f"{stack.url}/_stride/route-probe/{marker}")
    assert response.ok
    return stack.upstream_of_request(marker)


def type_a_visit(page: Any, pain: str) -> None:
    """On the Visit page, the pain typed and committed, and anything carried forward confirmed."""
    go_to(page, "Visit")
    field = page.get_by_label(PAIN_LABEL, exact=True)
    field.fill(pain)
    field.press("Enter")
    wait_for_app(page)
    page.get_by_role("button", name="Save visit").wait_for()  # the form is drawn down to its end
    confirm = page.locator('[data-testid="stCheckbox"]', has_text="Confirm carried-forward items")
    if confirm.count():
        confirm.click()
        wait_for_app(page)


def save_visit_with_pain(page: Any, pain: str) -> None:
    type_a_visit(page, pain)
    page.get_by_role("button", name="Save visit").click()
    wait_for_app(page)
    page.get_by_text("Visit saved.").wait_for()


def code_block_after(markdown: str, marker: str) -> str:
    """The first fenced code block after the line containing `marker`."""
    tail = markdown[markdown.index(marker) :]
    found = re.search(r"^```[a-z]*\n(.*?)^```$", tail, flags=re.S | re.M)
    assert found is not None, f"no code block after {marker!r}"
    return found.group(1)


# --- the configuration itself --------------------------------------------------------------------


def test_the_deployment_guide_shows_exactly_the_configuration_the_tests_run() -> None:
    guide = (ROOT / "docs" / "deployment.md").read_text(encoding="utf-8")
    assert code_block_after(guide, "docs/nginx/stride.conf") == SITE


def test_the_proxy_accepts_every_upload_the_app_accepts_and_not_much_more() -> None:
    limit = re.search(r"^\s*client_max_body_size (\d+)m;", SITE, flags=re.M)
    assert limit is not None
    # The app bounds the file; the request around it adds a few hundred bytes of multipart framing.
    assert int(limit.group(1)) == MAX_UPLOAD_MB + 1
    assert f"({MAX_UPLOAD_MB} MB)" in SITE  # the proxy's own refusal names the same limit


def test_the_proxy_passes_websockets_and_keeps_an_idle_one_open() -> None:
    location = SITE[SITE.index("location / {") : SITE.index("}", SITE.index("location / {"))]
    for line in (
        "proxy_http_version 1.1;",
        "proxy_set_header Upgrade $http_upgrade;",
        "proxy_set_header Connection $connection_upgrade;",
        "proxy_read_timeout 1h;",  # nginx's default (60 s) would cut an idle clinician's page
        "proxy_set_header X-Forwarded-Proto $scheme;",
        "proxy_set_header X-Forwarded-For $remote_addr;",
    ):
        assert line in location


def test_the_proxy_never_pins_by_address_and_logs_no_query_string() -> None:
    assert "ip_hash" not in SITE and "hash $stride_route consistent;" in SITE
    log_format = SITE[SITE.index("log_format") : SITE.index(";", SITE.index("log_format"))]
    assert "$uri" in log_format
    for leaky in ("$request ", "$request_uri", "$args", "$query_string", "$http_referer", '$request"'):
        assert leaky not in log_format


# --- HTTP through nginx --------------------------------------------------------------------------


def test_plain_http_is_sent_to_https_with_its_path(stack: Stack) -> None:
    connection = http.client.HTTPConnection(stack.http_url.removeprefix("http://"), timeout=30)
    connection.request("GET", "/caseload")
    response = connection.getresponse()
    assert response.status == 301
    assert response.getheader("Location") == f"{stack.url}/caseload"


@pytest.mark.parametrize("path", ["/", "/patients", "/_stcore/health", "/_stride/logout"])
def test_every_response_has_each_security_header_exactly_once(stack: Stack, path: str) -> None:
    status, headers, _ = stack.fetch(path)
    assert status in (200, 303), status
    for name, value in SECURITY_HEADERS.items():
        assert headers.get(name) == [value], (name, headers.get(name))
    [policy] = headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy and "default-src 'self'" in policy


def test_the_route_cookie_is_set_once_and_only_for_a_browser_without_one(stack: Stack) -> None:
    _, first, _ = stack.fetch("/")
    [cookie] = first["set-cookie"]
    route = re.fullmatch(r"stride_route=([0-9a-f]{32}); Path=/; Secure; HttpOnly; SameSite=Lax", cookie)
    assert route is not None, cookie
    _, again, _ = stack.fetch("/", cookie=f"{ROUTE_COOKIE}={route.group(1)}")
    assert "set-cookie" not in again
    # A browser keeps its process: the same cookie always lands on the same one.
    assert len({stack.upstream_of(route.group(1)) for _ in range(5)}) == 1


def upload_request(
    stack: Stack, length: int, body: bytes = b"", session: str = "session"
) -> tuple[int, str, list[tuple[str, str]]]:
    """A PUT to Streamlit's upload route announcing `length` bytes; sends `body`; status, text, headers."""
    host = stack.url.removeprefix("https://")
    connection = http.client.HTTPSConnection(host, timeout=60, context=stack.ssl_context())
    try:
        connection.putrequest("PUT", f"/_stcore/upload_file/{session}/file")
        connection.putheader("Content-Length", str(length))
        connection.putheader("Content-Type", "multipart/form-data; boundary=x")
        connection.endheaders(body or None)
        response = connection.getresponse()
        return response.status, response.read().decode(errors="replace"), response.getheaders()
    finally:
        connection.close()


def test_an_upload_over_streamlits_cap_is_refused_by_the_proxy_with_a_readable_message(stack: Stack) -> None:
    # Streamlit's server reads at most maxUploadSize MiB + 1 MiB of framing; nginx stops one byte later,
    # from the announced length alone, before reading the body.
    status, text, headers = upload_request(stack, (MAX_UPLOAD_MB + 1) * 1024 * 1024 + 1)
    assert status == 413
    assert text == f"This file is larger than Stride accepts ({MAX_UPLOAD_MB} MB). Nothing was uploaded.\n"
    # nginx's own answers carry the security headers too, once each.
    for name, value in SECURITY_HEADERS.items():
        assert [v for k, v in headers if k.lower() == name] == [value], name


def test_a_request_of_exactly_streamlits_cap_passes_the_proxy(stack: Stack) -> None:
    size = (MAX_UPLOAD_MB + 1) * 1024 * 1024
    marker = uuid.uuid4().hex
    status, _, _ = upload_request(stack, size, b"\0" * size, session=marker)
    # nginx read the whole body and handed it to an app process, which refuses it (no session, no
    # XSRF token: a browser sends both) by closing early.
    assert status != 413
    stack.upstream_of_request(marker)


# --- browsers through nginx ----------------------------------------------------------------------


def test_two_browsers_pinned_to_two_processes_share_one_clinic(stack: Stack, pinned_page: Any) -> None:
    today = dt.date.today().isoformat()
    page_a, page_b = pinned_page(0), pinned_page(1)
    sockets: list[str] = []
    page_a.on("websocket", lambda ws: sockets.append(ws.url))

    log_in(page_a, stack.url, "demo.clinician")
    assert sockets and all(url == stack.url.replace("https", "wss") + "/_stcore/stream" for url in sockets)
    session = next(c for c in page_a.context.cookies() if c["name"] == "stride_session")
    assert session["secure"] and session["httpOnly"]  # the app saw X-Forwarded-Proto: https
    open_patient(page_a, "DEMO-00001")
    save_visit_with_pain(page_a, "3")
    assert_no_exception(page_a, stack.apps[0])

    log_in(page_b, stack.url, "demo.admin")
    open_patient(page_b, "DEMO-00001")
    row = newest_visit_row(page_b)
    row.get_by_text(today).wait_for()
    expect(row.get_by_text("Pain 3/10")).to_have_count(1)
    assert_no_exception(page_b, stack.apps[1])
    # Each browser stayed on its own process for the whole visit.
    assert (process_of(page_a, stack), process_of(page_b, stack)) == (0, 1)
    screenshot(page_b, "proxy-visit-seen-through-the-other-process")


def test_the_largest_file_the_app_accepts_passes_the_proxy(
    stack: Stack, pinned_page: Any, tmp_path: Path
) -> None:
    largest = tmp_path / "clinic-export.zip"
    with largest.open("wb") as handle:
        # Sparse: the browser's limit exactly (Streamlit counts 1 MB as 10^6 bytes on Linux and macOS).
        handle.truncate(MAX_UPLOAD_MB * 1000 * 1000)
    page = pinned_page(1)
    log_in(page, stack.url, "demo.admin")
    go_to(page, "Export and import")
    before = len(stack.access_lines())
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(largest))
    # Streamlit uploads the file through nginx (an XSRF-checked request) and then offers to check it.
    expect(page.get_by_role("button", name="Check")).to_be_visible(timeout=120_000)
    uploads = [line for line in stack.access_lines()[before:] if "PUT /_stcore/upload_file/" in line]
    assert len(uploads) == 1 and '" 204 ' in uploads[0], uploads
    # The upload went to the process that holds the browser's Streamlit session.
    assert f"upstream=127.0.0.1:{stack.apps[1].port} " in uploads[0]
    assert_no_exception(page, stack.apps[1])


def test_a_patient_link_token_never_reaches_the_proxy_logs(stack: Stack, pinned_page: Any) -> None:
    token = "ProxyLogProbe" + uuid.uuid4().hex
    page = pinned_page(0)
    page.goto(f"{stack.url}/checkin?t={token}")
    wait_for_app(page)
    log_in(page, stack.url, "demo.clinician")  # a login ticket travels in a query string too
    lines = stack.access_lines()
    assert any('"GET /checkin HTTP/1.1"' in line for line in lines)
    assert any('"GET /_stride/claim HTTP/1.1" 303' in line for line in lines)
    errors = stack.error_log.read_text(errors="replace") if stack.error_log.exists() else ""
    for log in ("\n".join(lines), errors):
        assert token not in log and "?" not in log and "ticket" not in log
