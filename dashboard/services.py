"""Use cases of Stride: every write goes through here, in one transaction with its audit entry.

Services take the store and the acting user first, check the user's role, and validate input.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import ValidationError

from dashboard import auth
from dashboard.config import RuleSettings, Settings
from dashboard.episodes import current_episode, lookback_visits
from dashboard.licences import LICENSED_INSTRUMENTS, enabled_from_meta, unlicensed_values
from dashboard.models import (
    CLOSE_ACTIONS,
    CLOSE_ACTIONS_NEEDING_TEXT,
    RISK_FIELDS,
    TIER_ORDER,
    Episode,
    Escalation,
    Patient,
    Screening,
    Visit,
    control_character_problem,
    field_errors,
)
from dashboard.ports import (
    AuditEntry,
    FlagSummary,
    Handout,
    InvalidInputError,
    Letter,
    LoginThrottledError,
    NotFoundError,
    PermissionDeniedError,
    Revision,
    StaleRecordError,
    Store,
    Throttle,
    Tx,
    User,
)
from dashboard.red_flags import screen, to_screening

MIN_AGE_YEARS = 16  # Stride's clinical sources cover adults (NG59: over 16s) [C]
MAX_AGE_YEARS = 120
# The reference of a patient erased on request (dashboard.governance.erase_patient) starts with this;
# no other patient may take such a reference.
ERASED_REF_PREFIX = "ERASED-"
ERASED_MESSAGE = "This patient's record was erased on request: it can no longer be opened or changed."


def is_erased(patient: Patient) -> bool:
    """True for the stub left by an erasure (the patient's clinical data is gone)."""
    return patient.patient_ref.startswith(ERASED_REF_PREFIX)


def _existing_patient(tx: Tx, patient_id: str) -> Patient:
    """The patient, or NotFoundError (also for an erased patient's stub)."""
    patient = tx.get_patient(patient_id)
    if patient is None:
        raise NotFoundError("Patient not found.")
    if is_erased(patient):
        raise NotFoundError(ERASED_MESSAGE)
    return patient


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


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


ROLE_REFUSED = "Your role does not allow this action."
ACCOUNT_CHANGED = "Your account was changed or deactivated, which ended this session. Please log in again."
PASSWORD_CHANGE_NEEDED = "Choose a new password before continuing."


def authorize(tx: Tx, actor: User, permission: str) -> User:
    """The actor's stored account, refused unless active, in the same session epoch and allowed `permission`.

    Every service calls this inside its transaction: the `User` a page holds is only a claim, so a
    deactivation, role change or password reset takes effect at the user's very next action.
    """
    stored = tx.get_user(actor.id)
    if stored is None or not stored.active or stored.session_epoch != actor.session_epoch:
        raise PermissionDeniedError(ACCOUNT_CHANGED)
    if stored.must_change_password:
        raise PermissionDeniedError(PASSWORD_CHANGE_NEEDED)
    if not auth.can(stored.role, permission):
        raise PermissionDeniedError(ROLE_REFUSED)
    return stored


def current_episode_visits(tx: Tx, patient_id: str) -> list[Visit]:
    """The visits of the patient's current episode of care (the open one, else the latest), oldest
    first: screening and baselines read only these (clinical-reference §11.1)."""
    current = current_episode(tx.episodes(patient_id))
    visits = tx.visits(patient_id)
    return visits if current is None else [v for v in visits if v.episode_id in (None, current.id)]


def require(store: Store, actor: User, permission: str) -> User:
    """`authorize` in a read of its own, for callers without a transaction (exports, governance)."""
    with store.read() as tx:
        return authorize(tx, actor, permission)


def _validate(model: type[Any], values: dict[str, Any]) -> Any:
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise InvalidInputError(field_errors(exc)) from None


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
        tx.insert_audit(
            user_id=actor.id,
            action="patient.create",
            entity="patient",
            entity_id=saved.id,
            patient_id=saved.id,
            after=saved.clinical_dict(),
        )
    return saved


def _changed(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after.get(k) for k in keys}


def _require_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInputError({"reason": "Give a reason for the change; it is kept with the history."})
    # Reasons are free text kept with the history: line breaks are fine, NUL and escapes are not.
    if problem := control_character_problem(reason, multiline=True):
        raise InvalidInputError({"reason": problem})
    return reason


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
        _keep_revision(
            tx,
            "patient",
            patient_id,
            saved.version,
            actor,
            reason,
            {"archived": current.archived},
            {"archived": archived},
            patient_id,
        )
        tx.insert_audit(
            user_id=actor.id,
            action="patient.archive" if archived else "patient.restore",
            entity="patient",
            entity_id=patient_id,
            patient_id=patient_id,
            reason=reason,
        )
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
            tx.insert_audit(
                user_id=actor.id,
                action="patient.open",
                entity="patient",
                entity_id=patient_id,
                patient_id=patient_id,
            )
    return record


# --- visits --------------------------------------------------------------------------------------


def _rules(settings: Settings | None) -> RuleSettings:
    return settings.rules if settings else RuleSettings()


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
) -> tuple[Visit, Screening]:
    """Save a visit, its red-flag screening, escalations and audit entry in one transaction.

    A `next_review_date` (on or after the visit date) is set on the patient in the same transaction,
    kept as a patient revision; None leaves the patient's next review as it is.
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
        tx.insert_audit(
            user_id=actor.id,
            action="visit.create",
            entity="visit",
            entity_id=saved.id,
            patient_id=patient_id,
            after=saved.clinical_dict(),
        )
        visits = current_episode_visits(tx, patient_id)
        screening = _screen_after_change(tx, actor, patient, visits, saved, _rules(settings))
    return saved, screening


def _save_patient_change(
    tx: Tx, actor: User, current: Patient, updated: Patient, expected_version: int, reason: str
) -> tuple[Patient, dict[str, Any]]:
    """Store an edited patient with its revision and audit entry; returns it and the changed values."""
    saved = tx.update_patient(updated, expected_version)
    before, after = _changed(current.clinical_dict(), saved.clinical_dict())
    _keep_revision(tx, "patient", saved.saved_id, saved.version, actor, reason, before, after, saved.id)
    tx.insert_audit(
        user_id=actor.id,
        action="patient.update",
        entity="patient",
        entity_id=saved.id,
        patient_id=saved.id,
        reason=reason,
        before=before,
        after=after,
    )
    return saved, after


def _set_next_review(tx: Tx, actor: User, patient: Patient, when: dt.date) -> Patient:
    updated = _validate(Patient, {**patient.model_dump(), "next_review_date": when, "updated_by": actor.id})
    reason = "Next review set at a visit"
    return _save_patient_change(tx, actor, patient, updated, patient.version, reason)[0]


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
        current = tx.get_visit(visit_id)
        if current is None or current.patient_id is None:
            raise NotFoundError("Visit not found.")
        _refuse_stale(tx, "visit", current, expected_version)
        patient = tx.get_patient(current.patient_id)
        assert patient is not None
        updated = _validate(Visit, {**current.model_dump(), **changes, "updated_by": actor.id})
        _check_visit_against_patient(updated, patient)
        _check_licences(tx, {k: v for k, v in changes.items() if getattr(current, k, None) != v})
        saved = tx.update_visit(updated, expected_version)
        before, after = _changed(current.clinical_dict(), saved.clinical_dict())
        _keep_revision(tx, "visit", visit_id, saved.version, actor, reason, before, after, patient.id)
        tx.insert_audit(
            user_id=actor.id,
            action="visit.correct",
            entity="visit",
            entity_id=visit_id,
            patient_id=patient.id,
            reason=reason,
            before=before,
            after=after,
        )
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
        current = tx.get_visit(visit_id)
        if current is None or current.patient_id is None:
            raise NotFoundError("Visit not found.")
        saved = tx.update_visit(
            current.model_copy(update={"archived": archived, "updated_by": actor.id}), current.version
        )
        _keep_revision(
            tx,
            "visit",
            visit_id,
            saved.version,
            actor,
            reason,
            {"archived": current.archived},
            {"archived": archived},
            current.patient_id,
        )
        tx.insert_audit(
            user_id=actor.id,
            action="visit.archive" if archived else "visit.restore",
            entity="visit",
            entity_id=visit_id,
            patient_id=current.patient_id,
            reason=reason,
        )
        patient = tx.get_patient(current.patient_id)
        visits = current_episode_visits(tx, current.patient_id)
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


def _keep_revision(
    tx: Tx,
    entity: str,
    entity_id: str,
    version: int,
    actor: User,
    reason: str,
    before: dict[str, Any],
    after: dict[str, Any],
    patient_id: str | None,
) -> None:
    tx.insert_revision(
        Revision(
            entity=entity,
            entity_id=entity_id,
            version=version,
            changed_at=_utcnow(),
            changed_by=actor.id,
            reason=reason,
            before=before,
            after=after,
        ),
        patient_id,
    )


# --- screening and escalations -------------------------------------------------------------------


def _screen_after_change(
    tx: Tx, actor: User, patient: Patient, visits: list[Visit], saved: Visit, rules: RuleSettings
) -> Screening:
    """Screen the history up to the saved visit, and the current latest visit when that differs."""
    key = (saved.visit_date, saved.recorded_at or _utcnow())
    upto = [v for v in visits if (v.visit_date, v.recorded_at or _utcnow()) <= key]
    screening = _screen_and_escalate(tx, actor, patient, upto or [saved], saved.id, rules)
    if visits and visits[-1].id != saved.id:
        _screen_and_escalate(tx, actor, patient, visits, visits[-1].id, rules)
    return screening


def _screen_and_escalate(
    tx: Tx, actor: User, patient: Patient, visits: list[Visit], visit_id: str | None, rules: RuleSettings
) -> Screening:
    # The previous episode's last visit at a re-referral within 12 weeks, for the trend rules (§11.1).
    lookback = lookback_visits(tx.episodes(patient.id or ""), tx.visits(patient.id or ""))
    result = screen(patient, visits, rules, lookback=lookback)
    screening = tx.insert_screening(
        to_screening(result, patient.id or "", visit_id).model_copy(
            update={"recorded_by": actor.id, "updated_by": actor.id}
        )
    )
    _update_escalations(tx, actor, patient, screening)
    return screening


def _update_escalations(tx: Tx, actor: User, patient: Patient, screening: Screening) -> None:
    """One open escalation per patient and rule; reopened only on a higher tier or new evidence."""
    existing = tx.escalations(patient_id=patient.id)
    now = _utcnow()
    for flag in screening.flags:
        same_rule = [e for e in existing if e.rule_id == flag.rule_id]
        open_one = next((e for e in same_rule if e.status == "open"), None)
        if open_one is not None:
            if (open_one.tier, open_one.reason, open_one.last_screening_id) != (
                flag.tier,
                flag.reason,
                screening.id,
            ):
                tx.update_escalation(
                    open_one.model_copy(
                        update={
                            "tier": flag.tier
                            if TIER_ORDER[flag.tier] > TIER_ORDER[open_one.tier]
                            else open_one.tier,
                            "reason": flag.reason,
                            "action": flag.action,
                            "timeframe": flag.timeframe,
                            "last_screening_id": screening.id,
                            "updated_by": actor.id,
                        }
                    ),
                    open_one.version,
                )
            continue
        last_closed = same_rule[-1] if same_rule else None
        if last_closed is not None:
            higher = TIER_ORDER[flag.tier] > TIER_ORDER[last_closed.tier]
            new_evidence = flag.reason != last_closed.reason
            if not (higher or new_evidence):
                continue
        opened = tx.insert_escalation(
            Escalation(
                patient_id=patient.id or "",
                rule_id=flag.rule_id,
                tier=flag.tier,
                reason=flag.reason,
                action=flag.action,
                timeframe=flag.timeframe,
                opened_at=now,
                last_screening_id=screening.id,
                recorded_by=actor.id,
                updated_by=actor.id,
            )
        )
        tx.insert_audit(
            user_id=actor.id,
            action="escalation.open",
            entity="escalation",
            entity_id=opened.id,
            patient_id=patient.id,
            after={"rule_id": flag.rule_id, "tier": flag.tier},
        )


def rescreen_patient(
    store: Store, actor: User, patient_id: str, *, settings: Settings | None = None
) -> Screening:
    """Screen a patient again on demand (for example after the rules or settings changed)."""
    with store.transaction() as tx:
        authorize(tx, actor, "write_clinical")
        patient = _existing_patient(tx, patient_id)
        visits = current_episode_visits(tx, patient_id)
        if not visits:
            raise InvalidInputError({"_": "Record a visit before screening."})
        screening = _screen_and_escalate(tx, actor, patient, visits, visits[-1].id, _rules(settings))
        tx.insert_audit(
            user_id=actor.id,
            action="patient.rescreen",
            entity="screening",
            entity_id=screening.id,
            patient_id=patient_id,
            after={"urgency": screening.urgency},
        )
    return screening


def _close_problems(action: str, detail: str) -> str:
    """The close action and its text checked; the stripped text, or InvalidInputError."""
    detail = (detail or "").strip()
    if action not in CLOSE_ACTIONS:
        raise InvalidInputError({"close_action": "Choose the action taken."})
    if action in CLOSE_ACTIONS_NEEDING_TEXT and not detail:
        raise InvalidInputError({"close_detail": "This action needs a reference, a reason or a description."})
    if problem := control_character_problem(detail, multiline=True):
        raise InvalidInputError({"close_detail": problem})
    return detail


def _close_one(
    tx: Tx,
    actor: User,
    current: Escalation,
    *,
    action: str,
    detail: str,
    expected_version: int,
    letter_id: str | None = None,
) -> Escalation:
    if current.status == "closed":
        raise InvalidInputError({"_": "This escalation is already closed."})
    closed = tx.update_escalation(
        current.model_copy(
            update={
                "status": "closed",
                "closed_at": _utcnow(),
                "closed_by": actor.id,
                "close_action": action,
                "close_detail": detail,
                "close_letter_id": letter_id,
                "updated_by": actor.id,
            }
        ),
        expected_version,
    )
    tx.insert_audit(
        user_id=actor.id,
        action="escalation.close",
        entity="escalation",
        entity_id=current.id,
        patient_id=current.patient_id,
        reason=detail,
        before={"status": "open"},
        after={"status": "closed", "close_action": action, **({"letter_id": letter_id} if letter_id else {})},
    )
    return closed


def close_escalation(
    store: Store, actor: User, escalation_id: str, *, action: str, detail: str, expected_version: int
) -> Escalation:
    """Close an escalation with the action taken; it cannot be closed without one."""
    detail = _close_problems(action, detail)
    with store.transaction() as tx:
        authorize(tx, actor, "write_clinical")
        current = next((e for e in tx.escalations() if e.id == escalation_id), None)
        if current is None:
            raise NotFoundError("Escalation not found.")
        return _close_one(tx, actor, current, action=action, detail=detail, expected_version=expected_version)


@dataclass(frozen=True)
class EscalationGroup:
    """The open escalations one screening raised for one patient: one clinical event, closed at once."""

    patient: Patient
    escalations: tuple[Escalation, ...]  # most urgent first, then oldest
    clinician: str = ""  # the display name of the patient's clinician ("" when none is assigned)

    @property
    def lead(self) -> Escalation:
        """The most urgent escalation: its tier is the event's, its id keys the event's widgets."""
        return self.escalations[0]

    @property
    def versions(self) -> dict[str, int]:
        """Each escalation's id and the version shown, for close_escalation_group."""
        return {e.saved_id: e.version for e in self.escalations}


def _event_key(escalation: Escalation) -> tuple[str, str]:
    # Every screening moves the still-firing open escalations to its id, so one id is one event.
    return escalation.patient_id, escalation.last_screening_id or escalation.saved_id


def open_escalation_groups(store: Store, actor: User) -> list[EscalationGroup]:
    """Open escalations grouped by the screening that raised them, most urgent event first, then oldest."""
    grouped: dict[tuple[str, str], list[tuple[Escalation, Patient]]] = {}
    for esc, patient in open_escalations(store, actor):  # already most urgent, then oldest, first
        grouped.setdefault(_event_key(esc), []).append((esc, patient))
    with store.read() as tx:
        names = {u.id: u.display_name for u in tx.users()}
    return [
        EscalationGroup(rows[0][1], tuple(e for e, _ in rows), names.get(rows[0][1].clinician_id or "", ""))
        for rows in grouped.values()
    ]


def one_event(tx: Tx, versions: Mapping[str, int]) -> list[Escalation]:
    """The chosen escalations, in the order given, refused unless they exist and are one event."""
    by_id = {e.id: e for e in tx.escalations()}
    chosen = [by_id.get(escalation_id) for escalation_id in versions]
    if any(e is None for e in chosen):
        raise NotFoundError("Escalation not found.")
    found = [e for e in chosen if e is not None]
    if len({_event_key(e) for e in found}) != 1:
        # Only escalations raised together are closed together; anything else is closed one by one.
        raise InvalidInputError({"_": "These escalations do not belong to one event."})
    return found


def most_urgent_first(escalation: Escalation, now: dt.datetime) -> tuple[int, dt.datetime]:
    """Sort key of escalations: most urgent tier first, then oldest first (unopened ones as `now`)."""
    return -TIER_ORDER[escalation.tier], escalation.opened_at or now


def close_escalation_group(
    store: Store, actor: User, versions: Mapping[str, int], *, action: str, detail: str
) -> list[Escalation]:
    """Close every escalation of one event with the same action and text, all or none (one audit each)."""
    detail = _close_problems(action, detail)
    if not versions:
        raise InvalidInputError({"_": "No escalation was chosen."})
    with store.transaction() as tx:
        authorize(tx, actor, "write_clinical")
        found = one_event(tx, versions)
        return [
            _close_one(tx, actor, e, action=action, detail=detail, expected_version=versions[e.saved_id])
            for e in found
        ]


def open_escalations(store: Store, actor: User) -> list[tuple[Escalation, Patient]]:
    """Open escalations across the caseload, most urgent first, then oldest first."""
    with store.read() as tx:
        authorize(tx, actor, "read")
        escalations = tx.escalations(status="open")
        patients = {pid: tx.get_patient(pid) for pid in {e.patient_id for e in escalations}}
    rows = [(e, p) for e in escalations if (p := patients.get(e.patient_id)) is not None and not p.archived]
    now = _utcnow()
    rows.sort(key=lambda pair: most_urgent_first(pair[0], now))
    return rows


def flag_summary(store: Store, actor: User) -> FlagSummary:
    """Open escalation counts per tier and the EMERGENCY ones to pin (cheap: for every page's sidebar)."""
    with store.read() as tx:
        authorize(tx, actor, "read")
        return tx.open_flag_summary()


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
        tx.insert_audit(
            user_id=actor.id,
            action="handout.give",
            entity="handout",
            entity_id=handout.id,
            patient_id=patient_id,
            after={"sha256": handout.sha256},
        )
    return handout


def record_export(store: Store, actor: User, what: str, *, patient_id: str | None = None) -> None:
    """Audit a data export (FHIR bundle, subject-access export, clinic export)."""
    # The caseload CSV is a view any reader may take away; a whole-clinic export is an admin's.
    permission = "export_patient" if patient_id else "read" if what == "caseload_csv" else "export_clinic"
    with store.transaction() as tx:
        authorize(tx, actor, permission)
        tx.insert_audit(user_id=actor.id, action=f"export.{what}", patient_id=patient_id)


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


# --- accounts ------------------------------------------------------------------------------------

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
    wait = 0.0
    # The failure is recorded (audit row, throttle counts) in a committed transaction; only then refused.
    with store.transaction() as tx:
        user = tx.get_user_by_username(username)
        is_demo = tx.get_meta("demo") == "true"
        if user is not None and username in auth.DEMO_USERS and not is_demo:
            user = None
        keys = throttle_keys(username, client, user.id if user else None)
        # Without an address every client would share one row: an attacker could then delay everyone, and
        # would count as "known" to every account. So an unknown client gets only the account's delay.
        by_client = _current(tx.get_throttle(keys["client"]), now, THROTTLE_FORGET) if client else None
        by_account = _current(tx.get_throttle(keys["account"]), now, THROTTLE_FORGET)
        known_row = tx.get_throttle(keys["known"]) if client and "known" in keys else None
        known = _current(known_row, now, KNOWN_CLIENT_FOR) is not None
        wait = max(_wait_s(by_client, now), 0.0 if known else _wait_s(by_account, now))
        if wait > 0:
            tx.insert_audit(user_id=user.id if user else None, action="login.throttled")
        elif user is not None and user.active and auth.verify_password(tx.password_hash(user.id), password):
            logged_in = user
            tx.delete_throttles(keys=[keys["account"]])
            tx.delete_throttles(older_than=now - KNOWN_CLIENT_FOR)  # keeps the table small
            if client:
                tx.put_throttle(Throttle(key=keys["known"], kind="known", failures=0, last_at=now))
            tx.insert_audit(user_id=user.id, action="login")
        else:
            if user is None:
                auth.verify_password(None, password)  # same work as a real check
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
            tx.insert_audit(user_id=user.id if user else None, action="login.failed")
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
        tx.insert_audit(
            user_id=actor.id if actor else None,
            action="user.unlock",
            entity="user",
            entity_id=user.id if user else None,
            after={"clients": clients, "rows": removed},
        )
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
        tx.insert_audit(user_id=actor.id, action="logout", reason=reason)


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
        tx.insert_audit(
            user_id=actor.id if actor else None,
            action="user.create",
            entity="user",
            entity_id=user.id,
            after={"username": username, "role": role},
        )
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
        tx.insert_audit(user_id=actor.id, action="user.password_change", entity="user", entity_id=actor.id)
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
        tx.insert_audit(
            user_id=actor.id,
            action="user.password_change",
            entity="user",
            entity_id=actor.id,
            reason="required after a reset",
        )
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
        tx.insert_audit(
            user_id=actor.id if actor else None,
            action="user.update",
            entity="user",
            entity_id=user_id,
            after={"must_change_password": required},
        )
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
        tx.insert_audit(
            user_id=actor.id,
            action="user.update",
            entity="user",
            entity_id=user_id,
            after={
                **{k: v for k, v in changes.items() if k != "session_epoch"},
                "password_reset": pw_hash is not None,
                "sessions_ended": "session_epoch" in changes,
            },
        )
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
