"""Row conversion for the store: stored rows to domain models, records to their columns (a first
version's bookkeeping, a patient's, an episode's and a visit's own), and the small helpers every part
of the store uses (utcnow, new_id, search_key, UTC and date reading)."""

from __future__ import annotations

import datetime as dt
import unicodedata
import uuid
from dataclasses import fields
from typing import Any

from dashboard.models import Episode, Escalation, Patient, Screening, Visit
from dashboard.ports import Letter, User, WebSession
from dashboard.walking import primary_metric


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


def _as_date(value: dt.date | str | None) -> dt.date | None:
    """A date read back from SQL: a date, or the ISO text SQLite's JSON and aggregates give."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


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


def fields_from_row(row: Any, record_type: Any, **read: Any) -> dict[str, Any]:
    """A stored row's values of a record dataclass's fields, `read` giving those converted on the way out."""
    return {**{f.name: getattr(row, f.name) for f in fields(record_type)}, **read}


def first_version(record_id: str, by: str | None, at: dt.datetime) -> dict[str, Any]:
    """The bookkeeping columns of a record's first version: recorded and last changed `at` by `by`."""
    return {
        "id": record_id,
        "version": 1,
        "recorded_at": at,
        "updated_at": at,
        "recorded_by": by,
        "updated_by": by,
        "archived": False,
    }


def patient_columns(patient: Patient) -> dict[str, Any]:
    """The columns of a patient row besides bookkeeping (the clinical record lives in its JSON payload)."""
    return {
        "patient_ref": patient.patient_ref,
        "search_key": search_key(patient.given_name, patient.family_name, patient.patient_ref),
        "clinician_id": patient.clinician_id,
        "next_review_date": patient.next_review_date,
        "data": patient.clinical_dict(),
        "language": patient.language,
    }


def episode_columns(episode: Episode) -> dict[str, Any]:
    """The columns of an episode-of-care row besides bookkeeping (the rest lives in its JSON payload)."""
    return {
        "patient_id": episode.patient_id,
        "status": episode.status,
        "symptom_onset": episode.symptom_onset,
        "discharge_date": episode.discharge_date,
        "data": episode.clinical_dict(),
    }


def patient_from_row(row: Any) -> Patient:
    """A stored patient row as the domain model (validated again on the way out)."""
    return Patient.model_validate({**row.data, **bookkeeping_from_row(row)})


def visit_from_row(row: Any) -> Visit:
    """A stored visit row as the domain model (validated again on the way out)."""
    return Visit.model_validate(
        {**row.data, **bookkeeping_from_row(row), "patient_id": row.patient_id, "episode_id": row.episode_id}
    )


def episode_from_row(row: Any) -> Episode:
    """A stored episode row as the domain model (validated again on the way out)."""
    return Episode.model_validate({**row.data, **bookkeeping_from_row(row), "patient_id": row.patient_id})


def screening_from_row(row: Any) -> Screening:
    """A stored screening row as the domain model (validated again on the way out)."""
    return Screening.model_validate({**row.data, **bookkeeping_from_row(row)})


def escalation_from_row(row: Any) -> Escalation:
    """A stored escalation row as the domain model (validated again on the way out)."""
    return Escalation.model_validate({**row.data, **bookkeeping_from_row(row)})


def letter_from_row(row: Any) -> Letter:
    """A stored letter row (its PDF exactly as given)."""
    return Letter(
        row.id,
        row.patient_id,
        row.episode_id,
        row.kind,
        row.recipient,
        _as_utc(row.recorded_at) or utcnow(),
        row.recorded_by,
        row.sha256,
        bytes(row.pdf),
        dict(row.data.get("content", {})),
        tuple(row.data.get("escalation_ids", ())),
    )


def _user(row: Any) -> User:
    return User(**fields_from_row(row, User, locked_until=_as_utc(row.locked_until)))


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
        session_epoch=row.session_epoch,
    )


def visit_columns(visit: Visit) -> dict[str, Any]:
    """The queryable columns of a visit row (the rest lives in its JSON payload)."""
    from dashboard.outcomes import score_odi

    odi = score_odi(visit.odi_sections) if visit.odi_sections is not None else None
    return {
        "patient_id": visit.patient_id,
        "visit_date": visit.visit_date,
        "pain_nrs": visit.pain_nrs,
        "odi_percent": odi.percent if odi else None,
        "walk_protocol": visit.walk_protocol,
        "walk_primary": primary_metric(visit),
        "episode_id": visit.episode_id,
        "data": visit.clinical_dict(),
    }
