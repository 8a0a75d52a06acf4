"""The patient handout: render a dashboard.plan.Plan as an A4 PDF with fpdf2 (bundled DejaVu Sans,
vector pictograms and chart, a bordered safety-net box on every plan). The only fpdf2 import.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import threading
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

from fontTools import ttLib
from fpdf import FPDF
from fpdf.fonts import SubsetMap, TTFFont

from dashboard.plan import SECTION_HEADINGS, Plan, PlanExercise, PlanItem, ProgrammeWeek
from dashboard.walking import GOAL_DAYS_PER_WEEK, GOAL_MIN_PER_DAY
from reports.drawings import Drawing, cue_drawing, exercise_drawing
from reports.i18n import furniture

FONT_DIR = Path(__file__).resolve().parent / "fonts"
FONT_FAMILY = "dejavu"
FONT_FILES: dict[str, Path] = {"": FONT_DIR / "DejaVuSans.ttf", "B": FONT_DIR / "DejaVuSans-Bold.ttf"}
DOCUMENT_TITLE = "Your walking and back plan"
DOCUMENT_LANG = "en-GB"
LAST_PAGE_POINTER = "The box at the end says when to get help. Please keep it somewhere easy to find."
# The closing safety-net box starts on a new page, unless less than this share of the page is used:
# then it starts below, so no page is left with a few lines on it (large print).
SHORT_PAGE_FRACTION = 0.3
# With an open URGENT or EMERGENCY escalation the safety net comes first (dashboard.plan decides).
FIRST_PAGE_POINTER = "Please read the box below first. It says when to get help."
GOALS_LEAD = "This plan is here to help you with the things you told us matter to you:"
# Parse each TTF once per process and hand every new document a fresh copy of the parsed metrics:
# fpdf2 parses a font on every add_font (~20 ms a face). False falls back to plain add_font.
REUSE_PARSED_FONTS = True

MARGIN_MM = 18.0
# Shaped scripts are wrapped on a slightly narrower line than the letters' widths add up to.
SHAPED_WIDTH_MARGIN = 0.94
# Width of an exercise drawing (start and finish panels) in standard print.
DRAWING_W_MM = 96.0
TOP_MARGIN_MM = 15.0
PT_TO_MM = 25.4 / 72
LINE_SPACING = 1.4

INK = (33, 37, 41)
MUTED = (90, 98, 106)
ACCENT = (20, 83, 116)
RULE = (200, 208, 214)
CARD_FILL = (244, 248, 250)
SAFETY_BORDER = (166, 77, 0)
SAFETY_FILL = (255, 248, 235)
MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


@dataclass(frozen=True)
class PrintSettings:
    """Type sizes (pt), pictogram, chart and footer sizes (mm) for one print size."""

    body_pt: float
    item_title_pt: float
    heading_pt: float
    title_pt: float
    small_pt: float
    pictogram_w_mm: float
    pictogram_h_mm: float
    chart_h_mm: float
    bottom_margin_mm: float  # room for the footer, which starts 6 mm below the text area

    def line_mm(self, size_pt: float) -> float:
        """Line height in mm for a type size."""
        return size_pt * PT_TO_MM * LINE_SPACING


STANDARD_PRINT = PrintSettings(11, 12.5, 15, 21, 8.5, 34, 25, 46, 24)
# Large print: body text of at least 14 pt [U: project rule]; its footer wraps onto a third line.
LARGE_PRINT = PrintSettings(14, 16, 19, 25, 11, 40, 30, 56, 30)


def print_settings(large_print: bool) -> PrintSettings:
    """The type sizes used for standard or large print."""
    return LARGE_PRINT if large_print else STANDARD_PRINT


def format_date(day: dt.date) -> str:
    """A date as patients read it in the UK, e.g. 3 March 2025."""
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


# --- Fonts ---------------------------------------------------------------------------------------

_font_lock = threading.Lock()
_font_templates: dict[str, tuple[TTFFont, bytes]] = {}


def _font_template(style: str) -> tuple[TTFFont, bytes]:
    with _font_lock:
        if style not in _font_templates:
            scratch = FPDF()
            scratch.add_font(FONT_FAMILY, style, FONT_FILES[style])
            template = scratch.fonts[f"{FONT_FAMILY}{style}"]
            assert isinstance(template, TTFFont)
            template.ttfont.close()  # every document opens its own copy from the bytes below
            _font_templates[style] = (template, FONT_FILES[style].read_bytes())
        return _font_templates[style]


def _add_fonts(pdf: FPDF) -> None:
    for style, path in FONT_FILES.items():
        if not REUSE_PARSED_FONTS:
            pdf.add_font(FONT_FAMILY, style, path)
            continue
        template, raw = _font_template(style)
        font = copy.copy(template)
        # What one document changes is made fresh: its number, its glyph subset and the font
        # program (fpdf2 subsets it in place on output), and the descriptor it numbers on output.
        font.i = len(pdf.fonts) + 1
        font.ttfont = ttLib.TTFont(BytesIO(raw), recalcTimestamp=False, lazy=True)
        font.desc = copy.copy(template.desc)
        font.missing_glyphs = []
        font.biggest_size_pt = 0
        font.subset = SubsetMap(font)
        pdf.fonts[f"{FONT_FAMILY}{style}"] = font


# Faces for letters DejaVu lacks (names in CJK or Devanagari, for example), from Debian's
# fonts-droid-fallback and fonts-freefont-ttf; scripts/ensure-system-packages installs them.
FALLBACK_FONT_FILES: tuple[Path, ...] = (
    Path("/usr/share/fonts/truetype/freefont/FreeSans.ttf"),
    Path("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"),
)


def _uncovered(text: str) -> set[str]:
    """Letters of `text` the bundled DejaVu face cannot draw."""
    drawable = _font_template("")[0].cmap
    return {char for char in text if not char.isspace() and ord(char) not in drawable}


def missing_letters(plan: Plan, language: str = "en") -> set[str]:
    """Letters of the plan's names and note that no available font can draw (the page warns); for a
    translated plan, of every printed string, with the language's own face counted too."""
    texts = [plan.patient_display_name, plan.clinician_name, plan.clinic_name, plan.personal_note]
    if language != "en":
        texts += plan.patient_texts()
    uncovered = _uncovered(" ".join(texts))
    script = script_for(language)
    if uncovered and script is not None:
        cmap = ttLib.TTFont(script.files[""], lazy=True).getBestCmap()
        uncovered = {char for char in uncovered if ord(char) not in cmap}
    for path in FALLBACK_FONT_FILES:
        if uncovered and path.exists():
            cmap = ttLib.TTFont(path, lazy=True).getBestCmap()
            uncovered = {char for char in uncovered if ord(char) not in cmap}
    return uncovered


def _add_fallback_fonts(pdf: FPDF, text: str) -> list[str]:
    # Parsed only when needed: the CJK face is large and most handouts never use it.
    if not _uncovered(text):
        return []
    names = []
    for index, path in enumerate(FALLBACK_FONT_FILES):
        if path.exists():
            pdf.add_font(f"fallback{index}", "", path)
            names.append(f"fallback{index}")
    if names:
        pdf.set_fallback_fonts(names, exact_match=False)
    return names


# Names in right-to-left scripts are shaped (uharfbuzz) and laid out with the Unicode bidirectional
# algorithm, in a Naskh face from Debian's fonts-noto-core (scripts/ensure-system-packages); without
# it DejaVu's own Arabic letters are shaped instead. Whole right-to-left handouts come later (§14).
NOTO_DIR = Path("/usr/share/fonts/truetype/noto")
RTL_FAMILY = "naskh"
RTL_FONT_FILES: dict[str, Path] = {
    "": NOTO_DIR / "NotoNaskhArabic-Regular.ttf",
    "B": NOTO_DIR / "NotoNaskhArabic-Bold.ttf",
}


@dataclass(frozen=True)
class Script:
    """The face, shaping and direction a handout language is printed with."""

    family: str
    files: dict[str, Path]
    harfbuzz_script: str
    rtl: bool


# Urdu is printed in Noto Naskh Arabic too: Noto Nastaliq Urdu (also in fonts-noto-core) needs far
# taller lines than this layout gives, and Naskh is widely read by Urdu readers.
SCRIPTS: dict[str, Script] = {
    "ar": Script(RTL_FAMILY, RTL_FONT_FILES, "arab", rtl=True),
    "ur": Script(RTL_FAMILY, RTL_FONT_FILES, "arab", rtl=True),
    "bn": Script(
        "bengali",
        {"": NOTO_DIR / "NotoSansBengali-Regular.ttf", "B": NOTO_DIR / "NotoSansBengali-Bold.ttf"},
        "beng",
        rtl=False,
    ),
}


def script_for(language: str) -> Script | None:
    """The script face for a language, or None for one DejaVu prints (Latin, e.g. es and pl)."""
    found = SCRIPTS.get(language.split("-", 1)[0].lower())
    if found is None or not all(path.exists() for path in found.files.values()):
        return None
    return found


def has_rtl(text: str) -> bool:
    """True when the text holds a right-to-left letter (Arabic, Hebrew, Syriac, Thaana...)."""
    return any(unicodedata.bidirectional(char) in ("R", "AL") for char in text)


# --- Pictograms ----------------------------------------------------------------------------------

# Stick figures on a 40 x 28 grid (x to the right, y down), scaled evenly into the card's box.
# "path": a limb or trunk through the points; "head": a filled circle; "floor": a light ground line
# at y; "wheel": an outlined circle; "arrow": a movement arrow; "arc": a dashed path of movement.
GRID_W, GRID_H = 40.0, 28.0
HEAD_R = 2.3
Shape = tuple[str, tuple[float, ...]]
PICTOGRAMS: dict[str, tuple[Shape, ...]] = {
    "pelvic_tilt": (
        ("floor", (25.5,)),
        ("head", (5.0, 22.8)),
        ("path", (8.0, 23.6, 20.0, 23.6, 26.0, 16.5, 31.0, 24.2, 34.0, 24.2)),
        ("arrow", (15.0, 13.5, 15.0, 21.0)),
    ),
    "knee_to_chest": (
        ("floor", (25.5,)),
        ("head", (5.0, 22.8)),
        ("path", (8.0, 23.6, 20.0, 23.6, 15.0, 15.5, 22.0, 12.0)),
        ("path", (8.5, 23.2, 14.5, 16.5)),
        ("path", (20.0, 23.6, 35.0, 24.2, 35.6, 21.5)),
    ),
    "bridge": (
        ("floor", (25.5,)),
        ("head", (4.5, 22.8)),
        ("path", (7.5, 23.8, 19.0, 17.0, 26.0, 15.5, 29.0, 24.2, 32.0, 24.2)),
        ("path", (8.0, 24.0, 16.0, 24.6)),
        ("arrow", (19.0, 13.5, 19.0, 6.5)),
    ),
    "bird_dog": (
        ("floor", (25.5,)),
        ("head", (8.0, 9.5)),
        ("path", (1.0, 15.5, 12.0, 13.0, 24.0, 13.0, 38.0, 11.5)),
        ("path", (12.0, 13.0, 12.0, 25.0)),
        ("path", (24.0, 13.0, 24.0, 25.0, 31.0, 25.0)),
    ),
    "plank": (
        ("floor", (25.5,)),
        ("head", (4.8, 15.0)),
        ("path", (2.5, 25.0, 8.0, 25.0, 8.0, 17.0, 36.0, 23.5, 37.5, 25.0)),
    ),
    # Seen from the head end: lying on the side, the top arm opens from the front to the back.
    "open_book": (
        ("floor", (25.5,)),
        ("head", (20.0, 21.0)),
        ("path", (20.0, 23.6, 35.0, 24.2)),
        ("path", (20.0, 21.5, 9.0, 12.0)),
        ("arc", (20.0, 22.5, 13.0, -140.0, -5.0)),
    ),
    "cycling": (
        ("floor", (26.5,)),
        ("path", (9.0, 26.0, 33.0, 26.0)),
        ("path", (15.0, 26.0, 16.5, 15.5)),
        ("path", (13.0, 15.5, 20.0, 15.5)),
        ("path", (27.0, 26.0, 30.5, 11.0, 33.5, 10.5)),
        ("wheel", (28.0, 21.5, 4.0)),
        ("head", (23.3, 3.6)),
        ("path", (16.5, 14.5, 21.0, 6.5, 31.0, 11.0)),
        ("path", (16.5, 14.5, 24.0, 16.5, 22.0, 23.0)),
    ),
}
# A standing figure for a card whose pictogram this renderer does not know.
_FALLBACK_PICTOGRAM: tuple[Shape, ...] = (
    ("floor", (26.5,)),
    ("head", (20.0, 4.0)),
    ("path", (20.0, 6.5, 20.0, 16.0)),
    ("path", (17.0, 26.0, 20.0, 16.0, 23.0, 26.0)),
    ("path", (15.5, 14.0, 20.0, 8.5, 24.5, 14.0)),
)


# Advice items printed as a two-column table ("Feature: why it may feel better" bullets).
TABLE_ITEMS = frozenset({"footwear_features"})
TABLE_FIRST_SHARE = 0.32


def _table_rows(item: PlanItem) -> list[tuple[str, str]]:
    rows = []
    for bullet in item.bullets:
        # A full-width colon too (some scripts use it); an edited bullet without one stays a bullet.
        head, colon, rest = bullet.replace("：", ":").partition(":")
        if not colon:
            return []
        rows.append((head.strip(), rest.strip()))
    return rows


def _is_table(item: PlanItem) -> bool:
    return item.id in TABLE_ITEMS and bool(_table_rows(item))


# --- The document --------------------------------------------------------------------------------


class _Handout(FPDF):
    """FPDF with the handout's footer and drawing helpers."""

    def __init__(
        self,
        plan: Plan,
        style: PrintSettings,
        language: str = "en",
        review_note: bool = False,
    ) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.plan = plan
        self.style = style
        self.language = language
        self.words = furniture(None if language == "en" else language)
        self.review_note = review_note
        self.family = FONT_FAMILY
        self.rtl = False
        self.script = script_for(language)
        self._wrapped: dict[tuple[str, float, float, bool, str], list[str]] = {}
        self.set_margins(MARGIN_MM, TOP_MARGIN_MM, MARGIN_MM)
        self.set_auto_page_break(True, margin=style.bottom_margin_mm)
        _add_fonts(self)
        self.fallback_names = _add_fallback_fonts(
            self,
            " ".join((plan.patient_display_name, plan.clinician_name, plan.clinic_name, plan.personal_note)),
        )
        self.rtl_family = FONT_FAMILY
        if has_rtl(plan.patient_display_name) and all(path.exists() for path in RTL_FONT_FILES.values()):
            for face, path in RTL_FONT_FILES.items():
                self.add_font(RTL_FAMILY, face, path)
            self.rtl_family = RTL_FAMILY
        if self.script is not None:
            if self.script.family not in {name.rstrip("B") for name in self.fonts}:
                for face, path in self.script.files.items():
                    self.add_font(self.script.family, face, path)
            self.family = self.script.family
            self.rtl = self.script.rtl
            # Latin letters and digits (a name, a phone number) come from DejaVu.
            self.set_fallback_fonts([FONT_FAMILY, *self.fallback_names], exact_match=False)
            self.set_text_shaping(
                use_shaping_engine=True,
                direction="rtl" if self.rtl else "ltr",
                script=self.script.harfbuzz_script,
                language=language.split("-", 1)[0],
            )
        self.document_face = (self.family, self.rtl, self.text_shaping)
        self.english_items: dict[str, PlanItem] = {}
        self.english_exercises: dict[str, PlanExercise] = {}
        self.printing_twin = False
        self.alias_nb_pages()
        self.set_text_color(*INK)

    # Text -----------------------------------------------------------------------------------------

    def use(self, size_pt: float, bold: bool = False, color: tuple[int, int, int] = INK) -> None:
        """Select the handout font at a size."""
        self.set_font(self.family, "B" if bold else "", size_pt)
        self.set_text_color(*color)

    def cell(self, *args: Any, **kwargs: Any) -> bool:
        """fpdf2's cell; with a script face, the face is selected again first: after a run drawn
        wholly in a fallback face (a bullet, a Latin word) fpdf2 2.8.9 keeps the fallback's glyph
        table for the next shaped text, which then prints as the wrong letters."""
        if self.script is not None and self.font_family:
            family, style, size = self.font_family, self.font_style, self.font_size_pt
            self.font_family = ""
            self.set_font(family, style, size)
        return bool(super().cell(*args, **kwargs))

    def t(self, english: str, **values: str) -> str:
        """A piece of page furniture in the handout's language, with its values filled in."""
        text = self.words.get(english, english)
        return text.format(**values) if values else text

    def date(self, day: dt.date) -> str:
        """A date in the handout's language (day, month name, year)."""
        return f"{day.day} {self.t(MONTHS[day.month - 1])} {day.year}"

    @contextlib.contextmanager
    def in_document_language(self) -> Iterator[None]:
        """Print in the handout's own face and direction (the page furniture, even mid English box)."""
        saved = (self.family, self.rtl, self.text_shaping)
        self.family, self.rtl, self.text_shaping = self.document_face
        try:
            yield
        finally:
            self.family, self.rtl, self.text_shaping = saved

    @contextlib.contextmanager
    def in_english(self) -> Iterator[None]:
        """Print in English (DejaVu, left to right) for a while: the English safety net."""
        saved = (self.family, self.rtl, self.text_shaping)
        self.family, self.rtl = FONT_FAMILY, False
        self.set_text_shaping(use_shaping_engine=False)
        try:
            yield
        finally:
            self.family, self.rtl, self.text_shaping = saved

    def wrap(self, text: str, width_mm: float, size_pt: float, bold: bool = False) -> list[str]:
        """Split text into lines that fit a width (word wrap; a word longer than a line is cut).

        Our own wrapper, on the font's width table: fpdf2's multi_cell breaks lines in quadratic time
        and was three quarters of the render time.
        """
        key = (text, round(width_mm, 3), size_pt, bold, self.family)
        cached = self._wrapped.get(key)
        if cached is not None:
            return cached
        font = self.fonts[self.family + ("B" if bold else "")]
        assert isinstance(font, TTFFont)
        widths = font.cw
        available = (width_mm - 2 * self.c_margin) * 1000 / (size_pt * PT_TO_MM)  # font units
        if self.family != FONT_FAMILY:
            available *= SHAPED_WIDTH_MARGIN  # shaped glyphs may be wider than the letters alone
        space = widths[32]
        lines: list[str] = []
        for paragraph in text.split("\n"):
            line, line_w = "", 0.0
            for word in paragraph.split():
                # A letter DejaVu lacks is drawn by a fallback face: count it as one em (CJK width).
                word_w = sum(widths[ord(char)] if ord(char) in font.cmap else 1000 for char in word)
                if line and line_w + space + word_w <= available:
                    line, line_w = f"{line} {word}", line_w + space + word_w
                    continue
                if line:
                    lines.append(line)
                line, line_w = "", 0.0
                for char in word:
                    char_w = widths[ord(char)] if ord(char) in font.cmap else 1000
                    if line and line_w + char_w > available:
                        lines.append(line)
                        line, line_w = "", 0.0
                    line, line_w = line + char, line_w + char_w
            lines.append(line)
        self._wrapped[key] = lines
        return lines

    def text_height(self, text: str, width_mm: float, size_pt: float, bold: bool = False) -> float:
        """Height (mm) a paragraph would take, without printing it."""
        return len(self.wrap(text, width_mm, size_pt, bold)) * self.style.line_mm(size_pt)

    def paragraph(
        self,
        text: str,
        size_pt: float,
        *,
        bold: bool = False,
        color: tuple[int, int, int] = INK,
        x_mm: float | None = None,
        width_mm: float = 0,
        align: str = "L",
    ) -> None:
        """Print a paragraph (width 0: to the right margin) and move below it."""
        x = self.get_x() if x_mm is None else x_mm
        width = width_mm or self.w - self.r_margin - x
        line_h = self.style.line_mm(size_pt)
        self.use(size_pt, bold, color)
        if self.rtl and align == "L":
            align = "R"
        for line in self.wrap(text, width, size_pt, bold):
            # cell() breaks the page itself when the line does not fit.
            self.set_x(x)
            self.cell(width, line_h, line, align=align, new_x="LMARGIN", new_y="NEXT")
        self.set_x(self.l_margin)

    def bullet_height(self, lines: Sequence[str], width_mm: float) -> float:
        """Height (mm) of a bullet list."""
        indent = self.style.body_pt * 0.55
        return sum(self.text_height(line, width_mm - indent, self.style.body_pt) for line in lines)

    def bullets(self, lines: Sequence[str], x_mm: float, width_mm: float, marker: str = "•") -> None:
        """Print bullet lines with a hanging indent."""
        indent = self.style.body_pt * 0.55
        size = self.style.body_pt
        for number, line in enumerate(lines, start=1):
            label = f"{number}." if marker == "number" else marker
            top = self.get_y()
            self.use(size, marker == "number")
            if self.rtl:  # the marker on the right, the text ending before it
                self.set_xy(x_mm + width_mm - indent, top)
                self.cell(indent, self.style.line_mm(size), label, align="R")
                self.paragraph(line, size, x_mm=x_mm, width_mm=width_mm - indent)
                continue
            self.set_xy(x_mm, top)
            self.cell(indent, self.style.line_mm(size), label)
            self.paragraph(line, size, x_mm=x_mm + indent, width_mm=width_mm - indent)

    def room_mm(self) -> float:
        """Space left above the bottom margin on this page."""
        return float(self.page_break_trigger - self.get_y())

    def keep_together(self, height_mm: float) -> None:
        """Start a new page if a block of this height would not fit here (and would on a new page)."""
        usable = self.page_break_trigger - self.t_margin
        if height_mm > self.room_mm() and height_mm <= usable:
            self.add_page()

    # Page furniture -------------------------------------------------------------------------------

    def footer(self) -> None:
        """Who prepared the handout, as decision support, and the page number."""
        with self.in_document_language():
            self._footer()

    def _footer(self) -> None:
        plan = self.plan
        who = plan.clinician_name or self.t("your physio")
        if plan.clinic_name:
            prepared = self.t(
                "Prepared for you by {who} at {clinic}, with Stride decision support.",
                who=who,
                clinic=plan.clinic_name,
            )
        else:
            prepared = self.t("Prepared for you by {who}, with Stride decision support.", who=who)
        self.set_y(-self.style.bottom_margin_mm + 6)
        self.set_draw_color(*RULE)
        self.set_line_width(0.2)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.ln(1.5)
        small = self.style.small_pt
        self.use(small, color=MUTED)
        self.paragraph(prepared, small, color=MUTED, align="C")
        self.paragraph(
            self.t("Page {page} of {pages}", page=str(self.page_no()), pages="{nb}"),
            small,
            color=MUTED,
            align="C",
        )

    def header(self) -> None:
        """On every page of a translation no clinician has reviewed yet: say so (§14)."""
        if not self.review_note:
            return
        with self.in_document_language():
            self._header()

    def _header(self) -> None:
        self.set_y(5)
        note = self.t(
            "Translation not yet reviewed by a clinician. The English safety net is printed in full."
        )
        self.paragraph(note, self.style.small_pt, bold=True, color=SAFETY_BORDER, align="C")
        if self.language != "en":
            with self.in_english():
                english = (
                    "Translation not yet reviewed by a clinician. The English safety net is printed in full."
                )
                if english != note:
                    self.paragraph(english, self.style.small_pt, bold=True, color=SAFETY_BORDER, align="C")
        self.set_y(max(self.get_y() + 1, self.t_margin))

    def masthead(self) -> None:
        """Clinic, title, patient, date and clinician at the top of page 1."""
        plan, style = self.plan, self.style
        if plan.clinic_name:
            self.paragraph(plan.clinic_name, style.body_pt, bold=True, color=ACCENT)
        if plan.clinic_address:
            self.paragraph(plan.clinic_address, style.small_pt + 1, color=MUTED)
        self.ln(3)
        self.paragraph(self.t(DOCUMENT_TITLE), style.title_pt, bold=True, color=ACCENT)
        self.ln(1)
        self.name_line(self.t("For {name}", name=plan.patient_display_name), style.item_title_pt)
        details = self.t("Date: {date}", date=self.date(plan.plan_date))
        if plan.clinician_name:
            details += " · " + self.t("From: {clinician}", clinician=plan.clinician_name)
        self.paragraph(details, style.body_pt, color=MUTED)
        contact = []
        if plan.next_appointment:
            contact.append(self.t("Your next appointment: {date}", date=self.date(plan.next_appointment)))
        if plan.clinic_phone:
            contact.append(self.t("Questions? Call us on {phone}", phone=plan.clinic_phone))
        if contact:
            self.paragraph(" · ".join(contact), style.body_pt, bold=True)
        self.ln(1)
        pointer = self.t(FIRST_PAGE_POINTER if plan.safety_first else LAST_PAGE_POINTER)
        self.paragraph(pointer, style.body_pt, bold=True, color=SAFETY_BORDER)
        self.ln(2)
        self.rule()

    def name_line(self, text: str, size_pt: float) -> None:
        """The patient's name line, bold; a right-to-left name is shaped and in bidirectional order."""
        if not has_rtl(text) or self.script is not None:
            self.paragraph(text, size_pt, bold=True)
            return
        self.use(size_pt, bold=True)
        self.set_font(self.rtl_family, "B", size_pt)
        # Letters the Naskh face lacks (Latin, for a mixed name) come from DejaVu.
        self.set_fallback_fonts([FONT_FAMILY, *self.fallback_names], exact_match=False)
        self.set_text_shaping(use_shaping_engine=True)
        self.multi_cell(self.epw, self.style.line_mm(size_pt), text, new_x="LMARGIN", new_y="NEXT")
        self.set_text_shaping(use_shaping_engine=False)
        self.set_fallback_fonts(self.fallback_names, exact_match=False)

    def goals(self, goals: Sequence[str]) -> None:
        """The patient's own goals (their PSFS activities), under a heading."""
        if not goals:
            return
        lead = self.t(GOALS_LEAD)
        lead_h = self.text_height(lead, self.epw, self.style.body_pt)
        self.heading(self.t(SECTION_HEADINGS["goals"]), lead_h + self.bullet_height(goals, self.epw))
        self.paragraph(lead, self.style.body_pt)
        self.bullets(goals, self.l_margin, self.epw)
        self.ln(2.5)

    def rule(self) -> None:
        """A thin horizontal line across the text width."""
        self.set_draw_color(*RULE)
        self.set_line_width(0.3)
        y = self.get_y()
        self.line(self.l_margin, y, self.w - self.r_margin, y)
        self.ln(3)

    def heading(self, text: str, following_mm: float) -> None:
        """A section heading, kept on the same page as the first block that follows it."""
        style = self.style
        height = style.line_mm(style.heading_pt) + 7
        usable = self.page_break_trigger - self.t_margin
        self.keep_together(height + min(following_mm, usable - height))
        self.ln(2)
        self.paragraph(text, style.heading_pt, bold=True, color=ACCENT)
        y = self.get_y() + 0.5
        self.set_draw_color(*ACCENT)
        self.set_line_width(0.6)
        right = self.w - self.r_margin
        if self.rtl:
            self.line(right - 30, y, right, y)
        else:
            self.line(self.l_margin, y, self.l_margin + 30, y)
        self.ln(3)

    # Blocks ---------------------------------------------------------------------------------------

    def twin(self, item: PlanItem) -> PlanItem | None:
        """In the bilingual layout, the English item printed above a translated one."""
        if not self.english_items:
            return None
        english = self.english_items.get(item.id)
        return english if english is not None and english != item else None

    def item_height(self, item: PlanItem, width_mm: float) -> float:
        """Height (mm) of one advice item; in the bilingual layout with its English twin above it."""
        twin = self.twin(item) if not self.printing_twin else None
        if twin is not None:
            self.printing_twin = True
            try:
                with self.in_english():
                    english_h = self._item_height(twin, width_mm)
            finally:
                self.printing_twin = False
            return english_h + self._item_height(item, width_mm, with_drawing=False)
        return self._item_height(item, width_mm)

    def _item_height(self, item: PlanItem, width_mm: float, *, with_drawing: bool = True) -> float:
        style = self.style
        drawing = cue_drawing(item.id) if with_drawing else None
        if drawing is not None:
            width_mm -= self.drawing_size(drawing)[0] + 4
        height = self.text_height(item.title, width_mm, style.item_title_pt, bold=True) + 2.5
        if item.text:
            height += self.text_height(item.text, width_mm, style.body_pt)
        if _is_table(item):
            height += sum(self.table_row_height(row, width_mm) for row in _table_rows(item))
        else:
            height += self.bullet_height(item.bullets, width_mm)
        if drawing is not None:
            height = max(height, self.drawing_size(drawing)[1] + 2.5)
        return height

    def item(self, item: PlanItem, x_mm: float, width_mm: float, *, keep: bool = True) -> None:
        """One advice item: bold title, paragraph, bullets; a cue drawing on the right. In the
        bilingual layout the English item comes first, in muted ink, then the translation."""
        if keep:
            self.keep_together(self.item_height(item, width_mm))
        twin = self.twin(item) if not self.printing_twin else None
        if twin is not None:
            self.printing_twin = True
            try:
                with self.in_english():
                    self._item(twin, x_mm, width_mm, color=MUTED)
            finally:
                self.printing_twin = False
        self._item(item, x_mm, width_mm, with_drawing=twin is None)

    def _item(
        self,
        item: PlanItem,
        x_mm: float,
        width_mm: float,
        color: tuple[int, int, int] = INK,
        *,
        with_drawing: bool = True,
    ) -> None:
        style = self.style
        top, page = self.get_y(), self.page
        bottom = top
        drawing = cue_drawing(item.id) if with_drawing else None
        if drawing is not None:
            d_width, _ = self.drawing_size(drawing)
            bottom = top + self.drawing(drawing, x_mm + width_mm - d_width, top)
            width_mm -= d_width + 4
        self.paragraph(item.title, style.item_title_pt, bold=True, color=color, x_mm=x_mm, width_mm=width_mm)
        if item.text:
            self.paragraph(item.text, style.body_pt, color=color, x_mm=x_mm, width_mm=width_mm)
        if _is_table(item):
            self.feature_table(_table_rows(item), x_mm, width_mm)
        else:
            self.bullets(item.bullets, x_mm, width_mm)
        if self.page == page and self.get_y() < bottom:
            self.set_y(bottom)
        self.ln(2.5)

    def table_row_height(self, row: tuple[str, str], width_mm: float) -> float:
        """Height (mm) of one row of a two-column feature table."""
        first, second = width_mm * TABLE_FIRST_SHARE, width_mm * (1 - TABLE_FIRST_SHARE)
        size = self.style.body_pt
        return (
            max(self.text_height(row[0], first, size, bold=True), self.text_height(row[1], second, size))
            + 1.5
        )

    def feature_table(self, rows: Sequence[tuple[str, str]], x_mm: float, width_mm: float) -> None:
        """A small two-column table: a feature in bold, and why it may feel better."""
        first = width_mm * TABLE_FIRST_SHARE
        for number, row in enumerate(rows):
            height = self.table_row_height(row, width_mm)
            top = self.get_y()
            if number % 2 == 0:
                self.set_fill_color(*CARD_FILL)
                self.rect(x_mm, top, width_mm, height, style="F")
            self.set_xy(x_mm, top + 0.75)
            self.paragraph(row[0], self.style.body_pt, bold=True, x_mm=x_mm, width_mm=first)
            self.set_y(top + 0.75)
            self.paragraph(row[1], self.style.body_pt, x_mm=x_mm + first, width_mm=width_mm - first)
            self.set_draw_color(*RULE)
            self.set_line_width(0.2)
            self.line(x_mm, top + height, x_mm + width_mm, top + height)
            self.set_y(top + height)

    def section(self, key: str, items: Sequence[PlanItem]) -> None:
        """A heading and its advice items."""
        if not items:
            return
        self.heading(self.t(SECTION_HEADINGS[key]), self.item_height(items[0], self.epw))
        for entry in items:
            self.item(entry, self.l_margin, self.epw)

    def pictogram(self, key: str, x_mm: float, y_mm: float) -> None:
        """Draw an exercise's stick-figure pictogram in its framed box."""
        w, h = self.style.pictogram_w_mm, self.style.pictogram_h_mm
        self.set_fill_color(255, 255, 255)
        self.set_draw_color(*RULE)
        self.set_line_width(0.2)
        self.rect(x_mm, y_mm, w, h, style="DF")
        pad = 2.0
        scale = min((w - 2 * pad) / GRID_W, (h - 2 * pad) / GRID_H)
        left = x_mm + (w - GRID_W * scale) / 2
        top = y_mm + (h - GRID_H * scale) / 2

        def points(values: Sequence[float]) -> list[tuple[float, float]]:
            return [(left + values[i] * scale, top + values[i + 1] * scale) for i in range(0, len(values), 2)]

        limb_mm = 0.9 * scale / 0.75
        with self.local_context(stroke_cap_style="ROUND", stroke_join_style="ROUND"):
            self.set_fill_color(*ACCENT)
            for kind, args in PICTOGRAMS.get(key, _FALLBACK_PICTOGRAM):
                self.set_draw_color(*(RULE if kind == "floor" else ACCENT))
                self.set_line_width(limb_mm)
                if kind == "floor":
                    self.set_line_width(0.3)
                    self.line(left, top + args[0] * scale, left + GRID_W * scale, top + args[0] * scale)
                elif kind == "path":
                    self.polyline(points(args))
                elif kind == "head":
                    ((cx, cy),) = points(args)
                    self.circle(cx, cy, HEAD_R * scale, style="F")
                elif kind == "wheel":
                    ((cx, cy),) = points(args[:2])
                    self.set_line_width(limb_mm * 0.7)
                    self.circle(cx, cy, args[2] * scale)
                elif kind == "arc":
                    ((cx, cy),) = points(args[:2])
                    radius = args[2] * scale
                    self.set_line_width(0.4)
                    self.set_dash_pattern(dash=0.9, gap=0.9)
                    self.arc(cx - radius, cy - radius, 2 * radius, args[3], args[4])
                    self.set_dash_pattern()
                elif kind == "arrow":
                    (x1, y1), (x2, y2) = points(args)
                    self.set_line_width(0.5)
                    head = 1.4 if y2 > y1 else -1.4
                    self.polyline([(x1, y1), (x2, y2)])
                    self.polyline([(x2 - 1.2, y2 - head), (x2, y2), (x2 + 1.2, y2 - head)])

    def card_height(self, exercise: PlanExercise, text_w: float) -> float:
        """Height (mm) of one exercise card."""
        style = self.style
        height = self.text_height(exercise.name, text_w, style.item_title_pt, bold=True) + 1
        english = self.english_exercises.get(exercise.id)
        if english is not None and english.name != exercise.name:
            with self.in_english():
                height += self.text_height(english.name, text_w, style.body_pt, bold=True)
        if exercise.purpose:
            height += self.text_height(exercise.purpose, text_w, style.body_pt) + 1
        height += self.bullet_height(exercise.steps, text_w)
        if exercise.dose:
            height += (
                self.text_height(
                    self.t("How much: {dose}", dose=exercise.dose), text_w, style.body_pt, bold=True
                )
                + 1
            )
        drawing = exercise_drawing(exercise.id)
        if drawing is not None:
            return height + self.drawing_size(drawing)[1] + 3 + 8
        return max(height, style.pictogram_h_mm) + 8

    def drawing_size(self, drawing: Drawing) -> tuple[float, float]:
        """Width and height (mm) a drawing is printed at: start and finish panels, or one cue panel."""
        width = min(self.epw - 8, DRAWING_W_MM)
        if drawing.kind == "cue":
            width /= 2.6
        return width, width * drawing.aspect

    def drawing(self, drawing: Drawing, x_mm: float, y_mm: float) -> float:
        """Print a drawing as vectors; the height (mm) it took."""
        width, height = self.drawing_size(drawing)
        self.image(BytesIO(drawing.pdf_bytes()), x=x_mm, y=y_mm, w=width, h=height)
        return height

    def card_text_box(self, exercise: PlanExercise) -> tuple[float, float]:
        """Left edge and width (mm) of a card's text: beside the pictogram, or full width under a drawing."""
        if exercise_drawing(exercise.id) is not None:
            return self.l_margin + 4, self.epw - 8
        text_x = self.l_margin + 4 + self.style.pictogram_w_mm + 5.0
        return text_x, self.w - self.r_margin - 4 - text_x

    def exercise_card(self, exercise: PlanExercise) -> None:
        """A framed card: pictogram on the left; name, purpose, numbered steps and dose beside it."""
        style = self.style
        drawing = exercise_drawing(exercise.id)
        text_x, text_w = self.card_text_box(exercise)
        height = self.card_height(exercise, text_w)
        self.keep_together(height + 3)
        top = self.get_y()
        self.set_fill_color(*CARD_FILL)
        self.set_draw_color(*RULE)
        self.set_line_width(0.3)
        self.rect(self.l_margin, top, self.epw, height, style="DF", round_corners=True, corner_radius=2.5)
        if drawing is None:
            self.pictogram(exercise.pictogram, self.l_margin + 4, top + 4)
        self.set_y(top + 4)
        self.paragraph(
            exercise.name, style.item_title_pt, bold=True, color=ACCENT, x_mm=text_x, width_mm=text_w
        )
        english = self.english_exercises.get(exercise.id)
        if english is not None and english.name != exercise.name:
            with self.in_english():
                self.paragraph(
                    english.name, style.body_pt, bold=True, color=MUTED, x_mm=text_x, width_mm=text_w
                )
        self.ln(1)
        if drawing is not None:
            # Start and finish side by side, under the name, as wide as the text.
            self.set_fill_color(255, 255, 255)
            self.set_draw_color(*RULE)
            self.set_line_width(0.2)
            width, d_height = self.drawing_size(drawing)
            self.rect(text_x, self.get_y(), width, d_height, style="DF")
            self.set_y(self.get_y() + self.drawing(drawing, text_x, self.get_y()) + 3)
        if exercise.purpose:
            self.paragraph(exercise.purpose, style.body_pt, x_mm=text_x, width_mm=text_w)
            self.ln(1)
        self.bullets(exercise.steps, text_x, text_w, marker="number")
        if exercise.dose:
            self.ln(1)
            self.paragraph(
                self.t("How much: {dose}", dose=exercise.dose),
                style.body_pt,
                bold=True,
                x_mm=text_x,
                width_mm=text_w,
            )
        self.set_y(top + height + 3)

    def table_header(self, headings: Sequence[str], col_w: Sequence[float], row_h: float) -> None:
        """The walking table's heading row: white bold text on the accent colour, wrapped if needed."""
        size = self.style.body_pt
        wrapped = [
            self.wrap(text, width, size, bold=True) for text, width in zip(headings, col_w, strict=True)
        ]
        height = max(len(lines) for lines in wrapped) * row_h + 1
        top = self.get_y()
        self.set_fill_color(*ACCENT)
        self.rect(self.l_margin, top, sum(col_w), height, style="F")
        self.use(size, bold=True, color=(255, 255, 255))
        x = self.l_margin
        for lines, width in zip(wrapped, col_w, strict=True):
            y = top + (height - len(lines) * row_h) / 2
            for line in lines:
                self.set_xy(x, y)
                self.cell(width, row_h, line, align="C")
                y += row_h
            x += width
        self.set_xy(self.l_margin, top + height)

    def table_keep_mm(self, weeks: Sequence[ProgrammeWeek]) -> float:
        """Height the table's start needs on a page: its heading row and the first 4 weeks (all of a
        shorter table). A longer table continues on the next page under a repeated heading row, so
        a page is never left a third blank for it."""
        row_h = self.style.line_mm(self.style.body_pt) * 1.15
        # The heading row may wrap onto two lines in large print.
        return row_h * (min(len(weeks), 4) + 2) + 1

    def programme_table(self, weeks: Sequence[ProgrammeWeek]) -> None:
        """The week-by-week walking table; its heading row repeats if it runs onto a new page."""
        style = self.style
        row_h = style.line_mm(style.body_pt) * 1.15
        col_w = [self.epw * share for share in (0.14, 0.2, 0.2, 0.2, 0.26)]
        headings = tuple(
            self.t(text) for text in ("Week", "Each walk", "Walks a day", "Days a week", "Minutes a week")
        )
        self.keep_together(self.table_keep_mm(weeks))
        self.table_header(headings, col_w, row_h)
        for number, week in enumerate(weeks):
            if self.room_mm() < row_h:
                self.add_page()
                self.table_header(headings, col_w, row_h)
            top = self.get_y()
            if number % 2 == 0:
                self.set_fill_color(*CARD_FILL)
                self.rect(self.l_margin, top, self.epw, row_h, style="F")
            self.set_draw_color(*RULE)
            self.set_line_width(0.2)
            self.line(self.l_margin, top + row_h, self.l_margin + self.epw, top + row_h)
            self.use(style.body_pt)
            values = (
                str(week.week),
                self.t("{minutes} min", minutes=f"{week.bout_min:g}"),
                str(week.bouts_per_day),
                str(week.days_per_week),
                f"{week.weekly_total_min:g}",
            )
            self.set_x(self.l_margin)
            for value, width in zip(values, col_w, strict=True):
                self.cell(width, row_h, value, align="C")
            self.set_xy(self.l_margin, top + row_h)
        self.ln(4)

    def progress_chart(self, weeks: Sequence[ProgrammeWeek]) -> None:
        """A small line chart of the minutes of walking each week, with the weekly goal dashed."""
        style = self.style
        caption_h = style.line_mm(style.item_title_pt)
        small = style.small_pt + 1
        chart_h = style.chart_h_mm
        self.keep_together(caption_h + chart_h + 12)
        self.paragraph(self.t("Minutes of walking each week"), style.item_title_pt, bold=True)
        self.ln(2)
        goal = GOAL_MIN_PER_DAY * GOAL_DAYS_PER_WEEK
        totals = [week.weekly_total_min for week in weeks]
        top_value = max(goal, *totals)
        step = 50.0 if top_value <= 300 else 100.0
        y_max = step * -(-top_value // step)
        left = self.l_margin + 12
        right = self.w - self.r_margin - 2
        top = self.get_y() + 2
        bottom = top + chart_h

        def to_xy(index: int, value: float) -> tuple[float, float]:
            x = left + (index + 0.5) * (right - left) / len(totals)
            return x, bottom - value / y_max * (bottom - top)

        self.use(small, color=MUTED)
        self.set_line_width(0.2)
        tick = 0.0
        while tick <= y_max:
            y = to_xy(0, tick)[1]
            self.set_draw_color(*RULE)
            self.line(left, y, right, y)
            self.set_xy(self.l_margin, y - 2)
            self.cell(10, 4, f"{tick:g}", align="R")
            tick += step
        goal_y = to_xy(0, goal)[1]
        self.set_draw_color(*SAFETY_BORDER)
        self.set_line_width(0.5)
        self.set_dash_pattern(dash=1.5, gap=1.2)
        self.line(left, goal_y, right, goal_y)
        self.set_dash_pattern()
        self.use(small, bold=True, color=SAFETY_BORDER)
        label = self.t("Goal: {minutes} minutes a week", minutes=f"{goal:g}")
        self.set_xy(right - self.get_string_width(label) - 1, goal_y - style.line_mm(small) - 0.5)
        self.cell(self.get_string_width(label) + 1, style.line_mm(small), label)
        points = [to_xy(index, value) for index, value in enumerate(totals)]
        self.set_draw_color(*ACCENT)
        self.set_fill_color(*ACCENT)
        self.set_line_width(0.8)
        if len(points) > 1:
            self.polyline(points)
        for x, y in points:
            self.circle(x, y, 0.9, style="F")
        self.use(small, color=MUTED)
        for week, (x, _) in zip(weeks, points, strict=True):
            self.set_xy(x - 5, bottom + 1)
            self.cell(10, 4, str(week.week), align="C")
        # Below the tick labels, which are taller in large print.
        label_y = bottom + 1 + max(4.0, style.line_mm(small))
        self.set_xy(left, label_y)
        self.cell(right - left, 4, self.t("Week"), align="C")
        self.set_y(label_y + 6)

    def _split_item(
        self, item: PlanItem, width_mm: float, room_mm: float
    ) -> tuple[PlanItem | None, PlanItem | None]:
        """The item cut after as many bullets as fit in `room_mm` (at least 2), and the rest under
        the same title marked "(continued)"; (None, None) when it cannot be cut so."""
        for keep in range(len(item.bullets) - 2, 1, -1):
            head = item.model_copy(update={"bullets": item.bullets[:keep]})
            if self.item_height(head, width_mm) <= room_mm:
                rest = PlanItem(
                    id=item.id, title=f"{item.title} {self.t('(continued)')}", bullets=item.bullets[keep:]
                )
                return head, rest
        return None, None

    def safety_net_box(self, items: Sequence[PlanItem], *, lead: bool = False, title: str = "") -> None:
        """The bordered safety-net box on a page of its own, or straight below (`lead`: under the
        masthead; or when the page holds only a few lines); it may continue on another page, each
        page a whole box, a long list cut between bullets, the last two pages balanced."""
        style = self.style
        pad = 5.0
        inner_x = self.l_margin + pad
        inner_w = self.epw - 2 * pad
        heading_h = style.line_mm(style.heading_pt) + 2
        frame_h = heading_h + 2 * pad - 2.5  # the last item's trailing space sits inside the padding
        usable = self.page_break_trigger - self.t_margin
        if not lead and self.page > 1:
            lead = (self.get_y() - self.t_margin) / usable < SHORT_PAGE_FRACTION
            if lead:
                self.ln(4)
        first_room = self.room_mm() - 4 if lead else usable
        pages: list[list[tuple[PlanItem, float]]] = [[]]
        queue = list(items)
        while queue:
            entry = queue.pop(0)
            height = self.item_height(entry, inner_w)
            room = (first_room if len(pages) == 1 else usable) - frame_h - sum(h for _, h in pages[-1])
            if height > room:
                head, rest = self._split_item(entry, inner_w, room)
                if head is not None and rest is not None:
                    # A long list goes on in the next page's box under its own title, so the
                    # first page is not left a third blank.
                    pages[-1].append((head, self.item_height(head, inner_w)))
                    pages.append([])
                    queue.insert(0, rest)
                    continue
                if pages[-1] or not lead:
                    pages.append([])
                else:
                    lead = False  # not even one item fits under the masthead: start a new page
                    first_room = usable
            pages[-1].append((entry, height))
        if not lead and len(pages) >= 2:

            def total(page: list[tuple[PlanItem, float]]) -> float:
                return sum(h for _, h in page)

            before, last = pages[-2], pages[-1]
            while len(before) > 1 and total(last) + before[-1][1] <= total(before) - before[-1][1]:
                last.insert(0, before.pop())
        for number, page_items in enumerate(pages):
            if number or not lead:
                self.add_page()
            top = self.get_y()
            height = frame_h + sum(h for _, h in page_items)
            self.set_fill_color(*SAFETY_FILL)
            self.set_draw_color(*SAFETY_BORDER)
            self.set_line_width(0.9)
            self.rect(self.l_margin, top, self.epw, height, style="DF")
            self.set_y(top + pad)
            heading = (title or self.t(SECTION_HEADINGS["safety_net"])) + (
                " " + self.t("(continued)") if number else ""
            )
            self.paragraph(heading, style.heading_pt, bold=True, color=SAFETY_BORDER, x_mm=inner_x)
            self.ln(2)
            for entry, _ in page_items:
                self.item(entry, inner_x, inner_w, keep=False)
            self.set_y(top + height + 4)


def _creation_date(value: dt.datetime | None) -> dt.datetime:
    if value is None:
        return dt.datetime.now(dt.UTC)
    # A naive time is taken as UTC, so the same input gives the same bytes on every machine.
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class Rendered:
    """A rendered handout and the letters it could only print as an empty box (.notdef)."""

    pdf: bytes
    notdef: frozenset[str]


def _notdef_letters(pdf: FPDF, texts: Sequence[str]) -> frozenset[str]:
    # A letter no face of the document has is drawn as an empty box, or (shaped) left out: both
    # are counted, from the faces' character maps and from fpdf2's own list of missing glyphs.
    covered = [font.cmap for font in pdf.fonts.values() if isinstance(font, TTFFont)]
    letters = {
        char
        for text in texts
        for char in text
        if not char.isspace()
        and unicodedata.category(char) != "Cf"
        and not any(ord(char) in c for c in covered)
    }
    for font in pdf.fonts.values():
        if not isinstance(font, TTFFont):
            continue
        for glyph, _ in font.subset.items():
            # The subset's own .notdef is U+0000; any other letter mapped to glyph 0 is an empty box.
            if glyph is not None and glyph.glyph_id == 0:
                codes = glyph.unicode if isinstance(glyph.unicode, tuple) else (glyph.unicode,)
                letters.update(chr(code) for code in codes if code)
        letters.update(chr(code) for code in font.missing_glyphs)
    return frozenset(letters)


def render(plan: Plan, **options: Any) -> bytes:
    """The plan as A4 PDF bytes; the same plan and creation date always give the same bytes
    (options as for `render_checked`)."""
    return render_checked(plan, **options).pdf


def render_checked(
    plan: Plan,
    *,
    large_print: bool = False,
    creation_date: dt.datetime | None = None,
    language: str = "en",
    english_safety_net: Sequence[PlanItem] = (),
    review_note: bool = False,
    bilingual_with: Plan | None = None,
) -> Rendered:
    """The plan as A4 PDF, with the letters no face could draw.

    A translated plan (reports.i18n.translate_plan) is printed in its `language`; `review_note`
    marks every page while no clinician has reviewed the translation, and `english_safety_net`
    (the plan's English safety-net items) is then printed in full after the translated one.
    """
    style = print_settings(large_print)
    pdf = _Handout(plan, style, language=language, review_note=review_note)
    if bilingual_with is not None and language != "en":
        # Paragraph by paragraph: each English item above its translation (clinical-reference §14).
        pdf.english_items = {
            entry.id: entry for key in bilingual_with.sections for entry in bilingual_with.sections[key]
        }
        pdf.english_exercises = {entry.id: entry for entry in bilingual_with.exercises}
    pdf.set_title(f"{pdf.t(DOCUMENT_TITLE)} - {pdf.date(plan.plan_date)}")
    pdf.set_lang(DOCUMENT_LANG if language == "en" else language)
    pdf.set_author(plan.clinician_name or plan.clinic_name or "Stride")
    pdf.set_subject("Walking programme, exercises and advice for back pain")
    pdf.set_creator("Stride")
    pdf.set_creation_date(_creation_date(creation_date))
    pdf.add_page()
    pdf.masthead()
    if plan.safety_first:
        pdf.safety_net_box(plan.safety_net, lead=True)
    pdf.goals(plan.goals)

    pdf.section("core", plan.section("core"))
    walking = plan.section("walking")
    if walking or plan.walking_programme:
        first = pdf.item_height(walking[0], pdf.epw) if walking else pdf.table_keep_mm(plan.walking_programme)
        pdf.heading(pdf.t(SECTION_HEADINGS["walking"]), first)
        for entry in walking:
            pdf.item(entry, pdf.l_margin, pdf.epw)
        if plan.walking_programme:
            pdf.programme_table(plan.walking_programme)
            pdf.progress_chart(plan.walking_programme)
    if plan.exercises:
        text_w = pdf.card_text_box(plan.exercises[0])[1]
        pdf.heading(pdf.t(SECTION_HEADINGS["exercises"]), pdf.card_height(plan.exercises[0], text_w) + 3)
        for exercise in plan.exercises:
            pdf.exercise_card(exercise)
    for key in ("posture", "footwear", "flare_up"):
        pdf.section(key, plan.section(key))
    if plan.personal_note:
        note = PlanItem(
            id="personal_note", title=pdf.t(SECTION_HEADINGS["personal_note"]), text=plan.personal_note
        )
        pdf.heading(note.title, pdf.text_height(note.text, pdf.epw, style.body_pt))
        pdf.paragraph(note.text, style.body_pt)
    if not plan.safety_first:
        pdf.safety_net_box(plan.safety_net)
    if english_safety_net and language != "en":
        with pdf.in_english():
            pdf.safety_net_box(english_safety_net, title="When to get help (in English)")
    data = bytes(pdf.output())
    notdef = _notdef_letters(
        pdf,
        [
            plan.patient_display_name,
            plan.clinician_name,
            plan.clinic_name,
            *plan.goals,
            *plan.patient_texts(),
        ],
    )
    # fpdf2 memoises SubsetMap.pick on the class, which keeps every document's fonts alive; the
    # entries are only a speed-up (pick is idempotent), so clearing them is safe.
    SubsetMap.pick.cache_clear()
    return Rendered(data, notdef)
