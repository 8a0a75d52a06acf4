"""The PDF handout, checked the way a reader and a PDF tool see it: poppler's pdftotext, pdffonts,
pdfinfo and pdftoppm on the rendered bytes.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import statistics
import subprocess
from pathlib import Path
from typing import Any

import pytest
from fontTools import ttLib

import reports.handout as handout
from dashboard.plan import PICTOGRAM_KEYS, SECTION_HEADINGS, Plan, build_plan
from data.library import load_library
from reports.handout import FONT_FILES, PICTOGRAMS, print_settings, render
from tests.conftest import pdf_text
from tests.factories import make_patient, make_visit

LIBRARY = load_library()
CREATED = dt.datetime(2025, 3, 3, 12, 0, tzinfo=dt.UTC)
NAME = "Zoë Łukasz-Müller"


def poppler(tool: str, *args: str) -> str:
    """Run a poppler tool and return its standard output (fails the test when poppler is missing)."""
    exe = shutil.which(tool)
    if exe is None:
        pytest.fail(f"{tool} is missing: install poppler-utils")
    result = subprocess.run([exe, *args], capture_output=True, check=True, timeout=60)
    return result.stdout.decode("utf-8")


def full_plan(**options: Any) -> Plan:
    """A plan with every section: neurogenic pattern, cancer history, findings, STarT Back and a note."""
    visit = make_visit(
        visit_date=dt.date(2025, 3, 3),
        walk_protocol="spwt",
        walk_onset_min=6.0,
        walk_total_min=9.0,
        walk_stop_reason="symptoms",
        leg_pain_on_walking=True,
        relief="sitting_or_flexion",
        symptom_location="buttock_thigh",
        posture_findings={"forward_lean"},
        footwear_findings={"worn_cushioning"},
        startback={**{f"q{i}": "agree" for i in range(1, 9)}, "q9": "very_much"},
    )
    plan = build_plan(
        make_patient(history_of_cancer=True),
        [visit],
        LIBRARY,
        clinician_name="Alex Rivera",
        plan_date=dt.date(2025, 3, 3),
        **options,
    )
    plan.personal_note = "Lovely to see you today. Keep up the walks to the park."
    return plan


@pytest.fixture(scope="module")
def pdf_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("handout") / "plan.pdf"
    path.write_bytes(render(full_plan(), creation_date=CREATED))
    return path


@pytest.fixture(scope="module")
def text(pdf_path: Path) -> str:
    return pdf_text(pdf_path)


def page_count(pdf: Path) -> int:
    """Pages in a PDF, from pdfinfo."""
    match = re.search(r"^Pages:\s+(\d+)", poppler("pdfinfo", str(pdf)), re.MULTILINE)
    assert match
    return int(match.group(1))


def body_size_pt(pdf: bytes, tmp_path: Path) -> float:
    """The most common font size among the words of page 1 (the body text), from word boxes."""
    path = tmp_path / "sized.pdf"
    path.write_bytes(pdf)
    boxes = re.findall(
        r'yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)"',
        poppler("pdftotext", "-bbox", "-l", "1", str(path), "-"),
    )
    with ttLib.TTFont(FONT_FILES[""], lazy=True) as font:
        # A word box is one line of the font: (ascent - descent) / units per em of the size.
        em_per_box = (font["hhea"].ascent - font["hhea"].descent) / font["head"].unitsPerEm
    heights = [round(float(y_max) - float(y_min), 1) for y_min, y_max in boxes]
    return float(statistics.mode(heights)) / em_per_box


# --- What the patient reads -------------------------------------------------------------------------


def test_every_section_heading_is_in_the_text(text: str) -> None:
    for heading in SECTION_HEADINGS.values():
        assert heading in text


def test_the_patient_name_comes_out_with_its_accents_intact(text: str) -> None:
    assert NAME in text


def test_clinic_clinician_and_date_are_printed(text: str) -> None:
    assert "Stride Demo Physiotherapy (fictional)" in text
    assert "Alex Rivera" in text
    assert "3 March 2025" in text


def test_the_walking_programme_table_and_chart_are_printed(text: str) -> None:
    assert re.search(r"Week\s+Each walk", text)
    assert re.search(r"^\s*1\s+5 min\s+3\s+5\s+75\s*$", text, re.MULTILINE)
    assert "Minutes of walking each week" in text
    assert "Goal: 150 minutes a week" in text


def test_every_exercise_card_is_printed_with_its_dose(text: str) -> None:
    for name in ("Pelvic tilt", "Knee to chest", "Exercise bike"):
        assert name in text
    assert text.count("How much:") == 3


def test_the_safety_net_uses_the_configured_services_and_the_cancer_lines(text: str) -> None:
    assert "When to get help" in text
    assert "Go to A&E (the emergency department) straight away, or call" in text
    assert "NHS 111 or your GP" in text
    assert "As you have had cancer" in text


def test_the_safety_net_is_printed_even_on_the_barest_plan(tmp_path: Path) -> None:
    bare = Plan(patient_display_name=NAME, patient_ref="T-1", plan_date=dt.date(2025, 3, 3))
    assert "When to get help" in pdf_text(render(bare, creation_date=CREATED))


def test_a_plan_without_a_first_walk_length_has_no_table(tmp_path: Path) -> None:
    plan = build_plan(make_patient(), [make_visit()], LIBRARY)
    printed = pdf_text(render(plan, creation_date=CREATED))
    assert "Your first walks" in printed
    assert "Each walk" not in printed


def test_every_page_is_numbered_and_says_who_prepared_it(pdf_path: Path, text: str) -> None:
    pages = page_count(pdf_path)
    for number in range(1, pages + 1):
        assert f"Page {number} of {pages}" in text
    assert text.count("with Stride decision support") == pages


def test_a_very_long_word_wraps_instead_of_running_off_the_page(tmp_path: Path) -> None:
    plan = full_plan()
    plan.personal_note = "Walk" + "a" * 300 + " done."
    printed = pdf_text(render(plan, creation_date=CREATED))
    assert "done." in printed


# --- What a PDF tool sees ---------------------------------------------------------------------------


def test_the_fonts_are_embedded_subsets_of_dejavu(pdf_path: Path) -> None:
    rows = poppler("pdffonts", str(pdf_path)).splitlines()[2:]
    assert len(rows) == 2
    for row in rows:
        name, *_, emb, sub, uni, _obj, _gen = row.split()
        assert "DejaVuSans" in name
        assert (emb, sub, uni) == ("yes", "yes", "yes")


def test_title_language_and_creation_date_are_set(pdf_path: Path) -> None:
    info = poppler("pdfinfo", "-isodates", str(pdf_path))
    assert re.search(r"^Title:\s+Your walking and back plan - 3 March 2025$", info, re.MULTILINE)
    assert re.search(r"^CreationDate:\s+2025-03-03T12:00:00Z$", info, re.MULTILINE)
    assert b"/Lang (en-GB)" in pdf_path.read_bytes()


def test_the_same_plan_and_creation_date_give_the_same_bytes() -> None:
    plan = full_plan()
    assert render(plan, creation_date=CREATED) == render(plan, creation_date=CREATED)


def test_a_different_creation_date_gives_different_bytes() -> None:
    plan = full_plan()
    assert render(plan, creation_date=CREATED) != render(plan, creation_date=CREATED + dt.timedelta(days=1))


def test_reusing_parsed_fonts_changes_nothing_in_the_output(monkeypatch: pytest.MonkeyPatch) -> None:
    plan = full_plan()
    reused = render(plan, large_print=True, creation_date=CREATED)
    monkeypatch.setattr(handout, "REUSE_PARSED_FONTS", False)
    assert render(plan, large_print=True, creation_date=CREATED) == reused


def test_large_print_body_text_is_at_least_14_pt(tmp_path: Path) -> None:
    assert print_settings(large_print=True).body_pt >= 14
    plan = full_plan()
    assert body_size_pt(render(plan, large_print=True, creation_date=CREATED), tmp_path) == pytest.approx(
        14, abs=0.2
    )
    assert body_size_pt(render(plan, creation_date=CREATED), tmp_path) == pytest.approx(11, abs=0.2)


def test_large_print_keeps_every_heading_and_the_name(tmp_path: Path) -> None:
    printed = pdf_text(render(full_plan(), large_print=True, creation_date=CREATED))
    assert NAME in printed
    for heading in SECTION_HEADINGS.values():
        assert heading in printed


def test_every_page_renders_to_an_image(pdf_path: Path, tmp_path: Path) -> None:
    poppler("pdftoppm", "-png", "-r", "40", str(pdf_path), str(tmp_path / "page"))
    images = sorted(tmp_path.glob("page-*.png"))
    assert len(images) == page_count(pdf_path)
    for image in images:
        assert image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert image.stat().st_size > 2_000  # more than a blank page


def test_every_pictogram_the_library_may_ask_for_can_be_drawn() -> None:
    assert set(PICTOGRAM_KEYS) <= set(PICTOGRAMS)
    assert {exercise.pictogram for exercise in LIBRARY.exercises} <= set(PICTOGRAMS)


# Speed against the bare-fpdf2 floor is measured by `make bench` (tests/benchmarks), never asserted here.


@pytest.mark.parametrize(("given", "family"), [("小龙", "李"), ("अनन्या", "शर्मा"), ("Дмитрий", "Смирнов")])
def test_names_in_other_scripts_are_printed_with_a_fallback_face(given: str, family: str) -> None:
    visit = make_visit(visit_date=dt.date(2025, 3, 3))
    plan = build_plan(
        make_patient(given_name=given, family_name=family), [visit], LIBRARY, plan_date=visit.visit_date
    )
    assert handout.missing_letters(plan) == set()
    text = pdf_text(render(plan, creation_date=CREATED))
    assert given in text and family in text


def test_a_letter_no_font_can_draw_is_reported_for_the_page_to_warn() -> None:
    visit = make_visit(visit_date=dt.date(2025, 3, 3))
    plan = build_plan(
        make_patient(given_name="𓀀", family_name="Test"), [visit], LIBRARY, plan_date=visit.visit_date
    )
    assert handout.missing_letters(plan) == {"𓀀"}
