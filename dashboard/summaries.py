"""A patient's summary for the caseload, computed by the domain and persisted as is by the store.

Latest values, first-versus-latest comparable values, the judge_change label of pain, ODI and
walking, "not improving" by the product's one definition (clinical-reference §3.2), and the open
tier. The store keeps exactly `PatientSummary.stored()` per patient and never re-derives it in SQL.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from dashboard.models import Visit
from dashboard.outcomes import ChangeJudgement, improvement, judge_change, score_odi
from dashboard.walking import chronological, comparable_walks

# Bump when a summary changes meaning: stored summaries are then recomputed (migration 0006 and the
# store's check on opening). "1": the SQL aggregate; "2": computed here (one judge, one walk rule);
# "3": the current episode's visits only (§11.1); "4": with the episode's first visit date; "5": with
# the caseload's filter and sort inputs beside it (migration 0015, data.store.tx_caseload).
SUMMARY_VERSION = "5"


@dataclass(frozen=True)
class PatientSummary:
    """One patient's caseload summary; `*_change` are judge_change labels, None when not comparable."""

    patient_id: str
    last_visit_date: dt.date | None
    n_visits: int
    nrs_count: int
    walk_count: int  # walking records that count, of `walk_protocol`
    first_nrs: int | None
    latest_nrs: int | None
    first_odi_percent: float | None
    latest_odi_percent: float | None
    walk_protocol: str | None  # protocol of the latest walking record that counts
    first_walk_primary: float | None
    latest_walk_primary: float | None
    pain_change: str | None
    odi_change: str | None
    walk_change: str | None
    not_improving: bool
    open_tier: str = "NONE"
    # The current episode's first visit: when an episode without a referral date began (caseload).
    first_visit_date: dt.date | None = None
    next_review_date: dt.date | None = None

    def overdue(self, today: dt.date) -> bool:
        """True when the next review date has passed (depends on today, so never stored)."""
        return self.next_review_date is not None and self.next_review_date < today

    def stored(self) -> dict[str, Any]:
        """The values the store persists (next_review_date lives on the patient record)."""
        return {name: getattr(self, name) for name in STORED_FIELDS}


# The stored columns, in order (data/tables.py patient_summaries mirrors them).
STORED_FIELDS: tuple[str, ...] = tuple(
    f.name for f in dataclasses.fields(PatientSummary) if f.name != "next_review_date"
)


def _odi_percent(visit: Visit) -> float | None:
    return None if visit.odi_sections is None else score_odi(visit.odi_sections).percent


def _first_latest(values: list[Any]) -> tuple[Any, Any]:
    return (values[0], values[-1]) if values else (None, None)


def patient_summary(
    patient_id: str,
    visits: Iterable[Visit],
    *,
    open_tier: str = "NONE",
    next_review_date: dt.date | None = None,
) -> PatientSummary:
    """The caseload summary of one patient's visits (any order; archived ones ignored).

    Each change compares the first value with the latest one from a later visit: pain and ODI over
    every visit that has them, walking over `dashboard.walking.comparable_walks` (one protocol, walks
    stopped for an unrelated reason left out, and no judgement from a baseline of 0, §3.2).
    """
    ordered = chronological(visits)
    nrs = [v.pain_nrs for v in ordered if v.pain_nrs is not None]
    odi = [p for p in map(_odi_percent, ordered) if p is not None]
    walks = comparable_walks(ordered)
    walk_values = walks.values if walks else []
    first_nrs, latest_nrs = _first_latest(nrs)
    first_odi, latest_odi = _first_latest(odi)
    first_walk, latest_walk = _first_latest(walk_values)

    judgements: list[ChangeJudgement] = []
    if len(nrs) > 1:
        judgements.append(judge_change("pain_nrs", first_nrs, latest_nrs))
    if len(odi) > 1:
        judgements.append(judge_change("odi_percent", first_odi, latest_odi))
    # A relative change cannot be judged from a baseline of 0 (as in the red-flag engine).
    if walks is not None and len(walk_values) > 1 and first_walk:
        judgements.append(judge_change(walks.change_measure, first_walk, latest_walk))
    labels = {j.measure: j.label for j in judgements}
    _, not_improved = improvement(judgements)
    return PatientSummary(
        patient_id=patient_id,
        last_visit_date=ordered[-1].visit_date if ordered else None,
        first_visit_date=ordered[0].visit_date if ordered else None,
        n_visits=len(ordered),
        nrs_count=len(nrs),
        walk_count=len(walk_values),
        first_nrs=first_nrs,
        latest_nrs=latest_nrs,
        first_odi_percent=first_odi,
        latest_odi_percent=latest_odi,
        walk_protocol=walks.protocol if walks else None,
        first_walk_primary=first_walk,
        latest_walk_primary=latest_walk,
        pain_change=labels.get("pain_nrs"),
        odi_change=labels.get("odi_percent"),
        walk_change=labels.get(walks.change_measure) if walks else None,
        not_improving=not_improved,
        open_tier=open_tier,
        next_review_date=next_review_date,
    )


# The Visit fields one walking test is recorded in: its protocol, measures and why it stopped.
WALK_TEST_FIELDS: tuple[str, ...] = (
    "walk_protocol",
    "walk_onset_min",
    "walk_onset_m",
    "walk_total_min",
    "walk_total_m",
    "walk_stop_reason",
)
# The Visit fields a summary reads (besides visit_date and recorded_at).
SUMMARY_VISIT_FIELDS: tuple[str, ...] = ("pain_nrs", "odi_sections", *WALK_TEST_FIELDS)


# A blank visit to copy from: model_copy does not re-validate or rebuild defaults, which makes it
# about ten times cheaper than model_construct for a summary of thousands of visits.
_BLANK_VISIT = Visit(visit_date=dt.date(2000, 1, 1))


def summary_visit(visit_date: dt.date, recorded_at: dt.datetime | None, values: Mapping[Any, Any]) -> Visit:
    """A Visit holding only the fields a summary reads, from stored values that were validated when
    they were saved (copied without re-validation, so refreshing thousands of summaries stays fast).
    Only for summaries: its other fields are blank."""
    fields: dict[str, Any] = {name: values.get(name) for name in SUMMARY_VISIT_FIELDS}
    fields["visit_date"], fields["recorded_at"] = visit_date, recorded_at
    return _BLANK_VISIT.model_copy(update=fields)
