"""Browser login sessions: the login survives a refresh and new tabs until logout or the idle timeout.

Streamlit keeps session state per websocket connection, so F5 or a new tab used to start logged out.
After a successful login the page gets a one-time *ticket* (valid TICKET_TTL, used once) and sends
the browser to the claim route (server.py), which swaps it for a random session *token* set as an
HttpOnly cookie. Every new connection then resumes the server-side session from that cookie; each
rerun re-checks it, so a logout or timeout in one tab ends the others at their next action.

The store keeps only SHA-256 digests of ticket and token; the audit trail gets the session id.
This module is pure (no streamlit): app.py passes st.session_state and the cookie value in.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Mapping, MutableMapping
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from dashboard.config import Settings
from dashboard.ports import Store, Tx, User, WebSession

COOKIE_NAME = "stride_session"
CLAIM_PATH = "/_stride/claim"
LOGOUT_PATH = "/_stride/logout"
TICKET_TTL = dt.timedelta(seconds=60)
# At most one last-seen write per session this often (a quarter of a short test timeout).
TOUCH_INTERVAL = dt.timedelta(seconds=30)
TOKEN_BYTES = 32  # 256 random bits for the token and for the ticket

# Session-state keys this module owns (the router's keys "user" and "last_seen" are shared).
# Session state is typed MutableMapping[Any, Any]: Streamlit's SessionStateProxy is keyed by str | int.
STATE_SESSION_ID = "web_session_id"
STATE_CLAIM_URL = "web_session_claim_url"
STATE_CLEAR_COOKIE = "web_session_clear_cookie"
# Set when a new connection resumed the login from the cookie (not the page a login returns to).
STATE_RESUMED = "web_session_resumed"
RESUMED_NOTICE = (
    "You are still logged in. This page started afresh (a reload, a new tab, or a reconnection to the "
    "server), so it does not show anything that was typed before and not saved."
)

REASON_LOGOUT = "logout"
REASON_TIMEOUT = "inactivity timeout"
REASON_ACCOUNT = "account inactive"
# Deactivation, a role change or a password reset bumps the account's session epoch (services).
REASON_ACCOUNT_CHANGED = "account changed"


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def digest(secret: str) -> str:
    """The SHA-256 hex digest under which a ticket or token is stored."""
    return hashlib.sha256(secret.encode()).hexdigest()


def safe_next(target: str | None) -> str:
    """A same-origin relative path (with its query) to return to; anything else becomes "/"."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    if any(ord(ch) < 0x20 or ch in "\\\x7f" for ch in target):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/"
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _touch_interval(settings: Settings) -> dt.timedelta:
    return min(TOUCH_INTERVAL, dt.timedelta(minutes=settings.session_timeout_min) / 4)


def _idle(session: WebSession, settings: Settings, now: dt.datetime) -> bool:
    return now - session.last_seen_at > dt.timedelta(minutes=settings.session_timeout_min)


def issue_ticket(store: Store, user: User, *, now: dt.datetime | None = None) -> tuple[WebSession, str]:
    """Start a server session for a user who just logged in; returns it and its one-time ticket."""
    now = now or _utcnow()
    ticket = secrets.token_urlsafe(TOKEN_BYTES)
    with store.transaction() as tx:
        session = tx.insert_web_session(
            WebSession(
                id="",
                user_id=user.id,
                created_at=now,
                last_seen_at=now,
                ticket_expires_at=now + TICKET_TTL,
                session_epoch=user.session_epoch,
            ),
            digest(ticket),
        )
    return session, ticket


def claim_url(ticket: str, next_path: str | None) -> str:
    """The claim route's address for a ticket, returning to `next_path` (made safe)."""
    return f"{CLAIM_PATH}?ticket={quote(ticket, safe='')}&next={quote(safe_next(next_path), safe='')}"


def claim_ticket(store: Store, ticket: str, *, now: dt.datetime | None = None) -> str | None:
    """Swap an unused, unexpired ticket for a new session token (None when refused)."""
    now = now or _utcnow()
    if not ticket:
        return None
    token = secrets.token_urlsafe(TOKEN_BYTES)
    with store.transaction() as tx:
        session = tx.web_session_by_ticket(digest(ticket))
        if session is None or session.ticket_used_at is not None or session.revoked_at is not None:
            return None
        if session.ticket_expires_at is None or now > session.ticket_expires_at:
            return None
        user = tx.get_user(session.user_id)
        if user is None or not user.active or not tx.claim_web_session(session.id, digest(token), now):
            return None
        tx.insert_audit(user_id=user.id, action="session.start", entity="web_session", entity_id=session.id)
    return token


def resume(
    store: Store, token: str, settings: Settings, *, now: dt.datetime | None = None
) -> tuple[User, WebSession] | None:
    """The account and session of a cookie token, if the session is live; an idle one is revoked."""
    now = now or _utcnow()
    if not token:
        return None
    with store.transaction() as tx:
        session = tx.web_session_by_token(digest(token))
        if session is None or session.revoked_at is not None:
            return None
        user = tx.get_user(session.user_id)
        # No lock to check: logins are throttled, never locked (0004 lifted the old locks).
        reason = (
            REASON_ACCOUNT
            if user is None or not user.active
            else REASON_ACCOUNT_CHANGED
            if user.session_epoch != session.session_epoch
            else REASON_TIMEOUT
            if _idle(session, settings, now)
            else ""
        )
        if reason:
            _revoke(tx, session, now, reason)
            return None
        assert user is not None
        tx.touch_web_session(session.id, now)
        tx.insert_audit(user_id=user.id, action="session.resume", entity="web_session", entity_id=session.id)
    return user, session


def _revoke(tx: Tx, session: WebSession, at: dt.datetime, reason: str) -> None:
    """Revoke a server session and audit it under its account; an ended one changes nothing."""
    if tx.revoke_web_session(session.id, at, reason):
        tx.insert_audit(
            user_id=session.user_id,
            action="session.revoke",
            entity="web_session",
            entity_id=session.id,
            reason=reason,
        )


def revoke(store: Store, session_id: str | None, reason: str, *, now: dt.datetime | None = None) -> None:
    """End a server session (logout, timeout); a second call changes nothing."""
    if not session_id:
        return
    now = now or _utcnow()
    with store.transaction() as tx:
        session = tx.get_web_session(session_id)
        if session is not None:
            _revoke(tx, session, now, reason)


def sync(
    state: MutableMapping[Any, Any],
    cookie: str | None,
    store: Store,
    settings: Settings,
    *,
    now: dt.datetime | None = None,
) -> str | None:
    """Keep a tab's session state and the browser's server session in step; run at every rerun.

    - No user in the tab: restore one from a live cookie session ("user", "last_seen"), and mark
      the tab as resumed unless this is the page the login itself returned to.
    - A user with a server session: end the tab's login when that session was revoked (another
      tab logged out, or the account was disabled); revoke it when every tab has been idle past the
      timeout, leaving "last_seen" old so the router's own timeout logs out and says why; otherwise
      carry the other tabs' activity into "last_seen" and refresh the session at most every 30 s.
    Returns the claim address once, right after a login, for the page to send the browser to.
    """
    now = now or _utcnow()
    if state.get("user") is None:
        # Anything but a string (a missing cookie, or a test harness's stand-in) is no token.
        restored = resume(store, cookie if isinstance(cookie, str) else "", settings, now=now)
        if restored is not None:
            state["user"], resumed = restored
            state[STATE_SESSION_ID] = resumed.id
            state["last_seen"] = now
            # The claim's own page comes first after a login; any later resume follows a lost page.
            if resumed.ticket_used_at is None or resumed.last_seen_at > resumed.ticket_used_at:
                state[STATE_RESUMED] = True
        return None
    session_id = state.get(STATE_SESSION_ID)
    if not session_id:
        return None
    with store.read() as tx:
        current = tx.get_web_session(session_id)
    if current is None or current.revoked_at is not None:
        if current is not None and current.revoke_reason == REASON_TIMEOUT:
            state["expired"] = True
        for key in ("user", "last_seen", STATE_SESSION_ID, STATE_CLAIM_URL):
            state.pop(key, None)
        return None
    session = current
    if session.token_sha256 is None:  # the ticket is not claimed yet: the login just happened here
        return str(state.pop(STATE_CLAIM_URL, "")) or None
    if _idle(session, settings, now):
        revoke(store, session_id, REASON_TIMEOUT, now=now)
        state["last_seen"] = min(state.get("last_seen", session.last_seen_at), session.last_seen_at)
        return None
    state["last_seen"] = max(state.get("last_seen", session.last_seen_at), session.last_seen_at)
    if now - session.last_seen_at >= _touch_interval(settings):
        with store.transaction() as tx:
            tx.touch_web_session(session_id, now)
    return None


def start_after_login(
    state: MutableMapping[Any, Any], store: Store, user: User, next_path: str | None
) -> None:
    """After a successful login: start the server session and remember where the browser must claim it."""
    session, ticket = issue_ticket(store, user)
    state[STATE_SESSION_ID] = session.id
    state[STATE_CLAIM_URL] = claim_url(ticket, next_path)


def renew(state: MutableMapping[Any, Any], store: Store, user: User, next_path: str | None) -> None:
    """After the account's own password change: this browser keeps its login under the new epoch.

    The old server session (and with it every other tab and browser of the account) is revoked; this
    tab starts a new one, which the router sends the browser to claim as after a login.
    """
    revoke(store, state.get(STATE_SESSION_ID), REASON_ACCOUNT_CHANGED)
    start_after_login(state, store, user, next_path)


def page_path(url: str | None, query: Mapping[str, str]) -> str:
    """The path and query of the page a browser is on, to come back to after claiming a session."""
    encoded = urlencode(dict(query))
    return urlsplit(url or "/").path + (f"?{encoded}" if encoded else "")


def end(state: MutableMapping[Any, Any], store: Store, reason: str) -> None:
    """Revoke the tab's server session (logout, timeout) so every tab ends, then clear the tab's state.

    After a logout the login page sends the browser to LOGOUT_PATH once, which deletes the cookie.
    """
    revoke(store, state.get(STATE_SESSION_ID), reason)
    state.clear()
    if reason == REASON_LOGOUT:
        state[STATE_CLEAR_COOKIE] = True


def revoke_token(store: Store, token: str, reason: str, *, now: dt.datetime | None = None) -> None:
    """Revoke the session a cookie token names, if any (the logout route)."""
    if not token:
        return
    with store.read() as tx:
        session = tx.web_session_by_token(digest(token))
    if session is not None:
        revoke(store, session.id, reason, now=now)
