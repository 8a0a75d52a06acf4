"""Letters as A4 PDFs (clinical-reference §13): the referral letter from an escalation and the discharge
summary, from dashboard.letters.LetterContent, with the handout's bundled fonts and the clinic's
letterhead. The same content and creation date always give the same bytes.
"""

from __future__ import annotations

import datetime as dt

from dashboard.letters import LETTER_KINDS, RECIPIENTS, ChartSeries, LetterContent, LetterSection
from reports.house_style import (
    ACCENT,
    MUTED,
    RULE,
    SAFETY_BORDER,
    SAFETY_FILL,
    ClinicDocument,
    Layout,
    format_date,
)

LAYOUT = Layout(side_mm=20.0, top_mm=16, bottom_mm=24, body_pt=10.5, small_pt=8.5, heading_pt=11.5)
TITLE_PT = 15.0
CHART_H_MM = 42.0
# Markers differ by shape as well as colour, so the chart reads in grey print (never colour alone).
SERIES_STYLE: tuple[tuple[tuple[int, int, int], str], ...] = ((ACCENT, "circle"), (SAFETY_BORDER, "square"))


class _Letter(ClinicDocument):
    """The clinic's A4 document with the letter's letterhead, footer and section helpers."""

    def __init__(self, content: LetterContent) -> None:
        texts = " ".join(content.texts())
        super().__init__(LAYOUT, texts)
        self.content = content

    def footer(self) -> None:
        """Sender, clinic and decision support, and the page number, on every page."""
        c = self.content
        self.set_y(-20)
        self.set_draw_color(*RULE)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.ln(1.5)
        self.use(LAYOUT.small_pt, color=MUTED)
        who = f"{LETTER_KINDS[c.kind]} · {c.patient_name} ({c.patient_ref}) · {c.clinic_name}"
        for text in (f"{who} · Page {self.page_no()} of {{nb}}", c.footer):
            self.multi_cell(self.epw, 3.6, text, align="C", new_x="LMARGIN", new_y="NEXT")

    def letterhead(self) -> None:
        """Clinic name, address and telephone; the date; addressee and patient; the title."""
        c = self.content
        self.text_block(c.clinic_name, 13, bold=True, color=ACCENT)
        self.text_block(c.clinic_address, LAYOUT.small_pt + 1, color=MUTED)
        self.text_block(f"Telephone {c.clinic_phone}", LAYOUT.small_pt + 1, color=MUTED)
        self.ln(2)
        self.set_draw_color(*ACCENT)
        self.set_line_width(0.5)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.set_line_width(0.2)
        self.ln(4)
        self.text_block(f"Date: {format_date(c.letter_date)}")
        self.text_block(f"To: {RECIPIENTS[c.recipient]}")
        self.text_block(
            f"Re: {c.patient_name}, ref {c.patient_ref}, born {format_date(c.birth_date)}", bold=True
        )
        self.ln(3)
        self.text_block(c.title, TITLE_PT, bold=True, color=ACCENT)
        self.ln(2)
        if c.banner:
            self.banner(c.banner)

    def banner(self, text: str) -> None:
        """A bordered box for what must not be missed (the CES emergency pathway)."""
        self.set_draw_color(*SAFETY_BORDER)
        self.set_fill_color(*SAFETY_FILL)
        self.set_line_width(0.8)
        self.use(LAYOUT.body_pt + 0.5, bold=True, color=SAFETY_BORDER)
        self.multi_cell(
            self.epw, LAYOUT.line_mm + 0.3, text, border=1, fill=True, padding=3, align="L", new_x="LMARGIN"
        )
        self.set_line_width(0.2)
        self.ln(3)

    def section(self, section: LetterSection) -> None:
        """A heading, its lines and its table; the heading never ends a page alone."""
        if self.will_page_break(4 * LAYOUT.line_mm):
            self.add_page()
        self.use(LAYOUT.heading_pt, bold=True, color=ACCENT)
        self.multi_cell(self.epw, LAYOUT.heading_pt * 0.5, section.heading, new_x="LMARGIN", new_y="NEXT")
        self.ln(1)
        for line in section.lines:
            self.text_block(line)
            self.ln(0.8)
        if section.table:
            self.table_block(section.table)
        self.ln(2.5)

    def table_block(self, rows: tuple[tuple[str, ...], ...]) -> None:
        """A small ruled table, its first row the headings (repeated on a new page)."""
        widths = (2, 1) if len(rows[0]) == 2 else (3, 3, 3, 4)
        self.ruled_table(
            rows, size_pt=LAYOUT.body_pt - 0.5, col_widths=widths, line_mm=LAYOUT.line_mm, padding_mm=1
        )
        self.ln(1)

    def chart(self, series: tuple[ChartSeries, ...]) -> None:
        """Each measure over the episode's visits on its own scale (0 to the scale's top), one marker
        shape per measure, dates below."""
        if not series:
            return
        height = CHART_H_MM + 14
        if self.will_page_break(height):
            self.add_page()
        self.use(LAYOUT.heading_pt - 1, bold=True, color=ACCENT)
        self.multi_cell(self.epw, 5, "The main measures at each visit", new_x="LMARGIN", new_y="NEXT")
        x0, y0, w, h = self.l_margin + 12, self.get_y() + 3, self.epw - 24, CHART_H_MM
        days = [d for s in series for d, _ in s.points]
        first, last = min(days), max(days)
        span = max((last - first).days, 1)

        def x_of(day: dt.date) -> float:
            return x0 + (w / 2 if first == last else w * (day - first).days / span)

        self.set_draw_color(*RULE)
        self.set_line_width(0.2)
        self.rect(x0, y0, w, h)
        self.use(LAYOUT.small_pt - 1, color=MUTED)
        for side, item in zip(("left", "right"), series, strict=False):
            for fraction in (0.0, 0.5, 1.0):
                y = y0 + h - h * fraction
                label = f"{item.scale_max * fraction:g}"
                self.set_xy(x0 - 11 if side == "left" else x0 + w + 1, y - 1.5)
                self.cell(10, 3, label, align="R" if side == "left" else "L")
        for day in sorted({first, last}):
            self.set_xy(x_of(day) - 12, y0 + h + 1)
            self.cell(24, 3, format_date(day), align="C")
        for item, (color, marker) in zip(series, SERIES_STYLE, strict=False):
            points = [(x_of(d), y0 + h - h * min(v, item.scale_max) / item.scale_max) for d, v in item.points]
            self.set_draw_color(*color)
            self.set_fill_color(*color)
            self.set_line_width(0.5)
            for (xa, ya), (xb, yb) in zip(points, points[1:], strict=False):
                self.line(xa, ya, xb, yb)
            for x, y in points:
                if marker == "circle":
                    self.circle(x, y, 1.2, style="F")
                else:
                    self.rect(x - 1.1, y - 1.1, 2.2, 2.2, style="F")
        self.set_line_width(0.2)
        self.set_y(y0 + h + 5)
        legend = "   ".join(
            f"{'●' if marker == 'circle' else '■'} {item.label} ({item.unit}, "
            f"{'left' if n == 0 else 'right'} scale 0–{item.scale_max:g})"
            for n, (item, (_, marker)) in enumerate(zip(series, SERIES_STYLE, strict=False))
        )
        self.text_block(legend, LAYOUT.small_pt, color=MUTED)
        self.ln(3)


def render(content: LetterContent, *, creation_date: dt.datetime | None = None) -> bytes:
    """The letter as A4 PDF bytes (same content and creation date, same bytes)."""
    pdf = _Letter(content)
    pdf.describe(
        title=f"{content.title} - {content.patient_ref} - {format_date(content.letter_date)}",
        language="en-GB",
        author=content.sender or content.clinic_name,
        subject=LETTER_KINDS[content.kind],
        created=creation_date,
    )
    pdf.add_page()
    pdf.letterhead()
    for section in content.sections:
        pdf.section(section)
        if section.table and content.chart:
            pdf.chart(content.chart)
    return bytes(pdf.output())
