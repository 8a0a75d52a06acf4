"""Use cases of dashboard.services against the real store, on SQLite and on PostgreSQL.

Every test gets a fresh database through the shared `store` fixture (tests/conftest.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from dashboard import auth, services
from dashboard.config import RuleSettings, Settings
from dashboard.models import BOOKKEEPING_FIELDS, Escalation, Patient, Visit
from dashboard.ports import (
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    StaleRecordError,
    User,
)
from data import demo
from data.store import open_store
from tests.integration.support import (
    PASSWORD,
    Team,
    as_database_owner,
    audit_rows,
    counts,
    license_all_instruments,
    make_team,
    make_user,
    patient_values,
    visit_values,
)

DAY1 = dt.date(2025, 2, 3)
DAY2 = dt.date(2025, 2, 10)
DAY3 = dt.date(2025, 2, 17)
DAY4 = dt.date(2025, 2, 24)


@pytest.fixture
def team(store: Any) -> Team:
    return make_team(store)


@pytest.fixture
def patient(store: Any, team: Team) -> Patient:
    return services.register_patient(store, team.clinician, patient_values())


def clinical(record: Any) -> dict[str, Any]:
    """A record's clinical content as Python values (sets stay sets, so order does not matter)."""
    return record.model_dump(exclude=set(BOOKKEEPING_FIELDS))


def escalations(store: Any, patient_id: str, rule_id: str | None = None) -> list[Escalation]:
    with store.read() as tx:
        found = tx.escalations(patient_id=patient_id)
    return [e for e in found if rule_id is None or e.rule_id == rule_id]


def actions_since(store: Any, seen: int) -> list[str]:
    return [row.action for row in audit_rows(store)[seen:]]


# --- opening the store ---------------------------------------------------------------------------


def test_a_fresh_database_gets_its_schema_when_the_store_opens_and_reopens(database_url: str) -> None:
    first = open_store(database_url)
    try:
        user = make_user(first, "first.admin", "admin")
    finally:
        first.close()
    again = open_store(database_url)  # already at head: nothing to migrate, data kept
    try:
        assert services.authenticate(again, "first.admin", PASSWORD).id == user.id
        assert again.verify_audit()[0]
    finally:
        again.close()


# --- patients and visits ------------------------------------------------------------------------


def test_a_registered_patient_opens_with_the_visit_and_screening_just_recorded(
    store: Any, team: Team
) -> None:
    registered = services.register_patient(store, team.clinician, patient_values())
    visit, screening = services.record_visit(
        store, team.clinician, registered.id or "", visit_values(pain_nrs=6)
    )

    record = services.open_patient(store, team.readonly, registered.id or "")

    assert clinical(record.patient) == clinical(registered)
    assert record.patient.clinician_id == team.clinician.id
    assert [v.id for v in record.visits] == [visit.id]
    assert record.visits[0].pain_nrs == 6
    assert record.latest_screening is not None
    assert record.latest_screening.id == screening.id
    assert record.latest_screening.visit_id == visit.id
    assert record.latest_screening.urgency == "NONE"
    assert record.escalations == []


def test_patients_are_found_by_name_or_reference_ignoring_case_and_accents(
    store: Any, team: Team, patient: Patient
) -> None:
    services.register_patient(store, team.clinician, patient_values(patient_ref="INT-0002", given_name="Ben"))

    assert [p.id for p in services.find_patients(store, team.readonly, "ZOE müller")] == [patient.id]
    assert [p.id for p in services.find_patients(store, team.readonly, "int-0001")] == [patient.id]
    assert len(services.find_patients(store, team.readonly, "muller")) == 2


def test_a_name_with_a_stroked_letter_is_found_without_the_stroke(
    store: Any, team: Team, patient: Patient
) -> None:
    assert [p.id for p in services.find_patients(store, team.readonly, "lukasz")] == [patient.id]


def test_a_visit_round_trips_through_the_store_unchanged(store: Any, team: Team, patient: Patient) -> None:
    values = visit_values(
        pain_nrs=6,
        pain_worst_nrs=8,
        odi_sections=[2, 3, None, 1, 2, 2, 3, None, 1, 0],
        rmdq_items=[i % 3 == 0 for i in range(24)],
        zcq_items={"q1": 3, "q7": 5, "q12": 2},
        startback={"q1": "agree", "q2": "disagree", "q9": "very_much"},
        psfs=[
            {"activity": "Walking to the bakery", "score": 4},
            {"activity": "Standing at the sink", "score": None},
        ],
        walk_protocol="spwt",
        walk_onset_min=4.5,
        walk_onset_m=290.0,
        walk_total_min=9.25,
        walk_total_m=612.5,
        walk_stop_reason="symptoms",
        leg_pain_on_walking=True,
        relief="sitting_or_flexion",
        symptom_location="buttock_thigh",
        shopping_cart_sign=True,
        triggered_by_standing_alone=True,
        pedal_pulses="normal",
        leg_weakness_mrc=5,
        temperature_c=36.8,
        posture_findings={"forward_lean"},
        footwear_findings={"worn_cushioning"},
        notes="Walks with a stick; «both legs» — 30 m to the café.\nSecond line.",
    )
    license_all_instruments(store, team.admin)

    saved, _ = services.record_visit(store, team.clinician, patient.id or "", values)
    with store.read() as tx:
        stored = tx.get_visit(saved.id or "")
        episode = tx.open_episode(patient.id or "")
    assert episode is not None  # the visit joins the patient's open episode of care (§11.1)
    expected = Visit.model_validate({**values, "patient_id": patient.id, "episode_id": episode.id})
    reopened = services.open_patient(store, team.clinician, patient.id or "").visits[0]

    assert stored is not None
    assert stored.clinical_dict() == saved.clinical_dict() == expected.clinical_dict()
    assert clinical(stored) == clinical(reopened) == clinical(expected)
    assert (stored.version, stored.recorded_by, stored.updated_by) == (
        1,
        team.clinician.id,
        team.clinician.id,
    )


def _years_ago(years: int, days: int = 0) -> dt.date:
    today = dt.date.today()
    return today.replace(year=today.year - years, day=min(today.day, 28)) + dt.timedelta(days=days)


BAD_VISITS = [
    pytest.param(
        # Two days ahead: the parameter is built at collection, and a run that passes midnight
        # must still find it in the future.
        {"visit_date": dt.date.today() + dt.timedelta(days=2)},
        "visit_date",
        id="future-visit-date",
    ),
    pytest.param({"visit_date": dt.date(2025, 1, 5)}, "visit_date", id="visit-before-onset"),
    pytest.param({"pain_nrs": 11}, "pain_nrs", id="nrs-11"),
    pytest.param(
        {"walk_protocol": "spwt", "walk_onset_min": 6.0, "walk_total_min": 4.0},
        "walk_total_min",
        id="total-below-onset",
    ),
    pytest.param({"walk_protocol": "spwt", "walk_total_min": 31.0}, "walk_total_min", id="spwt-over-30-min"),
]


@pytest.mark.parametrize(("bad", "field"), BAD_VISITS)
def test_an_invalid_visit_is_refused_naming_the_field_and_nothing_is_written(
    store: Any, team: Team, patient: Patient, bad: dict[str, Any], field: str
) -> None:
    before = counts(store, patient.id)

    with pytest.raises(InvalidInputError) as caught:
        services.record_visit(store, team.clinician, patient.id or "", visit_values(**bad))

    assert field in caught.value.errors
    assert caught.value.errors[field].strip()
    assert counts(store, patient.id) == before


def test_an_under_16_patient_is_refused_naming_the_birth_date_and_nothing_is_written(
    store: Any, team: Team
) -> None:
    before = counts(store)

    with pytest.raises(InvalidInputError) as caught:
        services.register_patient(store, team.clinician, patient_values(birth_date=_years_ago(15)))

    assert "16" in caught.value.errors["birth_date"]
    assert counts(store) == before


def test_a_patient_who_turns_16_today_can_be_registered(store: Any, team: Team) -> None:
    today = dt.date.today()
    if (today.month, today.day) == (2, 29):
        pytest.skip("no 16th birthday on 29 February in most years")
    born = today.replace(year=today.year - 16)
    saved = services.register_patient(
        store, team.clinician, patient_values(birth_date=born, symptom_onset=today - dt.timedelta(days=30))
    )
    assert saved.age_years(today) == 16


def test_a_duplicate_patient_reference_is_refused_with_a_field_message(
    store: Any, team: Team, patient: Patient
) -> None:
    before = counts(store)

    with pytest.raises(InvalidInputError) as caught:
        services.register_patient(
            store, team.colleague, patient_values(given_name="Other", family_name="Person")
        )

    assert "already exists" in caught.value.errors["patient_ref"]
    assert counts(store) == before


def test_an_infinite_walking_distance_is_refused_as_invalid_input(
    store: Any, team: Team, patient: Patient
) -> None:
    before = counts(store, patient.id)
    with pytest.raises(InvalidInputError) as caught:
        services.record_visit(
            store,
            team.clinician,
            patient.id or "",
            visit_values(walk_protocol="reported", walk_total_m=float("inf")),
        )
    assert "walk_total_m" in caught.value.errors
    assert counts(store, patient.id) == before


# --- the scene used by the permission and audit tables -------------------------------------------


@dataclass
class Scene:
    """A patient with a clean visit (DAY1) and a later one with new saddle numbness (DAY2)."""

    store: Any
    team: Team
    patient: Patient
    clean_visit: Visit
    flagged_visit: Visit
    escalation: Escalation


def make_scene(store: Any) -> Scene:
    team = make_team(store)
    patient = services.register_patient(store, team.clinician, patient_values())
    clean, _ = services.record_visit(store, team.clinician, patient.id or "", visit_values(DAY1, pain_nrs=5))
    flagged, _ = services.record_visit(
        store, team.clinician, patient.id or "", visit_values(DAY2, saddle_anaesthesia="new")
    )
    (escalation,) = escalations(store, patient.id or "", "RF_CES")
    return Scene(store, team, patient, clean, flagged, escalation)


@pytest.fixture
def scene(store: Any) -> Scene:
    return make_scene(store)


Call = Callable[[Scene, User], object]

WRITES: dict[str, Call] = {
    "register_patient": lambda s, u: services.register_patient(
        s.store, u, patient_values(patient_ref="INT-0099")
    ),
    "update_patient": lambda s, u: services.update_patient(
        s.store,
        u,
        s.patient.id or "",
        {"next_review_date": dt.date(2025, 3, 3)},
        expected_version=s.patient.version,
        reason="Review booked",
    ),
    "archive_patient": lambda s, u: services.set_patient_archived(
        s.store, u, s.patient.id or "", archived=True, reason="Discharged"
    ),
    "record_visit": lambda s, u: services.record_visit(s.store, u, s.patient.id or "", visit_values(DAY3)),
    "correct_visit": lambda s, u: services.correct_visit(
        s.store,
        u,
        s.clean_visit.id or "",
        {"pain_nrs": 4},
        expected_version=s.clean_visit.version,
        reason="Typo",
    ),
    "archive_visit": lambda s, u: services.set_visit_archived(
        s.store, u, s.clean_visit.id or "", archived=True, reason="Wrong patient"
    ),
    "rescreen_patient": lambda s, u: services.rescreen_patient(s.store, u, s.patient.id or ""),
    "close_escalation": lambda s, u: services.close_escalation(
        s.store,
        u,
        s.escalation.id or "",
        action="sent_to_ed",
        detail="",
        expected_version=s.escalation.version,
    ),
    "record_handout": lambda s, u: services.record_handout(
        s.store,
        u,
        s.patient.id or "",
        pdf=b"%PDF-1.7 test",
        plan={"items": []},
        rule_set_version="r1",
        library_version="l1",
    ),
    "export_patient": lambda s, u: services.record_export(s.store, u, "fhir", patient_id=s.patient.id),
    "export_clinic": lambda s, u: services.record_export(s.store, u, "clinic"),
    "create_user": lambda s, u: services.create_user(
        s.store, u, username="newcomer", display_name="New Comer", role="clinician", password=PASSWORD
    ),
    "admin_update_user": lambda s, u: services.admin_update_user(
        s.store, u, s.team.colleague.id, active=False
    ),
}


@pytest.mark.parametrize("name", list(WRITES))
def test_a_read_only_user_cannot_write(scene: Scene, name: str) -> None:
    before = counts(scene.store, scene.patient.id)

    with pytest.raises(PermissionDeniedError):
        WRITES[name](scene, scene.team.readonly)

    assert counts(scene.store, scene.patient.id) == before


@pytest.mark.parametrize("name", ["create_user", "admin_update_user", "export_clinic"])
def test_a_clinician_cannot_do_what_only_an_admin_may(scene: Scene, name: str) -> None:
    before = counts(scene.store, scene.patient.id)
    with pytest.raises(PermissionDeniedError):
        WRITES[name](scene, scene.team.clinician)
    assert counts(scene.store, scene.patient.id) == before


def test_a_deactivated_clinician_cannot_write(scene: Scene) -> None:
    services.admin_update_user(scene.store, scene.team.admin, scene.team.colleague.id, active=False)
    with scene.store.read() as tx:
        deactivated = tx.get_user(scene.team.colleague.id)
    assert deactivated is not None
    with pytest.raises(PermissionDeniedError):
        WRITES["record_visit"](scene, deactivated)


# --- the audit trail: one entry per change -------------------------------------------------------

AUDITED: list[Any] = [
    pytest.param("clinician", WRITES["register_patient"], "patient.create", id="register_patient"),
    pytest.param("clinician", WRITES["update_patient"], "patient.update", id="update_patient"),
    pytest.param("clinician", WRITES["archive_patient"], "patient.archive", id="archive_patient"),
    pytest.param(
        "clinician",
        lambda s, u: services.set_patient_archived(
            s.store, u, s.patient.id or "", archived=False, reason="Back for more care"
        ),
        "patient.restore",
        id="restore_patient",
    ),
    pytest.param(
        "readonly",
        lambda s, u: services.open_patient(s.store, u, s.patient.id or ""),
        "patient.open",
        id="open_patient",
    ),
    pytest.param("clinician", WRITES["record_visit"], "visit.create", id="record_visit"),
    pytest.param("clinician", WRITES["correct_visit"], "visit.correct", id="correct_visit"),
    pytest.param("clinician", WRITES["archive_visit"], "visit.archive", id="archive_visit"),
    pytest.param(
        "clinician",
        lambda s, u: services.set_visit_archived(
            s.store, u, s.clean_visit.id or "", archived=False, reason="Archived by mistake"
        ),
        "visit.restore",
        id="restore_visit",
    ),
    pytest.param("clinician", WRITES["rescreen_patient"], "patient.rescreen", id="rescreen_patient"),
    pytest.param("clinician", WRITES["close_escalation"], "escalation.close", id="close_escalation"),
    pytest.param("clinician", WRITES["record_handout"], "handout.give", id="record_handout"),
    pytest.param("clinician", WRITES["export_patient"], "export.fhir", id="export_patient"),
    pytest.param("admin", WRITES["export_clinic"], "export.clinic", id="export_clinic"),
    pytest.param("admin", WRITES["create_user"], "user.create", id="create_user"),
    pytest.param("admin", WRITES["admin_update_user"], "user.update", id="admin_update_user"),
    pytest.param(
        "clinician",
        lambda s, u: services.change_password(s.store, u, current=PASSWORD, new="a-brand-new-secret"),
        "user.password_change",
        id="change_password",
    ),
    pytest.param(
        "clinician",
        lambda s, u: services.authenticate(s.store, u.username, PASSWORD),
        "login",
        id="login",
    ),
    pytest.param(
        "clinician",
        lambda s, u: pytest.raises(PermissionDeniedError, services.authenticate, s.store, u.username, "nope"),
        "login.failed",
        id="login_failed",
    ),
    pytest.param(
        "clinician", lambda s, u: services.logout(s.store, u, reason="timeout"), "logout", id="logout"
    ),
]


@pytest.mark.parametrize(("role", "call", "action"), AUDITED)
def test_every_service_that_writes_leaves_exactly_one_audit_entry_of_its_action(
    scene: Scene, role: str, call: Call, action: str
) -> None:
    if action == "patient.restore":
        services.set_patient_archived(
            scene.store, scene.team.clinician, scene.patient.id or "", archived=True, reason="Discharged"
        )
    if action == "visit.restore":
        services.set_visit_archived(
            scene.store,
            scene.team.clinician,
            scene.clean_visit.id or "",
            archived=True,
            reason="Wrong patient",
        )
    actor = getattr(scene.team, role)
    seen = len(audit_rows(scene.store))

    call(scene, actor)

    new = audit_rows(scene.store)[seen:]
    assert [row.action for row in new] == [action]
    assert new[0].user_id == actor.id
    if action.startswith(("patient.", "visit.", "escalation.", "handout.")) or action == "export.fhir":
        assert new[0].patient_id == scene.patient.id or action == "patient.create"


def test_a_visit_that_opens_an_escalation_audits_the_visit_and_the_escalation(
    store: Any, team: Team, patient: Patient
) -> None:
    seen = len(audit_rows(store))
    services.record_visit(store, team.clinician, patient.id or "", visit_values(saddle_anaesthesia="new"))
    assert actions_since(store, seen) == ["visit.create", "escalation.open"]


def test_opening_a_patient_is_audited_with_who_and_which_patient(
    store: Any, team: Team, patient: Patient
) -> None:
    seen = len(audit_rows(store))

    services.open_patient(store, team.readonly, patient.id or "")
    services.open_patient(store, team.readonly, patient.id or "", audit=False)

    new = audit_rows(store)[seen:]
    assert [(r.action, r.user_id, r.patient_id, r.entity_id) for r in new] == [
        ("patient.open", team.readonly.id, patient.id, patient.id)
    ]


# --- corrections, revisions and concurrent edits -------------------------------------------------


def test_a_correction_keeps_a_revision_with_before_after_who_and_why(
    store: Any, team: Team, patient: Patient
) -> None:
    visit, _ = services.record_visit(store, team.clinician, patient.id or "", visit_values(pain_nrs=6))

    corrected, _ = services.correct_visit(
        store,
        team.colleague,
        visit.id or "",
        {"pain_nrs": 4},
        expected_version=1,
        reason="Typo: she said four",
    )

    history = services.visit_history(store, team.readonly, visit.id or "")
    assert corrected.version == 2
    assert len(history) == 1
    revision = history[0]
    assert (revision.before, revision.after) == ({"pain_nrs": 6}, {"pain_nrs": 4})
    assert (revision.reason, revision.changed_by, revision.version) == (
        "Typo: she said four",
        team.colleague.id,
        2,
    )
    with store.read() as tx:
        stored = tx.get_visit(visit.id or "")
    assert stored is not None
    assert (stored.pain_nrs, stored.version, stored.updated_by) == (4, 2, team.colleague.id)
    assert stored.recorded_by == team.clinician.id


def test_a_correction_without_a_reason_is_refused_and_nothing_is_written(
    store: Any, team: Team, patient: Patient
) -> None:
    visit, _ = services.record_visit(store, team.clinician, patient.id or "", visit_values(pain_nrs=6))
    before = counts(store, patient.id)

    with pytest.raises(InvalidInputError) as caught:
        services.correct_visit(
            store, team.clinician, visit.id or "", {"pain_nrs": 4}, expected_version=1, reason=" "
        )

    assert "reason" in caught.value.errors
    assert counts(store, patient.id) == before
    assert services.visit_history(store, team.clinician, visit.id or "") == []
    with store.read() as tx:
        stored = tx.get_visit(visit.id or "")
    assert stored is not None
    assert (stored.pain_nrs, stored.version) == (6, 1)


def test_correcting_or_archiving_an_unknown_visit_is_refused_and_nothing_is_written(
    store: Any, team: Team, patient: Patient
) -> None:
    services.record_visit(store, team.clinician, patient.id or "", visit_values(pain_nrs=6))
    before = counts(store, patient.id)

    with pytest.raises(NotFoundError, match="Visit not found"):
        services.correct_visit(
            store, team.clinician, "no-such-visit", {"pain_nrs": 4}, expected_version=1, reason="Typo"
        )
    with pytest.raises(NotFoundError, match="Visit not found"):
        services.set_visit_archived(store, team.clinician, "no-such-visit", archived=True, reason="Duplicate")

    assert counts(store, patient.id) == before


def test_a_stale_correction_is_refused_and_names_who_changed_the_visit(
    store: Any, team: Team, patient: Patient
) -> None:
    visit, _ = services.record_visit(store, team.clinician, patient.id or "", visit_values(pain_nrs=6))
    # Two sessions open version 1; Carla saves first.
    carla_copy = bob_copy = visit.version
    services.correct_visit(
        store,
        team.clinician,
        visit.id or "",
        {"pain_nrs": 5},
        expected_version=carla_copy,
        reason="Rechecked",
    )
    before = counts(store, patient.id)

    with pytest.raises(StaleRecordError) as caught:
        services.correct_visit(
            store, team.colleague, visit.id or "", {"pain_nrs": 3}, expected_version=bob_copy, reason="Mine"
        )

    assert "Carla Clinician" in str(caught.value)
    assert caught.value.changed_by == "Carla Clinician"
    assert counts(store, patient.id) == before
    with store.read() as tx:
        stored = tx.get_visit(visit.id or "")
    assert stored is not None
    assert (stored.pain_nrs, stored.version) == (5, 2)
    assert len(services.visit_history(store, team.readonly, visit.id or "")) == 1


def test_a_stale_patient_edit_is_refused_and_names_who_changed_the_patient(
    store: Any, team: Team, patient: Patient
) -> None:
    services.update_patient(
        store, team.colleague, patient.id or "", {"smoker": True}, expected_version=1, reason="Asked again"
    )
    before = counts(store, patient.id)

    with pytest.raises(StaleRecordError) as caught:
        services.update_patient(
            store, team.clinician, patient.id or "", {"sex": "X"}, expected_version=1, reason="Corrected"
        )

    assert "Bob Colleague" in str(caught.value)
    assert counts(store, patient.id) == before
    with store.read() as tx:
        stored = tx.get_patient(patient.id or "")
    assert stored is not None
    assert (stored.sex, stored.smoker, stored.version) == ("F", True, 2)


def test_a_correction_into_the_future_or_before_onset_is_refused_and_nothing_is_written(scene: Scene) -> None:
    before = counts(scene.store, scene.patient.id)
    for bad_day in (dt.date.today() + dt.timedelta(days=1), dt.date(2025, 1, 1)):
        with pytest.raises(InvalidInputError) as caught:
            services.correct_visit(
                scene.store,
                scene.team.clinician,
                scene.clean_visit.id or "",
                {"visit_date": bad_day},
                expected_version=1,
                reason="Date fixed",
            )
        assert "visit_date" in caught.value.errors
    assert counts(scene.store, scene.patient.id) == before
    assert services.visit_history(scene.store, scene.team.clinician, scene.clean_visit.id or "") == []


def test_moving_symptom_onset_after_the_first_visit_is_refused(
    store: Any, team: Team, patient: Patient
) -> None:
    services.record_visit(store, team.clinician, patient.id or "", visit_values(DAY1))
    before = counts(store, patient.id)

    with pytest.raises(InvalidInputError) as caught:
        services.update_patient(
            store,
            team.clinician,
            patient.id or "",
            {"symptom_onset": DAY1 + dt.timedelta(days=1)},
            expected_version=1,
            reason="Onset recalled",
        )

    assert "symptom_onset" in caught.value.errors
    assert counts(store, patient.id) == before
    assert services.patient_history(store, team.clinician, patient.id or "") == []


def test_an_archived_patient_takes_no_new_visit_and_leaves_the_flag_queue(scene: Scene) -> None:
    services.set_patient_archived(
        scene.store, scene.team.clinician, scene.patient.id or "", archived=True, reason="Discharged"
    )
    before = counts(scene.store, scene.patient.id)

    with pytest.raises(NotFoundError):
        services.record_visit(scene.store, scene.team.clinician, scene.patient.id or "", visit_values(DAY3))

    assert counts(scene.store, scene.patient.id) == before
    assert services.open_escalations(scene.store, scene.team.readonly) == []
    assert services.find_patients(scene.store, scene.team.readonly, "zoe") == []
    assert len(services.find_patients(scene.store, scene.team.readonly, "zoe", include_archived=True)) == 1


def test_closing_an_escalation_from_a_stale_copy_is_refused(scene: Scene) -> None:
    # A later screening updates the open escalation (new last_screening_id), so the copy is out of date.
    services.rescreen_patient(scene.store, scene.team.colleague, scene.patient.id or "")
    (current,) = escalations(scene.store, scene.patient.id or "", "RF_CES")
    assert current.version > scene.escalation.version
    before = counts(scene.store, scene.patient.id)

    with pytest.raises(StaleRecordError):
        services.close_escalation(
            scene.store,
            scene.team.clinician,
            scene.escalation.id or "",
            action="sent_to_ed",
            detail="",
            expected_version=scene.escalation.version,
        )

    assert counts(scene.store, scene.patient.id) == before
    (still,) = escalations(scene.store, scene.patient.id or "", "RF_CES")
    assert still.status == "open"


# --- escalations ---------------------------------------------------------------------------------


def test_new_saddle_numbness_opens_one_emergency_ces_escalation(
    store: Any, team: Team, patient: Patient
) -> None:
    _, screening = services.record_visit(
        store, team.clinician, patient.id or "", visit_values(DAY1, saddle_anaesthesia="new")
    )

    (escalation,) = escalations(store, patient.id or "")
    assert screening.urgency == "EMERGENCY"
    assert (escalation.rule_id, escalation.tier, escalation.status) == ("RF_CES", "EMERGENCY", "open")
    assert "saddle anaesthesia: new" in escalation.reason
    assert escalation.last_screening_id == screening.id
    queue = services.open_escalations(store, team.readonly)
    assert [(e.id, p.id) for e, p in queue] == [(escalation.id, patient.id)]


def test_a_second_visit_with_the_same_finding_does_not_duplicate_the_escalation(
    store: Any, team: Team, patient: Patient
) -> None:
    for day in (DAY1, DAY2):
        services.record_visit(
            store, team.clinician, patient.id or "", visit_values(day, saddle_anaesthesia="new")
        )

    open_ces = [e for e in escalations(store, patient.id or "", "RF_CES") if e.status == "open"]
    assert len(open_ces) == 1
    assert len(escalations(store, patient.id or "", "RF_CES")) == 1
    assert [r.action for r in audit_rows(store)].count("escalation.open") == 1


def test_an_open_escalation_takes_the_latest_screenings_evidence_and_keeps_who_opened_it(
    store: Any, team: Team, patient: Patient
) -> None:
    pid = patient.id or ""
    services.record_visit(store, team.clinician, pid, visit_values(DAY1, saddle_anaesthesia="new"))
    _, later = services.record_visit(
        store, team.colleague, pid, visit_values(DAY2, saddle_anaesthesia="new", bladder_dysfunction="new")
    )

    (escalation,) = escalations(store, pid, "RF_CES")
    (flag,) = [f for f in later.flags if f.rule_id == "RF_CES"]
    assert "bladder" in flag.reason
    assert (escalation.reason, escalation.action, escalation.timeframe) == (
        flag.reason,
        flag.action,
        flag.timeframe,
    )
    assert (escalation.last_screening_id, escalation.tier, escalation.status) == (
        later.id,
        "EMERGENCY",
        "open",
    )
    assert (escalation.recorded_by, escalation.updated_by) == (team.clinician.id, team.colleague.id)


@pytest.mark.parametrize(
    ("action", "detail", "field"),
    [
        pytest.param("", "Sent in", "close_action", id="no-action"),
        pytest.param("made_up", "Sent in", "close_action", id="unknown-action"),
        pytest.param("not_indicated", "   ", "close_detail", id="no-reason-text"),
        pytest.param("already_under_care", "", "close_detail", id="no-reference"),
        pytest.param("other", "", "close_detail", id="no-description"),
    ],
)
def test_an_escalation_is_not_closed_without_the_action_and_its_required_text(
    scene: Scene, action: str, detail: str, field: str
) -> None:
    before = counts(scene.store, scene.patient.id)

    with pytest.raises(InvalidInputError) as caught:
        services.close_escalation(
            scene.store,
            scene.team.clinician,
            scene.escalation.id or "",
            action=action,
            detail=detail,
            expected_version=scene.escalation.version,
        )

    assert field in caught.value.errors
    assert counts(scene.store, scene.patient.id) == before
    (still,) = escalations(scene.store, scene.patient.id or "", "RF_CES")
    assert (still.status, still.closed_at, still.closed_by) == ("open", None, None)


def test_closing_an_escalation_stores_who_when_and_the_action_taken(scene: Scene) -> None:
    start = dt.datetime.now(dt.UTC)

    services.close_escalation(
        scene.store,
        scene.team.colleague,
        scene.escalation.id or "",
        action="already_under_care",
        detail="Seen in ED yesterday, ref ED-123",
        expected_version=scene.escalation.version,
    )

    (closed,) = escalations(scene.store, scene.patient.id or "", "RF_CES")
    assert closed.status == "closed"
    assert closed.closed_by == scene.team.colleague.id
    assert closed.closed_at is not None
    assert (
        start - dt.timedelta(seconds=1)
        <= closed.closed_at
        <= dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    )
    assert (closed.close_action, closed.close_detail) == (
        "already_under_care",
        "Seen in ED yesterday, ref ED-123",
    )
    assert services.open_escalations(scene.store, scene.team.readonly) == []
    last = audit_rows(scene.store)[-1]
    assert (last.action, last.user_id, last.entity_id) == (
        "escalation.close",
        scene.team.colleague.id,
        closed.id,
    )


def test_a_closed_escalation_is_not_closed_twice(scene: Scene) -> None:
    closed = services.close_escalation(
        scene.store,
        scene.team.clinician,
        scene.escalation.id or "",
        action="sent_to_ed",
        detail="",
        expected_version=scene.escalation.version,
    )
    with pytest.raises((InvalidInputError, StaleRecordError)):
        services.close_escalation(
            scene.store,
            scene.team.colleague,
            scene.escalation.id or "",
            action="other",
            detail="again",
            expected_version=closed.version,
        )
    (still,) = escalations(scene.store, scene.patient.id or "", "RF_CES")
    assert (still.closed_by, still.close_action) == (scene.team.clinician.id, "sent_to_ed")


def test_after_closing_the_same_finding_does_not_reopen_but_new_evidence_does(scene: Scene) -> None:
    s, clinician, pid = scene.store, scene.team.clinician, scene.patient.id or ""
    services.close_escalation(
        s, clinician, scene.escalation.id or "", action="sent_to_ed", detail="", expected_version=1
    )

    services.record_visit(s, clinician, pid, visit_values(DAY3, saddle_anaesthesia="new"))
    assert [e.status for e in escalations(s, pid, "RF_CES")] == ["closed"]

    services.record_visit(
        s, clinician, pid, visit_values(DAY4, saddle_anaesthesia="new", bladder_dysfunction="new")
    )
    ces = escalations(s, pid, "RF_CES")
    assert [e.status for e in ces] == ["closed", "open"]
    assert "bladder dysfunction: new" in ces[-1].reason


def test_after_closing_a_higher_tier_for_the_same_reason_reopens(
    store: Any, team: Team, patient: Patient
) -> None:
    pid = patient.id or ""
    emergency = Settings(rules=RuleSettings(ces_possible_tier="EMERGENCY"))
    services.record_visit(store, team.clinician, pid, visit_values(DAY1, sexual_dysfunction="new"))
    (first,) = escalations(store, pid, "RF_CES_POSSIBLE")
    assert first.tier == "URGENT"
    services.close_escalation(
        store,
        team.clinician,
        first.id or "",
        action="urgent_referral",
        detail="",
        expected_version=first.version,
    )

    services.record_visit(store, team.clinician, pid, visit_values(DAY2, sexual_dysfunction="new"))
    assert [e.status for e in escalations(store, pid, "RF_CES_POSSIBLE")] == ["closed"]

    services.record_visit(
        store, team.clinician, pid, visit_values(DAY3, sexual_dysfunction="new"), settings=emergency
    )
    found = escalations(store, pid, "RF_CES_POSSIBLE")
    assert [(e.status, e.tier) for e in found] == [("closed", "URGENT"), ("open", "EMERGENCY")]
    assert found[0].reason == found[1].reason


def test_an_escalation_never_closes_silently_when_the_finding_disappears(scene: Scene) -> None:
    _, screening = services.record_visit(
        scene.store, scene.team.clinician, scene.patient.id or "", visit_values(DAY3)
    )
    services.rescreen_patient(scene.store, scene.team.clinician, scene.patient.id or "")

    assert screening.urgency == "NONE"
    (still,) = escalations(scene.store, scene.patient.id or "", "RF_CES")
    assert (still.status, still.closed_at, still.close_action) == ("open", None, None)
    assert "escalation.close" not in [r.action for r in audit_rows(scene.store)]
    assert [e.id for e, _ in services.open_escalations(scene.store, scene.team.readonly)] == [still.id]


def test_archived_visits_are_ignored_by_screening(scene: Scene) -> None:
    s, clinician, pid = scene.store, scene.team.clinician, scene.patient.id or ""
    with s.read() as tx:
        screened_before = len(tx.screenings(pid))

    services.set_visit_archived(
        s, clinician, scene.flagged_visit.id or "", archived=True, reason="Wrong patient"
    )
    # An earlier date than the archived visit: it would still be the latest if archived visits counted.
    services.record_visit(s, clinician, pid, visit_values(DAY1 + dt.timedelta(days=2)))
    services.rescreen_patient(s, clinician, pid)

    with s.read() as tx:
        later = tx.screenings(pid)[screened_before:]
    assert len(later) == 3
    for screening in later:
        assert screening.visit_id != scene.flagged_visit.id
        assert "RF_CES" not in [f.rule_id for f in screening.flags]
        assert screening.urgency == "NONE"


def test_a_risk_field_change_rescreens_the_patient(store: Any, team: Team, patient: Patient) -> None:
    services.record_visit(store, team.clinician, patient.id or "", visit_values())
    assert escalations(store, patient.id or "") == []
    seen = len(audit_rows(store))

    services.update_patient(
        store,
        team.clinician,
        patient.id or "",
        {"history_of_cancer": True},
        expected_version=patient.version,
        reason="GP letter: breast cancer treated in 2019",
    )

    (escalation,) = escalations(store, patient.id or "")
    assert (escalation.rule_id, escalation.tier, escalation.status) == (
        "RF_MALIGNANCY_CANCER_HX",
        "URGENT",
        "open",
    )
    assert actions_since(store, seen) == ["patient.update", "escalation.open"]
    (revision,) = services.patient_history(store, team.readonly, patient.id or "")
    assert (revision.before, revision.after) == ({"history_of_cancer": False}, {"history_of_cancer": True})


# --- authentication and accounts -----------------------------------------------------------------


def test_the_right_password_logs_in(store: Any, team: Team) -> None:
    user = services.authenticate(store, "  carla ", PASSWORD)
    assert (user.id, user.role, user.failed_logins, user.locked_until) == (
        team.clinician.id,
        "clinician",
        0,
        None,
    )


def test_a_wrong_password_fails_with_the_same_message_as_an_unknown_user(store: Any, team: Team) -> None:
    with pytest.raises(PermissionDeniedError) as wrong:
        services.authenticate(store, "carla", PASSWORD + "x")
    with pytest.raises(PermissionDeniedError) as unknown:
        services.authenticate(store, "nobody.here", PASSWORD)
    assert str(wrong.value) == str(unknown.value) == services.LOGIN_FAILED
    assert "carla" not in str(wrong.value)


def test_a_deactivated_account_cannot_log_in(store: Any, team: Team) -> None:
    services.admin_update_user(store, team.admin, team.colleague.id, active=False)
    with pytest.raises(PermissionDeniedError) as caught:
        services.authenticate(store, "bob", PASSWORD)
    assert str(caught.value) == services.LOGIN_FAILED


def test_demo_accounts_are_refused_on_a_database_that_is_not_a_demo(store: Any) -> None:
    with store.transaction() as tx:  # even when such an account exists, e.g. copied across
        tx.insert_user(
            User(id="", username="demo.admin", display_name="Demo Admin", role="admin"),
            auth.hash_password(auth.DEMO_PASSWORD),
        )

    for username in auth.DEMO_USERS:
        with pytest.raises(PermissionDeniedError) as caught:
            services.authenticate(store, username, auth.DEMO_PASSWORD)
        assert str(caught.value) == services.LOGIN_FAILED
    assert not store.is_demo


def test_demo_accounts_log_in_after_the_demo_clinic_is_generated(store: Any) -> None:
    demo.generate(store, patients=4, seed=11)

    assert store.is_demo
    for username, (role, display_name) in auth.DEMO_USERS.items():
        user = services.authenticate(store, username, auth.DEMO_PASSWORD)
        assert (user.role, user.display_name) == (role, display_name)


def test_demo_usernames_cannot_be_created_on_a_real_database(store: Any) -> None:
    with pytest.raises(InvalidInputError) as caught:
        make_user(store, "demo.clinician", "clinician")
    assert "username" in caught.value.errors


@pytest.mark.parametrize(
    ("username", "password"),
    [
        pytest.param("dana", "short-9ch", id="too-short"),
        pytest.param("dana", "", id="empty"),
        pytest.param("dana.lee", "xxDANA.LEE-2026", id="contains-username"),
    ],
)
def test_a_new_account_password_must_follow_the_policy(store: Any, username: str, password: str) -> None:
    before = counts(store)
    with pytest.raises(InvalidInputError) as caught:
        services.create_user(
            store, None, username=username, display_name="Dana", role="clinician", password=password
        )
    assert "password" in caught.value.errors
    assert password not in caught.value.errors["password"] or not password
    assert counts(store) == before


def test_a_ten_character_password_is_long_enough(store: Any) -> None:
    assert len("ten-chars!") == auth.MIN_PASSWORD_LENGTH
    services.create_user(
        store, None, username="dana", display_name="Dana", role="clinician", password="ten-chars!"
    )
    assert services.authenticate(store, "dana", "ten-chars!").username == "dana"


def test_changing_a_password_checks_the_current_one_and_the_policy(store: Any, team: Team) -> None:
    carla = team.clinician
    before = counts(store)
    with pytest.raises(InvalidInputError) as wrong_current:
        services.change_password(store, carla, current="not-it", new="a-good-new-secret")
    with pytest.raises(InvalidInputError) as too_short:
        services.change_password(store, carla, current=PASSWORD, new="short")
    with pytest.raises(InvalidInputError) as has_username:
        services.change_password(store, carla, current=PASSWORD, new="carla-carla-carla")
    assert "current" in wrong_current.value.errors
    assert "new" in too_short.value.errors and "new" in has_username.value.errors
    assert counts(store) == before

    services.change_password(store, carla, current=PASSWORD, new="a-good-new-secret")

    assert services.authenticate(store, "carla", "a-good-new-secret").id == carla.id
    with pytest.raises(PermissionDeniedError):
        services.authenticate(store, "carla", PASSWORD)


# --- the audit chain -----------------------------------------------------------------------------


def test_the_audit_chain_verifies_intact_after_a_days_work(scene: Scene) -> None:
    services.authenticate(scene.store, "carla", PASSWORD)
    services.open_patient(scene.store, scene.team.clinician, scene.patient.id or "")
    services.correct_visit(
        scene.store,
        scene.team.clinician,
        scene.clean_visit.id or "",
        {"notes": "Zoë: «OK»"},
        expected_version=1,
        reason="Note added",
    )
    rows = audit_rows(scene.store)

    assert scene.store.verify_audit() == (True, len(rows), None)
    assert [r.seq for r in rows] == sorted({r.seq for r in rows})


def test_editing_an_audit_row_is_refused_and_detected_when_the_guard_is_off(scene: Scene) -> None:
    target = next(r for r in audit_rows(scene.store) if r.action == "patient.create")
    statement = text("UPDATE audit SET reason = 'nothing to see' WHERE seq = :seq")

    with pytest.raises(DBAPIError, match="append-only"), scene.store.transaction() as tx:
        tx.conn.execute(statement, {"seq": target.seq})
    assert scene.store.verify_audit()[0] is True
    assert next(r for r in audit_rows(scene.store) if r.seq == target.seq).reason == ""

    with as_database_owner(scene.store) as conn:
        conn.execute(statement, {"seq": target.seq})
    intact, _, broken = scene.store.verify_audit()
    assert (intact, broken) == (False, target.seq)


def test_deleting_an_audit_row_is_refused_and_detected_when_the_guard_is_off(scene: Scene) -> None:
    rows = audit_rows(scene.store)
    statement = text("DELETE FROM audit WHERE seq = :seq")

    with pytest.raises(DBAPIError, match="append-only"), scene.store.transaction() as tx:
        tx.conn.execute(statement, {"seq": rows[2].seq})
    assert scene.store.verify_audit() == (True, len(rows), None)

    with as_database_owner(scene.store) as conn:
        conn.execute(statement, {"seq": rows[2].seq})
    assert scene.store.verify_audit() == (False, 3, rows[3].seq)


# --- the demo clinic -----------------------------------------------------------------------------


def _demo_summary(store: Any) -> list[tuple[str, str, str, list[dt.date]]]:
    with store.read() as tx:
        patients = sorted(tx.search_patients("", limit=10_000), key=lambda p: p.patient_ref)
        return [
            (p.patient_ref, p.given_name, p.family_name, [v.visit_date for v in tx.visits(p.id or "")])
            for p in patients
        ]


def test_the_demo_generator_gives_the_same_clinic_for_the_same_seed(store: Any, tmp_path: Any) -> None:
    other = open_store(f"sqlite:///{tmp_path}/other.sqlite3")
    third = open_store(f"sqlite:///{tmp_path}/third.sqlite3")
    try:
        first_counts = demo.generate(store, patients=12, seed=4242)
        assert demo.generate(other, patients=12, seed=4242) == first_counts
        demo.generate(third, patients=12, seed=4243)

        summary = _demo_summary(store)
        assert len(summary) == 12
        assert summary == _demo_summary(other)
        assert [s[1:3] for s in summary] != [s[1:3] for s in _demo_summary(third)]
        assert all(s[0].startswith("DEMO-") and s[3] for s in summary)
        assert store.verify_audit()[0]
    finally:
        other.close()
        third.close()


def test_the_demo_generator_refuses_a_database_that_holds_data(store: Any, team: Team) -> None:
    before = counts(store)
    with pytest.raises(RuntimeError, match="already holds data"):
        demo.generate(store, patients=3, seed=1)
    assert counts(store) == before
    assert not store.is_demo


def test_the_demo_generator_refuses_to_run_twice(store: Any) -> None:
    demo.generate(store, patients=3, seed=1)
    before = counts(store)
    with pytest.raises(RuntimeError):
        demo.generate(store, patients=3, seed=1)
    assert counts(store) == before


# --- the caseload --------------------------------------------------------------------------------


def test_the_caseload_has_one_row_per_active_patient_with_the_latest_nrs(store: Any, team: Team) -> None:
    c = team.clinician
    improving = services.register_patient(store, c, patient_values(patient_ref="CL-1"))
    unmeasured = services.register_patient(store, c, patient_values(patient_ref="CL-2", given_name="Ben"))
    no_visits = services.register_patient(store, c, patient_values(patient_ref="CL-3", given_name="Ines"))
    gone = services.register_patient(store, c, patient_values(patient_ref="CL-4", given_name="Rosa"))
    services.record_visit(store, c, improving.id or "", visit_values(DAY1, pain_nrs=7))
    services.record_visit(store, c, improving.id or "", visit_values(DAY2, pain_nrs=5))
    services.record_visit(store, c, improving.id or "", visit_values(DAY3))  # NRS not asked
    wrong, _ = services.record_visit(store, c, improving.id or "", visit_values(DAY4, pain_nrs=9))
    services.set_visit_archived(store, c, wrong.id or "", archived=True, reason="Wrong patient")
    services.record_visit(store, c, unmeasured.id or "", visit_values(DAY1))
    services.record_visit(store, c, gone.id or "", visit_values(DAY1, pain_nrs=2))
    services.set_patient_archived(store, c, gone.id or "", archived=True, reason="Discharged")

    rows = {row["patient_ref"]: row for row in services.caseload(store, team.readonly)}

    assert sorted(rows) == ["CL-1", "CL-2", "CL-3"]
    assert (rows["CL-1"]["first_nrs"], rows["CL-1"]["latest_nrs"]) == (7, 5)
    assert (rows["CL-1"]["n_visits"], rows["CL-1"]["last_visit_date"]) == (3, DAY3)
    assert rows["CL-2"]["latest_nrs"] is None and rows["CL-2"]["n_visits"] == 1
    assert rows["CL-3"]["latest_nrs"] is None and rows["CL-3"]["n_visits"] == 0
    assert rows["CL-1"]["patient_id"] == improving.id and rows["CL-3"]["patient_id"] == no_visits.id
    assert {row["clinician"] for row in rows.values()} == {"Carla Clinician"}
    assert {row["open_tier"] for row in rows.values()} == {"NONE"}


# --- one event, one closing action -----------------------------------------------------------------


def _cancer_patient_with_new_weakness(store: Any, team: Team) -> Patient:
    """A cancer history and new leg weakness (MRC 4): three rules fire from one screening."""
    patient = services.register_patient(
        store, team.clinician, patient_values(patient_ref="INT-0002", history_of_cancer=True)
    )
    services.record_visit(
        store, team.clinician, patient.id or "", visit_values(DAY1, leg_weakness="new", leg_weakness_mrc=4)
    )
    return patient


def test_escalations_raised_by_one_screening_form_one_event_most_urgent_first(store: Any, team: Team) -> None:
    patient = _cancer_patient_with_new_weakness(store, team)

    (group,) = services.open_escalation_groups(store, team.readonly)

    assert group.patient.id == patient.id
    assert [e.tier for e in group.escalations] == ["EMERGENCY", "URGENT", "URGENT"]
    assert group.lead.rule_id == "RF_MSCC"
    assert {e.rule_id for e in group.escalations} == {
        "RF_MSCC",
        "RF_MALIGNANCY_CANCER_HX",
        "RF_NEW_NEURO_DEFICIT",
    }


def test_one_closing_action_closes_every_escalation_of_the_event_with_one_audit_entry_each(
    store: Any, team: Team
) -> None:
    patient = _cancer_patient_with_new_weakness(store, team)
    (group,) = services.open_escalation_groups(store, team.readonly)
    seen = len(audit_rows(store))

    closed = services.close_escalation_group(
        store, team.colleague, group.versions, action="urgent_referral", detail="Acute oncology, ref AO-7"
    )

    assert len(closed) == 3
    stored = escalations(store, patient.id or "")
    assert {(e.status, e.close_action, e.close_detail, e.closed_by) for e in stored} == {
        ("closed", "urgent_referral", "Acute oncology, ref AO-7", team.colleague.id)
    }
    assert actions_since(store, seen) == ["escalation.close"] * 3
    assert {row.entity_id for row in audit_rows(store)[seen:]} == {e.id for e in stored}
    assert services.open_escalation_groups(store, team.readonly) == []


def test_a_group_close_with_one_stale_escalation_closes_none_of_them(store: Any, team: Team) -> None:
    patient = _cancer_patient_with_new_weakness(store, team)
    (group,) = services.open_escalation_groups(store, team.readonly)
    services.close_escalation(
        store,
        team.clinician,
        group.lead.saved_id,
        action="sent_to_ed",
        detail="",
        expected_version=group.lead.version,
    )
    before = counts(store, patient.id)

    with pytest.raises((StaleRecordError, InvalidInputError)):
        services.close_escalation_group(store, team.colleague, group.versions, action="sent_to_ed", detail="")

    assert counts(store, patient.id) == before
    still_open = [e.rule_id for e in escalations(store, patient.id or "") if e.status == "open"]
    assert sorted(still_open) == ["RF_MALIGNANCY_CANCER_HX", "RF_NEW_NEURO_DEFICIT"]


def test_a_group_close_without_its_required_text_changes_nothing(store: Any, team: Team) -> None:
    patient = _cancer_patient_with_new_weakness(store, team)
    (group,) = services.open_escalation_groups(store, team.readonly)
    before = counts(store, patient.id)

    with pytest.raises(InvalidInputError) as caught:
        services.close_escalation_group(store, team.colleague, group.versions, action="other", detail=" ")

    assert "close_detail" in caught.value.errors
    assert counts(store, patient.id) == before


def test_escalations_of_different_events_cannot_be_closed_together(
    store: Any, team: Team, patient: Patient
) -> None:
    services.record_visit(
        store, team.clinician, patient.id or "", visit_values(DAY1, saddle_anaesthesia="new")
    )
    other = _cancer_patient_with_new_weakness(store, team)
    groups = services.open_escalation_groups(store, team.readonly)
    assert len(groups) == 2
    mixed = {g.lead.saved_id: g.lead.version for g in groups}
    before = counts(store, other.id)

    with pytest.raises(InvalidInputError):
        services.close_escalation_group(store, team.colleague, mixed, action="sent_to_ed", detail="")

    assert counts(store, other.id) == before


def test_a_readonly_user_cannot_close_an_event(store: Any, team: Team) -> None:
    _cancer_patient_with_new_weakness(store, team)
    (group,) = services.open_escalation_groups(store, team.readonly)

    with pytest.raises(PermissionDeniedError):
        services.close_escalation_group(store, team.readonly, group.versions, action="sent_to_ed", detail="")


def test_a_demo_dated_from_today_has_recent_visits_and_about_one_patient_in_ten_overdue(store: Any) -> None:
    today = dt.date.today() - dt.timedelta(days=1)  # visits are never in the future
    demo.generate(store, patients=65, seed=20261102, today=today)
    with store.read() as tx:
        patients = tx.search_patients("", limit=10_000)
        in_treatment = [p for p in patients if tx.open_episode(p.id or "") is not None]
        last_visits = [max(v.visit_date for v in tx.visits(p.id or "")) for p in in_treatment]
    discharged = [p for p in patients if p not in in_treatment]
    overdue = [p for p in patients if p.next_review_date is not None and p.next_review_date < today]
    assert 0 < len(overdue) <= len(in_treatment) * 0.2, len(overdue)  # the old demo had 43 of 65 overdue
    assert all(today - dt.timedelta(days=21) <= last <= today for last in last_visits)
    assert discharged and all(p.next_review_date is None for p in discharged)  # nobody reviews them
