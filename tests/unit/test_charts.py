"""Progress charts: Okabe–Ito colours, axis titles with units, baseline and MCID bands, events."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio
import pytest

from dashboard.charts import (
    OKABE_ITO,
    PALETTE,
    disability_chart,
    odi_chart,
    pain_chart,
    psfs_chart,
    startback_strip,
    walking_chart,
)
from dashboard.models import Visit
from dashboard.trends import visit_frame
from tests import factories

DAY_ONE = dt.date(2025, 3, 3)
BUILDERS = (pain_chart, walking_chart, odi_chart, disability_chart, psfs_chart, startback_strip)
EVENTS = [
    (DAY_ONE + dt.timedelta(days=10), "red_flag", "RF_CES"),
    (DAY_ONE + dt.timedelta(days=20), "handout", "Plan"),
]


# A visit `day` days after DAY_ONE with only the given fields recorded.
make_visit = functools.partial(factories.make_visit, start=DAY_ONE)


def full_history() -> list[Visit]:
    """Three visits recording every measure, with two walking protocols."""
    startback = {**{f"q{i}": "agree" for i in range(1, 9)}, "q9": "extremely"}
    zcq = {**{f"q{i}": 3 for i in range(1, 8)}, **{f"q{i}": 2 for i in range(8, 13)}}
    return [
        make_visit(
            0,
            pain_nrs=7,
            pain_worst_nrs=9,
            odi_sections=[4] * 10,
            rmdq_items=[True] * 12 + [False] * 12,
            zcq_items=zcq,
            psfs=[{"activity": "stairs", "score": 3}],
            startback=startback,
            walk_protocol="spwt",
            walk_total_m=300,
            walk_onset_m=120,
        ),
        make_visit(14, pain_nrs=5, walk_protocol="treadmill_1_2mph", walk_total_min=8, walk_onset_min=3),
        make_visit(
            28,
            pain_nrs=4,
            odi_sections=[3] * 10,
            psfs=[{"activity": "stairs", "score": 6}],
            walk_protocol="spwt",
            walk_total_m=420,
            walk_onset_m=200,
        ),
    ]


@pytest.fixture
def frame() -> Any:
    """The visit frame of a full history."""
    return visit_frame(full_history())


def shapes_named(fig: go.Figure, prefix: str) -> list[Any]:
    """Layout shapes whose name starts with `prefix`."""
    return [shape for shape in fig.layout.shapes if (shape.name or "").startswith(prefix)]


def texts(fig: go.Figure) -> list[str]:
    """Every annotation text of a figure."""
    return [annotation.text or "" for annotation in fig.layout.annotations]


def y_titles(fig: go.Figure) -> list[str]:
    """Every y-axis title of a figure, top panel first."""
    names = sorted((name for name in fig.layout if name.startswith("yaxis")), key=lambda n: int(n[5:] or 1))
    return [fig.layout[name].title.text for name in names]


def built(fig: go.Figure | None) -> go.Figure:
    """The figure a builder drew (failing the test when it drew none)."""
    assert fig is not None
    return fig


def test_the_palette_is_okabe_ito() -> None:
    assert PALETTE == ("#000000", "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7")
    assert set(OKABE_ITO.values()) == set(PALETTE)


@pytest.mark.parametrize("build", BUILDERS)
def test_every_series_is_drawn_in_an_okabe_ito_colour(build: Any, frame: Any) -> None:
    fig = built(build(frame, EVENTS))
    assert fig.data
    assert all(trace.marker.color in PALETTE for trace in fig.data)


@pytest.mark.parametrize("build", BUILDERS)
def test_every_chart_is_empty_handed_as_none_when_nothing_was_recorded(build: Any) -> None:
    assert build(visit_frame([make_visit(0, notes="talked only")]), EVENTS) is None
    assert build(visit_frame([]), ()) is None


@pytest.mark.parametrize("build", BUILDERS)
def test_every_chart_labels_the_time_axis_and_gives_hover_details(build: Any, frame: Any) -> None:
    fig = built(build(frame, ()))
    assert "Visit date" in [fig.layout[name].title.text for name in fig.layout if name.startswith("xaxis")]
    assert all("%{x|" in trace.hovertemplate for trace in fig.data)


def styled(fig: go.Figure, *path: str) -> Any:
    """A layout property as drawn: the figure's own value, else its template's."""

    def walk(obj: Any) -> Any:
        for name in path:
            obj = obj[name]
        return obj

    own = walk(fig.layout)
    return own if own is not None else walk(fig.layout.template.layout)


@pytest.mark.parametrize("build", BUILDERS)
def test_every_chart_keeps_the_plotly_white_look(build: Any, frame: Any) -> None:
    fig = built(build(frame, EVENTS))
    white = pio.templates["plotly_white"].layout
    for path in (
        ("paper_bgcolor",),
        ("plot_bgcolor",),
        ("font", "color"),
        ("yaxis", "gridcolor"),
        ("yaxis", "zerolinecolor"),
        ("yaxis", "zerolinewidth"),
        ("xaxis", "gridcolor"),
    ):
        expected = white[path[0]] if len(path) == 1 else white[path[0]][path[1]]
        assert styled(fig, *path) == expected, path


def test_baselines_bands_and_notes_of_a_lower_panel_refer_to_that_panel(frame: Any) -> None:
    walking = built(walking_chart(frame, EVENTS))
    (spwt,) = shapes_named(walking, "baseline:SPWT")
    (treadmill,) = shapes_named(walking, "baseline:Treadmill")
    assert (spwt.xref, spwt.yref) == ("x domain", "y")
    assert (treadmill.xref, treadmill.yref) == ("x2 domain", "y2")
    note = next(a for a in walking.layout.annotations if "No confirmed MCID" in (a.text or ""))
    assert (note.xref, note.yref) == ("x2 domain", "y2 domain")
    labels = {a.text: (a.xref, a.yref) for a in walking.layout.annotations}
    assert labels["Treadmill, 1.2 mph baseline 8 min"] == ("x2 domain", "y2")
    # Events span every panel, against the shared time axis.
    assert {(s.xref, s.yref) for s in shapes_named(walking, "event:")} == {("x", "paper")}
    disability = built(disability_chart(frame, ()))
    (rmdq,) = shapes_named(disability, "mcid_band:rmdq_total")
    (zcq,) = shapes_named(disability, "mcid_band:zcq_ss")
    assert (rmdq.xref, rmdq.yref, zcq.xref, zcq.yref) == ("x domain", "y", "x2 domain", "y2")
    # The panel titles stay, ahead of the labels.
    assert texts(disability)[:2] == ["Roland-Morris (RMDQ)", "Zurich Claudication (ZCQ)"]


def test_labels_sit_in_the_corners_beside_their_line_or_inside_their_band(frame: Any) -> None:
    fig = built(pain_chart(frame, ()))
    by_text = {a.text: a for a in fig.layout.annotations}
    first = by_text["Pain now baseline 7 points"]  # above its line, at the left
    assert (first.x, first.xanchor, first.y, first.yanchor) == (0, "left", 7, "bottom")
    second = by_text["Worst pain, 24 h baseline 9 points"]  # a second series: below its line
    assert (second.x, second.xanchor, second.y, second.yanchor) == (0, "left", 9, "top")
    band = by_text["Pain now: baseline ± MCID, 2 points"]  # inside the band, bottom right; a zone, no verdict
    assert (band.x, band.xanchor, band.y, band.yanchor) == (1, "right", 5, "bottom")
    odi = built(odi_chart(frame, ()))
    minimal = next(a for a in odi.layout.annotations if (a.text or "").startswith("minimal"))
    assert (minimal.x, minimal.xanchor, minimal.y, minimal.yanchor) == (1, "right", 20, "top")
    assert all(a.showarrow is False for a in fig.layout.annotations)


def test_pain_chart_has_both_recall_windows_with_units_and_their_own_baselines(frame: Any) -> None:
    fig = built(pain_chart(frame, ()))
    assert [trace.name for trace in fig.data] == ["Pain now", "Worst pain, 24 h"]
    assert y_titles(fig) == ["Pain (NRS 0–10, points)"]
    assert {trace.line.dash for trace in fig.data} == {"solid", "dash"}
    assert len({trace.marker.symbol for trace in fig.data}) == 2
    baseline = shapes_named(fig, "baseline:Pain now")[0]
    band = shapes_named(fig, "mcid_band:pain_nrs")[0]
    assert baseline.y0 == 7
    assert (band.y0, band.y1) == (5, 9)  # MCID 2 points around the baseline of 7
    assert shapes_named(fig, "mcid_band:pain_worst_nrs")


def test_walking_chart_has_one_panel_and_one_primary_series_per_protocol(frame: Any) -> None:
    fig = built(walking_chart(frame, ()))
    primary = [trace for trace in fig.data if trace.line.dash == "solid"]
    onset = [trace for trace in fig.data if trace.line.dash == "dot"]
    assert [trace.name for trace in primary] == [
        "SPWT: total distance (m)",
        "Treadmill, 1.2 mph: total time (min)",
    ]
    assert [trace.name for trace in onset] == [
        "SPWT: distance to first symptom (m)",
        "Treadmill, 1.2 mph: time to first symptom (min)",
    ]
    assert primary[0].marker.symbol != primary[1].marker.symbol
    assert primary[0].yaxis != primary[1].yaxis  # never merged: separate panels
    assert y_titles(fig) == ["SPWT: Distance (m)", "Treadmill, 1.2 mph: Time (min)"]


def test_walking_chart_draws_the_30_percent_band_for_spwt_and_says_treadmill_has_no_mcid(frame: Any) -> None:
    fig = built(walking_chart(frame, ()))
    band = shapes_named(fig, "mcid_band:walk_spwt_m")[0]
    assert (band.y0, band.y1) == pytest.approx((210, 390))
    assert not shapes_named(fig, "mcid_band:walk_treadmill_min")
    assert shapes_named(fig, "baseline:Treadmill")
    assert any("No confirmed MCID" in text for text in texts(fig))


def test_walking_chart_marks_a_test_stopped_for_an_unrelated_reason_with_an_x() -> None:
    visits = [
        make_visit(0, walk_protocol="spwt", walk_total_m=300),
        make_visit(7, walk_protocol="spwt", walk_total_m=90, walk_stop_reason="other"),
    ]
    fig = built(walking_chart(visit_frame(visits), ()))
    assert list(fig.data[0].marker.symbol) == ["circle", "x"]
    assert "stopped" in fig.data[0].hovertemplate


def test_walking_chart_of_one_protocol_is_a_single_panel() -> None:
    fig = built(walking_chart(visit_frame([make_visit(0, walk_protocol="6mwt", walk_total_m=350)]), ()))
    assert len(fig.data) == 1 and y_titles(fig) == ["6MWT: Distance (m)"]
    band = shapes_named(fig, "mcid_band:walk_6mwt_m")[0]
    assert (band.y0, band.y1) == (324, 376)


def test_walking_chart_draws_a_timed_spwt_in_minutes_without_a_band() -> None:
    visits = [
        make_visit(0, walk_protocol="spwt", walk_onset_min=4, walk_total_min=9),
        make_visit(14, walk_protocol="spwt", walk_onset_min=5, walk_total_min=12),
    ]
    fig = built(walking_chart(visit_frame(visits), ()))
    names = [trace.name for trace in fig.data]
    assert names == ["SPWT: total time (min)", "SPWT: time to first symptom (min)"]
    assert y_titles(fig) == ["SPWT: Time (min)"] and not shapes_named(fig, "mcid_band:")
    assert any("No confirmed MCID" in text for text in texts(fig))


def test_walking_chart_never_mixes_a_measured_and_a_timed_spwt_in_one_panel() -> None:
    visits = [
        make_visit(0, walk_protocol="spwt", walk_total_m=300),
        make_visit(7, walk_protocol="spwt", walk_total_min=9),
    ]
    fig = built(walking_chart(visit_frame(visits), ()))
    assert y_titles(fig) == ["SPWT: Distance (m)", "SPWT: Time (min)"]
    assert fig.data[0].yaxis != fig.data[1].yaxis


def test_odi_chart_shades_and_labels_every_band(frame: Any) -> None:
    fig = built(odi_chart(frame, ()))
    bands = shapes_named(fig, "odi_band:")
    assert [(band.y0, band.y1) for band in bands] == [(0, 20), (20, 40), (40, 60), (60, 80), (80, 100)]
    labels = " ".join(texts(fig))
    for word in ("minimal", "moderate", "severe", "very severe"):
        assert word in labels
    assert "ODI" in y_titles(fig)[0] and "%" in y_titles(fig)[0]
    band = shapes_named(fig, "mcid_band:odi_percent")[0]
    assert (band.y0, band.y1) == (70, 90)  # 10 points is smaller than 30% of 80


def test_disability_chart_shows_rmdq_and_zcq_in_their_own_panels(frame: Any) -> None:
    fig = built(disability_chart(frame, ()))
    assert [trace.name for trace in fig.data] == ["RMDQ", "ZCQ symptom severity", "ZCQ physical function"]
    assert y_titles(fig) == ["RMDQ (0–24, points)", "ZCQ (mean item score; SS 1–5, PF 1–4)"]
    assert shapes_named(fig, "mcid_band:rmdq_total") and shapes_named(fig, "mcid_band:zcq_ss")


def test_disability_chart_with_rmdq_only_is_one_panel() -> None:
    fig = built(disability_chart(visit_frame([make_visit(0, rmdq_items=[True] * 6 + [False] * 18)]), ()))
    assert [trace.name for trace in fig.data] == ["RMDQ"]
    assert y_titles(fig) == ["RMDQ (0–24, points)"]


def test_psfs_chart_draws_the_measurement_error_band_of_2_points(frame: Any) -> None:
    fig = built(psfs_chart(frame, ()))
    band = shapes_named(fig, "mcid_band:psfs_mean")[0]
    assert (band.y0, band.y1) == (1, 5)
    assert y_titles(fig) == ["PSFS mean (0–10, points)"]
    assert any("measurement error" in text for text in texts(fig))


def test_startback_strip_writes_the_risk_group_beside_each_marker(frame: Any) -> None:
    fig = built(startback_strip(frame, ()))
    assert list(fig.data[0].text) == ["High risk"]
    assert y_titles(fig) == ["STarT Back risk group"]


@pytest.mark.parametrize("build", BUILDERS)
def test_red_flags_and_handouts_are_drawn_as_labelled_lines_on_the_time_axis(build: Any, frame: Any) -> None:
    fig = built(build(frame, EVENTS))
    assert [shape.line.dash for shape in shapes_named(fig, "event:")] == ["dash", "dot"]
    events = [a for a in fig.layout.annotations if (a.name or "").startswith("event:")]
    assert [a.text for a in events] == ["⚑ Red flag", "✎ Handout"]  # short words; the detail on hover
    assert "RF_CES" in events[0].hovertext and "Plan" in events[1].hovertext


def test_an_unknown_event_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="kind"):
        pain_chart(visit_frame([make_visit(0, pain_nrs=5)]), [(DAY_ONE, "birthday", "cake")])


def test_escalations_of_one_day_are_one_marker_with_a_count_and_their_rules_on_hover() -> None:
    rules = ["RF_MSCC", "RF_NEW_NEURO_DEFICIT", "RF_MALIGNANCY_CANCER_HX"]
    events = [(DAY_ONE, "red_flag", rule) for rule in rules]
    fig = built(pain_chart(visit_frame([make_visit(0, pain_nrs=5)]), events))
    (annotation,) = [a for a in fig.layout.annotations if (a.name or "") == "event:red_flag"]
    assert annotation.text == "⚑ 3 red flags" and all(rule in annotation.hovertext for rule in rules)
    assert len(shapes_named(fig, "event:red_flag")) == 1


def test_a_visits_note_is_on_the_hover_of_its_points_escaped_and_on_one_line() -> None:
    visits = [
        make_visit(0, pain_nrs=7, notes="Walked to the clinic.\nSaid <a href='x'>this</a> & more"),
        make_visit(14, pain_nrs=5),
    ]
    fig = built(pain_chart(visit_frame(visits), ()))
    (trace,) = fig.data
    assert "%{text}" in trace.hovertemplate
    assert list(trace.text) == [
        "<br>Note: Walked to the clinic. Said &lt;a href='x'&gt;this&lt;/a&gt; &amp; more",
        "",
    ]


def test_a_long_note_is_cut_on_the_hover_with_an_ellipsis() -> None:
    fig = built(pain_chart(visit_frame([make_visit(0, pain_nrs=7, notes="word " * 100)]), ()))
    note = fig.data[0].text[0]
    assert note.endswith("…") and len(note) <= len("<br>Note: ") + 160


def test_a_single_visit_has_its_date_once_on_the_time_axis() -> None:
    fig = built(pain_chart(visit_frame([make_visit(0, pain_nrs=7)]), ()))
    assert list(fig.layout.xaxis.ticktext) == [f"{DAY_ONE:%d %b %Y}"] and len(fig.layout.xaxis.tickvals) == 1


def test_two_visits_keep_plotlys_own_date_ticks() -> None:
    fig = built(pain_chart(visit_frame([make_visit(0, pain_nrs=7), make_visit(14, pain_nrs=6)]), ()))
    assert fig.layout.xaxis.tickvals is None
