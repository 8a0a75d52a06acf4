"""What the plan tells the patient about themselves and the clinic: their own goals (PSFS), the
clinic's phone number, the next appointment; and exercise doses in plain words."""

from __future__ import annotations

import datetime as dt

from dashboard.config import Settings, load_settings
from dashboard.models import PsfsActivity
from dashboard.plan import build_plan
from data.library import load_library
from tests.factories import make_patient, make_visit

LIBRARY = load_library()


def test_the_patients_goals_are_the_psfs_activities_of_their_latest_rating() -> None:
    first = make_visit(
        visit_date=dt.date(2025, 2, 3), psfs=[PsfsActivity(activity="Walking the dog", score=2)]
    )
    later = make_visit(
        visit_date=dt.date(2025, 2, 17),
        psfs=[
            PsfsActivity(activity="Walking the dog", score=4),
            PsfsActivity(activity="Gardening", score=None),
        ],
    )
    unrated = make_visit(visit_date=dt.date(2025, 3, 3))
    plan = build_plan(make_patient(), [first, later, unrated], LIBRARY)
    assert plan.goals == ["Walking the dog", "Gardening"]


def test_without_a_psfs_there_are_no_goals() -> None:
    assert build_plan(make_patient(), [make_visit()], LIBRARY).goals == []


def test_the_clinic_phone_comes_from_the_settings_with_a_fictional_default() -> None:
    assert Settings().clinic_phone == "01632 960 000"
    assert load_settings({"STRIDE_CLINIC_PHONE": "020 7946 0000"}).clinic_phone == "020 7946 0000"
    settings = Settings(clinic_phone="0161 496 0000")
    assert (
        build_plan(make_patient(), [make_visit()], LIBRARY, settings=settings).clinic_phone == "0161 496 0000"
    )


def test_the_next_appointment_is_the_patients_next_review_date_when_set() -> None:
    booked = make_patient(next_review_date=dt.date(2025, 2, 17))
    assert build_plan(booked, [make_visit()], LIBRARY).next_appointment == dt.date(2025, 2, 17)
    assert build_plan(make_patient(), [make_visit()], LIBRARY).next_appointment is None


def test_no_exercise_dose_speaks_of_sets() -> None:
    for exercise in LIBRARY.exercises:
        assert "sets of" not in exercise.dose, exercise.id
    bridge = next(exercise for exercise in LIBRARY.exercises if exercise.id == "bridge")
    assert bridge.dose.startswith("Do it 8 to 12 times, then rest. Repeat this 2 or 3 times.")
