"""FHIR resources of the patient's record as a whole (clinical-reference §9.1 and §11.1): the Patient, the
low back pain Condition, the EpisodeOfCare with its care manager, and each letter as a DocumentReference.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from dashboard import fhir_codes as codes
from dashboard.fhir_bundle import BundleWriter, Json, concept, date_text, instant, ref
from dashboard.letters import LETTER_KINDS
from dashboard.models import Episode
from dashboard.ports import Letter

GENDERS: dict[str, str] = {"F": "female", "M": "male", "X": "other"}  # [U] clinical-reference §9.1


@dataclass(frozen=True)
class CareManager:
    """The clinician who leads an episode of care (EpisodeOfCare.careManager): their account id and
    the name the clinic knows them by; no other account detail leaves in an export."""

    user_id: str
    display_name: str


def add_patient(bundle: BundleWriter, include_names: bool) -> None:
    """Patient: identifier, birthDate, gender; names only when asked for."""
    p = bundle.patient
    resource: Json = {
        "resourceType": "Patient",
        "identifier": [{"system": f"{bundle.base}/{codes.PATIENT_REF_PATH}", "value": p.patient_ref}],
    }
    if include_names:
        resource["name"] = [{"use": "official", "family": p.family_name, "given": [p.given_name]}]
    resource["gender"] = GENDERS[p.sex]
    resource["birthDate"] = date_text(p.birth_date)
    bundle.add(bundle.patient_url, resource)


def add_condition(bundle: BundleWriter) -> None:
    """Condition: low back pain (SNOMED CT) with the episode's symptom onset."""
    bundle.add(
        bundle.url("Condition", bundle.patient_key),
        {
            "resourceType": "Condition",
            "clinicalStatus": concept(codes.CONDITION_ACTIVE.coding()),
            "code": concept(codes.SNOMED_LOW_BACK_PAIN.coding()),
            "subject": ref(bundle.patient_url),
            "onsetDateTime": date_text(bundle.patient.symptom_onset),
        },
    )


def add_episode_of_care(
    bundle: BundleWriter, episode: Episode, first_visit: dt.date | None, care_manager: CareManager | None
) -> None:
    """EpisodeOfCare: active while open, finished at discharge, its period from the referral
    (else the first visit) to the discharge date (clinical-reference §11.1); the treating
    clinician as careManager, a Practitioner named by their account id and display name."""
    start = episode.referral_date or first_visit
    period: Json = {"start": date_text(start)} if start else {}
    if episode.discharge_date is not None:
        period["end"] = date_text(episode.discharge_date)
    resource: Json = {
        "resourceType": "EpisodeOfCare",
        "status": "active" if episode.is_open else "finished",
        "patient": ref(bundle.patient_url),
    }
    if period:
        resource["period"] = period
    if care_manager is not None:
        practitioner = bundle.add(
            bundle.url("Practitioner", f"user/{care_manager.user_id}"),
            {
                "resourceType": "Practitioner",
                "identifier": [{"system": f"{bundle.base}/practitioner", "value": care_manager.user_id}],
                "name": [{"text": care_manager.display_name}],
            },
        )
        resource["careManager"] = {**ref(practitioner), "display": care_manager.display_name}
    key = f"episode/{episode.id}" if episode.id else f"episode-of/{bundle.patient_key}"
    bundle.episode_url = bundle.add(bundle.url("EpisodeOfCare", key), resource)


def add_letters(bundle: BundleWriter, letters: Iterable[Letter]) -> None:
    """A DocumentReference (status current) for each letter: its kind, date, the PDF exactly as
    given (base64) and its SHA-256 as an identifier (Attachment.hash is SHA-1 in R4)."""
    for letter in sorted(letters, key=lambda x: (x.recorded_at, x.id)):
        bundle.check_owner(letter.patient_id, "letters")
        resource: Json = {
            "resourceType": "DocumentReference",
            "identifier": [{"system": f"{bundle.base}/letter-sha256", "value": letter.sha256}],
            "status": "current",
            "type": {"text": LETTER_KINDS.get(letter.kind, letter.kind)},
            "subject": ref(bundle.patient_url),
            "date": instant(letter.recorded_at),
            "content": [
                {
                    "attachment": {
                        "contentType": "application/pdf",
                        "data": base64.b64encode(letter.pdf).decode("ascii"),
                        "title": LETTER_KINDS.get(letter.kind, letter.kind),
                    }
                }
            ],
        }
        if bundle.episode_url and letter.episode_id:
            resource["context"] = {"related": [ref(bundle.episode_url)]}
        bundle.add(bundle.url("DocumentReference", f"letter/{letter.id}"), resource)
