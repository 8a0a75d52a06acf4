"""Progress over time: one patient's visit table, baselines, change and clinically important judgements,
and the caseload overview of every patient at a glance (clinical-reference §3.2, §7.1-§7.9).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd

from dashboard.catalogue import METRIC_PROTOCOL, WALK_FIELDS, WALK_METRICS, WALK_PROTOCOLS
from dashboard.models import TIER_ORDER, Visit
from dashboard.outcomes import (
    MEASURES,
    ChangeJudgement,
    judge_change,
    psfs_paired_means,
    score_odi,
    score_psfs,
    score_rmdq,
    score_startback,
    score_zcq,
    thresholds_for,
)
from dashboard.safe_text import hover_text
from dashboard.summaries import patient_summary
from dashboard.walking import (
    chronological,
    counts_for_comparison,
    onset_metric,
    primary_metric,
    visit_metric,
)

# --- Names and units shown to clinicians ------------------------------------------------------

PROTOCOL_NAMES: dict[str, str] = {p.id: p.name for p in WALK_PROTOCOLS.values()}
# What each walking field measures, for axis titles and table labels.
WALK_FIELD_WORDS: dict[str, str] = {field.id: field.words for field in WALK_FIELDS.values()}

# Measure key -> label with its scale and unit (change table rows, axis titles).
MEASURE_LABELS: dict[str, str] = {
    "pain_nrs": "Pain now (NRS 0–10, points)",
    "pain_worst_nrs": "Worst pain in 24 h (NRS 0–10, points)",
    "odi_percent": "ODI (% disability, 0–100)",
    "rmdq_total": "RMDQ (0–24, points)",
    "psfs_mean": "PSFS mean (0–10, points)",
    "zcq_ss": "ZCQ symptom severity (mean 1–5)",
    "zcq_pf": "ZCQ physical function (mean 1–4)",
}
# Measures of the change table, in the labels' display order (walking rows follow, one per protocol
# metric).
TABLE_MEASURES: tuple[str, ...] = tuple(MEASURE_LABELS)

# Plain words for each judge_change label, with a words-not-colour icon.
JUDGEMENT_TEXT: dict[str, str] = {
    "important_improvement": "▲ Clinically important improvement",
    "important_worsening": "▼ Clinically important worsening",
    "no_important_change": "– No clinically important change",
    "within_measurement_error": "≈ Within measurement error",
    "beyond_measurement_error": "◆ Change beyond measurement error",
    "no_mcid": "· Change shown without a judgement (no confirmed MCID)",
}
ONE_VALUE_TEXT = "Only one value so far"
PSFS_NOT_COMPARABLE_TEXT = "Not compared: no activity rated at both visits"

FRAME_COLUMNS: tuple[str, ...] = (
    "visit_id",
    "visit_date",
    "pain_nrs",
    "pain_worst_nrs",
    "odi_percent",
    "odi_band",
    "rmdq_total",
    "zcq_ss",
    "zcq_pf",
    "psfs_mean",
    "psfs_rated",
    "startback_risk",
    "walk_protocol",
    "walk_measure",
    "walk_primary",
    "walk_onset",
    "walk_primary_unit",
    "walk_onset_unit",
    "walk_stop_reason",
    "walk_counts",
    "note_hover",
)
_FLOAT_COLUMNS = (
    "pain_nrs",
    "pain_worst_nrs",
    "odi_percent",
    "rmdq_total",
    "zcq_ss",
    "zcq_pf",
    "psfs_mean",
    "walk_primary",
    "walk_onset",
)


def field_unit(field: str) -> str:
    """Unit of a walking field from the catalogue: metres ("m") or minutes ("min"); "" for any other."""
    entry = WALK_FIELDS.get(field)
    return entry.unit if entry else ""


def walk_metric_label(measure: str, *, onset: bool = False) -> str:
    """Axis/table label of a walking metric (a change measure such as walk_spwt_min), with its unit."""
    metric = WALK_METRICS[measure]
    field = metric.onset_field if onset else metric.field
    return f"{PROTOCOL_NAMES[METRIC_PROTOCOL[measure]]}: {WALK_FIELD_WORDS[field]} ({field_unit(field)})"


# --- One patient's visits as a table ----------------------------------------------------------


def _visit_row(visit: Visit) -> dict[str, Any]:
    odi = score_odi(visit.odi_sections) if visit.odi_sections is not None else None
    rmdq = score_rmdq(visit.rmdq_items) if visit.rmdq_items is not None else None
    zcq = score_zcq(visit.zcq_items) if visit.zcq_items is not None else None
    startback = score_startback(visit.startback) if visit.startback is not None else None
    psfs = score_psfs(visit.psfs)
    metric = visit_metric(visit)
    return {
        "visit_id": visit.id,
        "visit_date": visit.visit_date,
        "pain_nrs": visit.pain_nrs,
        "pain_worst_nrs": visit.pain_worst_nrs,
        "odi_percent": odi.percent if odi else None,
        "odi_band": odi.band if odi else None,
        "rmdq_total": rmdq.total if rmdq else None,
        "zcq_ss": zcq.symptom_severity if zcq else None,
        "zcq_pf": zcq.physical_function if zcq else None,
        "psfs_mean": psfs.mean,
        "psfs_rated": psfs.rated,
        "startback_risk": startback.risk if startback else None,
        "walk_protocol": visit.walk_protocol,
        # The series key: one protocol's one metric (an SPWT measured and an SPWT timed are two, §7.8).
        "walk_measure": metric.change_measure if metric else None,
        "walk_primary": primary_metric(visit),
        "walk_onset": onset_metric(visit),
        "walk_primary_unit": metric.unit if metric else None,
        "walk_onset_unit": metric.unit if metric else None,
        "walk_stop_reason": visit.walk_stop_reason,
        # A walking record that counts for comparisons (dashboard.walking, the one rule).
        "walk_counts": counts_for_comparison(visit),
        # The visit's notes, reachable from every point of the visit on the charts (escaped, one line).
        "note_hover": f"<br>Note: {hover_text(visit.notes)}" if visit.notes.strip() else "",
    }


def visit_frame(visits: Iterable[Visit]) -> pd.DataFrame:
    """One row per non-archived visit, oldest first by (visit_date, recorded_at), with derived scores.

    Scores are unrounded: odi_percent (0-100 %), rmdq_total (0-24), zcq_ss / zcq_pf (item means),
    psfs_mean (0-10, over psfs_rated activities), walk_primary / walk_onset in walk_*_unit (m or min)
    of that visit's walking metric (walk_measure); visit_date is datetime64; a missing value is NaN
    (numbers) or None (text).
    """
    rows = [_visit_row(visit) for visit in chronological(visits)]
    frame = pd.DataFrame(rows, columns=list(FRAME_COLUMNS))
    frame["visit_date"] = pd.to_datetime(frame["visit_date"])
    for column in _FLOAT_COLUMNS:
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    frame["walk_counts"] = frame["walk_counts"].astype(bool)
    return frame.reset_index(drop=True)


@dataclass(frozen=True)
class BaselineLatest:
    """First (baseline), previous and latest values of one series, with their visit dates."""

    first_value: float
    first_date: dt.date
    previous_value: float | None
    previous_date: dt.date | None
    latest_value: float
    latest_date: dt.date
    n_values: int


def series_rows(frame: pd.DataFrame, column: str, walk_measure: str | None = None) -> pd.DataFrame:
    """The visits of a frame that hold a value of `column`; walking columns need one walking metric.

    With a walking metric (e.g. walk_spwt_m), only its walking records that count for comparison
    are kept.
    """
    mask = frame[column].notna()
    if walk_measure is not None:
        mask &= (frame["walk_measure"] == walk_measure) & frame["walk_counts"]
    return frame.loc[mask]


def baseline_latest(
    frame: pd.DataFrame, column: str, walk_measure: str | None = None
) -> BaselineLatest | None:
    """Baseline (first visit with a value), previous and latest values of a series; None if no value.

    Walking columns (walk_primary, walk_onset) are compared within one protocol and metric only (§7.8).
    """
    if column.startswith("walk_") and walk_measure is None:
        raise ValueError("walk_measure: walking results are compared only within one protocol and metric")
    rows = series_rows(frame, column, walk_measure)
    if rows.empty:
        return None
    values = rows[column].to_list()
    dates = [stamp.date() for stamp in rows["visit_date"]]
    has_previous = len(values) > 1
    return BaselineLatest(
        first_value=float(values[0]),
        first_date=dates[0],
        previous_value=float(values[-2]) if has_previous else None,
        previous_date=dates[-2] if has_previous else None,
        latest_value=float(values[-1]),
        latest_date=dates[-1],
        n_values=len(values),
    )


def mcid_band(measure: str, baseline: float) -> tuple[float, float, str] | None:
    """(low, high, kind) band of no important change around a baseline, in the measure's unit.

    Half-width is the smallest change meeting the MCID (absolute, or % of a non-zero baseline; either
    counts), else the MDC90; None when the measure has no confirmed threshold (treadmill, reported).
    """
    rows = thresholds_for(measure)
    row = next((r for r in rows if r.kind == "MCID"), None) or next(
        (r for r in rows if r.kind == "MDC90"), None
    )
    if row is None:
        return None
    widths = []
    if row.threshold is not None:
        widths.append(row.threshold)
    if row.relative_fraction is not None and baseline != 0:
        widths.append(abs(baseline) * row.relative_fraction)
    if not widths:
        return None
    half = min(widths)
    return baseline - half, baseline + half, row.kind


# --- Change table -----------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ChangeRow(BaselineLatest):
    """One measure's first, previous and latest values (its series), change, and its plain-language
    judgement."""

    measure: str  # judge_change measure name (e.g. "pain_nrs", "walk_spwt_m")
    label: str  # with scale and unit, e.g. "Pain now (NRS 0–10, points)"
    unit: str
    protocol: str | None
    change_since_first: float | None  # latest − first, in `unit`
    change_since_previous: float | None  # latest − previous, in `unit`
    judgement: str | None  # judge_change label, None with one value or nothing comparable
    judgement_text: str
    criterion: str
    higher_is_better: bool
    note: str = ""


def describe_judgement(judgement: ChangeJudgement) -> str:
    """Plain words for a judgement; an MDC-only change also says whether it was better or worse."""
    text = JUDGEMENT_TEXT[judgement.label]
    if judgement.label == "beyond_measurement_error":
        arrow = "▲" if judgement.direction == "better" else "▼"
        text = f"{arrow} {text.removeprefix('◆ ')} ({judgement.direction})"
    return text


Pair = tuple[float, float]


def _row(
    measure: str,
    label: str,
    series: BaselineLatest,
    protocol: str | None = None,
    *,
    pairs: tuple[Pair | None, Pair | None] | None = None,
    note: str = "",
) -> ChangeRow:
    """Build a row from (first, latest) and (previous, latest) pairs; by default the series' own."""
    info = MEASURES[measure]
    if pairs is None:
        since_first = (series.first_value, series.latest_value) if series.n_values > 1 else None
        since_previous = (
            (series.previous_value, series.latest_value) if series.previous_value is not None else None
        )
    else:
        since_first, since_previous = pairs
    judgement = judge_change(measure, *since_first) if since_first else None
    if judgement is not None:
        text, criterion = describe_judgement(judgement), judgement.criterion
    else:
        text, criterion = (ONE_VALUE_TEXT if series.n_values < 2 else PSFS_NOT_COMPARABLE_TEXT), ""
    return ChangeRow(
        **asdict(series),
        measure=measure,
        label=label,
        unit=info.unit,
        protocol=protocol,
        change_since_first=since_first[1] - since_first[0] if since_first else None,
        change_since_previous=since_previous[1] - since_previous[0] if since_previous else None,
        judgement=judgement.label if judgement else None,
        judgement_text=text,
        criterion=criterion,
        higher_is_better=info.direction == "higher_is_better",
        note=note,
    )


def _psfs_row(visits: Sequence[Visit], series: BaselineLatest) -> ChangeRow:
    """PSFS row: values are each visit's mean; change uses only activities rated at both visits (§7.5)."""
    if series.n_values < 2:
        return _row("psfs_mean", MEASURE_LABELS["psfs_mean"], series)
    rated = [visit.psfs or [] for visit in visits if score_psfs(visit.psfs).mean is not None]
    since_first = psfs_paired_means(rated[0], rated[-1])
    since_previous = psfs_paired_means(rated[-2], rated[-1])
    if since_first is None:
        note = "No activity was rated at both the first and the latest visit."
    else:
        count = since_first[2]
        note = f"Change uses the {count} activit{'y' if count == 1 else 'ies'} rated at both visits."
    pairs = (since_first[:2] if since_first else None, since_previous[:2] if since_previous else None)
    return _row("psfs_mean", MEASURE_LABELS["psfs_mean"], series, pairs=pairs, note=note)


def change_table(visits: Iterable[Visit]) -> list[ChangeRow]:
    """Change since the first and previous value of every recorded measure, judged against its MCID.

    Baseline is the first visit with a value (walking: the first counting record of the same
    protocol and metric, one row per protocol metric). Measures never recorded have no row.
    """
    ordered = chronological(visits)
    frame = visit_frame(ordered)
    rows: list[ChangeRow] = []
    for measure in TABLE_MEASURES:
        series = baseline_latest(frame, measure)
        if series is None:
            continue
        if measure == "psfs_mean":
            rows.append(_psfs_row(ordered, series))
        else:
            rows.append(_row(measure, MEASURE_LABELS[measure], series))
    for measure in walk_measures(frame):
        series = baseline_latest(frame, "walk_primary", measure)
        if series is not None:
            rows.append(_row(measure, walk_metric_label(measure), series, METRIC_PROTOCOL[measure]))
    return rows


def walk_measures(frame: pd.DataFrame) -> list[str]:
    """Walking metrics (change measures, one series each) with at least one value, in order of first use."""
    recorded = frame.loc[frame["walk_primary"].notna(), "walk_measure"]
    return list(dict.fromkeys(recorded.to_list()))


def protocol_note(visits: Iterable[Visit]) -> str | None:
    """A sentence for the timeline when walking was tested with more than one protocol, else None."""
    protocols = list(dict.fromkeys(v.walk_protocol for v in chronological(visits) if v.walk_protocol))
    if len(protocols) < 2:
        return None
    names = ", ".join(PROTOCOL_NAMES[p] for p in protocols)
    return (
        f"Walking was tested with more than one protocol ({names}). Walking tolerance is compared only "
        "within one protocol; results from different protocols are never compared or converted."
    )


# --- Caseload overview ------------------------------------------------------------------------

CASELOAD_INPUT_COLUMNS: tuple[str, ...] = (
    "patient_id",
    "patient_ref",
    "name",
    "clinician",
    "first_nrs",
    "latest_nrs",
    "first_walk_primary",
    "latest_walk_primary",
    "walk_protocol",
    "latest_odi_percent",
    "pain_change",
    "odi_change",
    "walk_change",
    "not_improving",
    "open_tier",
    "last_visit_date",
    "next_review_date",
    "visit_count",
    "nrs_count",
    "walk_count",
    "episode_status",
    "episode_start",
    "discharge_date",
)
# Project convention [U] (issue 20): an episode open this long with no clinically important
# improvement in pain, ODI or walking is due a review of the plan; the same 12 weeks as the trend
# rules' look-back at a re-referral (clinical-reference §11.1).
OPEN_WITHOUT_IMPROVEMENT_WEEKS = 12
# The judge_change label of a clinically important improvement (§7.1): the only one that counts here.
_IMPROVED = "important_improvement"
WALKING_TREND_TEXT: dict[str, str] = {
    "better": "▲ better",
    "worse": "▼ worse",
    "same": "– same",
    "unjudged": "· no MCID",
    "single": "–",  # one walking test so far: nothing to compare yet
    "none": "no test",
}
# The caseload's walking word for each judge_change label of the walking comparison (§7.1, §7.8).
WALKING_TREND_OF_LABEL: dict[str, str] = {
    "important_improvement": WALKING_TREND_TEXT["better"],
    "important_worsening": WALKING_TREND_TEXT["worse"],
    "no_important_change": WALKING_TREND_TEXT["same"],
    "within_measurement_error": WALKING_TREND_TEXT["same"],
    "no_mcid": WALKING_TREND_TEXT["unjudged"],
}


def caseload_row(
    patient_id: str | None,
    patient_ref: str,
    name: str,
    clinician: str | None,
    visits: Iterable[Visit],
    *,
    open_tier: str | None = None,
    next_review_date: dt.date | None = None,
    episode_status: str = "open",
    episode_start: dt.date | None = None,
    discharge_date: dt.date | None = None,
) -> dict[str, Any]:
    """One patient's row as `caseload_table` expects it: patient details plus the domain summary
    (`dashboard.summaries.patient_summary`), the same values the store persists."""
    summary = patient_summary(
        patient_id or "", visits, open_tier=open_tier or "NONE", next_review_date=next_review_date
    )
    row = summary.stored()
    return {
        **row,
        "patient_id": patient_id,
        "patient_ref": patient_ref,
        "name": name,
        "clinician": clinician,
        "open_tier": open_tier,
        "next_review_date": next_review_date,
        "visit_count": summary.n_visits,
        "episode_status": episode_status,
        "episode_start": episode_start,
        "discharge_date": discharge_date,
    }


def caseload_table(rows: Iterable[Mapping[str, Any]], today: dt.date) -> pd.DataFrame:
    """Caseload with display columns, computed vectorised in one pass over all patients.

    Rows carry the domain summary (`dashboard.summaries`): the judgements are never re-made here.
    Adds nrs_change (latest − first NRS, points; negative is less pain; NaN with one value),
    walking_trend (the walking comparison's judge_change label in words, "–" with one test, or
    "no test"), days_since_last_visit,
    overdue_for_review (next_review_date before today), tier_rank, episode_weeks (whole weeks the
    open episode has run), open_long_without_improvement (open more than 12 weeks with no clinically
    important improvement in pain, ODI or walking, by the stored judge_change labels) and
    discharged_this_month (discharged in today's calendar month); sorted by open tier, overdue,
    not improving.
    """
    df = pd.DataFrame(list(rows), columns=list(CASELOAD_INPUT_COLUMNS))
    for column in (
        "first_nrs",
        "latest_nrs",
        "first_walk_primary",
        "latest_walk_primary",
        "latest_odi_percent",
        "visit_count",
        "nrs_count",
        "walk_count",
    ):
        df[column] = pd.to_numeric(df[column], errors="coerce").astype("float64")
    for column in ("last_visit_date", "next_review_date", "episode_start", "discharge_date"):
        df[column] = pd.to_datetime(df[column], errors="coerce")
    for column in ("pain_change", "odi_change", "walk_change"):
        df[column] = df[column].astype("object").where(df[column].notna(), None)
    today_ts = pd.Timestamp(today)

    # A change needs two values: one pain score so far is "–", never "+0".
    df["nrs_change"] = (df["latest_nrs"] - df["first_nrs"]).where(df["nrs_count"] > 1)
    trend = df["walk_change"].map(WALKING_TREND_OF_LABEL)
    untested = WALKING_TREND_TEXT["none"]
    trend = trend.where(trend.notna() | df["walk_count"].fillna(0).lt(1), WALKING_TREND_TEXT["single"])
    df["walking_trend"] = trend.where(trend.notna(), untested).astype("object")
    df["days_since_last_visit"] = (today_ts - df["last_visit_date"]).dt.days.astype("Int64")
    df["overdue_for_review"] = (df["next_review_date"] < today_ts).fillna(False).astype(bool)
    df["not_improving"] = df["not_improving"].fillna(False).astype(bool)
    df["tier_rank"] = df["open_tier"].map(TIER_ORDER).fillna(0).astype(int)
    df["has_open_flag"] = df["tier_rank"].gt(0)
    df["episode_status"] = df["episode_status"].fillna("open").astype("object")
    is_open = df["episode_status"].eq("open")
    df["episode_weeks"] = ((today_ts - df["episode_start"]).dt.days // 7).where(is_open).astype("Int64")
    improved = df[["pain_change", "odi_change", "walk_change"]].eq(_IMPROVED).any(axis=1)
    days_open = (today_ts - df["episode_start"]).dt.days
    long_open = days_open.gt(7 * OPEN_WITHOUT_IMPROVEMENT_WEEKS).fillna(False).astype(bool)
    df["open_long_without_improvement"] = is_open & long_open & ~improved
    this_month = today_ts.to_period("M")
    df["discharged_this_month"] = (
        df["episode_status"].eq("discharged") & df["discharge_date"].dt.to_period("M").eq(this_month)
    ).astype(bool)
    df = df.sort_values(
        ["tier_rank", "overdue_for_review", "not_improving", "last_visit_date"],
        ascending=[False, False, False, True],
        kind="stable",
    )
    return df.reset_index(drop=True)


def filter_caseload(
    df: pd.DataFrame,
    clinician: str | None = None,
    open_flags_only: bool = False,
    not_improving_only: bool = False,
    overdue_only: bool = False,
    episode_status: str | None = None,
    open_long_without_improvement_only: bool = False,
    discharged_this_month_only: bool = False,
) -> pd.DataFrame:
    """Rows of a caseload_table matching every chosen filter (all filters off: every row);
    `episode_status` "open" or "discharged" keeps those patients only (§11.1)."""
    mask = pd.Series(True, index=df.index)
    for column, value in (("episode_status", episode_status), ("clinician", clinician)):
        if value is not None:
            mask &= df[column] == value
    for column, wanted in (
        ("open_long_without_improvement", open_long_without_improvement_only),
        ("discharged_this_month", discharged_this_month_only),
        ("has_open_flag", open_flags_only),
        ("not_improving", not_improving_only),
        ("overdue_for_review", overdue_only),
    ):
        if wanted:
            mask &= df[column]
    return df.loc[mask]
