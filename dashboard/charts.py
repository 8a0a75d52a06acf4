"""Plotly figures of one patient's progress (the only plotly import): Okabe–Ito colours with words and
marker shapes beside them, axis titles with units, baseline and MCID band, and events on the time axis.

Every builder takes a `trends.visit_frame` and returns None when the frame holds no value for its
measure, so the page shows its own "not recorded yet" text instead of an empty chart.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard.catalogue import METRIC_PROTOCOL, WALK_METRICS, WALK_PROTOCOLS
from dashboard.outcomes import ODI_BAND_LABELS, ODI_BANDS, ODI_TOP_BAND
from dashboard.trends import (
    MEASURE_LABELS,
    PROTOCOL_NAMES,
    WALK_FIELD_WORDS,
    baseline_latest,
    mcid_band,
    series_rows,
    walk_measures,
)

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

# Each protocol has its own colour and marker shape, so the shape alone tells them apart.
PROTOCOL_STYLE: dict[str, tuple[str, str]] = {
    p.id: (OKABE_ITO[p.chart_colour], p.chart_marker) for p in WALK_PROTOCOLS.values()
}
# Event kind -> (colour, line dash, word shown beside the line).
EVENT_STYLE: dict[str, tuple[str, str, str]] = {
    "red_flag": (OKABE_ITO["vermillion"], "dash", "⚑ Red flag"),
    "handout": (OKABE_ITO["bluish_green"], "dot", "✎ Handout"),
}
RISK_STYLE: dict[str, tuple[str, str, str]] = {
    "low": (OKABE_ITO["bluish_green"], "circle", "Low risk"),
    "medium": (OKABE_ITO["orange"], "diamond", "Medium risk"),
    "high": (OKABE_ITO["vermillion"], "triangle-up", "High risk"),
}
# Light greys for the ODI bands: the band names carry the meaning, not the shade.
_ODI_SHADES = ("#F7F7F7", "#EDEDED")
_BAND_OPACITY = 0.18
# (baseline label, band label) corners for the first and a second series sharing a panel.
_LABEL_CORNERS: tuple[tuple[str, str], ...] = (("top left", "bottom right"), ("bottom left", "top right"))
_DATE_HOVER = "%{x|%d %b %Y}"
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


def _figure(title: str, rows: int = 1, subplot_titles: Sequence[str] | None = None) -> go.Figure:
    """An empty figure (or a column of panels sharing the time axis) in the house style."""
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
    return fig


@dataclass
class _Overlays:
    """Shapes and annotations collected while a figure is built, then given to plotly in one layout
    update: one validation pass instead of one per add_hline / add_hrect / add_annotation call."""

    shapes: list[dict[str, Any]] = field(default_factory=list)
    annotations: list[dict[str, Any]] = field(default_factory=list)

    def apply(self, fig: go.Figure) -> go.Figure:
        update: dict[str, Any] = {}
        if self.shapes:
            update["shapes"] = [*fig.layout.shapes, *self.shapes]
        if self.annotations:
            # After the subplot titles, which make_subplots wrote as annotations.
            update["annotations"] = [*fig.layout.annotations, *self.annotations]
        if update:
            fig.update_layout(update)
        return fig


def _finish(fig: go.Figure, overlays: _Overlays) -> go.Figure:
    """Apply the overlays; with points on one day only, that date is the axis' one tick (plotly
    otherwise repeats it across the axis)."""
    fig = overlays.apply(fig)
    # The dates of the points drawn (a strip of one STarT Back result among six visits has one).
    drawn = [x for trace in fig.data if trace.x is not None for x in trace.x]
    dates = pd.to_datetime(pd.Series(drawn, dtype="object")).dropna().unique()
    if len(dates) == 1:
        day = pd.Timestamp(dates[0])
        fig.update_xaxes(tickvals=[day], ticktext=[f"{day:%d %b %Y}"])
    return fig


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


def _band(
    overlays: _Overlays,
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
    overlays.shapes.append(
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
    overlays.annotations.append(
        {
            "text": label,
            "xref": f"{xref} domain",
            "yref": yref,
            "font": font,
            **_label_at(position, low, high),
        }
    )


def _cell(row: int | None) -> dict[str, Any]:
    return {"row": row, "col": 1} if row is not None else {}


def _line(
    fig: go.Figure,
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
    fig.add_trace(
        go.Scatter(
            x=rows["visit_date"],
            y=rows[column],
            name=name,
            mode="lines+markers",
            line={"color": colour, "dash": dash, "width": 2},
            marker={"color": colour, "symbol": symbol, "size": 9},
            customdata=customdata,
            text=rows["note_hover"],
            hovertemplate=f"{name}<br>{hover_value}<br>{_DATE_HOVER}%{{text}}<extra></extra>",
        ),
        **_cell(row),
    )


def _number(value: float) -> str:
    return f"{round(value, 1):g}"


def _baseline(
    overlays: _Overlays,
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
    overlays.shapes.append(
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
    overlays.annotations.append(
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
            overlays.annotations.append(
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
    _band(
        overlays,
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


def _events(overlays: _Overlays, events: Sequence[Event], *, upright: bool = False) -> None:
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
        overlays.shapes.append(
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
        overlays.annotations.append(
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


def _has(frame: pd.DataFrame, *columns: str) -> bool:
    return any(column in frame and frame[column].notna().any() for column in columns)


def pain_chart(frame: pd.DataFrame, events: Sequence[Event] = ()) -> go.Figure | None:
    """Pain now and worst pain in 24 h (NRS 0–10 points, lower is better), each with its baseline band."""
    series = (
        ("pain_nrs", "Pain now", OKABE_ITO["blue"], "circle", "solid"),
        ("pain_worst_nrs", "Worst pain, 24 h", OKABE_ITO["vermillion"], "square", "dash"),
    )
    if not _has(frame, *(s[0] for s in series)):
        return None
    fig = _figure("Pain (NRS 0–10, lower is better)")
    overlays = _Overlays()
    for slot, (column, name, colour, symbol, dash) in enumerate(series):
        rows = series_rows(frame, column)
        if rows.empty:
            continue
        _line(fig, rows, column, name, colour, symbol, "%{y:.0f} / 10 points", dash=dash)
        first = baseline_latest(frame, column)
        if first is not None:
            _baseline(overlays, column, first.first_value, colour, name, "points", slot=slot)
    fig.update_yaxes(title_text="Pain (NRS 0–10, points)", range=[-0.5, 10.5], dtick=1)
    _events(overlays, events)
    return _finish(fig, overlays)


def walking_chart(frame: pd.DataFrame, events: Sequence[Event] = ()) -> go.Figure | None:
    """Walking tolerance, one panel per protocol metric (never merged, §7.8): total solid, onset dotted.

    An SPWT measured in metres and an SPWT only timed are two panels: distance is never mixed with time.
    """
    measures = walk_measures(frame)
    if not measures:
        return None
    title = "Walking tolerance (higher is better)"
    if len(measures) > 1:
        title += "<br><sup>One panel per protocol and measure: results are compared only within one</sup>"
    titles = [
        f"{PROTOCOL_NAMES[METRIC_PROTOCOL[m]]}: {WALK_FIELD_WORDS[WALK_METRICS[m].field]}" for m in measures
    ]
    fig = _figure(title, rows=len(measures), subplot_titles=titles)
    overlays = _Overlays()
    panel: int | None
    for index, measure in enumerate(measures, start=1):
        panel = index if len(measures) > 1 else None
        metric = WALK_METRICS[measure]
        protocol = METRIC_PROTOCOL[measure]
        colour, symbol = PROTOCOL_STYLE[protocol]
        rows = frame.loc[frame["walk_measure"] == measure]
        unit = metric.unit
        short = PROTOCOL_NAMES[protocol].split(" (")[-1].rstrip(")")
        stop = rows["walk_stop_reason"].fillna("not recorded").astype(str).str.replace("_", " ")
        primary = rows.loc[rows["walk_primary"].notna()]
        # A test stopped for an unrelated reason is drawn as an x and never used as the baseline.
        symbols = np.where(primary["walk_counts"].to_numpy(), symbol, "x").tolist()
        _line(
            fig,
            primary,
            "walk_primary",
            f"{short}: {WALK_FIELD_WORDS[metric.field]} ({unit})",
            colour,
            symbols,
            f"%{{y:.1f}} {unit}<br>stopped: %{{customdata}}",
            row=panel,
            customdata=stop.loc[primary.index].to_numpy(),
        )
        onset = rows.loc[rows["walk_onset"].notna()]
        if not onset.empty:
            _line(
                fig,
                onset,
                "walk_onset",
                f"{short}: {WALK_FIELD_WORDS[metric.onset_field]} ({unit})",
                colour,
                f"{symbol}-open",
                f"%{{y:.1f}} {unit}",
                dash="dot",
                row=panel,
            )
        first = baseline_latest(frame, "walk_primary", measure)
        if first is not None:
            _baseline(overlays, measure, first.first_value, colour, short, unit, row=panel)
        axis_words = "Distance (m)" if unit == "m" else "Time (min)"
        fig.update_yaxes(title_text=f"{short}: {axis_words}", rangemode="tozero", **_cell(panel))
    _events(overlays, events)
    return _finish(fig, overlays)


def odi_chart(frame: pd.DataFrame, events: Sequence[Event] = ()) -> go.Figure | None:
    """ODI % disability (0–100, lower is better) over the labelled Fairbank bands, with baseline band."""
    if not _has(frame, "odi_percent"):
        return None
    fig = _figure("Oswestry Disability Index (lower is better)")
    overlays = _Overlays()
    lower = 0.0
    uppers = [*ODI_BANDS, (100.0, ODI_TOP_BAND)]
    for index, (upper, band) in enumerate(uppers):
        _band(
            overlays,
            lower,
            upper,
            name=f"odi_band:{band}",
            fillcolor=_ODI_SHADES[index % 2],
            opacity=1,
            label=f"{ODI_BAND_LABELS[band]} ({lower:g}–{upper:g} %)",
            position="top right",
            font={"color": "#555555", "size": 10},
        )
        lower = upper
    rows = series_rows(frame, "odi_percent")
    labels = rows["odi_band"].map(ODI_BAND_LABELS).fillna("").to_numpy()
    colour = OKABE_ITO["black"]
    _line(fig, rows, "odi_percent", "ODI", colour, "circle", "%{y:.1f} % (%{customdata})", customdata=labels)
    first = baseline_latest(frame, "odi_percent")
    if first is not None:
        # Slot 1 keeps the band label clear of the band names on the right.
        _baseline(overlays, "odi_percent", first.first_value, OKABE_ITO["blue"], "ODI", "points", slot=1)
    fig.update_yaxes(title_text=MEASURE_LABELS["odi_percent"], range=[0, 100], dtick=20)
    _events(overlays, events)
    return _finish(fig, overlays)


def disability_chart(frame: pd.DataFrame, events: Sequence[Event] = ()) -> go.Figure | None:
    """RMDQ (0–24) and ZCQ subscale means (SS 1–5, PF 1–4), in separate panels where recorded."""
    has_rmdq, has_zcq = _has(frame, "rmdq_total"), _has(frame, "zcq_ss", "zcq_pf")
    if not (has_rmdq or has_zcq):
        return None
    titles = [
        t
        for t, present in (("Roland-Morris (RMDQ)", has_rmdq), ("Zurich Claudication (ZCQ)", has_zcq))
        if present
    ]
    fig = _figure("Disability questionnaires (lower is better)", rows=len(titles), subplot_titles=titles)
    overlays = _Overlays()
    panel = 1 if len(titles) > 1 else None
    if has_rmdq:
        rows = series_rows(frame, "rmdq_total")
        colour = OKABE_ITO["blue"]
        _line(fig, rows, "rmdq_total", "RMDQ", colour, "circle", "%{y:.0f} / 24 points", row=panel)
        first = baseline_latest(frame, "rmdq_total")
        if first is not None:
            _baseline(overlays, "rmdq_total", first.first_value, colour, "RMDQ", "points", row=panel)
        fig.update_yaxes(title_text=MEASURE_LABELS["rmdq_total"], range=[0, 24], **_cell(panel))
        panel = 2 if panel else None
    if has_zcq:
        zcq = (
            ("zcq_ss", "ZCQ symptom severity", OKABE_ITO["orange"], "diamond", "solid", 5),
            ("zcq_pf", "ZCQ physical function", OKABE_ITO["reddish_purple"], "square", "dash", 4),
        )
        for slot, (column, name, colour, symbol, dash, top) in enumerate(zcq):
            rows = series_rows(frame, column)
            if rows.empty:
                continue
            _line(fig, rows, column, name, colour, symbol, f"%{{y:.2f}} (1–{top})", dash=dash, row=panel)
            first = baseline_latest(frame, column)
            if first is not None:
                _baseline(overlays, column, first.first_value, colour, name, "", row=panel, slot=slot)
        fig.update_yaxes(title_text="ZCQ (mean item score; SS 1–5, PF 1–4)", range=[1, 5], **_cell(panel))
    _events(overlays, events)
    return _finish(fig, overlays)


def psfs_chart(frame: pd.DataFrame, events: Sequence[Event] = ()) -> go.Figure | None:
    """PSFS mean rating (0–10 points, higher is better), with the MDC90 band (±2) around baseline."""
    if not _has(frame, "psfs_mean"):
        return None
    fig = _figure(
        "Patient-Specific Functional Scale (higher is better)"
        "<br><sup>Each mean covers the activities rated that day; the change table compares the same "
        "activities only</sup>"
    )
    overlays = _Overlays()
    rows = series_rows(frame, "psfs_mean")
    colour = OKABE_ITO["bluish_green"]
    _line(
        fig,
        rows,
        "psfs_mean",
        "PSFS mean",
        colour,
        "circle",
        "%{y:.1f} / 10 points (mean of %{customdata} activities)",
        customdata=rows["psfs_rated"].to_numpy(),
    )
    first = baseline_latest(frame, "psfs_mean")
    if first is not None:
        _baseline(overlays, "psfs_mean", first.first_value, colour, "PSFS", "points")
    fig.update_yaxes(title_text=MEASURE_LABELS["psfs_mean"], range=[-0.5, 10.5], dtick=2)
    _events(overlays, events)
    return _finish(fig, overlays)


def startback_strip(frame: pd.DataFrame, events: Sequence[Event] = ()) -> go.Figure | None:
    """STarT Back risk group per visit as worded markers; a stratification, not a change measure."""
    if not _has(frame, "startback_risk"):
        return None
    fig = _figure("Keele STarT Back risk group<br><sup>Stratifies care; not a change measure</sup>")
    overlays = _Overlays()
    rows = frame.loc[frame["startback_risk"].notna()]
    for risk, (colour, symbol, words) in RISK_STYLE.items():
        subset = rows.loc[rows["startback_risk"] == risk]
        if subset.empty:
            continue
        fig.add_trace(
            go.Scatter(
                x=subset["visit_date"],
                y=subset["startback_risk"],
                name=words,
                mode="markers+text",
                text=[words] * len(subset),
                textposition="top center",
                marker={"color": colour, "symbol": symbol, "size": 12},
                hovertemplate=f"STarT Back: {words}<br>{_DATE_HOVER}<extra></extra>",
            )
        )
    fig.update_yaxes(
        title_text="STarT Back risk group",
        type="category",
        categoryorder="array",
        categoryarray=list(RISK_STYLE),
        range=[-0.6, 2.8],
    )
    fig.update_layout(height=320, showlegend=False, margin={"t": 110, "b": 60})
    _events(overlays, events, upright=True)
    return _finish(fig, overlays)
