"""FHIR resources of one visit (clinical-reference §9): its Encounter and the Observations the clinician
recorded: pain now and at worst, the questionnaires (dashboard.fhir_questionnaires), the walking test with
its UCUM components, body temperature, leg weakness and one finding per red-flag screening question.
"""

from __future__ import annotations

from dashboard import fhir_codes as codes
from dashboard.catalogue import WALK_PROTOCOLS
from dashboard.fhir_bundle import BundleWriter, Json, VisitEntries, concept, date_text, ref
from dashboard.fhir_questionnaires import add_questionnaires
from dashboard.models import SCREENING_FIELDS, Visit

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


def add_visit(bundle: BundleWriter, key: str, visit: Visit) -> None:
    """Encounter plus the visit's observations and questionnaire responses."""
    encounter = bundle.add(
        bundle.url("Encounter", key),
        {
            "resourceType": "Encounter",
            "status": "finished",
            "class": codes.ENCOUNTER_AMBULATORY.coding(),
            "subject": ref(bundle.patient_url),
            **({"episodeOfCare": [ref(bundle.episode_url)]} if bundle.episode_url else {}),
            "period": {"start": date_text(visit.visit_date), "end": date_text(visit.visit_date)},
        },
    )
    if visit.id:
        bundle.encounters[visit.id] = (encounter, visit)
    entries = VisitEntries(bundle, key, visit, encounter)
    if visit.pain_nrs is not None:
        nrs: Json = {"valueInteger": visit.pain_nrs}
        entries.observation("pain-nrs", codes.CATEGORY_SURVEY, codes.LOINC_NPRS, nrs)
    if visit.pain_worst_nrs is not None:
        worst: Json = {"valueInteger": visit.pain_worst_nrs}
        entries.observation("pain-worst", codes.CATEGORY_SURVEY, codes.PAIN_WORST_24H, worst)
    add_questionnaires(entries)
    _walking(entries)
    if visit.temperature_c is not None:
        celsius: Json = {"valueQuantity": codes.UNIT_CELSIUS.quantity(visit.temperature_c)}
        vital = codes.CATEGORY_VITAL_SIGNS
        entries.observation("temperature", vital, codes.LOINC_BODY_TEMPERATURE, celsius)
    if visit.leg_weakness_mrc is not None:
        grade: Json = {"valueInteger": visit.leg_weakness_mrc}
        entries.observation("leg-weakness-mrc", codes.CATEGORY_EXAM, codes.LEG_WEAKNESS_MRC, grade)
    _red_flag_findings(entries)


def _walking(entries: VisitEntries) -> None:
    """The walking test as one exam Observation coded by its protocol: the protocol, each measurement
    in UCUM units and the stop reason as components."""
    visit, bundle = entries.visit, entries.bundle
    if visit.walk_protocol is None:
        return
    protocol = codes.WALK_PROTOCOL_CODES[visit.walk_protocol]
    components: list[Json] = [
        {
            "code": concept(bundle.local(codes.WALK_PROTOCOL)),
            "valueCodeableConcept": concept(bundle.coding(protocol)),
        }
    ]
    for field, (code, unit) in codes.WALK_MEASUREMENTS.items():
        measured = getattr(visit, field)
        if measured is not None:
            components.append({"code": concept(bundle.local(code)), "valueQuantity": unit.quantity(measured)})
    if visit.walk_stop_reason is not None:
        reason = codes.WALK_STOP_REASONS[visit.walk_stop_reason]
        components.append(
            {
                "code": concept(bundle.local(codes.WALK_STOP_REASON)),
                "valueCodeableConcept": concept(bundle.local(reason)),
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
    entries.observation("walking", codes.CATEGORY_EXAM, protocol, value)


def _red_flag_findings(entries: VisitEntries) -> None:
    """One Observation per screening field; unanswered ones say not-asked, never a false "no"."""
    urls: list[str] = []
    for field in SCREENING_FIELDS:
        answer = getattr(entries.visit, field)
        value: Json
        if answer is None:
            value = {"dataAbsentReason": concept(codes.NOT_ASKED.coding())}
        elif field in _CODED_ANSWERS:
            value = {"valueCodeableConcept": concept(entries.bundle.local(_CODED_ANSWERS[field][answer]))}
        else:
            value = {"valueBoolean": bool(answer)}
        code = codes.SCREENING_CODES[field]
        urls.append(entries.observation(code.code, codes.CATEGORY_EXAM, code, value))
    entries.bundle.findings[entries.encounter] = urls
