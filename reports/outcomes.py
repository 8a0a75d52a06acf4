"""The Outcomes page as an A4 PDF for one period (clinical-reference §11.3): the results per measure,
a funnel plot per measure drawn as vectors (like the letters' chart), case mix, discharge reasons and
red-flag timeliness. Numbers come from dashboard.outcome_services.OutcomesReport; nothing is judged
here. No patient names or references are printed.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from dashboard.clinic_outcomes import FUNNEL_STATUSES, funnel_limits
from dashboard.episodes import OUTCOME_MEASURES
from dashboard.outcome_services import OutcomesReport
from dashboard.outcome_views import (
    CASE_MIX_NOTE,
    MEASURE_NAMES,
    case_mix_frames,
    clinician_name,
    discharge_reason_frame,
    funnel_frame,
    measure_frame,
    rule_target_note,
    timeliness_frame,
    trend_frame,
)
from reports.house_style import ACCENT, INK, MUTED, RULE, SAFETY_BORDER, ClinicDocument, Layout, format_date

LAYOUT = Layout(side_mm=15.0, top_mm=14, bottom_mm=20, body_pt=9.5, small_pt=7.5, heading_pt=11.5)
FUNNEL_H_MM = 62.0
# Marker per funnel status: shape first (grey print), colour second; the legend also says it in words.
STATUS_MARKS: dict[str, tuple[str, tuple[int, int, int]]] = {
    "within": ("circle", ACCENT),
    "alert_high": ("triangle_up", (0, 120, 90)),
    "above": ("square", (0, 120, 90)),
    "alert_low": ("triangle_down", SAFETY_BORDER),
    "below": ("cross", SAFETY_BORDER),
}
assert set(STATUS_MARKS) == set(FUNNEL_STATUSES)
_MARK_SYMBOL = {"circle": "●", "triangle_up": "▲", "square": "■", "triangle_down": "▼", "cross": "✕"}


class _Report(ClinicDocument):
    """The clinic's A4 document with the report's footer, headings, tables and funnel plots."""

    def __init__(self, clinic_name: str, period: str, texts: str) -> None:
        super().__init__(LAYOUT, texts)
        self.clinic_name, self.period = clinic_name, period

    def footer(self) -> None:
        self.set_y(-15)
        self.use(LAYOUT.small_pt, color=MUTED)
        self.multi_cell(
            self.epw,
            3.4,
            f"{self.clinic_name} · Clinic outcomes {self.period} · Page {self.page_no()} of {{nb}} · "
            "Decision support for registered clinicians; no patient is named.",
            align="C",
        )

    def heading(self, text: str, room_mm: float = 20) -> None:
        """A section heading that never ends a page alone."""
        if self.will_page_break(room_mm):
            self.add_page()
        self.ln(2)
        self.use(LAYOUT.heading_pt, bold=True, color=ACCENT)
        self.multi_cell(self.epw, LAYOUT.heading_pt * 0.5, text, new_x="LMARGIN", new_y="NEXT")
        self.ln(1)

    def frame(self, frame: pd.DataFrame, widths: tuple[float, ...] | None = None) -> None:
        """A DataFrame as a ruled table, its headings repeated on a new page."""
        if frame.empty:
            self.text_block("None in this period.", color=MUTED)
            return
        headings = [str(c) for c in frame.columns]
        rows = [headings, *([str(v) for v in values] for values in frame.itertuples(index=False))]
        self.ruled_table(
            rows, size_pt=LAYOUT.body_pt - 1, col_widths=widths, line_mm=LAYOUT.line_mm - 0.6, padding_mm=0.8
        )
        self.ln(1.5)

    def mark(self, shape: str, x: float, y: float, r: float = 1.3) -> None:
        """One point of the funnel plot in its status's shape (filled)."""
        if shape == "circle":
            self.circle(x, y, r, style="F")
        elif shape == "square":
            self.rect(x - r, y - r, 2 * r, 2 * r, style="F")
        elif shape in ("triangle_up", "triangle_down"):
            s = 1 if shape == "triangle_up" else -1
            self.polygon([(x - r, y + s * r), (x + r, y + s * r), (x, y - s * r)], style="F")
        else:
            self.line(x - r, y - r, x + r, y + r)
            self.line(x - r, y + r, x + r, y - r)

    def funnel(self, report: OutcomesReport, measure: str) -> None:
        """The measure's funnel plot: % improved against complete episodes, the clinic's rate, its 95%
        (dashed) and 99.8% (dotted) limits, and each clinician's point with their name."""
        points = report.outcomes.funnel[measure]
        pooled = report.outcomes.by_measure[measure].pct_improved
        if not points or pooled is None:
            return
        self.heading(f"{MEASURE_NAMES[measure]}: each clinician against the clinic's rate", FUNNEL_H_MM + 30)
        x0, y0, w, h = self.l_margin + 12, self.get_y() + 2, self.epw - 20, FUNNEL_H_MM
        top = max(max(p.n for p in points) * 1.15, 10)

        def xy(n: float, pct: float) -> tuple[float, float]:
            return x0 + w * n / top, y0 + h - h * pct / 100

        self.set_draw_color(*RULE)
        self.set_line_width(0.2)
        self.rect(x0, y0, w, h)
        self.use(LAYOUT.small_pt, color=MUTED)
        for pct in (0, 25, 50, 75, 100):
            _x, y = xy(0, pct)
            self.set_xy(x0 - 11, y - 1.5)
            self.cell(10, 3, f"{pct}%", align="R")
        for n in sorted({0, round(top / 2), int(top)}):
            x, _y = xy(n, 0)
            self.set_xy(x - 6, y0 + h + 0.8)
            self.cell(12, 3, str(n), align="C")
        self.set_xy(x0, y0 + h + 4)
        self.cell(w, 3, "Complete episodes (n)", align="C")
        self.set_draw_color(*MUTED)
        self.set_line_width(0.35)
        self.line(*xy(0, pooled), *xy(top, pooled))
        ns = [max(1, top * i / 80) for i in range(81)]
        for low, high, dash in (("low95", "high95", (1.6, 1.0)), ("low998", "high998", (0.4, 0.8))):
            self.set_dash_pattern(dash=dash[0], gap=dash[1])
            for part in (low, high):
                curve = [xy(n, getattr(funnel_limits(pooled, n), part)) for n in ns]
                for (xa, ya), (xb, yb) in zip(curve, curve[1:], strict=False):
                    self.line(xa, ya, xb, yb)
        self.set_dash_pattern()
        for point in points:
            shape, colour = STATUS_MARKS[point.status]
            self.set_draw_color(*colour)
            self.set_fill_color(*colour)
            self.set_line_width(0.4)
            x, y = xy(point.n, point.pct)
            self.mark(shape, x, y)
            self.use(LAYOUT.small_pt - 0.5, color=INK)
            self.set_xy(x + 1.8, y - 1.6)
            self.cell(40, 3, clinician_name(report, point.clinician_id)[:40])
        self.set_line_width(0.2)
        self.set_y(y0 + h + 9)
        legend = f"— clinic rate {pooled:.0f}%   - - 95% limits   ··· 99.8% limits   " + "   ".join(
            f"{_MARK_SYMBOL[STATUS_MARKS[s][0]]} {words}" for s, words in FUNNEL_STATUSES.items()
        )
        self.text_block(legend, LAYOUT.small_pt, color=MUTED)
        self.frame(funnel_frame(report, measure))


def render(report: OutcomesReport, *, clinic_name: str, creation_date: dt.datetime | None = None) -> bytes:
    """The period's clinic outcomes as A4 PDF bytes (same report and creation date, same bytes)."""
    outcomes = report.outcomes
    period = f"{format_date(outcomes.period_start)} to {format_date(outcomes.period_end)}"
    names = " ".join(report.clinicians.values())
    pdf = _Report(clinic_name, period, f"{clinic_name} {names}")
    pdf.describe(
        title=f"Clinic outcomes {period}", language="en-GB", author=clinic_name, created=creation_date
    )
    pdf.add_page()
    pdf.text_block(clinic_name, 13, bold=True, color=ACCENT)
    pdf.text_block(f"Clinic outcomes: episodes discharged {period}", 15, bold=True)
    pdf.ln(1)
    pdf.text_block(
        f"{outcomes.n_discharged} episodes discharged in the period, {outcomes.n_complete_any} with a "
        f"complete measure; {outcomes.in_progress} episodes in progress (open, never in a denominator)."
    )
    pdf.text_block(CASE_MIX_NOTE, color=MUTED)
    pdf.heading("Clinically important improvement at discharge")
    pdf.frame(measure_frame(outcomes), (2.9, 1.7, 1.5, 1.5, 2.4, 1.5, 1.5, 1.6))
    pdf.text_block(
        "Complete: a baseline and a later final value. % improved is of the complete episodes, with a "
        "Wilson 95% interval.",
        LAYOUT.small_pt,
        color=MUTED,
    )
    for measure in OUTCOME_MEASURES:
        pdf.funnel(report, measure)
    for measure in OUTCOME_MEASURES:
        if outcomes.by_measure[measure].n_complete:
            pdf.heading(f"{MEASURE_NAMES[measure]}: trend by month of discharge", 40)
            pdf.frame(trend_frame(report, measure), (3, 2, 2, 2))
    pdf.heading("Case mix of the discharged episodes", 50)
    for title, frame in case_mix_frames(outcomes).items():
        pdf.text_block(title, LAYOUT.body_pt, bold=True)
        pdf.frame(frame, (3, 1, 1))
    pdf.heading("Discharge reasons", 40)
    pdf.frame(discharge_reason_frame(outcomes), (4, 1))
    pdf.heading("Red flags acted on in time", 50)
    pdf.frame(timeliness_frame(report, icons=False))
    pdf.text_block(
        "Events raised in the period; rules raised together count once, at the most urgent rule's target. "
        f"Still open past the target counts as late. {rule_target_note()}",
        LAYOUT.small_pt,
        color=MUTED,
    )
    return bytes(pdf.output())
