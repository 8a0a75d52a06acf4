"""Plotly figures of one patient's progress: Okabe–Ito colours with words and marker shapes beside
them, axis titles with units, baseline and MCID band, and events on the time axis. The house style
and the drawing pieces are in `dashboard.chart_style` (re-exported here).

Every builder takes a `trends.visit_frame` and returns None when the frame holds no value for its
measure, so the page shows its own "not recorded yet" text instead of an empty chart; the walking
diary's chart takes the patient's diary days instead (clinical-reference §12.3).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard import diary_views
from dashboard.catalogue import METRIC_PROTOCOL, WALK_METRICS, WALK_PROTOCOLS
from dashboard.chart_style import (
    DATE_HOVER,
    EVENT_STYLE,
    OKABE_ITO,
    PALETTE,
    X_TITLE,
    Event,
    canvas,
    cell,
    has,
    outlined_marker,
)
from dashboard.diary_services import DiaryDay
from dashboard.outcomes import ODI_BAND_LABELS, ODI_BANDS, ODI_TOP_BAND
from dashboard.patient_reported import DiaryThresholds, Light
from dashboard.trends import (
    MEASURE_LABELS,
    PROTOCOL_NAMES,
    WALK_FIELD_WORDS,
    baseline_latest,
    series_rows,
    walk_measures,
)

__all__ = [
    "EVENT_STYLE",
    "LIGHT_STYLE",
    "OKABE_ITO",
    "PALETTE",
    "PROTOCOL_STYLE",
    "RISK_STYLE",
    "X_TITLE",
    "Event",
    "diary_chart",
    "disability_chart",
    "odi_chart",
    "pain_chart",
    "psfs_chart",
    "startback_strip",
    "walking_chart",
]

# Each protocol has its own colour and marker shape, so the shape alone tells them apart.
PROTOCOL_STYLE: dict[str, tuple[str, str]] = {
    p.id: (OKABE_ITO[p.chart_colour], p.chart_marker) for p in WALK_PROTOCOLS.values()
}
RISK_STYLE: dict[str, tuple[str, str, str]] = {
    "low": (OKABE_ITO["bluish_green"], "circle", "Low risk"),
    "medium": (OKABE_ITO["orange"], "diamond", "Medium risk"),
    "high": (OKABE_ITO["vermillion"], "triangle-up", "High risk"),
}
# Each traffic light of the walking diary has its colour and its marker shape, and its words on hover:
# the shape alone tells them apart (the same shapes as the STarT Back groups, low to high).
LIGHT_STYLE: dict[Light, tuple[str, str]] = {
    "green": (OKABE_ITO["bluish_green"], "circle"),
    "amber": (OKABE_ITO["orange"], "diamond"),
    "red": (OKABE_ITO["vermillion"], "triangle-up"),
}
_LIGHT_BAND_OPACITY = 0.12
# Light greys for the ODI bands: the band names carry the meaning, not the shade.
_ODI_SHADES = ("#F7F7F7", "#EDEDED")


def pain_chart(frame: pd.DataFrame, events: Sequence[Event] = ()) -> go.Figure | None:
    """Pain now and worst pain in 24 h (NRS 0–10 points, lower is better), each with its baseline band."""
    series = (
        ("pain_nrs", "Pain now", OKABE_ITO["blue"], "circle", "solid"),
        ("pain_worst_nrs", "Worst pain, 24 h", OKABE_ITO["vermillion"], "square", "dash"),
    )
    if not has(frame, *(s[0] for s in series)):
        return None
    chart = canvas("Pain (NRS 0–10, lower is better)")
    for slot, (column, name, colour, symbol, dash) in enumerate(series):
        rows = series_rows(frame, column)
        if rows.empty:
            continue
        chart.line(rows, column, name, colour, symbol, "%{y:.0f} / 10 points", dash=dash)
        first = baseline_latest(frame, column)
        if first is not None:
            chart.baseline(column, first.first_value, colour, name, "points", slot=slot)
    chart.fig.update_yaxes(title_text="Pain (NRS 0–10, points)", range=[-0.5, 10.5], dtick=1)
    return chart.finish(events)


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
    chart = canvas(title, rows=len(measures), subplot_titles=titles)
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
        chart.line(
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
            chart.line(
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
            chart.baseline(measure, first.first_value, colour, short, unit, row=panel)
        axis_words = "Distance (m)" if unit == "m" else "Time (min)"
        chart.fig.update_yaxes(title_text=f"{short}: {axis_words}", rangemode="tozero", **cell(panel))
    return chart.finish(events)


def odi_chart(frame: pd.DataFrame, events: Sequence[Event] = ()) -> go.Figure | None:
    """ODI % disability (0–100, lower is better) over the labelled Fairbank bands, with baseline band."""
    if not has(frame, "odi_percent"):
        return None
    chart = canvas("Oswestry Disability Index (lower is better)")
    lower = 0.0
    uppers = [*ODI_BANDS, (100.0, ODI_TOP_BAND)]
    for index, (upper, band) in enumerate(uppers):
        chart.band(
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
    chart.line(rows, "odi_percent", "ODI", colour, "circle", "%{y:.1f} % (%{customdata})", customdata=labels)
    first = baseline_latest(frame, "odi_percent")
    if first is not None:
        # Slot 1 keeps the band label clear of the band names on the right.
        chart.baseline("odi_percent", first.first_value, OKABE_ITO["blue"], "ODI", "points", slot=1)
    chart.fig.update_yaxes(title_text=MEASURE_LABELS["odi_percent"], range=[0, 100], dtick=20)
    return chart.finish(events)


def disability_chart(frame: pd.DataFrame, events: Sequence[Event] = ()) -> go.Figure | None:
    """RMDQ (0–24) and ZCQ subscale means (SS 1–5, PF 1–4), in separate panels where recorded."""
    has_rmdq, has_zcq = has(frame, "rmdq_total"), has(frame, "zcq_ss", "zcq_pf")
    if not (has_rmdq or has_zcq):
        return None
    titles = [
        t
        for t, present in (("Roland-Morris (RMDQ)", has_rmdq), ("Zurich Claudication (ZCQ)", has_zcq))
        if present
    ]
    chart = canvas("Disability questionnaires (lower is better)", rows=len(titles), subplot_titles=titles)
    panel = 1 if len(titles) > 1 else None
    if has_rmdq:
        rows = series_rows(frame, "rmdq_total")
        colour = OKABE_ITO["blue"]
        chart.line(rows, "rmdq_total", "RMDQ", colour, "circle", "%{y:.0f} / 24 points", row=panel)
        first = baseline_latest(frame, "rmdq_total")
        if first is not None:
            chart.baseline("rmdq_total", first.first_value, colour, "RMDQ", "points", row=panel)
        chart.fig.update_yaxes(title_text=MEASURE_LABELS["rmdq_total"], range=[0, 24], **cell(panel))
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
            chart.line(rows, column, name, colour, symbol, f"%{{y:.2f}} (1–{top})", dash=dash, row=panel)
            first = baseline_latest(frame, column)
            if first is not None:
                chart.baseline(column, first.first_value, colour, name, "", row=panel, slot=slot)
        chart.fig.update_yaxes(
            title_text="ZCQ (mean item score; SS 1–5, PF 1–4)", range=[1, 5], **cell(panel)
        )
    return chart.finish(events)


def psfs_chart(frame: pd.DataFrame, events: Sequence[Event] = ()) -> go.Figure | None:
    """PSFS mean rating (0–10 points, higher is better), with the MDC90 band (±2) around baseline."""
    if not has(frame, "psfs_mean"):
        return None
    chart = canvas(
        "Patient-Specific Functional Scale (higher is better)"
        "<br><sup>Each mean covers the activities rated that day; the change table compares the same "
        "activities only</sup>"
    )
    rows = series_rows(frame, "psfs_mean")
    colour = OKABE_ITO["bluish_green"]
    chart.line(
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
        chart.baseline("psfs_mean", first.first_value, colour, "PSFS", "points")
    chart.fig.update_yaxes(title_text=MEASURE_LABELS["psfs_mean"], range=[-0.5, 10.5], dtick=2)
    return chart.finish(events)


def startback_strip(frame: pd.DataFrame, events: Sequence[Event] = ()) -> go.Figure | None:
    """STarT Back risk group per visit as worded markers; a stratification, not a change measure."""
    if not has(frame, "startback_risk"):
        return None
    chart = canvas("Keele STarT Back risk group<br><sup>Stratifies care; not a change measure</sup>")
    rows = frame.loc[frame["startback_risk"].notna()]
    for risk, (colour, symbol, words) in RISK_STYLE.items():
        subset = rows.loc[rows["startback_risk"] == risk]
        if subset.empty:
            continue
        chart.fig.add_trace(
            go.Scatter(
                x=subset["visit_date"],
                y=subset["startback_risk"],
                name=words,
                mode="markers+text",
                text=[words] * len(subset),
                textposition="top center",
                marker={"color": colour, "symbol": symbol, "size": 12},
                hovertemplate=f"STarT Back: {words}<br>{DATE_HOVER}<extra></extra>",
            )
        )
    chart.fig.update_yaxes(
        title_text="STarT Back risk group",
        type="category",
        categoryorder="array",
        categoryarray=list(RISK_STYLE),
        range=[-0.6, 2.8],
    )
    chart.fig.update_layout(height=320, showlegend=False, margin={"t": 110, "b": 60})
    return chart.finish(events, upright=True)


def diary_chart(days: Sequence[DiaryDay], thresholds: DiaryThresholds) -> go.Figure | None:
    """The patient's walking diary: minutes walked per day (bars) over pain during the walk (NRS 0–10,
    a line), each walk's traffic light as colour, marker shape and words, on the clinic's light bands."""
    if not days:
        return None
    chart = canvas(
        "Walking diary (patient-reported)",
        rows=2,
        subplot_titles=["Minutes walked per day", "Pain during the walk (NRS 0–10)"],
    )
    dates = [d.entry.walk_date for d in days]
    hovers = [diary_views.hover_text(d, thresholds) for d in days]
    chart.fig.add_trace(
        go.Bar(
            x=dates,
            y=[d.entry.walked_min for d in days],
            name="Minutes walked",
            marker={"color": OKABE_ITO["sky_blue"]},
            customdata=hovers,
            hovertemplate=f"{DATE_HOVER}<br>%{{customdata}}<extra></extra>",
        ),
        row=1,
        col=1,
    )
    for band in diary_views.light_bands(thresholds):
        chart.band(
            band.low - 0.5,
            band.high + 0.5,
            name=f"light_band:{band.light}",
            fillcolor=LIGHT_STYLE[band.light][0],
            opacity=_LIGHT_BAND_OPACITY,
            label=band.words,
            position="top right",
            font={"color": "#333333", "size": 10},
            row=2,
        )
    # The line joins every walk; the markers on it, one trace per light, carry the light and its legend.
    chart.fig.add_trace(
        go.Scatter(
            x=dates,
            y=[d.entry.pain_during_nrs for d in days],
            name="Pain during the walk",
            mode="lines",
            line={"color": OKABE_ITO["black"], "width": 1.5},
            hoverinfo="skip",
        ),
        row=2,
        col=1,
    )
    for light, (colour, symbol) in LIGHT_STYLE.items():
        lit = [i for i, d in enumerate(days) if d.light == light]
        if not lit:
            continue
        chart.fig.add_trace(
            go.Scatter(
                x=[dates[i] for i in lit],
                y=[days[i].entry.pain_during_nrs for i in lit],
                name=f"{diary_views.LIGHT_NAMES[light]} walk",
                mode="markers",
                marker=outlined_marker(colour, symbol),
                customdata=[hovers[i] for i in lit],
                hovertemplate=f"{DATE_HOVER}<br>%{{customdata}}<extra></extra>",
            ),
            row=2,
            col=1,
        )
    chart.fig.update_yaxes(title_text="Minutes walked", rangemode="tozero", row=1, col=1)
    chart.fig.update_yaxes(title_text="Pain (NRS 0–10, points)", range=[-0.5, 10.5], dtick=2, row=2, col=1)
    chart.fig.update_xaxes(title_text="Walk date", row=2, col=1)
    return chart.finish()
