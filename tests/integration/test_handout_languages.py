"""Handouts in the patient's language: every shipped catalogue is complete, each language prints its
sentences and the patient's name in logical order with embedded faces and no empty boxes (.notdef),
and an unreviewed translation says so on every page with the English safety net in full."""

from __future__ import annotations

import logging
import re
import tempfile
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
from fpdf import fpdf as fpdf_module
from fpdf.unicode_script import UnicodeScript, get_unicode_script

from dashboard.config import Settings
from dashboard.plan import PLACEHOLDERS, Plan
from reports import i18n, typefaces
from reports.handout import render, render_checked
from tests.integration.test_handout_pdf import CREATED, LIBRARY, assert_same_to_a_reader, full_plan, poppler

VALUES = {name: getattr(Settings(), name) for name in PLACEHOLDERS}
# A name in each language's own script (and one mixed), to come back whole.
NAMES = {
    "ar": "ليلى حداد",
    "bn": "রহিম উদ্দিন",
    "es": "José Núñez Peña",
    "pl": "Łucja Wójcik-Żak",
    "ur": "عائشہ خان",
}
KNOWN = "Keep your head up and look ahead."
REVIEW_NOTE = "Translation not yet reviewed by a clinician. The English safety net is printed in full."
# pdftotext wraps right-to-left runs in direction marks and may split Bengali clusters with spaces.
_MARKS = re.compile(r"[\s\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def flat(text: str) -> str:
    """Text without whitespace and direction marks, for comparing extracted text with the input."""
    return _MARKS.sub("", text)


def translated(language: str, name: str) -> tuple[Plan, Plan]:
    plan = full_plan()
    plan.patient_display_name = name
    translation = i18n.translate_plan(plan, LIBRARY, language, VALUES)
    assert translation is not None
    assert translation.missing == []
    return plan, translation.plan


def test_every_shipped_catalogue_translates_every_sentence_of_the_library_and_the_page() -> None:
    assert set(i18n.shipped_languages()) >= {"ar", "bn", "es"}
    assert list(i18n.untranslated()) == []


def test_the_check_command_lists_an_untranslated_string(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = i18n.catalogue_path("es").read_text(encoding="utf-8")
    target = tmp_path / "es" / "LC_MESSAGES" / "handout.po"
    target.parent.mkdir(parents=True)
    target.write_text(source.replace('msgstr "Puente"', 'msgstr ""'), encoding="utf-8")
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    assert list(i18n.untranslated()) == [("es", "Bridge")]
    assert i18n.main(["check"]) == 1


@pytest.mark.parametrize("language", sorted(NAMES))
def test_a_plan_prints_in_the_language_with_the_name_in_logical_order_and_no_empty_boxes(
    language: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    if language not in i18n.shipped_languages():
        pytest.skip(f"no {language} catalogue shipped yet")
    english, plan = translated(language, NAMES[language])
    with caplog.at_level(logging.WARNING, logger="fpdf"):
        pdf = render(
            plan,
            creation_date=CREATED,
            language=language,
            english_safety_net=english.safety_net,
            review_note=True,
        )
    assert not [r for r in caplog.records if "missing the following glyphs" in r.getMessage()]
    path = tmp_path / f"handout-{language}.pdf"
    path.write_bytes(pdf)
    text = flat(poppler("pdftotext", "-enc", "UTF-8", str(path), "-"))
    found = i18n.catalogue(language)
    assert found is not None
    sentence = found.get(KNOWN)
    assert sentence is not None
    assert flat(sentence) in text
    assert flat(NAMES[language]) in text
    fonts = poppler("pdffonts", str(path)).splitlines()[2:]
    assert fonts and all(line.split()[-5] == "yes" for line in fonts), fonts  # the "emb" column
    # Page images, kept with the test's files for a person to look at.
    poppler("pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1", str(path), str(tmp_path / language))
    assert list(tmp_path.glob(f"{language}*.png"))


@pytest.mark.parametrize("language", ["ar", "es"])
def test_an_unreviewed_translation_says_so_on_every_page_and_prints_the_english_safety_net(
    language: str,
) -> None:
    english, plan = translated(language, NAMES[language])
    pdf = render(
        plan,
        creation_date=CREATED,
        language=language,
        english_safety_net=english.safety_net,
        review_note=True,
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "h.pdf"
        path.write_bytes(pdf)
        pages = poppler("pdftotext", "-enc", "UTF-8", str(path), "-").split("\f")[:-1]
    assert pages
    for page in pages:
        assert flat(REVIEW_NOTE) in flat(page)
    whole = flat("".join(pages))
    assert flat("When to get help (in English)") in whole
    for item in english.safety_net:
        for line in item.bullets:
            assert flat(line) in whole


@pytest.mark.parametrize("language", ["ar", "bn", "es"])
def test_a_letter_no_face_has_is_caught_by_the_empty_box_check(language: str) -> None:
    # The check above would fail on a .notdef box (or a letter shaping left out).
    _, plan = translated(language, "Leila \U00013000")
    assert render_checked(plan, creation_date=CREATED, language=language).notdef == {"\U00013000"}


def test_a_language_without_a_catalogue_gives_no_translation() -> None:
    assert i18n.translate_plan(full_plan(), LIBRARY, "so", VALUES) is None


def test_a_sentence_the_clinician_edited_is_reported_as_untranslated() -> None:
    plan = full_plan()
    plan.sections["core"][0].text = "My own words for this patient."
    translation = i18n.translate_plan(plan, LIBRARY, "es", VALUES)
    assert translation is not None
    assert translation.missing == ["My own words for this patient."]
    assert translation.plan.sections["core"][0].text == "My own words for this patient."


@pytest.mark.parametrize("language", ["ar", "bn"])
def test_the_bilingual_layout_prints_each_english_paragraph_above_its_translation(language: str) -> None:
    english, plan = translated(language, NAMES[language])
    pdf = render(plan, creation_date=CREATED, language=language, review_note=True, bilingual_with=english)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "h.pdf"
        path.write_bytes(pdf)
        text = flat(poppler("pdftotext", "-enc", "UTF-8", str(path), "-"))
    found = i18n.catalogue(language)
    assert found is not None
    for sentence in ("Hurting does not mean harm", KNOWN, "You have new weakness in a leg."):
        local = found.get(sentence)
        assert local is not None
        # A full stop at the end of a right-to-left line is extracted before it: compare without it.
        english_words, local_words = flat(sentence).rstrip("."), flat(local).rstrip(".")
        assert english_words in text
        assert local_words in text
        assert text.index(english_words) < text.index(local_words)


@pytest.mark.parametrize("language", ["ar", "bn"])
def test_numbers_and_bullets_set_without_shaping_look_as_shaped_and_shaping_resumes(
    language: str, tmp_path: Path
) -> None:
    from fpdf import FPDF
    from PIL import Image, ImageChops

    from reports.handout import print_settings
    from reports.handout_page import HandoutPage

    _, plan = translated(language, NAMES[language])
    pages = []
    for name, print_cell in (("ours", HandoutPage.cell), ("shaped", FPDF.cell)):
        pdf = HandoutPage(plan, print_settings(False), language=language)
        pdf.add_page()
        shaping = pdf.text_shaping
        for text in ("150", "•", "2025", "7"):
            pdf.use(11)
            print_cell(pdf, 40, 6, text, align="R", new_x="LMARGIN", new_y="NEXT")
        assert pdf.text_shaping == shaping
        path = tmp_path / f"{name}.pdf"
        path.write_bytes(bytes(pdf.output()))
        poppler("pdftoppm", "-png", "-r", "150", "-f", "1", "-l", "1", str(path), str(tmp_path / name))
        pages.append(Image.open(next(tmp_path.glob(f"{name}*.png"))).convert("RGB"))
    assert ImageChops.difference(*pages).getbbox() is None


@pytest.mark.parametrize("language", ["ar", "bn", "ur"])
def test_faces_parsed_once_and_runs_shaped_once_print_what_fresh_faces_print(
    language: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Bilingual, so both the script face and DejaVu are shaped; rendered twice so the second handout
    # takes every run from the process's shaped runs.
    english, plan = translated(language, NAMES[language])
    options = {"creation_date": CREATED, "language": language, "bilingual_with": english, "review_note": True}
    render(plan, **options)
    reused = render(plan, **options)
    monkeypatch.setattr(typefaces, "REUSE_PARSED_FONTS", False)
    assert_same_to_a_reader(reused, render(plan, **options), tmp_path)


def _runs(fragments: Any) -> list[tuple[str, str, float, dict[str, Any]]]:
    """Each run's letters, face and size, and the rest of its graphics state (colours, emphasis, shaping)."""
    return [
        (
            "".join(f.characters),
            f.font.fontkey,
            f.font_size_pt,
            {
                field.name: getattr(f.graphics_state, field.name)
                for field in fields(f.graphics_state)
                if field.name != "current_font"  # each document's own (its key is compared)
            },
        )
        for f in fragments
    ]


def _handout_pages(language: str, style: str = "") -> tuple[Any, Any]:
    from reports.handout import print_settings
    from reports.handout_page import HandoutPage

    _, plan = translated(language, NAMES[language])
    pages = tuple(HandoutPage(plan, print_settings(False), language=language) for _ in range(2))
    for pdf in pages:
        pdf.add_page()
        pdf.set_font(pdf.family, style, 11)
    return pages


def _marks_keep_their_letters(char: str) -> Any:
    script = get_unicode_script(char)
    return UnicodeScript.COMMON if script == UnicodeScript.INHERITED else script


@pytest.mark.parametrize("language", ["ar", "bn", "ur"])
@pytest.mark.parametrize("style", ["", "B"])
def test_a_line_is_cut_into_the_runs_fpdf2_would_cut_it_into_marks_kept_with_their_letters(
    language: str, style: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every sentence of the catalogue, a few words of each, the patient's name beside Latin letters
    # (a fallback face) and the page furniture: the handout's own split gives the runs, faces, emphasis
    # and shaping settings fpdf2's gives once its script rule lets a combining mark join its run.
    from fpdf import FPDF

    found = i18n.catalogue(language)
    assert found is not None
    lines = [text for text in found.messages.values() if text]
    lines += [" ".join(text.split()[i : i + 4]) for text in lines for i in range(0, len(text.split()), 4)]
    lines += [NAMES[language], f"{NAMES[language]} Zoë 12", "1 2 3", "‎Stride‎ 0123 456 789", "Zoë"]
    ours, theirs = _handout_pages(language, style)
    monkeypatch.setattr(fpdf_module, "get_unicode_script", _marks_keep_their_letters)
    for line in lines:
        mine = _runs(ours._preload_bidirectional_text(line, False))
        fpdf2 = _runs(FPDF._preload_bidirectional_text(theirs, line, False))
        assert mine == fpdf2, line
        assert ours.text_shaping == theirs.text_shaping, line


def test_a_vowel_mark_is_shaped_with_the_letters_around_it_so_they_stay_joined() -> None:
    # fpdf2 alone shapes "شيئًا" as "شيئ" + "ًا": the yeh takes its final form, cut off from the alif.
    from fpdf import FPDF

    word, unmarked = "شيئًا", "شيئا"
    ours, theirs = _handout_pages("ar")
    split = ["".join(f.characters) for f in FPDF._preload_bidirectional_text(theirs, word, False)]
    assert split == ["شيئ", "ً", "ا"]
    assert ["".join(f.characters) for f in ours._preload_bidirectional_text(word, False)] == [word]
    face = ours.fonts[ours.family]
    assert isinstance(face, typefaces.ShapedFace)

    def letters(text: str) -> list[str]:
        run = face.shaped_run(text, 11, ours.text_shaping)
        return [glyph.glyph_name for glyph in run.glyphs if glyph.x_advance]  # marks take no room

    # Every letter in the form it takes in the word without its mark; fpdf2's split changes the yeh's.
    assert letters(word) == letters(unmarked)
    assert sorted(name for part in split for name in letters(part)) != sorted(letters(unmarked))


@pytest.mark.parametrize("language", ["ar", "ur"])
def test_the_page_count_of_a_right_to_left_footer_sits_one_space_from_the_word_before_it(
    language: str, tmp_path: Path
) -> None:
    # The count is set after the last page, in a width kept for three digits: it keeps to that width's
    # right edge, beside the word before it (fpdf2's default left edge left a two-digit gap there).
    english, plan = translated(language, NAMES[language])
    path = tmp_path / "footer.pdf"
    path.write_bytes(
        render(plan, creation_date=CREATED, language=language, bilingual_with=english, review_note=True)
    )
    words = re.findall(
        r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)"[^>]*>([^<]+)</word>',
        poppler("pdftotext", "-bbox", "-f", "1", "-l", "1", str(path), "-"),
    )
    last_line = max(float(y) for _, y, _, _ in words)
    footer = sorted((float(x0), float(x1), text) for x0, y, x1, text in words if float(y) == last_line)
    # Left to right on the page: the count, the word before it, this page's number, "Page".
    (_, count_end, count), (before_start, before_end, _), (number_start, _, number) = footer[:3]
    assert count.isdigit() and number == "1"
    assert before_start - count_end == pytest.approx(number_start - before_end, abs=0.5)
