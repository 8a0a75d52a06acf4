"""The login survives a refresh and new tabs of the same browser, until logout or the idle timeout.

The browser holds only the HttpOnly `stride_session` cookie; the database holds its SHA-256.
"""

from __future__ import annotations

import hashlib
import sqlite3
from typing import Any

import pytest

from tests.browser.conftest import assert_no_exception, wait_for_app
from tests.browser.test_pages_in_browser import go_to, log_in, open_patient

COOKIE = "stride_session"


def _login_shown(page: Any) -> None:
    page.get_by_role("button", name="Log in").wait_for()
    assert page.get_by_text("Log out").count() == 0
    assert page.get_by_text("DEMO-0").count() == 0


def _logged_in(page: Any) -> None:
    page.get_by_text("Log out").wait_for()
    assert page.get_by_role("button", name="Log in").count() == 0


def _session_cookie(page: Any) -> dict[str, Any]:
    # The claim route sets the cookie on a redirect right after login: wait for it to arrive.
    for _ in range(50):
        cookies = [c for c in page.context.cookies() if c["name"] == COOKIE]
        if cookies:
            return dict(cookies[0])
        page.wait_for_timeout(100)
    pytest.fail(f"no {COOKIE} cookie was set after login", pytrace=False)


def _log_in_with_cookie(page: Any, url: str) -> dict[str, Any]:
    log_in(page, url)
    cookie = _session_cookie(page)
    wait_for_app(page)
    _logged_in(page)
    return cookie


def _db(server: Any) -> sqlite3.Connection:
    return sqlite3.connect(server.database_url.removeprefix("sqlite:///"))


@pytest.fixture(scope="module")
def server(app_server_factory):  # type: ignore[no-untyped-def]
    return app_server_factory()


def test_a_refresh_keeps_the_clinician_logged_in_on_the_same_page(page, server):
    _log_in_with_cookie(page, server.url)
    go_to(page, "Caseload")
    assert page.url.endswith("/caseload")
    page.reload()
    wait_for_app(page)
    _logged_in(page)
    assert page.url.endswith("/caseload")
    page.get_by_role("heading", name="Caseload").first.wait_for()
    assert_no_exception(page, server)


@pytest.mark.parametrize("title", ["Visit", "Progress", "Plan & handout"])
def test_a_refresh_in_the_middle_of_an_appointment_keeps_the_patient(page, server, title):
    _log_in_with_cookie(page, server.url)
    open_patient(page, "DEMO-00010")
    go_to(page, title)
    page.get_by_text("DEMO-00010").first.wait_for()
    page.reload()
    wait_for_app(page)
    _logged_in(page)
    page.get_by_text("DEMO-00010").first.wait_for()  # the patient is still the one on screen
    assert page.get_by_text("Choose a patient first").count() == 0
    assert_no_exception(page, server)


def test_a_new_tab_of_the_same_browser_is_logged_in(page, server):
    _log_in_with_cookie(page, server.url)
    second = page.context.new_page()
    second.goto(f"{server.url}/caseload")
    wait_for_app(second)
    _logged_in(second)
    assert_no_exception(second, server)


def test_a_logout_in_one_tab_ends_the_other_tab_at_its_next_action(page, server):
    _log_in_with_cookie(page, server.url)
    other = page.context.new_page()
    other.goto(server.url)
    wait_for_app(other)
    _logged_in(other)
    page.get_by_role("button", name="Log out").click()
    wait_for_app(page)
    _login_shown(page)
    # The other tab's next interaction (a page change) shows the login page.
    go_to(other, "Caseload")
    _login_shown(other)
    other.reload()
    wait_for_app(other)
    _login_shown(other)
    # The logout route deleted the cookie, too.
    assert not [c for c in page.context.cookies() if c["name"] == COOKIE]


def test_after_the_idle_timeout_a_refresh_shows_the_login_page(page, app_server_factory):
    server = app_server_factory(extra_env={"STRIDE_SESSION_TIMEOUT_MIN": "0.1"})  # six seconds
    _log_in_with_cookie(page, server.url)
    second = page.context.new_page()  # no tab may keep the session alive by itself
    second.goto(server.url)
    wait_for_app(second)
    _logged_in(second)
    second.close()
    page.wait_for_timeout(8_000)
    page.reload()
    wait_for_app(page)
    _login_shown(page)
    with _db(server) as db:
        reasons = [r[0] for r in db.execute("SELECT revoke_reason FROM web_sessions")]
    assert reasons and all(reason == "inactivity timeout" for reason in reasons)


def test_the_cookie_is_httponly_samesite_and_only_its_hash_is_stored(page, server):
    cookie = _log_in_with_cookie(page, server.url)
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Lax"
    assert cookie["path"] == "/"
    assert cookie["secure"] is False  # plain HTTP on loopback; HTTPS behind the proxy makes it Secure
    assert len(cookie["value"]) >= 43  # 256 random bits, URL-safe base64
    assert page.evaluate("document.cookie").find(COOKIE) == -1  # scripts cannot read it
    digest = hashlib.sha256(cookie["value"].encode()).hexdigest()
    with _db(server) as db:
        stored = [r[0] for r in db.execute("SELECT token_sha256 FROM web_sessions")]
        dump = "\n".join(db.iterdump())
    assert digest in stored
    assert cookie["value"] not in dump
    assert cookie["value"] not in server.log_path.read_text(errors="replace")


def test_a_forged_cookie_shows_the_login_page_where_the_real_one_logs_in(page, server):
    genuine = _log_in_with_cookie(page, server.url)["value"]
    forged = genuine[:-4] + ("AAAA" if not genuine.endswith("AAAA") else "BBBB")
    for value, logged_in in ((forged, False), ("x" * 43, False), (genuine, True)):
        fresh = page.context.browser.new_context()
        try:
            other = fresh.new_page()
            fresh.add_cookies([{"name": COOKIE, "value": value, "url": server.url}])
            other.goto(f"{server.url}/caseload")
            wait_for_app(other)
            (_logged_in if logged_in else _login_shown)(other)
            assert_no_exception(other, server)
        finally:
            fresh.close()


def test_a_revoked_cookie_shows_the_login_page(page, server):
    cookie = _log_in_with_cookie(page, server.url)
    digest = hashlib.sha256(cookie["value"].encode()).hexdigest()
    with _db(server) as db:
        db.execute(
            "UPDATE web_sessions SET revoked_at = CURRENT_TIMESTAMP, revoke_reason = 'test' "
            "WHERE token_sha256 = ?",
            (digest,),
        )
    fresh = page.context.browser.new_context()
    try:
        other = fresh.new_page()
        fresh.add_cookies([{"name": COOKIE, "value": cookie["value"], "url": server.url}])
        other.goto(f"{server.url}/caseload")
        wait_for_app(other)
        _login_shown(other)
    finally:
        fresh.close()
    page.reload()
    wait_for_app(page)
    _login_shown(page)


def test_a_used_or_unknown_ticket_is_refused(page, server):
    # Catch the claim address the app sends the browser to, then replay it in another browser.
    claims: list[str] = []
    page.on(
        "request", lambda request: claims.append(request.url) if "/_stride/claim" in request.url else None
    )
    _log_in_with_cookie(page, server.url)
    assert len(claims) == 1
    fresh = page.context.browser.new_context()
    try:
        other = fresh.new_page()
        for address in (claims[0], f"{server.url}/_stride/claim?ticket=made-up&next=/caseload"):
            response = other.goto(address)
            assert response is not None
            wait_for_app(other)
            _login_shown(other)
            assert not [c for c in fresh.cookies() if c["name"] == COOKIE]
    finally:
        fresh.close()


def test_the_claim_route_never_redirects_off_site(page, server):
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"):
        response = page.request.get(
            f"{server.url}/_stride/claim", params={"ticket": "x", "next": target}, max_redirects=0
        )
        assert response.status == 303
        assert response.headers["location"] == "/", target
