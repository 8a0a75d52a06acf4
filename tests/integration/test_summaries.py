"""The caseload's stored patient summaries agree with the domain: one judge, one "which walk counts".

Visits are recorded through dashboard.services on a fresh store (SQLite and PostgreSQL); the row the
caseload reads must say what the red-flag engine and judge_change say about the same visits.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from dashboard import services, trends
from dashboard.outcomes import judge_change
from dashboard.red_flags import derive_facts
from tests.integration.support import make_team, patient_values, visit_values

DAY1 = dt.date(2025, 2, 3)
DAY2 = dt.date(2025, 3, 3)
TODAY = dt.date(2025, 3, 10)


def caseload_row(store: Any, actor: Any) -> Any:
    """The single caseload row as the caseload page derives it."""
    rows = services.caseload(store, actor)
    assert len(rows) == 1
    return trends.caseload_table(rows, TODAY).iloc[0]


def record(store: Any, actor: Any, patient_id: str, day: dt.date, **values: Any) -> Any:
    return services.record_visit(store, actor, patient_id, visit_values(day, **values))


def test_a_walk_stopped_for_an_unrelated_reason_does_not_make_the_caseload_read_worse(store: Any) -> None:
    team = make_team(store)
    patient = services.register_patient(store, team.clinician, patient_values())
    assert patient.id is not None
    walk = {"walk_protocol": "spwt", "walk_total_min": 20.0}
    record(store, team.clinician, patient.id, DAY1, walk_total_m=300.0, walk_stop_reason="symptoms", **walk)
    _, screening = record(
        store, team.clinician, patient.id, DAY2, walk_total_m=100.0, walk_stop_reason="other", **walk
    )
    # The red-flag engine ignores the second test (§3.3): no decline, nothing to compare.
    assert "RF_WALKING_DECLINE" not in {flag.rule_id for flag in screening.flags}
    with store.read() as tx:
        facts = derive_facts(patient, tx.visits(patient.id))
    assert facts.walk_previous is None and not facts.change_evidence

    row = caseload_row(store, team.clinician)
    assert row["walking_trend"] != trends.WALKING_TREND_TEXT["worse"]
    assert row["latest_walk_primary"] == 300.0
    assert row["walk_change"] is None
    assert not row["not_improving"]


def test_a_6mwt_gain_of_30_m_is_an_important_improvement_on_the_caseload_too(store: Any) -> None:
    team = make_team(store)
    patient = services.register_patient(store, team.clinician, patient_values())
    assert patient.id is not None
    record(store, team.clinician, patient.id, DAY1, walk_protocol="6mwt", walk_total_m=400.0)
    record(store, team.clinician, patient.id, DAY2, walk_protocol="6mwt", walk_total_m=430.0)
    assert judge_change("walk_6mwt_m", 400.0, 430.0).label == "important_improvement"
    with store.read() as tx:
        facts = derive_facts(patient, tx.visits(patient.id))
    assert facts.improved and not facts.not_improved

    row = caseload_row(store, team.clinician)
    assert not row["not_improving"]
    assert row["walk_change"] == "important_improvement"


@pytest.mark.parametrize(
    ("first", "latest", "label"),
    [(6, 3, "important_improvement"), (6, 5, "no_important_change"), (3, 6, "important_worsening")],
)
def test_every_caseload_row_carries_the_pain_label_of_judge_change(
    store: Any, first: int, latest: int, label: str
) -> None:
    team = make_team(store)
    patient = services.register_patient(store, team.clinician, patient_values())
    assert patient.id is not None
    record(store, team.clinician, patient.id, DAY1, pain_nrs=first)
    record(store, team.clinician, patient.id, DAY2, pain_nrs=latest)
    row = caseload_row(store, team.clinician)
    assert row["pain_change"] == label == judge_change("pain_nrs", first, latest).label
    assert row["odi_change"] is None and row["walk_change"] is None
