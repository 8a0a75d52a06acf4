"""What the Caseload page offers and shows around the table: the filters' choices (as the store's
CaseloadFilters), the counts and paging captions, the columns (their order, headings, widths and
help) and the CSV download.

The store filters, sorts and pages (dashboard.caseload_query); the table's display columns come from
`trends.caseload_table` and its display values from `page_text.caseload_view`; nothing here judges a
patient.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

import pandas as pd

from dashboard import page_text, trends
from dashboard.caseload_query import SEARCH_MAX_CHARS, CaseloadFilters, CaseloadPage
from dashboard.downloads import CSV, Download

ALL_CLINICIANS: Final = "All clinicians"
EPISODE_HELP: Final = (
    "No improvement: no clinically important improvement in pain, ODI or walking recorded so far."
)
CSV_DOWNLOAD: Final = Download(
    "Download this table (CSV)",
    CSV,
    help=(
        "Every patient these filters match (all pages), in this order, for the clinic's own use. "
        "It holds patient names: store it securely."
    ),
)
ROWS_WITHOUT_SCROLLING: Final = 20  # patients shown before the table scrolls within itself


def clinician_choices(clinicians: Mapping[str, object]) -> list[str]:
    """The clinician filter's options: everyone, then each named clinician of the caseload, A to Z."""
    return [ALL_CLINICIANS, *sorted(clinicians)]


def filters_of(
    choice: tuple[str, str, str], clinicians: Mapping[str, tuple[str, ...]], checks: tuple[bool, bool, bool]
) -> CaseloadFilters:
    """The page's choices as the filters the store applies: `choice` is (a clinician's name or
    ALL_CLINICIANS, a CASELOAD_EPISODE_VIEWS label, the search text), `checks` the three checkboxes
    (open flags only, not improving, overdue for review); a name no longer in the caseload matches
    nobody."""
    clinician, episodes, search = choice
    open_flags_only, not_improving_only, overdue_only = checks
    return CaseloadFilters(
        clinician_ids=None if clinician == ALL_CLINICIANS else tuple(clinicians.get(clinician, ())),
        open_flags_only=open_flags_only,
        not_improving_only=not_improving_only,
        overdue_only=overdue_only,
        search=search,
        **page_text.CASELOAD_EPISODE_VIEWS.get(episodes, {}),
    )


def page_table(page: CaseloadPage, today: dt.date) -> pd.DataFrame:
    """The page's rows as `trends.caseload_table` columns, in the order the store sorted them."""
    table = trends.caseload_table(page.rows, today)
    order = {row["patient_id"]: n for n, row in enumerate(page.rows)}
    return table.sort_values("patient_id", key=lambda ids: ids.map(order)).reset_index(drop=True)


def counts_caption(page: CaseloadPage) -> str:
    """'3 of 8 patients · 2 with an open red flag · 1 overdue for review · 4 not improving' (the counts
    after 'of' cover the whole caseload, whatever the filters)."""
    counts = page.counts
    return (
        f"{page.matching:,} of {counts.patients:,} patients · "
        f"{counts.open_flags:,} with an open red flag · "
        f"{counts.overdue:,} overdue for review · "
        f"{counts.not_improving:,} not improving"
    )


def paging_caption(page: CaseloadPage) -> str:
    """'Page 2 of 121 · patients 51–100 of 6,030' (where this page sits among the matches)."""
    first = (page.page - 1) * page.page_size + 1
    last = first + len(page.rows) - 1
    return f"Page {page.page:,} of {page.pages:,} · patients {first:,}–{last:,} of {page.matching:,}"


def search_note(search: str) -> str | None:
    """What the page says when the search text is longer than a search reads (None otherwise)."""
    if len(search) <= SEARCH_MAX_CHARS:
        return None
    return f"The search uses the first {SEARCH_MAX_CHARS} characters of what you typed."


def table_height(n_rows: int) -> int:
    """The table's height in pixels: every row without an inner scroll bar up to ROWS_WITHOUT_SCROLLING
    patients (35 px a row plus the header and its border)."""
    return 35 * (min(n_rows, ROWS_WITHOUT_SCROLLING) + 1) + 3


def csv_file_name(today: dt.date) -> str:
    """'stride-caseload-2026-12-04.csv': the day of the download, no patient data."""
    return f"stride-caseload-{today:%Y-%m-%d}.csv"


@dataclass(frozen=True)
class Column:
    """One shown column: its kind of cell, heading and the rest of its settings (width in pixels,
    number or date format, help on hover), as the page's table widget takes them."""

    kind: Literal["text", "number", "date"]
    label: str
    options: dict[str, Any] = field(default_factory=dict)


def _text(label: str, **options: Any) -> Column:
    return Column("text", label, options)


def _number(label: str, format: str, **options: Any) -> Column:
    return Column("number", label, {"format": format, **options})


def _date(label: str, **options: Any) -> Column:
    return Column("date", label, {"format": "D MMM YYYY", **options})


# What a clinician scans first comes first, in widths that fit 1440 px beside the sidebar (issue 19);
# the walking test, clinician and last-visit date follow for whoever scrolls on.
COLUMNS: Final[dict[str, Column]] = {
    "flag": _text(page_text.CASELOAD_DISPLAY["flag"], width=112),
    # A fixed width: one very long name would otherwise push every other column out of view.
    "name": _text("Name", width=160),
    "patient_ref": _text("Ref", width=98),
    "latest_nrs": _number("Pain", "%.0f", help="NRS 0–10, latest visit", width=52),
    "nrs_change": _text(
        "Change",
        help="Pain: latest minus first NRS, in points (negative: less pain); – with one value so far",
        width=64,
    ),
    "walking_trend": _text(
        "Walking",
        help="Latest against first result of the same protocol and measure, judged against its MCID",
        width=86,
    ),
    "latest_odi_percent": _number("ODI %", "%.1f", width=62),
    "review": _text("Review", width=96),
    "progress": _text(
        "Progress",
        help="Two or more values of pain, ODI or walking, and no clinically important improvement",
        width=134,
    ),
    "episode": _text(
        "Episode", help="Weeks since the open episode began, or the date of discharge", width=132
    ),
    "next_review_date": _date("Next review", width=104),
    "days_since_last_visit": _number("Days since", "%d", width=80),
    "walk_protocol": _text("Walking test"),
    "clinician": _text("Clinician"),
    "last_visit_date": _date("Last visit"),
}
