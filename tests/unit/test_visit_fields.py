"""The visit form's widgets as data: every widget key the form keeps is drawn from one place, in one
section, and an edit reruns its section, the closing section and the derived values it feeds."""

from __future__ import annotations

from dashboard.page_keys import Visit as Keys
from dashboard.visit_fields import FORM_FIELDS, PSFS_SECTION, QUESTIONNAIRES, reruns
from dashboard.visit_form import KEPT_KEYS, SCREENING_GROUPS, group_negative

# Drawn by the page itself: their options come from the library, their labels name the visit carried from.
PAGE_DRAWN = {"posture_findings", "footwear_findings", "confirm_carried", "confirm_reported"}


def test_every_widget_the_form_keeps_is_described_once_in_one_section() -> None:
    kept = {key.removeprefix(Keys.PREFIX) for key in KEPT_KEYS}
    assert kept - PAGE_DRAWN == set(FORM_FIELDS)
    assert all(spec.section for spec in FORM_FIELDS.values())


def test_a_measurement_edit_reruns_its_section_the_closing_section_and_the_derived_values() -> None:
    assert FORM_FIELDS["walk_total_min"].reruns() == [
        Keys.WALKING_SECTION,
        Keys.CLOSING_SECTION,
        Keys.DERIVED_SECTION,
    ]
    assert FORM_FIELDS["odi_0"].reruns()[0] == Keys.QUESTIONNAIRE_SECTION + "odi"
    assert FORM_FIELDS["psfs_score_0"].section == PSFS_SECTION


def test_a_screening_answer_changes_no_score_so_it_skips_the_derived_values() -> None:
    assert FORM_FIELDS["bladder_dysfunction"].reruns() == [
        Keys.SCREENING_SECTION + "ces",
        Keys.CLOSING_SECTION,
    ]
    # An out-of-range temperature makes the visit invalid, which the derived values show.
    assert Keys.DERIVED_SECTION in FORM_FIELDS["temperature_c"].reruns()


def test_the_closing_sections_own_fields_rerun_it_once() -> None:
    assert FORM_FIELDS["reason"].reruns() == [Keys.CLOSING_SECTION]
    assert reruns(Keys.CLOSING_SECTION, derived=True) == [Keys.CLOSING_SECTION, Keys.DERIVED_SECTION]


def test_each_screening_group_is_its_own_section_and_its_button_sets_only_its_questions() -> None:
    for group, layout in SCREENING_GROUPS.items():
        assert {FORM_FIELDS[name].section for name in layout["fields"]} == {Keys.SCREENING_SECTION + group}
    assert group_negative("fracture", Keys.PREFIX) == {"v_trauma": "none", "v_sudden_severe_pain": False}


def test_each_questionnaire_lays_out_its_items_in_its_own_section() -> None:
    for layout in QUESTIONNAIRES:
        assert {FORM_FIELDS[item].section for item in (*layout.lead, *layout.items)} == {layout.section}
    startback = next(q for q in QUESTIONNAIRES if q.instrument == "startback")
    assert startback.wide_last and FORM_FIELDS[startback.items[-1]].options["very_much"] == "very much"


def test_the_fields_are_labelled_as_the_messages_name_them() -> None:
    assert FORM_FIELDS["pain_nrs"].label == "Current pain, NPRS (0–10)"
    assert FORM_FIELDS["walk_total_min"].label == "Total time (min)"
    assert FORM_FIELDS["next_review_date"].label == "Next review date"
    assert FORM_FIELDS["zcq_q1"].label.startswith("q1 ")
