"""User text made safe for Markdown (`md_escape`) and for spreadsheets (`csv_cell`, the caseload CSV)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dashboard import page_text
from dashboard.safe_text import csv_cell, csv_uncell, md_escape
from dashboard.trends import caseload_row, caseload_table
from tests.factories import make_visit

WJ = "\u2060"  # the word joiner md_escape puts after each colon and at-sign, and inside "www."


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("**BOLD**", r"\*\*BOLD\*\*"),
        ("_it_", r"\_it\_"),
        ("![p](http://127.0.0.1:9/x)", rf"\!\[p\]\(http\:{WJ}\/\/127\.0\.0\.1\:{WJ}9\/x\)"),
        ("<b>h</b>", r"\<b\>h\<\/b\>"),
        (":red[red]", rf"\:{WJ}red\[red\]"),
        (":material/home:", rf"\:{WJ}material\/home\:{WJ}"),
        (":streamlit:", rf"\:{WJ}streamlit\:{WJ}"),
        ("$x^2$", r"\$x\^2\$"),
        ("# H", r"\# H"),
        ("> quote", r"\> quote"),
        ("1. item", r"1\. item"),
        ("- item", r"\- item"),
        ("`code`", r"\`code\`"),
        ("~~gone~~", r"\~\~gone\~\~"),
        ("a | b", r"a \| b"),
        ("&amp; &#60;", r"\&amp\; \&\#60\;"),
        ("www.example.com", rf"www{WJ}\.example\.com"),
        ("WWW.example.com", rf"WWW{WJ}\.example\.com"),
        ("a@b.co", rf"a\@{WJ}b\.co"),
        ("https://x.org", rf"https\:{WJ}\/\/x\.org"),
        ("back\\slash", r"back\\slash"),
        ("Zoë Łukasz-Müller", r"Zoë Łukasz\-Müller"),
        ("Ana Silva", "Ana Silva"),
    ],
)
def test_md_escape_shows_markdown_and_html_literally(text: str, escaped: str) -> None:
    assert md_escape(text) == escaped


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("first\n# H", r"first \# H"),
        ("first\r\n> quote", r"first \> quote"),
        ("a\u2028b\x85c", "a b c"),
        ("    indented code", "indented code"),
        ("tab\there", "tab here"),
        ("line  \nbreak", "line break"),
    ],
)
def test_md_escape_makes_one_line_so_no_new_block_can_start(text: str, escaped: str) -> None:
    assert md_escape(text) == escaped


@pytest.mark.parametrize("char", ["\x00", "\x07", "\x1b", "\x7f", "\x9b"])
def test_md_escape_drops_control_characters(char: str) -> None:
    assert md_escape(f"a{char}b") == "ab"


@pytest.mark.parametrize("char", string.punctuation)
def test_md_escape_escapes_every_ascii_punctuation_character(char: str) -> None:
    # CommonMark lets a backslash escape any ASCII punctuation: escaping all of them leaves no syntax.
    assert md_escape(char).startswith("\\" + char)


def test_md_escape_accepts_any_value() -> None:
    assert md_escape(ValueError("bad *thing*")) == r"bad \*thing\*"


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ('=HYPERLINK("http://127.0.0.1:9/","x")', '\'=HYPERLINK("http://127.0.0.1:9/","x")'),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("'quoted", "''quoted"),
        ("Ana Silva", "Ana Silva"),
        ("", ""),
    ],
)
def test_csv_cell_makes_formula_starts_text_and_csv_uncell_undoes_it(value: str, cell: str) -> None:
    assert csv_cell(value) == cell
    assert csv_uncell(csv_cell(value)) == value


def _caseload_csv_rows(name: str, ref: str, clinician: str) -> list[dict[str, str]]:
    visits = [
        make_visit(visit_date=dt.date(2025, 2, 3), pain_nrs=7),
        make_visit(visit_date=dt.date(2025, 3, 3), pain_nrs=5),
    ]
    table = caseload_table([caseload_row("p1", ref, name, clinician, visits)], dt.date(2025, 3, 10))
    data = page_text.caseload_csv(table)
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def test_the_caseload_csv_keeps_a_hostile_name_reference_and_clinician_as_text() -> None:
    name = '=HYPERLINK("http://127.0.0.1:9/","click")'
    [row] = _caseload_csv_rows(name, "+44-1", "@evil")
    assert row["Name"] == "'" + name
    assert row["Ref"] == "'+44-1"
    assert row["Clinician"] == "'@evil"


def test_the_caseload_csv_leaves_numbers_and_plain_text_alone() -> None:
    [row] = _caseload_csv_rows("Ana Silva", "R-0001", "dr_a")
    assert (row["Name"], row["Ref"], row["Clinician"]) == ("Ana Silva", "R-0001", "dr_a")
    # A negative change is a number, not a formula: it is written as it is.
    assert row["Pain change (points)"] == "-2.0"
    assert row["Pain now (NRS)"] == "5.0"
    assert row["Last visit"] == "2025-03-03"


def test_the_caseload_csv_holds_words_not_icons_and_a_one_visit_change_is_empty() -> None:
    one = [make_visit(visit_date=dt.date(2025, 2, 3), pain_nrs=7, walk_protocol="spwt", walk_total_m=300)]
    flat = [make_visit(visit_date=dt.date(2025, 1, 3), pain_nrs=7), make_visit(pain_nrs=7)]
    rows = [
        caseload_row("p1", "R-1", "One Visit", None, one, open_tier="EMERGENCY"),
        caseload_row("p2", "R-2", "Flat Pain", None, flat, next_review_date=dt.date(2025, 3, 1)),
    ]
    table = caseload_table(rows, dt.date(2025, 3, 10))
    data = page_text.caseload_csv(table).decode("utf-8-sig")
    assert not [ch for ch in data if ord(ch) > 0x2000], data  # no icon, arrow or emoji anywhere
    first, second = sorted(csv.DictReader(io.StringIO(data)), key=lambda row: row["Ref"])
    assert (first["Open flag"], first["Pain change (points)"], first["Walking"]) == ("Emergency", "", "")
    assert (second["Review"], second["Progress"], second["Walking"]) == (
        "Overdue",
        "Not improving",
        "no test",
    )
    shown = page_text.caseload_view(table).set_index("patient_ref")
    assert shown.loc["R-1", "nrs_change"] == "–" and shown.loc["R-2", "nrs_change"] == "0"
    assert shown.loc["R-1", "walking_trend"] == "–" and shown.loc["R-2", "review"].endswith("Overdue")


def test_the_plan_preview_escapes_names_dose_and_note_and_keeps_the_notes_line_breaks() -> None:
    from dashboard.plan import build_plan
    from data.library import load_library
    from tests.factories import make_patient

    patient = make_patient(family_name="**BOLD**")
    plan = build_plan(patient, [make_visit()], load_library(), clinician_name="![p](http://127.0.0.1:9/x)")
    plan.personal_note = "Keep going\n# H\n1. walk"
    if plan.exercises:
        plan.exercises[0].dose = "$x^2$"
    preview = page_text.plan_markdown(plan)
    assert r"\*\*BOLD\*\*" in preview
    assert rf"\!\[p\]\(http\:{WJ}\/\/" in preview
    assert "Keep going  \n\\# H  \n1\\. walk" in preview
    assert "](http" not in preview and "**BOLD**" not in preview


@given(st.text())
def test_md_escape_leaves_no_markdown_syntax_in_any_text(text: str) -> None:
    escaped = md_escape(text)
    assert not any(ord(char) < 32 or 127 <= ord(char) <= 159 for char in escaped)
    index = 0
    while index < len(escaped):
        char = escaped[index]
        if char == "\\":
            # Every escape is of ASCII punctuation; a colon or at-sign is followed by a word joiner.
            assert escaped[index + 1] in string.punctuation
            if escaped[index + 1] in ":@":
                assert escaped[index + 2] == WJ
            index += 2
            continue
        assert char not in string.punctuation, f"unescaped {char!r} in {escaped!r}"
        index += 1
    assert "www." not in escaped.replace("\\", "").lower()
