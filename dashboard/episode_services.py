"""Episode-of-care services: discharge, re-referral and an admin's re-opening (clinical-reference §11.1).

Each runs in one transaction that re-checks the actor's stored account, keeps the earlier episode as a
revision and writes one audit entry. A discharge never closes an escalation.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from dashboard.episodes import current_episode, discharge_problems
from dashboard.fhir import CareManager, patient_bundle
from dashboard.models import Episode, Patient
from dashboard.ports import InvalidInputError, NotFoundError, Store, Tx, User
from dashboard.service_base import (
    _audit,
    _existing_patient,
    _keep_change,
    _record_edit,
    _require_reason,
    _validate,
    authorize,
    current_episode_visits,
)
from dashboard.walking import chronological


def episode_bundle(store: Store, actor: User, patient_id: str, *, codesystem_url: str) -> dict[str, Any]:
    """The patient's current episode as a FHIR R4 bundle without names (its visits, screenings, red
    flags, letters, the patient's check-ins and walking diary, and the treating clinician as care
    manager); the export is audited first."""
    with store.transaction() as tx:
        authorize(tx, actor, "export_patient")
        patient = _existing_patient(tx, patient_id)
        _audit(tx, actor, "export.fhir", patient_id=patient_id)
        episode = current_episode(tx.episodes(patient_id))
        # The episode's clinician, else the patient's (an episode opened before it named one).
        lead_id = (episode.clinician_id if episode else None) or patient.clinician_id
        lead = tx.get_user(lead_id) if lead_id else None
        return patient_bundle(
            patient,
            current_episode_visits(tx, patient_id),
            tx.screenings(patient_id),
            tx.escalations(patient_id=patient_id),
            include_names=False,
            codesystem_url=codesystem_url,
            episode=episode,
            letters=[x for x in tx.letters(patient_id) if episode and x.episode_id == episode.id],
            care_manager=CareManager(lead.id, lead.display_name) if lead else None,
            patient_reports=[
                r for r in tx.patient_reports(patient_id) if episode and r.episode_id == episode.id
            ],
            diary=tx.diary_entries(patient_id, episode.id) if episode and episode.id else [],
        )


def episodes_of(store: Store, actor: User, patient_id: str) -> list[Episode]:
    """The patient's episodes of care, oldest first (the last one is the current episode)."""
    with store.read() as tx:
        authorize(tx, actor, "read")
        _existing_patient(tx, patient_id)
        return tx.episodes(patient_id)


def _save(tx: Tx, actor: User, current: Episode, updated: Episode, reason: str, action: str) -> Episode:
    saved = tx.update_episode(updated, current.version)
    _record_edit(tx, actor, action, current, saved, reason, saved.patient_id)
    return saved


def discharge(
    store: Store,
    actor: User,
    patient_id: str,
    *,
    discharge_date: dt.date | None,
    reason: str | None,
    note: str = "",
    override_reason: str = "",
    today: dt.date | None = None,
) -> Episode:
    """Discharge the patient's open episode (§11.1): field messages and nothing saved when a rule is broken.

    With an EMERGENCY or URGENT escalation open, `override_reason` must say why; it is audited and the
    escalation stays open.
    """
    today = today or dt.date.today()
    with store.transaction() as tx:
        authorize(tx, actor, "write_clinical")
        _existing_patient(tx, patient_id)
        current = tx.open_episode(patient_id)
        if current is None:
            raise InvalidInputError({"_": "This patient has no open episode of care to discharge."})
        visits = current_episode_visits(tx, patient_id)
        open_tiers = [e.tier for e in tx.escalations(patient_id=patient_id, status="open")]
        errors = discharge_problems(
            current,
            visits,
            discharge_date=discharge_date,
            reason=reason,
            note=note,
            today=today,
            open_tiers=open_tiers,
            override_reason=override_reason,
        )
        if errors:
            raise InvalidInputError(errors)
        updated = _validate(
            Episode,
            {
                **current.model_dump(),
                "status": "discharged",
                "discharge_date": discharge_date,
                "discharge_reason": reason,
                "discharge_note": note.strip(),
                "updated_by": actor.id,
            },
        )
        why = "Discharged" + (
            f"; open escalation: {override_reason.strip()}" if override_reason.strip() else ""
        )
        return _save(tx, actor, current, updated, why, "episode.discharge")


def re_refer(
    store: Store,
    actor: User,
    patient_id: str,
    *,
    symptom_onset: dt.date | None,
    referral_date: dt.date | None = None,
    today: dt.date | None = None,
) -> Episode:
    """Open a new episode for a discharged patient (a re-referral) with its own onset and baseline.

    The patient's `symptom_onset` becomes the new episode's (the Patient carries the current value).
    """
    today = today or dt.date.today()
    referral_date = referral_date or today
    with store.transaction() as tx:
        authorize(tx, actor, "write_clinical")
        patient = _existing_patient(tx, patient_id)
        if tx.open_episode(patient_id) is not None:
            raise InvalidInputError({"_": "This patient already has an open episode of care."})
        errors: dict[str, str] = {}
        if symptom_onset is None:
            errors["symptom_onset"] = "Give the onset of the new episode's symptoms."
        elif symptom_onset > referral_date:
            errors["symptom_onset"] = "The onset cannot be after the referral date."
        if referral_date > today:
            errors["referral_date"] = "The referral date cannot be in the future."
        last = chronological(tx.visits(patient_id))
        if last and referral_date < last[-1].visit_date:
            errors["referral_date"] = (
                "The referral date cannot be before the last visit of an earlier episode."
            )
        if errors:
            raise InvalidInputError(errors)
        assert symptom_onset is not None
        episode = _validate(
            Episode,
            {
                "patient_id": patient_id,
                "referral_date": referral_date,
                "symptom_onset": symptom_onset,
                "clinician_id": patient.clinician_id,
                "recorded_by": actor.id,
                "updated_by": actor.id,
            },
        )
        saved = tx.insert_episode(episode)
        _carry_onset(tx, actor, patient, symptom_onset)
        after = saved.clinical_dict()
        _audit(
            tx, actor, "episode.create", "episode", saved.id, patient_id, reason="Re-referral", after=after
        )
        return saved


def _carry_onset(tx: Tx, actor: User, patient: Patient, onset: dt.date) -> None:
    """The Patient carries the current episode's onset, so screening keeps its signature (data dictionary)."""
    if patient.symptom_onset == onset:
        return
    updated = _validate(Patient, {**patient.model_dump(), "symptom_onset": onset, "updated_by": actor.id})
    saved = tx.update_patient(updated, patient.version)
    _keep_change(tx, actor, "patient", patient, saved, "Re-referral", saved.id)


def reopen(store: Store, actor: User, episode_id: str, *, reason: str) -> Episode:
    """An admin re-opens a discharged episode (kept as a revision, with the reason); refused when the
    patient has another open episode."""
    reason = _require_reason(reason)
    with store.transaction() as tx:
        authorize(tx, actor, "reopen_episodes")
        current = tx.get_episode(episode_id)
        if current is None:
            raise NotFoundError("Episode not found.")
        if current.is_open:
            raise InvalidInputError({"_": "This episode is open already."})
        if tx.open_episode(current.patient_id) is not None:
            raise InvalidInputError({"_": "The patient has another open episode; discharge it first."})
        values: dict[str, Any] = {
            **current.model_dump(),
            "status": "open",
            "discharge_date": None,
            "discharge_reason": None,
            "discharge_note": "",
            "updated_by": actor.id,
        }
        return _save(tx, actor, current, _validate(Episode, values), reason, "episode.reopen")
