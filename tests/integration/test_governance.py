"""Clinical governance: licensed instruments are gated, rule sets are signed off, retention is listed."""

import datetime as dt

import pytest

from dashboard import governance, services
from dashboard.ports import InvalidInputError, PermissionDeniedError
from data.demo import generate
from tests.factories import PATIENT_DEFAULTS

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
