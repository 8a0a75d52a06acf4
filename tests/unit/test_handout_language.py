"""The handout's language (clinical-reference §14): English without a catalogue, a translation awaiting
review printed only bilingually, the page's notes saying which, and the provenance stored with it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from dashboard.governance import Decision
from dashboard.handout_language import (
    BILINGUAL_KEY,
    HandoutChoice,
    choose_handout,
    font_note,
    language_notes,
    language_options,
    stored_handout,
)
from dashboard.plan import Plan, build_plan
from data.library import load_library
from tests.factories import make_patient, make_visit

ENGLISH_PLAN = build_plan(
    make_patient(), [make_visit(walk_protocol="reported", walk_total_min=10)], load_library()
)
REVIEW = Decision(
    by="u-admin", by_name="Dr Admin", at=dt.datetime(2026, 5, 4, 9, 30, tzinfo=dt.UTC), note="ok"
)


@dataclass
class Translation:
    plan: Plan
    language: str = "ar"
    catalogue_version: str = "cat-1"
    missing: list[str] = field(default_factory=list)


ARABIC = Translation(ENGLISH_PLAN.model_copy(update={"personal_note": "ملاحظة"}))


def test_an_english_patient_gets_no_language_notes() -> None:
    assert language_notes("en", None, None) == []


def test_a_language_without_a_catalogue_is_said_to_print_in_english() -> None:
    [note] = language_notes("so", None, None)
    assert note.kind == "warning"
    # Markdown, escaped: the page shows "no Somali (Soomaali) translation ..." as typed.
    assert "no Somali \\(Soomaali\\) translation of the handout yet" in note.text
    assert "printed in English" in note.text


def test_an_unreviewed_translation_says_so_and_quotes_untranslated_sentences() -> None:
    translation = Translation(ENGLISH_PLAN, missing=["Walk *daily*", "b", "c", "d"])
    missing, awaiting = language_notes("ar", translation, None)
    assert missing.kind == "warning" and missing.text.startswith("4 sentence(s) have no Arabic")
    assert "Walk \\*daily\\*" in missing.text and "“d”" not in missing.text
    assert awaiting.kind == "info" and "awaiting clinical review" in awaiting.text


def test_a_reviewed_complete_translation_needs_no_note() -> None:
    assert language_notes("ar", ARABIC, REVIEW) == []


def test_the_patients_language_is_offered_before_english() -> None:
    assert language_options(ARABIC) == ["ar", "en"]


def test_without_a_translation_or_with_english_chosen_the_handout_is_english() -> None:
    for choice in (
        choose_handout(ENGLISH_PLAN, None, None),
        choose_handout(ENGLISH_PLAN, ARABIC, REVIEW, chosen="en", bilingual_ticked=True),
    ):
        assert (choice.language, choice.plan, choice.bilingual) == ("en", ENGLISH_PLAN, False)
        assert not choice.unreviewed


def test_an_unreviewed_translation_is_always_bilingual() -> None:
    choice = choose_handout(ENGLISH_PLAN, ARABIC, None, chosen="ar", bilingual_ticked=False)
    assert choice.bilingual and choice.unreviewed
    assert choice.plan is ARABIC.plan
    options = choice.render_options(large_print=True)
    assert options == {
        "large_print": True,
        "language": "ar",
        "english_safety_net": [],
        "review_note": True,
        "bilingual_with": ENGLISH_PLAN,
    }


def test_a_reviewed_translation_may_print_alone() -> None:
    choice = choose_handout(ENGLISH_PLAN, ARABIC, REVIEW, chosen="ar", bilingual_ticked=False)
    assert not choice.bilingual and not choice.unreviewed
    assert choice.render_options(large_print=False)["bilingual_with"] is None


def test_an_unreviewed_single_language_handout_adds_the_english_safety_net() -> None:
    choice = HandoutChoice(ENGLISH_PLAN, ARABIC, None, bilingual=False)
    assert choice.render_options(large_print=False)["english_safety_net"] == ENGLISH_PLAN.safety_net


def test_the_provenance_names_language_catalogue_review_and_layout() -> None:
    assert choose_handout(ENGLISH_PLAN, None, None).provenance() == {
        "language": "en",
        "catalogue_version": None,
        "translation_review": None,
        "untranslated": [],
        "layout": "single language",
    }
    unreviewed = choose_handout(ENGLISH_PLAN, Translation(ENGLISH_PLAN, missing=["x"]), None, chosen="ar")
    assert unreviewed.provenance() == {
        "language": "ar",
        "catalogue_version": "cat-1",
        "translation_review": "awaiting clinical review",
        "untranslated": ["x"],
        "layout": "bilingual",
    }
    reviewed = choose_handout(ENGLISH_PLAN, ARABIC, REVIEW, chosen="ar").provenance()
    assert reviewed["translation_review"] == "reviewed, recorded by Dr Admin on 2026-05-04"
    assert reviewed["layout"] == "single language"


def test_letters_no_font_can_print_are_named_in_order() -> None:
    assert font_note(set()) is None
    note = font_note({"ꙮ", "ᚠ"})
    assert note is not None and note.kind == "warning"
    assert "letters of the name or note: ᚠ ꙮ." in note.text


def test_a_bilingual_handout_keeps_its_english_plan_and_reads_back_as_printed() -> None:
    choice = choose_handout(ENGLISH_PLAN, ARABIC, None, chosen="ar")
    shown = stored_handout(choice.stored_plan())
    assert shown is not None
    assert (shown.plan, shown.language, shown.review_note) == (ARABIC.plan, "ar", True)
    assert shown.bilingual_with == ENGLISH_PLAN
    assert shown.provenance["catalogue_version"] == "cat-1"


def test_an_english_handout_reads_back_without_an_english_twin_or_review_note() -> None:
    stored = choose_handout(ENGLISH_PLAN, None, None).stored_plan()
    assert BILINGUAL_KEY not in stored
    shown = stored_handout(stored)
    assert shown is not None and shown.bilingual_with is None and not shown.review_note
    assert shown.render_options()["language"] == "en"


def test_a_bilingual_handout_stored_without_its_english_plan_or_a_broken_plan_is_not_shown() -> None:
    stored = choose_handout(ENGLISH_PLAN, ARABIC, None, chosen="ar").stored_plan()
    del stored[BILINGUAL_KEY]  # recorded before the web version kept it: never a translation alone
    assert stored_handout(stored) is None
    assert stored_handout({"not": "a plan"}) is None
