"""FHIR R4 resources of the patient's own voice (clinical-reference §12 and §9): each check-in a
QuestionnaireResponse, each walking-diary entry an Observation, both naming the patient as their source.

A check-in answers our own questions, so it is a QuestionnaireResponse (status completed, authored when
it was sent) whose linkIds are the Visit fields the answers map onto (§12.1); "not sure" stays
"not_sure" (a valueString), never a no. A diary entry is an Observation, not a QuestionnaireResponse:
it is one day's measurements (minutes walked and until symptoms in UCUM minutes, pain before, during and
the next morning 0-10) effective on the walk's date, to which the next morning's pain is added a day
later; components carry exactly that, coded like the clinician's walking tests so both chart together,
and the patient is its performer. Plain JSON dicts; dashboard.fhir adds them to the bundle.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from dashboard import fhir_codes as codes
from dashboard.fhir_bundle import coding_in, instant
from dashboard.patient_reported import (
    MEASUREMENT_FIELDS,
    NOT_SURE,
    SCREENING_ANSWER_FIELDS,
    DiaryEntry,
    PatientReport,
)

Json = dict[str, Any]
Entry = tuple[str, Json]  # (fullUrl, resource)


@dataclass(frozen=True)
class PatientVoice:
    """Where the resources belong: the patient (their id, None when unsaved, and Patient fullUrl), the
    Stride CodeSystem URL, the FHIR base, and the bundle's fullUrl of (resource type, record key)."""

    patient_id: str | None
    patient_url: str
    system: str
    base: str
    url: Callable[[str, str], str]

    def patient(self) -> Json:
        """A reference to the Patient resource."""
        return {"reference": self.patient_url}

    def coding(self, code: codes.Code | codes.LocalCode) -> Json:
        """A code as a Coding (a local one in this deployment's CodeSystem)."""
        return coding_in(self.system, code)

    def check_owner(self, patient_id: str | None, what: str) -> None:
        """Refuse a record of another patient (an unsaved record names none)."""
        if self.patient_id and patient_id and patient_id != self.patient_id:
            raise ValueError(f"{what}: a record belongs to another patient")


def _answer(name: str, value: object, voice: PatientVoice) -> Json:
    """One answer as FHIR: the coded answers as Codings, numbers and yes/no as themselves."""
    if value == NOT_SURE:
        return {"valueString": NOT_SURE}
    if isinstance(value, bool):
        return {"valueBoolean": value}
    if isinstance(value, int):
        return {"valueInteger": value}
    if isinstance(value, float):
        return {"valueDecimal": value}
    if name == "walk_protocol":
        return {"valueCoding": voice.coding(codes.WALK_PROTOCOL_CODES[str(value)])}
    if name == "walk_stop_reason":
        return {"valueCoding": voice.coding(codes.WALK_STOP_REASONS[str(value)])}
    return {"valueCoding": voice.coding(codes.FINDING_STATUS_CODES[str(value)])}


def _item(name: str, value: object, voice: PatientVoice) -> Json:
    if name != "psfs":
        return {"linkId": name, "answer": [_answer(name, value, voice)]}
    ratings: list[Json] = value if isinstance(value, list) else []
    return {
        "linkId": "psfs",
        "item": [
            {
                "linkId": f"psfs-{n}",
                "item": [
                    {"linkId": f"psfs-{n}-activity", "answer": [{"valueString": rating["activity"]}]},
                    {"linkId": f"psfs-{n}-score", "answer": [{"valueInteger": rating["score"]}]},
                ],
            }
            for n, rating in enumerate(ratings, 1)
        ],
    }


def checkin_response(report: PatientReport, voice: PatientVoice) -> Entry:
    """A check-in as a completed QuestionnaireResponse: authored when sent, subject and source the patient,
    one item per answered Visit field (measurements first, then the symptom questions, §12.1)."""
    voice.check_owner(report.patient_id, "patient reports")
    fields = [name for name in (*MEASUREMENT_FIELDS, *SCREENING_ANSWER_FIELDS) if name in report.answers]
    resource: Json = {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": f"{voice.base}/Questionnaire/{codes.QUESTIONNAIRE_CHECKIN}",
        "status": "completed",
        "subject": voice.patient(),
        "authored": instant(report.submitted_at),
        "source": voice.patient(),
        "item": [_item(name, report.answers[name], voice) for name in fields],
    }
    key = f"patient-report/{report.id or report.invite_id}"
    return voice.url("QuestionnaireResponse", key), resource


def _minutes(code: codes.LocalCode, minutes: float | None, voice: PatientVoice) -> Json:
    component: Json = {"code": {"coding": [voice.coding(code)]}}
    if minutes is None:  # the walk brought on no symptoms: there is no onset time to give
        return component | {"dataAbsentReason": {"coding": [codes.NOT_APPLICABLE.coding()]}}
    return component | {"valueQuantity": codes.UNIT_MINUTES.quantity(minutes)}


def diary_observation(entry: DiaryEntry, voice: PatientVoice) -> Entry:
    """A diary walk as an activity Observation on its date, performed and reported by the patient: minutes
    walked and until symptoms (none: not applicable), pain before, during and (once given) next morning."""
    voice.check_owner(entry.patient_id, "diary entries")
    total, _ = codes.WALK_MEASUREMENTS["walk_total_min"]
    onset, _ = codes.WALK_MEASUREMENTS["walk_onset_min"]
    components = [_minutes(total, entry.walked_min, voice), _minutes(onset, entry.symptom_onset_min, voice)]
    for name, code in codes.DIARY_PAIN.items():
        pain = getattr(entry, name)
        if pain is not None:
            components.append({"code": {"coding": [voice.coding(code)]}, "valueInteger": pain})
    resource: Json = {
        "resourceType": "Observation",
        "status": "final",
        "category": [{"coding": [c.coding()]} for c in (codes.CATEGORY_ACTIVITY, codes.CATEGORY_SURVEY)],
        "code": {"coding": [voice.coding(codes.DIARY_ENTRY)]},
        "subject": voice.patient(),
        "effectiveDateTime": entry.walk_date.isoformat(),
        **({"issued": instant(entry.recorded_at)} if entry.recorded_at else {}),
        "performer": [voice.patient()],
        "component": components,
    }
    key = f"diary-entry/{entry.id or entry.walk_date.isoformat()}"
    return voice.url("Observation", key), resource


def patient_reported_entries(
    reports: Iterable[PatientReport], diary: Iterable[DiaryEntry], voice: PatientVoice
) -> list[Entry]:
    """The check-ins (in the order they were sent), then the diary walks (by walk date), as bundle entries."""
    sent = sorted(reports, key=lambda r: (instant(r.submitted_at), r.id))
    walks = sorted(
        diary, key=lambda e: (e.walk_date, instant(e.recorded_at) if e.recorded_at else "", e.id or "")
    )
    return [*(checkin_response(r, voice) for r in sent), *(diary_observation(e, voice) for e in walks)]
