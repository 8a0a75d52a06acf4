"""Episodes of care and the outcome of one episode at discharge (clinical-reference §11.1, §11.2).

An episode runs from the first assessment of a referral to discharge and owns its onset, its baseline
and its visits. Its outcome compares the first value of each reported measure with the last one from a
later visit, judged by `judge_change` and by nothing else.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from dashboard.catalogue import WALK_METRICS
from dashboard.models import DISCHARGE_NOTE_MAX, Episode, Patient, Visit
from dashboard.outcomes import judge_change, score_odi, score_rmdq, score_startback
from dashboard.walking import chronological, comparable_walks

__all__ = [
    "AGE_BANDS",
    "DURATION_BANDS",
    "STARTBACK_GROUPS",
    "DISCHARGE_NEEDS_REASON_TIERS",
    "DISCHARGE_REASONS",
    "OUTCOME_MEASURES",
    "CaseMix",
    "Episode",
    "EpisodeOutcome",
    "MeasureOutcome",
    "age_band",
    "current_episode",
    "discharge_problems",
    "duration_band",
    "episode_outcome",
    "episode_start",
    "lookback_episode",
    "lookback_visits",
    "measure_value",
]

# The discharge reasons as the form offers them (§11.1); `other` needs a note.
DISCHARGE_REASONS: dict[str, str] = {
    "goals_met": "Goals met",
    "self_discharged": "Stopped attending (self-discharged)",
    "referred_on": "Referred on to another service",
    "declined_further_care": "Declined further care",
    "other": "Other (say why in the note)",
}
# Tiers whose open escalation makes a discharge need a recorded reason (§11.1).
DISCHARGE_NEEDS_REASON_TIERS: frozenset[str] = frozenset({"EMERGENCY", "URGENT"})


def current_episode(episodes: Sequence[Episode]) -> Episode | None:
    """The patient's current episode: the open one, else the latest (episodes oldest first, §11.1)."""
    return next((e for e in episodes if e.is_open), episodes[-1] if episodes else None)


# §11.1: at a re-referral within 12 weeks of the previous discharge, the trend rules also look back to
# the previous episode's last visit (a decline that began before the discharge is still a decline).
REREFERRAL_LOOKBACK_DAYS = 84


def episode_start(episode: Episode, visits: Iterable[Visit]) -> dt.date | None:
    """The date an episode began: its referral date, else its first visit's date (None: no visit yet)."""
    if episode.referral_date is not None:
        return episode.referral_date
    return min((v.visit_date for v in visits if v.episode_id == episode.id and not v.archived), default=None)


def lookback_episode(episodes: Sequence[Episode], visits: Iterable[Visit]) -> Episode | None:
    """The previous episode the trend rules look back to: the latest discharged one, when the current
    episode began within 12 weeks (84 days) of its discharge (§11.1); None otherwise. `visits` need
    only hold the current episode's (they date its start when it has no referral date)."""
    current = current_episode(episodes)
    if current is None:
        return None
    discharged = [e for e in episodes if e.id != current.id and e.discharge_date is not None]
    if not discharged:
        return None
    # The latest discharge; on a tie the later episode (episodes come oldest first).
    previous = max(reversed(discharged), key=lambda e: e.discharge_date or dt.date.min)
    start = episode_start(current, visits)
    if start is None or previous.discharge_date is None:
        return None
    return previous if 0 <= (start - previous.discharge_date).days <= REREFERRAL_LOOKBACK_DAYS else None


def lookback_visits(episodes: Sequence[Episode], visits: Sequence[Visit]) -> list[Visit]:
    """The previous episode's last visit when the current episode is a re-referral within 12 weeks
    of its discharge, for the trend rules of the red-flag screen only; else [] (§11.1)."""
    previous = lookback_episode(episodes, visits)
    if previous is None:
        return []
    return chronological(v for v in visits if v.episode_id == previous.id)[-1:]


# --- the outcome of one episode ---------------------------------------------------------------

# The five reported measures (§11.2), in the order letters and the outcomes page show them.
OUTCOME_MEASURES: tuple[str, ...] = ("pain_nrs", "odi_percent", "rmdq_total", "walk_spwt_m", "walk_6mwt_m")


def _odi(visit: Visit) -> float | None:
    return score_odi(visit.odi_sections).percent if visit.odi_sections is not None else None


def _rmdq(visit: Visit) -> float | None:
    total = score_rmdq(visit.rmdq_items).total if visit.rmdq_items is not None else None
    return float(total) if total is not None else None


def _pain(visit: Visit) -> float | None:
    return float(visit.pain_nrs) if visit.pain_nrs is not None else None


_VALUE_OF: dict[str, Callable[[Visit], float | None]] = {
    "pain_nrs": _pain,
    "odi_percent": _odi,
    "rmdq_total": _rmdq,
}


def measure_value(measure: str, visit: Visit) -> float | None:
    """Pain now (0–10), ODI (%) or RMDQ total (0–24) at one visit; None when not recorded."""
    return _VALUE_OF[measure](visit)


@dataclass(frozen=True)
class MeasureOutcome:
    """Baseline and final value of one measure in one episode, and judge_change's label for them."""

    baseline: float | None
    final: float | None
    label: str | None  # None when incomplete (no baseline, or no value from a later visit)
    criterion: str = ""
    baseline_date: dt.date | None = None
    final_date: dt.date | None = None

    @property
    def complete(self) -> bool:
        """True when both a baseline and a final value from a later visit exist."""
        return self.baseline is not None and self.final is not None

    @property
    def improved(self) -> bool:
        """True for a clinically important improvement (the only meaning of "improved", §11.2)."""
        return self.label == "important_improvement"


@dataclass(frozen=True)
class CaseMix:
    """The episode's case mix at baseline (§11.3): None where the baseline did not record it."""

    startback_risk: str | None  # "low", "medium", "high"
    odi_band: str | None
    duration_band: str | None  # "< 6 weeks", "6–12 weeks", "> 12 weeks" at the first visit
    age_band: str | None  # "< 50", "50–64", "65–79", "≥ 80" at the first visit


@dataclass(frozen=True)
class EpisodeOutcome:
    """Every reported measure's outcome in one episode (all five are always present)."""

    measures: Mapping[str, MeasureOutcome]
    case_mix: CaseMix

    @property
    def complete(self) -> bool:
        """True when at least one measure has a baseline and a later final value."""
        return any(outcome.complete for outcome in self.measures.values())


def _outcome(measure: str, dated: Sequence[tuple[dt.date, float]]) -> MeasureOutcome:
    """Baseline = the first value; final = the last value from a visit dated after the baseline's."""
    if not dated:
        return MeasureOutcome(None, None, None)
    (first_date, baseline), (last_date, last) = dated[0], dated[-1]
    if last_date <= first_date:
        return MeasureOutcome(baseline, None, None, baseline_date=first_date)
    judgement = judge_change(measure, baseline, last)
    return MeasureOutcome(baseline, last, judgement.label, judgement.criterion, first_date, last_date)


def _dated_values(measure: str, ordered: Sequence[Visit]) -> list[tuple[dt.date, float]]:
    if measure in WALK_METRICS:
        # One protocol and one metric; a walk stopped for an unrelated reason never counts (§3.3, §7.8).
        series = comparable_walks(ordered, measure)
        if series is None:
            return []
        return [(visit.visit_date, value) for visit, value in zip(series.records, series.values, strict=True)]
    value_of = _VALUE_OF[measure]
    return [(visit.visit_date, value) for visit in ordered if (value := value_of(visit)) is not None]


# The case-mix bands of §11.3, in the order the Outcomes page offers them.
DURATION_BANDS: tuple[str, ...] = ("< 6 weeks", "6–12 weeks", "> 12 weeks")
AGE_BANDS: tuple[str, ...] = ("< 50", "50–64", "65–79", "≥ 80")
STARTBACK_GROUPS: tuple[str, ...] = ("low", "medium", "high")


def duration_band(days: int) -> str:
    """Symptom duration at the first visit of an episode, in the bands of §11.3."""
    if days < 42:
        return "< 6 weeks"
    return "6–12 weeks" if days <= 84 else "> 12 weeks"


def age_band(age_years: int) -> str:
    """Age at the first visit of an episode, in the bands of §11.3."""
    if age_years < 50:
        return "< 50"
    if age_years < 65:
        return "50–64"
    return "65–79" if age_years < 80 else "≥ 80"


def _case_mix(patient: Patient, episode: Episode, ordered: Sequence[Visit]) -> CaseMix:
    if not ordered:
        return CaseMix(None, None, None, None)
    first = ordered[0]
    startback = next((v.startback for v in ordered if v.startback is not None), None)
    odi = next((score_odi(v.odi_sections) for v in ordered if v.odi_sections is not None), None)
    return CaseMix(
        startback_risk=score_startback(startback).risk if startback is not None else None,
        odi_band=odi.band if odi is not None else None,
        duration_band=duration_band((first.visit_date - episode.symptom_onset).days),
        age_band=age_band(patient.age_years(first.visit_date)),
    )


def episode_outcome(patient: Patient, episode: Episode, visits: Iterable[Visit]) -> EpisodeOutcome:
    """The episode's outcome per reported measure (§11.2): visits of this episode, any order;
    archived ones ignored. A patient who self-discharges keeps their last value as the final."""
    ordered = [v for v in chronological(visits) if v.episode_id in (None, episode.id)]
    measures = {measure: _outcome(measure, _dated_values(measure, ordered)) for measure in OUTCOME_MEASURES}
    return EpisodeOutcome(measures=measures, case_mix=_case_mix(patient, episode, ordered))


# --- discharge --------------------------------------------------------------------------------


def discharge_problems(
    episode: Episode,
    visits: Iterable[Visit],
    *,
    discharge_date: dt.date | None,
    reason: str | None,
    note: str,
    today: dt.date,
    open_tiers: Iterable[str] = (),
    override_reason: str = "",
) -> dict[str, str]:
    """Field messages for a discharge that breaks a rule of §11.1 (empty: it may go ahead).

    `open_tiers`: tiers of the patient's open escalations; an open EMERGENCY or URGENT one needs
    `override_reason` (the discharge never closes it).
    """
    errors: dict[str, str] = {}
    if not episode.is_open:
        errors["_"] = "This episode is already discharged."
    ordered = chronological(visits)
    if discharge_date is None:
        errors["discharge_date"] = "Give the discharge date."
    elif discharge_date > today:
        errors["discharge_date"] = "The discharge date cannot be in the future."
    elif ordered and discharge_date < ordered[-1].visit_date:
        errors["discharge_date"] = (
            f"The discharge date cannot be before the last visit ({ordered[-1].visit_date:%d %b %Y})."
        )
    if reason not in DISCHARGE_REASONS:
        errors["discharge_reason"] = "Choose the reason for discharge."
    elif reason == "other" and not note.strip():
        errors["discharge_note"] = "Say why in the note when the reason is 'Other'."
    if len(note) > DISCHARGE_NOTE_MAX:
        errors["discharge_note"] = (
            f"The note can hold at most {DISCHARGE_NOTE_MAX:,} characters (you entered {len(note):,})."
        )
    serious = sorted(set(open_tiers) & DISCHARGE_NEEDS_REASON_TIERS)
    if serious and not override_reason.strip():
        words = " and ".join(tier.lower() for tier in serious)
        errors["override_reason"] = (
            f"An {words} escalation is still open. Close it first, or record why the patient is "
            "discharged with it open (it stays open and is listed in the discharge summary)."
        )
    return errors
