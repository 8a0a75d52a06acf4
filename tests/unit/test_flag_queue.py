"""The red-flag queue's filters: tier, clinician and how long an event has been open (issue 19)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from dashboard import flag_queue
from dashboard.models import Escalation
from dashboard.services import EscalationGroup
from tests.factories import make_patient

NOW = dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.UTC)


def event(tier: str, hours_open: float, clinician: str = "") -> EscalationGroup:
    """One open event of one rule, opened `hours_open` hours before NOW."""
    opened = NOW - dt.timedelta(hours=hours_open)
    esc = Escalation(patient_id="p", rule_id=f"RF_{tier}", tier=tier, opened_at=opened)
    return EscalationGroup(make_patient(), (esc,), clinician)


QUEUE = [
    event("EMERGENCY", 2, "Dr Ada"),
    event("URGENT", 30, "Dr Ada"),
    event("URGENT", 200, "Dr Ben"),
    event("ROUTINE_REVIEW", 24 * 40, ""),
]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, [0, 1, 2, 3]),
        ({"tiers": ["EMERGENCY"]}, [0]),
        ({"tiers": ["URGENT", "ROUTINE_REVIEW"]}, [1, 2, 3]),
        ({"tiers": []}, []),
        ({"clinician": "Dr Ada"}, [0, 1]),
        ({"clinician": flag_queue.UNASSIGNED}, [3]),
        ({"age": "Open over 24 hours"}, [1, 2, 3]),
        ({"age": "Open over 7 days"}, [2, 3]),
        ({"age": "Open over 30 days"}, [3]),
        ({"tiers": ["URGENT"], "clinician": "Dr Ada", "age": "Open over 7 days"}, []),
    ],
)
def test_the_queue_keeps_only_the_events_matching_every_filter(
    filters: dict[str, Any], expected: list[int]
) -> None:
    shown = flag_queue.filter_events(QUEUE, now=NOW, **filters)
    assert shown == [QUEUE[i] for i in expected]


def test_every_age_choice_is_covered_by_a_case() -> None:
    assert set(flag_queue.FLAG_AGES) == {
        "Any time",
        "Open over 24 hours",
        "Open over 7 days",
        "Open over 30 days",
    }


def test_an_unknown_age_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="age"):
        flag_queue.filter_events(QUEUE, now=NOW, age="yesterday")


def test_the_clinician_choices_are_everyone_then_each_name_a_to_z() -> None:
    assert flag_queue.clinician_choices(QUEUE) == [
        flag_queue.ANY_CLINICIAN,
        "Dr Ada",
        "Dr Ben",
        flag_queue.UNASSIGNED,
    ]
