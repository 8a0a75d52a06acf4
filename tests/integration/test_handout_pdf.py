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
from dashboard.models import Escalation
from dashboard.plan import PICTOGRAM_KEYS, SECTION_HEADINGS, Plan, build_plan
from data.library import load_library
from reports import typefaces
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
        psfs=[
            {"activity": "Walking to the shops and back", "score": 3},
            {"activity": "Playing with my grandchildren", "score": 5},
        ],
    )
    plan = build_plan(
        make_patient(history_of_cancer=True, next_review_date=dt.date(2025, 3, 17)),
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


def assert_same_to_a_reader(one: bytes, other: bytes, folder: Path) -> None:
    """Two PDFs give the same text, list the same faces and render every page to the same pixels."""
    paths = [folder / "one.pdf", folder / "other.pdf"]
    for path, pdf in zip(paths, (one, other), strict=True):
        path.write_bytes(pdf)
        poppler("pdftoppm", "-png", "-r", "60", str(path), str(folder / path.stem))
    assert pdf_text(paths[0]) == pdf_text(paths[1])
    assert poppler("pdffonts", str(paths[0])) == poppler("pdffonts", str(paths[1]))
    pages = sorted(folder.glob("one-*.png"))
    assert pages and len(pages) == len(list(folder.glob("other-*.png")))
    for page in pages:
        assert page.read_bytes() == (folder / page.name.replace("one", "other")).read_bytes(), page.name


def test_reusing_parsed_fonts_changes_nothing_a_reader_sees(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # The reused faces embed their glyphs as read, fpdf2's own as fontTools encodes them again: the
    # bytes differ, the text, the faces listed and every pixel of every page do not.
    plan = full_plan()
    reused = render(plan, large_print=True, creation_date=CREATED)
    monkeypatch.setattr(typefaces, "REUSE_PARSED_FONTS", False)
    assert_same_to_a_reader(reused, render(plan, large_print=True, creation_date=CREATED), tmp_path)


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


# --- Issue 19: goals, contact, plain doses, safety first, layout, right-to-left names ---------------

FOOTER_MARKS = ("with Stride decision support", "decision support.", "Prepared for you by")
CHART_CAPTION = "Minutes of walking each week"
DIRECTION_MARKS = dict.fromkeys([*range(0x202A, 0x202F), *range(0x2066, 0x206A)])


def emergency(**fields: Any) -> Escalation:
    """An open EMERGENCY escalation for suspected cauda equina syndrome."""
    return Escalation(
        patient_id="p-1", rule_id="RF_CES", tier="EMERGENCY", reason="saddle anaesthesia: new", **fields
    )


def pages_of(pdf: bytes) -> list[list[str]]:
    """Each page's non-blank lines (pdftotext -layout), without the footer."""
    pages = pdf_text(pdf).split("\f")
    return [
        [
            line.strip()
            for line in page.splitlines()
            if line.strip()
            and not re.fullmatch(r"Page \d+ of \d+", line.strip())
            and not any(mark in line for mark in FOOTER_MARKS)
        ]
        for page in pages
        if page.strip()
    ]


def page_fill(pdf: bytes, large_print: bool, tmp_path: Path) -> list[float]:
    """How far down its text area each page is printed (0 = empty, 1 = to the bottom margin)."""
    path = tmp_path / "fill.pdf"
    path.write_bytes(pdf)
    xml = poppler("pdftotext", "-bbox", str(path), "-")
    style = print_settings(large_print)
    fills = []
    for page in re.findall(r"<page .*?</page>", xml, flags=re.S):
        height = float(re.search(r'height="([\d.]+)"', page).group(1))  # type: ignore[union-attr]
        top = handout.TOP_MARGIN_MM / handout.PT_TO_MM
        bottom = height - style.bottom_margin_mm / handout.PT_TO_MM
        body = [float(y) for y in re.findall(r'yMax="([\d.]+)"', page) if float(y) <= bottom]
        fills.append((max(body) - top) / (bottom - top))
    return fills


def test_the_handout_names_the_patients_own_goals(text: str) -> None:
    assert SECTION_HEADINGS["goals"] in text
    assert "Walking to the shops and back" in text
    assert "Playing with my grandchildren" in text


def test_the_handout_gives_the_clinic_phone_number_and_the_next_appointment(text: str) -> None:
    assert "Questions? Call us on 01632 960 000" in text  # pdftotext reads the no-break spaces as spaces
    assert "Your next appointment: 17 March 2025" in text


def test_sets_and_repetitions_are_said_in_plain_words(tmp_path: Path) -> None:
    plan = build_plan(make_patient(), [make_visit(visit_date=dt.date(2025, 3, 3))], LIBRARY)
    printed = " ".join(pdf_text(render(plan, creation_date=CREATED)).split())
    assert "Do it 8 to 12 times, then rest. Repeat this 2 or 3 times." in printed
    assert "sets of" not in printed


def test_with_an_open_emergency_the_safety_net_leads_and_no_reassurance_is_printed() -> None:
    calm = " ".join(pdf_text(render(full_plan(), creation_date=CREATED)).split())
    assert "rarely caused by anything serious" in calm  # the sentence is there without a flag
    flagged = render(full_plan(escalations=[emergency()]), creation_date=CREATED)
    printed = " ".join(pdf_text(flagged).split())
    for reassurance in (
        "rarely caused by anything serious",
        "Most people get better",
        "does not mean you are harming your back",
        "Serious problems are rare",
        "The box at the end says when to get help",
    ):
        assert reassurance not in printed
    first_page = " ".join(pages_of(flagged)[0])
    assert "Please read the box below first" in first_page
    assert "When to get help" in first_page
    assert "Your physio wants you to be checked today" in first_page
    assert first_page.index("When to get help") < first_page.index("Go to A&E")
    assert SECTION_HEADINGS["core"] not in first_page


def plain_walker_plan(**options: Any) -> Plan:
    """A plan for a patient with a 6-minute self-paced walking test and nothing else recorded."""
    visit = make_visit(
        visit_date=dt.date(2025, 3, 3), walk_protocol="spwt", walk_onset_min=6.0, walk_total_min=9.0
    )
    return build_plan(make_patient(), [visit], LIBRARY, plan_date=visit.visit_date, **options)


def goal_less_full_plan(**options: Any) -> Plan:
    plan = full_plan(**options)
    plan.goals = []
    return plan


@pytest.mark.parametrize("large_print", [False, True], ids=["standard", "large print"])
@pytest.mark.parametrize("flagged", [False, True], ids=["calm", "open emergency"])
@pytest.mark.parametrize("make_plan", [full_plan, goal_less_full_plan, plain_walker_plan])
def test_no_page_is_left_half_empty_and_the_first_page_is_full(
    large_print: bool, flagged: bool, make_plan: Any, tmp_path: Path
) -> None:
    plan = make_plan(escalations=[emergency()] if flagged else [])
    pdf = render(plan, large_print=large_print, creation_date=CREATED)
    fills = page_fill(pdf, large_print, tmp_path)
    pages = pages_of(pdf)
    assert fills[0] >= 0.8, f"page 1 is {fills[0]:.0%} full"
    # The page before the closing safety-net box may be short, but not a few lines; the last page
    # is whatever is left.
    box = next(i for i, page in enumerate(pages) if any(line.startswith("When to get help") for line in page))
    for number, fill in enumerate(fills[:-1]):
        least = 0.25 if number == box - 1 else 0.5
        assert fill >= least, f"page {number + 1} of {len(fills)} is only {fill:.0%} full"


@pytest.mark.parametrize("large_print", [False, True], ids=["standard", "large print"])
@pytest.mark.parametrize("walking_text", [True, False], ids=["with walking advice", "table only"])
def test_no_heading_is_left_alone_at_the_foot_of_a_page(large_print: bool, walking_text: bool) -> None:
    headings = {*SECTION_HEADINGS.values(), CHART_CAPTION}
    for filler in range(0, 48, 4):
        plan = full_plan()
        plan.goals = []
        if not walking_text:
            plan.sections["walking"] = []
        core = plan.sections["core"][0]
        core.text = core.text + " Keep going." * filler
        for number, page in enumerate(pages_of(render(plan, large_print=large_print, creation_date=CREATED))):
            last = page[-1]
            assert last not in headings, f"filler {filler}: '{last}' alone at the foot of page {number + 1}"
            assert not re.match(r"Week\s+Each walk", last), f"filler {filler}: table heading row alone"


ARABIC_GIVEN, ARABIC_FAMILY = "ليلى", "حداد"


def plain(text: str) -> str:
    """Text without direction marks and whitespace, for comparing extracted right-to-left text."""
    return "".join(text.translate(DIRECTION_MARKS).split())


@pytest.mark.parametrize("large_print", [False, True], ids=["standard", "large print"])
def test_an_arabic_name_prints_in_logical_order_with_embedded_faces(
    large_print: bool, tmp_path: Path
) -> None:
    visit = make_visit(visit_date=dt.date(2025, 3, 3))
    patient = make_patient(given_name=ARABIC_GIVEN, family_name=ARABIC_FAMILY)
    plan = build_plan(patient, [visit], LIBRARY, plan_date=visit.visit_date)
    path = tmp_path / "arabic.pdf"
    path.write_bytes(render(plan, large_print=large_print, creation_date=CREATED))
    name_line = next(line for line in pages_of(path.read_bytes())[0] if "For" in line)
    # Logical order: the given name's letters first, each in reading order (not reversed).
    assert plain(f"{ARABIC_GIVEN} {ARABIC_FAMILY}") in plain(name_line)
    assert plain(f"{ARABIC_GIVEN} {ARABIC_FAMILY}") in plain(pdf_text(path))
    rows = poppler("pdffonts", str(path)).splitlines()[2:]
    assert any("NotoNaskhArabic" in row for row in rows)
    for row in rows:
        _name, *_, emb, _sub, uni, _obj, _gen = row.split()
        assert (emb, uni) == ("yes", "yes"), row


@pytest.mark.parametrize("width_mm", [45.0, 60.0, 80.0, 120.0])
def test_a_phone_number_is_never_split_over_two_lines(width_mm: float) -> None:
    from reports.handout import print_settings
    from reports.handout_page import HandoutPage

    pdf = HandoutPage(full_plan(), print_settings(False))
    pdf.add_page()
    text = "Your next appointment: 27 January 2027 · Questions? Call us on 01632\u00a0960\u00a0000"
    lines = pdf.wrap(text, width_mm, 11)
    assert len(lines) > 1  # the sentence itself wraps at these widths
    assert sum("01632\u00a0960\u00a0000" in line for line in lines) == 1
    assert " ".join(lines) == text  # nothing dropped or reordered
