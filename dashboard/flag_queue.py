"""The red-flag queue's filters: the event's tier, the patient's clinician and how long it has been open.

A queue of dozens of open events is read by tier first; a clinic lead looks for the oldest ones. The
filters only narrow what is shown: the counts above the queue always cover every open event.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence

from dashboard.escalation_services import EscalationGroup
from dashboard.page_text import TIERS_MOST_URGENT_FIRST

# The tier filter's options (every tier that raises an escalation), most urgent first.
TIER_CHOICES: tuple[str, ...] = TIERS_MOST_URGENT_FIRST

# Label -> minimum time open, in days (None: any). Labels are what the page offers.
FLAG_AGES: dict[str, float | None] = {
    "Any time": None,
    "Open over 24 hours": 1.0,
    "Open over 7 days": 7.0,
    "Open over 30 days": 30.0,
}
ANY_CLINICIAN = "All clinicians"
UNASSIGNED = "No clinician assigned"


def days_open(group: EscalationGroup, now: dt.datetime) -> float:
    """How long the event has been open, in days (its oldest escalation; 0 when the time is unknown)."""
    opened = [e.opened_at for e in group.escalations if e.opened_at is not None]
    return (now - min(opened)).total_seconds() / 86_400 if opened else 0.0


def clinician_choices(groups: Sequence[EscalationGroup]) -> list[str]:
    """The clinician filter's options: everyone, then each clinician with an open event, A to Z."""
    names = sorted({g.clinician or UNASSIGNED for g in groups})
    return [ANY_CLINICIAN, *names]


def filter_events(
    groups: Sequence[EscalationGroup],
    *,
    now: dt.datetime,
    tiers: Collection[str] | None = None,
    clinician: str = ANY_CLINICIAN,
    age: str = "Any time",
) -> list[EscalationGroup]:
    """The events matching every filter, in queue order: tier of the event's most urgent rule, the
    patient's clinician (by display name, or UNASSIGNED) and a minimum time open (a FLAG_AGES label)."""
    if age not in FLAG_AGES:
        raise ValueError(f"age: unknown; expected one of {', '.join(FLAG_AGES)}")
    min_days = FLAG_AGES[age]
    return [
        g
        for g in groups
        if (tiers is None or g.lead.tier in tiers)
        and (clinician == ANY_CLINICIAN or (g.clinician or UNASSIGNED) == clinician)
        and (min_days is None or days_open(g, now) >= min_days)
    ]
