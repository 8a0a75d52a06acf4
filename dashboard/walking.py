"""Walking tests: primary metrics per protocol, same-protocol comparisons, claudication pattern,
and the progressive walking-programme dose (clinical-reference §3.4, §7.8, §8.2).
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from dashboard import catalogue
from dashboard.catalogue import STOP_REASONS, WALK_METRICS, WALK_PROTOCOLS, WalkMetric
from dashboard.models import Visit

# Views of the catalogue (dashboard/catalogue/walking.py), kept under their established names.
_PROTOCOLS = tuple(WALK_PROTOCOLS.values())
# Preferred (fully measured) tolerance metric per protocol: its total field (§7.8 [U]).
PRIMARY_METRIC: dict[str, str] = {p.id: p.primary.field for p in _PROTOCOLS}
# Time or distance to the first symptom of that metric, charted as a secondary series (§7.8 [U]).
ONSET_METRIC: dict[str, str] = {p.id: p.primary.onset_field for p in _PROTOCOLS}
# The judge_change measure of each protocol's preferred metric (dashboard.outcomes.MEASURES).
CHANGE_MEASURE: dict[str, str] = {p.id: p.primary.change_measure for p in _PROTOCOLS}
# A test stopped for an unrelated reason does not count for comparisons (§3.3 RF_WALKING_DECLINE).
NOT_COUNTING_STOP_REASONS: frozenset[str] = frozenset(
    r.id for r in STOP_REASONS.values() if not r.counts_for_comparison
)
UNRELATED_STOP_REASON = "other"
# Protocols whose time to first symptom sets the starting bout, and those whose minutes are the
# patient's own estimate, the fallback (§8.2 [U]; the catalogue's `programme_reads`).
TIMED_TEST_PROTOCOLS: tuple[str, ...] = tuple(p.id for p in _PROTOCOLS if p.programme_reads == "onset")
ESTIMATE_PROTOCOLS: tuple[str, ...] = tuple(p.id for p in _PROTOCOLS if p.programme_reads == "estimate")

ClaudicationPattern = Literal["none", "vascular", "neurogenic", "indeterminate"]


def _protocol(protocol: str) -> str:
    return catalogue.protocol(protocol).id


def change_measure(protocol: str) -> str:
    """The judge_change measure of a protocol's preferred metric (e.g. spwt -> walk_spwt_m)."""
    return CHANGE_MEASURE[_protocol(protocol)]


def visit_metric(visit: Visit) -> WalkMetric | None:
    """The tolerance metric a visit's walking test was recorded on: the protocol's first metric whose
    total was recorded (an SPWT measured in metres, else timed in minutes, §7.8), or None."""
    if visit.walk_protocol is None:
        return None
    for metric in WALK_PROTOCOLS[visit.walk_protocol].metrics:
        if getattr(visit, metric.field) is not None:
            return metric
    return None


def primary_metric(visit: Visit) -> float | None:
    """The visit's primary walking-tolerance value (m or min, by its metric), or None if not recorded."""
    metric = visit_metric(visit)
    value: float | None = getattr(visit, metric.field) if metric else None
    return value


def onset_metric(visit: Visit) -> float | None:
    """Time (min) or distance (m) to the first symptom, in the unit of the visit's metric, or None."""
    metric = visit_metric(visit)
    value: float | None = getattr(visit, metric.onset_field) if metric else None
    return value


def is_walking_record(visit: Visit) -> bool:
    """True when the visit has a walking protocol and one of its tolerance metrics recorded."""
    return primary_metric(visit) is not None


def counts_for_comparison(visit: Visit) -> bool:
    """True for a walking record that counts: a walk stopped for an unrelated reason never does (§3.3)."""
    return is_walking_record(visit) and visit.walk_stop_reason not in NOT_COUNTING_STOP_REASONS


# The sort key of a visit not yet saved: after every saved record of its day.
_UNSAVED = dt.datetime.max.replace(tzinfo=dt.UTC)


def _recorded_utc(visit: Visit) -> dt.datetime:
    # An aware UTC time, so that aware and naive stamps compare as one clock. The store's stamps are
    # already UTC (data.store.rows._as_utc) and are taken as they are: this key is computed for every
    # visit at every sort, and the screening engine sorts a patient's visits several times.
    stamp = visit.recorded_at
    if stamp is None:
        # Not yet saved: the newest record of its day (a visit being previewed before saving).
        return _UNSAVED
    zone = stamp.tzinfo
    if zone is dt.UTC:
        return stamp
    if zone is None:  # a naive stamp is UTC already
        return stamp.replace(tzinfo=dt.UTC)
    return stamp.astimezone(dt.UTC)


def _chronological_key(visit: Visit) -> tuple[dt.date, dt.datetime]:
    return visit.visit_date, _recorded_utc(visit)


def chronological(visits: Iterable[Visit]) -> list[Visit]:
    """Non-archived visits ordered by (visit_date, recorded_at), oldest first (§3.1)."""
    return sorted((visit for visit in visits if not visit.archived), key=_chronological_key)


@dataclass(frozen=True)
class WalkSeries:
    """The walking records that count for comparison, all of one protocol and one metric, oldest first."""

    protocol: str
    change_measure: str  # the metric's judge_change measure, e.g. walk_spwt_m or walk_spwt_min
    records: tuple[Visit, ...]

    @property
    def metric(self) -> WalkMetric:
        """The catalogue entry of the series' metric (field, unit, whether it has an MCID)."""
        return WALK_METRICS[self.change_measure]

    @functools.cached_property
    def values(self) -> list[float]:
        """The metric's value at every record (m or min); worked out once per series (the records are a
        tuple of the walks counted, and the trend rules read the values several times)."""
        return [value for value in map(primary_metric, self.records) if value is not None]


def comparable_walks(visits: Iterable[Visit], change_measure: str | None = None) -> WalkSeries | None:
    """Which walks count for comparison: the one answer used by the caseload, the trend rules and the
    progress table (clinical-reference §3.2, §3.3, §7.8).

    Counting walking records (a tolerance metric recorded, not stopped for an unrelated reason) of one
    protocol and one metric (distance with distance, time with time), oldest first by (visit_date,
    recorded_at). The metric is the given measure, or else that of the latest counting record. None
    when there is no counting record of it.
    """
    return _comparable_in_order(chronological(visits), change_measure)


def _comparable_in_order(ordered: list[Visit], change_measure: str | None) -> WalkSeries | None:
    # comparable_walks of visits already chronological (non-archived, oldest first).
    # Each counting record with its metric's measure, the metric looked up once per visit.
    counting = [
        (visit, metric.change_measure)
        for visit in ordered
        if (metric := visit_metric(visit)) is not None
        and visit.walk_stop_reason not in NOT_COUNTING_STOP_REASONS
    ]
    if change_measure is None:
        if not counting:
            return None
        change_measure = counting[-1][1]
    same = tuple(visit for visit, measure in counting if measure == change_measure)
    if not same or same[0].walk_protocol is None:
        return None
    return WalkSeries(same[0].walk_protocol, change_measure, same)


def latest_same_protocol_pair(visits: Iterable[Visit]) -> tuple[Visit, Visit] | None:
    """(earlier, latest) walking records of one protocol and metric, where latest is the latest visit.

    The latest visit must hold a walking record that counts (not stopped for an unrelated reason);
    the earlier one is the most recent earlier counting record of the same protocol and metric.
    """
    ordered = chronological(visits)
    series = _comparable_in_order(ordered, None)  # sorted once: the engine asks this for every screen
    if not ordered or series is None or series.records[-1] is not ordered[-1] or len(series.records) < 2:
        return None
    return series.records[-2], series.records[-1]


# The walking-symptom history: carried forward into a follow-up to be confirmed (data dictionary,
# copy-forward table), so an unanswered field means "not assessed", never "no".
WALKING_SYMPTOM_WORDS: dict[str, str] = {
    "leg_pain_on_walking": "Leg pain on walking",
    "relief": "What eases it",
    "symptom_location": "Where it is felt",
    "shopping_cart_sign": "Easier leaning on a trolley",
    "triggered_by_standing_alone": "Brought on by standing alone",
}
WALKING_SYMPTOM_FIELDS: tuple[str, ...] = tuple(WALKING_SYMPTOM_WORDS)


def walking_symptoms_assessed(visit: Visit) -> bool:
    """True when the visit answered at least one walking-symptom question (§3.4)."""
    return any(getattr(visit, name) is not None for name in WALKING_SYMPTOM_FIELDS)


def claudication_text(visit: Visit) -> str:
    """The claudication pattern in words, or "not assessed" when no walking-symptom question was answered."""
    return claudication_pattern(visit) if walking_symptoms_assessed(visit) else "not assessed"


def latest_walking_symptoms(visits: Iterable[Visit]) -> Visit | None:
    """The latest non-archived visit that assessed the walking symptoms, or None."""
    assessed = [v for v in chronological(visits) if walking_symptoms_assessed(v)]
    return assessed[-1] if assessed else None


def walking_symptom_changes(visits: Iterable[Visit]) -> list[str]:
    """Walking-symptom fields whose answer differs between the two latest visits that assessed them."""
    assessed = [v for v in chronological(visits) if walking_symptoms_assessed(v)]
    if len(assessed) < 2:
        return []
    before, after = assessed[-2], assessed[-1]
    return [name for name in WALKING_SYMPTOM_FIELDS if getattr(before, name) != getattr(after, name)]


def claudication_pattern(visit: Visit) -> ClaudicationPattern:
    """Working classification of walking leg pain: neurogenic, vascular, indeterminate or none (§3.4).

    Unanswered yes/no findings count as no; an unanswered relief or location matches neither.
    """
    if not visit.leg_pain_on_walking:
        return "none"
    pulses_reduced = visit.pedal_pulses == "reduced_or_absent"
    vascular = visit.relief == "standing_still" and (visit.symptom_location == "calf" or pulses_reduced)
    neurogenic = (
        visit.relief == "sitting_or_flexion"
        and bool(
            visit.shopping_cart_sign
            or visit.triggered_by_standing_alone
            or visit.symptom_location == "buttock_thigh"
        )
        # "not_assessed" counts as not reduced.
        and not pulses_reduced
    )
    if vascular and not neurogenic:
        return "vascular"
    if neurogenic and not vascular:
        return "neurogenic"
    # Both or neither: walking leg pain with nothing else recorded lands here by design.
    return "indeterminate"


# --- Walking programme (§8.2 dose template, [U]: project convention, every number editable) ------

# Prescribed bouts are about 80% of the time to first symptom [U].
BOUT_FRACTION_OF_ONSET = 0.8
# ...and never shorter than 1 min [U].
MIN_BOUT_MIN = 1.0
# 2-3 walks a day, with rests [U]; 3 by default, 2 when 3 bouts would already pass the goal; at
# most 4 a day (§8.2 revised [U]).
DEFAULT_BOUTS_PER_DAY = 3
FEWEST_BOUTS_PER_DAY = 2
MOST_BOUTS_PER_DAY = 4
# Total weekly walking time grows by about 10% a week after a stable week [U], and by at least
# one minute a day [U: so whole-minute walks never stand still for more than a few weeks].
WEEKLY_INCREASE_FRACTION = 0.10
MIN_DAILY_INCREASE_MIN = 1.0
# Once the daily total reaches the goal in short walks, one walk fewer (each one longer) every
# 2 weeks, toward one continuous walk (§8.2 revised [U]).
WEEKS_PER_LENGTHENING_STEP = 2
# Goal: 30 min of walking on 5 days a week (WalkBack, Pocovi 2024 [C]; template [U]).
GOAL_MIN_PER_DAY = 30.0
GOAL_DAYS_PER_WEEK = 5
DEFAULT_PROGRAMME_WEEKS = 12


def symptom_free_walk_min(visits: Iterable[Visit]) -> float | None:
    """Latest walking time before the first symptom (min), from a timed test (SPWT, treadmill), else
    the latest minutes the patient estimated (`reported`); None when neither exists (§8.2 [U]).

    A test stopped at its time cap with no symptom onset counts its total time [U].
    """
    ordered = chronological(visits)
    for visit in reversed(ordered):
        if visit.walk_protocol not in TIMED_TEST_PROTOCOLS:
            continue
        if visit.walk_onset_min is not None:
            return visit.walk_onset_min
        if visit.walk_stop_reason == "time_cap" and visit.walk_total_min is not None:
            return visit.walk_total_min
    for visit in reversed(ordered):
        if visit.walk_protocol in ESTIMATE_PROTOCOLS and visit.walk_total_min is not None:
            return visit.walk_total_min
    return None


def starting_bout_min(visits: Iterable[Visit], fraction: float = BOUT_FRACTION_OF_ONSET) -> float | None:
    """Week-1 walk length (min): about 80% of the latest symptom-free walking time, at least 1 min."""
    tolerated = symptom_free_walk_min(visits)
    if tolerated is None:
        return None
    return max(MIN_BOUT_MIN, fraction * tolerated)


@dataclass(frozen=True)
class WalkingWeek:
    """One week of the walking programme: walk length, how often, and the weekly total (min)."""

    week: int
    bout_min: float
    bouts_per_day: int
    days_per_week: int
    weekly_total_min: float
    at_goal: bool


def walking_programme(
    start_bout_min: float,
    weeks: int = DEFAULT_PROGRAMME_WEEKS,
    *,
    bouts_per_day: int | None = None,
    days_per_week: int = GOAL_DAYS_PER_WEEK,
    weekly_increase_fraction: float = WEEKLY_INCREASE_FRACTION,
    goal_min_per_day: float = GOAL_MIN_PER_DAY,
    weeks_per_lengthening_step: int = WEEKS_PER_LENGTHENING_STEP,
) -> list[WalkingWeek]:
    """Week-by-week walking doses (min) from what the patient can already do toward 30 min on 5 days.

    Week 1 walks `start_bout_min` per walk, never less (§8.2 revised). While the daily total is below
    the goal it grows about 10% a week (at least 1 min a day). Once it reaches the goal the total is
    kept and the walks get fewer and longer, toward one continuous walk. The table ends at the first
    week of one walk a day at the goal, or after `weeks` weeks. `at_goal` marks weeks whose weekly
    total reaches the goal. `bouts_per_day` None picks 3, or 2 when 3 would already pass the daily
    goal, or 1 when 2 would.
    """
    if not math.isfinite(start_bout_min) or start_bout_min <= 0:
        raise ValueError("start_bout_min: must be a positive number of minutes")
    if weeks < 1:
        raise ValueError("weeks: must be at least 1")
    if days_per_week < 1 or days_per_week > 7:
        raise ValueError("days_per_week: must be from 1 to 7")
    if bouts_per_day is not None and not 1 <= bouts_per_day <= MOST_BOUTS_PER_DAY:
        raise ValueError(f"bouts_per_day: must be from 1 to {MOST_BOUTS_PER_DAY}")
    if weekly_increase_fraction < 0 or not math.isfinite(weekly_increase_fraction):
        raise ValueError("weekly_increase_fraction: must not be negative")
    if goal_min_per_day <= 0 or not math.isfinite(goal_min_per_day):
        raise ValueError("goal_min_per_day: must be a positive number of minutes")
    if weeks_per_lengthening_step < 1:
        raise ValueError("weeks_per_lengthening_step: must be at least 1")
    goal_weekly_min = goal_min_per_day * days_per_week
    if bouts_per_day is None:
        # The most walks (3, then 2) that do not already pass the daily goal; else one walk, which
        # then grows toward one continuous 30 min walk. Never a walk shorter than week 1's.
        bouts_per_day = next(
            (
                n
                for n in (DEFAULT_BOUTS_PER_DAY, FEWEST_BOUTS_PER_DAY)
                if start_bout_min * n <= goal_min_per_day
            ),
            1,
        )
    walks = bouts_per_day
    # Never less walking a day than week 1, which is what the patient already does comfortably.
    daily = start_bout_min * walks
    programme: list[WalkingWeek] = []
    weeks_at_this_split = 0
    for week in range(1, weeks + 1):
        programme.append(
            WalkingWeek(
                week=week,
                bout_min=daily / walks,
                bouts_per_day=walks,
                days_per_week=days_per_week,
                weekly_total_min=daily * days_per_week,
                at_goal=daily * days_per_week >= goal_weekly_min,
            )
        )
        if walks == 1 and daily >= goal_min_per_day:
            break  # one continuous walk at the goal: the programme has done its work
        if daily < goal_min_per_day:
            # Build the total: about 10% a week, and at least a minute a day so the printed
            # whole-minute walks do not stand still for weeks (§8.2 [U]).
            grown = max(daily * (1 + weekly_increase_fraction), daily + MIN_DAILY_INCREASE_MIN)
            daily = min(goal_min_per_day, grown)
            weeks_at_this_split = 0
        else:
            # Keep the total; every few weeks one walk fewer, so each walk gets longer.
            weeks_at_this_split += 1
            if weeks_at_this_split >= weeks_per_lengthening_step:
                walks -= 1
                weeks_at_this_split = 0
    return programme
