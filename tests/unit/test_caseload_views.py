"""The Caseload page's choices, counts, columns and download, around the table trends computes."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from dashboard import caseload_views, page_text
from dashboard.caseload_query import SORTS, CaseloadCounts, CaseloadFilters, CaseloadPage
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


def a_page(table: pd.DataFrame, rows: list[str], *, page: int = 1, page_size: int = 50) -> CaseloadPage:
    """A store's answer: these patients of the clinic match, in this order (the whole caseload is 3)."""
    records = {row["patient_id"]: row for row in table.to_dict("records")}
    counts = CaseloadCounts(patients=3, open_flags=1, overdue=0, not_improving=1)
    return CaseloadPage([records[pid] for pid in rows], len(rows), page, page_size, counts)


def test_the_clinician_filter_offers_everyone_then_each_named_clinician_a_to_z() -> None:
    choices = caseload_views.clinician_choices({"Dr Ben": ("u2",), "Dr Ada": ("u1", "u3")})
    assert choices == ["All clinicians", "Dr Ada", "Dr Ben"]


def test_the_page_choices_become_the_filters_the_store_applies() -> None:
    clinicians = {"Dr Ada": ("u1", "u3")}
    checks = (True, False, True)  # open flags only, not improving, overdue
    everyone = caseload_views.filters_of(("All clinicians", "Open episodes", "chlo"), clinicians, checks)
    assert everyone == CaseloadFilters(
        episode_status="open", open_flags_only=True, overdue_only=True, search="chlo"
    )
    ada = caseload_views.filters_of(("Dr Ada", "Discharged", ""), clinicians, checks)
    assert ada.clinician_ids == ("u1", "u3") and ada.episode_status == "discharged"
    gone = caseload_views.filters_of(("Dr Gone", "All patients", ""), clinicians, checks)
    assert gone.clinician_ids == () and gone.episode_status is None  # matches nobody, not everybody


def test_the_page_table_keeps_the_stores_order_not_the_tables_own() -> None:
    table = clinic()
    shown = caseload_views.page_table(a_page(table, ["p3", "p1", "p2"]), TODAY)
    assert shown["patient_id"].tolist() == ["p3", "p1", "p2"]
    assert bool(shown.loc[1, "has_open_flag"]) and not bool(shown.loc[0, "has_open_flag"])


def test_the_counts_cover_the_whole_caseload_whatever_is_shown() -> None:
    page = a_page(clinic(), ["p2"])
    assert caseload_views.counts_caption(page) == (
        "1 of 3 patients · 1 with an open red flag · 0 overdue for review · 1 not improving"
    )


def test_the_paging_caption_says_which_page_and_which_patients() -> None:
    page = CaseloadPage([{}] * 50, 6030, 2, 50, CaseloadCounts(10000, 0, 0, 0))
    assert caseload_views.paging_caption(page) == "Page 2 of 121 · patients 51–100 of 6,030"
    last = CaseloadPage([{}] * 30, 6030, 121, 50, CaseloadCounts(10000, 0, 0, 0))
    assert caseload_views.paging_caption(last) == "Page 121 of 121 · patients 6,001–6,030 of 6,030"


def test_a_search_longer_than_a_search_reads_is_said_not_silently_cut() -> None:
    assert caseload_views.search_note("chloé") is None
    assert "first 200 characters" in (caseload_views.search_note("x" * 5000) or "")


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


def test_every_sort_the_page_offers_has_an_sql_order_and_no_other() -> None:
    assert list(SORTS) == list(page_text.CASELOAD_SORTS)
