"""Which letters the PDFs can draw, and which text runs right to left."""

from __future__ import annotations

from collections import OrderedDict
from io import BytesIO
from pathlib import Path

import pytest
from fontTools import subset, ttLib
from fpdf import FPDF, fonts
from fpdf.enums import TextDirection
from fpdf.fonts import TTFFont

from reports import i18n, typefaces
from reports.typefaces import (
    FONT_FILES,
    SCRIPTS,
    EmbeddedProgram,
    FaceTables,
    ShapedFace,
    add_face,
    add_fallback_fonts,
    direction_runs,
    has_rtl,
    letters_by_cluster,
    one_direction,
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


def _shaped_document(language: str) -> FPDF:
    script = script_for(language)
    assert script is not None
    pdf = FPDF()
    add_face(pdf, script.family, "", script.files[""])
    pdf.add_page()
    pdf.set_font(script.family, "", 12)
    direction = "rtl" if script.rtl else "ltr"
    pdf.set_text_shaping(
        use_shaping_engine=True, direction=direction, script=script.harfbuzz_script, language=language
    )
    return pdf


def test_a_shaped_run_is_shaped_once_a_process_however_often_documents_print_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(typefaces, "_shaped_runs", OrderedDict())
    calls = []
    shape = fonts.hb.shape
    monkeypatch.setattr(fonts.hb, "shape", lambda *args: calls.append(args) or shape(*args))  # type: ignore[func-returns-value]
    for _ in range(2):
        pdf = _shaped_document("ar")
        for _ in range(2):
            pdf.cell(60, 8, "سلام عليكم", new_x="LMARGIN", new_y="NEXT")
        assert "سلام" in pdf_text(bytes(pdf.output()))
    assert len(calls) == 1  # fpdf2 alone asks harfbuzz three times a cell


def test_the_shaped_runs_a_process_keeps_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(typefaces, "_shaped_runs", OrderedDict())
    monkeypatch.setattr(typefaces, "SHAPED_RUNS_KEPT", 3)
    pdf = _shaped_document("bn")
    for count in range(1, 6):
        pdf.cell(60, 8, "রহিম " * count, new_x="LMARGIN", new_y="NEXT")
    assert len(typefaces._shaped_runs) == 3


@pytest.mark.parametrize("language", ["ar", "bn"])
def test_a_remembered_run_measures_and_maps_as_fpdf2_would_shape_it(language: str) -> None:
    found = i18n.catalogue(language)
    assert found is not None
    lines = [text for text in found.messages.values() if text][:60]
    ours, theirs = _shaped_document(language), _shaped_document(language)
    face, plain = ours.fonts[ours.font_family], theirs.fonts[theirs.font_family]
    assert isinstance(face, ShapedFace) and isinstance(plain, ShapedFace)
    params = ours.text_shaping
    for line in lines:
        assert face.shaped_text_width(line, 12, params) == TTFFont.shaped_text_width(plain, line, 12, params)
        assert face.shape_text(line, 12, params) == TTFFont.shape_text(plain, line, 12, params), line


@pytest.mark.parametrize(
    ("text", "clusters", "letters"),
    [
        ("abc", [0, 1, 2], {0: [97], 1: [98], 2: [99]}),
        ("ffi", [0], {0: [102, 102, 105]}),  # a ligature stands for all its letters
        ("ab", [1, 0], {0: [97], 1: [98]}),  # right to left: glyphs in visual order
        ("xab", [1, 2], {1: [120, 97], 2: [98]}),  # a letter before the first cluster joins it
    ],
)
def test_each_letter_belongs_to_the_cluster_it_starts_or_falls_in(
    text: str, clusters: list[int], letters: dict[int, list[int]]
) -> None:
    assert letters_by_cluster(text, clusters) == letters


def test_a_finished_document_lets_go_of_its_mapped_runs() -> None:
    pdf = _shaped_document("bn")
    pdf.cell(60, 8, "রহিম উদ্দিন")
    face = pdf.fonts[pdf.font_family]
    assert isinstance(face, ShapedFace)
    assert face.set_runs
    release_shaping(pdf)
    assert not face.set_runs


def _bidi_runs(text: str, rtl: bool) -> tuple[tuple[str, TextDirection], ...]:
    return direction_runs(text, TextDirection.RTL if rtl else TextDirection.LTR)


SHAPED_LANGUAGES = sorted(language for language in i18n.shipped_languages() if language in SCRIPTS)


@pytest.mark.parametrize("language", SHAPED_LANGUAGES)
def test_a_line_said_to_run_one_way_is_what_the_bidirectional_algorithm_returns_whole(language: str) -> None:
    # Every sentence of the catalogue and every line of a few words cut from it: the handout skips
    # fpdf2's bidirectional pass only where the pass would return the line as one run.
    found = i18n.catalogue(language)
    assert found is not None
    rtl = SCRIPTS[language].rtl
    lines = [text for text in found.messages.values() if text]
    lines += [" ".join(text.split()[i : i + 4]) for text in lines for i in range(0, len(text.split()), 4)]
    direction = TextDirection.RTL if rtl else TextDirection.LTR
    skipped = [line for line in lines if one_direction(line, rtl)]
    for line in skipped:
        assert _bidi_runs(line, rtl) == ((line, direction),), line
    # Lines the pass must still see: the rest split or nest, or hold a number inside right-to-left text.
    assert skipped and len(skipped) < len(lines) or not rtl


@pytest.mark.parametrize(
    ("text", "rtl", "one_way"),
    [
        ("Walk for 10 minutes, twice a day.", False, True),
        ("রহিম উদ্দিন 10 মিনিট হাঁটুন", False, True),  # Bengali and digits: all left to right
        ("ليلى حداد", True, True),
        ("امشِ، ثم استرح.", True, True),
        ("امشِ 10 دقائق", True, False),  # a number nests inside right-to-left text
        ("اتصل بـ NHS 111", True, False),
        ("Sara سارة", False, False),
        ("\u202bمرحبا\u202c", True, False),  # an explicit embedding
    ],
)
def test_only_a_line_without_other_direction_letters_numbers_or_embeddings_runs_one_way(
    text: str, rtl: bool, one_way: bool
) -> None:
    assert one_direction(text, rtl) is one_way
    if one_way:
        assert len(_bidi_runs(text, rtl)) == 1


def _subset(program: ttLib.TTFont, text: str) -> ttLib.TTFont:
    return ttLib.TTFont(BytesIO(_saved(program, text)))


def _saved(program: ttLib.TTFont, text: str) -> bytes:
    """The program subset to the glyphs of `text` as fpdf2 subsets it, saved."""
    cmap = program.getBestCmap()
    options = subset.Options(notdef_outline=True, recommended_glyphs=True)
    options.drop_tables += ["GDEF", "GPOS", "GSUB"]
    subsetter = subset.Subsetter(options)
    subsetter.populate(glyphs=[cmap[ord(char)] for char in text if ord(char) in cmap])
    subsetter.subset(program)
    saved = BytesIO()
    program.save(saved)
    return saved.getvalue()


FACES = {
    "dejavu": (FONT_FILES[""], "Zoë Łukasz-Müller: walk 10–30 min, ½ h (José Núñez Peña)"),
    "dejavu bold": (FONT_FILES["B"], "When to get help now: ÅÉÎ"),
    **{
        f"{language} face": (script.files[""], i18n.catalogue(language).get("Bridge") or "")  # type: ignore[union-attr]
        for language, script in SCRIPTS.items()
        if script.files[""].exists() and language in SHAPED_LANGUAGES
    },
}


@pytest.mark.parametrize("face", sorted(FACES))
def test_an_embedded_subset_keeps_the_glyphs_as_read_and_the_box_fonttools_would_compute(face: str) -> None:
    path, text = FACES[face]
    assert text
    raw = Path(path).read_bytes()
    ours = _subset(EmbeddedProgram(raw, FaceTables.read(raw)), text)
    recomputed = _subset(ttLib.TTFont(BytesIO(raw), recalcTimestamp=False), text)
    assert sorted(ours.keys()) == sorted(recomputed.keys())  # the same tables kept (no legacy kern)
    assert ours.getGlyphOrder() == recomputed.getGlyphOrder()
    for name in ours.getGlyphOrder():
        mine, theirs = ours["glyf"][name], recomputed["glyf"][name]
        assert mine.getCoordinates(ours["glyf"]) == theirs.getCoordinates(recomputed["glyf"]), name
    sides = ("xMin", "yMin", "xMax", "yMax")
    box = [getattr(ours["head"], side) for side in sides]
    assert box == [getattr(recomputed["head"], side) for side in sides]


@pytest.mark.parametrize("face", sorted(FACES))
def test_a_subset_from_the_tables_read_once_is_the_subset_read_afresh_every_time(face: str) -> None:
    path, text = FACES[face]
    raw = Path(path).read_bytes()
    tables = FaceTables.read(raw)
    order = tables.glyph_order
    # Composite glyphs (accented letters, marks) are renumbered by the subsetter: each document's own.
    for names in (text, text[::-1] + "ÀÉÎÕÜ", text):
        assert _saved(EmbeddedProgram(raw, tables), names) == _saved(EmbeddedProgram(raw), names)
    assert len(order) == len(EmbeddedProgram(raw).getGlyphOrder())
