"""The clinic's house style, shared by the handout, the letters and the outcomes report: colours, dates
as patients read them, and an A4 document with the bundled faces, page numbers and Stride's properties.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from fpdf import FPDF
from fpdf.fonts import FontFace

from reports.typefaces import FONT_FAMILY, add_fallback_fonts, add_fonts

Colour = tuple[int, int, int]
INK: Colour = (33, 37, 41)
MUTED: Colour = (90, 98, 106)
ACCENT: Colour = (20, 83, 116)
RULE: Colour = (200, 208, 214)
CARD_FILL: Colour = (244, 248, 250)
SAFETY_BORDER: Colour = (166, 77, 0)
SAFETY_FILL: Colour = (255, 248, 235)
WHITE: Colour = (255, 255, 255)
PT_TO_MM = 25.4 / 72
MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
# A ruled table's heading row: bold ink on the card fill.
TABLE_HEADINGS = FontFace(emphasis="BOLD", color=INK, fill_color=CARD_FILL)


def format_date(day: dt.date) -> str:
    """A date as patients read it in the UK, e.g. 3 March 2025."""
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def creation_datetime(value: dt.datetime | None) -> dt.datetime:
    """A document's creation time: now (UTC) when None; a naive time is taken as UTC."""
    if value is None:
        return dt.datetime.now(dt.UTC)
    # A naive time is taken as UTC, so the same input gives the same bytes on every machine.
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def line_mm(size_pt: float) -> float:
    """Line height (mm) of a wrapped paragraph at a type size (pt): 1.35 lines."""
    return size_pt * 25.4 / 72 * 1.35


@dataclass(frozen=True)
class Layout:
    """A document's margins (mm; the side margins alike, the bottom one the footer's room) and its
    body, small and heading type sizes (pt)."""

    side_mm: float
    top_mm: float
    bottom_mm: float
    body_pt: float
    small_pt: float
    heading_pt: float

    @property
    def line_mm(self) -> float:
        """Line height (mm) of body text."""
        return line_mm(self.body_pt)


class ClinicDocument(FPDF):
    """An A4 portrait page in mm with the bundled faces (and fallback faces for letters of `texts`
    neither DejaVu nor the script face of `language` has), the layout's margins, automatic page
    breaks and the page count for the footer."""

    def __init__(self, layout: Layout, texts: str, language: str = "en") -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.layout = layout
        self.family = FONT_FAMILY
        self.set_margins(layout.side_mm, layout.top_mm, layout.side_mm)
        self.set_auto_page_break(True, margin=layout.bottom_mm)
        add_fonts(self)
        self.fallback_names = add_fallback_fonts(self, texts, language)
        self.alias_nb_pages()

    def use(self, size_pt: float, bold: bool = False, color: Colour = INK) -> None:
        """Select the document's face at a size (pt) and colour."""
        self.set_font(self.family, "B" if bold else "", size_pt)
        self.set_text_color(*color)

    def text_block(
        self, text: str, size_pt: float | None = None, *, bold: bool = False, color: Colour = INK
    ) -> None:
        """A wrapped paragraph across the text width (size in pt; None: the body size)."""
        size = self.layout.body_pt if size_pt is None else size_pt
        self.use(size, bold, color)
        self.multi_cell(self.epw, line_mm(size), text, align="L", new_x="LMARGIN", new_y="NEXT")

    def ruled_table(
        self,
        rows: Iterable[Sequence[str]],
        *,
        size_pt: float,
        col_widths: Sequence[float] | None,
        line_mm: float,
        padding_mm: float,
    ) -> None:
        """A small ruled table, its first row the headings (repeated on a new page)."""
        self.use(size_pt)
        self.set_draw_color(*RULE)
        self.set_fill_color(*WHITE)  # a chart's marks leave their colour behind
        with self.table(
            col_widths=col_widths,
            headings_style=TABLE_HEADINGS,
            line_height=line_mm,
            text_align="LEFT",
            padding=padding_mm,
        ) as table:
            for row in rows:
                table.row(row)

    def describe(
        self, *, title: str, language: str, author: str, created: dt.datetime | None, subject: str = ""
    ) -> None:
        """The document's properties: title, language, author, subject (if any), Stride as its
        creator and the creation time (None: now), so the same input gives the same bytes."""
        self.set_title(title)
        self.set_lang(language)
        self.set_author(author)
        if subject:
            self.set_subject(subject)
        self.set_creator("Stride")
        self.set_creation_date(creation_datetime(created))
