"""The Caseload page's choices, counts, columns and download, around the table trends computes."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from dashboard import caseload_views, page_text
from dashboard.trends import caseload_row, caseload_table
from tests.factories import make_visit

TODAY = dt.date(2026, 12, 4)


def clinic() -> pd.DataFrame:
    """Three patients: Ada's flagged and stuck, Ben's improving, and one with nobody assigned."""
    stuck = [make_visit(0, pain_nrs=7), make_visit(14, pain_nrs=7)]
    better = [make_visit(0, pain_nrs=7), make_visit(14, pain_nrs=2)]
    rows = [
        caseload_row("p1", "REF-1", "Cy Flag", "Dr Ada", stuck, open_tier="URGENT"),
        caseload_row("p2", "REF-2", "Al Better", "Dr Ben", better),
        caseload_row("p3", "REF-3", "Bo Nobody", None, better),
    ]
    return caseload_table(rows, TODAY)


def shown(
    table: pd.DataFrame,
    clinician: str = caseload_views.ALL_CLINICIANS,
    sort: str = "Name",
    *,
    open_flags_only: bool = False,
    not_improving_only: bool = False,
) -> list[str]:
    """The patient ids the page shows for these choices (every episode, no overdue filter)."""
    rows = caseload_views.shown_rows(
        table,
        clinician=clinician,
        sort=sort,
        episodes="All patients",
        open_flags_only=open_flags_only,
        not_improving_only=not_improving_only,
        overdue_only=False,
    )
    return rows["patient_id"].tolist()


def test_the_clinician_filter_offers_everyone_then_each_named_clinician_a_to_z() -> None:
    assert caseload_views.clinician_choices(clinic()) == ["All clinicians", "Dr Ada", "Dr Ben"]


def test_the_shown_rows_follow_the_chosen_filters_and_sort() -> None:
    table = clinic()
    assert shown(table) == ["p2", "p3", "p1"]  # by name: Al, Bo, Cy
    assert shown(table, clinician="Dr Ada") == ["p1"]
    assert shown(table, open_flags_only=True) == ["p1"]
    assert shown(table, not_improving_only=True) == ["p1"]
    assert shown(table, sort="Most urgent")[0] == "p1"


def test_the_counts_cover_the_whole_caseload_whatever_is_shown() -> None:
    table = clinic()
    narrowed = table[table["patient_id"] == "p2"]
    assert caseload_views.counts_caption(narrowed, table) == (
        "1 of 3 patients · 1 with an open red flag · 0 overdue for review · 1 not improving"
    )


def test_the_table_grows_with_its_rows_up_to_twenty_then_scrolls_within() -> None:
    assert caseload_views.table_height(3) == 35 * 4 + 3
    assert caseload_views.table_height(20) == caseload_views.table_height(500) == 35 * 21 + 3


def test_every_shown_column_is_in_the_display_table_flag_name_and_pain_first() -> None:
    view = page_text.caseload_view(clinic())
    assert set(caseload_views.COLUMNS) <= set(view.columns)
    assert list(caseload_views.COLUMNS)[:4] == ["flag", "name", "patient_ref", "latest_nrs"]
    assert caseload_views.COLUMNS["latest_nrs"].options == {
        "format": "%.0f",
        "help": "NRS 0–10, latest visit",
        "width": 52,
    }


def test_the_download_is_named_by_the_day_and_warns_that_it_holds_names() -> None:
    args = caseload_views.CSV_DOWNLOAD.button("caseload_csv", caseload_views.csv_file_name(TODAY))
    assert args["file_name"] == "stride-caseload-2026-12-04.csv"
    assert "patient names" in args["help"] and args["mime"] == "text/csv"
