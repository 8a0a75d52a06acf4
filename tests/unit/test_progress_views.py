"""The Progress page's words, refusals and downloads are computed from values, outside the page."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from dashboard import progress_views
from dashboard.choice_box import coded_choice
from dashboard.downloads import FHIR_JSON, PDF, ZIP
from dashboard.episodes import DISCHARGE_REASONS
from dashboard.models import Escalation, Screening
from dashboard.ports import InvalidInputError, StrideError
from dashboard.presenters import screening_banner
from dashboard.progress_views import (
    EPISODE_LABELS,
    FHIR_BUNDLE,
    LETTER_COPY,
    NO_OUTCOME,
    SUBJECT_ACCESS,
    attempt,
    discharge_needs_override,
    outcome_lines,
    rescreen_flash,
    visit_notes,
    visits_caption,
)
from tests.factories import make_episode, make_patient, make_visit


def refuse(errors: dict[str, str]) -> None:
    raise InvalidInputError(errors)


def test_a_use_case_that_succeeds_gives_its_flash_and_no_refusal() -> None:
    assert attempt(lambda: 42, "Done.") == ("Done.", [])
    assert attempt(lambda: 42, lambda n: f"Got {n}.") == ("Got 42.", [])


def test_a_refusal_names_each_field_by_its_label_and_leaves_a_general_message_alone() -> None:
    errors = {"discharge_reason": "choose the reason.", "_": "The episode is already discharged."}
    flash, refusal = attempt(lambda: refuse(errors), "Discharged.", EPISODE_LABELS)
    assert flash is None
    assert refusal == ["Reason: choose the reason.", "The episode is already discharged."]


def test_without_labels_a_refusal_is_its_messages_alone() -> None:
    assert attempt(lambda: refuse({"_": "Record a visit before screening."}), "x") == (
        None,
        ["Record a visit before screening."],
    )


def test_any_other_refusal_is_its_sentence() -> None:
    def busy() -> None:
        raise StrideError("The database is busy.")

    assert attempt(busy, "x") == (None, ["The database is busy."])


def test_a_re_screen_is_confirmed_with_its_urgency_in_words() -> None:
    screening = Screening(patient_id="p-1", urgency="ROUTINE_REVIEW", rule_set_version="2025.1")
    assert rescreen_flash(screening) == "Re-screened with the current rules: routine review."


def test_the_caption_counts_visits_in_the_singular_and_plural() -> None:
    patient = make_patient(symptom_onset=dt.date(2025, 1, 6))
    assert visits_caption(patient, 1) == "Symptoms since 06 Jan 2025 · 1 visit"
    assert visits_caption(patient, 3).endswith("· 3 visits")


@pytest.mark.parametrize(
    ("tier", "status", "needs"),
    [
        ("URGENT", "open", True),
        ("EMERGENCY", "open", True),
        ("ROUTINE_REVIEW", "open", False),
        ("URGENT", "closed", False),
    ],
)
def test_only_an_open_urgent_or_emergency_escalation_needs_a_reason_to_discharge(
    tier: str, status: str, needs: bool
) -> None:
    escalation = Escalation(patient_id="p-1", rule_id="RF_CES", tier=tier, status=status)  # type: ignore[arg-type]
    assert discharge_needs_override([escalation]) is needs


def test_an_episode_without_a_comparable_measure_says_so() -> None:
    patient = make_patient(id="patient-1")
    assert outcome_lines(patient, make_episode(), [make_visit()]) == [NO_OUTCOME]


def test_visit_notes_are_newest_first_escaped_and_keep_their_line_breaks() -> None:
    visits = [
        make_visit(0, notes="first *note*"),
        make_visit(7, notes="   "),
        make_visit(14, notes="line one\nline two"),
    ]
    assert visit_notes(visits) == [
        "**17 Feb 2025**  \nline one  \nline two",
        "**03 Feb 2025**  \nfirst \\*note\\*",
    ]


def test_the_downloads_say_what_they_hold() -> None:
    assert (FHIR_BUNDLE.mime, SUBJECT_ACCESS.mime, LETTER_COPY.mime) == (FHIR_JSON, ZIP, PDF)
    assert "Contains names" in (SUBJECT_ACCESS.help or "")
    assert LETTER_COPY.button("letter_1", "letter.pdf")["key"] == "letter_1"


def test_a_coded_choice_stores_the_code_shows_the_words_and_starts_unchosen() -> None:
    choice = coded_choice(DISCHARGE_REASONS, "Choose the reason")
    assert choice["options"] == list(DISCHARGE_REASONS)
    assert choice["index"] is None and choice["placeholder"] == "Choose the reason"
    assert choice["format_func"]("goals_met") == DISCHARGE_REASONS["goals_met"]


def test_the_subject_access_zip_is_the_exported_file_once_the_right_is_checked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    checked: list[str] = []
    monkeypatch.setattr(
        progress_views.services, "require", lambda _s, _u, permission: checked.append(permission)
    )

    def export(path: Path) -> None:
        path.write_bytes(b"PK zip")

    assert progress_views.subject_access_zip(object(), object(), export) == b"PK zip"  # type: ignore[arg-type]
    assert checked == ["export_patient"]


def test_a_screening_of_the_patients_own_answers_is_marked_patient_reported_and_provisional() -> None:
    clinician = Screening(patient_id="p", urgency="NONE", rule_set_version="v1")
    patient = clinician.model_copy(update={"source": "patient"})
    banner = screening_banner(patient)
    assert progress_views.banner_headline(banner, patient).endswith("· *patient-reported, provisional*")
    assert progress_views.banner_headline(banner, clinician) == f"{banner.icon} **{banner.headline}**"


def test_the_export_file_names_carry_only_the_start_of_the_opaque_id() -> None:
    assert progress_views.export_names("0123456789abcdef") == (
        "stride-fhir-01234567.json",
        "stride-record-01234567.zip",
    )


def test_a_patient_reported_banner_is_marked_provisional_and_ends_with_the_rule_set() -> None:
    screening = Screening(patient_id="p-1", urgency="NONE", rule_set_version="2025.1", source="patient")  # type: ignore[arg-type]
    banner = progress_views.banner_view(screening)
    assert banner.provisional and banner.headline.endswith(f"*{progress_views.PATIENT_REPORTED}*")
    assert banner.captions[-1].endswith("Rule set 2025\\.1.")
    assert banner.ask_now is None or banner.ask_now.startswith("**Ask now**")


def test_no_change_table_before_any_outcome_measure() -> None:
    assert progress_views.change_frame([]) is None
    frame = progress_views.change_frame([make_visit(0, pain_nrs=7), make_visit(14, pain_nrs=4)])
    assert frame is not None and "Pain" in " ".join(frame["Measure"])
