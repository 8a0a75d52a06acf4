"""FHIR R4 export: one patient's episode as a deterministic `collection` Bundle (clinical-reference §9).

This module assembles the bundle; each kind of resource is written by its own module: the record
(dashboard.fhir_record: Patient, Condition, EpisodeOfCare, letters), each visit (fhir_visit, with its
questionnaires in fhir_questionnaires), decision support (fhir_decision: risk, screenings, flags) and the
patient's own voice (fhir_patient_reported), all through one dashboard.fhir_bundle.BundleWriter.
Plain JSON dicts only (no FHIR library at run time); codes come from `dashboard.fhir_codes`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from dashboard import fhir_codes as codes
from dashboard.config import Settings
from dashboard.fhir_bundle import BundleWriter, Json, fhir_base, instant, midnight
from dashboard.fhir_decision import add_flags, add_risk_assessment, add_screenings
from dashboard.fhir_patient_reported import PatientVoice, patient_reported_entries
from dashboard.fhir_record import CareManager, add_condition, add_episode_of_care, add_letters, add_patient
from dashboard.fhir_visit import add_visit
from dashboard.models import Episode, Escalation, Patient, Screening, Visit
from dashboard.patient_reported import DiaryEntry, PatientReport
from dashboard.ports import Letter

__all__ = ["CareManager", "fhir_base", "local_codesystem", "patient_bundle"]


def patient_bundle(
    patient: Patient,
    visits: Iterable[Visit],
    screenings: Iterable[Screening] = (),
    escalations: Iterable[Escalation] = (),
    *,
    include_names: bool = False,
    codesystem_url: str | None = None,
    timestamp: dt.datetime | None = None,
    episode: Episode | None = None,
    letters: Iterable[Letter] = (),
    care_manager: CareManager | None = None,
    patient_reports: Iterable[PatientReport] = (),
    diary: Iterable[DiaryEntry] = (),
) -> Json:
    """The patient's episode as a FHIR R4 `collection` Bundle; identical input gives identical JSON.

    With an `episode`, an EpisodeOfCare (status, period and, when given, its care manager as a
    Practitioner) is added and every Encounter points to it; each letter (referral, discharge
    summary) is a DocumentReference holding the PDF as given; each check-in the patient sent is a
    QuestionnaireResponse and each walking-diary entry an Observation, the patient their source.
    """
    bundle = BundleWriter(patient, codesystem_url or Settings().fhir_codesystem_url)
    kept = _sorted_visits(patient, visits)
    add_patient(bundle, include_names)
    add_condition(bundle)
    if episode is not None:
        add_episode_of_care(bundle, episode, kept[0][1].visit_date if kept else None, care_manager)
    for key, visit in kept:
        add_visit(bundle, key, visit)
    add_risk_assessment(bundle, kept)
    add_screenings(bundle, screenings)
    add_flags(bundle, escalations)
    add_letters(bundle, letters)
    voice = PatientVoice(patient.id, bundle.patient_url, bundle.system, bundle.base, bundle.url)
    for full_url, resource in patient_reported_entries(patient_reports, diary, voice):
        bundle.add(full_url, resource)
    result: Json = {"resourceType": "Bundle", "type": "collection"}
    stamp = instant(timestamp) if timestamp else (midnight(kept[-1][1].visit_date) if kept else None)
    if stamp:
        result["timestamp"] = stamp
    result["entry"] = bundle.entries
    return result


def local_codesystem(codesystem_url: str | None = None) -> Json:
    """The Stride CodeSystem resource that defines every local code the export uses."""
    url = codesystem_url or Settings().fhir_codesystem_url
    return {
        "resourceType": "CodeSystem",
        "url": url,
        "name": "StrideLbpMeasures",
        "title": "Stride low back pain measures and findings",
        "status": "draft",
        "content": "complete",
        "caseSensitive": True,
        "concept": [{"code": c.code, "display": c.display} for c in codes.local_codes()],
    }


def _sorted_visits(patient: Patient, visits: Iterable[Visit]) -> list[tuple[str, Visit]]:
    """Non-archived visits in (visit_date, recorded_at) order, each with a stable record key."""
    kept = [v for v in visits if not v.archived]
    for visit in kept:
        if patient.id and visit.patient_id and visit.patient_id != patient.id:
            raise ValueError("visits: a visit belongs to another patient")
    kept.sort(key=lambda v: (v.visit_date, v.recorded_at.isoformat() if v.recorded_at else "", v.id or ""))
    keyed: list[tuple[str, Visit]] = []
    unsaved_per_day: dict[dt.date, int] = {}
    for visit in kept:
        if visit.id:
            keyed.append((f"visit/{visit.id}", visit))
        else:
            n = unsaved_per_day[visit.visit_date] = unsaved_per_day.get(visit.visit_date, 0) + 1
            keyed.append((f"visit/{visit.visit_date.isoformat()}/{n}", visit))
    return keyed
