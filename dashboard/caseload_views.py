"""What the Caseload page offers and shows around the table: the filters' choices, the counts, the
columns (their order, headings, widths and help) and the CSV download.

The table's rows come from `trends.caseload_table` and its display values from
`page_text.caseload_view`; nothing here judges a patient.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Final, Literal

import pandas as pd

from dashboard import page_text, trends
from dashboard.downloads import CSV, Download

ALL_CLINICIANS: Final = "All clinicians"
EPISODE_HELP: Final = (
    "No improvement: no clinically important improvement in pain, ODI or walking recorded so far."
)
CSV_DOWNLOAD: Final = Download(
    "Download this table (CSV)",
    CSV,
    help="The filtered table as shown, for the clinic's own use. It holds patient names: store it securely.",
)
ROWS_WITHOUT_SCROLLING: Final = 20  # patients shown before the table scrolls within itself


def clinician_choices(table: pd.DataFrame) -> list[str]:
    """The clinician filter's options: everyone, then each named clinician of the caseload, A to Z."""
    return [ALL_CLINICIANS, *sorted({name for name in table["clinician"].dropna() if name})]


def shown_rows(
    table: pd.DataFrame,
    *,
    clinician: str,
    sort: str,
    episodes: str,
    open_flags_only: bool,
    not_improving_only: bool,
    overdue_only: bool,
) -> pd.DataFrame:
    """The caseload table narrowed by the page's choices (a clinician's name or ALL_CLINICIANS, a
    CASELOAD_EPISODE_VIEWS label, three checkboxes) and sorted by a CASELOAD_SORTS label."""
    filtered = trends.filter_caseload(
        table,
        clinician=None if clinician == ALL_CLINICIANS else clinician,
        open_flags_only=open_flags_only,
        not_improving_only=not_improving_only,
        overdue_only=overdue_only,
        **page_text.CASELOAD_EPISODE_VIEWS[episodes],
    )
    return page_text.sort_caseload(filtered, sort)


def counts_caption(shown: pd.DataFrame, table: pd.DataFrame) -> str:
    """'3 of 8 patients · 2 with an open red flag · 1 overdue for review · 4 not improving' (the counts
    after 'of' cover the whole caseload, whatever the filters)."""
    return (
        f"{len(shown)} of {len(table)} patients · "
        f"{int(table['has_open_flag'].sum())} with an open red flag · "
        f"{int(table['overdue_for_review'].sum())} overdue for review · "
        f"{int(table['not_improving'].sum())} not improving"
    )


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
