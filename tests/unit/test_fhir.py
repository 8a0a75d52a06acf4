"""The FHIR R4 export builds a valid, deterministic, de-identified Bundle (clinical-reference §9)."""

from __future__ import annotations

import ast
import base64
import datetime as dt
import hashlib
import json
import random
import re
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.codesystem import CodeSystem
from hypothesis import given
from hypothesis import strategies as st

from dashboard import fhir_codes as codes
from dashboard.config import Settings
from dashboard.fhir import CareManager, fhir_base, local_codesystem, patient_bundle
from dashboard.models import SCREENING_FIELDS, Escalation, FlagRecord, PsfsActivity, Screening, Visit
from dashboard.patient_reported import PatientReport, Problems, parse_checkin
from dashboard.ports import Letter
from dashboard.red_flags import RULES
from tests.factories import make_diary_entry, make_episode, make_patient, make_visit

LOCAL = Settings().fhir_codesystem_url
BASE = "https://stride.example.org/fhir"
UCUM = "http://unitsofmeasure.org"
ROOT = Path(__file__).resolve().parents[2]

# --- factories ---------------------------------------------------------------------------------


def a_patient(**overrides: Any) -> Any:
    """A saved patient (id "patient-1") with non-ASCII names."""
    return make_patient(**{"id": "patient-1", "patient_ref": "MRN-0042", **overrides})


def a_visit(day: int = 3, **overrides: Any) -> Visit:
    """A saved visit on 2025-02-<day> with nothing recorded."""
    date = dt.date(2025, 2, day)
    return make_visit(**{"id": f"visit-{day}", "patient_id": "patient-1", "visit_date": date, **overrides})


STARTBACK_HIGH = {**{f"q{i}": "agree" for i in range(1, 9)}, "q9": "extremely"}  # total 9, psych 5
STARTBACK_MEDIUM = {**{f"q{i}": "agree" for i in range(1, 5)}, **{f"q{i}": "disagree" for i in range(5, 9)}}
STARTBACK_MEDIUM["q9"] = "very_much"  # total 5, psychosocial 1
STARTBACK_LOW = {**{f"q{i}": "disagree" for i in range(1, 9)}, "q9": "slightly"}  # total 0


def a_full_visit(day: int = 3, **overrides: Any) -> Visit:
    """A visit with every measure, questionnaire, walking test and screening answer recorded."""
    values: dict[str, Any] = {
        "pain_nrs": 6,
        "pain_worst_nrs": 8,
        "odi_sections": [2, 1, 3, 2, 1, 2, 1, 0, 2, 2],  # sum 16 of 50 -> 32.0 %
        "rmdq_items": [True] * 7 + [False] * 17,
        "startback": STARTBACK_HIGH,
        "psfs": [
            PsfsActivity(activity="walking to the shops", score=3),
            PsfsActivity(activity="gardening", score=6),
        ],
        "zcq_items": {**{f"q{i}": 3 for i in range(1, 8)}, **{f"q{i}": 2 for i in range(8, 13)}},
        "walk_protocol": "spwt",
        "walk_onset_min": 4.5,
        "walk_onset_m": 310.0,
        "walk_total_min": 12.25,
        "walk_total_m": 820.0,
        "walk_stop_reason": "symptoms",
        "temperature_c": 37.4,
        "leg_weakness_mrc": 4,
        **{field: False for field in SCREENING_FIELDS},
        "saddle_anaesthesia": "none",
        "bladder_dysfunction": "none",
        "bowel_dysfunction": "none",
        "sexual_dysfunction": "chronic_stable",
        "bilateral_radicular_pain": "new",
        "leg_weakness": "stable",
        "trauma": "minor",
        "night_pain": True,
    }
    return a_visit(day, **{**values, **overrides})


def an_escalation(rule_id: str = "RF_CES", **overrides: Any) -> Escalation:
    """An open escalation of the patient, opened at 09:30 UTC on 2025-02-03."""
    opened = dt.datetime(2025, 2, 3, 9, 30, tzinfo=dt.UTC)
    return Escalation(
        **{"id": f"esc-{rule_id}", "patient_id": "patient-1", "rule_id": rule_id, "tier": "EMERGENCY"}
        | {"opened_at": opened}
        | overrides
    )


def a_screening(visit_id: str = "visit-3", **overrides: Any) -> Screening:
    """A stored screening of a visit in which RF_CES fired."""
    flag = FlagRecord(
        rule_id="RF_CES",
        tier="EMERGENCY",
        reason="r",
        action="a",
        timeframe="t",
        source="s",
        evidence_tag="[C]",
    )
    values = {
        "id": f"scr-{visit_id}",
        "patient_id": "patient-1",
        "visit_id": visit_id,
        "urgency": "EMERGENCY",
    }
    return Screening(**{**values, "flags": [flag], "rule_set_version": "2025.1", **overrides})


# --- helpers -----------------------------------------------------------------------------------


def validated(bundle: dict[str, Any]) -> dict[str, Any]:
    """The bundle, after R4 (R4B model) validation and the invariants the model does not check."""
    Bundle.model_validate(bundle)
    urls = [entry["fullUrl"] for entry in bundle["entry"]]
    assert len(urls) == len(set(urls)), "fullUrls are unique"
    for entry in bundle["entry"]:
        assert re.fullmatch(r"urn:uuid:[0-9a-f-]{36}", entry["fullUrl"])
        assert entry["resource"]["id"] == entry["fullUrl"].removeprefix("urn:uuid:")
        resource = entry["resource"]
        if resource["resourceType"] == "Observation":
            has_value = any(key.startswith("value") for key in resource)
            # obs-6: dataAbsentReason only when there is no value.
            assert not (has_value and "dataAbsentReason" in resource)
            assert has_value or "dataAbsentReason" in resource or "component" in resource
    for reference in _references(bundle):
        assert reference in urls, "every reference points at an entry of the bundle"
    return bundle


def _references(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "reference":
                yield value
            else:
                yield from _references(value)
    elif isinstance(node, list):
        for item in node:
            yield from _references(item)


def _codings(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        if "system" in node and "code" in node and "value" not in node:
            yield node
        for value in node.values():
            yield from _codings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _codings(item)


def resources(bundle: dict[str, Any], resource_type: str) -> list[dict[str, Any]]:
    """Every resource of one type, in entry order."""
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == resource_type]


def coded(bundle: dict[str, Any], code: str) -> list[dict[str, Any]]:
    """Every resource whose code has a coding with this code."""
    found = []
    for entry in bundle["entry"]:
        concept = entry["resource"].get("code", {})
        if any(c["code"] == code for c in concept.get("coding", [])):
            found.append(entry["resource"])
    return found


def the(items: list[dict[str, Any]]) -> dict[str, Any]:
    """The only item of a list."""
    assert len(items) == 1, f"expected exactly one, found {len(items)}"
    return items[0]


def by_url(bundle: dict[str, Any], reference: dict[str, str]) -> dict[str, Any]:
    """The resource a reference points at."""
    return the([e["resource"] for e in bundle["entry"] if e["fullUrl"] == reference["reference"]])


def component(observation: dict[str, Any], code: str) -> dict[str, Any]:
    """The observation's component with this code."""
    return the([c for c in observation["component"] if c["code"]["coding"][0]["code"] == code])


def export(*visits: Visit, **kwargs: Any) -> dict[str, Any]:
    """A validated bundle of the default patient and these visits."""
    patient = kwargs.pop("patient", a_patient())
    return validated(patient_bundle(patient, list(visits), **kwargs))


# --- the bundle ----------------------------------------------------------------------------------

DISCHARGED_EPISODE = make_episode(
    patient_id="patient-1",
    referral_date=dt.date(2025, 3, 1),
    status="discharged",
    discharge_date=dt.date(2025, 4, 30),
    discharge_reason="goals_met",
)


def a_patient_report() -> PatientReport:
    """A check-in sent through the patient's form: measurements, a PSFS rating, yes / no / not sure."""
    form = {"pain_nrs": "5", "pain_worst_nrs": "8", "walk_total_min": "15", "walk_stop_reason": "fatigue"}
    symptoms = {"symptom_saddle": "no", "symptom_bladder": "not_sure", "symptom_night": "yes"}
    answers = parse_checkin({**form, **symptoms, "psfs_0": "4"}, ("gardening",))
    assert not isinstance(answers, Problems)
    sent = dt.datetime(2025, 2, 2, 18, 0, tzinfo=dt.UTC)
    return PatientReport("report-1", "invite-1", "patient-1", None, sent, answers.report_answers(), "NONE")


# Two diary walks: one without symptoms or next-morning pain yet, one with both (clinical-reference §12.3).
DIARY_WALKS = [
    make_diary_entry(5, 3, start=dt.date(2025, 2, 1), id="walk-1", patient_id="patient-1"),
    make_diary_entry(
        6, 6, start=dt.date(2025, 2, 1), morning=4, symptom_onset_min=8.0, id="walk-2", patient_id="patient-1"
    ),
]

SCENARIOS: dict[str, Any] = {
    "no visits": lambda: patient_bundle(a_patient(), []),
    "one empty visit": lambda: patient_bundle(a_patient(), [a_visit()]),
    "full visits, screenings and escalations": lambda: patient_bundle(
        a_patient(),
        [
            a_full_visit(3),
            a_full_visit(17, startback=STARTBACK_LOW, walk_protocol="6mwt", walk_total_min=6.0),
        ],
        [a_screening("visit-3")],
        [an_escalation(), an_escalation("RF_AAA", status="closed")],
    ),
    "names included, Latin script": lambda: patient_bundle(a_patient(), [a_full_visit()], include_names=True),
    "names included, Chinese script": lambda: patient_bundle(
        a_patient(given_name="小龙", family_name="李", sex="M"), [a_full_visit()], include_names=True
    ),
    "names included, Cyrillic and Arabic": lambda: patient_bundle(
        a_patient(given_name="Анна-Мария", family_name="العلي", sex="X"), [a_visit()], include_names=True
    ),
    "unsaved records": lambda: patient_bundle(
        a_patient(id=None), [a_visit(id=None, patient_id=None), a_visit(id=None, patient_id=None)]
    ),
    "an archived visit": lambda: patient_bundle(
        a_patient(), [a_full_visit(3), a_full_visit(10, archived=True)]
    ),
    "another code system": lambda: patient_bundle(
        a_patient(), [a_full_visit()], codesystem_url="https://physio.example.net/fhir/CodeSystem/stride"
    ),
    "a discharged episode of care": lambda: patient_bundle(
        a_patient(), [a_full_visit(3), a_full_visit(17)], episode=DISCHARGED_EPISODE
    ),
    "the patient's check-in and walking diary": lambda: patient_bundle(
        a_patient(), [a_full_visit(3)], patient_reports=[a_patient_report()], diary=DIARY_WALKS
    ),
}


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_exported_bundle_is_a_valid_r4_collection(scenario: str) -> None:
    bundle = validated(SCENARIOS[scenario]())
    assert bundle["resourceType"] == "Bundle"
    assert bundle["type"] == "collection"


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_the_same_input_always_gives_identical_json(scenario: str) -> None:
    first, second = SCENARIOS[scenario](), SCENARIOS[scenario]()
    assert json.dumps(first, sort_keys=False) == json.dumps(second, sort_keys=False)


def test_the_order_in_which_visits_are_passed_does_not_change_the_bundle() -> None:
    visits = [a_full_visit(day) for day in (3, 10, 17, 24)]
    shuffled = visits[:]
    random.Random(7).shuffle(shuffled)
    assert json.dumps(patient_bundle(a_patient(), visits)) == json.dumps(
        patient_bundle(a_patient(), shuffled)
    )


def test_full_urls_are_uuid5_of_the_record_ids_so_changed_values_keep_their_urls() -> None:
    before = export(a_visit(3, pain_nrs=7))
    after = export(a_visit(3, pain_nrs=2))
    namespace = uuid.uuid5(uuid.NAMESPACE_URL, LOCAL)
    encounter = the(resources(before, "Encounter"))
    assert encounter["id"] == str(uuid.uuid5(namespace, "Encounter/visit/visit-3"))
    assert the(resources(after, "Encounter"))["id"] == encounter["id"]
    assert the(coded(after, "72514-3"))["id"] == the(coded(before, "72514-3"))["id"]


def test_the_bundle_timestamp_is_the_latest_visit_date_unless_one_is_passed_in() -> None:
    assert export(a_visit(3), a_visit(17))["timestamp"] == "2025-02-17T00:00:00Z"
    stamp = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)
    assert export(a_visit(3), timestamp=stamp)["timestamp"] == "2025-03-01T12:00:00+00:00"
    assert "timestamp" not in export()


def test_the_fhir_base_is_the_code_system_url_without_its_code_system_path() -> None:
    assert fhir_base(LOCAL) == BASE
    assert fhir_base("https://x.example/terminology/lbp") == "https://x.example/terminology"


# --- patient, condition, encounters ------------------------------------------------------------


@pytest.mark.parametrize(("sex", "gender"), [("F", "female"), ("M", "male"), ("X", "other")])
def test_the_patient_carries_the_clinic_reference_birth_date_and_gender(sex: str, gender: str) -> None:
    patient = the(resources(export(patient=a_patient(sex=sex)), "Patient"))
    assert patient["identifier"] == [{"system": f"{BASE}/patient-ref", "value": "MRN-0042"}]
    assert dt.date.fromisoformat(patient["birthDate"]) == dt.date(1960, 5, 1)
    assert patient["gender"] == gender


NAMES = [("Zoë", "Łukasz-Müller"), ("小龙", "李"), ("Анна-Мария", "Иванова"), ("محمد", "العلي")]


@pytest.mark.parametrize(("given", "family"), NAMES)
def test_no_name_appears_anywhere_in_the_bundle_unless_names_are_asked_for(given: str, family: str) -> None:
    patient = a_patient(given_name=given, family_name=family)
    bundle = export(a_full_visit(3), a_full_visit(10), patient=patient)
    assert "name" not in the(resources(bundle, "Patient"))
    for text in (json.dumps(bundle), json.dumps(bundle, ensure_ascii=False)):
        for name in (given, family):
            assert name not in text
            assert json.dumps(name)[1:-1] not in text  # the \\u-escaped form


@pytest.mark.parametrize(("given", "family"), NAMES)
def test_names_in_any_script_are_exported_when_asked_for(given: str, family: str) -> None:
    bundle = export(a_visit(), patient=a_patient(given_name=given, family_name=family), include_names=True)
    name = the(the(resources(bundle, "Patient"))["name"])
    assert name["family"] == family
    assert name["given"] == [given]
    assert json.loads(json.dumps(bundle))["entry"][0]["resource"]["name"][0]["family"] == family


def test_the_condition_is_low_back_pain_from_the_symptom_onset() -> None:
    bundle = export(a_visit())
    condition = the(resources(bundle, "Condition"))
    assert condition["code"]["coding"] == [
        {"system": "http://snomed.info/sct", "code": "279039007", "display": "Low back pain"}
    ]
    assert dt.date.fromisoformat(condition["onsetDateTime"]) == dt.date(2025, 1, 6)
    assert by_url(bundle, condition["subject"])["resourceType"] == "Patient"


def test_each_visit_is_a_finished_ambulatory_encounter_on_its_date() -> None:
    bundle = export(a_visit(3), a_visit(17))
    encounters = resources(bundle, "Encounter")
    assert [e["period"] for e in encounters] == [
        {"start": "2025-02-03", "end": "2025-02-03"},
        {"start": "2025-02-17", "end": "2025-02-17"},
    ]
    for encounter in encounters:
        assert encounter["status"] == "finished"
        assert encounter["class"]["system"] == "http://terminology.hl7.org/CodeSystem/v3-ActCode"
        assert encounter["class"]["code"] == "AMB"
        assert by_url(bundle, encounter["subject"])["resourceType"] == "Patient"


def test_archived_visits_are_left_out_entirely() -> None:
    bundle = export(a_full_visit(3), a_full_visit(10, archived=True, pain_nrs=1))
    assert len(resources(bundle, "Encounter")) == 1
    assert "2025-02-10" not in json.dumps(bundle)
    assert [o["valueInteger"] for o in coded(bundle, "72514-3")] == [6]


def test_a_visit_of_another_patient_is_refused() -> None:
    with pytest.raises(ValueError, match="another patient"):
        patient_bundle(a_patient(), [a_visit(patient_id="patient-2")])


# --- scores and questionnaire responses ----------------------------------------------------------


def observation_of(bundle: dict[str, Any], code: str) -> dict[str, Any]:
    """The only Observation with this code, after checking its subject, encounter and status."""
    observation = the(coded(bundle, code))
    assert observation["resourceType"] == "Observation"
    assert observation["status"] == "final"
    assert by_url(bundle, observation["subject"])["resourceType"] == "Patient"
    assert by_url(bundle, observation["encounter"])["resourceType"] == "Encounter"
    return observation


def category_of(observation: dict[str, Any]) -> str:
    """The observation-category code of an Observation."""
    coding = the(the(observation["category"])["coding"])
    assert coding["system"] == "http://terminology.hl7.org/CodeSystem/observation-category"
    return str(coding["code"])


def test_current_pain_is_an_integer_loinc_72514_3_survey_observation_on_the_visit_date() -> None:
    nrs = observation_of(export(a_visit(pain_nrs=6)), "72514-3")
    assert (
        nrs["code"]["coding"][0]["display"] == "Pain severity - 0-10 verbal numeric rating [Score] - Reported"
    )
    assert nrs["valueInteger"] == 6
    assert isinstance(nrs["valueInteger"], int)
    assert category_of(nrs) == "survey"
    assert dt.date.fromisoformat(nrs["effectiveDateTime"]) == dt.date(2025, 2, 3)


def test_worst_pain_uses_the_local_code() -> None:
    worst = observation_of(export(a_visit(pain_worst_nrs=9)), "pain-worst-24h")
    assert worst["code"]["coding"][0]["system"] == LOCAL
    assert worst["valueInteger"] == 9


def test_the_odi_percent_is_a_ucum_percent_derived_from_its_questionnaire_response() -> None:
    bundle = export(a_visit(odi_sections=[2, 1, 3, 2, 1, 2, 1, 0, 2, 2]))
    odi = observation_of(bundle, "97909-6")
    assert odi["valueQuantity"] == {"value": 32.0, "unit": "%", "system": UCUM, "code": "%"}
    response = by_url(bundle, the(odi["derivedFrom"]))
    assert response["resourceType"] == "QuestionnaireResponse"
    assert response["questionnaire"] == f"{BASE}/Questionnaire/odi"
    assert [(i["linkId"], i["answer"][0]["valueInteger"]) for i in response["item"]] == [
        (f"odi-{n}", score) for n, score in enumerate([2, 1, 3, 2, 1, 2, 1, 0, 2, 2], 1)
    ]


def test_an_odi_with_one_section_blank_keeps_the_unrounded_percent_and_omits_the_blank_item() -> None:
    bundle = export(a_visit(odi_sections=[2, 1, 3, 2, 1, 2, 1, None, 2, 2]))
    assert observation_of(bundle, "97909-6")["valueQuantity"]["value"] == pytest.approx(100 * 16 / 45)
    link_ids = [i["linkId"] for i in the(resources(bundle, "QuestionnaireResponse"))["item"]]
    assert "odi-8" not in link_ids
    assert len(link_ids) == 9


def test_an_unscorable_odi_exports_its_answers_but_no_score() -> None:
    bundle = export(a_visit(odi_sections=[2, 1, None, None, 1, 2, 1, 0, 2, 2]))
    assert coded(bundle, "97909-6") == []
    assert len(the(resources(bundle, "QuestionnaireResponse"))["item"]) == 8


def test_questionnaire_responses_carry_link_ids_and_coded_answers_never_item_text() -> None:
    bundle = export(a_full_visit())
    responses = resources(bundle, "QuestionnaireResponse")
    slugs = sorted(r["questionnaire"].rsplit("/", 1)[1] for r in responses)
    assert slugs == ["odi", "psfs", "rmdq", "startback", "zcq"]
    for response in responses:
        assert response["status"] == "completed"
        assert dt.date.fromisoformat(response["authored"]) == dt.date(2025, 2, 3)
        assert by_url(bundle, response["encounter"])["resourceType"] == "Encounter"
        assert '"text"' not in json.dumps(response)


def test_the_rmdq_total_counts_the_statements_that_apply() -> None:
    bundle = export(a_visit(rmdq_items=[True] * 7 + [False] * 17))
    rmdq = observation_of(bundle, "rmdq-total")
    assert rmdq["valueInteger"] == 7
    answers = [i["answer"][0]["valueBoolean"] for i in by_url(bundle, rmdq["derivedFrom"][0])["item"]]
    assert answers == [True] * 7 + [False] * 17


def test_startback_total_and_psychosocial_subscore_come_from_coded_answers() -> None:
    bundle = export(a_visit(startback=STARTBACK_MEDIUM))
    assert observation_of(bundle, "startback-total")["valueInteger"] == 5
    assert observation_of(bundle, "startback-psychosocial")["valueInteger"] == 1
    response = the(resources(bundle, "QuestionnaireResponse"))
    first, ninth = response["item"][0], response["item"][8]
    assert first["linkId"] == "startback-1"
    assert first["answer"][0]["valueCoding"]["code"] == "startback-agree"
    assert ninth["answer"][0]["valueCoding"] == {
        "system": LOCAL,
        "code": "startback-bother-very-much",
        "display": "Bothersomeness: very much",
    }


@pytest.mark.parametrize(
    ("answers", "risk"), [(STARTBACK_LOW, "low"), (STARTBACK_MEDIUM, "moderate"), (STARTBACK_HIGH, "high")]
)
def test_the_startback_risk_group_maps_to_risk_probability(answers: dict[str, str], risk: str) -> None:
    bundle = export(a_visit(startback=answers))
    prediction = the(the(resources(bundle, "RiskAssessment"))["prediction"])
    coding = the(prediction["qualitativeRisk"]["coding"])
    assert coding["system"] == "http://terminology.hl7.org/CodeSystem/risk-probability"
    assert coding["code"] == risk


def test_only_the_latest_scorable_startback_becomes_a_risk_assessment() -> None:
    incomplete = {key: value for key, value in STARTBACK_LOW.items() if key != "q9"}
    bundle = export(a_visit(3, startback=STARTBACK_HIGH), a_visit(10, startback=incomplete))
    assessment = the(resources(bundle, "RiskAssessment"))
    assert assessment["prediction"][0]["qualitativeRisk"]["coding"][0]["code"] == "high"
    assert assessment["occurrenceDateTime"] == "2025-02-03"
    assert {by_url(bundle, basis)["resourceType"] for basis in assessment["basis"]} == {
        "QuestionnaireResponse",
        "Observation",
    }


def test_no_scorable_startback_means_no_risk_assessment() -> None:
    assert resources(export(a_visit(startback={"q1": "agree"})), "RiskAssessment") == []


def test_the_psfs_mean_uses_the_activities_rated_today() -> None:
    activities = [PsfsActivity(activity="stairs", score=3), PsfsActivity(activity="cycling", score=None)]
    bundle = export(a_visit(psfs=[*activities, PsfsActivity(activity="gardening", score=6)]))
    psfs = observation_of(bundle, "psfs-mean")
    assert psfs["valueQuantity"] == {"value": 4.5, "unit": "{score}", "system": UCUM, "code": "{score}"}
    unrated = by_url(bundle, psfs["derivedFrom"][0])["item"][1]
    assert unrated == {
        "linkId": "psfs-2",
        "item": [{"linkId": "psfs-2-activity", "answer": [{"valueString": "cycling"}]}],
    }


def test_zcq_subscale_means_are_exported_when_scorable() -> None:
    items = {**{f"q{i}": 3 for i in range(1, 8)}, **{f"q{i}": 2 for i in range(8, 13)}, "q13": 1}
    bundle = export(a_visit(zcq_items=items))
    assert observation_of(bundle, "zcq-ss")["valueQuantity"]["value"] == 3.0
    assert observation_of(bundle, "zcq-pf")["valueQuantity"]["value"] == 2.0
    assert coded(bundle, "zcq-sat") == []  # 5 of 6 satisfaction items missing
    response = the(resources(bundle, "QuestionnaireResponse"))
    assert [i["linkId"] for i in response["item"]] == [f"zcq-{n}" for n in range(1, 14)]


def test_body_temperature_is_a_celsius_vital_sign() -> None:
    temperature = observation_of(export(a_visit(temperature_c=38.3)), "8310-5")
    assert category_of(temperature) == "vital-signs"
    assert temperature["valueQuantity"] == {"value": 38.3, "unit": "°C", "system": UCUM, "code": "Cel"}


# --- walking tests -------------------------------------------------------------------------------

WALKS: dict[str, tuple[str, dict[str, Any]]] = {
    "spwt": (
        "walk-spwt",
        {"walk_onset_min": 4.5, "walk_onset_m": 310.0, "walk_total_min": 12.25, "walk_total_m": 820.0},
    ),
    "treadmill_1_2mph": ("walk-treadmill-1-2mph", {"walk_onset_min": 3.0, "walk_total_min": 15.0}),
    "6mwt": ("64098-7", {"walk_onset_m": 120.0, "walk_total_min": 6.0, "walk_total_m": 402.5}),
    "reported": ("walk-reported", {"walk_total_min": 20.0}),
}
COMPONENTS = {
    "walk_onset_min": ("walk-onset-time", "min"),
    "walk_onset_m": ("walk-onset-distance", "m"),
    "walk_total_min": ("walk-total-time", "min"),
    "walk_total_m": ("walk-total-distance", "m"),
}


@pytest.mark.parametrize("protocol", WALKS)
def test_walking_tests_are_exam_observations_with_ucum_components(protocol: str) -> None:
    code, values = WALKS[protocol]
    walk = observation_of(
        export(a_visit(walk_protocol=protocol, walk_stop_reason="time_cap", **values)), code
    )
    assert category_of(walk) == "exam"
    assert component(walk, "walk-protocol")["valueCodeableConcept"]["coding"][0]["code"] == code
    for field, value in values.items():
        component_code, unit = COMPONENTS[field]
        quantity = component(walk, component_code)["valueQuantity"]
        assert quantity == {"value": value, "unit": unit, "system": UCUM, "code": unit}
    assert len(walk["component"]) == len(values) + 2
    stop = component(walk, "walk-stop-reason")["valueCodeableConcept"]["coding"][0]
    assert (stop["system"], stop["code"]) == (LOCAL, "walk-stop-time-cap")


def test_the_six_minute_walk_uses_loinc_64098_7_with_its_distance_as_the_value() -> None:
    walk = observation_of(export(a_visit(walk_protocol="6mwt", walk_total_m=402.5)), "64098-7")
    assert walk["code"]["coding"][0]["system"] == "http://loinc.org"
    assert walk["valueQuantity"] == {"value": 402.5, "unit": "m", "system": UCUM, "code": "m"}
    assert "55430-3" not in json.dumps(walk)  # never the pedometer code


def test_a_visit_without_a_walking_protocol_has_no_walking_observation() -> None:
    bundle = export(a_visit(pain_nrs=3))
    for code in ("walk-spwt", "walk-treadmill-1-2mph", "64098-7", "walk-reported"):
        assert coded(bundle, code) == []


# --- red-flag findings, screenings, flags --------------------------------------------------------


def findings(bundle: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The red-flag finding Observations of a one-visit bundle, by screening field."""
    out = {}
    for field, code in codes.SCREENING_CODES.items():
        finding = observation_of(bundle, code.code)
        assert category_of(finding) == "exam"
        out[field] = finding
    return out


def test_unanswered_screening_questions_are_exported_as_not_asked_never_as_no() -> None:
    for field, finding in findings(export(a_visit())).items():
        assert finding["dataAbsentReason"]["coding"] == [
            {
                "system": "http://terminology.hl7.org/CodeSystem/data-absent-reason",
                "code": "not-asked",
                "display": "Not Asked",
            }
        ], field
        assert not any(key.startswith("value") for key in finding), field


def test_answered_screening_questions_carry_their_answers() -> None:
    exported = findings(export(a_full_visit()))
    assert exported["night_pain"]["valueBoolean"] is True
    assert exported["fever"]["valueBoolean"] is False
    assert exported["bilateral_radicular_pain"]["valueCodeableConcept"]["coding"][0]["code"] == "finding-new"
    assert exported["leg_weakness"]["valueCodeableConcept"]["coding"][0]["code"] == "finding-stable"
    assert exported["trauma"]["valueCodeableConcept"]["coding"][0]["code"] == "trauma-minor"
    assert all("dataAbsentReason" not in finding for finding in exported.values())


ANSWERS: dict[str, st.SearchStrategy[Any]] = {
    field: st.sampled_from(["none", "new", "worsening", "chronic_stable"])
    for field in (
        "saddle_anaesthesia",
        "bladder_dysfunction",
        "bowel_dysfunction",
        "sexual_dysfunction",
        "bilateral_radicular_pain",
    )
}
ANSWERS["leg_weakness"] = st.sampled_from(["none", "new", "stable", "progressive"])
ANSWERS["trauma"] = st.sampled_from(["none", "minor", "major"])


@given(st.fixed_dictionaries({f: st.none() | ANSWERS.get(f, st.booleans()) for f in SCREENING_FIELDS}))
def test_every_screening_answer_round_trips_and_only_none_becomes_not_asked(answers: dict[str, Any]) -> None:
    exported = findings(export(a_visit(**answers)))
    for field, answer in answers.items():
        finding = exported[field]
        if answer is None:
            assert finding["dataAbsentReason"]["coding"][0]["code"] == "not-asked"
        elif isinstance(answer, bool):
            assert finding["valueBoolean"] is answer
        else:
            assert finding["valueCodeableConcept"]["coding"][0]["code"].endswith(answer.replace("_", "-"))


def test_a_flag_is_exported_for_each_open_escalation_only() -> None:
    escalations = [
        an_escalation("RF_CES"),
        an_escalation("RF_AAA", status="closed"),
        an_escalation("RF_FRACTURE", archived=True),
        an_escalation("RF_INFECTION", opened_at=dt.datetime(2025, 2, 3, 11, 0)),  # naive: stored UTC
    ]
    bundle = export(a_visit(), escalations=escalations)
    flags = resources(bundle, "Flag")
    assert [f["code"]["coding"][0]["code"] for f in flags] == ["RF_CES", "RF_INFECTION"]
    assert [f["period"]["start"] for f in flags] == ["2025-02-03T09:30:00+00:00", "2025-02-03T11:00:00+00:00"]
    for flag in flags:
        assert flag["status"] == "active"
        assert flag["code"]["coding"][0]["system"] == LOCAL
        assert by_url(bundle, flag["subject"])["resourceType"] == "Patient"


def test_no_open_escalation_means_no_flag() -> None:
    assert resources(export(a_visit(), escalations=[an_escalation(status="closed")]), "Flag") == []


def test_an_escalation_of_another_patient_is_refused() -> None:
    with pytest.raises(ValueError, match="another patient"):
        patient_bundle(a_patient(), [a_visit()], escalations=[an_escalation(patient_id="patient-2")])


def test_a_screening_becomes_a_decision_support_observation_of_its_visit() -> None:
    bundle = export(
        a_visit(3), a_visit(10, archived=True), screenings=[a_screening("visit-3"), a_screening("visit-10")]
    )
    screening = observation_of(bundle, "redflag-screening")
    assert screening["valueCodeableConcept"]["coding"][0]["code"] == "urgency-emergency"
    assert component(screening, "RF_CES")["valueCodeableConcept"]["coding"][0]["code"] == "urgency-emergency"
    assert screening["method"]["text"] == "Stride red-flag rules 2025.1"
    assert len(screening["derivedFrom"]) == len(SCREENING_FIELDS)


def test_a_screening_where_no_rule_fired_reads_no_rule_fired() -> None:
    bundle = export(a_visit(), screenings=[a_screening(urgency="NONE", flags=[])])
    value = observation_of(bundle, "redflag-screening")["valueCodeableConcept"]["coding"][0]
    assert value["display"] == "No rule fired"
    assert "safe" not in json.dumps(bundle).lower()


# --- the code module -----------------------------------------------------------------------------


def test_every_screening_field_has_exactly_one_local_code() -> None:
    assert list(codes.SCREENING_CODES) == list(SCREENING_FIELDS)


def test_every_red_flag_rule_has_a_local_code() -> None:
    assert {rule.rule_id for rule in RULES} == set(codes.RULE_CODES)


def test_local_codes_are_unique_and_have_displays() -> None:
    local = codes.local_codes()
    assert len({c.code for c in local}) == len(local)
    assert all(c.display.strip() for c in local)


def test_the_local_code_system_is_valid_and_defines_every_local_code_the_bundle_uses() -> None:
    system = local_codesystem()
    CodeSystem.model_validate(system)
    defined = {concept["code"]: concept["display"] for concept in system["concept"]}
    screening = a_screening("visit-3")
    bundle = export(
        a_full_visit(3),
        a_full_visit(10, walk_protocol="reported"),
        screenings=[screening],
        patient_reports=[a_patient_report()],
        diary=DIARY_WALKS,
    )
    used = [c for c in _codings(bundle) if c["system"] == LOCAL]
    assert used
    for coding in used:
        assert defined[coding["code"]] == coding["display"]


def test_standard_codings_use_the_canonical_system_uris() -> None:
    systems = {c["system"] for c in _codings(export(a_full_visit(), escalations=[an_escalation()]))}
    assert systems - {LOCAL} <= {
        "http://loinc.org",
        "http://snomed.info/sct",
        "http://unitsofmeasure.org",
        "http://terminology.hl7.org/CodeSystem/observation-category",
        "http://terminology.hl7.org/CodeSystem/risk-probability",
        "http://terminology.hl7.org/CodeSystem/v3-ActCode",
        "http://terminology.hl7.org/CodeSystem/data-absent-reason",
        "http://terminology.hl7.org/CodeSystem/condition-clinical",
    }


EXPORT_MODULES = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "dashboard").glob("fhir*.py"))


def test_the_import_rule_sees_every_export_module() -> None:
    assert {"dashboard/fhir.py", "dashboard/fhir_bundle.py", "dashboard/fhir_visit.py"} <= set(EXPORT_MODULES)


@pytest.mark.parametrize("module", EXPORT_MODULES)
def test_the_export_modules_import_only_the_standard_library_pydantic_and_dashboard(module: str) -> None:
    tree = ast.parse((ROOT / module).read_text(encoding="utf-8"))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not any(name.startswith("fhir") for name in imported)
    assert all(
        name.split(".")[0]
        in {"__future__", "base64", "dataclasses", "typing", "datetime", "uuid", "collections", "dashboard"}
        for name in imported
    )


# --- property: any visit history exports a valid, stable bundle ----------------------------------

VISIT_VALUES = st.fixed_dictionaries(
    {},
    optional={
        "pain_nrs": st.integers(0, 10),
        "pain_worst_nrs": st.integers(0, 10),
        "odi_sections": st.lists(st.none() | st.integers(0, 5), min_size=10, max_size=10),
        "rmdq_items": st.lists(st.booleans(), min_size=24, max_size=24),
        "startback": st.dictionaries(
            st.sampled_from([f"q{i}" for i in range(1, 9)]), st.sampled_from(["agree", "disagree"])
        ),
        "temperature_c": st.floats(30, 45),
        "leg_weakness_mrc": st.integers(0, 5),
        "walk_protocol": st.sampled_from(["spwt", "treadmill_1_2mph", "6mwt", "reported"]),
        "walk_total_m": st.floats(0, 3000),
        "walk_stop_reason": st.sampled_from(["symptoms", "fatigue", "time_cap", "other"]),
        "fever": st.booleans(),
        "trauma": st.sampled_from(["none", "minor", "major"]),
    },
)


@given(st.lists(VISIT_VALUES, min_size=1, max_size=4), st.booleans())
def test_any_visit_history_exports_a_valid_and_repeatable_bundle(
    histories: list[dict[str, Any]], names: bool
) -> None:
    values = [
        v if v.get("walk_protocol") or "walk_total_m" not in v else {**v, "walk_protocol": "spwt"}
        for v in histories
    ]
    visits = [a_visit(day, **v) for day, v in enumerate(values, start=3)]
    bundle = export(*visits, include_names=names)
    assert json.dumps(bundle) == json.dumps(patient_bundle(a_patient(), visits, include_names=names))
    assert len(resources(bundle, "Encounter")) == len(visits)
    assert ("Zoë" in json.dumps(bundle, ensure_ascii=False)) is names


def test_an_episode_of_care_holds_every_encounter_and_its_period_ends_at_discharge() -> None:
    bundle = validated(
        patient_bundle(a_patient(), [a_full_visit(3), a_full_visit(17)], episode=DISCHARGED_EPISODE)
    )
    (episode,) = [e for e in bundle["entry"] if e["resource"]["resourceType"] == "EpisodeOfCare"]
    resource = episode["resource"]
    assert resource["status"] == "finished"
    assert resource["period"] == {"start": "2025-03-01", "end": "2025-04-30"}
    encounters = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Encounter"]
    assert len(encounters) == 2
    assert all(enc["episodeOfCare"] == [{"reference": episode["fullUrl"]}] for enc in encounters)
    open_bundle = validated(
        patient_bundle(a_patient(), [a_full_visit(3)], episode=make_episode(patient_id="patient-1"))
    )
    assert [
        e["resource"]["status"]
        for e in open_bundle["entry"]
        if e["resource"]["resourceType"] == "EpisodeOfCare"
    ] == ["active"]


def test_the_episodes_care_manager_is_the_treating_clinician_as_a_practitioner() -> None:
    lead = CareManager("user-7", "Sam Physio")
    bundle = validated(
        patient_bundle(a_patient(), [a_full_visit(3)], episode=DISCHARGED_EPISODE, care_manager=lead)
    )
    (practitioner,) = resources(bundle, "Practitioner")
    assert practitioner["name"] == [{"text": "Sam Physio"}]
    assert practitioner["identifier"][0]["value"] == "user-7"
    (episode,) = resources(bundle, "EpisodeOfCare")
    url = next(e["fullUrl"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Practitioner")
    assert episode["careManager"] == {"reference": url, "display": "Sam Physio"}
    without = patient_bundle(a_patient(), [a_full_visit(3)], episode=DISCHARGED_EPISODE)
    assert (
        resources(without, "Practitioner") == []
        and "careManager" not in resources(without, "EpisodeOfCare")[0]
    )


def a_letter(episode_id: str | None = "episode-1") -> Letter:
    pdf = b"%PDF-1.7 a letter as given"
    return Letter(
        id="letter-1",
        patient_id="patient-1",
        episode_id=episode_id,
        kind="discharge_summary",
        recipient="gp",
        recorded_at=dt.datetime(2025, 4, 30, 15, 0, tzinfo=dt.UTC),
        recorded_by="user-1",
        sha256=hashlib.sha256(pdf).hexdigest(),
        pdf=pdf,
        content={},
    )


def test_a_letter_is_a_document_reference_holding_the_pdf_as_given() -> None:
    letter = a_letter()
    bundle = validated(
        patient_bundle(a_patient(), [a_full_visit(3)], episode=DISCHARGED_EPISODE, letters=[letter])
    )
    (document,) = [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "DocumentReference"
    ]
    (episode,) = [e for e in bundle["entry"] if e["resource"]["resourceType"] == "EpisodeOfCare"]
    attachment = document["content"][0]["attachment"]
    assert base64.b64decode(attachment["data"]) == letter.pdf
    assert attachment["contentType"] == "application/pdf"
    assert document["identifier"][0]["value"] == letter.sha256
    assert document["type"]["text"] == "Discharge summary"
    assert document["context"]["related"] == [{"reference": episode["fullUrl"]}]


def test_another_patients_letter_is_refused_in_a_bundle() -> None:
    stranger = replace(a_letter(), patient_id="patient-2")
    with pytest.raises(ValueError, match="letters"):
        patient_bundle(a_patient(), [], letters=[stranger])
