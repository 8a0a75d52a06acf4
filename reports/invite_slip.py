"""A patient's link as a QR code (SVG for the screen) and as a small printed slip (PDF), issue 21.

segno builds the QR code's modules locally (no network, nothing leaves the machine); both the SVG
and the PDF draw those modules themselves, so the slip prints the code as vectors, sharp at any size.
The slip names no patient: whoever finds a lost slip still needs the patient's date of birth.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Iterator

import segno
from fpdf.enums import WrapMode

from reports.house_style import ACCENT, MUTED, RULE, ClinicDocument, Layout, format_date

QUIET_ZONE = 4  # modules of light border the QR standard asks for around the code
SLIP = Layout(side_mm=20, top_mm=20, bottom_mm=20, body_pt=12, small_pt=10, heading_pt=16)
SLIP_WIDTH_MM = 120.0  # the cut-out slip at the top of the A4 page: fits a pocket or a wallet
SLIP_PADDING_MM = 6.0
QR_SIDE_MM = 45.0  # the code without its quiet zone: large enough for a phone camera at arm's length


def qr_modules(link: str) -> list[list[bool]]:
    """The QR code's dark (True) and light modules, row by row, without the quiet zone."""
    # Error correction M (15 % of the code may be damaged or smudged); never a Micro QR, which
    # many phone cameras do not read.
    code = segno.make(link, error="m", micro=False, boost_error=False)
    return [[bool(cell) for cell in row] for row in code.matrix]


def _dark_runs(row: list[bool]) -> Iterator[tuple[int, int]]:
    """(first column, length) of each run of dark modules in a row."""
    x = 0
    while x < len(row):
        if row[x]:
            start = x
            while x < len(row) and row[x]:
                x += 1
            yield start, x - start
        else:
            x += 1


def qr_svg(link: str, *, title: str, module_px: int = 6) -> str:
    """The QR code as an SVG document (pixels per module), quiet zone included, with a title that
    screen readers read when the SVG is shown inline."""
    modules = qr_modules(link)
    side = len(modules) + 2 * QUIET_ZONE  # in modules: the viewBox's unit
    # One rectangle per horizontal run of dark modules, in module units offset by the quiet zone.
    path = "".join(
        f"M{x + QUIET_ZONE} {y + QUIET_ZONE}h{length}v1h-{length}z"
        for y, row in enumerate(modules)
        for x, length in _dark_runs(row)
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{side * module_px}" '
        f'height="{side * module_px}" viewBox="0 0 {side} {side}" shape-rendering="crispEdges">'
        f"<title>{html.escape(title)}</title>"
        f'<rect width="{side}" height="{side}" fill="#fff"/><path fill="#000" d="{path}"/></svg>'
    )


def ends_words(ends: dt.datetime) -> str:
    """A link's end as patients read it, in the time zone it is given in: '7 December 2026 at 14:30'."""
    return f"{format_date(ends.date())} at {ends:%H:%M}"


def render_slip(
    *,
    clinic_name: str,
    heading: str,
    link: str,
    ends: dt.datetime,
    note: str,
    safety_net: str,
    created: dt.datetime | None = None,
) -> bytes:
    """A one-page PDF with a slip to cut out: the clinic, what the link is for, its QR code, the link
    as text, when it ends (``ends`` already in the clinic's time zone), a note and the safety net."""
    pdf = ClinicDocument(SLIP, "".join((clinic_name, heading, link, note, safety_net)))
    pdf.describe(title=heading, language="en-GB", author=clinic_name, created=created)
    # Text wraps inside the slip: the right margin is the slip's right edge less its padding.
    left = SLIP.side_mm
    pdf.set_margins(
        left + SLIP_PADDING_MM, SLIP.top_mm + SLIP_PADDING_MM, pdf.w - left - SLIP_WIDTH_MM + SLIP_PADDING_MM
    )
    pdf.add_page()
    pdf.text_block(clinic_name, SLIP.small_pt, color=MUTED)
    pdf.text_block(heading, SLIP.heading_pt, bold=True, color=ACCENT)
    pdf.ln(1)
    _draw_qr(pdf, qr_modules(link))
    pdf.text_block(
        "Scan the code with your phone's camera, or type this address:", SLIP.small_pt, color=MUTED
    )
    pdf.use(SLIP.small_pt)
    # Character wrapping: the link has no spaces, and a word wrap would push it past the slip's edge.
    pdf.multi_cell(
        pdf.epw, SLIP.line_mm, link, align="L", new_x="LMARGIN", new_y="NEXT", wrapmode=WrapMode.CHAR
    )
    pdf.ln(2)
    pdf.text_block(f"This link works until {ends_words(ends)}.", bold=True)
    pdf.text_block(note, SLIP.small_pt)
    pdf.ln(1)
    pdf.text_block(safety_net, SLIP.small_pt)
    _draw_cut_line(pdf, left, SLIP.top_mm, pdf.get_y() + SLIP_PADDING_MM)
    return bytes(pdf.output())


def _draw_qr(pdf: ClinicDocument, modules: list[list[bool]]) -> None:
    """The code as filled rectangles (one per run of dark modules) with its quiet zone, then the
    cursor below it."""
    cell = QR_SIDE_MM / len(modules)
    quiet = QUIET_ZONE * cell
    left, top = pdf.l_margin + quiet, pdf.get_y() + quiet
    pdf.set_fill_color(0, 0, 0)
    for y, row in enumerate(modules):
        for x, length in _dark_runs(row):
            pdf.rect(left + x * cell, top + y * cell, length * cell, cell, style="F")
    pdf.set_y(top + QR_SIDE_MM + quiet)


def _draw_cut_line(pdf: ClinicDocument, left: float, top: float, bottom: float) -> None:
    """A dashed frame around the slip, to cut along."""
    pdf.set_draw_color(*RULE)
    pdf.set_line_width(0.3)
    pdf.set_dash_pattern(dash=2, gap=1.5)
    pdf.rect(left, top, SLIP_WIDTH_MM, bottom - top)
    pdf.set_dash_pattern()
