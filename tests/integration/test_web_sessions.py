"""Browser login sessions (dashboard/web_sessions.py) against the real store, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import pytest
import sqlalchemy as sa

from dashboard import services, web_sessions
from dashboard.config import Settings
from dashboard.ports import User
from data import tables as t
from data.store import SqlStore
from tests.integration.support import PASSWORD, make_user

SETTINGS = Settings(session_timeout_min=15)
T0 = dt.datetime(2026, 12, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def carla(store: SqlStore) -> User:
    return make_user(store, "carla", "clinician", "Carla Clinician")


def _rows(store: SqlStore) -> list[dict[str, Any]]:
    with store.read() as tx:
        return [dict(r._mapping) for r in tx.conn.execute(sa.select(t.web_sessions))]


def _audit_text(store: SqlStore) -> str:
    with store.read() as tx:
        return "\n".join(repr(tuple(r)) for r in tx.conn.execute(sa.select(t.audit)))


def _logged_in(store: SqlStore, user: User, at: dt.datetime = T0) -> tuple[str, str]:
    """(ticket, token) of a login claimed at `at`."""
    _session, ticket = web_sessions.issue_ticket(store, user, now=at)
    token = web_sessions.claim_ticket(store, ticket, now=at + dt.timedelta(seconds=1))
    assert token is not None
    return ticket, token


def test_only_the_hashes_of_ticket_and_token_are_stored(store: SqlStore, carla: User) -> None:
    ticket, token = _logged_in(store, carla)
    (row,) = _rows(store)
    assert row["ticket_sha256"] == hashlib.sha256(ticket.encode()).hexdigest()
    assert row["token_sha256"] == hashlib.sha256(token.encode()).hexdigest()
    assert len(token) >= 43 and token != ticket  # 256 bits of URL-safe base64
    stored = repr(row) + _audit_text(store)
    assert ticket not in stored and token not in stored
    assert "session.start" in _audit_text(store)


def test_a_ticket_works_once_and_only_within_a_minute(store: SqlStore, carla: User) -> None:
    _session, ticket = web_sessions.issue_ticket(store, carla, now=T0)
    assert web_sessions.claim_ticket(store, ticket, now=T0 + dt.timedelta(seconds=61)) is None
    _session, ticket = web_sessions.issue_ticket(store, carla, now=T0)
    assert web_sessions.claim_ticket(store, ticket, now=T0 + dt.timedelta(seconds=5)) is not None
    assert web_sessions.claim_ticket(store, ticket, now=T0 + dt.timedelta(seconds=6)) is None
    assert web_sessions.claim_ticket(store, "made-up", now=T0) is None
    assert web_sessions.claim_ticket(store, "", now=T0) is None


def test_a_token_resumes_its_user_until_the_idle_timeout(store: SqlStore, carla: User) -> None:
    _ticket, token = _logged_in(store, carla)
    resumed = web_sessions.resume(store, token, SETTINGS, now=T0 + dt.timedelta(minutes=14))
    assert resumed is not None and resumed[0].id == carla.id
    # Resuming counts as activity: 14 minutes after that it is still live, 16 minutes after it is not.
    assert web_sessions.resume(store, token, SETTINGS, now=T0 + dt.timedelta(minutes=28)) is not None
    assert web_sessions.resume(store, token, SETTINGS, now=T0 + dt.timedelta(minutes=45)) is None
    (row,) = _rows(store)
    assert row["revoked_at"] is not None and row["revoke_reason"] == "inactivity timeout"
    assert web_sessions.resume(store, token, SETTINGS, now=T0 + dt.timedelta(minutes=46)) is None
    assert web_sessions.resume(store, "forged", SETTINGS, now=T0) is None


def test_a_revoked_session_cannot_be_resumed_and_revoking_twice_changes_nothing(
    store: SqlStore, carla: User
) -> None:
    _ticket, token = _logged_in(store, carla)
    (row,) = _rows(store)
    web_sessions.revoke(store, row["id"], web_sessions.REASON_LOGOUT, now=T0 + dt.timedelta(minutes=1))
    web_sessions.revoke(store, row["id"], "again", now=T0 + dt.timedelta(minutes=2))
    (row,) = _rows(store)
    assert row["revoke_reason"] == "logout"
    assert web_sessions.resume(store, token, SETTINGS, now=T0 + dt.timedelta(minutes=3)) is None
    assert _audit_text(store).count("session.revoke") == 1


def test_the_logout_route_revokes_by_token(store: SqlStore, carla: User) -> None:
    _ticket, token = _logged_in(store, carla)
    web_sessions.revoke_token(store, token, web_sessions.REASON_LOGOUT)
    assert web_sessions.resume(store, token, SETTINGS, now=T0 + dt.timedelta(minutes=1)) is None


def test_a_disabled_account_loses_its_browser_session(store: SqlStore, carla: User) -> None:
    _ticket, token = _logged_in(store, carla)
    with store.transaction() as tx:
        tx.update_user(User(**{**carla.__dict__, "active": False}))
    assert web_sessions.resume(store, token, SETTINGS, now=T0 + dt.timedelta(minutes=1)) is None


@pytest.mark.parametrize(
    "change",
    [{"role": "readonly"}, {"new_password": "a-new-walk-by-the-river"}, {"active": False}],
    ids=["role change", "password reset", "deactivation"],
)
def test_an_admins_change_to_the_account_ends_its_browser_session(
    store: SqlStore, carla: User, change: dict[str, Any]
) -> None:
    admin = make_user(store, "adele", "admin", "Adele Admin")
    _ticket, token = _logged_in(store, carla)
    services.admin_update_user(store, admin, carla.id, **change)
    assert web_sessions.resume(store, token, SETTINGS, now=T0 + dt.timedelta(minutes=1)) is None
    (row,) = _rows(store)
    assert row["revoked_at"] is not None


def test_ones_own_password_change_renews_this_browsers_session_and_ends_the_others(
    store: SqlStore, carla: User
) -> None:
    now = dt.datetime.now(dt.UTC)  # renew() starts the new session at the real time
    _ticket, other_token = _logged_in(store, carla, at=now)  # another browser of the same account
    state: dict[str, Any] = {}
    here = web_sessions.issue_ticket(store, carla, now=now)[0]
    state[web_sessions.STATE_SESSION_ID] = here.id
    changed = services.change_password(store, carla, current=PASSWORD, new="a-new-walk-by-the-river")
    web_sessions.renew(state, store, changed, "/account")
    claim = str(state[web_sessions.STATE_CLAIM_URL])
    ticket = claim.split("ticket=")[1].split("&")[0]
    new_token = web_sessions.claim_ticket(store, ticket)
    assert new_token is not None
    assert web_sessions.resume(store, new_token, SETTINGS) is not None
    assert web_sessions.resume(store, other_token, SETTINGS) is None


def test_a_logout_in_one_tab_ends_the_other_tab_at_its_next_rerun(store: SqlStore, carla: User) -> None:
    tab_a: dict[str, Any] = {"store": store}
    tab_b: dict[str, Any] = {"store": store}
    web_sessions.start_after_login(tab_a, store, carla, "/caseload")
    claim = web_sessions.sync({**tab_a, "user": carla}, None, store, SETTINGS)
    assert claim is not None and claim.startswith("/_stride/claim?ticket=")
    ticket = claim.split("ticket=", 1)[1].split("&", 1)[0]
    token = web_sessions.claim_ticket(store, ticket)
    assert token is not None
    web_sessions.sync(tab_a, token, store, SETTINGS)
    web_sessions.sync(tab_b, token, store, SETTINGS)
    assert tab_a["user"].id == tab_b["user"].id == carla.id
    services.logout(store, tab_a["user"])
    web_sessions.end(tab_a, store, web_sessions.REASON_LOGOUT)
    assert "user" not in tab_a and tab_a[web_sessions.STATE_CLEAR_COOKIE] is True
    web_sessions.sync(tab_b, token, store, SETTINGS)
    assert "user" not in tab_b
    web_sessions.sync(tab_b, token, store, SETTINGS)  # the cookie stays dead
    assert "user" not in tab_b


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/caseload", "/caseload"),
        ("/progress?patient=abc", "/progress?patient=abc"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("/x\r\nSet-Cookie: a=b", "/"),
        ("", "/"),
        (None, "/"),
    ],
)
def test_the_return_address_is_always_a_same_origin_path(target: str | None, expected: str) -> None:
    assert web_sessions.safe_next(target) == expected


def test_only_a_resume_after_the_page_a_login_returns_to_is_marked_as_started_afresh(
    store: SqlStore, carla: User
) -> None:
    login_tab: dict[str, Any] = {}
    web_sessions.start_after_login(login_tab, store, carla, "/visit")
    claim = web_sessions.sync({**login_tab, "user": carla}, None, store, SETTINGS)
    assert claim is not None
    claimed_at = dt.datetime.now(dt.UTC)
    token = web_sessions.claim_ticket(store, claim.split("ticket=", 1)[1].split("&", 1)[0], now=claimed_at)
    assert token is not None
    returned: dict[str, Any] = {}  # the page the claim redirects to
    reloaded: dict[str, Any] = {}  # later: a reload, a new tab, a reconnection to another process
    web_sessions.sync(returned, token, store, SETTINGS, now=claimed_at + dt.timedelta(seconds=1))
    web_sessions.sync(reloaded, token, store, SETTINGS, now=claimed_at + dt.timedelta(seconds=40))
    assert returned["user"].id == reloaded["user"].id == carla.id
    assert web_sessions.STATE_RESUMED not in returned
    assert reloaded[web_sessions.STATE_RESUMED] is True
