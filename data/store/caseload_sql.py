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

from sqlalchemy import ColumnElement, and_, exists, false, func, literal_column, or_
from sqlalchemy.sql import operators
from sqlalchemy.sql.expression import UnaryExpression

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
    """The caseload's expressions for one dialect ("sqlite" or "postgresql") and one day, over the
    stored summary rows alone (migration 0015 keeps the patient's and episodes' inputs there)."""

    def __init__(self, dialect: str, today: dt.date) -> None:
        ps = t.patient_summaries
        self.dialect, self.today = dialect, today
        self.base = ps
        self.active: ColumnElement[bool] = ps.c.archived.is_(False)
        # Discharged (§11.1): a discharged episode and none open, as the store copied it.
        self.discharged: ColumnElement[bool] = ps.c.episode_status == "discharged"
        self.is_open: ColumnElement[bool] = ps.c.episode_status == "open"
        self.discharged_this_month: ColumnElement[bool] = and_(
            self.discharged,
            ps.c.discharge_date >= today.replace(day=1),
            ps.c.discharge_date < _first_of_next_month(today),
        )
        # When the open episode began (its referral date, else the current episode's first visit).
        cutoff = today - dt.timedelta(weeks=OPEN_WITHOUT_IMPROVEMENT_WEEKS)
        improved = [
            func.coalesce(ps.c[name], "") == IMPROVED for name in ("pain_change", "odi_change", "walk_change")
        ]
        self.open_long_without_improvement: ColumnElement[bool] = and_(
            self.is_open, ps.c.episode_start < cutoff, ~(improved[0] | improved[1] | improved[2])
        )
        self.has_open_flag: ColumnElement[bool] = ps.c.tier_rank > 0
        self.not_improving: ColumnElement[bool] = ps.c.not_improving.is_(True)
        # The whole caseload's overdue count reads ix_summaries_review (archived, next_review_date).
        self.overdue: ColumnElement[bool] = ps.c.next_review_date < today
        # A page's filter and its order's overdue arms test the date on the index they are read from. On
        # SQLite the term is written `+next_review_date` (a unary plus, a no-op on the value) so that it
        # cannot choose ix_summaries_review: without ANALYZE statistics the planner took that index to count
        # an arm wholly before the page, reading every overdue patient's row (~40 ms an arm at 100,000
        # patients, ~5 arms on page 100) instead of the arm's range of the covering ix_summaries_urgent.
        review: ColumnElement[Any] = ps.c.next_review_date
        if dialect == "sqlite":
            review = UnaryExpression(review, operator=operators.custom_op("+"), type_=review.type)
        self.overdue_on_page: ColumnElement[bool] = review < today
        self.not_overdue: ColumnElement[bool] = or_(review.is_(None), review >= today)

    def where(self, filters: CaseloadFilters) -> ColumnElement[bool]:
        """The patients the filters keep (every filter off: every active patient)."""
        ps, p = t.patient_summaries, t.patients
        parts: list[ColumnElement[bool]] = [self.active]
        if filters.clinician_ids is not None:
            parts.append(ps.c.clinician_id.in_(filters.clinician_ids) if filters.clinician_ids else false())
        if filters.episode_status == "open":
            parts.append(self.is_open)
        elif filters.episode_status == "discharged":
            parts.append(self.discharged)
        for wanted, condition in (
            (filters.open_long_without_improvement_only, self.open_long_without_improvement),
            (filters.discharged_this_month_only, self.discharged_this_month),
            (filters.open_flags_only, self.has_open_flag),
            (filters.not_improving_only, self.not_improving),
            (filters.overdue_only, self.overdue_on_page),
        ):
            if wanted:
                parts.append(condition)
        # Bound parameters with %, _ and the escape character escaped: typed text is never a pattern.
        # The search key is the patient record's (one primary-key probe per candidate).
        words = search_words(filters.search)
        if words:
            found = and_(*(p.c.search_key.contains(word, autoescape=True) for word in words))
            parts.append(exists().where(p.c.id == ps.c.patient_id, found))
        return and_(*parts)

    def _text(self, expr: ColumnElement[Any]) -> ColumnElement[Any]:
        # Code-point order on both backends, as Python sorts: PostgreSQL's default collation is the
        # locale's, SQLite's BINARY already is.
        return expr.collate("C") if self.dialect == "postgresql" else expr

    def _arms(self, key: SortKey, descending: bool) -> list[tuple[list[ColumnElement[bool]], Any]]:
        """One sort key as consecutive arms of the order: (conditions, the column each arm is
        ordered by or None). A key of few values is one arm per value, in order; a column is its
        values in order, then its missing values (missing last on both backends, no NULLS LAST)."""
        ps = t.patient_summaries
        if key == "tier_rank":
            ranks = sorted(set(TIER_ORDER.values()), reverse=descending)
            return [([ps.c.tier_rank == rank], None) for rank in ranks]
        if key == "overdue":
            arms = [([self.overdue_on_page], None), ([self.not_overdue], None)]
            return arms if descending else arms[::-1]
        if key == "not_improving":
            arms = [([ps.c.not_improving.is_(True)], None), ([ps.c.not_improving.is_(False)], None)]
            return arms if descending else arms[::-1]
        column = {
            "last_visit_date": ps.c.last_visit_date,
            "name": ps.c.name_key,
            "patient_ref": ps.c.patient_ref,
            "next_review_date": ps.c.next_review_date,
            "nrs_change": ps.c.nrs_change,
            "latest_odi_percent": ps.c.latest_odi_percent,
        }[key]
        ordered = self._text(column) if key in ("name", "patient_ref") else column
        return [
            ([column.is_not(None)], ordered.desc() if descending else ordered.asc()),
            ([column.is_(None)], None),
        ]

    def arms(
        self, keys: tuple[tuple[SortKey, bool], ...]
    ) -> list[tuple[list[ColumnElement[bool]], list[Any]]]:
        """A SORTS entry as the arms of its order, each a range of one index read in index order:
        (extra conditions, ORDER BY terms ending in the patient id). The page is the arms one after
        the other, so `LIMIT n` reads about n index entries instead of sorting every match."""
        arms: list[tuple[list[ColumnElement[bool]], list[Any]]] = [([], [])]
        for key, descending in keys:
            arms = [
                (conditions + more, order + ([] if term is None else [term]))
                for conditions, order in arms
                for more, term in self._arms(key, descending)
            ]
        last = self._text(t.patient_summaries.c.patient_id).asc()
        return [(conditions, [*order, last]) for conditions, order in arms]
