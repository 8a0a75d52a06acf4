"""Patient and visit services: registering, editing, archiving and finding patients, the patient
record the pages show, recording and correcting visits (each save re-screens the patient), their
histories, handouts and exports kept as given, and the caseload.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from dashboard.config import Settings
from dashboard.episodes import current_episode
from dashboard.escalation_services import _rules, _screen_after_change, _screen_and_escalate
from dashboard.licences import LICENSED_INSTRUMENTS, enabled_from_meta, unlicensed_values
from dashboard.models import (
    RISK_FIELDS,
    Episode,
    Escalation,
    Patient,
    Screening,
    Visit,
    control_character_problem,
)
from dashboard.ports import (
    Handout,
    InvalidInputError,
    Letter,
    NotFoundError,
    Revision,
    StaleRecordError,
    Store,
    Tx,
    User,
)
from dashboard.report_services import link_reviewed_report
from dashboard.service_base import (
    ERASED_REF_PREFIX,
    _audit,
    _existing_patient,
    _record_archiving,
    _record_edit,
    _require_reason,
    _validate,
    authorize,
    current_episode_visits,
    is_erased,
)

MIN_AGE_YEARS = 16  # Stride's clinical sources cover adults (NG59: over 16s) [C]
MAX_AGE_YEARS = 120


def _refuse_stale(tx: Tx, entity: str, current: Patient | Visit, expected_version: int) -> None:
    """Refuse a save based on an older version, naming who changed the record and when."""
    if current.version != expected_version:
        who = tx.get_user(current.updated_by) if current.updated_by else None
        raise StaleRecordError(entity, who.display_name if who else None, current.updated_at)


def _refuse_reserved_ref(patient: Patient) -> None:
    if patient.patient_ref.upper().startswith(ERASED_REF_PREFIX):
        raise InvalidInputError(
            {"patient_ref": f"References starting with {ERASED_REF_PREFIX} are kept for erased records."}
        )


# --- patients ------------------------------------------------------------------------------------


def _check_age(patient: Patient, on: dt.date, field_name: str) -> None:
    age = patient.age_years(on)
    if age < MIN_AGE_YEARS:
        raise InvalidInputError(
            {field_name: f"Stride is for adults: the patient must be {MIN_AGE_YEARS} or over at the visit."}
        )
    if age > MAX_AGE_YEARS:
        raise InvalidInputError({"birth_date": f"Age over {MAX_AGE_YEARS} years: check the date of birth."})


def register_patient(store: Store, actor: User, values: dict[str, Any]) -> Patient:
    """Add a patient (one episode of care); refuses under-16s and duplicate references."""
    values = {**values, "recorded_by": actor.id, "updated_by": actor.id}
    values.setdefault("clinician_id", actor.id)
    patient = _validate(Patient, values)
    _check_age(patient, dt.date.today(), "birth_date")
    _refuse_reserved_ref(patient)
    with store.transaction() as tx:
        authorize(tx, actor, "write_clinical")
        if tx.find_patient_by_ref(patient.patient_ref) is not None:
            raise InvalidInputError({"patient_ref": "A patient with this reference already exists."})
        saved = tx.insert_patient(patient)
        _audit(tx, actor, "patient.create", "patient", saved.id, saved.id, after=saved.clinical_dict())
    return saved


def update_patient(
    store: Store,
    actor: User,
    patient_id: str,
    changes: dict[str, Any],
    *,
    expected_version: int,
    reason: str,
    settings: Settings | None = None,
) -> Patient:
    """Edit a patient, keeping the earlier values as a revision; re-screens if risk fields changed."""
    reason = _require_reason(reason)
    with store.transaction() as tx:
        authorize(tx, actor, "write_clinical")
        current = _existing_patient(tx, patient_id)
        _refuse_stale(tx, "patient", current, expected_version)
        merged = {**current.model_dump(), **changes, "updated_by": actor.id}
        updated = _validate(Patient, merged)
        _refuse_reserved_ref(updated)
        visits = current_episode_visits(tx, patient_id)
        if visits:
            first = min(v.visit_date for v in visits)
            if updated.symptom_onset > first:
                raise InvalidInputError(
                    {"symptom_onset": "Symptom onset must be on or before the first visit."}
                )
            _check_age(updated, first, "birth_date")
        saved, after = _save_patient_change(tx, actor, current, updated, expected_version, reason)
        if visits and any(k in RISK_FIELDS or k == "birth_date" for k in after):
            _screen_and_escalate(tx, actor, saved, visits, None, _rules(settings))
    return saved


def set_patient_archived(
    store: Store, actor: User, patient_id: str, *, archived: bool, reason: str
) -> Patient:
    """Archive (hide, never delete) or restore a patient, with a reason."""
    reason = _require_reason(reason)
    with store.transaction() as tx:
        authorize(tx, actor, "write_clinical")
        current = _existing_patient(tx, patient_id)
        saved = tx.update_patient(
            current.model_copy(update={"archived": archived, "updated_by": actor.id}), current.version
        )
        _record_archiving(tx, actor, "patient", current, saved, reason, patient_id)
    return saved


def find_patients(store: Store, actor: User, query: str, *, include_archived: bool = False) -> list[Patient]:
    """Patients whose name or reference matches every word of the query (case and accents ignored).

    Erased patients never appear (their stubs have no search text; they are filtered here too).
    Control characters are refused before the database sees them (PostgreSQL rejects NUL in text).
    """
    # Tab and line breaks separate words; anything else (NUL, escape, DEL) is no part of a name.
    if control_character_problem(query, multiline=True):
        raise InvalidInputError({"query": "Search text cannot contain control characters."})
    # Text copied from a page may hold the invisible word joiners md_escape adds (":", "@", "www.").
    query = query.replace("\u2060", "")
    with store.read() as tx:
        authorize(tx, actor, "read")
        found = tx.search_patients(query, include_archived=include_archived)
    return [p for p in found if not is_erased(p)]


@dataclass
class PatientRecord:
    """Everything the pages show about one patient."""

    patient: Patient
    visits: list[Visit]  # of the current episode of care (§11.1)
    screenings: list[Screening]
    escalations: list[Escalation]
    handouts: list[Handout] = field(default_factory=list)
    letters: list[Letter] = field(default_factory=list)  # every episode's, oldest first
    episodes: list[Episode] = field(default_factory=list)  # oldest first; the last is the current one
    all_visits: list[Visit] = field(default_factory=list)  # every episode's

    @property
    def latest_screening(self) -> Screening | None:
        """The most recent stored screening (None before the first visit)."""
        return self.screenings[-1] if self.screenings else None

    @property
    def current_episode(self) -> Episode | None:
        """The open episode, else the latest (discharged) one; None for a record without episodes."""
        return current_episode(self.episodes)

    def visits_of(self, episode: Episode) -> list[Visit]:
        """The visits of one of the patient's episodes, oldest first."""
        return [v for v in self.all_visits if v.episode_id == episode.id]


def open_patient(store: Store, actor: User, patient_id: str, *, audit: bool = True) -> PatientRecord:
    """Load a patient's whole record; the opening itself is audited."""
    with store.transaction() if audit else store.read() as tx:
        authorize(tx, actor, "read")
        patient = _existing_patient(tx, patient_id)
        record = PatientRecord(
            patient=patient,
            visits=current_episode_visits(tx, patient_id),
            screenings=tx.screenings(patient_id),
            escalations=tx.escalations(patient_id=patient_id),
            handouts=tx.handouts(patient_id),
            letters=tx.letters(patient_id),
            episodes=tx.episodes(patient_id),
            all_visits=tx.visits(patient_id),
        )
        if audit:
            _audit(tx, actor, "patient.open", "patient", patient_id, patient_id)
    return record


# --- visits --------------------------------------------------------------------------------------


def _check_visit_against_patient(visit: Visit, patient: Patient) -> None:
    if visit.visit_date < patient.symptom_onset:
        raise InvalidInputError({"visit_date": "The visit cannot be before the symptom onset date."})
    _check_age(patient, visit.visit_date, "visit_date")


def record_visit(
    store: Store,
    actor: User,
    patient_id: str,
    values: dict[str, Any],
    *,
    settings: Settings | None = None,
    next_review_date: dt.date | None = None,
    reviewed_report_id: str | None = None,
) -> tuple[Visit, Screening]:
    """Save a visit, its red-flag screening, escalations and audit entry in one transaction.

    A `next_review_date` (on or after the visit date) is set on the patient in the same transaction,
    kept as a patient revision; None leaves the patient's next review as it is. A
    `reviewed_report_id` links the patient's check-in this visit reviewed (§12.1) in the same
    transaction; another patient's or episode's check-in refuses the whole save.
    """
    visit = _validate(
        Visit, {**values, "patient_id": patient_id, "recorded_by": actor.id, "updated_by": actor.id}
    )
    if next_review_date is not None and next_review_date < visit.visit_date:
        raise InvalidInputError({"next_review_date": "must be on or after the visit date."})
    with store.transaction() as tx:
        authorize(tx, actor, "write_clinical")
        patient = tx.get_patient(patient_id)
        if patient is None or patient.archived:
            raise NotFoundError("Patient not found.")
        episode = tx.open_episode(patient_id)
        if episode is None:
            raise InvalidInputError(
                {"_": "This patient has been discharged: re-refer them on the Progress page first."}
            )
        visit = visit.model_copy(update={"episode_id": episode.id})
        _check_visit_against_patient(visit, patient)
        _check_licences(tx, values)
        if next_review_date is not None and next_review_date != patient.next_review_date:
            patient = _set_next_review(tx, actor, patient, next_review_date)
        saved = tx.insert_visit(visit)
        _audit(tx, actor, "visit.create", "visit", saved.id, patient_id, after=saved.clinical_dict())
        if reviewed_report_id is not None:
            link_reviewed_report(tx, actor, patient_id, episode.id, reviewed_report_id, saved.saved_id)
        visits = current_episode_visits(tx, patient_id)
        screening = _screen_after_change(tx, actor, patient, visits, saved, _rules(settings))
    return saved, screening


def _save_patient_change(
    tx: Tx, actor: User, current: Patient, updated: Patient, expected_version: int, reason: str
) -> tuple[Patient, dict[str, Any]]:
    """Store an edited patient with its revision and audit entry; returns it and the changed values."""
    saved = tx.update_patient(updated, expected_version)
    return saved, _record_edit(tx, actor, "patient.update", current, saved, reason, saved.id)


def _set_next_review(tx: Tx, actor: User, patient: Patient, when: dt.date) -> Patient:
    updated = _validate(Patient, {**patient.model_dump(), "next_review_date": when, "updated_by": actor.id})
    reason = "Next review set at a visit"
    return _save_patient_change(tx, actor, patient, updated, patient.version, reason)[0]


def _existing_visit(tx: Tx, visit_id: str) -> tuple[Visit, str]:
    """The stored visit with this id and its patient's id; NotFoundError when there is none."""
    visit = tx.get_visit(visit_id)
    if visit is None or visit.patient_id is None:
        raise NotFoundError("Visit not found.")
    return visit, visit.patient_id


def correct_visit(
    store: Store,
    actor: User,
    visit_id: str,
    changes: dict[str, Any],
    *,
    expected_version: int,
    reason: str,
    settings: Settings | None = None,
) -> tuple[Visit, Screening]:
    """Correct a visit: a new version with a reason; the original stays readable in the history."""
    reason = _require_reason(reason)
    with store.transaction() as tx:
        authorize(tx, actor, "write_clinical")
        current, patient_id = _existing_visit(tx, visit_id)
        _refuse_stale(tx, "visit", current, expected_version)
        patient = tx.get_patient(patient_id)
        assert patient is not None
        updated = _validate(Visit, {**current.model_dump(), **changes, "updated_by": actor.id})
        _check_visit_against_patient(updated, patient)
        _check_licences(tx, {k: v for k, v in changes.items() if getattr(current, k, None) != v})
        saved = tx.update_visit(updated, expected_version)
        _record_edit(tx, actor, "visit.correct", current, saved, reason, patient.id)
        screening = _screen_after_change(
            tx, actor, patient, current_episode_visits(tx, patient.id or ""), saved, _rules(settings)
        )
    return saved, screening


def _check_licences(tx: Tx, values: dict[str, Any]) -> None:
    meta = {key: tx.get_meta(key) for key in ("demo", *(f"licence:{n}" for n in LICENSED_INSTRUMENTS))}
    if errors := unlicensed_values(values, enabled_from_meta(meta)):
        raise InvalidInputError(errors)


def set_visit_archived(
    store: Store, actor: User, visit_id: str, *, archived: bool, reason: str, settings: Settings | None = None
) -> Visit:
    """Archive (never delete) or restore a visit; the patient is re-screened without it."""
    reason = _require_reason(reason)
    with store.transaction() as tx:
        authorize(tx, actor, "write_clinical")
        current, patient_id = _existing_visit(tx, visit_id)
        saved = tx.update_visit(
            current.model_copy(update={"archived": archived, "updated_by": actor.id}), current.version
        )
        _record_archiving(tx, actor, "visit", current, saved, reason, patient_id)
        patient = tx.get_patient(patient_id)
        visits = current_episode_visits(tx, patient_id)
        if patient is not None and visits:
            _screen_and_escalate(tx, actor, patient, visits, visits[-1].id, _rules(settings))
    return saved


def visit_history(store: Store, actor: User, visit_id: str) -> list[Revision]:
    """Every earlier version of a visit, oldest first, with who changed it, when and why."""
    with store.read() as tx:
        authorize(tx, actor, "read")
        return tx.revisions("visit", visit_id)


def patient_history(store: Store, actor: User, patient_id: str) -> list[Revision]:
    """Every change to a patient's own record, oldest first."""
    with store.read() as tx:
        authorize(tx, actor, "read")
        return tx.revisions("patient", patient_id)


# --- handouts ------------------------------------------------------------------------------------


def record_handout(
    store: Store,
    actor: User,
    patient_id: str,
    *,
    pdf: bytes,
    plan: dict[str, Any],
    rule_set_version: str,
    library_version: str,
) -> Handout:
    """Keep the handout exactly as given (PDF bytes, plan JSON, hash) and audit it."""
    with store.transaction() as tx:
        authorize(tx, actor, "handout")
        if tx.get_patient(patient_id) is None:
            raise NotFoundError("Patient not found.")
        handout = tx.insert_handout(
            patient_id=patient_id,
            recorded_by=actor.id,
            pdf=pdf,
            plan=plan,
            rule_set_version=rule_set_version,
            library_version=library_version,
        )
        _audit(tx, actor, "handout.give", "handout", handout.id, patient_id, after={"sha256": handout.sha256})
    return handout


def record_export(store: Store, actor: User, what: str, *, patient_id: str | None = None) -> None:
    """Audit a data export (FHIR bundle, subject-access export, clinic export)."""
    # The caseload CSV is a view any reader may take away; a whole-clinic export is an admin's.
    permission = "export_patient" if patient_id else "read" if what == "caseload_csv" else "export_clinic"
    with store.transaction() as tx:
        authorize(tx, actor, permission)
        _audit(tx, actor, f"export.{what}", patient_id=patient_id)


# --- caseload ------------------------------------------------------------------------------------


def caseload(store: Store, actor: User) -> list[dict[str, Any]]:
    """One aggregated row per active patient (latest values, first values, open flag tier)."""
    with store.read() as tx:
        authorize(tx, actor, "read")
        rows = tx.caseload_rows()
        names = {u.id: u.display_name for u in tx.users()}
    for row in rows:
        row["clinician"] = names.get(row.get("clinician_id") or "", "")
    return rows
