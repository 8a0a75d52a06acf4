"""FHIR resources of Stride's decision support (clinical-reference §9): the STarT Back RiskAssessment,
one Observation per stored red-flag screening of an exported visit, and a Flag per open escalation.
"""

from __future__ import annotations

from collections.abc import Iterable

from dashboard import fhir_codes as codes
from dashboard.fhir_bundle import BundleWriter, Json, concept, date_text, instant, ref
from dashboard.models import Escalation, Screening, Visit
from dashboard.outcomes import score_startback


def add_risk_assessment(bundle: BundleWriter, visits: list[tuple[str, Visit]]) -> None:
    """RiskAssessment from the latest scorable STarT Back (low/medium/high -> low/moderate/high)."""
    for key, visit in reversed(visits):
        if key not in bundle.startback:
            continue
        risk = score_startback(visit.startback).risk
        if risk is None:
            continue
        bundle.add(
            bundle.url("RiskAssessment", bundle.patient_key),
            {
                "resourceType": "RiskAssessment",
                "status": "final",
                "code": concept(bundle.local(codes.STARTBACK_RISK)),
                "subject": ref(bundle.patient_url),
                "encounter": ref(bundle.url("Encounter", key)),
                "occurrenceDateTime": date_text(visit.visit_date),
                "basis": [ref(url) for url in bundle.startback[key]],
                "prediction": [{"qualitativeRisk": concept(codes.STARTBACK_RISK_PROBABILITY[risk].coding())}],
            },
        )
        return


def add_screenings(bundle: BundleWriter, screenings: Iterable[Screening]) -> None:
    """One decision-support Observation per stored screening of an exported visit."""
    for screening in screenings:
        bundle.check_owner(screening.patient_id, "screenings")
        found = bundle.encounters.get(screening.visit_id or "")
        if screening.archived or found is None:
            continue
        encounter, visit = found
        key = screening.id or f"{screening.visit_id}/{screening.rule_set_version}"
        components = [
            {
                "code": concept(bundle.local(bundle.rule(flag.rule_id))),
                "valueCodeableConcept": concept(bundle.local(codes.URGENCY_CODES[flag.tier])),
            }
            for flag in screening.flags
        ]
        resource: Json = {
            "resourceType": "Observation",
            "status": "final",
            "category": [concept(codes.CATEGORY_EXAM.coding())],
            "code": concept(bundle.local(codes.REDFLAG_SCREENING)),
            "subject": ref(bundle.patient_url),
            "encounter": ref(encounter),
            "effectiveDateTime": date_text(visit.visit_date),
            "valueCodeableConcept": concept(bundle.local(codes.URGENCY_CODES[screening.urgency])),
            "method": {"text": f"Stride red-flag rules {screening.rule_set_version}"},
            "derivedFrom": [ref(url) for url in bundle.findings.get(encounter, [])],
        }
        if components:
            resource["component"] = components
        bundle.add(bundle.url("Observation", f"screening/{key}"), resource)


def add_flags(bundle: BundleWriter, escalations: Iterable[Escalation]) -> None:
    """A Flag (status active) for each open, non-archived escalation."""
    for escalation in escalations:
        bundle.check_owner(escalation.patient_id, "escalations")
        if escalation.archived or escalation.status != "open":
            continue
        opened = escalation.opened_at.isoformat() if escalation.opened_at else ""
        key = escalation.id or f"{escalation.rule_id}/{opened}"
        resource: Json = {
            "resourceType": "Flag",
            "status": "active",
            "code": concept(bundle.local(bundle.rule(escalation.rule_id))),
            "subject": ref(bundle.patient_url),
        }
        if escalation.opened_at:
            resource["period"] = {"start": instant(escalation.opened_at)}
        bundle.add(bundle.url("Flag", key), resource)
