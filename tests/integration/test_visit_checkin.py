"""A patient's check-in reviewed at the next visit, through the services and a real store (§12.1).

Every test gets a fresh database through the shared `store` fixture (SQLite and PostgreSQL).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from dashboard import checkin_services as cs
from dashboard import report_services, services
from dashboard.config import load_settings
from dashboard.patient_reported import NOT_SURE
from dashboard.ports import InvalidInputError, PermissionDeniedError
from tests.integration.support import (
    audit_rows,
    counts,
    make_team,
    patient_seen_two_weeks_ago,
    patient_values,
    visit_values,
)

SETTINGS = load_settings()
TODAY = dt.date.today()
ANSWERS = {"pain_nrs": "4", "walk_total_min": "12", "psfs_0": "5", "symptom_bladder": "not_sure"}


@pytest.fixture
def scene(store: Any) -> dict[str, Any]:
    team = make_team(store)
    return {"store": store, "team": team, "patient_id": patient_seen_two_weeks_ago(store, team.clinician)}


def check_in(scene: dict[str, Any], patient_id: str | None = None) -> Any:
    pid = patient_id or scene["patient_id"]
    issued = cs.create_invite(scene["store"], scene["team"].clinician, pid, "checkin")
    sent = cs.submit_checkin(scene["store"], issued.token, ANSWERS, SETTINGS)
    assert isinstance(sent, cs.CheckinSubmitted)
    return sent.report


def reports(scene: dict[str, Any]) -> list[Any]:
    with scene["store"].read() as tx:
        return tx.patient_reports(scene["patient_id"])


def test_the_latest_unreviewed_check_in_is_pending_for_the_next_visit(scene: dict[str, Any]) -> None:
    clinician = scene["team"].clinician
    assert report_services.pending_report(scene["store"], clinician, scene["patient_id"]) is None
    check_in(scene)
    newest = check_in(scene)
    pending = report_services.pending_report(scene["store"], clinician, scene["patient_id"])
    assert pending is not None and pending.id == newest.id
    assert pending.measurements()["psfs"] == [{"activity": "Walking to the shop", "score": 5}]
    assert pending.screening_answers()["bladder_dysfunction"] == NOT_SURE


def test_a_read_only_user_may_read_the_check_in_and_a_deactivated_one_may_not(scene: dict[str, Any]) -> None:
    check_in(scene)
    team = scene["team"]
    assert report_services.pending_report(scene["store"], team.readonly, scene["patient_id"]) is not None
    services.admin_update_user(scene["store"], team.admin, team.colleague.id, active=False)
    with pytest.raises(PermissionDeniedError):
        report_services.pending_report(scene["store"], team.colleague, scene["patient_id"])


def test_the_visit_that_reviewed_a_check_in_is_linked_and_audited_and_the_report_kept(
    scene: dict[str, Any],
) -> None:
    report = check_in(scene)
    visit, _ = services.record_visit(
        scene["store"],
        scene["team"].clinician,
        scene["patient_id"],
        visit_values(TODAY, pain_nrs=4, walk_protocol="reported", walk_total_min=12.0),
        reviewed_report_id=report.id,
    )
    (stored,) = reports(scene)
    assert stored.reviewed_visit_id == visit.id
    assert stored.answers == report.answers  # the report itself is never edited
    (entry,) = [r for r in audit_rows(scene["store"]) if r.action == "patient_report.reviewed"]
    assert (entry.entity_id, entry.patient_id, entry.after) == (
        report.id,
        scene["patient_id"],
        {"visit_id": visit.id},
    )
    assert (
        report_services.pending_report(scene["store"], scene["team"].clinician, scene["patient_id"]) is None
    )


def test_another_patients_check_in_refuses_the_whole_save(scene: dict[str, Any]) -> None:
    other = services.register_patient(
        scene["store"], scene["team"].clinician, patient_values(patient_ref="INT-0002")
    )
    foreign = check_in(scene, other.saved_id)
    before = counts(scene["store"], scene["patient_id"])
    with pytest.raises(InvalidInputError) as refused:
        services.record_visit(
            scene["store"],
            scene["team"].clinician,
            scene["patient_id"],
            visit_values(TODAY, pain_nrs=4),
            reviewed_report_id=foreign.id,
        )
    assert set(refused.value.errors) == {"_"}
    assert counts(scene["store"], scene["patient_id"]) == before
    with scene["store"].read() as tx:
        (untouched,) = tx.patient_reports(other.saved_id)
    assert untouched.reviewed_visit_id is None


def test_a_check_in_keeps_the_first_visit_that_reviewed_it(scene: dict[str, Any]) -> None:
    report = check_in(scene)
    save = lambda: services.record_visit(  # noqa: E731
        scene["store"],
        scene["team"].clinician,
        scene["patient_id"],
        visit_values(TODAY, pain_nrs=4),
        reviewed_report_id=report.id,
    )[0]
    first, second = save(), save()
    (stored,) = reports(scene)
    assert stored.reviewed_visit_id == first.id != second.id
    assert [r.action for r in audit_rows(scene["store"])].count("patient_report.reviewed") == 1
