"""The clinic lead's outcomes (clinical-reference §11.3): one read of the episodes discharged in a
period, their outcomes through `episode_outcome`, filters, a monthly trend and the episode rows for
a CSV. Only admins see them (permission "view_outcomes"); the CSV is audited.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass, replace

from dashboard.clinic_outcomes import ClinicOutcomes, TierTimeliness, clinic_outcomes, flag_timeliness
from dashboard.episodes import DISCHARGE_REASONS, OUTCOME_MEASURES, Episode, EpisodeOutcome, episode_outcome
from dashboard.ports import InvalidInputError, Store, User
from dashboard.safe_text import csv_cell
from dashboard.service_base import _audit, authorize

__all__ = [
    "EpisodeRow",
    "MonthPoint",
    "OutcomeFilters",
    "OutcomesReport",
    "clinic_report",
    "clinician_choices",
    "episode_rows_csv",
    "record_report_export",
    "period_problems",
]

# A year of a clinic is the longest period the page offers (§11.3 reports by month, quarter, year);
# a custom period may be longer, up to ten years, so one request cannot read a whole archive at once.
MAX_PERIOD_DAYS = 3660


@dataclass(frozen=True)
class OutcomeFilters:
    """What the lead narrowed the episodes to (None: everyone); bands as in dashboard.episodes."""

    clinician_id: str | None = None
    startback_risk: str | None = None
    age_band: str | None = None
    duration_band: str | None = None

    def keeps(self, episode: Episode, outcome: EpisodeOutcome) -> bool:
        """True when the episode matches every chosen filter (its case mix read at baseline)."""
        mix = outcome.case_mix
        return (
            (self.clinician_id is None or episode.clinician_id == self.clinician_id)
            and (self.startback_risk is None or mix.startback_risk == self.startback_risk)
            and (self.age_band is None or mix.age_band == self.age_band)
            and (self.duration_band is None or mix.duration_band == self.duration_band)
        )


@dataclass(frozen=True)
class EpisodeRow:
    """One discharged episode as the CSV gives it: no names, the patient reference only when asked."""

    patient_ref: str
    episode: Episode
    outcome: EpisodeOutcome


@dataclass(frozen=True)
class MonthPoint:
    """One calendar month of the trend: the proportion improved of one measure, with its interval."""

    month: dt.date  # the first day of the month
    n_complete: int
    pct_improved: float | None
    ci95: tuple[float, float] | None


@dataclass(frozen=True)
class OutcomesReport:
    """Everything the Outcomes page and its report show for one period and set of filters."""

    outcomes: ClinicOutcomes
    timeliness: dict[str, TierTimeliness]
    monthly: dict[str, list[MonthPoint]]  # measure -> one point per month of the period
    clinicians: dict[str, str]  # clinician id -> display name ("" key: no clinician recorded)
    rows: list[EpisodeRow]


def clinician_choices(store: Store, actor: User) -> dict[str, str]:
    """Display name -> account id of every clinician and admin, for the Outcomes page's filter."""
    with store.read() as tx:
        authorize(tx, actor, "view_outcomes")
        users = [u for u in tx.users() if u.role in ("clinician", "admin")]
    return {u.display_name: u.id for u in sorted(users, key=lambda u: u.display_name.casefold())}


def period_problems(period_start: dt.date | None, period_end: dt.date | None) -> dict[str, str]:
    """Field messages for a period that cannot be reported (missing, reversed, too long)."""
    errors: dict[str, str] = {}
    if period_start is None:
        errors["period_start"] = "Choose the first day of the period."
    if period_end is None:
        errors["period_end"] = "Choose the last day of the period."
    if period_start is not None and period_end is not None:
        if period_end < period_start:
            errors["period_end"] = (
                "The period ends before it starts: choose a last day on or after the first."
            )
        elif (period_end - period_start).days > MAX_PERIOD_DAYS:
            errors["period_end"] = "Choose a period of at most ten years."
    return errors


def _months(start: dt.date, end: dt.date) -> list[tuple[dt.date, dt.date]]:
    """The calendar months the period touches, each clipped to the period."""
    out = []
    first = start.replace(day=1)
    while first <= end:
        following = (first + dt.timedelta(days=32)).replace(day=1)
        out.append((max(first, start), min(following - dt.timedelta(days=1), end)))
        first = following
    return out


def clinic_report(
    store: Store,
    actor: User,
    *,
    period_start: dt.date | None,
    period_end: dt.date | None,
    filters: OutcomeFilters = OutcomeFilters(),
    now: dt.datetime | None = None,
) -> OutcomesReport:
    """The clinic's outcomes for the episodes discharged in the period (inclusive) that match the
    filters, red-flag timeliness for the escalations opened in it, and a monthly trend (§11.3)."""
    errors = period_problems(period_start, period_end)
    if errors or period_start is None or period_end is None:
        raise InvalidInputError(errors)
    now = now or dt.datetime.now(dt.UTC)
    with store.read() as tx:
        authorize(tx, actor, "view_outcomes")
        stored = tx.episodes_for_outcomes(period_start, period_end)
        in_progress = tx.open_episode_count()
        escalations = tx.escalations_opened(period_start, period_end)
        names = {u.id: u.display_name for u in tx.users()}
    rows = []
    for patient, episode, visits in stored:
        outcome = episode_outcome(patient, episode, visits)
        if filters.keeps(episode, outcome):
            rows.append(EpisodeRow(patient.patient_ref, episode, outcome))
    pairs = [(r.episode, r.outcome) for r in rows]
    outcomes = clinic_outcomes(pairs, period_start=period_start, period_end=period_end)
    # Open episodes never enter a denominator; the count is the clinic's, whatever the filters.
    outcomes = replace(outcomes, in_progress=in_progress)
    monthly: dict[str, list[MonthPoint]] = {measure: [] for measure in OUTCOME_MEASURES}
    for first, last in _months(period_start, period_end):
        month = clinic_outcomes(pairs, period_start=first, period_end=last)
        for measure in OUTCOME_MEASURES:
            result = month.by_measure[measure]
            monthly[measure].append(
                MonthPoint(first.replace(day=1), result.n_complete, result.pct_improved, result.ci95)
            )
    # Timeliness follows the clinician filter (the patient's clinician); case-mix bands describe
    # discharged episodes, not red-flag events, so they leave it alone.
    flags = [e for e, clinician in escalations if filters.clinician_id in (None, clinician)]
    timeliness = flag_timeliness(flags, period_start=period_start, period_end=period_end, today=now)
    clinicians = {cid or "": names.get(cid or "", "") for cid in {r.episode.clinician_id for r in rows}}
    return OutcomesReport(outcomes, timeliness, monthly, clinicians, rows)


CSV_MEASURE_COLUMNS = tuple(
    f"{measure}_{part}" for measure in OUTCOME_MEASURES for part in ("baseline", "final", "judgement")
)


def record_report_export(
    store: Store, actor: User, report: OutcomesReport, what: str, **detail: object
) -> None:
    """Audit a download of the period's report ("pdf", "csv") before it is made; rights re-checked."""
    with store.transaction() as tx:
        authorize(tx, actor, "view_outcomes")
        after = {
            "period_start": report.outcomes.period_start.isoformat(),
            "period_end": report.outcomes.period_end.isoformat(),
            "episodes": len(report.rows),
            **detail,
        }
        _audit(tx, actor, f"export.outcomes_{what}", after=after)


def episode_rows_csv(
    store: Store, actor: User, report: OutcomesReport, *, include_patient_refs: bool = False
) -> bytes:
    """The report's episode rows as CSV (UTF-8 with BOM): no names; patient references only when
    asked; every text cell neutralised for spreadsheets; audited as "export.outcomes_csv"."""
    record_report_export(store, actor, report, "csv", patient_refs=include_patient_refs)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    header: Sequence[str] = (
        *(("patient_ref",) if include_patient_refs else ()),
        "clinician",
        "discharge_date",
        "discharge_reason",
        "startback_risk",
        "odi_band",
        "duration_band",
        "age_band",
        *CSV_MEASURE_COLUMNS,
    )
    writer.writerow(header)
    for row in report.rows:
        mix, episode = row.outcome.case_mix, row.episode
        cells: list[object] = [
            *((row.patient_ref,) if include_patient_refs else ()),
            report.clinicians.get(episode.clinician_id or "", ""),
            episode.discharge_date.isoformat() if episode.discharge_date else "",
            DISCHARGE_REASONS.get(episode.discharge_reason or "", episode.discharge_reason or ""),
            mix.startback_risk or "",
            mix.odi_band or "",
            mix.duration_band or "",
            mix.age_band or "",
        ]
        for measure in OUTCOME_MEASURES:
            result = row.outcome.measures[measure]
            cells += ["" if result.baseline is None else result.baseline]
            cells += ["" if result.final is None else result.final, result.label or ""]
        writer.writerow([csv_cell(c) if isinstance(c, str) else c for c in cells])
    return out.getvalue().encode("utf-8-sig")
