"""The Outcomes page's charts (clinical-reference §11.3) as plotly figures: a funnel plot per
measure and the monthly trend of the proportion improved. Colour-blind safe (Okabe & Ito) and never
colour alone: each funnel status has its own marker shape, and the statuses are also given in words.
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from dashboard.chart_style import outlined_marker
from dashboard.charts import OKABE_ITO
from dashboard.clinic_outcomes import FUNNEL_STATUSES, funnel_limits
from dashboard.outcome_services import MonthPoint, OutcomesReport
from dashboard.outcome_views import MEASURE_NAMES, clinician_name
from dashboard.safe_text import hover_text

__all__ = ["funnel_figure", "trend_figure"]

# Marker shape and colour per funnel status: the shape alone tells them apart (never colour alone).
_STATUS_STYLE: dict[str, tuple[str, str]] = {
    "within": (OKABE_ITO["blue"], "circle"),
    "alert_high": (OKABE_ITO["bluish_green"], "triangle-up"),
    "above": (OKABE_ITO["bluish_green"], "star"),
    "alert_low": (OKABE_ITO["orange"], "triangle-down"),
    "below": (OKABE_ITO["vermillion"], "x"),
}
assert set(_STATUS_STYLE) == set(FUNNEL_STATUSES)


def _figure(title: str, *, height: int, bottom: int, **layout: Any) -> go.Figure:
    """An empty figure in the page's style: a title at the left, a white background, room below."""
    return go.Figure(
        layout={
            "title": {"text": title, "x": 0.02},
            "template": "plotly_white",
            "height": height,
            "margin": {"l": 70, "r": 30, "t": 60, "b": bottom},
            **layout,
        }
    )


def funnel_figure(report: OutcomesReport, measure: str) -> go.Figure | None:
    """Funnel plot of one measure (Spiegelhalter 2005): x = complete episodes, y = % improved, the
    clinic's rate and its 95% and 99.8% limits; None when no clinician has a complete episode."""
    points = report.outcomes.funnel[measure]
    pooled = report.outcomes.by_measure[measure].pct_improved
    if not points or pooled is None:
        return None
    top = max(max(p.n for p in points) * 1.3, 10)  # room for the names right of the points
    ns = [1 + (top - 1) * i / 120 for i in range(121)]
    limits = [funnel_limits(pooled, n) for n in ns]
    fig = _figure(
        f"{MEASURE_NAMES[measure]}: % improved by clinician",
        height=420,
        bottom=110,
        xaxis={"title": {"text": "Complete episodes (n)"}, "rangemode": "tozero"},
        yaxis={"title": {"text": "% with a clinically important improvement"}, "range": [-3, 106]},
        legend={"orientation": "h", "yref": "container", "y": 0.01, "x": 0},
        hovermode="closest",
    )
    grey = "#5A5A5A"
    fig.add_trace(
        go.Scatter(
            x=[0, top],
            y=[pooled, pooled],
            mode="lines",
            name=f"Clinic rate {pooled:.0f}%",
            line={"color": grey},
        )
    )
    for name, low, high, dash in (
        ("95% limits", "low95", "high95", "dash"),
        ("99.8% limits", "low998", "high998", "dot"),
    ):
        for part, show in ((low, True), (high, False)):
            fig.add_trace(
                go.Scatter(
                    x=ns,
                    y=[getattr(limit, part) for limit in limits],
                    mode="lines",
                    name=name,
                    legendgroup=name,
                    showlegend=show,
                    line={"color": grey, "dash": dash, "width": 1},
                    hoverinfo="skip",
                )
            )
    for status, (colour, symbol) in _STATUS_STYLE.items():
        chosen = [p for p in points if p.status == status]
        if not chosen:
            continue
        names = [hover_text(clinician_name(report, p.clinician_id), 40) for p in chosen]
        fig.add_trace(
            go.Scatter(
                x=[p.n for p in chosen],
                y=[p.pct for p in chosen],
                mode="markers+text",
                name=FUNNEL_STATUSES[status].capitalize(),
                text=names,
                # Beside the point, not above it: two clinicians with the same n stay readable, and
                # a point at 100 % keeps its name inside the plot.
                textposition="middle right",
                marker=outlined_marker(colour, symbol),
                customdata=[[p.n_improved] for p in chosen],
                hovertemplate="%{text}<br>%{customdata[0]} of %{x} improved (%{y:.0f}%)<extra></extra>",
            )
        )
    return fig


def trend_figure(points: list[MonthPoint], measure: str) -> go.Figure | None:
    """Monthly % improved of one measure with its 95% interval; None when no month has data."""
    shown = [p for p in points if p.pct_improved is not None and p.ci95 is not None]
    if not shown:
        return None
    fig = _figure(
        f"{MEASURE_NAMES[measure]}: % improved by month of discharge",
        height=340,
        bottom=60,
        xaxis={"title": {"text": "Month of discharge"}, "tickformat": "%b %Y", "type": "date"},
        yaxis={"title": {"text": "% improved"}, "range": [0, 104]},
        showlegend=False,
    )
    fig.add_trace(
        go.Scatter(
            x=[p.month for p in shown],
            y=[p.pct_improved for p in shown],
            mode="lines+markers",
            line={"color": OKABE_ITO["blue"]},
            marker={"symbol": "circle", "size": 9},
            error_y={
                "type": "data",
                "symmetric": False,
                "array": [p.ci95[1] - (p.pct_improved or 0) for p in shown if p.ci95],
                "arrayminus": [(p.pct_improved or 0) - p.ci95[0] for p in shown if p.ci95],
                "color": "#5A5A5A",
            },
            customdata=[[p.n_complete] for p in shown],
            hovertemplate="%{x|%B %Y}: %{y:.0f}% of %{customdata[0]} complete episodes<extra></extra>",
        )
    )
    return fig
