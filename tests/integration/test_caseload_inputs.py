"""The caseload's filter and sort inputs kept in the stored summary row (migration 0015, issue 24):
every write that changes one moves the patient in the page at once, and the migration's backfill
writes what the store itself writes. SQLite and PostgreSQL through the shared `store` fixture."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from dashboard.caseload_query import CaseloadFilters, CaseloadQuery, caseload_page
from data import tables as t
from data.demo import DEMO_TODAY, generate

INPUTS = (
    "archived",
    "clinician_id",
    "next_review_date",
    "patient_ref",
    "name_key",
    "episode_status",
    "episode_start",
    "discharge_date",
    "tier_rank",
    "nrs_change",
)


def _clinic(store: Any) -> tuple[Any, str]:
    generate(store, patients=12, seed=7, visits_per_patient=4, approve_rules=False)
    with store.read() as tx:
        reader = tx.get_user_by_username("demo.clinician")
        first = sorted(p.id for p in tx.search_patients("", limit=100))[0]
    return reader, first


def _ids(store: Any, reader: Any, sort: str = "Most urgent", **filters: Any) -> list[str]:
    query = CaseloadQuery(today=DEMO_TODAY, filters=CaseloadFilters(**filters), sort=sort, page_size=100)
    return [row["patient_id"] for row in caseload_page(store, reader, query).rows]


def _edit(store: Any, patient_id: str, **changes: Any) -> None:
    with store.transaction() as tx:
        patient = tx.get_patient(patient_id)
        tx.update_patient(patient.model_copy(update=changes), patient.version)


def test_archiving_a_patient_takes_them_off_the_page_and_restoring_brings_them_back(store: Any) -> None:
    reader, pid = _clinic(store)
    _edit(store, pid, archived=True)
    assert pid not in _ids(store, reader)
    _edit(store, pid, archived=False)
    assert pid in _ids(store, reader)


def test_reassigning_a_patient_moves_them_to_the_new_clinicians_filter(store: Any) -> None:
    reader, pid = _clinic(store)
    _edit(store, pid, clinician_id=reader.id)
    assert pid in _ids(store, reader, clinician_ids=(reader.id,))
    _edit(store, pid, clinician_id=None)
    assert pid not in _ids(store, reader, clinician_ids=(reader.id,))


def test_a_review_date_in_the_past_makes_the_patient_overdue_and_first_by_review_date(store: Any) -> None:
    reader, pid = _clinic(store)
    _edit(store, pid, next_review_date=DEMO_TODAY - dt.timedelta(days=400))
    assert pid in _ids(store, reader, overdue_only=True)
    assert _ids(store, reader, sort="Next review date")[0] == pid
    _edit(store, pid, next_review_date=None)
    assert pid not in _ids(store, reader, overdue_only=True)
    assert _ids(store, reader, sort="Next review date")[-1] == pid  # no review date: last


def test_a_new_name_moves_the_patient_in_the_name_order(store: Any) -> None:
    reader, pid = _clinic(store)
    _edit(store, pid, given_name="Aaron", family_name="Aardvark")
    assert _ids(store, reader, sort="Name")[0] == pid
    _edit(store, pid, given_name="Zoë", family_name="Zzyzx")
    query = CaseloadQuery(today=DEMO_TODAY, sort="Name", page_size=100)
    names = [(row["name"], row["patient_id"]) for row in caseload_page(store, reader, query).rows]
    assert names == sorted(names)  # code-point order, as Python sorts
    assert ("Zoë Zzyzx", pid) in names and names[0][1] != pid


def test_discharging_and_re_referring_moves_the_patient_between_the_episode_views(store: Any) -> None:
    reader, pid = _clinic(store)
    with store.transaction() as tx:
        episode = tx.open_episode(pid)
        discharged = {"status": "discharged", "discharge_date": DEMO_TODAY, "discharge_reason": "goals_met"}
        tx.update_episode(episode.model_copy(update=discharged), episode.version)
    assert pid in _ids(store, reader, episode_status="discharged")
    assert pid in _ids(store, reader, discharged_this_month_only=True)
    assert pid not in _ids(store, reader, episode_status="open")
    with store.transaction() as tx:
        tx.insert_episode(episode.model_copy(update={"id": None, "version": 0}))
    assert pid in _ids(store, reader, episode_status="open")
    assert pid not in _ids(store, reader, episode_status="discharged")


def _stored_inputs(store: Any) -> dict[str, tuple[Any, ...]]:
    ps = t.patient_summaries
    with store.read() as tx:
        rows = tx.conn.execute(select(ps.c.patient_id, *(ps.c[name] for name in INPUTS)))
        return {row[0]: tuple(row[1:]) for row in rows}


def test_migration_0015_backfills_the_inputs_the_store_writes(store: Any, database_url: str) -> None:
    from alembic import command

    from data.migrate import alembic_config
    from data.store import make_engine, open_store

    reader, pid = _clinic(store)
    _edit(store, pid, archived=True, next_review_date=DEMO_TODAY)
    with store.transaction() as tx:
        other = sorted(p.id for p in tx.search_patients("", limit=100))[1]
        episode = tx.open_episode(other)
        discharged = {"status": "discharged", "discharge_date": DEMO_TODAY, "discharge_reason": "goals_met"}
        tx.update_episode(episode.model_copy(update=discharged), episode.version)
    written = _stored_inputs(store)
    assert written[pid][0] is True and written[other][5] == "discharged"
    store.close()
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:  # back to 0014 (columns gone), then up again: the backfill alone
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0014")
            command.upgrade(cfg, "head")
    finally:
        engine.dispose()
    migrated = open_store(database_url)  # the summary version is current: no recompute on opening
    try:
        assert _stored_inputs(migrated) == written
    finally:
        migrated.close()


def test_an_archived_patients_open_flags_leave_the_sidebar_summary_and_restoring_brings_them_back(
    store: Any,
) -> None:
    _clinic(store)
    e = t.escalations
    with store.read() as tx:
        before = tx.open_flag_summary().counts
        pid, tier = tx.conn.execute(
            select(e.c.patient_id, e.c.tier).where(e.c.status == "open", e.c.archived.is_(False)).limit(1)
        ).one()
        theirs = tx.conn.execute(
            select(e.c.id).where(e.c.patient_id == pid, e.c.tier == tier, e.c.status == "open")
        ).all()
    _edit(store, pid, archived=True)
    with store.read() as tx:
        assert tx.open_flag_summary().counts.get(tier, 0) == before[tier] - len(theirs)
    _edit(store, pid, archived=False)
    with store.read() as tx:
        assert tx.open_flag_summary().counts == before
