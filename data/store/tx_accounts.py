"""Transaction methods for accounts: users, login throttling and browser login sessions (the
_Accounts part of SqlTx)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from sqlalchemy import ColumnElement, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from dashboard.ports import Throttle, User, WebSession
from data import tables as t
from data.store.rows import _as_utc, _user, _web_session, first_version, new_id, utcnow
from data.store.tx_base import _TxBase


class _Accounts(_TxBase):
    """Users, login throttles and browser login sessions."""

    # --- users ---------------------------------------------------------------------------------
    def get_user(self, user_id: str) -> User | None:
        return self._first(t.users, t.users.c.id == user_id, _user)

    def get_user_by_username(self, username: str) -> User | None:
        return self._first(t.users, t.users.c.username == username, _user)

    def password_hash(self, user_id: str) -> str | None:
        return self.conn.execute(select(t.users.c.password_hash).where(t.users.c.id == user_id)).scalar()

    def users(self) -> list[User]:
        return [_user(row) for row in self.conn.execute(select(t.users).order_by(t.users.c.username))]

    def insert_user(self, user: User, password_hash: str) -> User:
        now = utcnow()
        user_id = user.id or new_id()
        with self._unique("username", "This username is already taken."):
            self.conn.execute(
                insert(t.users).values(
                    **first_version(user_id, None, now),
                    username=user.username,
                    display_name=user.display_name,
                    role=user.role,
                    password_hash=password_hash,
                    active=user.active,
                    failed_logins=0,
                    locked_until=None,
                    session_epoch=user.session_epoch,
                    must_change_password=user.must_change_password,
                )
            )
        # The account as stored: a first version, with none of the legacy lockout counts.
        return replace(user, id=user_id, failed_logins=0, locked_until=None, version=1)

    def update_user(self, user: User, *, password_hash: str | None = None) -> User:
        values: dict[str, Any] = {
            "display_name": user.display_name,
            "role": user.role,
            "active": user.active,
            "failed_logins": user.failed_logins,
            "locked_until": user.locked_until,
            "session_epoch": user.session_epoch,
            "must_change_password": user.must_change_password,
            "updated_at": utcnow(),
            "version": t.users.c.version + 1,
        }
        if password_hash is not None:
            values["password_hash"] = password_hash
        self.conn.execute(update(t.users).where(t.users.c.id == user.id).values(**values))
        refreshed = self.get_user(user.id)
        assert refreshed is not None
        return refreshed

    # --- login throttling -----------------------------------------------------------------------
    def get_throttle(self, key: str) -> Throttle | None:
        stmt = select(t.login_throttle).where(t.login_throttle.c.key == key)
        if self.conn.dialect.name == "postgresql":
            stmt = stmt.with_for_update()  # concurrent logins of one account count every failure
        row = self.conn.execute(stmt).first()
        if row is None:
            return None
        return Throttle(
            key=row.key,
            kind=row.kind,
            failures=row.failures,
            last_at=_as_utc(row.last_at) or utcnow(),
            blocked_until=_as_utc(row.blocked_until),
        )

    def put_throttle(self, throttle: Throttle) -> None:
        values = {
            "kind": throttle.kind,
            "failures": throttle.failures,
            "last_at": throttle.last_at,
            "blocked_until": throttle.blocked_until,
        }
        table = t.login_throttle
        done = self.conn.execute(update(table).where(table.c.key == throttle.key).values(**values))
        if done.rowcount:
            return
        try:
            with self.conn.begin_nested():
                self.conn.execute(insert(table).values(key=throttle.key, **values))
        except IntegrityError:  # another process inserted the row meanwhile
            self.conn.execute(update(table).where(table.c.key == throttle.key).values(**values))

    def delete_throttles(
        self, *, keys: Iterable[str] = (), kind: str | None = None, older_than: dt.datetime | None = None
    ) -> int:
        table = t.login_throttle
        removed = 0
        if older_than is not None:  # pruning: rows last touched before `older_than`, no delay running
            stale = (table.c.last_at < older_than) & (
                table.c.blocked_until.is_(None) | (table.c.blocked_until < older_than)
            )
            removed += self.conn.execute(delete(table).where(stale)).rowcount
        if keys := list(keys):
            removed += self.conn.execute(delete(table).where(table.c.key.in_(keys))).rowcount
        if kind is not None:
            removed += self.conn.execute(delete(table).where(table.c.kind == kind)).rowcount
        return removed

    # --- browser login sessions ----------------------------------------------------------------
    def insert_web_session(self, session: WebSession, ticket_sha256: str) -> WebSession:
        session_id = session.id or new_id()
        self.conn.execute(
            insert(t.web_sessions).values(
                id=session_id,
                user_id=session.user_id,
                ticket_sha256=ticket_sha256,
                ticket_expires_at=session.ticket_expires_at,
                ticket_used_at=None,
                token_sha256=None,
                created_at=session.created_at,
                last_seen_at=session.last_seen_at,
                revoked_at=None,
                revoke_reason="",
                session_epoch=session.session_epoch,
            )
        )
        found = self.get_web_session(session_id)
        assert found is not None
        return found

    def _web_session_where(self, condition: ColumnElement[bool]) -> WebSession | None:
        return self._first(t.web_sessions, condition, _web_session)

    def web_session_by_ticket(self, ticket_sha256: str) -> WebSession | None:
        return self._web_session_where(t.web_sessions.c.ticket_sha256 == ticket_sha256)

    def web_session_by_token(self, token_sha256: str) -> WebSession | None:
        return self._web_session_where(t.web_sessions.c.token_sha256 == token_sha256)

    def get_web_session(self, session_id: str) -> WebSession | None:
        return self._web_session_where(t.web_sessions.c.id == session_id)

    def claim_web_session(self, session_id: str, token_sha256: str, at: dt.datetime) -> bool:
        # One UPDATE guarded on "not used, not revoked": of two concurrent claims only one wins.
        c = t.web_sessions.c
        result = self.conn.execute(
            update(t.web_sessions)
            .where(c.id == session_id, c.ticket_used_at.is_(None), c.revoked_at.is_(None))
            .values(ticket_used_at=at, token_sha256=token_sha256, last_seen_at=at)
        )
        return result.rowcount == 1

    def touch_web_session(self, session_id: str, at: dt.datetime) -> None:
        c = t.web_sessions.c
        self.conn.execute(
            update(t.web_sessions).where(c.id == session_id, c.revoked_at.is_(None)).values(last_seen_at=at)
        )

    def revoke_web_session(self, session_id: str, at: dt.datetime, reason: str) -> bool:
        c = t.web_sessions.c
        result = self.conn.execute(
            update(t.web_sessions)
            .where(c.id == session_id, c.revoked_at.is_(None))
            .values(revoked_at=at, revoke_reason=reason[:32])
        )
        return result.rowcount == 1
