"""The FHIR bundle being written (clinical-reference §9): stable fullUrls, entries in order, and the JSON
shapes every resource shares. dashboard.fhir assembles a patient's bundle with it; the resource modules
(fhir_record, fhir_visit, fhir_questionnaires, fhir_decision) add their entries through it.

Plain JSON dicts only (no FHIR library at run time); codes come from `dashboard.fhir_codes`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from dashboard import fhir_codes as codes
from dashboard.models import Patient, Visit

Json = dict[str, Any]


def fhir_base(codesystem_url: str) -> str:
    """The deployment's FHIR base URL: the Stride CodeSystem URL without "/CodeSystem/<id>"."""
    url = codesystem_url.rstrip("/")
    head, sep, _ = url.rpartition("/CodeSystem/")
    return head if sep else url.rpartition("/")[0] or url


def date_text(value: dt.date) -> str:
    """A FHIR date (YYYY-MM-DD)."""
    return value.isoformat()


def midnight(value: dt.date) -> str:
    """A FHIR instant at 00:00 UTC of a day (the bundle's timestamp when none is given)."""
    return f"{value.isoformat()}T00:00:00Z"


def instant(value: dt.datetime) -> str:
    """An ISO instant with a time zone; a naive value is taken as UTC (stored timestamps are UTC)."""
    aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return aware.astimezone(dt.UTC).isoformat(timespec="seconds")


def concept(*codings: Json) -> Json:
    """A CodeableConcept of these codings."""
    return {"coding": list(codings)}


def ref(full_url: str) -> Json:
    """A Reference to the bundle entry with this fullUrl."""
    return {"reference": full_url}


def answer(link_id: str, value: Json) -> Json:
    """A QuestionnaireResponse item with one answer (value: {"valueX": ...})."""
    return {"linkId": link_id, "answer": [value]}


def coding_in(system: str, code: codes.Code | codes.LocalCode) -> Json:
    """A code as a Coding; a local one belongs to the deployment's CodeSystem `system`."""
    return code.coding() if isinstance(code, codes.Code) else code.coding(system)


class BundleWriter:
    """Collects one patient's entries; every fullUrl is urn:uuid:uuid5(namespace, stable record key),
    so the same records give the same URLs in every export."""

    def __init__(self, patient: Patient, codesystem_url: str) -> None:
        self.patient = patient
        self.system = codesystem_url
        self.base = fhir_base(codesystem_url)
        self.namespace = uuid.uuid5(uuid.NAMESPACE_URL, codesystem_url)
        self.patient_key = f"patient/{patient.id}" if patient.id else f"patient-ref/{patient.patient_ref}"
        self.patient_url = self.url("Patient", self.patient_key)
        self.entries: list[Json] = []
        self.encounters: dict[str, tuple[str, Visit]] = {}  # visit id -> (encounter fullUrl, visit)
        self.findings: dict[str, list[str]] = {}  # encounter fullUrl -> red-flag finding fullUrls
        self.startback: dict[str, list[str]] = {}  # visit key -> [QR fullUrl, total Observation fullUrl]
        self.episode_url: str | None = None  # the EpisodeOfCare every Encounter points to, when given

    def url(self, resource_type: str, key: str) -> str:
        """The fullUrl of a resource of this type for the record with this stable key."""
        return f"urn:uuid:{uuid.uuid5(self.namespace, f'{resource_type}/{key}')}"

    def add(self, full_url: str, resource: Json) -> str:
        """Append the resource (resourceType and id first) under its fullUrl, which is returned."""
        resource_type = resource.pop("resourceType")
        ordered = {"resourceType": resource_type, "id": full_url.removeprefix("urn:uuid:"), **resource}
        self.entries.append({"fullUrl": full_url, "resource": ordered})
        return full_url

    def local(self, code: codes.LocalCode) -> Json:
        """A local code as a Coding of this deployment's CodeSystem."""
        return code.coding(self.system)

    def coding(self, code: codes.Code | codes.LocalCode) -> Json:
        """A standard or local code as a Coding."""
        return coding_in(self.system, code)

    def rule(self, rule_id: str) -> codes.LocalCode:
        """The local code of a red-flag rule (an unknown rule is its own code and display)."""
        return codes.RULE_CODES.get(rule_id) or codes.LocalCode(rule_id, rule_id)

    def check_owner(self, patient_id: str, what: str) -> None:
        """Refuse a record of another patient (an unsaved patient accepts any)."""
        if self.patient.id and patient_id != self.patient.id:
            raise ValueError(f"{what}: a record belongs to another patient")


class VisitEntries:
    """The resources of one exported visit: its record key, the visit and its Encounter fullUrl."""

    def __init__(self, bundle: BundleWriter, key: str, visit: Visit, encounter: str) -> None:
        self.bundle = bundle
        self.key = key
        self.visit = visit
        self.encounter = encounter

    def observation(
        self,
        slug: str,
        category: codes.Code,
        code: codes.Code | codes.LocalCode,
        value: Json,
        derived_from: Sequence[str] = (),
    ) -> str:
        """A final Observation of the visit on its date (value: the value[x] and component keys)."""
        resource: Json = {
            "resourceType": "Observation",
            "status": "final",
            "category": [concept(category.coding())],
            "code": concept(self.bundle.coding(code)),
            "subject": ref(self.bundle.patient_url),
            "encounter": ref(self.encounter),
            "effectiveDateTime": date_text(self.visit.visit_date),
        }
        resource |= value
        if derived_from:
            resource["derivedFrom"] = [ref(url) for url in derived_from]
        return self.bundle.add(self.bundle.url("Observation", f"{self.key}/{slug}"), resource)

    def questionnaire_response(self, slug: str, items: list[Json]) -> str:
        """A completed QuestionnaireResponse of the visit, authored on its date."""
        return self.bundle.add(
            self.bundle.url("QuestionnaireResponse", f"{self.key}/{slug}"),
            {
                "resourceType": "QuestionnaireResponse",
                "questionnaire": f"{self.bundle.base}/Questionnaire/{slug}",
                "status": "completed",
                "subject": ref(self.bundle.patient_url),
                "encounter": ref(self.encounter),
                "authored": date_text(self.visit.visit_date),
                "item": items,
            },
        )
