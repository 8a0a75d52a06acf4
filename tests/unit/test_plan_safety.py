"""The plan with an open escalation: the plan page's warnings, and the handout's safety-first choice
(the safety net leads; reassurance that would contradict the flag is left out)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from dashboard.models import Escalation
from dashboard.plan import Plan, build_plan, escalation_warnings, open_urgent_escalations
from data.library import load_library
from tests.factories import make_patient, make_visit

LIBRARY = load_library()
LOW_RISK_STARTBACK = {**{f"q{i}": "disagree" for i in range(1, 9)}, "q9": "slightly"}
REASSURANCE = ("rarely caused by anything serious", "Most people get better", "harming your back")


def escalation(tier: str = "EMERGENCY", rule_id: str = "RF_CES", **fields: Any) -> Escalation:
    return Escalation(
        patient_id="p-1", rule_id=rule_id, tier=tier, reason="saddle anaesthesia: new", **fields
    )


def plan_with(*escalations: Escalation) -> Plan:
    visit = make_visit(startback=LOW_RISK_STARTBACK)
    return build_plan(make_patient(), [visit], LIBRARY, escalations=escalations)


def printed(plan: Plan) -> str:
    return " ".join(plan.patient_texts() + [item.title for item in plan.safety_net])


def ids(plan: Plan, section: Any) -> list[str]:
    return [item.id for item in plan.section(section)]


@pytest.mark.parametrize(
    ("tier", "lead"), [("EMERGENCY", "safety_net_flag_emergency"), ("URGENT", "safety_net_flag_urgent")]
)
def test_an_open_urgent_or_emergency_flag_puts_safety_first_and_leaves_reassurance_out(
    tier: str, lead: str
) -> None:
    plan = plan_with(escalation(tier))
    assert plan.safety_first
    assert ids(plan, "safety_net")[0] == lead
    text = printed(plan)
    for sentence in REASSURANCE:
        assert sentence not in text
    assert "Serious problems are rare" not in text
    assert {"pain_not_damage", "good_outlook"}.isdisjoint(ids(plan, "core"))
    # The practical advice of the same item stays.
    assert "Staying active" in text
    assert any(tier in line for line in plan.summary)


def test_the_most_urgent_open_flag_chooses_the_lead_line() -> None:
    plan = plan_with(escalation("URGENT", "RF_FRACTURE"), escalation("EMERGENCY"))
    assert "safety_net_flag_emergency" in ids(plan, "safety_net")
    assert "safety_net_flag_urgent" not in ids(plan, "safety_net")


@pytest.mark.parametrize(
    "escalations",
    [
        (),
        (escalation("ROUTINE_REVIEW", "RF_WALKING_DECLINE"),),
        (
            escalation(
                status="closed",
                closed_at=dt.datetime(2025, 2, 4, tzinfo=dt.UTC),
                close_action="urgent_referral",
            ),
        ),
    ],
    ids=["no escalation", "routine review only", "emergency closed"],
)
def test_without_an_open_urgent_flag_the_plan_reassures_as_usual(escalations: tuple[Escalation, ...]) -> None:
    plan = plan_with(*escalations)
    assert not plan.safety_first
    text = printed(plan)
    for sentence in REASSURANCE:
        assert sentence in text
    assert ids(plan, "safety_net")[0] == "safety_net_intro"
    assert "good_outlook" in ids(plan, "core")


def test_open_urgent_escalations_are_the_open_urgent_and_emergency_ones_most_urgent_first() -> None:
    early = dt.datetime(2025, 2, 1, tzinfo=dt.UTC)
    chosen = open_urgent_escalations(
        [
            escalation("URGENT", "RF_FRACTURE", opened_at=early),
            escalation("ROUTINE_REVIEW", "RF_WALKING_DECLINE"),
            escalation("EMERGENCY", "RF_AAA", opened_at=early + dt.timedelta(days=1)),
            escalation("EMERGENCY", "RF_CES", status="closed"),
        ]
    )
    assert [esc.rule_id for esc in chosen] == ["RF_AAA", "RF_FRACTURE"]


def test_every_open_escalation_becomes_a_plan_page_warning_with_the_rule_in_words() -> None:
    warnings = escalation_warnings(
        [
            escalation("ROUTINE_REVIEW", "RF_WALKING_DECLINE"),
            escalation("EMERGENCY"),
            escalation("URGENT", status="closed"),
        ]
    )
    assert [(w.tier, w.rule_id) for w in warnings] == [
        ("EMERGENCY", "RF_CES"),
        ("ROUTINE_REVIEW", "RF_WALKING_DECLINE"),
    ]
    assert warnings[0].rule_words.startswith("Saddle numbness")
    assert warnings[0].reason == "saddle anaesthesia: new"


def test_a_safety_first_plan_survives_a_json_round_trip() -> None:
    plan = plan_with(escalation())
    assert Plan.from_json(plan.to_json()) == plan
