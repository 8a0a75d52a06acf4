"""Transaction methods for the caseload: the stored patient summaries (computed by
dashboard.summaries), the caseload rows read from them, and one page of them filtered, sorted and
counted in SQL (data.store.caseload_sql; the _Caseload part of SqlTx)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, and_, delete, func, insert, select, update

from dashboard.caseload_query import SORTS, CaseloadCounts, CaseloadPage, CaseloadQuery, page_in_range
from dashboard.models import TIER_ORDER, Visit
from dashboard.summaries import (
    STORED_FIELDS,
    SUMMARY_VERSION,
    SUMMARY_VISIT_FIELDS,
    patient_summary,
    summary_visit,
)
from data import tables as t
from data.store.caseload_sql import EPISODE_IS_OPEN, CaseloadSql
from data.store.rows import _as_date
from data.store.tx_base import _TxBase


class _Caseload(_TxBase):
    """The caseload summaries and rows."""

    # --- caseload ------------------------------------------------------------------------------
    def _summaries(self, patient_ids: list[str] | None) -> list[dict[str, Any]]:
        """The domain's summary of each patient (all patients, or the given ones), as stored rows.

        Two reads (visits, open escalations); the judgements are dashboard.summaries', never SQL's.
        """
        v, e = t.visits, t.escalations
        live: ColumnElement[bool] = v.c.archived.is_(False)
        open_live: ColumnElement[bool] = (e.c.status == "open") & e.c.archived.is_(False)
        if patient_ids is not None:
            live = live & v.c.patient_id.in_(patient_ids)
            open_live = open_live & e.c.patient_id.in_(patient_ids)
            ids = list(dict.fromkeys(patient_ids))
        else:
            ids = list(self.conn.execute(select(t.patients.c.id)).scalars())
        visits: dict[str, list[Visit]] = {}
        open_episodes: set[str] = set()
        # Only the payload keys a summary reads, extracted by the database: no whole payload is decoded.
        walk_keys = [
            key for key in SUMMARY_VISIT_FIELDS if key.startswith("walk_") and key != "walk_protocol"
        ]
        payload = [
            v.c.data["odi_sections"].label("odi_sections"),
            *(v.c.data[key].as_float().label(key) for key in walk_keys if key != "walk_stop_reason"),
            v.c.data["walk_stop_reason"].as_string().label("walk_stop_reason"),
        ]
        stmt = select(
            v.c.patient_id, v.c.visit_date, v.c.recorded_at, v.c.pain_nrs, v.c.walk_protocol, *payload
        ).where(live)
        # The current episode's visits only (the open one, else the latest), as screening reads them
        # (dashboard.services.current_episode_visits, §11.1): a re-referral starts a new baseline.
        ep = t.episodes
        episode_stmt = select(ep.c.patient_id, ep.c.id, ep.c.status).order_by(ep.c.recorded_at, ep.c.id)
        if patient_ids is not None:
            episode_stmt = episode_stmt.where(ep.c.patient_id.in_(patient_ids))
        current: dict[str, str] = {}
        for pid, episode_id, status in self.conn.execute(episode_stmt):
            if current.get(pid) not in open_episodes:
                current[pid] = episode_id
            if status == "open":
                open_episodes.add(episode_id)
        stmt = stmt.add_columns(v.c.episode_id)
        for row in self.conn.execute(stmt):
            if row.episode_id is not None and row.episode_id != current.get(row.patient_id, row.episode_id):
                continue
            values = row._mapping
            visits.setdefault(row.patient_id, []).append(
                summary_visit(row.visit_date, row.recorded_at, values)
            )
        tiers: dict[str, str] = {}
        for pid, tier in self.conn.execute(select(e.c.patient_id, e.c.tier).where(open_live)):
            if TIER_ORDER.get(tier, 0) > TIER_ORDER[tiers.get(pid, "NONE")]:
                tiers[pid] = tier
        known = (
            set(ids)
            if patient_ids is None
            else set(self.conn.execute(select(t.patients.c.id).where(t.patients.c.id.in_(ids))).scalars())
        )
        return [
            patient_summary(pid, visits.get(pid, ()), open_tier=tiers.get(pid, "NONE")).stored()
            for pid in ids
            if pid in known
        ]

    def _caseload_inputs(self, patient_ids: list[str] | None) -> dict[str, dict[str, Any]]:
        """The caseload's filter and sort inputs from each patient's record and episodes (every
        patient, or the given ones): what the stored summary row keeps beside the domain summary."""
        p, ep = t.patients, t.episodes
        people = select(
            p.c.id,
            p.c.archived,
            p.c.clinician_id,
            p.c.next_review_date,
            p.c.patient_ref,
            p.c.data["given_name"].as_string().label("given_name"),
            p.c.data["family_name"].as_string().label("family_name"),
        )
        episodes = select(
            ep.c.patient_id,
            ep.c.status,
            ep.c.discharge_date,
            ep.c.data["referral_date"].as_string().label("referral_date"),
        )
        if patient_ids is not None:
            people = people.where(p.c.id.in_(patient_ids))
            episodes = episodes.where(ep.c.patient_id.in_(patient_ids))
        open_referral: dict[str, dt.date | None] = {}
        last_discharge: dict[str, dt.date] = {}
        for row in self.conn.execute(episodes):
            if row.status == "open":
                open_referral[row.patient_id] = _as_date(row.referral_date)
            elif (day := _as_date(row.discharge_date)) is not None:
                last_discharge[row.patient_id] = max(day, last_discharge.get(row.patient_id, day))
        inputs: dict[str, dict[str, Any]] = {}
        for row in self.conn.execute(people):
            discharged = row.id not in open_referral and row.id in last_discharge
            inputs[row.id] = {
                "archived": bool(row.archived),
                "clinician_id": row.clinician_id,
                "next_review_date": _as_date(row.next_review_date),
                "patient_ref": row.patient_ref,
                "name_key": f"{row.given_name} {row.family_name}",
                "episode_status": "discharged" if discharged else "open",
                "open_referral": None if discharged else open_referral.get(row.id),
                "discharge_date": last_discharge[row.id] if discharged else None,
            }
        return inputs

    def _with_inputs(self, summary: dict[str, Any], inputs: dict[str, Any]) -> dict[str, Any]:
        """A stored summary row with its caseload inputs (the episode's start and the sort keys that
        are the summary's own values, derived here once)."""
        values = {key: value for key, value in inputs.items() if key != "open_referral"}
        discharged = inputs["episode_status"] == "discharged"
        values["episode_start"] = (
            None if discharged else (inputs["open_referral"] or _as_date(summary["first_visit_date"]))
        )
        values["tier_rank"] = TIER_ORDER.get(summary["open_tier"] or "NONE", 0)
        values["nrs_change"] = (
            summary["latest_nrs"] - summary["first_nrs"] if (summary["nrs_count"] or 0) > 1 else None
        )
        return {**summary, **values}

    def refresh_caseload_inputs(self, patient_ids: list[str]) -> None:
        """Copy the patients' record and episode facts into their stored summary rows (a patient edit,
        archive or restore, reassignment, a new review date): the summary itself is unchanged."""
        ps = t.patient_summaries
        inputs = self._caseload_inputs(patient_ids)
        stored = self.conn.execute(
            select(ps.c.patient_id, ps.c.first_visit_date, ps.c.open_tier, ps.c.latest_nrs)
            .add_columns(ps.c.first_nrs, ps.c.nrs_count)
            .where(ps.c.patient_id.in_(list(inputs)))
        )
        for row in stored:
            values = self._with_inputs(dict(row._mapping), inputs[row.patient_id])
            del values["patient_id"]
            self.conn.execute(update(ps).where(ps.c.patient_id == row.patient_id).values(**values))

    def refresh_summaries(self, patient_ids: list[str] | None = None) -> None:
        """Recompute the caseload summaries of some patients (None: every patient) in this transaction,
        with the caseload's inputs from their records and episodes."""
        inputs = self._caseload_inputs(patient_ids)
        rows = [
            self._with_inputs(row, inputs[row["patient_id"]])
            for row in self._summaries(patient_ids)
            if row["patient_id"] in inputs
        ]
        if patient_ids is None:
            self.conn.execute(delete(t.patient_summaries))
        else:
            self.conn.execute(
                delete(t.patient_summaries).where(t.patient_summaries.c.patient_id.in_(patient_ids))
            )
        for chunk in (rows[i : i + 2000] for i in range(0, len(rows), 2000)):
            self.conn.execute(insert(t.patient_summaries), chunk)
        if patient_ids is None:
            self.set_meta("summary_version", SUMMARY_VERSION)

    def caseload_rows(self) -> list[dict[str, Any]]:
        """One row per active patient: details joined to the stored summaries (one indexed read)."""
        return [_caseload_row(row) for row in self.conn.execute(_caseload_select())]

    def caseload_clinician_ids(self) -> list[str]:
        """The accounts that have at least one active patient (the clinician filter's choices)."""
        p = t.patients
        stmt = select(p.c.clinician_id).where(p.c.archived.is_(False), p.c.clinician_id.is_not(None))
        return [str(cid) for cid in self.conn.execute(stmt.distinct()).scalars()]

    def caseload_page(self, query: CaseloadQuery) -> CaseloadPage:
        """One page of the caseload, filtered, counted and sorted in SQL (bound parameters only, sorted
        by allow-listed expressions), then the page's rows read in full: the same rows, in the same
        shape, as `caseload_rows` gives for those patients."""
        sql = CaseloadSql(self.conn.dialect.name, query.today)
        where = sql.where(query.filters)

        # Every match, counted from one index (the summaries' own, index-only when no filter is on).
        count = select(func.count()).select_from(sql.base).where(where)
        matching = int(self.conn.execute(count).scalar_one())
        page = page_in_range(max(1, query.page), matching, query.page_size)
        ids = self._page_ids(sql, where, SORTS[query.sort], (page - 1) * query.page_size, query.page_size)
        by_id = {
            row["patient_id"]: row for row in map(_caseload_row, self.conn.execute(_caseload_select(ids)))
        }
        return CaseloadPage(
            rows=[by_id[pid] for pid in ids if pid in by_id],
            matching=matching,
            page=page,
            page_size=query.page_size,
            counts=self._caseload_counts(sql),
        )

    def _page_ids(
        self, sql: CaseloadSql, where: ColumnElement[bool], keys: Any, skip: int, size: int
    ) -> list[str]:
        """The ids of one page: the sort's arms read one after the other, each in its index's order,
        until the page is full; an arm wholly before the page is counted (index entries), not read."""
        ps = t.patient_summaries
        ids: list[str] = []
        for conditions, order in sql.arms(keys):
            arm = and_(where, *conditions)
            if skip:
                in_arm = int(self.conn.execute(select(func.count()).select_from(ps).where(arm)).scalar_one())
                if in_arm <= skip:
                    skip -= in_arm
                    continue
            stmt = select(ps.c.patient_id).where(arm).order_by(*order).limit(size - len(ids)).offset(skip)
            ids.extend(self.conn.execute(stmt).scalars())
            skip = 0
            if len(ids) >= size:
                break
        return ids

    def _caseload_counts(self, sql: CaseloadSql) -> CaseloadCounts:
        """The whole active caseload's counts, each from one index of the summary rows alone
        (index-only: ix_summaries_urgent, ix_summaries_review)."""
        ps = t.patient_summaries

        def active_count(*conditions: ColumnElement[bool]) -> ColumnElement[Any]:
            return select(func.count()).select_from(ps).where(sql.active, *conditions).scalar_subquery()

        row = self.conn.execute(
            select(
                active_count(),
                active_count(sql.has_open_flag),
                active_count(sql.overdue),
                active_count(sql.not_improving),
            )
        ).one()
        return CaseloadCounts(*(int(value) for value in row))


def _caseload_select(patient_ids: list[str] | None = None) -> Select[Any]:
    """The caseload's row of every active patient (or of the given ones): details, stored summary,
    and the episode facts (open or discharged, when the open one began, the last discharge)."""
    p, ps, ep = t.patients, t.patient_summaries, t.episodes
    # Discharged: a discharged episode and none open (one indexed lookup each, §11.1). When the
    # open episode began is its referral date, else its first visit (the stored summary's, which
    # is of the current episode): the caseload's "open > 12 weeks" and "discharged this month".
    is_open = (ep.c.patient_id == p.c.id) & EPISODE_IS_OPEN
    has_open = select(ep.c.id).where(is_open).exists()
    open_referral = select(ep.c.data["referral_date"].as_string()).where(is_open).scalar_subquery()
    last_discharge = select(func.max(ep.c.discharge_date)).where(ep.c.patient_id == p.c.id).scalar_subquery()
    stmt = select(
        p.c.id,
        p.c.patient_ref,
        # The two name fields, not the whole payload: no patient JSON is decoded in Python
        # (JSON_EXTRACT on SQLite, ->> on PostgreSQL).
        p.c.data["given_name"].as_string().label("given_name"),
        p.c.data["family_name"].as_string().label("family_name"),
        p.c.clinician_id,
        p.c.next_review_date,
        ps.c.patient_id.label("summary_of"),
        *(ps.c[name] for name in STORED_FIELDS if name != "patient_id"),
        has_open.label("has_open_episode"),
        open_referral.label("open_referral_date"),
        last_discharge.label("last_discharge_date"),
    ).select_from(p.outerjoin(ps, ps.c.patient_id == p.c.id))
    if patient_ids is None:
        return stmt.where(p.c.archived.is_(False))
    # The ids come from a filtered read of the same transaction: one primary-key lookup each.
    return stmt.where(p.c.id.in_(patient_ids))


def _caseload_row(row: Row[Any]) -> dict[str, Any]:
    """A caseload row as services and trends.caseload_table read it (no summary yet: the domain's
    summary of no visits)."""
    if row.summary_of is None:
        summary = patient_summary(row.id, ()).stored()
    else:
        summary = dict(zip(STORED_FIELDS, row[6 : 6 + len(STORED_FIELDS)], strict=True))
    n_visits = summary["n_visits"] or 0
    discharged = not row.has_open_episode and row.last_discharge_date is not None
    return {
        **summary,
        "patient_id": row.id,
        "patient_ref": row.patient_ref,
        "name": f"{row.given_name} {row.family_name}",
        "clinician_id": row.clinician_id,
        "next_review_date": row.next_review_date,
        "n_visits": n_visits,
        "visit_count": n_visits,
        "open_tier": summary["open_tier"] or "NONE",
        "episode_status": "discharged" if discharged else "open",
        "episode_start": None
        if discharged
        else (_as_date(row.open_referral_date) or _as_date(summary["first_visit_date"])),
        "discharge_date": _as_date(row.last_discharge_date) if discharged else None,
    }
