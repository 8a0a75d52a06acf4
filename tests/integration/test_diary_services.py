"""The clinician's read of a patient's walking diary through the service and a real store (§12.3)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from dashboard import checkin_services as cs
from dashboard import diary_services, episode_services, services
from dashboard.config import load_settings
from dashboard.ports import NotFoundError, PermissionDeniedError
from tests.integration.support import make_team, patient_values, visit_values

SETTINGS = load_settings()
TODAY = dt.date.today()


@pytest.fixture
def scene(store: Any) -> dict[str, Any]:
    team = make_team(store)
    patient = services.register_patient(store, team.clinician, patient_values())
    services.record_visit(
        store, team.clinician, patient.saved_id, visit_values(TODAY - dt.timedelta(days=14))
    )
    return {"store": store, "team": team, "patient_id": patient.saved_id}


def walks(scene: dict[str, Any], *pains_during: int) -> None:
    """One diary walk a day up to yesterday, 20 minutes each, with the pain during each walk."""
    token = cs.create_invite(scene["store"], scene["team"].clinician, scene["patient_id"], "diary").token
    for days_ago, during in zip(range(len(pains_during), 0, -1), pains_during, strict=True):
        raw = {"walked_min": "20", "pain_before_nrs": "2", "pain_during_nrs": str(during)}
        cs.add_diary_entry(scene["store"], token, raw, TODAY - dt.timedelta(days=days_ago), SETTINGS)


def read(scene: dict[str, Any], who: str = "readonly") -> diary_services.PatientDiary:
    return diary_services.patient_diary(
        scene["store"], getattr(scene["team"], who), scene["patient_id"], settings=SETTINGS
    )


def test_the_diary_comes_oldest_walk_first_with_each_walks_light(scene: dict[str, Any]) -> None:
    walks(scene, 2, 4, 7)
    diary = read(scene)
    assert [(d.entry.pain_during_nrs, d.light) for d in diary.days] == [
        (2, "green"),
        (4, "amber"),
        (7, "red"),
    ]
    assert diary.thresholds == SETTINGS.rules.diary_thresholds
    assert (diary.not_settling, diary.last_comfortable_min) == (False, 20)


def test_two_red_walks_in_a_row_are_not_settling(scene: dict[str, Any]) -> None:
    walks(scene, 2, 7, 8)
    assert read(scene, "clinician").not_settling


def test_a_patient_without_a_diary_has_an_empty_one(scene: dict[str, Any]) -> None:
    diary = read(scene)
    assert diary.days == () and not diary.not_settling and diary.last_comfortable_min is None


def test_a_new_episode_starts_a_new_diary(scene: dict[str, Any]) -> None:
    walks(scene, 7, 8)
    clinician = scene["team"].clinician
    episode_services.discharge(
        scene["store"], clinician, scene["patient_id"], discharge_date=TODAY, reason="goals_met"
    )
    assert len(read(scene).days) == 2  # the discharged episode is still the current one
    episode_services.re_refer(scene["store"], clinician, scene["patient_id"], symptom_onset=TODAY)
    assert read(scene).days == ()


def test_rights_are_re_checked_against_the_stored_account(scene: dict[str, Any]) -> None:
    walks(scene, 2)
    team = scene["team"]
    services.admin_update_user(scene["store"], team.admin, team.readonly.id, active=False)
    with pytest.raises(PermissionDeniedError):
        read(scene)
    with pytest.raises(NotFoundError):
        diary_services.patient_diary(scene["store"], team.clinician, "no-such-patient", settings=SETTINGS)
