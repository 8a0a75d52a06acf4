"""What the Progress page says about the patient's walking diary (clinical-reference §12.3): each
walk's traffic light in words, the rows of the diary table, each walk's hover text for the chart,
the clinic's thresholds as bands, and the line shown when the diary is not settling.

Values in, values out. Everything here is the patient's own report: the page says so in its heading.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, NamedTuple

from dashboard import page_text
from dashboard.diary_services import DiaryDay, PatientDiary
from dashboard.patient_reported import PAIN_RANGE, DiaryEntry, DiaryThresholds, Light, worse_next_morning

PANEL_TITLE: Final = "Walking diary (patient-reported)"
NOT_SETTLING: Final = "Two red walks in a row: the patient was told to go back to their last comfortable week"
LIGHT_NAMES: Final[dict[Light, str]] = {"green": "Green", "amber": "Amber", "red": "Red"}
# The table's columns, in order; the light in words comes second, so it stays in view on a narrow screen.
COLUMNS: Final = (
    "Date",
    "Traffic light",
    "Minutes walked",
    "Symptoms after (min)",
    "Pain before",
    "Pain during",
    "Pain next morning",
)


class LightBand(NamedTuple):
    """One traffic-light zone of pain during the walk (NRS points, inclusive) and its words."""

    light: Light
    low: int
    high: int
    words: str


def light_bands(thresholds: DiaryThresholds) -> list[LightBand]:
    """The clinic's zones of pain during the walk: green up to green max, amber up to amber max, red above."""
    low, high = PAIN_RANGE
    zones: list[tuple[Light, int, int]] = [
        ("green", low, thresholds.green_max),
        ("amber", thresholds.green_max + 1, thresholds.amber_max),
        ("red", thresholds.amber_max + 1, high),
    ]
    # Equal thresholds leave no amber zone, an amber max of 10 no red one: an empty zone is not drawn.
    return [
        LightBand(
            light, a, b, f"{LIGHT_NAMES[light]}: pain {a}–{b}" if a < b else f"{LIGHT_NAMES[light]}: pain {a}"
        )
        for light, a, b in zones
        if a <= b
    ]


def light_words(entry: DiaryEntry, light: Light, thresholds: DiaryThresholds) -> str:
    """The light and why, in words: 'Red: worse next morning (24-hour rule)', 'Green: pain 0–3 during the
    walk'."""
    if light == "red" and worse_next_morning(entry):
        return "Red: worse next morning (24-hour rule)"
    band = next(b for b in light_bands(thresholds) if b.light == light)
    return f"{band.words} during the walk"


def _minutes(value: float | None, none: str) -> str:
    return none if value is None else f"{round(value, 1):g}"


def _pain(value: int | None) -> str:
    return "not yet" if value is None else f"{value} / 10"


def diary_rows(days: Sequence[DiaryDay], thresholds: DiaryThresholds) -> list[dict[str, str]]:
    """The diary table, newest walk first: date, light in words, minutes, symptoms after, the three pains."""
    rows = []
    for day in reversed(days):
        e = day.entry
        values = (
            page_text.day(e.walk_date),
            light_words(e, day.light, thresholds),
            _minutes(e.walked_min, ""),
            _minutes(e.symptom_onset_min, "none"),
            _pain(e.pain_before_nrs),
            _pain(e.pain_during_nrs),
            _pain(e.pain_next_morning_nrs),
        )
        rows.append(dict(zip(COLUMNS, values, strict=True)))
    return rows


def hover_text(day: DiaryDay, thresholds: DiaryThresholds) -> str:
    """One walk on the chart's hover (plotly's <br> line breaks): the light in words, minutes and pains."""
    e = day.entry
    onset = _minutes(e.symptom_onset_min, "")
    symptoms = "no symptoms" if e.symptom_onset_min is None else f"symptoms after {onset} min"
    pains = (
        f"Pain before {_pain(e.pain_before_nrs)}, during {_pain(e.pain_during_nrs)}, "
        f"next morning {_pain(e.pain_next_morning_nrs)}"
    )
    walked = f"Walked {_minutes(e.walked_min, '')} min; {symptoms}"
    return "<br>".join((light_words(e, day.light, thresholds), walked, pains))


def caption(thresholds: DiaryThresholds) -> str:
    """Under the panel's heading: who typed it, and the clinic's traffic-light rule in words."""
    zones = "; ".join(b.words.lower() for b in light_bands(thresholds))
    return (
        "Typed by the patient through their diary link; not checked by a clinician. Traffic light by pain "
        f"during the walk (NRS 0–10): {zones}. More pain the next morning than before the walk counts as "
        "red (24-hour rule)."
    )


def not_settling_line(diary: PatientDiary) -> str | None:
    """The line shown after two red walks in a row, with the last green walk's minutes; None otherwise."""
    if not diary.not_settling:
        return None
    if diary.last_comfortable_min is None:
        return f"{NOT_SETTLING} (no green walk yet: they were told to walk less for a few days)."
    return f"{NOT_SETTLING} (their last green walk: {_minutes(diary.last_comfortable_min, '')} minutes)."
