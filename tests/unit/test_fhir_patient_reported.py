"""The patient's own voice in the FHIR R4 export: each check-in a QuestionnaireResponse and each
walking-diary entry an Observation, the patient their source (clinical-reference §12, §9)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from dashboard import patient_reported as pr
from dashboard.fhir import patient_bundle
from dashboard.fhir_patient_reported import PatientVoice, checkin_response, diary_observation
from dashboard.patient_reported import PatientReport, Problems
from tests.factories import make_diary_entry
from tests.unit.test_fhir import LOCAL, UCUM, a_full_visit, a_patient, resources, the, validated

SENT = dt.datetime(2025, 2, 10, 8, 15, 30, tzinfo=dt.UTC)
PATIENT_URL = "urn:uuid:00000000-0000-5000-8000-000000000001"
VOICE = PatientVoice(
    "patient-1", PATIENT_URL, LOCAL, "https://stride.example.org/fhir", lambda t, k: f"urn:{t}/{k}"
)


def a_report(**answers: str) -> PatientReport:
    """A check-in sent at 08:15 UTC on 2025-02-10 through the patient's form, with these answers."""
    form = {"pain_nrs": "4", "walk_onset_min": "3.5", "walk_total_min": "12", "walk_stop_reason": "symptoms"}
    parsed = pr.parse_checkin({**form, "psfs_0": "5", **answers}, ("Walking to the shop",))
    assert not isinstance(parsed, Problems)
    return PatientReport(
        "report-1", "invite-1", "patient-1", "episode-1", SENT, parsed.report_answers(), "NONE"
    )


def a_walk(**overrides: Any) -> pr.DiaryEntry:
    """A saved diary walk of the patient on 2025-02-12, recorded that evening."""
    values = {
        "id": "walk-1",
        "patient_id": "patient-1",
        "recorded_at": dt.datetime(2025, 2, 12, 19, tzinfo=dt.UTC),
    }
    return make_diary_entry(2, 5, start=dt.date(2025, 2, 10), **{**values, **overrides})


def items(response: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["linkId"]: item for item in response["item"]}


def answer(response: dict[str, Any], link_id: str) -> dict[str, Any]:
    (value,) = items(response)[link_id]["answer"]
    return value


def test_a_check_in_is_a_completed_questionnaire_response_whose_source_is_the_patient() -> None:
    url, response = checkin_response(a_report(), VOICE)
    assert url == "urn:QuestionnaireResponse/patient-report/report-1"
    assert response["resourceType"] == "QuestionnaireResponse" and response["status"] == "completed"
    assert response["subject"] == response["source"] == {"reference": PATIENT_URL}
    assert response["authored"] == "2025-02-10T08:15:30+00:00"
    assert response["questionnaire"] == "https://stride.example.org/fhir/Questionnaire/patient-checkin"


def test_the_link_ids_are_the_visit_fields_the_answers_map_onto() -> None:
    _, response = checkin_response(a_report(symptom_saddle="no", symptom_fever="yes"), VOICE)
    assert list(items(response)) == [
        "pain_nrs",
        "walk_protocol",
        "walk_onset_min",
        "walk_total_min",
        "walk_stop_reason",
        "psfs",
        "saddle_anaesthesia",
        "fever",
    ]


def test_each_answer_keeps_its_kind_numbers_codes_and_yes_or_no() -> None:
    _, response = checkin_response(
        a_report(symptom_saddle="no", symptom_weakness="yes", symptom_night="no"), VOICE
    )
    assert answer(response, "pain_nrs") == {"valueInteger": 4}
    assert answer(response, "walk_onset_min") == {"valueDecimal": 3.5}
    assert answer(response, "walk_stop_reason")["valueCoding"]["code"] == "walk-stop-symptoms"
    assert answer(response, "walk_protocol")["valueCoding"] == {
        "system": LOCAL,
        "code": "walk-reported",
        "display": "Patient-reported walking tolerance",
    }
    assert answer(response, "saddle_anaesthesia")["valueCoding"]["code"] == "finding-none"
    assert answer(response, "leg_weakness")["valueCoding"]["code"] == "finding-progressive"
    assert answer(response, "night_pain") == {"valueBoolean": False}


@pytest.mark.parametrize("question", ["bladder", "fever"])
def test_not_sure_stays_not_sure_never_a_no(question: str) -> None:
    _, response = checkin_response(a_report(**{f"symptom_{question}": "not_sure"}), VOICE)
    (field,) = pr.QUESTION_BY_ID[question].fields
    assert answer(response, field) == {"valueString": "not_sure"}


def test_psfs_ratings_are_grouped_by_activity_with_its_score() -> None:
    _, response = checkin_response(a_report(), VOICE)
    (activity,) = items(response)["psfs"]["item"]
    assert activity == {
        "linkId": "psfs-1",
        "item": [
            {"linkId": "psfs-1-activity", "answer": [{"valueString": "Walking to the shop"}]},
            {"linkId": "psfs-1-score", "answer": [{"valueInteger": 5}]},
        ],
    }


def test_a_diary_walk_is_an_activity_observation_on_its_date_performed_by_the_patient() -> None:
    url, walk = diary_observation(a_walk(pain_next_morning_nrs=3, symptom_onset_min=12.5), VOICE)
    assert url == "urn:Observation/diary-entry/walk-1"
    assert walk["code"]["coding"][0]["code"] == "walking-diary-entry"
    assert [c["coding"][0]["code"] for c in walk["category"]] == ["activity", "survey"]
    assert walk["effectiveDateTime"] == "2025-02-12" and walk["issued"] == "2025-02-12T19:00:00+00:00"
    assert walk["subject"] == {"reference": PATIENT_URL} and walk["performer"] == [{"reference": PATIENT_URL}]
    values = {
        c["code"]["coding"][0]["code"]: c.get("valueQuantity", c.get("valueInteger"))
        for c in walk["component"]
    }
    assert values == {
        "walk-total-time": {"value": 20, "unit": "min", "system": UCUM, "code": "min"},
        "walk-onset-time": {"value": 12.5, "unit": "min", "system": UCUM, "code": "min"},
        "diary-pain-before": 2,
        "diary-pain-during": 5,
        "diary-pain-next-morning": 3,
    }


def test_a_walk_without_symptoms_has_no_onset_time_and_no_next_morning_pain_until_given() -> None:
    _, walk = diary_observation(a_walk(), VOICE)
    codes = [c["code"]["coding"][0]["code"] for c in walk["component"]]
    assert "diary-pain-next-morning" not in codes
    (onset,) = [c for c in walk["component"] if c["code"]["coding"][0]["code"] == "walk-onset-time"]
    assert onset["dataAbsentReason"]["coding"][0]["code"] == "not-applicable" and "valueQuantity" not in onset


def test_another_patients_check_in_or_walk_is_refused() -> None:
    with pytest.raises(ValueError, match="another patient"):
        checkin_response(PatientReport("r", "i", "patient-2", None, SENT, {}, "NONE"), VOICE)
    with pytest.raises(ValueError, match="another patient"):
        diary_observation(a_walk(patient_id="patient-2"), VOICE)


def test_the_bundle_holds_the_check_ins_then_the_walks_as_valid_r4_resources() -> None:
    later = a_walk(id="walk-2", walk_date=dt.date(2025, 2, 14))
    bundle = validated(
        patient_bundle(a_patient(), [a_full_visit(3)], patient_reports=[a_report()], diary=[later, a_walk()])
    )
    response = the(resources(bundle, "QuestionnaireResponse")[-1:])
    patient = the(resources(bundle, "Patient"))
    assert response["source"]["reference"] == f"urn:uuid:{patient['id']}"
    walks = [
        o for o in resources(bundle, "Observation") if o["code"]["coding"][0]["code"] == "walking-diary-entry"
    ]
    assert [w["effectiveDateTime"] for w in walks] == ["2025-02-12", "2025-02-14"]
