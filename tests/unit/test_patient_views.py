"""What the Patients page offers in its form and says about a patient, their visits and changes."""

from __future__ import annotations

import datetime as dt

from dashboard import patient_views
from dashboard.models import RISK_FIELDS
from dashboard.ports import InvalidInputError, Revision, StrideError
from tests.factories import make_patient, make_visit


def test_a_new_patient_has_no_sex_chosen_and_english_handouts() -> None:
    assert patient_views.sex_index({}) is None
    tags, index = patient_views.language_choices({})
    assert tags[index] == "en"


def test_an_edited_patient_starts_from_their_recorded_sex_and_language() -> None:
    assert patient_views.sex_index({"sex": "M"}) == list(patient_views.SEX).index("M")
    tags, index = patient_views.language_choices({"language": "es"})
    assert tags[index] == "es"


def test_a_language_tag_stored_by_an_import_stays_selectable() -> None:
    tags, index = patient_views.language_choices({"language": "xx-Test"})
    assert tags[-1] == "xx-Test" and index == len(tags) - 1


def test_field_messages_are_named_by_the_forms_labels_and_escaped() -> None:
    (message,) = patient_views.field_errors({"birth_date": "Must not be in the *future*."})
    assert message.startswith("Date of birth") and "\\*future\\*" in message


def test_a_search_result_shows_name_reference_and_whether_archived() -> None:
    patient = make_patient(given_name="Ana", family_name="Silva", patient_ref="T-1")
    assert patient_views.found_line(patient) == "**Ana Silva** · T\\-1"
    assert patient_views.found_line(patient.model_copy(update={"archived": True})).endswith(" · archived")


def test_the_summary_gives_age_sex_onset_and_the_recorded_risk_history() -> None:
    patient = make_patient(osteoporosis=True, smoker=True)
    assert patient_views.summary_caption(patient, dt.date(2026, 12, 4)) == (
        "Age 66 · Female · symptom onset 2025-01-06"
    )
    assert patient_views.risk_history(patient) == "**Risk history:** Osteoporosis, Smoker"
    assert patient_views.risk_history(make_patient()) == "**Risk history:** none recorded"


def test_a_corrected_visit_shows_its_version_pain_and_walking_test() -> None:
    first = make_visit(pain_nrs=6, walk_protocol="spwt", walk_total_m=300)
    assert patient_views.visit_cells(first) == (
        "**2025-02-03**",
        "Pain 6/10",
        "Walking: Self-paced walking test (SPWT)",
    )
    corrected = make_visit(version=2)
    assert patient_views.visit_cells(corrected) == ("**2025-02-03** · v2", "Pain –/10", "Walking: no test")


def test_an_archived_patient_is_restored_and_an_active_one_archived() -> None:
    assert patient_views.archive_label(make_patient()) == "Archive patient"
    assert patient_views.archive_label(make_patient(archived=True)) == "Restore patient"


def test_a_change_to_the_record_shows_its_version_time_and_escaped_reason() -> None:
    rev = Revision("patient", "p1", 2, dt.datetime(2026, 12, 4, 9, 14), "u1", "typo_fix", None, None)
    assert patient_views.revision_line(rev) == "**v2** · 2026-12-04 09:14 UTC · reason: typo\\_fix"


def test_a_refusal_of_the_form_names_each_field_by_its_label_and_escapes_it() -> None:
    refusal = InvalidInputError({"birth_date": "Must not be in the *future*.", "family_name": "Give a name."})
    messages = patient_views.refusal_messages(refusal, by_label=True)
    assert [m.split("\\:")[0] for m in messages] == ["Date of birth", "Family name"]
    assert "\\*future\\*" in messages[0]


def test_any_other_refusal_is_one_escaped_sentence() -> None:
    refusal = InvalidInputError({"query": "Search text cannot contain control characters."})
    assert patient_views.refusal_messages(refusal) == ["Search text cannot contain control characters\\."]
    assert patient_views.refusal_messages(StrideError("Not *found*"), by_label=True) == ["Not \\*found\\*"]


def test_the_add_form_is_open_only_when_nothing_is_searched_and_no_patient_is_chosen() -> None:
    assert patient_views.add_form_expanded("", "")
    assert not patient_views.add_form_expanded("Zoe", "")
    assert not patient_views.add_form_expanded("", "p1")


def test_the_risk_checkboxes_come_two_a_row_in_the_forms_order() -> None:
    rows = patient_views.RISK_ROWS
    assert all(len(row) == 2 for row in rows[:-1]) and 1 <= len(rows[-1]) <= 2
    assert [name for row in rows for name, _label in row] == list(RISK_FIELDS)
    assert rows[0][0] == ("history_of_cancer", "History of cancer (current or previous)")


def test_a_search_result_says_when_the_patient_was_born() -> None:
    assert patient_views.born_caption(make_patient(birth_date=dt.date(1961, 3, 9))) == "born 1961-03-09"


def test_visits_are_listed_newest_first_with_their_ids() -> None:
    older, newer = make_visit(0, id="v1", pain_nrs=6), make_visit(14, id="v2", pain_nrs=3)
    assert patient_views.visit_rows([older, newer]) == [
        ("v2", "**2025-02-17**", "Pain 3/10", "Walking: no test"),
        ("v1", "**2025-02-03**", "Pain 6/10", "Walking: no test"),
    ]


def test_the_history_counts_the_changes_and_lists_the_newest_first_with_before_and_after() -> None:
    first = Revision("patient", "p1", 1, dt.datetime(2026, 12, 1, 8, 0), "u1", "created", None, {"a": 1})
    second = Revision("patient", "p1", 2, dt.datetime(2026, 12, 4, 9, 14), "u1", "typo", {"a": 1}, {"a": 2})
    assert patient_views.history_label([first, second]) == "🕘 History of changes (2)"
    (line, change), _ = patient_views.history_entries([first, second])
    assert line.startswith("**v2**") and change == {"before": {"a": 1}, "after": {"a": 2}}


def test_the_form_offers_sex_in_words_unchosen_for_a_new_patient_and_the_recorded_language() -> None:
    new = patient_views.sex_choice({})
    assert (new["options"], new["index"], new["placeholder"]) == (["F", "M", "X"], None, "Choose")
    assert new["format_func"]("X") == "Other / not stated"
    assert patient_views.sex_choice({"sex": "M"})["index"] == 1
    language = patient_views.language_choice({"language": "es"})
    assert language["options"][language["index"]] == "es" and language["format_func"]("en") == "English"
