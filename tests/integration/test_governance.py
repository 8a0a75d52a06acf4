"""Clinical governance: licensed instruments are gated, rule sets are signed off, retention is listed."""

import datetime as dt
import json

import pytest

from dashboard import governance, services
from dashboard.ports import InvalidInputError, PermissionDeniedError
from data.demo import generate
from tests.factories import PATIENT_DEFAULTS, placeholder_wording, placeholder_wording_file
from tests.integration.support import WordingUpload

ODI_ALL_TWOS = [2] * 10


def make_user(store, role: str):
    return services.create_user(
        store, None, username=f"{role}.user", display_name=f"A {role}", role=role, password="long enough pw"
    )


def registered_patient(store, clinician):
    return services.register_patient(store, clinician, dict(PATIENT_DEFAULTS))


def test_an_unlicensed_instrument_is_refused_until_an_admin_records_the_licence(store):
    clinician, admin = make_user(store, "clinician"), make_user(store, "admin")
    patient = registered_patient(store, clinician)
    visit = {"visit_date": dt.date(2025, 2, 3), "pain_nrs": 5, "odi_sections": ODI_ALL_TWOS}
    with pytest.raises(InvalidInputError) as refused:
        services.record_visit(store, clinician, patient.id, visit)
    assert "odi_sections" in refused.value.errors
    with store.read() as tx:
        assert tx.visits(patient.id) == []

    governance.record_licence(store, admin, "odi", "Clinic licence MRT-0000 (fictional)")
    saved, _ = services.record_visit(store, clinician, patient.id, visit)
    assert saved.odi_sections == ODI_ALL_TWOS
    assert governance.enabled_instruments(store) == {"odi"}


def test_nprs_and_psfs_need_no_licence(store):
    clinician = make_user(store, "clinician")
    patient = registered_patient(store, clinician)
    visit = {"visit_date": dt.date(2025, 2, 3), "pain_nrs": 5, "psfs": [{"activity": "Walking", "score": 4}]}
    saved, _ = services.record_visit(store, clinician, patient.id, visit)
    assert saved.pain_nrs == 5


def test_a_demo_database_has_every_licensed_instrument_on(store):
    generate(store, patients=2, seed=1)
    assert governance.enabled_instruments(store) == set(governance.LICENSED_INSTRUMENTS)


def test_only_an_admin_records_a_licence_and_a_basis_is_required(store):
    clinician, admin = make_user(store, "clinician"), make_user(store, "admin")
    with pytest.raises(PermissionDeniedError):
        governance.record_licence(store, clinician, "odi", "ours")
    with pytest.raises(InvalidInputError):
        governance.record_licence(store, admin, "odi", "  ")
    assert governance.licence(store, "odi") is None


def test_a_rule_set_is_unapproved_until_an_admin_signs_it_off(store):
    admin = make_user(store, "admin")
    assert governance.rule_set_approval(store, "abc123") is None
    governance.approve_rule_set(store, admin, "abc123", "Reviewed the rule table and the hazard log")
    decision = governance.rule_set_approval(store, "abc123")
    assert decision is not None and decision.by == admin.id and decision.by_name == "A admin"
    assert governance.rule_set_approval(store, "other") is None
    with store.read() as tx:
        assert [e.action for e in tx.audit_entries(action="rules.approve")] == ["rules.approve"]


def test_records_past_the_retention_period_are_listed_not_deleted(store):
    clinician, admin = make_user(store, "clinician"), make_user(store, "admin")
    patient = registered_patient(store, clinician)
    services.record_visit(store, clinician, patient.id, {"visit_date": dt.date(2025, 2, 3), "pain_nrs": 4})
    assert governance.past_retention(store, admin, dt.date(2026, 1, 1)) == []
    governance.set_retention_years(store, admin, 1)
    listed = governance.past_retention(store, admin, dt.date(2026, 6, 1))
    assert [row["patient_id"] for row in listed] == [patient.id]
    with store.read() as tx:
        assert len(tx.visits(patient.id)) == 1


def test_a_handout_translation_awaits_review_until_an_admin_records_who_reviewed_it(store):
    admin, clinician = make_user(store, "admin"), make_user(store, "clinician")
    assert governance.translation_review(store, "ar", "c0ffee000000") is None
    with pytest.raises(PermissionDeniedError):
        governance.record_translation_review(store, clinician, "ar", "c0ffee000000", "Checked")
    with pytest.raises(InvalidInputError):
        governance.record_translation_review(store, admin, "ar", "c0ffee000000", "  ")
    governance.record_translation_review(
        store, admin, "ar", "c0ffee000000", "Read through by an Arabic-speaking physio"
    )
    decision = governance.translation_review(store, "ar", "c0ffee000000")
    assert decision is not None and decision.by == admin.id
    # A changed catalogue is a new version, which needs its own review.
    assert governance.translation_review(store, "ar", "0ther0000000") is None
    with store.read() as tx:
        assert [e.action for e in tx.audit_entries(action="translation.review")] == ["translation.review"]


# --- patient-completed use and the clinic's licensed wording (clinical-reference §12.1) -------------
def actions(store, prefix: str):
    with store.read() as tx:
        return [e for e in reversed(tx.audit_entries(limit=10_000)) if e.action.startswith(prefix)]


def test_patient_completed_use_and_wording_are_refused_until_the_licence_is_recorded(store):
    admin = make_user(store, "admin")
    with pytest.raises(InvalidInputError) as refused:
        governance.record_patient_use(store, admin, "odi", "Licence clause 4 (fictional)")
    assert "Record the clinic's licence" in refused.value.errors["patient_use"]
    upload = WordingUpload(placeholder_wording_file("odi"))
    with pytest.raises(InvalidInputError) as refused:
        governance.load_wording(store, admin, "odi", upload)
    assert "file" in refused.value.errors and not upload.read
    assert governance.patient_use(store, "odi") is None and governance.wording_digest(store, "odi") is None
    assert actions(store, "licence.patient_use") == [] and actions(store, "wording.") == []


def test_only_an_admin_decides_patient_completed_use_and_loads_wording(store):
    clinician, admin = make_user(store, "clinician"), make_user(store, "admin")
    governance.record_licence(store, admin, "odi", "Clinic licence MRT-0000 (fictional)")
    with pytest.raises(PermissionDeniedError):
        governance.record_patient_use(store, clinician, "odi", "ours")
    with pytest.raises(PermissionDeniedError):
        governance.load_wording(store, clinician, "odi", WordingUpload(placeholder_wording_file("odi")))
    with pytest.raises(InvalidInputError):
        governance.record_patient_use(store, admin, "odi", " ")


def test_an_admin_records_patient_completed_use_and_loads_the_wording_both_audited(store):
    admin = make_user(store, "admin")
    governance.record_licence(store, admin, "odi", "Clinic licence MRT-0000 (fictional)")
    assert governance.patient_instruments(store) == ()
    governance.record_patient_use(store, admin, "odi", "Licence clause 4 covers patient tablets (fictional)")
    digest = governance.load_wording(store, admin, "odi", WordingUpload(placeholder_wording_file("odi")))
    decision = governance.patient_use(store, "odi")
    assert decision is not None and decision.by == admin.id
    assert governance.wording_digest(store, "odi") == digest and len(digest) == 64
    (offered,) = governance.patient_instruments(store)
    assert offered.instrument == "odi" and offered.items[0].text == "Item 1 placeholder"
    (use,) = actions(store, "licence.patient_use")
    assert use.after == {"instrument": "odi"}
    (load,) = actions(store, "wording.load")
    assert load.after == {"instrument": "odi", "sha256": digest}
    assert "placeholder" not in repr(load)  # the hash, never the wording

    governance.withdraw_patient_use(store, admin, "odi", "Licence renewal pending")
    assert governance.patient_use(store, "odi") is None and governance.patient_instruments(store) == ()
    assert [e.action for e in actions(store, "licence.patient_use")][-1] == "licence.patient_use_withdraw"


def test_a_bad_wording_file_stores_nothing_and_an_oversized_one_is_not_even_read(store):
    admin = make_user(store, "admin")
    governance.record_licence(store, admin, "rmdq", "Roland & Fairbank 2000 appendix (fictional basis)")
    wording = placeholder_wording("rmdq")
    del wording["items"]["5"]["answers"]["yes"]
    with pytest.raises(InvalidInputError) as refused:
        governance.load_wording(store, admin, "rmdq", WordingUpload(json.dumps(wording).encode()))
    assert refused.value.errors == {"items.5.answers.yes": "Item 5, answer yes: the text is missing."}
    huge = WordingUpload(b"{}", size=300 * 1024)  # the size the upload declares
    with pytest.raises(InvalidInputError) as refused:
        governance.load_wording(store, admin, "rmdq", huge)
    assert "larger than 200 KB" in refused.value.errors["file"] and not huge.read
    assert governance.wording_digest(store, "rmdq") is None and actions(store, "wording.") == []
