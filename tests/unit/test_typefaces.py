"""Which letters the PDFs can draw, and which text runs right to left."""

from __future__ import annotations

from reports.typefaces import has_rtl, undrawable_letters


def test_latin_letters_with_accents_and_spaces_are_all_drawable() -> None:
    assert undrawable_letters("Zoë Łukasz-Müller\n  José") == set()


def test_a_letter_no_face_has_is_reported_once() -> None:
    assert undrawable_letters("𓀀 Test 𓀀") == {"𓀀"}


def test_arabic_and_hebrew_run_right_to_left_and_latin_does_not() -> None:
    assert has_rtl("Sara سارة")
    assert has_rtl("שרה")
    assert not has_rtl("Sara Łukasz 123")
