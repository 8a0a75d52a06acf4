"""The handout's page: print sizes, the faces and direction of its language, text set on our own line
wrapper (fpdf2's is quadratic), headings kept with what follows, drawings, and the page furniture (who
prepared it, the page number, the note on an unreviewed translation).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from io import BytesIO
from typing import Any

from fpdf.enums import TextDirection
from fpdf.fonts import TTFFont
from fpdf.line_break import Fragment

from dashboard.plan import Plan, PlanExercise, PlanItem
from reports.drawings import Drawing
from reports.house_style import (
    ACCENT,
    INK,
    MONTHS,
    MUTED,
    PT_TO_MM,
    RULE,
    SAFETY_BORDER,
    ClinicDocument,
    Layout,
)
from reports.i18n import furniture
from reports.typefaces import (
    FONT_FAMILY,
    RTL_FAMILY,
    RTL_FONT_FILES,
    add_face,
    direction_runs,
    has_rtl,
    one_direction,
    run_script,
    script_for,
)

# Lines break at white space except a no-break space (a phone number is printed with them, so it is never
# split over two lines).
_WORD_BREAKS = re.compile(r"[^\S\u00a0\u202f]+")
MARGIN_MM = 18.0
# Shaped scripts are wrapped on a slightly narrower line than the letters' widths add up to.
SHAPED_WIDTH_MARGIN = 0.94
# Width of an exercise drawing (start and finish panels) in standard print.
DRAWING_W_MM = 96.0
TOP_MARGIN_MM = 15.0
LINE_SPACING = 1.4
# Text that shaping and the bidirectional algorithm print unchanged (a table's numbers, a bullet):
# set without the shaping engine, which costs about half a millisecond a line in fpdf2.
UNSHAPED_TEXT = frozenset("0123456789•")
UNREVIEWED_NOTE = "Translation not yet reviewed by a clinician. The English safety net is printed in full."


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


def prepared_line(plan: Plan, t: Callable[..., str]) -> str:
    """Who prepared the handout, as decision support, in the handout's language (`t` translates)."""
    who = plan.clinician_name or t("your physio")
    if plan.clinic_name:
        return t(
            "Prepared for you by {who} at {clinic}, with Stride decision support.",
            who=who,
            clinic=plan.clinic_name,
        )
    return t("Prepared for you by {who}, with Stride decision support.", who=who)


def print_settings(large_print: bool) -> PrintSettings:
    """The type sizes used for standard or large print."""
    return LARGE_PRINT if large_print else STANDARD_PRINT


class HandoutPage(ClinicDocument):
    """The handout's page in its language: text, headings, drawings and the page furniture."""

    def __init__(
        self,
        plan: Plan,
        style: PrintSettings,
        language: str = "en",
        review_note: bool = False,
    ) -> None:
        layout = Layout(
            MARGIN_MM, TOP_MARGIN_MM, style.bottom_margin_mm, style.body_pt, style.small_pt, style.heading_pt
        )
        texts = (plan.patient_display_name, plan.clinician_name, plan.clinic_name, plan.personal_note)
        super().__init__(layout, " ".join(texts), language)
        self.plan = plan
        self.style = style
        self.language = language
        self.words = furniture(None if language == "en" else language)
        self.review_note = review_note
        self.rtl = False
        self.script = script_for(language)
        self._wrapped: dict[tuple[str, float, float, bool, str], list[str]] = {}
        self.rtl_family = FONT_FAMILY
        if has_rtl(plan.patient_display_name) and all(path.exists() for path in RTL_FONT_FILES.values()):
            for face, path in RTL_FONT_FILES.items():
                add_face(self, RTL_FAMILY, face, path)
            self.rtl_family = RTL_FAMILY
        if self.script is not None:
            if self.script.family not in {name.rstrip("B") for name in self.fonts}:
                for face, path in self.script.files.items():
                    add_face(self, self.script.family, face, path)
            self.family = self.script.family
            self.rtl = self.script.rtl
            if self.rtl:
                # The page count's reserved width lies at the line's left end: the number keeps to its
                # right edge, beside the word before it, instead of leaving a gap there.
                self.alias_nb_pages(align="R")
            # Latin letters and digits (a name, a phone number) come from DejaVu.
            self.set_fallback_fonts([FONT_FAMILY, *self.fallback_names], exact_match=False)
            self.set_text_shaping(
                use_shaping_engine=True,
                direction="rtl" if self.rtl else "ltr",
                script=self.script.harfbuzz_script,
                language=language.split("-", 1)[0],
            )
        self.document_face = (self.family, self.rtl, self.text_shaping)
        # The bilingual layout: the English items and cards printed above their translations.
        self.english_items: dict[str, PlanItem] = {}
        self.english_exercises: dict[str, PlanExercise] = {}
        self.printing_twin = False
        self.set_text_color(*INK)

    # Text -----------------------------------------------------------------------------------------

    def cell(self, *args: Any, **kwargs: Any) -> bool:
        """fpdf2's cell; with a script face, the face is selected again first: after a run drawn
        wholly in a fallback face (a bullet, a Latin word) fpdf2 2.8.9 keeps the fallback's glyph
        table for the next shaped text, which then prints as the wrong letters. Digits and a
        bullet alone are set unshaped (UNSHAPED_TEXT)."""
        if self.script is not None and self.font_family:
            family, style, size = self.font_family, self.font_style, self.font_size_pt
            self.font_family = ""
            self.set_font(family, style, size)
        text = kwargs.get("text", args[2] if len(args) > 2 else "")
        if self.text_shaping and text and set(text) <= UNSHAPED_TEXT:
            # Shaping would leave it as it is: spare fpdf2's bidi pass and three harfbuzz calls.
            shaping, self.text_shaping = self.text_shaping, None
            try:
                return bool(super().cell(*args, **kwargs))
            finally:
                self.text_shaping = shaping
        return bool(super().cell(*args, **kwargs))

    def _preload_bidirectional_text(self, text: str, markdown: bool) -> Sequence[Fragment]:
        """A shaped line split into runs of one direction, then of one face and script, as fpdf2
        splits it but for combining marks, which stay in the run of their letter (run_script). The
        bidirectional algorithm is skipped for a line it would return whole (one_direction) and its
        result kept per process for the rest (direction_runs); fpdf2 2.8.9 spends about as long on
        these passes as on shaping the lines (~45 ms a shaped handout)."""
        shaping = self.text_shaping
        direction = shaping["direction"] if shaping else None
        if (
            shaping is None
            or markdown
            or direction not in (TextDirection.LTR, TextDirection.RTL)
            or self.str_alias_nb_pages in text
            or not isinstance(self.current_font, TTFFont)
        ):
            return super()._preload_bidirectional_text(text, markdown)
        shaping["paragraph_direction"] = direction
        if one_direction(text, rtl=direction == TextDirection.RTL):
            runs: Sequence[tuple[str, TextDirection]] = ((text, direction),)
        else:
            runs = direction_runs(text, direction)
        emphasis = ("B" in self.font_style, "I" in self.font_style, self.strikethrough, self.underline)
        fragments: list[Fragment] = []
        for run, run_direction in runs:
            shaping["fragment_direction"] = run_direction
            fragments.extend(self._face_runs(run, emphasis))
        self._markdown_emphasis = emphasis
        return tuple(fragments)

    def _face_runs(self, text: str, emphasis: tuple[bool, bool, bool, bool]) -> list[Fragment]:
        """Text of one direction cut where its face changes (a letter the current face lacks is set
        in the first fallback face that has it) or its script does, each piece with its state."""
        assert isinstance(self.current_font, TTFFont)
        cmap = self.current_font.cmap
        style = ("B" if emphasis[0] else "") + ("I" if emphasis[1] else "")
        fragments: list[Fragment] = []
        letters: list[str] = []
        fallback: str | None = None
        script = None

        def cut() -> None:
            nonlocal letters, fallback, script
            state = self._get_current_graphics_state()
            state.font_style, state.strikethrough, state.underline = style, emphasis[2], emphasis[3]
            if fallback:
                state.font_family = fallback.replace("B", "").replace("I", "")
                state.font_style = "".join(c for c in fallback if c in "BI")
                state.current_font = self.fonts[fallback]
                fallback = script = None
            fragments.append(Fragment(letters, state, self.k))
            letters = []

        for char in text:
            found = run_script(char)
            if found is not None and found != script:
                if letters and script is not None:
                    cut()
                script = found
            face = self.get_fallback_font(char, style) if char != "\n" and ord(char) not in cmap else None
            if face != fallback and letters:
                cut()
            fallback = face
            letters.append(char)
        if letters:
            cut()
        return fragments

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
            for word in _WORD_BREAKS.split(paragraph):
                if not word:
                    continue
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
        prepared = prepared_line(self.plan, self.t)
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
        note = self.t(UNREVIEWED_NOTE)
        self.paragraph(note, self.style.small_pt, bold=True, color=SAFETY_BORDER, align="C")
        if self.language != "en" and note != UNREVIEWED_NOTE:
            with self.in_english():
                self.paragraph(
                    UNREVIEWED_NOTE, self.style.small_pt, bold=True, color=SAFETY_BORDER, align="C"
                )
        self.set_y(max(self.get_y() + 1, self.t_margin))

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

    # Drawings -------------------------------------------------------------------------------------

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
