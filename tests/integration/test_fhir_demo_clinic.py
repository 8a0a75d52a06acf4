"""Every patient of the fictional demo clinic exports as a valid FHIR R4 bundle with no names in it."""

import json

from dashboard import services
from dashboard.fhir import patient_bundle
from data.demo import generate
from tests.unit.test_fhir import validated


def test_every_demo_patient_exports_a_valid_bundle_without_names(store):
    generate(store, patients=24, seed=9)
    with store.read() as tx:
        admin = tx.get_user_by_username("demo.admin")
        ids = [row["patient_id"] for row in tx.caseload_rows()]
    assert len(ids) == 24
    for patient_id in ids:
        record = services.open_patient(store, admin, patient_id, audit=False)
        bundle = validated(
            patient_bundle(record.patient, record.visits, record.screenings, record.escalations)
        )
        text = json.dumps(bundle, ensure_ascii=False)
        assert record.patient.given_name not in text and record.patient.family_name not in text
        observations = [
            e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation"
        ]
        pain = [o["valueInteger"] for o in observations if o["code"]["coding"][0]["code"] == "72514-3"]
        assert pain == [v.pain_nrs for v in record.visits if v.pain_nrs is not None]
