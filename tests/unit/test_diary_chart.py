"""The walking diary's chart (clinical-reference §12.3): minutes walked as bars, pain during the walk as a
line, each walk's traffic light as an Okabe–Ito colour, a marker shape and words, over the clinic's bands."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from dashboard.charts import LIGHT_STYLE, PALETTE, diary_chart
from dashboard.diary_services import DiaryDay
from dashboard.patient_reported import DiaryThresholds, traffic_light
from tests.factories import make_diary_entry

CLINIC = DiaryThresholds(green_max=3, amber_max=5)


def week() -> list[DiaryDay]:
    """Five walks: green, amber, red by pain, green, and red by the 24-hour rule."""
    entries = [
        make_diary_entry(0, 2, walked=10),
        make_diary_entry(1, 4, walked=15),
        make_diary_entry(2, 7, walked=20),
        make_diary_entry(3, 3, walked=12),
        make_diary_entry(4, 2, walked=12, before=1, morning=4),
    ]
    return [DiaryDay(e, traffic_light(e, CLINIC)) for e in entries]


def drawn() -> go.Figure:
    fig = diary_chart(week(), CLINIC)
    assert fig is not None
    return fig


def trace(fig: go.Figure, name: str) -> Any:
    return next(t for t in fig.data if t.name == name)


def test_no_diary_draws_no_chart() -> None:
    assert diary_chart([], CLINIC) is None


def test_minutes_walked_are_bars_and_pain_during_the_walk_is_a_line_below_them() -> None:
    fig = drawn()
    bars = trace(fig, "Minutes walked")
    assert bars.type == "bar" and list(bars.y) == [10, 15, 20, 12, 12] and bars.yaxis == "y"
    line = trace(fig, "Pain during the walk")
    assert line.mode == "lines" and list(line.y) == [2, 4, 7, 3, 2] and line.yaxis == "y2"


def test_each_light_has_its_own_okabe_ito_colour_and_marker_shape_and_a_worded_legend() -> None:
    fig = drawn()
    colours = {colour for colour, _ in LIGHT_STYLE.values()}
    symbols = {symbol for _, symbol in LIGHT_STYLE.values()}
    assert colours <= set(PALETTE) and len(colours) == len(symbols) == 3
    for light, words in (("green", "Green walk"), ("amber", "Amber walk"), ("red", "Red walk")):
        markers = trace(fig, words)
        assert markers.mode == "markers" and markers.yaxis == "y2"
        assert (markers.marker.color, markers.marker.symbol) == LIGHT_STYLE[light]
    assert list(trace(fig, "Red walk").y) == [7, 2]  # the second red by the 24-hour rule


def test_the_hover_says_the_light_in_words_so_colour_is_never_alone() -> None:
    fig = drawn()
    assert list(trace(fig, "Green walk").customdata)[0].startswith("Green: pain 0–3 during the walk")
    red_hovers = list(trace(fig, "Red walk").customdata)
    assert red_hovers[0].startswith("Red: pain 6–10") and "24-hour rule" in red_hovers[1]
    assert all("%{customdata}" in t.hovertemplate for t in fig.data if t.hoverinfo != "skip")
    assert "Walked 20 min" in trace(fig, "Minutes walked").customdata[2]


def test_the_clinics_thresholds_are_bands_on_the_pain_panel_with_their_words() -> None:
    fig = drawn()
    bands = {s.name: (s.y0, s.y1, s.yref) for s in fig.layout.shapes if s.name.startswith("light_band:")}
    assert bands == {
        "light_band:green": (-0.5, 3.5, "y2"),
        "light_band:amber": (3.5, 5.5, "y2"),
        "light_band:red": (5.5, 10.5, "y2"),
    }
    labels = {a.text for a in fig.layout.annotations}
    assert {"Green: pain 0–3", "Amber: pain 4–5", "Red: pain 6–10"} <= labels


def test_the_axes_are_titled_with_their_units_and_the_time_axis_names_walks() -> None:
    fig = drawn()
    assert fig.layout.yaxis.title.text == "Minutes walked"
    assert fig.layout.yaxis2.title.text == "Pain (NRS 0–10, points)"
    assert fig.layout.xaxis2.title.text == "Walk date"
    assert "patient-reported" in fig.layout.title.text
