"""SQLAlchemy 2 table definitions of Stride's store: the single source for Alembic migrations.

Clinical payloads are stored as JSON beside the few columns that queries filter or aggregate on.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    false,
    text,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def _bookkeeping() -> list[Column]:
    return [
        Column("id", String(36), primary_key=True),
        Column("version", Integer, nullable=False, default=1),
        Column("recorded_at", DateTime(timezone=True), nullable=False),
        Column("updated_at", DateTime(timezone=True), nullable=False),
        Column("recorded_by", String(36), nullable=True),
        Column("updated_by", String(36), nullable=True),
        Column("archived", Boolean, nullable=False, default=False),
    ]


meta = Table(
    "meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

users = Table(
    "users",
    metadata,
    *_bookkeeping(),
    Column("username", String(64), nullable=False, unique=True),
    Column("display_name", String(200), nullable=False),
    Column("role", String(16), nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("failed_logins", Integer, nullable=False, default=0),
    Column("locked_until", DateTime(timezone=True), nullable=True),
    # Migration 0004: a session ends when this differs from the value it logged in with.
    Column("session_epoch", Integer, nullable=False, default=0, server_default="0"),
    Column("must_change_password", Boolean, nullable=False, default=False, server_default=false()),
)

# Login throttling shared by every app process (migration 0004): one row per client, per typed username
# and per (account, client) pair that logged in before; keys are SHA-256 digests, never the raw values.
login_throttle = Table(
    "login_throttle",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("kind", String(8), nullable=False),
    Column("failures", Integer, nullable=False, default=0),
    Column("last_at", DateTime(timezone=True), nullable=False),
    Column("blocked_until", DateTime(timezone=True), nullable=True),
    Index("ix_login_throttle_last_at", "last_at"),
)

patients = Table(
    "patients",
    metadata,
    *_bookkeeping(),
    Column("patient_ref", String(40), nullable=False, unique=True),
    Column("search_key", Text, nullable=False),
    Column("clinician_id", String(36), nullable=True, index=True),
    Column("next_review_date", Date, nullable=True),
    Column("data", JSON, nullable=False),
    # The handout's language (BCP 47), also in `data`; a column so the lists can show it (0008).
    Column("language", String(35), nullable=False, server_default="en"),
    # Migration 0013: the caseload's filters and counts without reading the record (covering).
    Index("ix_patients_caseload", "archived", "clinician_id", "next_review_date", "id"),
)

visits = Table(
    "visits",
    metadata,
    *_bookkeeping(),
    Column("patient_id", String(36), ForeignKey("patients.id"), nullable=False),
    Column("visit_date", Date, nullable=False),
    Column("pain_nrs", Integer, nullable=True),
    Column("odi_percent", Float, nullable=True),
    Column("walk_protocol", String(24), nullable=True),
    Column("walk_primary", Float, nullable=True),
    Column("data", JSON, nullable=False),
    # The visit's episode of care (migration 0009); also in `data`.
    Column("episode_id", String(36), nullable=True, index=True),
    Index("ix_visits_patient_date", "patient_id", "visit_date", "recorded_at"),
)

# Episodes of care (clinical-reference §11.1, migration 0009): at most one open episode per patient,
# enforced by a partial unique index; the record itself is the JSON payload.
episodes = Table(
    "episodes",
    metadata,
    *_bookkeeping(),
    Column("patient_id", String(36), ForeignKey("patients.id"), nullable=False, index=True),
    Column("status", String(12), nullable=False),
    Column("symptom_onset", Date, nullable=False),
    Column("discharge_date", Date, nullable=True),
    Column("data", JSON, nullable=False),
    Index(
        "uq_episodes_open_per_patient",
        "patient_id",
        unique=True,
        sqlite_where=text("status = 'open'"),
        postgresql_where=text("status = 'open'"),
    ),
    # Migration 0013: the caseload's "discharged, and when" read from the index alone.
    Index("ix_episodes_patient_discharge", "patient_id", "discharge_date"),
)

revisions = Table(
    "revisions",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("entity", String(24), nullable=False),
    Column("entity_id", String(36), nullable=False),
    Column("patient_id", String(36), nullable=True, index=True),
    Column("version", Integer, nullable=False),
    Column("changed_at", DateTime(timezone=True), nullable=False),
    Column("changed_by", String(36), nullable=True),
    Column("reason", Text, nullable=False),
    Column("before", JSON, nullable=True),
    Column("after", JSON, nullable=True),
    Index("ix_revisions_entity", "entity", "entity_id", "version"),
)

screenings = Table(
    "screenings",
    metadata,
    *_bookkeeping(),
    Column("patient_id", String(36), ForeignKey("patients.id"), nullable=False),
    Column("visit_id", String(36), nullable=True),
    Column("urgency", String(16), nullable=False),
    Column("rule_set_version", String(32), nullable=False),
    Column("data", JSON, nullable=False),
    Index("ix_screenings_patient", "patient_id", "recorded_at"),
)

escalations = Table(
    "escalations",
    metadata,
    *_bookkeeping(),
    Column("patient_id", String(36), ForeignKey("patients.id"), nullable=False),
    Column("rule_id", String(48), nullable=False),
    Column("tier", String(16), nullable=False),
    Column("status", String(8), nullable=False),
    Column("data", JSON, nullable=False),
    Index("ix_escalations_patient_rule", "patient_id", "rule_id"),
    Index("ix_escalations_status", "status"),
    # Migration 0015: the sidebar's open-flag counts and newest emergencies from this index alone.
    Index("ix_escalations_open", "status", "tier", "archived", "recorded_at", "id", "patient_id"),
)

handouts = Table(
    "handouts",
    metadata,
    *_bookkeeping(),
    Column("patient_id", String(36), ForeignKey("patients.id"), nullable=False, index=True),
    Column("sha256", String(64), nullable=False),
    Column("pdf", LargeBinary, nullable=False),
    Column("plan", JSON, nullable=False),
    Column("rule_set_version", String(32), nullable=False),
    Column("library_version", String(32), nullable=False),
)

# A letter as given (clinical-reference §13): the exact PDF, its SHA-256 and the content it printed.
# A referral letter names the escalations it closed (their `close_letter_id` points back).
letters = Table(
    "letters",
    metadata,
    *_bookkeeping(),
    Column("patient_id", String(36), ForeignKey("patients.id"), nullable=False, index=True),
    Column("episode_id", String(36), nullable=True),
    Column("kind", String(24), nullable=False),
    Column("recipient", String(32), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("pdf", LargeBinary, nullable=False),
    Column("data", JSON, nullable=False),
)

# The patient's own voice (clinical-reference §12; issue 21). An invite keeps only the SHA-256 of its
# token; a check-in report is never edited (the visit that reviewed it is linked); a diary entry gains
# its next-morning pain the day after (a versioned update, the old value in the audit entry).
invites = Table(
    "invites",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("patient_id", String(36), ForeignKey("patients.id"), nullable=False, index=True),
    Column("episode_id", String(36), nullable=True),
    Column("kind", String(16), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(36), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True), nullable=True),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    Column("failed_identity_attempts", Integer, nullable=False, server_default="0"),
)

patient_reports = Table(
    "patient_reports",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("invite_id", String(36), ForeignKey("invites.id"), nullable=False, unique=True),
    Column("patient_id", String(36), ForeignKey("patients.id"), nullable=False, index=True),
    Column("episode_id", String(36), nullable=True),
    Column("submitted_at", DateTime(timezone=True), nullable=False),
    Column("answers", JSON, nullable=False),
    Column("urgency", String(16), nullable=False),
    Column("reviewed_visit_id", String(36), nullable=True),
)

diary_entries = Table(
    "diary_entries",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("version", Integer, nullable=False, default=1),
    Column("invite_id", String(36), ForeignKey("invites.id"), nullable=False),
    Column("patient_id", String(36), ForeignKey("patients.id"), nullable=False, index=True),
    Column("episode_id", String(36), nullable=True),
    Column("walk_date", Date, nullable=False),
    Column("walked_min", Float, nullable=False),
    Column("symptom_onset_min", Float, nullable=True),
    Column("pain_before_nrs", Integer, nullable=False),
    Column("pain_during_nrs", Integer, nullable=False),
    Column("pain_next_morning_nrs", Integer, nullable=True),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# A browser's login session (dashboard/web_sessions.py). Only SHA-256 digests of the one-time login
# ticket and of the cookie token are stored, never the values themselves.
web_sessions = Table(
    "web_sessions",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("user_id", String(36), ForeignKey("users.id"), nullable=False, index=True),
    Column("ticket_sha256", String(64), nullable=False, unique=True),
    Column("ticket_expires_at", DateTime(timezone=True), nullable=False),
    Column("ticket_used_at", DateTime(timezone=True), nullable=True),
    Column("token_sha256", String(64), nullable=True, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_seen_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    Column("revoke_reason", String(32), nullable=False, default=""),
    Column("session_epoch", Integer, nullable=False, server_default="0"),
)

# Operational, never exported: one row per kind of background job (only "rescreen" today). The row is
# the job's lease: `owner` holds it until `expires_at`, moved on by the worker's heartbeat, so exactly one
# job of a kind runs across every app process (data/store/tx_jobs.py acquires it with one conditional
# UPDATE); `done` of `total` is its progress, committed with each chunk of work.
jobs = Table(
    "jobs",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("owner", String(36), nullable=True),
    Column("state", String(16), nullable=False),
    Column("rule_set_version", String(32), nullable=True),
    Column("total", Integer, nullable=False, default=0),
    Column("done", Integer, nullable=False, default=0),
    Column("requested_by", String(36), nullable=True),
    Column("started_at", DateTime(timezone=True), nullable=True),
    Column("heartbeat_at", DateTime(timezone=True), nullable=True),
    Column("expires_at", DateTime(timezone=True), nullable=True),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    Column("message", String(200), nullable=False, default=""),
)

audit = Table(
    "audit",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("user_id", String(36), nullable=True, index=True),
    Column("action", String(48), nullable=False, index=True),
    Column("entity", String(24), nullable=True),
    Column("entity_id", String(36), nullable=True),
    Column("patient_id", String(36), nullable=True, index=True),
    Column("reason", Text, nullable=False, default=""),
    Column("before", JSON, nullable=True),
    Column("after", JSON, nullable=True),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    # SHA-256 of the payload (reason, before, after): the chain hashes this digest, so an erasure can
    # drop the payload (redacted true, payload NULL) and the chain still verifies (migration 0003).
    Column("payload_sha256", String(64), nullable=True),
    Column("redacted", Boolean, nullable=False, default=False, server_default=false()),
    # Migration 0005: the chain hash is an HMAC under the clinic key; a redacted row points to the
    # "patient.erase" entry that redacted it, and `seal` (HMAC of hash, redacted, redacted_by)
    # authenticates that state, so a redaction without the key or without an erasure is detected.
    Column("redacted_by", Integer, nullable=True),
    Column("seal", String(64), nullable=True),
)

# Derived, per patient: dashboard.summaries.patient_summary as computed by the domain (latest values,
# change labels, not improving, open tier), kept current by the store on every visit and escalation
# write so the caseload is one indexed read instead of an aggregation.
# Migration 0015: one index per caseload sort order, led by the active test, so that
# `ORDER BY ... LIMIT 50` reads the page's index entries (data.store.caseload_sql).
CASELOAD_SORT_INDEXES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "ix_summaries_urgent",
        (
            "archived",
            "tier_rank",
            "not_improving",
            "last_visit_date",
            "patient_id",
            "next_review_date",
            "episode_status",
            "clinician_id",
        ),
    ),
    ("ix_summaries_name", ("archived", "name_key", "patient_id")),
    ("ix_summaries_ref", ("archived", "patient_ref", "patient_id")),
    ("ix_summaries_last_visit", ("archived", "last_visit_date", "patient_id")),
    ("ix_summaries_review", ("archived", "next_review_date", "patient_id")),
    ("ix_summaries_nrs_change", ("archived", "nrs_change DESC", "patient_id")),
    ("ix_summaries_odi", ("archived", "latest_odi_percent DESC", "patient_id")),
    ("ix_summaries_episode", ("archived", "episode_status", "discharge_date", "episode_start")),
)

patient_summaries = Table(
    "patient_summaries",
    metadata,
    Column("patient_id", String(36), ForeignKey("patients.id"), primary_key=True),
    Column("last_visit_date", Date, nullable=True),
    Column("n_visits", Integer, nullable=False, default=0),
    Column("nrs_count", Integer, nullable=False, default=0),
    Column("walk_count", Integer, nullable=False, default=0),
    Column("first_nrs", Integer, nullable=True),
    Column("latest_nrs", Integer, nullable=True),
    Column("latest_odi_percent", Float, nullable=True),
    Column("walk_protocol", String(24), nullable=True),
    Column("first_walk_primary", Float, nullable=True),
    Column("latest_walk_primary", Float, nullable=True),
    Column("open_tier", String(16), nullable=False, default="NONE"),
    # From migration 0006: what dashboard.summaries.patient_summary computes, stored as is.
    Column("first_odi_percent", Float, nullable=True),
    Column("pain_change", String(32), nullable=True),
    Column("odi_change", String(32), nullable=True),
    Column("walk_change", String(32), nullable=True),
    Column("not_improving", Boolean, nullable=False, default=False, server_default=false()),
    # From migration 0011: the current episode's first visit (when an episode began, for the caseload).
    Column("first_visit_date", Date, nullable=True),
    # Migration 0013: the caseload's flag and improvement tests and urgency order (covering).
    Index("ix_patient_summaries_caseload", "patient_id", "open_tier", "not_improving", "last_visit_date"),
    # Migration 0015: the caseload's filter and sort inputs from the patient record and its episodes,
    # copied here by every write that changes them (data.store.tx_caseload.CASELOAD_INPUTS), so that
    # one table answers a page's filters and order.
    Column("archived", Boolean, nullable=False, default=False, server_default=false()),
    Column("clinician_id", String(36), nullable=True),
    Column("next_review_date", Date, nullable=True),
    Column("patient_ref", String(40).with_variant(String(40, collation="C"), "postgresql"), nullable=True),
    Column("name_key", String(400).with_variant(String(400, collation="C"), "postgresql"), nullable=True),
    Column("episode_status", String(16), nullable=False, default="open", server_default="open"),
    Column("episode_start", Date, nullable=True),
    Column("discharge_date", Date, nullable=True),
    Column("tier_rank", Integer, nullable=False, default=0, server_default="0"),
    Column("nrs_change", Integer, nullable=True),
)
for _name, _columns in CASELOAD_SORT_INDEXES:
    Index(
        _name,
        *(
            patient_summaries.c[c.removesuffix(" DESC")].desc()
            if c.endswith(" DESC")
            else patient_summaries.c[c]
            for c in _columns
        ),
    )
