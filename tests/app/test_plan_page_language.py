"""The plan page and the patient's handout language (issue 23): a shipped language is offered with
English, an unreviewed one says so, and a language without a catalogue says the handout is English."""

from __future__ import annotations

from dashboard import services
from data.store import SqlStore
from tests.app.test_pages import demo_user, logged_in, open_page, texts
from tests.app.test_plan_page_safety import patient_with_visit


def with_language(store: SqlStore, patient_id: str, language: str) -> None:
    user = demo_user(store)
    patient = services.open_patient(store, user, patient_id, audit=False).patient
    services.update_patient(
        store, user, patient_id, {"language": language}, expected_version=patient.version, reason="language"
    )


def test_an_arabic_patient_is_offered_arabic_or_english_and_told_the_translation_awaits_review(
    clinic: SqlStore,
) -> None:
    pid = patient_with_visit(clinic, "T-AR", "ليلى", "حداد")
    with_language(clinic, pid, "ar")
    at = open_page(logged_in(clinic), "pages/plan.py", pid)
    assert not at.exception
    radio = next(r for r in at.radio if r.label == "Handout language")
    assert list(radio.options) == ["Arabic (العربية)", "English"]
    assert "awaiting clinical review" in texts(at, "info")


def test_a_language_without_a_catalogue_says_the_handout_is_printed_in_english(clinic: SqlStore) -> None:
    pid = patient_with_visit(clinic, "T-SO", "Sam", "Example")
    with_language(clinic, pid, "so")
    at = open_page(logged_in(clinic), "pages/plan.py", pid)
    assert not at.exception
    assert "no Somali (Soomaali) translation of the handout yet" in texts(at, "warning")
    assert not [r for r in at.radio if r.label == "Handout language"]


def test_an_unreviewed_translation_is_offered_only_in_the_bilingual_layout(clinic: SqlStore) -> None:
    pid = patient_with_visit(clinic, "T-BN", "Rahim", "Uddin")
    with_language(clinic, pid, "bn")
    at = open_page(logged_in(clinic), "pages/plan.py", pid)
    box = next(c for c in at.checkbox if c.label.startswith("Bilingual layout"))
    assert box.value and box.disabled
