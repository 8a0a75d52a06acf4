"""One page of the caseload, filtered and sorted by the database (issue 24: 100,000 patients).

`CaseloadQuery` says what the page asks for (the filters it offers, an allow-listed sort, the page);
the store answers with `CaseloadPage`: at most `page_size` rows in the shape of `Tx.caseload_rows`,
the number of patients that match, and the whole caseload's counts. The store filters on the stored
domain summaries (dashboard.summaries) and never re-judges a patient in SQL: each filter here is the
same test as `trends.filter_caseload` on `trends.caseload_table`'s columns.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from dashboard.ports import Store, User
from dashboard.service_base import authorize

PAGE_SIZE: Final = 50  # patients a page shows (the table scrolls within itself after 20)
SEARCH_MAX_CHARS: Final = 200  # longer search text is cut here: no name or reference is this long

SortKey = Literal[
    "tier_rank",
    "overdue",
    "not_improving",
    "last_visit_date",
    "name",
    "patient_ref",
    "next_review_date",
    "nrs_change",
    "latest_odi_percent",
]
# Each sort choice of the page (page_text.CASELOAD_SORTS' labels) as (key, descending) pairs; missing
# values always last, then the patient's id so that every page has one fixed order. The store maps
# each key to one SQL expression; nothing else is ever sorted on.
SORTS: Final[dict[str, tuple[tuple[SortKey, bool], ...]]] = {
    "Most urgent": (
        ("tier_rank", True),
        ("overdue", True),
        ("not_improving", True),
        ("last_visit_date", False),
    ),
    "Name": (("name", False),),
    "Patient reference": (("patient_ref", False),),
    "Longest since last visit": (("last_visit_date", False),),
    "Next review date": (("next_review_date", False),),
    "Pain change (least improved first)": (("nrs_change", True),),
    "Latest ODI (highest first)": (("latest_odi_percent", True),),
}
DEFAULT_SORT: Final = "Most urgent"


@dataclass(frozen=True)
class CaseloadFilters:
    """The page's filters; all off (the defaults) is every active patient.

    `clinician_ids` None is every clinician, otherwise patients of those accounts only;
    `episode_status` "open" or "discharged" as in trends.filter_caseload; `search` words must all
    appear in the patient's name or reference (accents and case ignored, as the Patients page)."""

    clinician_ids: tuple[str, ...] | None = None
    episode_status: Literal["open", "discharged"] | None = None
    open_long_without_improvement_only: bool = False
    discharged_this_month_only: bool = False
    open_flags_only: bool = False
    not_improving_only: bool = False
    overdue_only: bool = False
    search: str = ""


@dataclass(frozen=True)
class CaseloadQuery:
    """One page (1-based; past the last page means the last) of the filtered caseload, as of `today`
    (overdue, weeks open and "this month" depend on it), in a SORTS order."""

    today: dt.date
    filters: CaseloadFilters = field(default_factory=CaseloadFilters)
    sort: str = DEFAULT_SORT
    page: int = 1
    page_size: int = PAGE_SIZE

    def __post_init__(self) -> None:
        if self.sort not in SORTS:
            raise ValueError(f"unknown caseload sort {self.sort!r}")
        if self.page_size < 1:
            raise ValueError("page_size must be at least 1")


@dataclass(frozen=True)
class CaseloadCounts:
    """The whole active caseload, whatever the filters: patients, with an open red flag, overdue for
    review (next review date before today), not improving (the stored domain judgement)."""

    patients: int
    open_flags: int
    overdue: int
    not_improving: int


@dataclass(frozen=True)
class CaseloadPage:
    """The rows of one page (Tx.caseload_rows' shape, in order), how many patients match the filters,
    the page actually shown (1-based, within 1..pages) and the whole caseload's counts."""

    rows: list[dict[str, Any]]
    matching: int
    page: int
    page_size: int
    counts: CaseloadCounts

    @property
    def pages(self) -> int:
        """Pages of `page_size` patients needed for every match (1 when nothing matches)."""
        return max(1, math.ceil(self.matching / self.page_size))


def page_in_range(page: int, matching: int, page_size: int) -> int:
    """The 1-based page to show: `page` within 1..the last page of `matching` patients."""
    return min(max(1, page), max(1, math.ceil(matching / page_size)))


def caseload_page(store: Store, actor: User, query: CaseloadQuery) -> CaseloadPage:
    """One page of the caseload for a reader, with each row's clinician's display name ('' if none)."""
    with store.read() as tx:
        authorize(tx, actor, "read")
        page = tx.caseload_page(query)
        names = {u.id: u.display_name for u in tx.users()}
    for row in page.rows:
        row["clinician"] = names.get(row.get("clinician_id") or "", "")
    return page


def caseload_clinicians(store: Store, actor: User) -> dict[str, tuple[str, ...]]:
    """The clinician filter's names (A to Z) with the accounts each stands for: every named clinician
    who has an active patient (two accounts may share a display name)."""
    with store.read() as tx:
        authorize(tx, actor, "read")
        ids = tx.caseload_clinician_ids()
        names = {u.id: u.display_name for u in tx.users()}
    by_name: dict[str, list[str]] = {}
    for clinician_id in ids:
        if name := names.get(clinician_id, ""):
            by_name.setdefault(name, []).append(clinician_id)
    return {name: tuple(sorted(by_name[name])) for name in sorted(by_name)}
