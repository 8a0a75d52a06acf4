"""What the Outcomes page shows (clinical-reference §11.3): the period and filter choices, the
tables as DataFrames, the captions under them and the two downloads. Numbers come from
`dashboard.outcome_services.clinic_report` (the charts from `dashboard.outcome_charts`); nothing
here judges an outcome.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from dashboard.catalogue.tiers import TIERS
from dashboard.clinic_outcomes import (
    CASE_MIX_DIMENSIONS,
    FUNNEL_STATUSES,
    RULE_CLOSE_WITHIN,
    ClinicOutcomes,
)
from dashboard.downloads import CSV, PDF, Download
from dashboard.episodes import (
    AGE_BANDS,
    DISCHARGE_REASONS,
    DURATION_BANDS,
    OUTCOME_MEASURES,
    STARTBACK_GROUPS,
)
from dashboard.outcome_services import OutcomeFilters, OutcomesReport
from dashboard.outcomes import MEASURES, ODI_BANDS, ODI_TOP_BAND
from dashboard.presenters import DECISION_SUPPORT

__all__ = [
    "CASE_MIX_NOTE",
    "CSV_DOWNLOAD",
    "DEFAULT_PERIOD_KIND",
    "EVERYONE",
    "MEASURE_CAPTION",
    "MEASURE_LABEL",
    "MEASURE_NAMES",
    "NOTHING_DISCHARGED",
    "PAGE_CAPTION",
    "PDF_DOWNLOAD",
    "PERIOD_KINDS",
    "any_red_flag_raised",
    "case_mix_frames",
    "clinician_name",
    "custom_period_defaults",
    "discharge_reason_frame",
    "download_file_name",
    "filters_chosen",
    "funnel_caption",
    "funnel_frame",
    "headline_counts",
    "measure_frame",
    "measures_with_data",
    "period_choices",
    "period_heading",
    "period_kind",
    "rule_target_note",
    "timeliness_caption",
    "timeliness_frame",
    "trend_frame",
]

MEASURE_NAMES: dict[str, str] = {
    "pain_nrs": "Pain (NRS)",
    "odi_percent": "Disability (ODI)",
    "rmdq_total": "Disability (RMDQ)",
    "walk_spwt_m": "Walking (SPWT distance)",
    "walk_6mwt_m": "Walking (6-minute walk)",
}
assert set(MEASURE_NAMES) == set(OUTCOME_MEASURES) and all(m in MEASURES for m in MEASURE_NAMES)
CASE_MIX_NOTE = (
    "Differences between clinicians can reflect case mix (who they see), not only care. Nobody is "
    "ranked: a point outside the funnel's limits is a prompt to look at the cases, not a verdict."
)
PAGE_CAPTION = (
    "Results at discharge for the clinic lead: the share of discharged episodes with a clinically "
    "important improvement, how complete the data is, each clinician against the clinic's rate, and "
    f"whether red flags were acted on in time. {CASE_MIX_NOTE}"
)
NOTHING_DISCHARGED = (
    "No episode was discharged in this period with these filters, so there is nothing to report yet. "
    "Choose a longer period or clear a filter."
)
MEASURE_LABEL = "Measure for the funnel plot and the trend"
PERIOD_KINDS: tuple[str, ...] = ("Month", "Quarter", "Year", "Custom")
DEFAULT_PERIOD_KIND = "Quarter"
EVERYONE = "Everyone"  # each filter's first choice: nobody left out
PDF_DOWNLOAD = Download("Download this report (PDF)", PDF, icon="📄", primary=True)
CSV_DOWNLOAD = Download("Download the episode rows (CSV)", CSV)
MEASURE_CAPTION = (
    "Complete: a baseline and a later final value of that measure. % improved is of the complete "
    f"episodes, with a Wilson 95% interval; completeness is complete ÷ with a baseline. {DECISION_SUPPORT}"
)


def period_kind(chosen: str | None) -> str:
    """The kind of period shown: the one chosen, or the default while none is (the control cleared)."""
    return chosen or DEFAULT_PERIOD_KIND


def period_choices(kind: str, today: dt.date) -> dict[str, tuple[dt.date, dt.date]]:
    """Labelled periods of one kind, the current one first: the last 12 months, 8 quarters or 5
    years (each ending today at the latest); empty for "Custom"."""
    out: dict[str, tuple[dt.date, dt.date]] = {}
    if kind == "Month":
        first = today.replace(day=1)
        for _ in range(12):
            last = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
            out[f"{first:%B %Y}"] = (first, min(last, today))
            first = (first - dt.timedelta(days=1)).replace(day=1)
    elif kind == "Quarter":
        quarter = (today.month - 1) // 3
        year = today.year
        for _ in range(8):
            first = dt.date(year, 3 * quarter + 1, 1)
            last = (dt.date(year + (quarter == 3), (3 * quarter + 3) % 12 + 1, 1)) - dt.timedelta(days=1)
            out[f"Q{quarter + 1} {year} ({first:%b}–{last:%b})"] = (first, min(last, today))
            quarter, year = (quarter - 1, year) if quarter else (3, year - 1)
    elif kind == "Year":
        for year in range(today.year, today.year - 5, -1):
            out[str(year)] = (dt.date(year, 1, 1), min(dt.date(year, 12, 31), today))
    return out


def custom_period_defaults(today: dt.date) -> tuple[dt.date, dt.date]:
    """A custom period's first and last day before the lead types any: this month so far."""
    return today.replace(day=1), today


def filters_chosen(
    clinicians: dict[str, str], clinician: str, startback: str, age: str, duration: str
) -> OutcomeFilters:
    """The filters as the service takes them from the page's choices (EVERYONE: that filter is off);
    ``clinicians`` maps each display name offered to the account id."""

    def chosen(choice: str) -> str | None:
        return None if choice == EVERYONE else choice

    return OutcomeFilters(
        clinician_id=None if clinician == EVERYONE else clinicians[clinician],
        startback_risk=chosen(startback),
        age_band=chosen(age),
        duration_band=chosen(duration),
    )


def period_heading(outcomes: ClinicOutcomes) -> str:
    """'1 Oct 2026 to 4 Dec 2026': the period the report covers."""
    return f"{outcomes.period_start:%-d %b %Y} to {outcomes.period_end:%-d %b %Y}"


def headline_counts(outcomes: ClinicOutcomes) -> list[tuple[str, int, str | None]]:
    """The three counts above the results (label, number of episodes, help): discharged in the period,
    with a complete measure, and open (in progress, never in a denominator)."""
    return [
        ("Discharged in the period", outcomes.n_discharged, None),
        ("With a complete measure", outcomes.n_complete_any, None),
        ("Episodes in progress (open)", outcomes.in_progress, "Open episodes never enter a denominator."),
    ]


def download_file_name(outcomes: ClinicOutcomes, extension: str) -> str:
    """'stride-outcomes-2026-10-01-2026-12-31.pdf': the period, no patient data."""
    return f"stride-outcomes-{outcomes.period_start:%Y-%m-%d}-{outcomes.period_end:%Y-%m-%d}.{extension}"


def measures_with_data(outcomes: ClinicOutcomes) -> list[str]:
    """The reported measures with at least one complete episode (baseline and a later value)."""
    return [m for m in OUTCOME_MEASURES if outcomes.by_measure[m].n_complete]


def any_red_flag_raised(report: OutcomesReport) -> bool:
    """Whether any red-flag event was raised in the report's period (else there is no timeliness)."""
    return any(t.n_events for t in report.timeliness.values())


def funnel_caption() -> str:
    """Under the funnel plot: its limits, their source and the statuses in words."""
    return (
        "Limits at 95% (dashed) and 99.8% (dotted) around the clinic's rate, for each number of complete "
        f"episodes (Spiegelhalter 2005). Statuses: {', '.join(FUNNEL_STATUSES.values())}. "
        "Clinicians with no complete episode are not plotted."
    )


def timeliness_caption() -> str:
    """Under the red-flag timeliness table: what counts once and as late, and the shorter targets."""
    return (
        "Events raised in the period; the rules one screening raised together count once, at the most "
        f"urgent rule's target. Still open past the target counts as late. {rule_target_note()}"
    )


def clinician_name(report: OutcomesReport, clinician_id: str | None) -> str:
    """A clinician's display name, or words for an episode that names nobody."""
    return report.clinicians.get(clinician_id or "", "") or "No clinician recorded"


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f}%"


def _interval(ci: tuple[float, float] | None) -> str:
    return "–" if ci is None else f"{ci[0]:.0f}–{ci[1]:.0f}%"


def measure_frame(outcomes: ClinicOutcomes) -> pd.DataFrame:
    """One row per reported measure: denominators, completeness and % improved with its interval."""
    rows = []
    for measure in OUTCOME_MEASURES:
        r = outcomes.by_measure[measure]
        rows.append(
            {
                "Measure": MEASURE_NAMES[measure],
                "Discharged": r.n_discharged,
                "With a baseline": r.n_baseline,
                "Complete": r.n_complete,
                "Completeness": _pct(r.completeness_pct),
                "Improved": r.n_improved,
                "% improved": _pct(r.pct_improved),
                "95% interval": _interval(r.ci95),
            }
        )
    return pd.DataFrame(rows)


def funnel_frame(report: OutcomesReport, measure: str) -> pd.DataFrame:
    """The funnel's points as a table: clinician, complete episodes, % improved and the status in words."""
    return pd.DataFrame(
        [
            {
                "Clinician": clinician_name(report, p.clinician_id),
                "Complete episodes": p.n,
                "Improved": p.n_improved,
                "% improved": _pct(p.pct),
                "Against the clinic's rate": FUNNEL_STATUSES[p.status],
            }
            for p in report.outcomes.funnel[measure]
        ],
        columns=["Clinician", "Complete episodes", "Improved", "% improved", "Against the clinic's rate"],
    )


# Each case-mix dimension's bands in their natural order (youngest first, shortest first, ...).
_BAND_ORDER: dict[str, tuple[str, ...]] = {
    "startback_risk": STARTBACK_GROUPS,
    "odi_band": (*(label for _limit, label in ODI_BANDS), ODI_TOP_BAND),
    "duration_band": DURATION_BANDS,
    "age_band": AGE_BANDS,
}


def _band_order(dimension: str, band: str) -> tuple[int, str]:
    """A band's place in its dimension; anything else ("not recorded") after the known bands."""
    order = _BAND_ORDER.get(dimension, ())
    return (order.index(band), "") if band in order else (len(order), band)


def trend_frame(report: OutcomesReport, measure: str) -> pd.DataFrame:
    """The monthly trend of one measure as a table (the chart's numbers, for print and screen readers)."""
    return pd.DataFrame(
        [
            {
                "Month of discharge": f"{p.month:%B %Y}",
                "Complete episodes": p.n_complete,
                "% improved": _pct(p.pct_improved),
                "95% interval": _interval(p.ci95),
            }
            for p in report.monthly[measure]
        ],
        columns=["Month of discharge", "Complete episodes", "% improved", "95% interval"],
    )


def case_mix_frames(outcomes: ClinicOutcomes) -> dict[str, pd.DataFrame]:
    """One small table per case-mix dimension (episodes and their share of the discharged)."""
    frames = {}
    total = outcomes.n_discharged
    for dimension, title in CASE_MIX_DIMENSIONS.items():
        counts = outcomes.case_mix.get(dimension, {})
        frames[title] = pd.DataFrame(
            [
                {"Group": str(band), "Episodes": n, "Share": _pct(100 * n / total if total else None)}
                for band, n in sorted(counts.items(), key=lambda kv: _band_order(dimension, str(kv[0])))
            ],
            columns=["Group", "Episodes", "Share"],
        )
    return frames


def discharge_reason_frame(outcomes: ClinicOutcomes) -> pd.DataFrame:
    """Discharge reasons of the period's episodes, in the form's order."""
    return pd.DataFrame(
        [
            {"Reason": DISCHARGE_REASONS[reason].removesuffix(" (say why in the note)"), "Episodes": n}
            for reason, n in outcomes.discharge_reasons.items()
        ],
        columns=["Reason", "Episodes"],
    )


def _target_words(tier: str) -> str:
    """The tier's target from the catalogue (§11.3)."""
    days = TIERS[tier].close_within_days
    return "the same day" if days == 0 else f"{days} days"


def rule_target_note() -> str:
    """The rules whose target is shorter than their tier's, for a caption under the table."""
    parts = [
        f"{rule_id} within {int(w.total_seconds() // 3600)} h" for rule_id, w in RULE_CLOSE_WITHIN.items()
    ]
    return "Shorter targets: " + "; ".join(parts) + "." if parts else ""


def timeliness_frame(report: OutcomesReport, *, icons: bool = True) -> pd.DataFrame:
    """Red-flag events opened in the period, per tier: within target, late, still open, median time."""
    rows: list[dict[str, Any]] = []
    for tier, t in report.timeliness.items():
        hours = t.median_hours_to_close
        rows.append(
            {
                "Tier": f"{TIERS[tier].icon} {TIERS[tier].short_words}" if icons else TIERS[tier].short_words,
                "Target": _target_words(tier),
                "Events": t.n_events,
                "Within target": t.n_within,
                "Late": t.n_late,
                "Open, not yet due": t.n_pending,
                "% within target": _pct(t.pct_within),
                "Median time to close": "–"
                if hours is None
                else (f"{hours:.0f} h" if hours < 48 else f"{hours / 24:.0f} days"),
            }
        )
    return pd.DataFrame(rows)
