"""The caseload's stored patient summaries agree with the domain: one judge, one "which walk counts".

Visits are recorded through dashboard.services on a fresh store (SQLite and PostgreSQL); the row the
caseload reads must say what the red-flag engine and judge_change say about the same visits.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard import services, trends
from dashboard.models import TIER_ORDER
from dashboard.outcomes import judge_change
from dashboard.red_flags import derive_facts
from dashboard.summaries import STORED_FIELDS, SUMMARY_VERSION, patient_summary
from data.store import open_store
from tests.integration.support import license_all_instruments, make_team, patient_values, visit_values

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


# --- property: the stored row is the domain's summary of the same visits ---------------------------


@st.composite
def _walk(draw: st.DrawFn) -> dict[str, Any]:
    protocol = draw(st.sampled_from([None, "spwt", "6mwt", "treadmill_1_2mph", "reported"]))
    if protocol is None:
        return {}
    cap = {"spwt": 30.0, "6mwt": 6.0, "treadmill_1_2mph": 15.0}.get(protocol, 120.0)
    values: dict[str, Any] = {"walk_protocol": protocol}
    # Small integer ranges on purpose: equal and near-threshold values come up often.
    values["walk_total_m"] = draw(
        st.one_of(st.none(), st.sampled_from([0.0, 100.0, 130.0, 300.0, 400.0, 430.0]))
    )
    values["walk_total_min"] = draw(st.one_of(st.none(), st.integers(0, int(cap)).map(float)))
    values["walk_stop_reason"] = draw(st.sampled_from([None, "symptoms", "fatigue", "time_cap", "other"]))
    return values


@st.composite
def visit_series(draw: st.DrawFn) -> list[dict[str, Any]]:
    n = draw(st.integers(1, 5))
    offsets = sorted(draw(st.lists(st.integers(0, 60), min_size=n, max_size=n)))
    series = []
    for offset in offsets:
        values: dict[str, Any] = {"pain_nrs": draw(st.one_of(st.none(), st.integers(0, 10)))}
        if draw(st.booleans()):
            sections = draw(st.lists(st.one_of(st.none(), st.integers(0, 5)), min_size=10, max_size=10))
            values["odi_sections"] = sections
        values.update(draw(_walk()))
        series.append({"day": DAY1 + dt.timedelta(days=offset), **values})
    return series


def _team(store: Any) -> Any:
    """One team per store (hypothesis runs many examples on the same fresh store)."""
    with store.read() as tx:
        existing = tx.get_user_by_username("carla")
    if existing is None:
        team = make_team(store)
        license_all_instruments(store, team.admin)
        return team.clinician
    return existing


def _summary_of_stored_visits(store: Any, patient: Any) -> dict[str, Any]:
    with store.read() as tx:
        visits = tx.visits(patient.id)
        open_tiers = [e.tier for e in tx.escalations(patient_id=patient.id, status="open") if not e.archived]
    tier = max(open_tiers, key=TIER_ORDER.__getitem__, default="NONE")
    return patient_summary(patient.id, visits, open_tier=tier).stored()


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(series=visit_series(), archive_one=st.booleans())
def test_the_stored_caseload_row_is_the_domain_summary_of_the_same_visits(
    store: Any, series: list[dict[str, Any]], archive_one: bool
) -> None:
    actor = _team(store)
    patient = services.register_patient(
        store, actor, patient_values(patient_ref=f"P-{uuid.uuid4().hex[:10]}")
    )
    assert patient.id is not None
    saved = []
    for values in series:
        day = values.pop("day")
        saved.append(record(store, actor, patient.id, day, **values)[0])
    if archive_one and len(saved) > 1:
        services.set_visit_archived(
            store, actor, saved[0].id, archived=True, reason="entered on the wrong patient"
        )

    def stored_row() -> dict[str, Any]:
        row = next(r for r in services.caseload(store, actor) if r["patient_id"] == patient.id)
        return {name: row[name] for name in STORED_FIELDS}

    expected = _summary_of_stored_visits(store, patient)
    assert stored_row() == expected  # kept current on every write
    with store.transaction() as tx:
        tx.refresh_summaries()
    assert stored_row() == expected  # and the same after a full refresh


def test_migration_0006_recomputes_the_summaries_of_an_existing_database(
    store: Any, database_url: str
) -> None:
    from alembic import command
    from sqlalchemy import select, text

    from data import tables
    from data.migrate import alembic_config, head_revision, upgrade
    from data.store import make_engine

    actor = _team(store)
    patient = services.register_patient(store, actor, patient_values())
    assert patient.id is not None
    walk = {"walk_protocol": "spwt", "walk_total_min": 20.0}
    record(store, actor, patient.id, DAY1, walk_total_m=300.0, walk_stop_reason="symptoms", **walk)
    record(store, actor, patient.id, DAY2, walk_total_m=100.0, walk_stop_reason="other", **walk)
    expected = _summary_of_stored_visits(store, patient)
    store.close()
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:  # back to before 0006, with the SQL summary of version 1 ("▼ worse")
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0006-1")
            conn.execute(text("UPDATE patient_summaries SET latest_walk_primary = 100"))
            conn.execute(text("INSERT INTO meta (key, value) VALUES ('summary_version', '1')"))
        with engine.begin() as conn:  # up to 0010: 0006 recomputed the summaries (version 2)
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0010")
        from_0006 = [name for name in STORED_FIELDS if name != "first_visit_date"]
        with engine.connect() as conn:
            assert conn.execute(text("SELECT value FROM meta WHERE key = 'summary_version'")).scalar() == "2"
            columns = [tables.patient_summaries.c[name] for name in from_0006]
            row = conn.execute(select(*columns)).mappings().one()
        upgrade(engine)  # 0011 adds the first visit date and leaves the recompute to the store
        with engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == head_revision()
            assert conn.execute(text("SELECT value FROM meta WHERE key = 'summary_version'")).scalar() is None
    finally:
        engine.dispose()
    assert {name: row[name] for name in from_0006} == {name: expected[name] for name in from_0006}
    reopened = open_store(database_url)
    try:
        with reopened.read() as tx:
            assert tx.get_meta("summary_version") == SUMMARY_VERSION
        assert _summary_of_stored_visits(reopened, patient) == expected
        with reopened.read_engine.connect() as conn:
            stored = conn.execute(select(tables.patient_summaries)).mappings().one()
        assert {name: stored[name] for name in STORED_FIELDS} == expected
        assert stored["first_visit_date"] == DAY1
    finally:
        reopened.close()
