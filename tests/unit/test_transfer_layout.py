"""The export's JSON record keys read from the store's tables, and records written as CSV."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import JSON, Boolean, Column, DateTime, Integer, LargeBinary, MetaData, String, Table, Text

from data.transfer.codec import Column as ExportColumn
from data.transfer.codec import records_csv
from data.transfer.layout import LETTER_KEYS, table_keys

SAMPLE = Table(
    "sample",
    MetaData(),
    Column("id", String(36), primary_key=True),
    Column("note", Text, nullable=False),
    Column("count", Integer, nullable=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("done", Boolean, nullable=False),
    Column("payload", JSON, nullable=True),
    Column("pdf", LargeBinary, nullable=False),
)


def test_every_column_is_a_required_key_nullable_and_as_long_as_the_table_says() -> None:
    assert table_keys(SAMPLE) == [
        ExportColumn("id", "str", True, False, 36),
        ExportColumn("note", "str", True, False, None),
        ExportColumn("count", "int", True, True, None),
        ExportColumn("at", "timestamp", True, False, None),
        ExportColumn("done", "bool", True, False, None),
        ExportColumn("payload", "json", True, True, None),
        ExportColumn("pdf", "str", True, False, None),  # the PDF's member name in the archive
    ]


def test_columns_left_out_are_not_keys() -> None:
    assert [c.name for c in table_keys(SAMPLE, leave_out=("pdf", "payload"))] == [
        "id",
        "note",
        "count",
        "at",
        "done",
    ]


def test_a_letter_record_holds_its_content_and_closed_escalations_instead_of_the_stored_payload() -> None:
    names = [c.name for c in LETTER_KEYS]
    assert "data" not in names
    assert names[-2:] == ["content", "escalation_ids"]


@dataclass
class _Record:
    name: str
    visits: int


def test_records_are_written_as_csv_one_cell_per_column_by_its_kind() -> None:
    columns = [ExportColumn("name", "str"), ExportColumn("visits", "int")]
    data, rows = records_csv(columns, [_Record("=Ann", 3), _Record("Bo", 0)])
    assert rows == 2
    assert data.decode("utf-8").splitlines()[0] == "name,visits"
    assert data.decode("utf-8").splitlines()[2] == "Bo,0"
