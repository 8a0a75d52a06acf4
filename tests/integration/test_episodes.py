"""Episodes of care in the store: discharge, re-referral, re-opening and migration 0009 (issue 20).

Every test gets a fresh database through the shared `store` fixture (SQLite and PostgreSQL).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from dashboard import episode_services, services
from dashboard.ports import InvalidInputError, PermissionDeniedError
from tests.integration.support import add_patient_voice, audit_rows, make_team, patient_values, visit_values

DAY1 = dt.date(2025, 2, 3)
DAY2 = dt.date(2025, 3, 3)
TODAY = dt.date(2025, 6, 2)


@pytest.fixture
def scene(store: Any) -> dict[str, Any]:
    team = make_team(store)
    patient = services.register_patient(store, team.clinician, patient_values())
    for day, pain in ((DAY1, 7), (DAY2, 3)):
        services.record_visit(store, team.clinician, patient.saved_id, visit_values(day, pain_nrs=pain))
    return {"store": store, "team": team, "patient": patient}


def discharge(scene: dict[str, Any], **overrides: Any) -> Any:
    arguments: dict[str, Any] = {"discharge_date": DAY2, "reason": "goals_met", "today": TODAY}
    return episode_services.discharge(
        scene["store"], scene["team"].clinician, scene["patient"].saved_id, **{**arguments, **overrides}
    )


def test_a_new_patient_has_one_open_episode_holding_their_visits(scene: dict[str, Any]) -> None:
    store, patient = scene["store"], scene["patient"]
    with store.read() as tx:
        (episode,) = tx.episodes(patient.saved_id)
        visits = tx.visits(patient.saved_id)
    assert episode.is_open and episode.symptom_onset == patient.symptom_onset
    assert {v.episode_id for v in visits} == {episode.id}


def test_a_discharge_is_stored_audited_and_kept_as_a_revision(scene: dict[str, Any]) -> None:
    episode = discharge(scene, note="Walking 30 min daily")
    assert (episode.status, episode.discharge_reason, episode.discharge_date) == (
        "discharged",
        "goals_met",
        DAY2,
    )
    with scene["store"].read() as tx:
        assert tx.open_episode(scene["patient"].saved_id) is None
        (revision,) = tx.revisions("episode", episode.saved_id)
    assert revision.before == {
        "status": "open",
        "discharge_date": None,
        "discharge_reason": None,
        "discharge_note": "",
    }
    assert any(row.action == "episode.discharge" for row in audit_rows(scene["store"]))


def test_a_discharge_before_the_last_visit_is_refused_by_field_and_changes_nothing(
    scene: dict[str, Any],
) -> None:
    with pytest.raises(InvalidInputError) as refused:
        discharge(scene, discharge_date=DAY1)
    assert set(refused.value.errors) == {"discharge_date"}
    with scene["store"].read() as tx:
        assert tx.open_episode(scene["patient"].saved_id) is not None


def test_a_discharged_patient_takes_no_new_visit_until_re_referred(scene: dict[str, Any]) -> None:
    store, team, patient = scene["store"], scene["team"], scene["patient"]
    discharge(scene)
    with pytest.raises(InvalidInputError, match="discharged"):
        services.record_visit(store, team.clinician, patient.saved_id, visit_values(TODAY, pain_nrs=5))
    onset = TODAY - dt.timedelta(days=20)
    new = episode_services.re_refer(store, team.clinician, patient.saved_id, symptom_onset=onset, today=TODAY)
    saved, screening = services.record_visit(
        store, team.clinician, patient.saved_id, visit_values(TODAY, pain_nrs=5)
    )
    assert saved.episode_id == new.id and screening.visit_id == saved.id
    with store.read() as tx:
        assert [e.status for e in tx.episodes(patient.saved_id)] == ["discharged", "open"]
        assert tx.get_patient(patient.saved_id).symptom_onset == onset  # the current episode's onset


def test_a_re_referral_while_an_episode_is_open_is_refused(scene: dict[str, Any]) -> None:
    store, team, patient = scene["store"], scene["team"], scene["patient"]
    with pytest.raises(InvalidInputError, match="already has an open episode"):
        episode_services.re_refer(store, team.clinician, patient.saved_id, symptom_onset=DAY1, today=TODAY)


def test_an_open_urgent_escalation_needs_a_recorded_reason_and_stays_open(scene: dict[str, Any]) -> None:
    store, team, patient = scene["store"], scene["team"], scene["patient"]
    services.record_visit(
        store, team.clinician, patient.saved_id, visit_values(DAY2, leg_weakness="new", leg_weakness_mrc=4)
    )
    with pytest.raises(InvalidInputError) as refused:
        discharge(scene)
    assert set(refused.value.errors) == {"override_reason"}
    discharge(scene, override_reason="Seen by the spinal team today; they follow up")
    with store.read() as tx:
        still_open = tx.escalations(patient_id=patient.saved_id, status="open")
    assert still_open  # a discharge never closes an escalation (§11.1)


def test_only_an_admin_re_opens_a_discharged_episode_with_a_reason(scene: dict[str, Any]) -> None:
    store, team = scene["store"], scene["team"]
    episode = discharge(scene)
    with pytest.raises(PermissionDeniedError):
        episode_services.reopen(store, team.clinician, episode.saved_id, reason="Discharged by mistake")
    with pytest.raises(InvalidInputError):
        episode_services.reopen(store, team.admin, episode.saved_id, reason="  ")
    reopened = episode_services.reopen(store, team.admin, episode.saved_id, reason="Discharged by mistake")
    assert reopened.is_open and reopened.discharge_reason is None
    with store.read() as tx:
        assert len(tx.revisions("episode", episode.saved_id)) == 2


def test_migration_0009_makes_every_patient_one_open_episode_with_their_onset(
    store: Any, database_url: str
) -> None:
    from alembic import command
    from sqlalchemy import text

    from data import demo
    from data.migrate import alembic_config
    from data.store import make_engine, open_store

    demo.generate(store, patients=12, seed=9)
    with store.read() as tx:
        before = {p.id: p.symptom_onset for p in tx.search_patients("", limit=100)}
        visits_before = {p: len(tx.visits(p)) for p in before}
    store.close()
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:  # a filled database from before episodes existed
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0008")
            assert "episode_id" not in {c["name"] for c in _columns(conn, "visits")}
            conn.execute(text("SELECT count(*) FROM patients")).scalar_one()
    finally:
        engine.dispose()
    migrated = open_store(database_url)  # opening the store upgrades it to head
    try:
        with migrated.read() as tx:
            for patient_id, onset in before.items():
                (episode,) = tx.episodes(patient_id)
                visits = tx.visits(patient_id)
                assert episode.is_open and episode.symptom_onset == onset
                assert len(visits) == visits_before[patient_id]
                assert {v.episode_id for v in visits} <= {episode.id}
                if visits:
                    assert episode.referral_date == min(v.visit_date for v in visits)
    finally:
        migrated.close()


def _columns(conn: Any, table: str) -> list[dict[str, Any]]:
    from sqlalchemy import inspect

    return list(inspect(conn).get_columns(table))


@pytest.mark.parametrize(("weeks_later", "raised"), [(4, True), (13, False)])
def test_a_walking_decline_is_raised_across_a_discharge_only_within_twelve_weeks(
    scene: dict[str, Any], weeks_later: int, raised: bool
) -> None:
    store, team, patient = scene["store"], scene["team"], scene["patient"]
    walk = {"walk_protocol": "spwt", "walk_total_m": 400.0}
    services.record_visit(store, team.clinician, patient.saved_id, visit_values(DAY2, **walk))
    discharge(scene)
    back = DAY2 + dt.timedelta(weeks=weeks_later)
    episode_services.re_refer(store, team.clinician, patient.saved_id, symptom_onset=back, today=back)
    _saved, screening = services.record_visit(
        store, team.clinician, patient.saved_id, visit_values(back, walk_protocol="spwt", walk_total_m=100.0)
    )
    assert ("RF_WALKING_DECLINE" in {f.rule_id for f in screening.flags}) is raised
    with store.read() as tx:
        escalated = {e.rule_id for e in tx.escalations(patient_id=patient.saved_id, status="open")}
    assert ("RF_WALKING_DECLINE" in escalated) is raised


def test_the_caseload_reads_the_current_episode_and_dates_it(scene: dict[str, Any]) -> None:
    store, team, patient = scene["store"], scene["team"], scene["patient"]
    discharge(scene)
    (row,) = services.caseload(store, team.clinician)
    assert (row["episode_status"], row["discharge_date"], row["episode_start"]) == ("discharged", DAY2, None)
    assert (row["first_nrs"], row["latest_nrs"]) == (7, 3)  # the discharged episode is the current one

    back = DAY2 + dt.timedelta(weeks=30)
    episode_services.re_refer(store, team.clinician, patient.saved_id, symptom_onset=back, today=back)
    (row,) = services.caseload(store, team.clinician)
    assert (row["episode_status"], row["n_visits"], row["first_nrs"]) == ("open", 0, None)  # a new baseline
    services.record_visit(store, team.clinician, patient.saved_id, visit_values(back, pain_nrs=8))
    (row,) = services.caseload(store, team.clinician)
    assert (row["episode_start"], row["discharge_date"]) == (back, None)
    assert (row["first_nrs"], row["latest_nrs"], row["pain_change"]) == (8, 8, None)


def test_the_fhir_export_names_the_treating_clinician_and_is_audited(scene: dict[str, Any]) -> None:
    from dashboard.fhir import fhir_base

    store, team, patient = scene["store"], scene["team"], scene["patient"]
    with store.read() as tx:
        lead = tx.get_user(tx.get_patient(patient.saved_id).clinician_id or "")
    assert lead is not None
    url = "https://clinic.example/fhir/CodeSystem/stride"
    bundle = episode_services.episode_bundle(store, team.clinician, patient.saved_id, codesystem_url=url)
    (episode,) = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "EpisodeOfCare"]
    assert episode["careManager"]["display"] == lead.display_name
    (practitioner,) = [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Practitioner"
    ]
    assert practitioner["identifier"] == [{"system": f"{fhir_base(url)}/practitioner", "value": lead.id}]
    assert [r.action for r in audit_rows(store)].count("export.fhir") == 1
    with pytest.raises(PermissionDeniedError):
        episode_services.episode_bundle(store, team.readonly, patient.saved_id, codesystem_url=url)
    assert [r.action for r in audit_rows(store)].count("export.fhir") == 1


def test_the_fhir_export_holds_the_patients_check_in_and_diary_with_the_patient_as_source(
    scene: dict[str, Any],
) -> None:
    from tests.unit.test_fhir import validated

    store, team, patient = scene["store"], scene["team"], scene["patient"]
    voice = add_patient_voice(store, team.clinician, patient.saved_id)
    url = "https://clinic.example/fhir/CodeSystem/stride"
    bundle = validated(
        episode_services.episode_bundle(store, team.clinician, patient.saved_id, codesystem_url=url)
    )
    by_type = [e["resource"] for e in bundle["entry"]]
    (patient_url,) = [e["fullUrl"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"]
    (checkin,) = [r for r in by_type if r["resourceType"] == "QuestionnaireResponse" and "source" in r]
    assert checkin["source"] == checkin["subject"] == {"reference": patient_url}
    walks = [
        r for r in by_type if r.get("code", {}).get("coding", [{}])[0].get("code") == "walking-diary-entry"
    ]
    assert len(walks) == len(voice.diary_ids) == 2
    assert all(w["performer"] == [{"reference": patient_url}] for w in walks)
