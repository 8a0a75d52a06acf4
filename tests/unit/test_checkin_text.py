"""What the patient's own page says: plain words (grade 8 or lower) and a forgiving date of birth."""

from __future__ import annotations

import datetime as dt

import pytest

from dashboard import checkin_text as text
from dashboard import patient_reported as pr
from dashboard.config import load_settings
from tests.unit.test_library import as_sentences, fk_grade

TODAY = dt.date(2026, 12, 4)
SETTINGS = load_settings()

PATIENT_TEXTS = {
    "not watched": text.NOT_WATCHED,
    "identity help": text.IDENTITY_HELP,
    "thank you": text.THANK_YOU,
    "fix above": text.FIX_ABOVE,
    "ease back": text.EASE_BACK.format(minutes="20 minutes"),
    "ease back, no green day": text.EASE_BACK_NO_GREEN,
    "pain scale": text.PAIN_SCALE,
    "psfs scale": text.PSFS_SCALE,
    "emergency now": text.emergency_now(SETTINGS),
    "same day": text.same_day(SETTINGS),
    "safety net": text.safety_net(SETTINGS),
    "symptom questions": as_sentences([pr.SYMPTOM_QUESTION_LEAD, *(q.words for q in pr.SYMPTOM_QUESTIONS)]),
}


@pytest.mark.parametrize("name", sorted(PATIENT_TEXTS))
def test_every_patient_text_reads_at_grade_8_or_below(name: str) -> None:
    assert fk_grade(PATIENT_TEXTS[name].replace("**", "")) <= 8.0, name


def test_the_emergency_instruction_uses_the_clinics_numbers() -> None:
    message = text.emergency_now(SETTINGS)
    assert SETTINGS.emergency_number in message and SETTINGS.emergency_department in message
    assert "Do not wait for your appointment" in message


@pytest.mark.parametrize(
    ("typed", "born"),
    [
        ("09/03/1961", dt.date(1961, 3, 9)),
        ("9/3/1961", dt.date(1961, 3, 9)),
        (" 09-03-1961 ", dt.date(1961, 3, 9)),
        ("09.03.1961", dt.date(1961, 3, 9)),
        ("1961-03-09", dt.date(1961, 3, 9)),
    ],
)
def test_a_date_of_birth_may_be_typed_the_usual_ways(typed: str, born: dt.date) -> None:
    assert text.parse_birth_date(typed, TODAY) == born


@pytest.mark.parametrize(
    "typed", ["", "9th March 1961", "31/02/1961", "09/03/61", "09/03/2030", "01/01/1850", "1" * 100_000]
)
def test_a_date_of_birth_that_is_not_a_real_past_date_gets_a_message(typed: str) -> None:
    assert isinstance(text.parse_birth_date(typed, TODAY), str)


def test_minutes_read_naturally() -> None:
    assert (text.minutes_words(1), text.minutes_words(20), text.minutes_words(7.5)) == (
        "1 minute",
        "20 minutes",
        "7.5 minutes",
    )
