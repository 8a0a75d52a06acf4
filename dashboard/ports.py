"""The store interface that services receive, and the errors every layer may raise or show.

`data.store` implements it with SQLAlchemy; tests may implement it in memory.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from dashboard.models import Episode, Escalation, Patient, Screening, Visit
from dashboard.patient_reported import DiaryEntry, Invite, PatientReport
from dashboard.rescreen_jobs import JobRequest, JobState, JobStateName, ScreeningInput

if TYPE_CHECKING:  # dashboard.caseload_query imports this module
    from dashboard.caseload_query import CaseloadPage, CaseloadQuery


class StrideError(Exception):
    """An error whose message is safe to show a clinician (no patient data, no traceback)."""


class NotFoundError(StrideError):
    """The record does not exist (or is not visible to this user)."""


class PermissionDeniedError(StrideError):
    """The acting user's role does not allow this action."""


class LoginThrottledError(PermissionDeniedError):
    """Too many failed logins from this client or for this username: wait before the next attempt."""

    def __init__(self, retry_after_s: float) -> None:
        self.retry_after_s = max(1, math.ceil(retry_after_s))
        unit = "second" if self.retry_after_s == 1 else "seconds"
        super().__init__(f"Too many attempts. Try again in about {self.retry_after_s} {unit}.")


class DuplicateError(StrideError):
    """A unique value (a patient reference, a username) is already taken."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class InvalidInputError(StrideError):
    """Field-level validation failed: `errors` maps field names to messages (never values)."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class StaleRecordError(StrideError):
    """A save was based on an older version of the record than the one stored."""

    def __init__(self, entity: str, changed_by: str | None, changed_at: dt.datetime | None) -> None:
        when = changed_at.strftime("%Y-%m-%d %H:%M UTC") if changed_at else "an unknown time"
        super().__init__(
            f"This {entity} was changed by {changed_by or 'another user'} at {when} after you opened it. "
            "Nothing was saved: review the newer values and apply your change again."
        )
        self.entity = entity
        self.changed_by = changed_by
        self.changed_at = changed_at


class StoreBusy(StrideError):
    """Another writer holds the database lock for longer than the store waits; nothing was changed."""

    MESSAGE = "The database is busy. Please try again in a moment."

    def __init__(self, message: str = MESSAGE) -> None:
        super().__init__(message)


class StoreUnavailable(StrideError):
    """The database server cannot be reached (stopped, restarting, or the connection was cut); the next
    action reconnects by itself. The message says what became of the action that met it."""

    # A read, or a page's run: nothing is claimed about an earlier click (its save may have gone through).
    MESSAGE = (
        "The clinic database cannot be reached just now. What you typed is kept in this tab: "
        "try again in a moment."
    )
    # A write that had not reached its COMMIT: rolled back.
    NOTHING_CHANGED = (
        "The clinic database cannot be reached just now, so nothing was saved or changed. "
        "What you typed is kept in this tab: try again in a moment."
    )
    # The connection went while the change was being committed: PostgreSQL may or may not have stored it.
    AT_COMMIT = (
        "The connection to the clinic database was lost while the change was being saved, so it may or "
        "may not have been stored. What you typed is kept in this tab: when the database is back, check "
        "the record before saving again."
    )

    def __init__(self, message: str = MESSAGE) -> None:
        super().__init__(message)


@dataclass(frozen=True)
class User:
    """A Stride account (the password hash never leaves the store except for verification)."""

    id: str
    username: str
    display_name: str
    role: str
    active: bool = True
    failed_logins: int = 0  # legacy (before login throttling); kept for old archives, no longer used
    locked_until: dt.datetime | None = None  # legacy, as failed_logins
    version: int = 1
    # Bumped when the account is deactivated, its role changes or its password is reset or changed:
    # a session remembers the value it logged in with, and a different stored value ends that session.
    session_epoch: int = 0
    must_change_password: bool = False  # set by an admin reset: a new password before any page opens


@dataclass(frozen=True)
class Throttle:
    """Login-failure bookkeeping for one client, one account, or one known (account, client) pair.

    `key` is a SHA-256 digest, so typed usernames and client addresses are never stored as text.
    """

    key: str
    kind: str  # "client", "account" or "known"
    failures: int
    last_at: dt.datetime
    blocked_until: dt.datetime | None = None


@dataclass(frozen=True)
class WebSession:
    """A browser's server-side login session: only SHA-256 digests of its ticket and token are kept."""

    id: str
    user_id: str
    created_at: dt.datetime
    last_seen_at: dt.datetime
    token_sha256: str | None = None
    ticket_expires_at: dt.datetime | None = None
    ticket_used_at: dt.datetime | None = None
    revoked_at: dt.datetime | None = None
    revoke_reason: str = ""
    session_epoch: int = 0  # the account's session_epoch at login (see User.session_epoch)


@dataclass(frozen=True)
class Revision:
    """One stored version of an edited record, with who changed it, when and why."""

    entity: str
    entity_id: str
    version: int
    changed_at: dt.datetime
    changed_by: str | None
    reason: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


@dataclass(frozen=True)
class AuditEntry:
    """One row of the append-only audit trail."""

    seq: int
    at: dt.datetime
    user_id: str | None
    action: str
    entity: str | None
    entity_id: str | None
    patient_id: str | None
    reason: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    redacted: bool = False  # the payload was removed by a patient erasure; the entry itself stays


@dataclass(frozen=True)
class Handout:
    """A handout as given: the exact PDF bytes, the plan as JSON, and their hash."""

    id: str
    patient_id: str
    recorded_at: dt.datetime
    recorded_by: str | None
    sha256: str
    pdf: bytes
    plan: dict[str, Any]
    rule_set_version: str
    library_version: str


@dataclass(frozen=True)
class Letter:
    """A letter as given (clinical-reference §13): the exact PDF bytes, its hash and the content printed."""

    id: str
    patient_id: str
    episode_id: str | None
    kind: str  # "referral" or "discharge_summary" (dashboard.letters.LETTER_KINDS)
    recipient: str  # dashboard.letters.RECIPIENTS
    recorded_at: dt.datetime
    recorded_by: str | None
    sha256: str
    pdf: bytes
    content: dict[str, Any]
    escalation_ids: tuple[str, ...] = ()  # a referral letter's closed escalations (their evidence)


@dataclass(frozen=True)
class PinnedEmergency:
    """An open EMERGENCY escalation as pinned in the sidebar."""

    rule_id: str
    patient_id: str
    patient_ref: str
    patient_name: str
    patient_reported: bool = False  # opened by the patient's own check-in answers (§12.2)


@dataclass(frozen=True)
class FlagSummary:
    """Open escalations of active patients: counts per tier, and the EMERGENCY ones to pin."""

    counts: dict[str, int]
    emergencies: list[PinnedEmergency]  # newest first

    @property
    def total(self) -> int:
        """All open escalations."""
        return sum(self.counts.values())


class Tx(Protocol):
    """One database transaction: everything written through it commits or rolls back together."""

    def get_meta(self, key: str) -> str | None: ...
    def set_meta(self, key: str, value: str) -> None: ...

    def get_patient(self, patient_id: str) -> Patient | None: ...
    def find_patient_by_ref(self, patient_ref: str) -> Patient | None: ...
    def search_patients(
        self, query: str, *, include_archived: bool = False, limit: int = 50
    ) -> list[Patient]: ...
    def count_patients(self) -> int: ...
    def insert_patient(self, patient: Patient) -> Patient: ...
    def update_patient(self, patient: Patient, expected_version: int) -> Patient: ...

    def episodes(self, patient_id: str) -> list[Episode]: ...
    def get_episode(self, episode_id: str) -> Episode | None: ...
    def open_episode(self, patient_id: str) -> Episode | None: ...
    def insert_episode(self, episode: Episode) -> Episode: ...
    def update_episode(self, episode: Episode, expected_version: int) -> Episode: ...
    def episodes_for_outcomes(
        self, start: dt.date, end: dt.date
    ) -> list[tuple[Patient, Episode, list[Visit]]]: ...
    def open_episode_count(self) -> int: ...
    def escalations_opened(self, start: dt.date, end: dt.date) -> list[tuple[Escalation, str | None]]: ...

    def visits(self, patient_id: str, *, include_archived: bool = False) -> list[Visit]: ...
    def get_visit(self, visit_id: str) -> Visit | None: ...
    def insert_visit(self, visit: Visit) -> Visit: ...
    def update_visit(self, visit: Visit, expected_version: int) -> Visit: ...

    def insert_screening(self, screening: Screening) -> Screening: ...
    def screenings(self, patient_id: str) -> list[Screening]: ...

    def escalations(
        self, *, patient_id: str | None = None, status: str | None = None
    ) -> list[Escalation]: ...
    def insert_escalation(self, escalation: Escalation) -> Escalation: ...
    def update_escalation(self, escalation: Escalation, expected_version: int) -> Escalation: ...

    def insert_revision(self, revision: Revision, patient_id: str | None) -> None: ...
    def revisions(self, entity: str, entity_id: str) -> list[Revision]: ...

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
        at_commit: bool = True,
    ) -> int: ...
    def flush_audit(self) -> int: ...
    def count_audit_to_redact(self, patient_id: str) -> int: ...
    def redact_audit_for_patient(self, patient_id: str, erasure_seq: int) -> int: ...
    def erase_patient_data(self, stub: Patient, expected_version: int) -> dict[str, int]: ...
    def audit_entries(
        self,
        *,
        user_id: str | None = None,
        patient_id: str | None = None,
        action: str | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        limit: int = 500,
    ) -> list[AuditEntry]: ...

    def get_user(self, user_id: str) -> User | None: ...
    def get_user_by_username(self, username: str) -> User | None: ...
    def password_hash(self, user_id: str) -> str | None: ...
    def users(self) -> list[User]: ...
    def insert_user(self, user: User, password_hash: str) -> User: ...
    def update_user(self, user: User, *, password_hash: str | None = None) -> User: ...

    def get_throttle(self, key: str) -> Throttle | None: ...
    def put_throttle(self, throttle: Throttle) -> None: ...
    def delete_throttles(
        self, *, keys: Sequence[str] = (), kind: str | None = None, older_than: dt.datetime | None = None
    ) -> int: ...
    def insert_web_session(self, session: WebSession, ticket_sha256: str) -> WebSession: ...
    def web_session_by_ticket(self, ticket_sha256: str) -> WebSession | None: ...
    def web_session_by_token(self, token_sha256: str) -> WebSession | None: ...
    def get_web_session(self, session_id: str) -> WebSession | None: ...
    def claim_web_session(self, session_id: str, token_sha256: str, at: dt.datetime) -> bool: ...
    def touch_web_session(self, session_id: str, at: dt.datetime) -> None: ...
    def revoke_web_session(self, session_id: str, at: dt.datetime, reason: str) -> bool: ...

    def insert_handout(
        self,
        *,
        patient_id: str,
        recorded_by: str | None,
        pdf: bytes,
        plan: dict[str, Any],
        rule_set_version: str,
        library_version: str,
    ) -> Handout: ...
    def handouts(self, patient_id: str) -> list[Handout]: ...
    def insert_letter(
        self,
        *,
        patient_id: str,
        episode_id: str | None,
        kind: str,
        recipient: str,
        recorded_by: str | None,
        pdf: bytes,
        content: dict[str, Any],
        escalation_ids: Sequence[str] = (),
    ) -> Letter: ...
    def letters(self, patient_id: str) -> list[Letter]: ...

    def caseload_rows(self) -> list[dict[str, Any]]: ...
    # One page of the caseload filtered, sorted and counted by the database (issue 24).
    def caseload_page(self, query: CaseloadQuery) -> CaseloadPage: ...
    def caseload_clinician_ids(self) -> list[str]: ...
    def open_flag_summary(self, *, emergency_limit: int = 20) -> FlagSummary: ...

    # The patient's own voice (clinical-reference §12): invites keep only their token's SHA-256.
    def insert_invite(self, invite: Invite) -> Invite: ...
    def get_invite(self, invite_id: str) -> Invite | None: ...
    def invite_by_hash(self, token_hash: str) -> Invite | None: ...
    def invites(self, patient_id: str) -> list[Invite]: ...
    def record_identity_failure(self, invite_id: str) -> int: ...
    def use_invite(self, invite_id: str, at: dt.datetime) -> bool: ...
    def revoke_invite(self, invite_id: str, at: dt.datetime) -> bool: ...
    def insert_patient_report(self, report: PatientReport) -> PatientReport: ...
    def patient_reports(self, patient_id: str) -> list[PatientReport]: ...
    def mark_report_reviewed(self, report_id: str, visit_id: str) -> bool: ...
    def insert_diary_entry(self, entry: DiaryEntry) -> DiaryEntry: ...
    def add_next_morning_pain(self, entry_id: str, pain_nrs: int, expected_version: int) -> DiaryEntry: ...
    def diary_entries(self, patient_id: str, episode_id: str | None = None) -> list[DiaryEntry]: ...
    def delete_patient_reported(self, patient_id: str) -> Mapping[str, int]: ...

    # The background re-screen (dashboard.rescreen): its lease and progress row, and its bulk reads/writes.
    def get_job(self, name: str) -> JobState | None: ...
    def acquire_job(self, request: JobRequest, *, now: dt.datetime, lease_s: float) -> bool: ...
    def heartbeat_job(
        self, name: str, owner: str, *, now: dt.datetime, lease_s: float, done_delta: int
    ) -> bool: ...
    def finish_job(
        self, name: str, owner: str, *, now: dt.datetime, state: JobStateName, message: str = ""
    ) -> bool: ...
    def stale_screening_patients(
        self, rule_set_version: str, *, after: str | None, limit: int
    ) -> list[str]: ...
    def count_stale_screening_patients(self, rule_set_version: str) -> int: ...
    def latest_screening_version(self, patient_id: str) -> str | None: ...
    def screening_inputs(self, patient_ids: Sequence[str]) -> list[ScreeningInput]: ...
    def insert_screenings(self, screenings: Sequence[Screening]) -> None: ...
    def write_escalations(
        self, inserted: Sequence[Escalation], updated: Sequence[tuple[Escalation, int]]
    ) -> list[Escalation]: ...
    def refresh_summaries(self, patient_ids: list[str] | None = None) -> None: ...


class Store(Protocol):
    """Opens transactions on the clinic's database."""

    def transaction(self) -> AbstractContextManager[Tx]: ...
    def read(self) -> AbstractContextManager[Tx]: ...
    def close(self) -> None: ...


def iter_chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    """Yield consecutive slices of at most `size` items (bulk inserts, batched queries)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
