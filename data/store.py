"""The SQLAlchemy implementation of the store Protocol (SQLite by default, PostgreSQL by URL).

Writes run in one transaction each; edits check the record version; the audit trail is hash-chained.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import unicodedata
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    create_engine,
    delete,
    event,
    func,
    insert,
    null,
    select,
    text,
    update,
)
from sqlalchemy import true as sa_true
from sqlalchemy.exc import IntegrityError

from dashboard.models import Escalation, Patient, Screening, Visit
from dashboard.ports import (
    AuditEntry,
    DuplicateError,
    FlagSummary,
    Handout,
    PinnedEmergency,
    Revision,
    StaleRecordError,
    User,
    WebSession,
)
from dashboard.walking import PRIMARY_METRIC
from data import tables as t

GENESIS_HASH = "0" * 64
# Bump when the derived patient summaries change meaning: the store then recomputes them on open.
SUMMARY_VERSION = "1"
# One advisory-lock key for the audit chain on PostgreSQL: appends are serialised so the chain stays linear.
AUDIT_LOCK_KEY = 7_310_001
SUMMARY_LOCK_KEY = 7_310_002


def utcnow() -> dt.datetime:
    """The current time in UTC (timezone-aware)."""
    return dt.datetime.now(dt.UTC)


def new_id() -> str:
    """A new opaque record id (UUID4); never derived from patient data."""
    return str(uuid.uuid4())


# Letters that NFKD does not decompose (a stroke or ligature, not a combining mark).
_UNDECOMPOSED = str.maketrans(
    {
        "Ł": "L",
        "ł": "l",
        "Ø": "O",
        "ø": "o",
        "Đ": "D",
        "đ": "d",
        "Ħ": "H",
        "ħ": "h",
        "ß": "ss",
        "Æ": "AE",
        "æ": "ae",
        "Œ": "OE",
        "œ": "oe",
        "Þ": "Th",
        "þ": "th",
        "ı": "i",
    }
)


def search_key(*parts: str) -> str:
    """Lower-case, accent-free text for forgiving search (José matches jose, Łukasz matches lukasz)."""
    joined = " ".join(parts).translate(_UNDECOMPOSED)
    decomposed = unicodedata.normalize("NFKD", joined)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def _as_utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def payload_sha256(reason: str, before: dict[str, Any] | None, after: dict[str, Any] | None) -> str:
    """SHA-256 of an audit row's free text and values: the part an erasure may remove.

    The chain hashes this digest rather than the payload itself, so a redacted row (payload gone,
    digest kept) still links to its neighbours.
    """
    canonical = _canonical_json({"reason": reason, "before": before, "after": after})
    return hashlib.sha256(canonical.encode()).hexdigest()


# The columns the chain hash covers, besides `at`; the payload (reason, before, after) is covered by
# its digest. Keep in step with migration 0003 (which re-hashed the rows written before it).
AUDIT_HASHED = ("user_id", "action", "entity", "entity_id", "patient_id", "payload_sha256")


def audit_hash(prev_hash: str, row: Mapping[str, Any]) -> str:
    """SHA-256 linking one audit row to the previous one (tampering breaks the chain)."""
    at = _as_utc(row["at"])
    assert at is not None
    canonical = {
        "at": at.replace(tzinfo=None).isoformat(timespec="microseconds"),
        **{k: row.get(k) for k in AUDIT_HASHED},
    }
    return hashlib.sha256((prev_hash + _canonical_json(canonical)).encode()).hexdigest()


def audit_row_intact(prev_hash: str, row: Mapping[str, Any]) -> bool:
    """True when one audit row (with its seq, hash and prev_hash) is consistent and follows `prev_hash`.

    A row as written carries the digest of its payload. A redacted row (patient erasure) has lost
    its payload in exactly one shape: reason "", before and after NULL, a patient id, the digest
    kept; anything else, such as a rewritten payload, breaks the chain at that row.
    """
    if row.get("redacted"):
        payload_ok = (
            row.get("reason") == ""
            and row.get("before") is None
            and row.get("after") is None
            and row.get("patient_id") is not None
            and bool(row.get("payload_sha256"))
        )
    else:
        payload_ok = row.get("payload_sha256") == payload_sha256(
            row.get("reason") or "", row.get("before"), row.get("after")
        )
    return payload_ok and row.get("prev_hash") == prev_hash and row.get("hash") == audit_hash(prev_hash, row)


def check_audit_chain(rows: Iterable[Mapping[str, Any]]) -> tuple[bool, int, int | None]:
    """Recompute a chain of audit rows in seq order: (intact, rows checked, first broken seq or None)."""
    prev_hash = GENESIS_HASH
    count = 0
    for row in rows:
        count += 1
        if not audit_row_intact(prev_hash, row):
            return False, count, row["seq"]
        prev_hash = row["hash"]
    return True, count, None


def bookkeeping_from_row(row: Any) -> dict[str, Any]:
    """The bookkeeping fields of a stored row, timestamps in UTC."""
    return {
        "id": row.id,
        "version": row.version,
        "recorded_at": _as_utc(row.recorded_at),
        "updated_at": _as_utc(row.updated_at),
        "recorded_by": row.recorded_by,
        "updated_by": row.updated_by,
        "archived": bool(row.archived),
    }


def patient_from_row(row: Any) -> Patient:
    """A stored patient row as the domain model (validated again on the way out)."""
    return Patient.model_validate({**row.data, **bookkeeping_from_row(row)})


def visit_from_row(row: Any) -> Visit:
    """A stored visit row as the domain model (validated again on the way out)."""
    return Visit.model_validate({**row.data, **bookkeeping_from_row(row), "patient_id": row.patient_id})


def screening_from_row(row: Any) -> Screening:
    """A stored screening row as the domain model (validated again on the way out)."""
    return Screening.model_validate({**row.data, **bookkeeping_from_row(row)})


def escalation_from_row(row: Any) -> Escalation:
    """A stored escalation row as the domain model (validated again on the way out)."""
    return Escalation.model_validate({**row.data, **bookkeeping_from_row(row)})


def _user(row: Any) -> User:
    return User(
        id=row.id,
        username=row.username,
        display_name=row.display_name,
        role=row.role,
        active=row.active,
        failed_logins=row.failed_logins,
        locked_until=_as_utc(row.locked_until),
        version=row.version,
    )


def _web_session(row: Any) -> WebSession:
    return WebSession(
        id=row.id,
        user_id=row.user_id,
        created_at=_as_utc(row.created_at) or row.created_at,
        last_seen_at=_as_utc(row.last_seen_at) or row.last_seen_at,
        token_sha256=row.token_sha256,
        ticket_expires_at=_as_utc(row.ticket_expires_at),
        ticket_used_at=_as_utc(row.ticket_used_at),
        revoked_at=_as_utc(row.revoked_at),
        revoke_reason=row.revoke_reason or "",
    )


def visit_columns(visit: Visit) -> dict[str, Any]:
    """The queryable columns of a visit row (the rest lives in its JSON payload)."""
    from dashboard.outcomes import score_odi

    odi = score_odi(visit.odi_sections) if visit.odi_sections is not None else None
    metric = PRIMARY_METRIC.get(visit.walk_protocol or "")
    return {
        "patient_id": visit.patient_id,
        "visit_date": visit.visit_date,
        "pain_nrs": visit.pain_nrs,
        "odi_percent": odi.percent if odi else None,
        "walk_protocol": visit.walk_protocol,
        "walk_primary": getattr(visit, metric) if metric else None,
        "data": visit.clinical_dict(),
    }


class SqlTx:
    """One transaction on the store (implements dashboard.ports.Tx)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # --- bookkeeping -------------------------------------------------------------------------
    def _new_row(self, record: Any) -> dict[str, Any]:
        now = utcnow()
        return {
            "id": record.id or new_id(),
            "version": 1,
            "recorded_at": now,
            "updated_at": now,
            "recorded_by": record.recorded_by,
            "updated_by": record.updated_by or record.recorded_by,
            "archived": record.archived,
        }

    def _versioned_update(
        self, table: Any, record: Any, expected_version: int, values: dict[str, Any]
    ) -> Any:
        now = utcnow()
        result = self.conn.execute(
            update(table)
            .where(table.c.id == record.id, table.c.version == expected_version)
            .values(
                **values,
                version=expected_version + 1,
                updated_at=now,
                updated_by=record.updated_by,
                archived=record.archived,
            )
        )
        if result.rowcount != 1:
            current = self.conn.execute(
                select(table.c.updated_by, table.c.updated_at).where(table.c.id == record.id)
            ).first()
            who = None
            if current is not None and current.updated_by:
                user = self.get_user(current.updated_by)
                who = user.display_name if user else None
            raise StaleRecordError(
                table.name.rstrip("s"), who, _as_utc(current.updated_at) if current else None
            )
        return record.model_copy(update={"version": expected_version + 1, "updated_at": now})

    # --- meta ----------------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        return self.conn.execute(select(t.meta.c.value).where(t.meta.c.key == key)).scalar()

    def set_meta(self, key: str, value: str) -> None:
        if self.get_meta(key) is None:
            self.conn.execute(insert(t.meta).values(key=key, value=value))
        else:
            self.conn.execute(update(t.meta).where(t.meta.c.key == key).values(value=value))

    # --- patients ------------------------------------------------------------------------------
    def get_patient(self, patient_id: str) -> Patient | None:
        row = self.conn.execute(select(t.patients).where(t.patients.c.id == patient_id)).first()
        return patient_from_row(row) if row else None

    def find_patient_by_ref(self, patient_ref: str) -> Patient | None:
        row = self.conn.execute(select(t.patients).where(t.patients.c.patient_ref == patient_ref)).first()
        return patient_from_row(row) if row else None

    def search_patients(
        self, query: str, *, include_archived: bool = False, limit: int = 50
    ) -> list[Patient]:
        stmt = select(t.patients)
        for word in search_key(query).split():
            stmt = stmt.where(t.patients.c.search_key.contains(word, autoescape=True))
        if not include_archived:
            stmt = stmt.where(t.patients.c.archived.is_(False))
        stmt = stmt.order_by(t.patients.c.search_key).limit(limit)
        return [patient_from_row(row) for row in self.conn.execute(stmt)]

    def count_patients(self) -> int:
        return int(self.conn.execute(select(func.count()).select_from(t.patients)).scalar() or 0)

    @staticmethod
    def _patient_values(patient: Patient) -> dict[str, Any]:
        return {
            "patient_ref": patient.patient_ref,
            "search_key": search_key(patient.given_name, patient.family_name, patient.patient_ref),
            "clinician_id": patient.clinician_id,
            "next_review_date": patient.next_review_date,
            "data": patient.clinical_dict(),
        }

    def insert_patient(self, patient: Patient) -> Patient:
        row = self._new_row(patient)
        try:
            with self.conn.begin_nested():
                self.conn.execute(insert(t.patients).values(**row, **self._patient_values(patient)))
        except IntegrityError:
            raise DuplicateError(
                "patient_ref", "A patient with this reference already exists."
            ) from None  # the database error carries the values
        return patient.model_copy(update=row)

    def update_patient(self, patient: Patient, expected_version: int) -> Patient:
        try:
            with self.conn.begin_nested():
                return self._versioned_update(
                    t.patients, patient, expected_version, self._patient_values(patient)
                )
        except IntegrityError:
            raise DuplicateError(
                "patient_ref", "A patient with this reference already exists."
            ) from None  # the database error carries the values

    # --- visits --------------------------------------------------------------------------------
    def visits(self, patient_id: str, *, include_archived: bool = False) -> list[Visit]:
        stmt = select(t.visits).where(t.visits.c.patient_id == patient_id)
        if not include_archived:
            stmt = stmt.where(t.visits.c.archived.is_(False))
        stmt = stmt.order_by(t.visits.c.visit_date, t.visits.c.recorded_at)
        return [visit_from_row(row) for row in self.conn.execute(stmt)]

    def get_visit(self, visit_id: str) -> Visit | None:
        row = self.conn.execute(select(t.visits).where(t.visits.c.id == visit_id)).first()
        return visit_from_row(row) if row else None

    def insert_visit(self, visit: Visit) -> Visit:
        row = self._new_row(visit)
        self.conn.execute(insert(t.visits).values(**row, **visit_columns(visit)))
        self.refresh_summaries([visit.patient_id or ""])
        return visit.model_copy(update=row)

    def update_visit(self, visit: Visit, expected_version: int) -> Visit:
        saved = self._versioned_update(t.visits, visit, expected_version, visit_columns(visit))
        self.refresh_summaries([visit.patient_id or ""])
        return saved

    # --- screenings and escalations ------------------------------------------------------------
    def insert_screening(self, screening: Screening) -> Screening:
        row = self._new_row(screening)
        payload = screening.model_dump(
            mode="json",
            exclude={"id", "version", "recorded_at", "updated_at", "recorded_by", "updated_by", "archived"},
        )
        self.conn.execute(
            insert(t.screenings).values(
                **row,
                patient_id=screening.patient_id,
                visit_id=screening.visit_id,
                urgency=screening.urgency,
                rule_set_version=screening.rule_set_version,
                data=payload,
            )
        )
        return screening.model_copy(update=row)

    def screenings(self, patient_id: str) -> list[Screening]:
        stmt = (
            select(t.screenings)
            .where(t.screenings.c.patient_id == patient_id)
            .order_by(t.screenings.c.recorded_at)
        )
        return [screening_from_row(row) for row in self.conn.execute(stmt)]

    @staticmethod
    def _escalation_values(escalation: Escalation) -> dict[str, Any]:
        payload = escalation.model_dump(
            mode="json",
            exclude={"id", "version", "recorded_at", "updated_at", "recorded_by", "updated_by", "archived"},
        )
        return {
            "patient_id": escalation.patient_id,
            "rule_id": escalation.rule_id,
            "tier": escalation.tier,
            "status": escalation.status,
            "data": payload,
        }

    def escalations(self, *, patient_id: str | None = None, status: str | None = None) -> list[Escalation]:
        stmt = select(t.escalations).where(t.escalations.c.archived.is_(False))
        if patient_id is not None:
            stmt = stmt.where(t.escalations.c.patient_id == patient_id)
        if status is not None:
            stmt = stmt.where(t.escalations.c.status == status)
        stmt = stmt.order_by(t.escalations.c.recorded_at)
        return [escalation_from_row(row) for row in self.conn.execute(stmt)]

    def insert_escalation(self, escalation: Escalation) -> Escalation:
        row = self._new_row(escalation)
        self.conn.execute(insert(t.escalations).values(**row, **self._escalation_values(escalation)))
        self.refresh_summaries([escalation.patient_id])
        return escalation.model_copy(update=row)

    def update_escalation(self, escalation: Escalation, expected_version: int) -> Escalation:
        saved = self._versioned_update(
            t.escalations, escalation, expected_version, self._escalation_values(escalation)
        )
        self.refresh_summaries([escalation.patient_id])
        return saved

    # --- revisions and audit -------------------------------------------------------------------
    def insert_revision(self, revision: Revision, patient_id: str | None) -> None:
        self.conn.execute(
            insert(t.revisions).values(
                id=new_id(),
                entity=revision.entity,
                entity_id=revision.entity_id,
                patient_id=patient_id,
                version=revision.version,
                changed_at=revision.changed_at,
                changed_by=revision.changed_by,
                reason=revision.reason,
                before=revision.before,
                after=revision.after,
            )
        )

    def revisions(self, entity: str, entity_id: str) -> list[Revision]:
        stmt = (
            select(t.revisions)
            .where(t.revisions.c.entity == entity, t.revisions.c.entity_id == entity_id)
            .order_by(t.revisions.c.version)
        )
        return [
            Revision(
                entity=row.entity,
                entity_id=row.entity_id,
                version=row.version,
                changed_at=_as_utc(row.changed_at) or utcnow(),
                changed_by=row.changed_by,
                reason=row.reason,
                before=row.before,
                after=row.after,
            )
            for row in self.conn.execute(stmt)
        ]

    def insert_audit(
        self,
        *,
        user_id: str | None,
        action: str,
        entity: str | None = None,
        entity_id: str | None = None,
        patient_id: str | None = None,
        reason: str = "",
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
    ) -> None:
        if self.conn.dialect.name == "postgresql":
            self.conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": AUDIT_LOCK_KEY})
        prev = self.conn.execute(select(t.audit.c.hash).order_by(t.audit.c.seq.desc()).limit(1)).scalar()
        before, after = _jsonable(before), _jsonable(after)
        row = {
            "at": utcnow(),
            "user_id": user_id,
            "action": action,
            "entity": entity,
            "entity_id": entity_id,
            "patient_id": patient_id,
            "reason": reason,
            "before": before,
            "after": after,
            "payload_sha256": payload_sha256(reason, before, after),
            "redacted": False,
        }
        prev_hash = prev or GENESIS_HASH
        self.conn.execute(insert(t.audit).values(**row, prev_hash=prev_hash, hash=audit_hash(prev_hash, row)))

    def redact_audit_for_patient(self, patient_id: str) -> int:
        """Erasure: drop the payload (reason, before, after) of every audit row about a patient.

        The rows stay (when, who, what, which record) with their payload digest and hashes, so the
        chain still verifies; PostgreSQL's trigger allows exactly this change and no other.
        Returns the number of rows redacted.
        """
        result = self.conn.execute(
            update(t.audit)
            .where(t.audit.c.patient_id == patient_id, t.audit.c.redacted.is_(False))
            .values(reason="", before=null(), after=null(), redacted=True)
        )
        return int(result.rowcount or 0)

    def erase_patient_data(self, stub: Patient, expected_version: int) -> dict[str, int]:
        """Erasure: delete a patient's clinical rows and overwrite the patient row with `stub`.

        Visits, screenings, escalations, handouts, revisions and the caseload summary go; the
        patient row stays (the audit stub points at its id), hidden from search. Returns the number
        of rows deleted per table.
        """
        patient_id = stub.id or ""
        if self.conn.dialect.name == "sqlite":
            # Overwrite deleted content with zeros instead of leaving it in the file's free space.
            self.conn.exec_driver_sql("PRAGMA secure_delete = ON")
        visit_ids = select(t.visits.c.id).where(t.visits.c.patient_id == patient_id)
        escalation_ids = select(t.escalations.c.id).where(t.escalations.c.patient_id == patient_id)
        removed = {
            "revisions": self.conn.execute(
                delete(t.revisions).where(
                    (t.revisions.c.patient_id == patient_id)
                    | (t.revisions.c.entity_id == patient_id)
                    | t.revisions.c.entity_id.in_(visit_ids)
                    | t.revisions.c.entity_id.in_(escalation_ids)
                )
            ).rowcount
        }
        for table in (t.screenings, t.escalations, t.handouts, t.visits, t.patient_summaries):
            result = self.conn.execute(delete(table).where(table.c.patient_id == patient_id))
            removed[table.name] = result.rowcount
        values = {**self._patient_values(stub), "search_key": ""}
        self._versioned_update(t.patients, stub, expected_version, values)
        return {name: int(n or 0) for name, n in removed.items()}

    def audit_entries(
        self,
        *,
        user_id: str | None = None,
        patient_id: str | None = None,
        action: str | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        limit: int = 500,
    ) -> list[AuditEntry]:
        stmt = select(t.audit)
        if user_id:
            stmt = stmt.where(t.audit.c.user_id == user_id)
        if patient_id:
            stmt = stmt.where(t.audit.c.patient_id == patient_id)
        if action:
            stmt = stmt.where(t.audit.c.action == action)
        if since:
            stmt = stmt.where(t.audit.c.at >= since)
        if until:
            stmt = stmt.where(t.audit.c.at < until)
        stmt = stmt.order_by(t.audit.c.seq.desc()).limit(limit)
        return [
            AuditEntry(
                seq=row.seq,
                at=_as_utc(row.at) or utcnow(),
                user_id=row.user_id,
                action=row.action,
                entity=row.entity,
                entity_id=row.entity_id,
                patient_id=row.patient_id,
                reason=row.reason,
                before=row.before,
                after=row.after,
                redacted=row.redacted,
            )
            for row in self.conn.execute(stmt)
        ]

    def verify_audit_chain(self) -> tuple[bool, int, int | None]:
        """Recompute the chain: (intact, rows checked, first broken seq or None)."""
        rows = self.conn.execute(select(t.audit).order_by(t.audit.c.seq))
        return check_audit_chain(row._asdict() for row in rows)

    # --- users ---------------------------------------------------------------------------------
    def get_user(self, user_id: str) -> User | None:
        row = self.conn.execute(select(t.users).where(t.users.c.id == user_id)).first()
        return _user(row) if row else None

    def get_user_by_username(self, username: str) -> User | None:
        row = self.conn.execute(select(t.users).where(t.users.c.username == username)).first()
        return _user(row) if row else None

    def password_hash(self, user_id: str) -> str | None:
        return self.conn.execute(select(t.users.c.password_hash).where(t.users.c.id == user_id)).scalar()

    def users(self) -> list[User]:
        return [_user(row) for row in self.conn.execute(select(t.users).order_by(t.users.c.username))]

    def insert_user(self, user: User, password_hash: str) -> User:
        now = utcnow()
        user_id = user.id or new_id()
        try:
            with self.conn.begin_nested():
                self.conn.execute(
                    insert(t.users).values(
                        id=user_id,
                        version=1,
                        recorded_at=now,
                        updated_at=now,
                        archived=False,
                        username=user.username,
                        display_name=user.display_name,
                        role=user.role,
                        password_hash=password_hash,
                        active=user.active,
                        failed_logins=0,
                        locked_until=None,
                    )
                )
        except IntegrityError:
            raise DuplicateError(
                "username", "This username is already taken."
            ) from None  # the database error carries the values
        return User(
            id=user_id,
            username=user.username,
            display_name=user.display_name,
            role=user.role,
            active=user.active,
        )

    def update_user(self, user: User, *, password_hash: str | None = None) -> User:
        values: dict[str, Any] = {
            "display_name": user.display_name,
            "role": user.role,
            "active": user.active,
            "failed_logins": user.failed_logins,
            "locked_until": user.locked_until,
            "updated_at": utcnow(),
            "version": t.users.c.version + 1,
        }
        if password_hash is not None:
            values["password_hash"] = password_hash
        self.conn.execute(update(t.users).where(t.users.c.id == user.id).values(**values))
        refreshed = self.get_user(user.id)
        assert refreshed is not None
        return refreshed

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
            )
        )
        found = self.get_web_session(session_id)
        assert found is not None
        return found

    def _web_session_where(self, condition: ColumnElement[bool]) -> WebSession | None:
        row = self.conn.execute(select(t.web_sessions).where(condition)).first()
        return _web_session(row) if row else None

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

    # --- handouts ------------------------------------------------------------------------------
    def insert_handout(
        self,
        *,
        patient_id: str,
        recorded_by: str | None,
        pdf: bytes,
        plan: dict[str, Any],
        rule_set_version: str,
        library_version: str,
    ) -> Handout:
        now = utcnow()
        handout_id = new_id()
        digest = hashlib.sha256(pdf).hexdigest()
        self.conn.execute(
            insert(t.handouts).values(
                id=handout_id,
                version=1,
                recorded_at=now,
                updated_at=now,
                recorded_by=recorded_by,
                updated_by=recorded_by,
                archived=False,
                patient_id=patient_id,
                sha256=digest,
                pdf=pdf,
                plan=plan,
                rule_set_version=rule_set_version,
                library_version=library_version,
            )
        )
        return Handout(
            handout_id, patient_id, now, recorded_by, digest, pdf, plan, rule_set_version, library_version
        )

    def handouts(self, patient_id: str) -> list[Handout]:
        stmt = (
            select(t.handouts).where(t.handouts.c.patient_id == patient_id).order_by(t.handouts.c.recorded_at)
        )
        return [
            Handout(
                row.id,
                row.patient_id,
                _as_utc(row.recorded_at) or utcnow(),
                row.recorded_by,
                row.sha256,
                bytes(row.pdf),
                row.plan,
                row.rule_set_version,
                row.library_version,
            )
            for row in self.conn.execute(stmt)
        ]

    def open_flag_summary(self, *, emergency_limit: int = 20) -> FlagSummary:
        """Counts of open escalations per tier and the EMERGENCY ones, in two small queries."""
        e, p = t.escalations, t.patients
        live = (e.c.status == "open") & e.c.archived.is_(False) & p.c.archived.is_(False)
        counts = {
            row.tier: row.n
            for row in self.conn.execute(
                select(e.c.tier, func.count().label("n"))
                .select_from(e.join(p, p.c.id == e.c.patient_id))
                .where(live)
                .group_by(e.c.tier)
            )
        }
        emergencies = [
            PinnedEmergency(
                row.rule_id,
                row.patient_id,
                row.patient_ref,
                f"{row.data['given_name']} {row.data['family_name']}",
            )
            for row in self.conn.execute(
                select(e.c.rule_id, e.c.patient_id, p.c.patient_ref, p.c.data)
                .select_from(e.join(p, p.c.id == e.c.patient_id))
                .where(live, e.c.tier == "EMERGENCY")
                .order_by(e.c.recorded_at)
                .limit(emergency_limit)
            )
        ]
        return FlagSummary(counts, emergencies)

    # --- caseload ------------------------------------------------------------------------------
    def _aggregate(self, patient_ids: list[str] | None) -> list[dict[str, Any]]:
        """The caseload's derived values per patient (all patients, or the given ones), in one query."""
        v = t.visits
        live: ColumnElement[bool] = v.c.archived.is_(False)
        if patient_ids is not None:
            live = live & v.c.patient_id.in_(patient_ids)
        ranked = (
            select(
                v.c.patient_id,
                v.c.visit_date,
                v.c.pain_nrs,
                v.c.odi_percent,
                v.c.walk_protocol,
                v.c.walk_primary,
                func.row_number()
                .over(partition_by=v.c.patient_id, order_by=(v.c.visit_date.desc(), v.c.recorded_at.desc()))
                .label("rn_last"),
                func.count().over(partition_by=v.c.patient_id).label("n_visits"),
                func.count(v.c.pain_nrs).over(partition_by=v.c.patient_id).label("nrs_count"),
                func.count(v.c.walk_primary).over(partition_by=v.c.patient_id).label("walk_count"),
            )
            .where(live)
            .subquery()
        )
        latest = select(ranked).where(ranked.c.rn_last == 1).subquery()
        first_nrs = (
            select(
                v.c.patient_id,
                v.c.pain_nrs.label("first_nrs"),
                func.row_number()
                .over(partition_by=v.c.patient_id, order_by=(v.c.visit_date, v.c.recorded_at))
                .label("rn"),
            )
            .where(live, v.c.pain_nrs.is_not(None))
            .subquery()
        )
        last_nrs = (
            select(
                v.c.patient_id,
                v.c.pain_nrs.label("latest_nrs"),
                func.row_number()
                .over(partition_by=v.c.patient_id, order_by=(v.c.visit_date.desc(), v.c.recorded_at.desc()))
                .label("rn"),
            )
            .where(live, v.c.pain_nrs.is_not(None))
            .subquery()
        )
        walk_ranked = (
            select(
                v.c.patient_id,
                v.c.walk_protocol,
                v.c.walk_primary,
                func.row_number()
                .over(
                    partition_by=(v.c.patient_id, v.c.walk_protocol),
                    order_by=(v.c.visit_date, v.c.recorded_at),
                )
                .label("rn_first"),
                func.row_number()
                .over(partition_by=v.c.patient_id, order_by=(v.c.visit_date.desc(), v.c.recorded_at.desc()))
                .label("rn_last"),
            )
            .where(live, v.c.walk_protocol.is_not(None), v.c.walk_primary.is_not(None))
            .subquery()
        )
        last_walk = select(walk_ranked).where(walk_ranked.c.rn_last == 1).subquery()
        first_walk = select(walk_ranked).where(walk_ranked.c.rn_first == 1).subquery()
        tier_rank = func.max(
            text(
                "CASE escalations.tier WHEN 'EMERGENCY' THEN 3 WHEN 'URGENT' THEN 2 "
                "WHEN 'ROUTINE_REVIEW' THEN 1 ELSE 0 END"
            )
        )
        open_flags = (
            select(t.escalations.c.patient_id, tier_rank.label("open_rank"))
            .where(
                t.escalations.c.status == "open",
                t.escalations.c.archived.is_(False),
                *([t.escalations.c.patient_id.in_(patient_ids)] if patient_ids is not None else []),
            )
            .group_by(t.escalations.c.patient_id)
            .subquery()
        )
        p = t.patients
        stmt = (
            select(
                p.c.id.label("patient_id"),
                latest.c.visit_date.label("last_visit_date"),
                latest.c.odi_percent.label("latest_odi_percent"),
                latest.c.n_visits,
                latest.c.nrs_count,
                latest.c.walk_count,
                first_nrs.c.first_nrs,
                last_nrs.c.latest_nrs,
                last_walk.c.walk_protocol,
                last_walk.c.walk_primary.label("latest_walk_primary"),
                first_walk.c.walk_primary.label("first_walk_primary"),
                open_flags.c.open_rank,
            )
            .select_from(p)
            .outerjoin(latest, latest.c.patient_id == p.c.id)
            .outerjoin(first_nrs, (first_nrs.c.patient_id == p.c.id) & (first_nrs.c.rn == 1))
            .outerjoin(last_nrs, (last_nrs.c.patient_id == p.c.id) & (last_nrs.c.rn == 1))
            .outerjoin(last_walk, last_walk.c.patient_id == p.c.id)
            .outerjoin(
                first_walk,
                (first_walk.c.patient_id == p.c.id)
                & (first_walk.c.walk_protocol == last_walk.c.walk_protocol),
            )
            .outerjoin(open_flags, open_flags.c.patient_id == p.c.id)
            .where(p.c.id.in_(patient_ids) if patient_ids is not None else sa_true())
        )
        tiers = {3: "EMERGENCY", 2: "URGENT", 1: "ROUTINE_REVIEW"}
        return [
            {
                "patient_id": row.patient_id,
                "last_visit_date": row.last_visit_date,
                "n_visits": row.n_visits or 0,
                "nrs_count": row.nrs_count or 0,
                "walk_count": row.walk_count or 0,
                "first_nrs": row.first_nrs,
                "latest_nrs": row.latest_nrs,
                "latest_odi_percent": row.latest_odi_percent,
                "walk_protocol": row.walk_protocol,
                "first_walk_primary": row.first_walk_primary,
                "latest_walk_primary": row.latest_walk_primary,
                "open_tier": tiers.get(row.open_rank or 0, "NONE"),
            }
            for row in self.conn.execute(stmt)
        ]

    def refresh_summaries(self, patient_ids: list[str] | None = None) -> None:
        """Recompute the caseload summaries of some patients (None: every patient) in this transaction."""
        rows = self._aggregate(patient_ids)
        if patient_ids is None:
            self.conn.execute(delete(t.patient_summaries))
        else:
            self.conn.execute(
                delete(t.patient_summaries).where(t.patient_summaries.c.patient_id.in_(patient_ids))
            )
        for chunk in (rows[i : i + 2000] for i in range(0, len(rows), 2000)):
            self.conn.execute(insert(t.patient_summaries), chunk)
        if patient_ids is None:
            self.set_meta("summary_version", SUMMARY_VERSION)

    def caseload_rows(self) -> list[dict[str, Any]]:
        """One row per active patient: details joined to the stored summaries (one indexed read)."""
        p, ps = t.patients, t.patient_summaries
        stmt = (
            select(
                p.c.id,
                p.c.patient_ref,
                # The two name fields, not the whole payload: no patient JSON is decoded in Python
                # (JSON_EXTRACT on SQLite, ->> on PostgreSQL).
                p.c.data["given_name"].as_string().label("given_name"),
                p.c.data["family_name"].as_string().label("family_name"),
                p.c.clinician_id,
                p.c.next_review_date,
                ps,
            )
            .select_from(p.outerjoin(ps, ps.c.patient_id == p.c.id))
            .where(p.c.archived.is_(False))
        )
        out = []
        for row in self.conn.execute(stmt):
            n_visits = row.n_visits or 0
            out.append(
                {
                    "patient_id": row.id,
                    "patient_ref": row.patient_ref,
                    "name": f"{row.given_name} {row.family_name}",
                    "clinician_id": row.clinician_id,
                    "next_review_date": row.next_review_date,
                    "last_visit_date": row.last_visit_date,
                    "n_visits": n_visits,
                    "visit_count": n_visits,
                    "nrs_count": row.nrs_count or 0,
                    "walk_count": row.walk_count or 0,
                    "first_nrs": row.first_nrs,
                    "latest_nrs": row.latest_nrs,
                    "latest_odi_percent": row.latest_odi_percent,
                    "walk_protocol": row.walk_protocol,
                    "first_walk_primary": row.first_walk_primary,
                    "latest_walk_primary": row.latest_walk_primary,
                    "open_tier": row.open_tier or "NONE",
                }
            )
        return out


def _jsonable(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is None:
        return None
    return json.loads(json.dumps(value, default=str))


class SqlStore:
    """The clinic's database (implements dashboard.ports.Store)."""

    def __init__(self, engine: Engine, read_engine: Engine | None = None) -> None:
        self.engine = engine
        self.read_engine = read_engine or engine

    @contextmanager
    def transaction(self) -> Iterator[SqlTx]:
        """A write transaction: commits on success, rolls back on any error."""
        with self.engine.begin() as conn:
            yield SqlTx(conn)

    @contextmanager
    def read(self) -> Iterator[SqlTx]:
        """A read-only unit of work (rolled back at the end)."""
        with self.read_engine.connect() as conn:
            yield SqlTx(conn)
            conn.rollback()

    def verify_audit(self) -> tuple[bool, int, int | None]:
        """Check the hash chain of the audit trail: (intact, rows, first broken seq)."""
        with self.read() as tx:
            return tx.verify_audit_chain()

    @property
    def is_demo(self) -> bool:
        """True when the database was filled by the fictional demo generator."""
        with self.read() as tx:
            return tx.get_meta("demo") == "true"

    def close(self) -> None:
        """Release every pooled connection."""
        self.engine.dispose()
        if self.read_engine is not self.engine:
            self.read_engine.dispose()


def make_engine(url: str, *, immediate: bool = True) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys and (for writers) BEGIN IMMEDIATE."""
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5, hide_parameters=True)
    engine = create_engine(
        url, connect_args={"timeout": 30, "check_same_thread": False}, hide_parameters=True
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite would defer it).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Writers take the lock at BEGIN so the audit chain and version checks never interleave.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def open_store(url: str, *, migrate: bool = True) -> SqlStore:
    """Open the clinic's database at `url`, running migrations under a lock first."""
    if url.startswith("sqlite:///"):
        from pathlib import Path

        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = make_engine(url)
    if migrate:
        from data.migrate import upgrade

        upgrade(engine)
    read_engine = make_engine(url, immediate=False) if url.startswith("sqlite") else None
    store = SqlStore(engine, read_engine)
    with store.read() as tx:
        stale = tx.get_meta("summary_version") != SUMMARY_VERSION
    if stale:  # a new database, one from before the summaries, or one filled by a bulk import
        with store.transaction() as tx:
            # Several processes may open the store at once: one refreshes, the others find it done.
            if tx.conn.dialect.name == "postgresql":
                tx.conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": SUMMARY_LOCK_KEY})
            if tx.get_meta("summary_version") != SUMMARY_VERSION:
                tx.refresh_summaries()
    return store
