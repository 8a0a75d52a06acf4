"""Shared base of the service modules: the permission check, the erased-patient guard, input
validation, the audit entry of every use case and the revision kept with every edit.

Every service takes the store and the acting user first, checks the user's role inside its
transaction (`authorize`) and validates input (`_validate`). Callers import the services from
`dashboard.services`; the service modules import these helpers from here.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, TypedDict, Unpack

from pydantic import ValidationError

from dashboard import auth
from dashboard.episodes import current_episode
from dashboard.models import Episode, Patient, Visit, control_character_problem, field_errors
from dashboard.ports import (
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    Revision,
    Store,
    Tx,
    User,
)

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


def _changed(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after.get(k) for k in keys}


def _free_text(value: str | None, field_name: str, missing: str | None) -> str:
    """Free text kept with the history, stripped; refused when empty with a `missing` message.

    Line breaks are fine in it, NUL and escapes are not.
    """
    text = (value or "").strip()
    if missing and not text:
        raise InvalidInputError({field_name: missing})
    if problem := control_character_problem(text, multiline=True):
        raise InvalidInputError({field_name: problem})
    return text


def _require_reason(reason: str) -> str:
    return _free_text(reason, "reason", "Give a reason for the change; it is kept with the history.")


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


class AuditPayload(TypedDict, total=False):
    """What an audit entry may carry besides who, what and which record: the reason and the values."""

    reason: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


def _audit(
    tx: Tx,
    actor: User | None,
    action: str,
    entity: str | None = None,
    entity_id: str | None = None,
    patient_id: str | None = None,
    **payload: Unpack[AuditPayload],
) -> int:
    """Write a use case's audit entry (`actor` None: the command line) in its transaction; returns its seq."""
    user_id = actor.id if actor else None
    return tx.insert_audit(
        user_id=user_id, action=action, entity=entity, entity_id=entity_id, patient_id=patient_id, **payload
    )


Edited = Patient | Visit | Episode  # the records a clinician edits, each keeping revisions


def _keep_change(
    tx: Tx, actor: User, entity: str, current: Edited, saved: Edited, reason: str, patient_id: str | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Keep the clinical values an edit changed as a revision; returns them (before, after)."""
    before, after = _changed(current.clinical_dict(), saved.clinical_dict())
    _keep_revision(tx, entity, saved.saved_id, saved.version, actor, reason, before, after, patient_id)
    return before, after


def _record_edit(
    tx: Tx, actor: User, action: str, current: Edited, saved: Edited, reason: str, patient_id: str | None
) -> dict[str, Any]:
    """Keep an edit as a revision and audit it (`action`, e.g. "visit.correct") with the same values;
    returns the changed values."""
    entity = action.partition(".")[0]
    before, after = _keep_change(tx, actor, entity, current, saved, reason, patient_id)
    _audit(tx, actor, action, entity, saved.saved_id, patient_id, reason=reason, before=before, after=after)
    return after


def _record_archiving(
    tx: Tx, actor: User, entity: str, current: Edited, saved: Edited, reason: str, patient_id: str | None
) -> None:
    """Keep an archiving (or restoring) of a patient or visit as a revision and audit it with the reason."""
    archived = saved.archived
    before, after = {"archived": current.archived}, {"archived": archived}
    _keep_revision(tx, entity, saved.saved_id, saved.version, actor, reason, before, after, patient_id)
    action = f"{entity}.archive" if archived else f"{entity}.restore"
    _audit(tx, actor, action, entity, saved.saved_id, patient_id, reason=reason)
