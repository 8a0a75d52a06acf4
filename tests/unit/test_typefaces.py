"""Which letters the PDFs can draw, and which text runs right to left."""

from __future__ import annotations

import pytest
from fpdf import FPDF, fonts
from fpdf.fonts import TTFFont

from reports.typefaces import (
    ShapedFace,
    add_face,
    add_fallback_fonts,
    has_rtl,
    release_shaping,
    script_for,
    undrawable_letters,
)
from tests.conftest import pdf_text


def test_latin_letters_with_accents_and_spaces_are_all_drawable() -> None:
    assert undrawable_letters("Zoë Łukasz-Müller\n  José") == set()


def test_a_letter_no_face_has_is_reported_once() -> None:
    assert undrawable_letters("𓀀 Test 𓀀") == {"𓀀"}


def test_arabic_and_hebrew_run_right_to_left_and_latin_does_not() -> None:
    assert has_rtl("Sara سارة")
    assert has_rtl("שרה")
    assert not has_rtl("Sara Łukasz 123")


def test_a_name_the_language_face_draws_loads_no_fallback_face() -> None:
    # The CJK fallback face costs ~250 ms to parse; a Bengali name in a Bengali handout never uses it.
    assert script_for("bn") is not None
    assert add_fallback_fonts(FPDF(), "রহিম উদ্দিন", "bn") == []
    assert add_fallback_fonts(FPDF(), "রহিম উদ্দিন 李", "bn") != []


def test_two_documents_share_a_parsed_face_but_not_its_subset_or_font_program() -> None:
    script = script_for("ar")
    assert script is not None
    first, second = FPDF(), FPDF()
    for pdf in (first, second):
        add_face(pdf, script.family, "", script.files[""])
    one, two = first.fonts[script.family], second.fonts[script.family]
    assert isinstance(one, TTFFont) and isinstance(two, TTFFont)
    assert one.cmap is two.cmap
    assert one.subset is not two.subset and one.ttfont is not two.ttfont
    assert one.hbfont is not two.hbfont


def test_a_shaped_run_is_shaped_once_however_often_fpdf2_measures_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    script = script_for("ar")
    assert script is not None
    pdf = FPDF()
    add_face(pdf, script.family, "", script.files[""])
    pdf.add_page()
    pdf.set_font(script.family, "", 12)
    pdf.set_text_shaping(use_shaping_engine=True, direction="rtl", script="arab", language="ar")
    calls = []
    shape = fonts.hb.shape
    monkeypatch.setattr(fonts.hb, "shape", lambda *args: calls.append(args) or shape(*args))
    for _ in range(2):
        pdf.cell(60, 8, "سلام عليكم", new_x="LMARGIN", new_y="NEXT")
    assert len(calls) == 1  # fpdf2 alone asks harfbuzz three times a cell
    assert "سلام" in pdf_text(bytes(pdf.output()))


def test_a_finished_document_lets_go_of_its_shaping_results() -> None:
    script = script_for("bn")
    assert script is not None
    pdf = FPDF()
    add_face(pdf, script.family, "", script.files[""])
    pdf.add_page()
    pdf.set_font(script.family, "", 12)
    pdf.set_text_shaping(use_shaping_engine=True, direction="ltr", script="beng", language="bn")
    pdf.cell(60, 8, "রহিম উদ্দিন")
    face = pdf.fonts[script.family]
    assert isinstance(face, ShapedFace)
    assert face.shaped and face.set_runs
    release_shaping(pdf)
    assert not face.shaped and not face.set_runs
