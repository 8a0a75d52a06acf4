"""The caseload's filters and sort orders as SQL expressions over patients and their stored summaries.

Each filter is the SQL form of one column test of `trends.filter_caseload` on `trends.caseload_table`
(the same stored domain judgements, read, never re-derived); each sort key of
`dashboard.caseload_query.SORTS` maps to one expression here, so nothing outside this allow-list is
ever put in an ORDER BY. User text only ever reaches the database as a bound LIKE pattern with its
wildcards escaped.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    Join,
    String,
    and_,
    case,
    cast,
    exists,
    false,
    func,
    literal,
    literal_column,
    select,
)
from sqlalchemy.sql.elements import UnaryExpression

from dashboard.caseload_query import SEARCH_MAX_CHARS, CaseloadFilters, SortKey
from dashboard.models import TIER_ORDER
from dashboard.trends import OPEN_WITHOUT_IMPROVEMENT_WEEKS
from data import tables as t
from data.store.rows import search_key

# The judge_change label of a clinically important improvement (§7.1): the only one that counts.
IMPROVED = "important_improvement"
# "status = 'open'" written out, not bound: SQLite uses the partial index uq_episodes_open_per_patient
# (WHERE status = 'open') only when the query states that same literal.
EPISODE_IS_OPEN: ColumnElement[bool] = t.episodes.c.status == literal_column("'open'")


def _first_of_next_month(day: dt.date) -> dt.date:
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def search_words(text: str) -> list[str]:
    """The words a caseload search looks for (its first SEARCH_MAX_CHARS characters, folded as the
    stored search key is: no case, no accents)."""
    return search_key(text[:SEARCH_MAX_CHARS]).split()


class CaseloadSql:
    """The caseload's expressions for one dialect ("sqlite" or "postgresql") and one day."""

    def __init__(self, dialect: str, today: dt.date) -> None:
        p, ps, ep = t.patients, t.patient_summaries, t.episodes
        self.dialect, self.today = dialect, today
        self.base: Join = p.outerjoin(ps, ps.c.patient_id == p.c.id)
        self.active: ColumnElement[bool] = p.c.archived.is_(False)
        # Discharged (§11.1): a discharged episode and none open; both are index-only lookups
        # (uq_episodes_open_per_patient, ix_episodes_patient_discharge).
        has_open = exists().where(ep.c.patient_id == p.c.id, EPISODE_IS_OPEN)
        has_discharge = exists().where(ep.c.patient_id == p.c.id, ep.c.discharge_date.is_not(None))
        self.discharged: ColumnElement[bool] = and_(~has_open, has_discharge)
        self.is_open: ColumnElement[bool] = ~self.discharged
        last_discharge = (
            select(func.max(ep.c.discharge_date)).where(ep.c.patient_id == p.c.id).scalar_subquery()
        )
        month = today.replace(day=1)
        self.discharged_this_month: ColumnElement[bool] = and_(
            self.discharged,
            last_discharge >= month,
            last_discharge < _first_of_next_month(today),
        )
        # When the open episode began: its referral date, else the current episode's first visit.
        referral = (
            select(ep.c.data["referral_date"].as_string())
            .where(ep.c.patient_id == p.c.id, EPISODE_IS_OPEN)
            .scalar_subquery()
        )
        cutoff = today - dt.timedelta(weeks=OPEN_WITHOUT_IMPROVEMENT_WEEKS)
        began_before: ColumnElement[bool]
        if dialect == "postgresql":
            began_before = func.coalesce(cast(referral, Date), ps.c.first_visit_date) < cutoff
        else:  # SQLite keeps dates as ISO text, which sorts as the dates do
            began_before = func.coalesce(referral, ps.c.first_visit_date) < literal(cutoff.isoformat())
        improved = [
            func.coalesce(ps.c[name], "") == IMPROVED for name in ("pain_change", "odi_change", "walk_change")
        ]
        self.open_long_without_improvement: ColumnElement[bool] = and_(
            self.is_open, began_before, ~(improved[0] | improved[1] | improved[2])
        )
        flagged = [tier for tier, rank in TIER_ORDER.items() if rank > 0]
        self.open_tier: ColumnElement[Any] = func.coalesce(ps.c.open_tier, "NONE")
        self.has_open_flag: ColumnElement[bool] = self.open_tier.in_(flagged)
        self.not_improving: ColumnElement[bool] = ps.c.not_improving.is_(True)
        self.overdue: ColumnElement[bool] = p.c.next_review_date < today

    def where(self, filters: CaseloadFilters) -> ColumnElement[bool]:
        """The patients the filters keep (every filter off: every active patient)."""
        p = t.patients
        parts: list[ColumnElement[bool]] = [self.active]
        if filters.clinician_ids is not None:
            parts.append(p.c.clinician_id.in_(filters.clinician_ids) if filters.clinician_ids else false())
        if filters.episode_status == "open":
            parts.append(self.is_open)
        elif filters.episode_status == "discharged":
            parts.append(self.discharged)
        for wanted, condition in (
            (filters.open_long_without_improvement_only, self.open_long_without_improvement),
            (filters.discharged_this_month_only, self.discharged_this_month),
            (filters.open_flags_only, self.has_open_flag),
            (filters.not_improving_only, self.not_improving),
            (filters.overdue_only, self.overdue),
        ):
            if wanted:
                parts.append(condition)
        # Bound parameters with %, _ and the escape character escaped: typed text is never a pattern.
        parts.extend(p.c.search_key.contains(word, autoescape=True) for word in search_words(filters.search))
        return and_(*parts)

    def _text(self, expr: ColumnElement[Any]) -> ColumnElement[Any]:
        # Code-point order on both backends, as Python sorts: PostgreSQL's default collation is the
        # locale's, SQLite's BINARY already is.
        return expr.collate("C") if self.dialect == "postgresql" else expr

    def _key(self, key: SortKey) -> ColumnElement[Any]:
        p, ps = t.patients, t.patient_summaries
        given = p.c.data["given_name"].as_string()
        flag = lambda condition: case((condition, 1), else_=0)  # noqa: E731
        keys: dict[str, ColumnElement[Any]] = {
            "tier_rank": case(TIER_ORDER, value=self.open_tier, else_=0),
            "overdue": flag(self.overdue),
            "not_improving": flag(self.not_improving),
            "last_visit_date": ps.c.last_visit_date,
            "name": self._text(given + literal(" ", String) + p.c.data["family_name"].as_string()),
            "patient_ref": self._text(p.c.patient_ref),
            "next_review_date": p.c.next_review_date,
            "nrs_change": case((ps.c.nrs_count > 1, ps.c.latest_nrs - ps.c.first_nrs)),
            "latest_odi_percent": ps.c.latest_odi_percent,
        }
        return keys[key]

    def order_by(self, keys: tuple[tuple[SortKey, bool], ...]) -> list[UnaryExpression[Any]]:
        """ORDER BY terms for a SORTS entry: missing values last, then the patient id (one fixed order)."""
        terms = [
            (self._key(key).desc() if descending else self._key(key).asc()).nulls_last()
            for key, descending in keys
        ]
        return [*terms, self._text(t.patients.c.id).asc()]
