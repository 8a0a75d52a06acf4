"""The caseload page's filters, sorting, paging and counts done in SQL (issue 24) give exactly what the
domain's own pandas filter (trends.caseload_table + filter_caseload) gives over the stored summaries,
on SQLite and PostgreSQL, over random caseloads; hostile search text is only ever text."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from dashboard import page_text, services, trends
from dashboard.caseload_query import (
    SORTS,
    CaseloadFilters,
    CaseloadQuery,
    caseload_clinicians,
    caseload_page,
    page_in_range,
)
from dashboard.models import Episode
from data import tables as t
from data.demo import DEMO_TODAY, generate
from data.store import open_store, search_key
from tests.conftest import fresh_database

PATIENTS = 60


@pytest.fixture(
    scope="module",
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
    ],
)
def clinic(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A demo clinic of 60 patients (open and discharged episodes, flags, five clinicians, accented
    names) on a fresh database of each kind, shared by the tests of this module."""
    folder: Path = tmp_path_factory.mktemp("caseload")
    with fresh_database(request.param, folder) as url:
        store = open_store(url)
        try:
            generate(store, patients=PATIENTS, seed=24, visits_per_patient=5, approve_rules=False)
            yield store
        finally:
            store.close()


def _reader(store: Any) -> Any:
    with store.read() as tx:
        return tx.get_user_by_username("demo.clinician")


def _ordered(rows: list[dict[str, Any]], sort: str) -> list[dict[str, Any]]:
    """Rows in a SORTS order, by plain Python: one stable pass per key from the last to the first,
    missing values last whichever the direction, the patient id breaking ties."""
    out = sorted(rows, key=lambda row: str(row["patient_id"]))
    for key, descending in reversed(SORTS[sort]):
        present = [row for row in out if row[key] is not None]
        missing = [row for row in out if row[key] is None]
        out = sorted(present, key=lambda row: row[key], reverse=descending) + missing
    return out


def expected_page(store: Any, actor: Any, query: CaseloadQuery, clinician: str | None) -> dict[str, Any]:
    """What the page shows by the domain's own filter over every stored row (the pre-SQL page)."""
    rows = services.caseload(store, actor)
    table = trends.caseload_table(rows, query.today)
    f = query.filters
    kept = trends.filter_caseload(
        table,
        clinician=clinician,
        open_flags_only=f.open_flags_only,
        not_improving_only=f.not_improving_only,
        overdue_only=f.overdue_only,
        episode_status=f.episode_status,
        open_long_without_improvement_only=f.open_long_without_improvement_only,
        discharged_this_month_only=f.discharged_this_month_only,
    )
    words = search_key(f.search[:200]).split()
    records = []
    for record in kept.to_dict("records"):
        haystack = search_key(record["name"], record["patient_ref"])
        if all(word in haystack for word in words):
            records.append(_keys_of(record))
    ordered = _ordered(records, query.sort)
    page = page_in_range(query.page, len(ordered), query.page_size)
    start = (page - 1) * query.page_size
    return {
        "ids": [row["patient_id"] for row in ordered[start : start + query.page_size]],
        "matching": len(ordered),
        "page": page,
        "counts": (
            len(table),
            int(table["has_open_flag"].sum()),
            int(table["overdue_for_review"].sum()),
            int(table["not_improving"].sum()),
        ),
        "rows": {row["patient_id"]: row for row in rows},
    }


def _missing(value: Any) -> bool:
    return value is None or value != value  # None, NaN or NaT


def _keys_of(record: dict[str, Any]) -> dict[str, Any]:
    """A caseload_table row's sort keys under the names SORTS uses (None for a missing value)."""
    values = {
        "patient_id": record["patient_id"],
        "tier_rank": record["tier_rank"],
        "overdue": record["overdue_for_review"],
        "not_improving": record["not_improving"],
        "last_visit_date": record["last_visit_date"],
        "name": record["name"],
        "patient_ref": record["patient_ref"],
        "next_review_date": record["next_review_date"],
        "nrs_change": record["nrs_change"],
        "latest_odi_percent": record["latest_odi_percent"],
    }
    return {key: None if _missing(value) else value for key, value in values.items()}


def _query_of(
    today: dt.date, clinicians: dict[str, tuple[str, ...]], clinician: str | None, **choices: Any
) -> CaseloadQuery:
    view = page_text.CASELOAD_EPISODE_VIEWS[choices.pop("view")]
    filters = CaseloadFilters(
        clinician_ids=None if clinician is None else clinicians.get(clinician, ()),
        search=choices.pop("search"),
        open_flags_only=choices.pop("open_flags_only"),
        not_improving_only=choices.pop("not_improving_only"),
        overdue_only=choices.pop("overdue_only"),
        **view,
    )
    return CaseloadQuery(today=today, filters=filters, **choices)


def _shake(store: Any, data: st.DataObject) -> None:
    """Random changes a clinic's patients go through, each by the store's own writes: archived or
    restored, a review date moved or cleared, a patient moved to another clinician or to none, the open
    episode discharged or a discharged patient re-referred."""
    with store.transaction() as tx:
        ids = list(tx.conn.execute(select(t.patients.c.id).order_by(t.patients.c.patient_ref)).scalars())
        clinicians = [*tx.conn.execute(select(t.patients.c.clinician_id).distinct()).scalars(), None]
        for _ in range(data.draw(st.integers(0, 3), label="changes")):
            pid = ids[data.draw(st.integers(0, 10**6), label="patient") % len(ids)]
            change = data.draw(st.sampled_from(["archive", "review", "clinician", "episode"]))
            patient = tx.get_patient(pid)
            if change == "archive":
                patient = patient.model_copy(update={"archived": data.draw(st.booleans())})
            elif change == "review":
                offset = data.draw(st.one_of(st.none(), st.integers(-60, 60)), label="review offset")
                day = None if offset is None else DEMO_TODAY + dt.timedelta(days=offset)
                patient = patient.model_copy(update={"next_review_date": day})
            elif change == "clinician":
                who = clinicians[data.draw(st.integers(0, 10**6), label="clinician id") % len(clinicians)]
                patient = patient.model_copy(update={"clinician_id": who})
            else:
                # Drawn whatever the episode's state, so each example draws the same way.
                offset = data.draw(st.integers(-60, 60), label="discharged days after demo day")
                episode = tx.open_episode(pid)
                if episode is None:
                    tx.insert_episode(Episode(patient_id=pid, symptom_onset=patient.symptom_onset))
                else:
                    discharged = {
                        "status": "discharged",
                        "discharge_date": DEMO_TODAY + dt.timedelta(days=offset),
                        "discharge_reason": "goals_met",
                    }
                    tx.update_episode(episode.model_copy(update=discharged), episode.version)
                continue
            tx.update_patient(patient, patient.version)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(data=st.data())
def test_a_caseload_page_from_sql_is_the_domain_filter_of_the_stored_summaries(
    clinic: Any, data: st.DataObject
) -> None:
    actor = _reader(clinic)
    _shake(clinic, data)
    clinicians = caseload_clinicians(clinic, actor)
    # Draws are indices into what the clinic holds now (it changes between examples), so each
    # example draws the same way whatever the clinic looks like.
    names = [row["name"] for row in services.caseload(clinic, actor)]
    name = names[data.draw(st.integers(0, 10**6), label="patient searched for") % len(names)]
    fragments = [*name.split(), name[:3]]
    fragment = fragments[data.draw(st.integers(0, 10**6), label="fragment") % len(fragments)]
    search = data.draw(
        st.sampled_from(["", fragment, fragment.upper(), "DEMO-0000", "%", "_", "o n", "\\", "ł", "É"]),
        label="search",
    )
    who = [None, *clinicians, "Nobody Of This Clinic"]
    clinician = who[data.draw(st.integers(0, 10**6), label="clinician") % len(who)]
    query = _query_of(
        DEMO_TODAY + dt.timedelta(days=data.draw(st.integers(-90, 200), label="days after demo day")),
        clinicians,
        clinician,
        view=data.draw(st.sampled_from(list(page_text.CASELOAD_EPISODE_VIEWS)), label="view"),
        search=search,
        open_flags_only=data.draw(st.booleans(), label="open flags"),
        not_improving_only=data.draw(st.booleans(), label="not improving"),
        overdue_only=data.draw(st.booleans(), label="overdue"),
        sort=data.draw(st.sampled_from(list(SORTS)), label="sort"),
        page=data.draw(st.integers(-1, 12), label="page"),
        page_size=data.draw(st.integers(1, 25), label="page size"),
    )
    page = caseload_page(clinic, actor, query)
    expected = expected_page(clinic, actor, query, clinician)
    assert [row["patient_id"] for row in page.rows] == expected["ids"]
    assert (page.matching, page.page) == (expected["matching"], expected["page"])
    counts = page.counts
    assert (counts.patients, counts.open_flags, counts.overdue, counts.not_improving) == expected["counts"]
    # Each row is the caseload row of that patient, field for field.
    assert page.rows == [expected["rows"][row["patient_id"]] for row in page.rows]


def test_the_first_page_of_the_working_caseload_is_its_most_urgent_fifty(clinic: Any) -> None:
    actor = _reader(clinic)
    query = CaseloadQuery(today=DEMO_TODAY, filters=CaseloadFilters(episode_status="open"), page_size=10)
    page = caseload_page(clinic, actor, query)
    expected = expected_page(clinic, actor, query, None)
    assert len(page.rows) == 10 and [row["patient_id"] for row in page.rows] == expected["ids"]
    assert page.pages == -(-expected["matching"] // 10)


@pytest.mark.parametrize(
    "hostile",
    ["%", "_", "%%", "\\", "\\%", "'; drop table patients; --", "a" * 5000, "% _ ' \" ; --" * 500],
    ids=["percent", "underscore", "two percents", "backslash", "escaped percent", "sql", "5000 a", "mix"],
)
def test_hostile_search_text_is_matched_as_text_and_changes_nothing(clinic: Any, hostile: str) -> None:
    actor = _reader(clinic)
    query = CaseloadQuery(today=DEMO_TODAY, filters=CaseloadFilters(search=hostile))
    page = caseload_page(clinic, actor, query)
    expected = expected_page(clinic, actor, query, None)
    assert [row["patient_id"] for row in page.rows] == expected["ids"]
    assert page.matching == expected["matching"] == 0  # no name or reference holds such text
    with clinic.read() as tx:
        assert tx.conn.execute(select(func.count()).select_from(t.patients)).scalar_one() == PATIENTS


def test_a_sort_outside_the_allow_list_is_refused_before_any_query() -> None:
    with pytest.raises(ValueError, match="unknown caseload sort"):
        CaseloadQuery(today=DEMO_TODAY, sort="patients.id; drop table patients")


def test_sqlite_reads_each_arm_of_the_most_urgent_order_from_its_index_without_sorting(
    tmp_path: Path,
) -> None:
    from data.store.caseload_sql import CaseloadSql

    store = open_store(f"sqlite:///{tmp_path}/plan.sqlite3")
    generate(store, patients=5, seed=3, approve_rules=False)
    with store.read() as tx:
        sql = CaseloadSql("sqlite", DEMO_TODAY)
        where = sql.where(CaseloadFilters(episode_status="open"))
        plans = []
        for conditions, order in sql.arms(SORTS["Most urgent"]):
            stmt = (
                select(t.patient_summaries.c.patient_id).where(where, *conditions).order_by(*order).limit(50)
            )
            compiled = stmt.compile(tx.conn, compile_kwargs={"literal_binds": True})
            plans.append(
                " | ".join(row[3] for row in tx.conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}"))
            )
    store.close()
    assert len(plans) == 4 * 2 * 2 * 2  # tier, overdue, not improving, a last visit or none
    for plan in plans:
        assert "COVERING INDEX ix_summaries_urgent" in plan, plan
        assert "TEMP B-TREE" not in plan and "SCAN" not in plan, plan


@pytest.mark.parametrize("overdue_only", [False, True], ids=["open episodes", "open and overdue"])
def test_sqlite_counts_each_arm_before_a_deep_page_from_the_arm_s_own_covering_index(
    tmp_path: Path, overdue_only: bool
) -> None:
    # Page 100 counts the arms it skips. Without ANALYZE statistics SQLite counted an overdue arm
    # through ix_summaries_review, reading every overdue patient's row (230 ms a page at 100,000).
    from data.store.caseload_sql import CaseloadSql

    store = open_store(f"sqlite:///{tmp_path}/plan.sqlite3")
    generate(store, patients=5, seed=3, approve_rules=False)
    with store.read() as tx:
        sql = CaseloadSql("sqlite", DEMO_TODAY)
        where = sql.where(CaseloadFilters(episode_status="open", overdue_only=overdue_only))
        plans = []
        for conditions, _order in sql.arms(SORTS["Most urgent"]):
            stmt = select(func.count()).select_from(t.patient_summaries).where(where, *conditions)
            compiled = stmt.compile(tx.conn, compile_kwargs={"literal_binds": True})
            plans.append(
                " | ".join(row[3] for row in tx.conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}"))
            )
    store.close()
    assert len(plans) == 4 * 2 * 2 * 2
    for plan in plans:
        assert "COVERING INDEX ix_summaries_urgent" in plan, plan
