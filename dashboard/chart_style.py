"""The house style of the progress charts and the pieces they are drawn from: the Okabe–Ito
palette, a plotly template built once, and a Canvas that draws lines, bands, baselines with their
band of no important change, and red-flag and handout events on the time axis.

Shapes and annotations are collected while a chart is drawn and given to plotly in one layout
update when it is finished (one validation pass instead of one per shape).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard.trends import mcid_band

# Okabe & Ito (2008) colour-blind-safe palette.
OKABE_ITO: dict[str, str] = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}
PALETTE: tuple[str, ...] = tuple(OKABE_ITO.values())

# Event kind -> (colour, line dash, word shown beside the line).
EVENT_STYLE: dict[str, tuple[str, str, str]] = {
    "red_flag": (OKABE_ITO["vermillion"], "dash", "⚑ Red flag"),
    "handout": (OKABE_ITO["bluish_green"], "dot", "✎ Handout"),
}
_BAND_OPACITY = 0.18
# (baseline label, band label) corners for the first and a second series sharing a panel.
_LABEL_CORNERS: tuple[tuple[str, str], ...] = (("top left", "bottom right"), ("bottom left", "top right"))
DATE_HOVER = "%{x|%d %b %Y}"
X_TITLE = "Visit date"

Event = tuple[dt.date | dt.datetime | str, str, str]


# The house style: plotly_white's visible settings (white background, light grid and zero lines,
# slate text), as a small template built once. Plotly's named "plotly_white" template is deep-copied
# and validated on every use (~8 ms a figure). Kept in the template rather than the layout, so that
# Streamlit's chart theme (st.plotly_chart's default) still overrides what it themes, as it did with
# plotly_white: the charts look the same in the app.
_GRID = "#EBF0F8"
_AXIS_STYLE: dict[str, Any] = {
    "gridcolor": _GRID,
    "linecolor": _GRID,
    "zerolinecolor": _GRID,
    "zerolinewidth": 2,
    "ticks": "",
    "automargin": True,
    "title": {"standoff": 15},
}
_HOUSE_TEMPLATE = go.layout.Template(
    layout={
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "font": {"color": "#2a3f5f"},
        "title": {"x": 0.05},
        "hoverlabel": {"align": "left"},
        "autotypenumbers": "strict",
        "xaxis": _AXIS_STYLE,
        "yaxis": _AXIS_STYLE,
    }
)
# Visit dates, never times of day (a single visit otherwise gets hour ticks such as 23:59:59.999).
_X_AXIS: dict[str, Any] = {"type": "date", "tickformat": "%d %b %Y"}


def _refs(row: int | None) -> tuple[str, str]:
    """(x axis, y axis) references of a panel: "x", "y" for the first (or only) one, else "x2", "y2"..."""
    return ("x", "y") if row in (None, 1) else (f"x{row}", f"y{row}")


def _label_at(position: str, low: float, high: float | None = None) -> dict[str, Any]:
    """Where add_hline / add_hrect put a label: a corner of the panel's width at a line or band.

    A line's label (`high` None) sits beside it, "top" above the line; a band's label inside it,
    "top" under its upper edge.
    """
    words = position.split()
    x = {"x": 0, "xanchor": "left"} if "left" in words else {"x": 1, "xanchor": "right"}
    if high is None:
        y = {"y": low, "yanchor": "bottom" if "top" in words else "top"}
    else:
        y = {"y": high, "yanchor": "top"} if "top" in words else {"y": low, "yanchor": "bottom"}
    return {**x, **y, "showarrow": False}


def cell(row: int | None) -> dict[str, Any]:
    """The `row`/`col` keywords that put a trace or axis update on one panel (none for a single panel)."""
    return {"row": row, "col": 1} if row is not None else {}


def _number(value: float) -> str:
    return f"{round(value, 1):g}"


def outlined_marker(colour: str, symbol: str, size: int = 12) -> dict[str, Any]:
    """A marker with a thin black outline: its shape stays readable over a coloured band or a like colour."""
    return {
        "color": colour,
        "symbol": symbol,
        "size": size,
        "line": {"color": OKABE_ITO["black"], "width": 1},
    }


def has(frame: pd.DataFrame, *columns: str) -> bool:
    """True when the visit frame records a value in any of the columns (else the chart is not drawn)."""
    return any(column in frame and frame[column].notna().any() for column in columns)


@dataclass
class Canvas:
    """A figure being drawn, with its shapes and annotations kept until :meth:`finish`, which gives
    them to plotly in one layout update instead of one per add_hline / add_hrect / add_annotation."""

    fig: go.Figure
    shapes: list[dict[str, Any]] = field(default_factory=list)
    annotations: list[dict[str, Any]] = field(default_factory=list)

    def line(
        self,
        rows: pd.DataFrame,
        column: str,
        name: str,
        colour: str,
        symbol: str | Sequence[str],
        hover_value: str,
        *,
        dash: str = "solid",
        row: int | None = None,
        customdata: Any = None,
    ) -> None:
        """One series (lines and markers) with a hover line naming the measure, value and unit."""
        self.fig.add_trace(
            go.Scatter(
                x=rows["visit_date"],
                y=rows[column],
                name=name,
                mode="lines+markers",
                line={"color": colour, "dash": dash, "width": 2},
                marker={"color": colour, "symbol": symbol, "size": 9},
                customdata=customdata,
                text=rows["note_hover"],
                hovertemplate=f"{name}<br>{hover_value}<br>{DATE_HOVER}%{{text}}<extra></extra>",
            ),
            **cell(row),
        )

    def band(
        self,
        low: float,
        high: float,
        *,
        name: str,
        fillcolor: str,
        opacity: float,
        label: str,
        position: str,
        font: dict[str, Any],
        row: int | None = None,
    ) -> None:
        """A band across the panel's width (as add_hrect draws it), with its label inside."""
        xref, yref = _refs(row)
        self.shapes.append(
            {
                "type": "rect",
                "x0": 0,
                "x1": 1,
                "xref": f"{xref} domain",
                "y0": low,
                "y1": high,
                "yref": yref,
                "fillcolor": fillcolor,
                "opacity": opacity,
                "line": {"width": 0},
                "layer": "below",
                "name": name,
            }
        )
        self.annotations.append(
            {
                "text": label,
                "xref": f"{xref} domain",
                "yref": yref,
                "font": font,
                **_label_at(position, low, high),
            }
        )

    def baseline(
        self,
        measure: str | None,
        value: float,
        colour: str,
        label: str,
        unit: str,
        *,
        row: int | None = None,
        slot: int = 0,
    ) -> None:
        """Baseline as a dotted line, and the band of no important change (MCID or MDC90) around it.

        `slot` 1 moves the labels to the other corners, for a second series on the same panel.
        """
        line_corner, band_corner = _LABEL_CORNERS[slot % len(_LABEL_CORNERS)]
        xref, yref = _refs(row)
        self.shapes.append(
            {
                "type": "line",
                "x0": 0,
                "x1": 1,
                "xref": f"{xref} domain",
                "y0": value,
                "y1": value,
                "yref": yref,
                "line": {"color": colour, "dash": "dot", "width": 1.5},
                "name": f"baseline:{label}",
            }
        )
        self.annotations.append(
            {
                "text": f"{label} baseline {_number(value)} {unit}".rstrip(),
                "xref": f"{xref} domain",
                "yref": yref,
                "font": {"color": colour, "size": 11},
                **_label_at(line_corner, value),
            }
        )
        band = mcid_band(measure, value) if measure else None
        if band is None:
            if measure:
                self.annotations.append(
                    {
                        "text": "No confirmed MCID: change is shown without a judgement",
                        "xref": f"{xref} domain",
                        "yref": f"{yref} domain",
                        "x": 1,
                        "y": 0.02,
                        "xanchor": "right",
                        "showarrow": False,
                        "font": {"size": 11},
                    }
                )
            return
        low, high, kind = band
        # The band is a zone around the baseline, not a verdict: the change table gives the judgement.
        words = "baseline ± MCID" if kind == "MCID" else "baseline ± measurement error (MDC90)"
        self.band(
            low,
            high,
            name=f"mcid_band:{measure}",
            fillcolor=colour,
            opacity=_BAND_OPACITY,
            label=f"{label}: {words}, {_number((high - low) / 2)} {unit}".rstrip(),
            position=band_corner,
            font={"color": "#333333", "size": 10},
            row=row,
        )

    def _events(self, events: Sequence[Event], *, upright: bool) -> None:
        """Red flags and handouts as vertical lines across every panel (yref paper), one per day and kind.

        The label is a short word with a count ("⚑ 3 red flags"); the rule ids and dates are on hover, so
        several escalations of one day never print overlapping ids (issue 19). Labels run along the line,
        or sit upright above the plot (`upright`, for short strips).
        """
        grouped: dict[tuple[pd.Timestamp, str], list[str]] = {}
        for when, kind, label in events:
            if kind not in EVENT_STYLE:
                raise ValueError(f"events: unknown kind {kind!r}; expected one of {', '.join(EVENT_STYLE)}")
            grouped.setdefault((pd.Timestamp(when), kind), []).append(label)
        for (x, kind), labels in grouped.items():
            colour, dash, word = EVENT_STYLE[kind]
            icon, _, noun = word.partition(" ")
            short = word if len(labels) == 1 else f"{icon} {len(labels)} {noun.lower()}s"
            details = ", ".join(label for label in labels if label)
            hover = f"{short}: {details}" if details else short
            self.shapes.append(
                {
                    "type": "line",
                    "x0": x,
                    "x1": x,
                    "xref": "x",
                    "y0": 0,
                    "y1": 1,
                    "yref": "paper",
                    "line": {"color": colour, "dash": dash, "width": 1.5},
                    "name": f"event:{kind}",
                }
            )
            self.annotations.append(
                {
                    "x": x,
                    "xref": "x",
                    "y": 1,
                    "yref": "paper",
                    "text": short,
                    "hovertext": f"{hover} ({x:%d %b %Y})",
                    "textangle": 0 if upright else -90,
                    "xanchor": "center" if upright else "right",
                    "yanchor": "bottom" if upright else "top",
                    "showarrow": False,
                    "bgcolor": "rgba(255,255,255,0.8)",
                    "font": {"color": colour, "size": 11},
                    "name": f"event:{kind}",
                }
            )

    def finish(self, events: Sequence[Event] = (), *, upright: bool = False) -> go.Figure:
        """The figure with the events drawn and every shape and annotation applied; with points on one
        day only, that date is the axis' one tick (plotly otherwise repeats it across the axis)."""
        self._events(events, upright=upright)
        fig = self.fig
        update: dict[str, Any] = {}
        if self.shapes:
            update["shapes"] = [*fig.layout.shapes, *self.shapes]
        if self.annotations:
            # After the subplot titles, which make_subplots wrote as annotations.
            update["annotations"] = [*fig.layout.annotations, *self.annotations]
        if update:
            fig.update_layout(update)
        # The dates of the points drawn (a strip of one STarT Back result among six visits has one).
        drawn = [x for trace in fig.data if trace.x is not None for x in trace.x]
        dates = pd.to_datetime(pd.Series(drawn, dtype="object")).dropna().unique()
        if len(dates) == 1:
            day = pd.Timestamp(dates[0])
            fig.update_xaxes(tickvals=[day], ticktext=[f"{day:%d %b %Y}"])
        return fig


def canvas(title: str, rows: int = 1, subplot_titles: Sequence[str] | None = None) -> Canvas:
    """An empty chart (or a column of panels sharing the time axis) in the house style."""
    layout: dict[str, Any] = {
        "title": {"text": title},
        "template": _HOUSE_TEMPLATE,
        "colorway": list(PALETTE),
        "hovermode": "closest",
        # Legend under the time axis, so it never collides with the title or panel titles.
        "legend": {"orientation": "h", "yref": "container", "yanchor": "bottom", "y": 0.01, "x": 0},
        "margin": {"l": 70, "r": 30, "t": 80, "b": 120},
        "height": 260 + 230 * rows,
    }
    if rows > 1:
        fig = make_subplots(
            rows=rows,
            cols=1,
            shared_xaxes=True,
            vertical_spacing=0.12 if rows < 3 else 0.08,
            subplot_titles=list(subplot_titles or []),
            figure=go.Figure(layout=layout),
        )
        fig.update_xaxes(**_X_AXIS)
        fig.update_xaxes(title_text=X_TITLE, row=rows, col=1)
    else:
        fig = go.Figure(layout={**layout, "xaxis": {**_X_AXIS, "title": {"text": X_TITLE}}})
    return Canvas(fig)
