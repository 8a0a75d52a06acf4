"""Account services: logging in and out with the login throttle, the session's stored account,
creating and administering accounts, passwords, and the audit trail.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, replace
from typing import Any

from dashboard import auth
from dashboard.config import Settings
from dashboard.models import control_character_problem
from dashboard.ports import (
    AuditEntry,
    InvalidInputError,
    LoginThrottledError,
    NotFoundError,
    PermissionDeniedError,
    Store,
    Throttle,
    Tx,
    User,
)
from dashboard.service_base import ACCOUNT_CHANGED, _audit, _utcnow, authorize

LOGIN_FAILED = "Username or password not recognised."
# Failures older than this (with no delay still running) are forgotten.
THROTTLE_FORGET = dt.timedelta(hours=1)
# A client (address) that logged in to an account is "known" to it for this long: a known client skips
# that account's delay, so failures elsewhere cannot keep the account's owner out.
KNOWN_CLIENT_FOR = dt.timedelta(days=30)


def _digest(*parts: str) -> str:
    """SHA-256 of the parts: throttle rows never hold a typed username or an address as text."""
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def throttle_keys(username: str, client: str | None, user_id: str | None = None) -> dict[str, str]:
    """The throttle keys of a login attempt: by client, by typed username, and (client, account) known."""
    keys = {
        "client": _digest("client", client or "-"),
        "account": _digest("account", (username or "").strip().casefold()),
    }
    if user_id:
        keys["known"] = _digest("known", user_id, client or "-")
    return keys


def _current(throttle: Throttle | None, now: dt.datetime, forget: dt.timedelta) -> Throttle | None:
    """The row while it still counts: a running delay, or failures newer than `forget`."""
    if throttle is None:
        return None
    if throttle.blocked_until is not None and throttle.blocked_until > now:
        return throttle
    return throttle if now - throttle.last_at <= forget else None


def _failed(
    throttle: Throttle | None, key: str, kind: str, now: dt.datetime, free: int, cap_s: float
) -> Throttle:
    """Count one more failure; from the `free`-th on, block for 1, 2, 4 … seconds, at most `cap_s`."""
    failures = (throttle.failures if throttle else 0) + 1
    blocked = None
    if failures >= free:
        blocked = now + dt.timedelta(seconds=min(cap_s, 2.0 ** min(failures - free, 30)))
    return Throttle(key=key, kind=kind, failures=failures, last_at=now, blocked_until=blocked)


def _wait_s(throttle: Throttle | None, now: dt.datetime) -> float:
    if throttle is None or throttle.blocked_until is None:
        return 0.0
    return max(0.0, (throttle.blocked_until - now).total_seconds())


@dataclass(frozen=True)
class _LoginState:
    """What a login attempt is decided on, as stored at one moment."""

    user: User | None  # None: unknown, or a demo account outside a demo database
    keys: dict[str, str]
    by_client: Throttle | None
    by_account: Throttle | None
    wait: float  # seconds the throttle still refuses this attempt
    stored_hash: str | None  # the account's password hash; None when unknown or inactive


def _login_state(tx: Tx, username: str, client: str | None, now: dt.datetime) -> _LoginState:
    user = tx.get_user_by_username(username)
    if user is not None and username in auth.DEMO_USERS and tx.get_meta("demo") != "true":
        user = None
    keys = throttle_keys(username, client, user.id if user else None)
    # Without an address every client would share one row: an attacker could then delay everyone, and
    # would count as "known" to every account. So an unknown client gets only the account's delay.
    by_client = _current(tx.get_throttle(keys["client"]), now, THROTTLE_FORGET) if client else None
    by_account = _current(tx.get_throttle(keys["account"]), now, THROTTLE_FORGET)
    known_row = tx.get_throttle(keys["known"]) if client and "known" in keys else None
    known = _current(known_row, now, KNOWN_CLIENT_FOR) is not None
    wait = max(_wait_s(by_client, now), 0.0 if known else _wait_s(by_account, now))
    stored_hash = tx.password_hash(user.id) if user is not None and user.active else None
    return _LoginState(user, keys, by_client, by_account, wait, stored_hash)


def authenticate(
    store: Store,
    username: str,
    password: str,
    *,
    client: str | None = None,
    settings: Settings | None = None,
    now: dt.datetime | None = None,
) -> User:
    """Log a user in; the message never says whether the username exists. Demo logins need a demo database.

    Failures are throttled by client (`client`, the browser's address; None when unknown) and by typed
    username, with delays that double from 1 s: a client's up to STRIDE_LOCKOUT_MIN minutes, an account's
    only up to STRIDE_THROTTLE_ACCOUNT_MAX_S seconds, and a client that logged in to the account before
    skips the account's delay, so nobody can keep an account's owner out. A refused attempt is not checked.
    An unknown client (None) gets only the account's delay.
    """
    settings = settings or Settings()
    username = (username or "").strip()
    now = now or _utcnow()
    logged_in: User | None = None
    # The password is checked outside the write transaction: the hash takes ~0.1 s of CPU, and on SQLite
    # a write transaction holds the one write lock, so many logins at once queued behind each other's
    # hashes until the lock wait ran out ("The database is busy"). The write transaction then reads
    # everything again, so a throttle or a password changed meanwhile still decides.
    with store.read() as tx:
        seen = _login_state(tx, username, client, now)
    checked: dict[str | None, bool] = {}

    def password_matches(stored_hash: str | None) -> bool:
        if stored_hash not in checked:  # an unknown user costs the same work as a real check
            checked[stored_hash] = auth.verify_password(stored_hash, password)
        return checked[stored_hash]

    if seen.wait == 0:
        password_matches(seen.stored_hash)
    # The failure is recorded (audit row, throttle counts) in a committed transaction; only then refused.
    with store.transaction() as tx:
        state = _login_state(tx, username, client, now)
        user, keys, by_client, by_account, wait = (
            state.user,
            state.keys,
            state.by_client,
            state.by_account,
            state.wait,
        )
        if wait > 0:
            _audit(tx, user, "login.throttled")
        elif user is not None and password_matches(state.stored_hash):
            logged_in = user
            tx.delete_throttles(keys=[keys["account"]])
            tx.delete_throttles(older_than=now - KNOWN_CLIENT_FOR)  # keeps the table small
            if client:
                tx.put_throttle(Throttle(key=keys["known"], kind="known", failures=0, last_at=now))
            _audit(tx, user, "login")
        else:
            if client:
                tx.put_throttle(
                    _failed(
                        by_client,
                        keys["client"],
                        "client",
                        now,
                        settings.throttle_client_attempts,
                        settings.lockout_min * 60.0,
                    )
                )
            tx.put_throttle(
                _failed(
                    by_account,
                    keys["account"],
                    "account",
                    now,
                    settings.lockout_attempts,
                    float(settings.throttle_account_max_s),
                )
            )
            _audit(tx, user, "login.failed")
    if wait > 0:
        raise LoginThrottledError(wait)
    if logged_in is None:
        raise PermissionDeniedError(LOGIN_FAILED)
    return logged_in


def unlock_account(store: Store, actor: User | None, username: str, *, clients: bool = False) -> int:
    """Clear the login throttle of a typed username (and with `clients`, of every client); audited.

    Break-glass for `python -m data.users unlock` (`actor` None) or an admin. Returns rows removed.
    """
    with store.transaction() as tx:
        if actor is not None:
            authorize(tx, actor, "manage_users")
        user = tx.get_user_by_username((username or "").strip())
        removed = tx.delete_throttles(
            keys=[throttle_keys(username, None)["account"]], kind="client" if clients else None
        )
        after = {"clients": clients, "rows": removed}
        _audit(tx, actor, "user.unlock", "user", user.id if user else None, after=after)
    return removed


def session_account(store: Store, user: User) -> User | None:
    """The stored account behind a session, or None when the session must end (deactivated, changed)."""
    with store.read() as tx:
        stored = tx.get_user(user.id)
    if stored is None or not stored.active or stored.session_epoch != user.session_epoch:
        return None
    return stored


def logout(store: Store, actor: User, *, reason: str = "") -> None:
    """Record a logout (explicit, by inactivity timeout, or because the account changed)."""
    with store.transaction() as tx:
        _audit(tx, actor, "logout", reason=reason)


def _password_errors(field_name: str, username: str, password: str) -> None:
    if problems := auth.password_problems(username, password):
        raise InvalidInputError({field_name: " ".join(problems)})


def create_user(
    store: Store, actor: User | None, *, username: str, display_name: str, role: str, password: str
) -> User:
    """Create an account (admin only; `actor` None only for the first-admin command line)."""
    if actor is not None:
        with store.read() as tx:
            authorize(tx, actor, "manage_users")
    username = (username or "").strip()
    errors: dict[str, str] = {}
    if not username or len(username) > 64:
        errors["username"] = "Give a username of 1 to 64 characters."
    elif username in auth.DEMO_USERS:
        errors["username"] = "Demo usernames are reserved for the demo database."
    if role not in auth.ROLES:
        errors["role"] = f"Choose one of: {', '.join(auth.ROLES)}."
    if not (display_name or "").strip():
        errors["display_name"] = "Give the name shown to colleagues."
    elif len(display_name.strip()) > 200:
        errors["display_name"] = "Keep the display name to 200 characters."
    for name, text in (("username", username), ("display_name", display_name or "")):
        if name not in errors and (problem := control_character_problem(text)):
            errors[name] = problem
    if problems := auth.password_problems(username, password):
        errors["password"] = " ".join(problems)
    if errors:
        raise InvalidInputError(errors)
    with store.transaction() as tx:
        if actor is not None:
            authorize(tx, actor, "manage_users")
        if tx.get_user_by_username(username) is not None:
            raise InvalidInputError({"username": "This username is already taken."})
        user = tx.insert_user(
            User(id="", username=username, display_name=display_name.strip(), role=role),
            auth.hash_password(password),
        )
        _audit(tx, actor, "user.create", "user", user.id, after={"username": username, "role": role})
    return user


def _own_account(tx: Tx, actor: User) -> User:
    """The actor's stored account while the session is still valid (a password change needs no role)."""
    stored = tx.get_user(actor.id)
    if stored is None or not stored.active or stored.session_epoch != actor.session_epoch:
        raise PermissionDeniedError(ACCOUNT_CHANGED)
    return stored


def change_password(store: Store, actor: User, *, current: str, new: str) -> User:
    """Change one's own password after confirming the current one; other sessions of the account end.

    Returns the updated account: the caller keeps it as the session's user (its new session epoch).
    """
    with store.transaction() as tx:
        user = _own_account(tx, actor)
        if not auth.verify_password(tx.password_hash(actor.id), current):
            raise InvalidInputError({"current": "The current password is not right."})
        _password_errors("new", actor.username, new)
        saved = tx.update_user(
            replace(user, session_epoch=user.session_epoch + 1, must_change_password=False),
            password_hash=auth.hash_password(new),
        )
        _audit(tx, actor, "user.password_change", "user", actor.id)
    return saved


def choose_required_password(store: Store, actor: User, *, new: str) -> User:
    """Set a new password after an admin reset (must_change_password), without the temporary one again."""
    with store.transaction() as tx:
        user = _own_account(tx, actor)
        if not user.must_change_password:
            raise PermissionDeniedError("No new password is needed: change it on the My account page.")
        _password_errors("new", actor.username, new)
        if auth.verify_password(tx.password_hash(actor.id), new):
            raise InvalidInputError({"new": "Choose a password different from the one you were given."})
        saved = tx.update_user(
            replace(user, session_epoch=user.session_epoch + 1, must_change_password=False),
            password_hash=auth.hash_password(new),
        )
        _audit(tx, actor, "user.password_change", "user", actor.id, reason="required after a reset")
    return saved


def set_must_change_password(store: Store, actor: User | None, user_id: str, required: bool = True) -> User:
    """Require (or stop requiring) a new password at the account's next page (admin; None for importers)."""
    with store.transaction() as tx:
        if actor is not None:
            authorize(tx, actor, "manage_users")
        user = tx.get_user(user_id)
        if user is None:
            raise NotFoundError("Account not found.")
        saved = tx.update_user(replace(user, must_change_password=required))
        _audit(tx, actor, "user.update", "user", user_id, after={"must_change_password": required})
    return saved


def admin_update_user(
    store: Store,
    actor: User,
    user_id: str,
    *,
    active: bool | None = None,
    role: str | None = None,
    new_password: str | None = None,
) -> User:
    """Deactivate, reactivate, change the role of, or reset the password of an account (admin only).

    Each of these ends the account's open sessions at their next action (its session epoch moves on);
    a reset also requires a new password at the next login and clears the account's login throttle.
    """
    with store.transaction() as tx:
        authorize(tx, actor, "manage_users")
        user = tx.get_user(user_id)
        if user is None:
            raise NotFoundError("Account not found.")
        if role is not None and role not in auth.ROLES:
            raise InvalidInputError({"role": f"Choose one of: {', '.join(auth.ROLES)}."})
        losing_admin = user.role == "admin" and (active is False or (role is not None and role != "admin"))
        if losing_admin and user_id == actor.id:
            raise InvalidInputError({"_": "You cannot deactivate or demote your own account."})
        if losing_admin and sum(1 for u in tx.users() if u.role == "admin" and u.active) <= 1:
            raise InvalidInputError({"_": "The clinic needs at least one active admin."})
        pw_hash = None
        if new_password is not None:
            _password_errors("password", user.username, new_password)
            pw_hash = auth.hash_password(new_password)
        changes: dict[str, Any] = {}
        if active is not None and active != user.active:
            changes["active"] = active
        if role is not None and role != user.role:
            changes["role"] = role
        if pw_hash:
            changes["must_change_password"] = True
            tx.delete_throttles(keys=[throttle_keys(user.username, None)["account"]])
        if changes or pw_hash:
            changes["session_epoch"] = user.session_epoch + 1
        saved = tx.update_user(replace(user, **changes), password_hash=pw_hash)
        after = {
            **{k: v for k, v in changes.items() if k != "session_epoch"},
            "password_reset": pw_hash is not None,
            "sessions_ended": "session_epoch" in changes,
        }
        _audit(tx, actor, "user.update", "user", user_id, after=after)
    return saved


def list_users(store: Store, actor: User) -> list[User]:
    """Every account (admin only)."""
    with store.read() as tx:
        authorize(tx, actor, "manage_users")
        return tx.users()


def audit_trail(store: Store, actor: User, **filters: Any) -> list[AuditEntry]:
    """Audit entries filtered by user, patient, action and date (admin only), newest first."""
    with store.read() as tx:
        authorize(tx, actor, "view_audit")
        return tx.audit_entries(**filters)
