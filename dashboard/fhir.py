"""FHIR R4 export: one patient's episode as a deterministic `collection` Bundle (clinical-reference §9).

Plain JSON dicts only (no FHIR library at run time); codes come from `dashboard.fhir_codes`.
"""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from dashboard import fhir_codes as codes
from dashboard.catalogue import WALK_PROTOCOLS
from dashboard.config import Settings
from dashboard.fhir_patient_reported import PatientVoice, patient_reported_entries
from dashboard.letters import LETTER_KINDS
from dashboard.models import SCREENING_FIELDS, Episode, Escalation, Patient, Screening, Visit
from dashboard.outcomes import score_odi, score_psfs, score_rmdq, score_startback, score_zcq
from dashboard.patient_reported import DiaryEntry, PatientReport
from dashboard.ports import Letter

Json = dict[str, Any]
# A score Observation derived from a questionnaire: its code and value (None: not scorable).
Score = tuple[codes.Code | codes.LocalCode, Json | None]

GENDERS: dict[str, str] = {"F": "female", "M": "male", "X": "other"}  # [U] clinical-reference §9.1
# Screening fields answered with an enum (coded answer); every other screening field is a bool.
_CODED_ANSWERS: dict[str, dict[str, codes.LocalCode]] = {
    "saddle_anaesthesia": codes.FINDING_STATUS_CODES,
    "bladder_dysfunction": codes.FINDING_STATUS_CODES,
    "bowel_dysfunction": codes.FINDING_STATUS_CODES,
    "sexual_dysfunction": codes.FINDING_STATUS_CODES,
    "bilateral_radicular_pain": codes.FINDING_STATUS_CODES,
    "leg_weakness": codes.FINDING_STATUS_CODES,
    "trauma": codes.TRAUMA_CODES,
}


def fhir_base(codesystem_url: str) -> str:
    """The deployment's FHIR base URL: the Stride CodeSystem URL without "/CodeSystem/<id>"."""
    url = codesystem_url.rstrip("/")
    head, sep, _ = url.rpartition("/CodeSystem/")
    return head if sep else url.rpartition("/")[0] or url


@dataclass(frozen=True)
class CareManager:
    """The clinician who leads an episode of care (EpisodeOfCare.careManager): their account id and
    the name the clinic knows them by; no other account detail leaves in an export."""

    user_id: str
    display_name: str


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
    builder = _BundleBuilder(patient, codesystem_url or Settings().fhir_codesystem_url)
    kept = _sorted_visits(patient, visits)
    builder.add_patient(include_names)
    builder.add_condition()
    if episode is not None:
        builder.add_episode_of_care(episode, kept[0][1].visit_date if kept else None, care_manager)
    for key, visit in kept:
        builder.add_visit(key, visit)
    builder.add_risk_assessment(kept)
    builder.add_screenings(screenings)
    builder.add_flags(escalations)
    builder.add_letters(letters)
    builder.add_patient_reported(patient_reports, diary)
    bundle: Json = {"resourceType": "Bundle", "type": "collection"}
    stamp = _instant(timestamp) if timestamp else (_midnight(kept[-1][1].visit_date) if kept else None)
    if stamp:
        bundle["timestamp"] = stamp
    bundle["entry"] = builder.entries
    return bundle


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


# --- helpers -----------------------------------------------------------------------------------


def _date(value: dt.date) -> str:
    return value.isoformat()


def _midnight(value: dt.date) -> str:
    return f"{value.isoformat()}T00:00:00Z"


def _instant(value: dt.datetime) -> str:
    """An ISO instant with a time zone; a naive value is taken as UTC (stored timestamps are UTC)."""
    aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return aware.astimezone(dt.UTC).isoformat(timespec="seconds")


def _concept(*codings: Json) -> Json:
    return {"coding": list(codings)}


def _ref(full_url: str) -> Json:
    return {"reference": full_url}


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


class _BundleBuilder:
    """Collects entries; every fullUrl is urn:uuid:uuid5(namespace, stable record key)."""

    def __init__(self, patient: Patient, codesystem_url: str) -> None:
        self.patient = patient
        self.system = codesystem_url
        self.base = fhir_base(codesystem_url)
        self.namespace = uuid.uuid5(uuid.NAMESPACE_URL, codesystem_url)
        self.patient_key = f"patient/{patient.id}" if patient.id else f"patient-ref/{patient.patient_ref}"
        self.patient_url = self._url("Patient", self.patient_key)
        self.entries: list[Json] = []
        self.encounters: dict[str, tuple[str, Visit]] = {}  # visit id -> (encounter fullUrl, visit)
        self.findings: dict[str, list[str]] = {}  # encounter fullUrl -> red-flag finding fullUrls
        self.startback: dict[str, list[str]] = {}  # visit key -> [QR fullUrl, total Observation fullUrl]
        self.episode_url: str | None = None  # the EpisodeOfCare every Encounter points to, when given

    def _url(self, resource_type: str, key: str) -> str:
        return f"urn:uuid:{uuid.uuid5(self.namespace, f'{resource_type}/{key}')}"

    def _add(self, full_url: str, resource: Json) -> str:
        resource_type = resource.pop("resourceType")
        ordered = {"resourceType": resource_type, "id": full_url.removeprefix("urn:uuid:"), **resource}
        self.entries.append({"fullUrl": full_url, "resource": ordered})
        return full_url

    def _local(self, code: codes.LocalCode) -> Json:
        return code.coding(self.system)

    def _coding(self, code: codes.Code | codes.LocalCode) -> Json:
        return code.coding() if isinstance(code, codes.Code) else code.coding(self.system)

    # --- patient-level resources -------------------------------------------------------------

    def add_patient(self, include_names: bool) -> None:
        """Patient: identifier, birthDate, gender; names only when asked for."""
        p = self.patient
        resource: Json = {
            "resourceType": "Patient",
            "identifier": [{"system": f"{self.base}/{codes.PATIENT_REF_PATH}", "value": p.patient_ref}],
        }
        if include_names:
            resource["name"] = [{"use": "official", "family": p.family_name, "given": [p.given_name]}]
        resource["gender"] = GENDERS[p.sex]
        resource["birthDate"] = _date(p.birth_date)
        self._add(self.patient_url, resource)

    def add_condition(self) -> None:
        """Condition: low back pain (SNOMED CT) with the episode's symptom onset."""
        self._add(
            self._url("Condition", self.patient_key),
            {
                "resourceType": "Condition",
                "clinicalStatus": _concept(codes.CONDITION_ACTIVE.coding()),
                "code": _concept(codes.SNOMED_LOW_BACK_PAIN.coding()),
                "subject": _ref(self.patient_url),
                "onsetDateTime": _date(self.patient.symptom_onset),
            },
        )

    def add_episode_of_care(
        self, episode: Episode, first_visit: dt.date | None, care_manager: CareManager | None
    ) -> None:
        """EpisodeOfCare: active while open, finished at discharge, its period from the referral
        (else the first visit) to the discharge date (clinical-reference §11.1); the treating
        clinician as careManager, a Practitioner named by their account id and display name."""
        start = episode.referral_date or first_visit
        period: Json = {"start": _date(start)} if start else {}
        if episode.discharge_date is not None:
            period["end"] = _date(episode.discharge_date)
        resource: Json = {
            "resourceType": "EpisodeOfCare",
            "status": "active" if episode.is_open else "finished",
            "patient": _ref(self.patient_url),
        }
        if period:
            resource["period"] = period
        if care_manager is not None:
            practitioner = self._add(
                self._url("Practitioner", f"user/{care_manager.user_id}"),
                {
                    "resourceType": "Practitioner",
                    "identifier": [{"system": f"{self.base}/practitioner", "value": care_manager.user_id}],
                    "name": [{"text": care_manager.display_name}],
                },
            )
            resource["careManager"] = {**_ref(practitioner), "display": care_manager.display_name}
        key = f"episode/{episode.id}" if episode.id else f"episode-of/{self.patient_key}"
        self.episode_url = self._add(self._url("EpisodeOfCare", key), resource)

    # --- one visit ---------------------------------------------------------------------------

    def add_visit(self, key: str, visit: Visit) -> None:
        """Encounter plus the visit's observations and questionnaire responses."""
        encounter = self._add(
            self._url("Encounter", key),
            {
                "resourceType": "Encounter",
                "status": "finished",
                "class": codes.ENCOUNTER_AMBULATORY.coding(),
                "subject": _ref(self.patient_url),
                **({"episodeOfCare": [_ref(self.episode_url)]} if self.episode_url else {}),
                "period": {"start": _date(visit.visit_date), "end": _date(visit.visit_date)},
            },
        )
        if visit.id:
            self.encounters[visit.id] = (encounter, visit)
        ctx = _VisitContext(key, visit, encounter)
        if visit.pain_nrs is not None:
            nrs: Json = {"valueInteger": visit.pain_nrs}
            self._observation(ctx, "pain-nrs", codes.CATEGORY_SURVEY, codes.LOINC_NPRS, nrs)
        if visit.pain_worst_nrs is not None:
            worst: Json = {"valueInteger": visit.pain_worst_nrs}
            self._observation(ctx, "pain-worst", codes.CATEGORY_SURVEY, codes.PAIN_WORST_24H, worst)
        self._item_by_item(
            ctx, codes.QUESTIONNAIRE_ODI, visit.odi_sections, "valueInteger", _odi_score(visit)
        )
        self._item_by_item(
            ctx, codes.QUESTIONNAIRE_RMDQ, visit.rmdq_items, "valueBoolean", _rmdq_score(visit)
        )
        self._startback(ctx)
        self._psfs(ctx)
        self._zcq(ctx)
        self._walking(ctx)
        if visit.temperature_c is not None:
            celsius: Json = {"valueQuantity": codes.UNIT_CELSIUS.quantity(visit.temperature_c)}
            vital = codes.CATEGORY_VITAL_SIGNS
            self._observation(ctx, "temperature", vital, codes.LOINC_BODY_TEMPERATURE, celsius)
        if visit.leg_weakness_mrc is not None:
            grade: Json = {"valueInteger": visit.leg_weakness_mrc}
            self._observation(ctx, "leg-weakness-mrc", codes.CATEGORY_EXAM, codes.LEG_WEAKNESS_MRC, grade)
        self._red_flag_findings(ctx)

    def _observation(
        self,
        ctx: _VisitContext,
        slug: str,
        category: codes.Code,
        code: codes.Code | codes.LocalCode,
        value: Json,
        derived_from: Sequence[str] = (),
    ) -> str:
        resource: Json = {
            "resourceType": "Observation",
            "status": "final",
            "category": [_concept(category.coding())],
            "code": _concept(self._coding(code)),
            "subject": _ref(self.patient_url),
            "encounter": _ref(ctx.encounter),
            "effectiveDateTime": _date(ctx.visit.visit_date),
        }
        resource |= value
        if derived_from:
            resource["derivedFrom"] = [_ref(url) for url in derived_from]
        return self._add(self._url("Observation", f"{ctx.key}/{slug}"), resource)

    def _questionnaire_response(self, ctx: _VisitContext, slug: str, items: list[Json]) -> str:
        return self._add(
            self._url("QuestionnaireResponse", f"{ctx.key}/{slug}"),
            {
                "resourceType": "QuestionnaireResponse",
                "questionnaire": f"{self.base}/Questionnaire/{slug}",
                "status": "completed",
                "subject": _ref(self.patient_url),
                "encounter": _ref(ctx.encounter),
                "authored": _date(ctx.visit.visit_date),
                "item": items,
            },
        )

    def _item_by_item(
        self, ctx: _VisitContext, slug: str, answers: Sequence[object] | None, value_type: str, score: Score
    ) -> None:
        """An instrument answered item by item in order (ODI sections, RMDQ items): its
        QuestionnaireResponse (linkIds "<slug>-<position>") and the score Observation derived from it;
        nothing when no item was answered, no Observation when the answers are not scorable."""
        items = [
            _answer(f"{slug}-{n}", {value_type: a}) for n, a in enumerate(answers or [], 1) if a is not None
        ]
        if not items:
            return
        response = self._questionnaire_response(ctx, slug, items)
        code, value = score
        if value is not None:
            self._observation(ctx, slug, codes.CATEGORY_SURVEY, code, value, [response])

    def _startback(self, ctx: _VisitContext) -> None:
        answers = ctx.visit.startback
        if not answers:
            return
        items = [
            _answer(
                f"startback-{key[1:]}", {"valueCoding": self._local(codes.STARTBACK_ANSWER_CODES[answer])}
            )
            for key, answer in sorted(answers.items(), key=lambda kv: int(kv[0][1:]))
            if answer is not None
        ]
        if not items:
            return
        response = self._questionnaire_response(ctx, codes.QUESTIONNAIRE_STARTBACK, items)
        score = score_startback(answers)
        if not score.scorable or score.total is None or score.psychosocial is None:
            return
        total = self._observation(
            ctx,
            "startback-total",
            codes.CATEGORY_SURVEY,
            codes.STARTBACK_TOTAL,
            {"valueInteger": score.total},
            [response],
        )
        psychosocial = {"valueInteger": score.psychosocial}
        self._observation(
            ctx,
            "startback-psychosocial",
            codes.CATEGORY_SURVEY,
            codes.STARTBACK_PSYCHOSOCIAL,
            psychosocial,
            [response],
        )
        self.startback[ctx.key] = [response, total]

    def _psfs(self, ctx: _VisitContext) -> None:
        activities = ctx.visit.psfs
        if not activities:
            return
        items: list[Json] = []
        for n, activity in enumerate(activities, 1):
            parts = [_answer(f"psfs-{n}-activity", {"valueString": activity.activity})]
            if activity.score is not None:
                parts.append(_answer(f"psfs-{n}-score", {"valueInteger": activity.score}))
            items.append({"linkId": f"psfs-{n}", "item": parts})
        response = self._questionnaire_response(ctx, codes.QUESTIONNAIRE_PSFS, items)
        mean = score_psfs(activities).mean
        if mean is not None:
            value = {"valueQuantity": codes.UNIT_SCORE.quantity(mean)}
            self._observation(ctx, "psfs", codes.CATEGORY_SURVEY, codes.PSFS_MEAN, value, [response])

    def _zcq(self, ctx: _VisitContext) -> None:
        answers = ctx.visit.zcq_items
        if not answers:
            return
        ordered = sorted(answers.items(), key=lambda kv: int(kv[0][1:]))
        items = [
            _answer(f"zcq-{key[1:]}", {"valueInteger": code}) for key, code in ordered if code is not None
        ]
        if not items:
            return
        response = self._questionnaire_response(ctx, codes.QUESTIONNAIRE_ZCQ, items)
        score = score_zcq(answers)
        for slug, code, mean in (
            ("zcq-ss", codes.ZCQ_SYMPTOM_SEVERITY, score.symptom_severity),
            ("zcq-pf", codes.ZCQ_PHYSICAL_FUNCTION, score.physical_function),
            ("zcq-sat", codes.ZCQ_SATISFACTION, score.satisfaction),
        ):
            if mean is not None:
                value = {"valueQuantity": codes.UNIT_SCORE.quantity(mean)}
                self._observation(ctx, slug, codes.CATEGORY_SURVEY, code, value, [response])

    def _walking(self, ctx: _VisitContext) -> None:
        visit = ctx.visit
        if visit.walk_protocol is None:
            return
        protocol = codes.WALK_PROTOCOL_CODES[visit.walk_protocol]
        components: list[Json] = [
            {
                "code": _concept(self._local(codes.WALK_PROTOCOL)),
                "valueCodeableConcept": _concept(self._coding(protocol)),
            }
        ]
        for field, (code, unit) in codes.WALK_MEASUREMENTS.items():
            measured = getattr(visit, field)
            if measured is not None:
                components.append(
                    {"code": _concept(self._local(code)), "valueQuantity": unit.quantity(measured)}
                )
        if visit.walk_stop_reason is not None:
            reason = codes.WALK_STOP_REASONS[visit.walk_stop_reason]
            components.append(
                {
                    "code": _concept(self._local(codes.WALK_STOP_REASON)),
                    "valueCodeableConcept": _concept(self._local(reason)),
                }
            )
        value: Json = {}
        # A protocol whose code means one measurement itself (LOINC 64098-7, the 6MWT distance)
        # carries that measurement as the Observation's value.
        value_field = WALK_PROTOCOLS[visit.walk_protocol].fhir_value_field
        if value_field is not None and (measured := getattr(visit, value_field)) is not None:
            _, unit = codes.WALK_MEASUREMENTS[value_field]
            value["valueQuantity"] = unit.quantity(measured)
        value["component"] = components
        self._observation(ctx, "walking", codes.CATEGORY_EXAM, protocol, value)

    def _red_flag_findings(self, ctx: _VisitContext) -> None:
        """One Observation per screening field; unanswered ones say not-asked, never a false "no"."""
        urls: list[str] = []
        for field in SCREENING_FIELDS:
            answer = getattr(ctx.visit, field)
            value: Json
            if answer is None:
                value = {"dataAbsentReason": _concept(codes.NOT_ASKED.coding())}
            elif field in _CODED_ANSWERS:
                value = {"valueCodeableConcept": _concept(self._local(_CODED_ANSWERS[field][answer]))}
            else:
                value = {"valueBoolean": bool(answer)}
            code = codes.SCREENING_CODES[field]
            urls.append(self._observation(ctx, code.code, codes.CATEGORY_EXAM, code, value))
        self.findings[ctx.encounter] = urls

    # --- derived and decision-support resources ----------------------------------------------

    def add_risk_assessment(self, visits: list[tuple[str, Visit]]) -> None:
        """RiskAssessment from the latest scorable STarT Back (low/medium/high -> low/moderate/high)."""
        for key, visit in reversed(visits):
            if key not in self.startback:
                continue
            risk = score_startback(visit.startback).risk
            if risk is None:
                continue
            self._add(
                self._url("RiskAssessment", self.patient_key),
                {
                    "resourceType": "RiskAssessment",
                    "status": "final",
                    "code": _concept(self._local(codes.STARTBACK_RISK)),
                    "subject": _ref(self.patient_url),
                    "encounter": _ref(self._url("Encounter", key)),
                    "occurrenceDateTime": _date(visit.visit_date),
                    "basis": [_ref(url) for url in self.startback[key]],
                    "prediction": [
                        {"qualitativeRisk": _concept(codes.STARTBACK_RISK_PROBABILITY[risk].coding())}
                    ],
                },
            )
            return

    def add_screenings(self, screenings: Iterable[Screening]) -> None:
        """One decision-support Observation per stored screening of an exported visit."""
        for screening in screenings:
            self._check_owner(screening.patient_id, "screenings")
            found = self.encounters.get(screening.visit_id or "")
            if screening.archived or found is None:
                continue
            encounter, visit = found
            key = screening.id or f"{screening.visit_id}/{screening.rule_set_version}"
            components = [
                {
                    "code": _concept(self._local(self._rule(flag.rule_id))),
                    "valueCodeableConcept": _concept(self._local(codes.URGENCY_CODES[flag.tier])),
                }
                for flag in screening.flags
            ]
            resource: Json = {
                "resourceType": "Observation",
                "status": "final",
                "category": [_concept(codes.CATEGORY_EXAM.coding())],
                "code": _concept(self._local(codes.REDFLAG_SCREENING)),
                "subject": _ref(self.patient_url),
                "encounter": _ref(encounter),
                "effectiveDateTime": _date(visit.visit_date),
                "valueCodeableConcept": _concept(self._local(codes.URGENCY_CODES[screening.urgency])),
                "method": {"text": f"Stride red-flag rules {screening.rule_set_version}"},
                "derivedFrom": [_ref(url) for url in self.findings.get(encounter, [])],
            }
            if components:
                resource["component"] = components
            self._add(self._url("Observation", f"screening/{key}"), resource)

    def add_flags(self, escalations: Iterable[Escalation]) -> None:
        """A Flag (status active) for each open, non-archived escalation."""
        for escalation in escalations:
            self._check_owner(escalation.patient_id, "escalations")
            if escalation.archived or escalation.status != "open":
                continue
            opened = escalation.opened_at.isoformat() if escalation.opened_at else ""
            key = escalation.id or f"{escalation.rule_id}/{opened}"
            resource: Json = {
                "resourceType": "Flag",
                "status": "active",
                "code": _concept(self._local(self._rule(escalation.rule_id))),
                "subject": _ref(self.patient_url),
            }
            if escalation.opened_at:
                resource["period"] = {"start": _instant(escalation.opened_at)}
            self._add(self._url("Flag", key), resource)

    def add_letters(self, letters: Iterable[Letter]) -> None:
        """A DocumentReference (status current) for each letter: its kind, date, the PDF exactly as
        given (base64) and its SHA-256 as an identifier (Attachment.hash is SHA-1 in R4)."""
        for letter in sorted(letters, key=lambda x: (x.recorded_at, x.id)):
            self._check_owner(letter.patient_id, "letters")
            resource: Json = {
                "resourceType": "DocumentReference",
                "identifier": [{"system": f"{self.base}/letter-sha256", "value": letter.sha256}],
                "status": "current",
                "type": {"text": LETTER_KINDS.get(letter.kind, letter.kind)},
                "subject": _ref(self.patient_url),
                "date": _instant(letter.recorded_at),
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
            if self.episode_url and letter.episode_id:
                resource["context"] = {"related": [_ref(self.episode_url)]}
            self._add(self._url("DocumentReference", f"letter/{letter.id}"), resource)

    def add_patient_reported(self, reports: Iterable[PatientReport], diary: Iterable[DiaryEntry]) -> None:
        """The patient's own check-ins and walking diary (dashboard.fhir_patient_reported)."""
        voice = PatientVoice(self.patient.id, self.patient_url, self.system, self.base, self._url)
        for full_url, resource in patient_reported_entries(reports, diary, voice):
            self._add(full_url, resource)

    def _rule(self, rule_id: str) -> codes.LocalCode:
        return codes.RULE_CODES.get(rule_id) or codes.LocalCode(rule_id, rule_id)

    def _check_owner(self, patient_id: str, what: str) -> None:
        if self.patient.id and patient_id != self.patient.id:
            raise ValueError(f"{what}: a record belongs to another patient")


class _VisitContext:
    """The visit being exported, its record key and its Encounter fullUrl."""

    def __init__(self, key: str, visit: Visit, encounter: str) -> None:
        self.key = key
        self.visit = visit
        self.encounter = encounter


def _odi_score(visit: Visit) -> Score:
    """The ODI score Observation: its code and value, percent disability (0-100 %; None: not scorable)."""
    percent = score_odi(visit.odi_sections).percent if visit.odi_sections is not None else None
    value = None if percent is None else {"valueQuantity": codes.UNIT_PERCENT.quantity(percent)}
    return codes.LOINC_ODI_SCORE, value


def _rmdq_score(visit: Visit) -> Score:
    """The RMDQ score Observation: its code and value, the total 0-24 (None: not scorable)."""
    total = score_rmdq(visit.rmdq_items).total if visit.rmdq_items is not None else None
    return codes.RMDQ_TOTAL, None if total is None else {"valueInteger": total}


def _answer(link_id: str, value: Json) -> Json:
    return {"linkId": link_id, "answer": [value]}
