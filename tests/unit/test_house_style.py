"""The clinic's house style: dates as patients read them, a document's creation time and line heights."""

from __future__ import annotations

import datetime as dt

from reports.house_style import Layout, creation_datetime, format_date, line_mm


def test_a_date_is_written_day_month_name_year() -> None:
    assert format_date(dt.date(2025, 3, 3)) == "3 March 2025"
    assert format_date(dt.date(2024, 12, 25)) == "25 December 2024"


def test_a_naive_creation_time_is_taken_as_utc_and_an_aware_one_is_kept() -> None:
    naive = dt.datetime(2025, 3, 3, 12, 0)
    assert creation_datetime(naive) == naive.replace(tzinfo=dt.UTC)
    aware = dt.datetime(2025, 3, 3, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert creation_datetime(aware) is aware


def test_no_creation_time_means_now_in_utc() -> None:
    before = dt.datetime.now(dt.UTC)
    created = creation_datetime(None)
    assert created.tzinfo is dt.UTC and before <= created <= dt.datetime.now(dt.UTC)


def test_a_paragraph_line_is_one_and_a_third_times_the_type_size_in_mm() -> None:
    assert line_mm(72) == 25.4 * 1.35
    layout = Layout(side_mm=20, top_mm=16, bottom_mm=24, body_pt=10.5, small_pt=8.5, heading_pt=11.5)
    assert layout.line_mm == line_mm(10.5)
