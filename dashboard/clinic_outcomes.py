"""Clinic outcomes for the clinic lead (clinical-reference §11.3): results at discharge, funnel plots,
case mix and red-flag timeliness.

Everything here is computed from `episode_outcome` rows only: "improved" is `MeasureOutcome.improved`,
which is `judge_change`'s label, and nothing else. An episode counts in a period when it was
discharged in it (both bounds inclusive); open episodes are "in progress" and never in a
denominator. Proportions are percentages (0–100).
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from dashboard.catalogue.tiers import TIERS
from dashboard.episodes import DISCHARGE_REASONS, OUTCOME_MEASURES, Episode, EpisodeOutcome
from dashboard.models import TIER_ORDER, Escalation

__all__ = [
    "CASE_MIX_DIMENSIONS",
    "FUNNEL_STATUSES",
    "RULE_CLOSE_WITHIN",
    "Z95",
    "Z998",
    "ClinicOutcomes",
    "FunnelLimits",
    "FunnelPoint",
    "MeasureResult",
    "TierTimeliness",
    "clinic_outcomes",
    "flag_timeliness",
    "funnel_limits",
    "funnel_status",
    "wilson_interval",
]

# Two-sided normal quantiles: 95 % and 99.8 % (Spiegelhalter, Stat Med 2005 [C]; §11.3).
Z95 = 1.959964
Z998 = 3.090232

FunnelStatus = Literal["within", "alert_high", "alert_low", "above", "below"]
# A funnel status in words for the page and the report (never colour alone).
FUNNEL_STATUSES: dict[str, str] = {
    "within": "within the expected range",
    "alert_high": "above the 95% limit (alert)",
    "alert_low": "below the 95% limit (alert)",
    "above": "above the 99.8% limit",
    "below": "below the 99.8% limit",
}
# The case-mix tables beside the outcomes (§11.3), by CaseMix field; None is "not recorded".
CASE_MIX_DIMENSIONS: dict[str, str] = {
    "startback_risk": "STarT Back risk group at baseline",
    "odi_band": "ODI band at baseline",
    "duration_band": "Symptom duration at the first visit",
    "age_band": "Age band at the first visit",
}
NOT_RECORDED = "not recorded"
# A rule whose target is shorter than its tier's (§11.3): MSCC needs contact with the acute oncology
# or MSCC team within 24 hours (NICE NG234 [S]).
RULE_CLOSE_WITHIN: dict[str, dt.timedelta] = {"RF_MSCC": dt.timedelta(hours=24)}


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """Wilson score interval of a proportion, in % (0–100); None when n is 0 (Wilson 1927 [C])."""
    if n <= 0:
        return None
    p = successes / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    denominator = 1 + z * z / n
    return (100 * max(0.0, (centre - spread) / denominator), 100 * min(1.0, (centre + spread) / denominator))


@dataclass(frozen=True)
class FunnelLimits:
    """The funnel's control limits at one n, in % (0–100), clipped to 0–100."""

    n: float
    low95: float
    high95: float
    low998: float
    high998: float


def funnel_limits(p0_pct: float, n: float) -> FunnelLimits:
    """Limits p0 ± z·√(p0(1−p0)/n) at n complete episodes for z 95 % and 99.8 % (§11.3), in %; a
    fractional n draws the funnel's smooth curve between whole numbers."""
    p0 = p0_pct / 100
    se = math.sqrt(p0 * (1 - p0) / n) if n > 0 else 0.0

    def clip(value: float) -> float:
        return 100 * min(1.0, max(0.0, value))

    return FunnelLimits(
        n, clip(p0 - Z95 * se), clip(p0 + Z95 * se), clip(p0 - Z998 * se), clip(p0 + Z998 * se)
    )


def funnel_status(pct: float, limits: FunnelLimits, p0_pct: float) -> FunnelStatus:
    """Where one clinician's point lies; a point exactly on a limit is inside it (§11.3)."""
    if p0_pct in (0.0, 100.0):
        return "within"  # no variation to judge against
    if pct > limits.high998:
        return "above"
    if pct < limits.low998:
        return "below"
    if pct > limits.high95:
        return "alert_high"
    if pct < limits.low95:
        return "alert_low"
    return "within"


@dataclass(frozen=True)
class FunnelPoint:
    """One clinician on a measure's funnel plot: complete episodes, % improved and its status."""

    clinician_id: str | None
    n: int
    pct: float
    status: FunnelStatus
    n_improved: int = 0


@dataclass(frozen=True)
class MeasureResult:
    """One measure over the episodes discharged in the period (§11.3 denominators)."""

    n_discharged: int
    n_baseline: int
    n_complete: int
    n_improved: int
    pct_improved: float | None  # n_improved / n_complete, 0–100; None with no complete episode
    ci95: tuple[float, float] | None  # Wilson 95 % interval of pct_improved, in %

    @property
    def completeness_pct(self) -> float | None:
        """n_complete / n_baseline in % (0–100); None when no episode has a baseline."""
        return 100 * self.n_complete / self.n_baseline if self.n_baseline else None


@dataclass(frozen=True)
class ClinicOutcomes:
    """The clinic's results for one period: per measure, per clinician, case mix, discharge reasons."""

    period_start: dt.date
    period_end: dt.date
    n_discharged: int
    by_measure: Mapping[str, MeasureResult]
    funnel: Mapping[str, list[FunnelPoint]]
    in_progress: int  # open episodes: shown separately, never in a denominator
    case_mix: Mapping[str, Mapping[str, int]]  # CASE_MIX_DIMENSIONS key -> band -> episodes
    discharge_reasons: Mapping[str, int]  # DISCHARGE_REASONS key -> episodes
    n_complete_any: int = 0  # discharged episodes with at least one complete measure


def _measure(outcomes: Sequence[EpisodeOutcome], measure: str) -> MeasureResult:
    with_baseline = [o.measures[measure] for o in outcomes if o.measures[measure].baseline is not None]
    complete = [m for m in with_baseline if m.complete]
    improved = sum(1 for m in complete if m.improved)
    pct = 100 * improved / len(complete) if complete else None
    return MeasureResult(
        len(outcomes),
        len(with_baseline),
        len(complete),
        improved,
        pct,
        wilson_interval(improved, len(complete)),
    )


def _funnel(
    rows: Sequence[tuple[Episode, EpisodeOutcome]], measure: str, pooled: float | None
) -> list[FunnelPoint]:
    """Each clinician with a complete episode of the measure, by clinician id (None last)."""
    if pooled is None:
        return []
    tally: dict[str | None, list[int]] = {}
    for episode, outcome in rows:
        result = outcome.measures[measure]
        if result.complete:
            counts = tally.setdefault(episode.clinician_id, [0, 0])
            counts[0] += 1
            counts[1] += int(result.improved)
    points = []
    for clinician_id, (n, n_improved) in tally.items():
        pct = 100 * n_improved / n
        points.append(
            FunnelPoint(
                clinician_id, n, pct, funnel_status(pct, funnel_limits(pooled, n), pooled), n_improved
            )
        )
    return sorted(points, key=lambda p: (p.clinician_id is None, p.clinician_id or ""))


def clinic_outcomes(
    rows: Iterable[tuple[Episode, EpisodeOutcome]], *, period_start: dt.date, period_end: dt.date
) -> ClinicOutcomes:
    """The clinic's outcomes of the episodes discharged from period_start to period_end (inclusive):
    per measure the denominators, % improved with a Wilson 95 % interval and a funnel per clinician
    (§11.3); ValueError when the period ends before it starts."""
    if period_end < period_start:
        raise ValueError("period_end: the period ends before it starts")
    every = list(rows)
    discharged = [
        (e, o)
        for e, o in every
        if not e.is_open and e.discharge_date is not None and period_start <= e.discharge_date <= period_end
    ]
    outcomes = [o for _e, o in discharged]
    by_measure = {m: _measure(outcomes, m) for m in OUTCOME_MEASURES}
    funnel = {m: _funnel(discharged, m, by_measure[m].pct_improved) for m in OUTCOME_MEASURES}
    case_mix = {
        dimension: dict(Counter(getattr(o.case_mix, dimension) or NOT_RECORDED for o in outcomes))
        for dimension in CASE_MIX_DIMENSIONS
    }
    reasons: Counter[str] = Counter(e.discharge_reason or "other" for e, _o in discharged)
    return ClinicOutcomes(
        period_start=period_start,
        period_end=period_end,
        n_discharged=len(discharged),
        by_measure=by_measure,
        funnel=funnel,
        in_progress=sum(1 for e, _o in every if e.is_open),
        case_mix=case_mix,
        discharge_reasons={reason: reasons[reason] for reason in DISCHARGE_REASONS if reasons[reason]},
        n_complete_any=sum(1 for o in outcomes if o.complete),
    )


# --- red-flag timeliness ------------------------------------------------------------------------


@dataclass(frozen=True)
class TierTimeliness:
    """Red-flag events of one tier opened in the period: how many were closed within target (§11.3)."""

    tier: str
    n_events: int
    n_within: int  # closed within the target
    n_late: int  # closed after the target, or still open past it
    n_pending: int  # still open and not yet past the target
    median_hours_to_close: float | None  # of the closed events

    @property
    def pct_within(self) -> float | None:
        """Events within target in % of those decided (within or late); None when none is decided."""
        decided = self.n_within + self.n_late
        return 100 * self.n_within / decided if decided else None


def _deadline(opened: dt.datetime, tier: str, rule_ids: Iterable[str]) -> dt.datetime | None:
    """When an event opened at `opened` must be closed by: the tier's days (0: the end of the day it
    opened, UTC) or a shorter rule target (§11.3)."""
    days = TIERS[tier].close_within_days
    if days is None:
        return None
    day_end = dt.datetime.combine(opened.date(), dt.time.max, tzinfo=opened.tzinfo)
    deadline = day_end if days == 0 else opened + dt.timedelta(days=days)
    shorter = [opened + RULE_CLOSE_WITHIN[r] for r in rule_ids if r in RULE_CLOSE_WITHIN]
    return min([deadline, *shorter])


def flag_timeliness(
    escalations: Iterable[Escalation], *, period_start: dt.date, period_end: dt.date, today: dt.datetime
) -> dict[str, TierTimeliness]:
    """Per tier (most urgent first), the red-flag events opened in the period and whether each was
    closed within its target; escalations raised together (one screening) count once, at the most
    urgent rule's target (§11.3). `today` is now, UTC."""
    events: dict[tuple[str, str], list[Escalation]] = {}
    for escalation in escalations:
        opened = escalation.opened_at or escalation.recorded_at
        if escalation.archived or opened is None or not period_start <= opened.date() <= period_end:
            continue
        key = (escalation.patient_id, escalation.last_screening_id or escalation.saved_id)
        events.setdefault(key, []).append(escalation)
    tally: dict[str, list[int]] = {
        tier: [0, 0, 0, 0] for tier in TIERS if TIERS[tier].close_within_days is not None
    }
    hours: dict[str, list[float]] = {tier: [] for tier in tally}
    for group in events.values():
        tier = max((e.tier for e in group), key=lambda t: TIER_ORDER[t])
        lead = [e for e in group if e.tier == tier]
        opened = min(e.opened_at or e.recorded_at or today for e in group)
        deadline = _deadline(opened, tier, (e.rule_id for e in lead))
        if deadline is None:
            continue
        counts = tally[tier]
        counts[0] += 1
        closed = [e.closed_at for e in group if e.status == "closed" and e.closed_at is not None]
        if len(closed) == len(group):  # the event is closed when its last escalation is
            closed_at = max(closed)
            hours[tier].append((closed_at - opened).total_seconds() / 3600)
            counts[1 if closed_at <= deadline else 2] += 1
        else:
            counts[2 if today > deadline else 3] += 1
    order = sorted(tally, key=lambda t: -TIER_ORDER[t])
    return {
        tier: TierTimeliness(tier, n, within, late, pending, _median(hours[tier]))
        for tier in order
        for n, within, late, pending in [tally[tier]]
    }


def _median(values: Sequence[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
