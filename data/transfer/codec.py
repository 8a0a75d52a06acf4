"""The cell codec of the clinic export: one text form per value kind, read back strictly.

Kinds are str, int, float, bool, date and timestamp (UTC, microseconds, a Z). Text cells go through
dashboard.safe_text.csv_cell (a spreadsheet shows =, +, -, @ at the start as text) and back. Parse
errors never include the value. Also here: the JSON and CSV byte forms (sorted, indented, one line
ending) that make archives of the same data byte-identical, and the JSON nesting check.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import re
import types
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from dashboard.models import BOOKKEEPING_FIELDS
from dashboard.safe_text import csv_cell

# Our JSON is at most 6 levels deep (a revision's before/after of a visit with its PSFS entries):
# anything far deeper is hostile, and would reach Python's recursion limit further on.
MAX_JSON_DEPTH = 32


def utc(value: dt.datetime) -> dt.datetime:
    """The same instant in UTC (a naive value, as SQLite returns it, is UTC)."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def format_timestamp(value: dt.datetime) -> str:
    """UTC ISO 8601 with microseconds and a Z: the one timestamp format of the export."""
    return utc(value).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z")
_INT = re.compile(r"[-+]?\d{1,18}")
_FLOAT = re.compile(r"[-+]?\d+(\.\d+)?([eE][-+]?\d+)?")


class CellError(ValueError):
    """A value that cannot be read as its field's type (the message never includes the value)."""


def parse_date(raw: str) -> dt.date:
    """A YYYY-MM-DD cell as a date; CellError otherwise."""
    if not _DATE.fullmatch(raw):
        raise CellError("must be a date in the form YYYY-MM-DD")
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise CellError("is not a valid calendar date") from None


def parse_timestamp(raw: str) -> dt.datetime:
    """An export timestamp cell as an aware UTC datetime; CellError otherwise."""
    if not _TIMESTAMP.fullmatch(raw):
        raise CellError("must be a UTC timestamp in the form YYYY-MM-DDTHH:MM:SS.ffffffZ")
    try:
        return dt.datetime.fromisoformat(raw[:-1]).replace(tzinfo=dt.UTC)
    except ValueError:
        raise CellError("is not a valid timestamp") from None


def parse_cell(raw: str, kind: str) -> Any:
    """A non-empty cell read as `kind`; CellError (without the value) when it is not one."""
    if kind == "str":
        return raw
    if kind == "date":
        return parse_date(raw)
    if kind == "timestamp":
        return parse_timestamp(raw)
    if kind == "bool":
        if raw not in ("true", "false"):
            raise CellError("must be true or false")
        return raw == "true"
    if kind == "int":
        if not _INT.fullmatch(raw):
            raise CellError("must be a whole number")
        return int(raw)
    if kind == "float":
        if not _FLOAT.fullmatch(raw) or not math.isfinite(float(raw)):
            raise CellError("must be a number")
        return float(raw)
    raise AssertionError(kind)


def format_cell(value: Any, kind: str) -> str:
    """A value as its cell text (None is the empty cell; text is made formula-safe)."""
    if value is None:
        return ""
    if kind == "bool":
        return "true" if value else "false"
    if kind == "timestamp":
        return format_timestamp(value)  # naive values (SQLite) are UTC
    if kind == "date":
        return str(value.isoformat())
    if kind == "float":
        return repr(float(value))
    if kind == "int":
        return str(int(value))
    return csv_cell(str(value))  # text: a spreadsheet must not run it as a formula


def field_kind(annotation: Any) -> str:
    """The CSV kind of a model field: str, int, float, bool, date, timestamp, or nested."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return field_kind(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        inner = [a for a in get_args(annotation) if a is not type(None)]
        return field_kind(inner[0]) if len(inner) == 1 else "str"
    if origin is Literal:
        return "str"
    if origin in (list, dict, set, tuple):
        return "nested"
    for python_type, kind in (
        (bool, "bool"),
        (int, "int"),
        (float, "float"),
        (dt.datetime, "timestamp"),
        (dt.date, "date"),
        (str, "str"),
    ):
        if annotation is python_type:
            return kind
    raise TypeError(f"no CSV kind for {annotation!r}")


def is_nullable(annotation: Any) -> bool:
    """Whether a model field annotation allows None."""
    return get_origin(annotation) in (Union, types.UnionType) and type(None) in get_args(annotation)


@dataclass(frozen=True)
class Column:
    """One column of an exported table: its kind, whether it may be left out, and how None is read."""

    name: str
    kind: str
    required: bool = False
    nullable: bool = True
    max_len: int | None = None


def model_columns(model: Any, *, exclude: Iterable[str] = ()) -> list[Column]:
    """The scalar fields of a model as export columns, bookkeeping first."""
    skip = set(exclude)
    out = []
    for name, info in model.model_fields.items():
        kind = field_kind(info.annotation)
        if name in skip or kind == "nested":
            continue
        if name == "id":
            out.append(Column("id", "str", True, False, 36))
            continue
        max_len = 36 if name.endswith(("_id", "_by")) else None
        out.append(Column(name, kind, info.is_required(), is_nullable(info.annotation), max_len))
    # Bookkeeping first, in the data dictionary's order, then the record's own fields.
    out.sort(key=lambda c: BOOKKEEPING_FIELDS.index(c.name) if c.name in BOOKKEEPING_FIELDS else 99)
    return out


def ts_key(value: dt.datetime | None) -> dt.datetime:
    """A sort key for an optional timestamp (None first)."""
    return utc(value or dt.datetime.min)


def item_order(item: str) -> tuple[int, str]:
    """Item codes in numeric order (q2 before q10)."""
    return (int(item[1:]), item) if item[1:].isdigit() else (999, item)


def json_bytes(value: Any) -> bytes:
    """A value as the export's JSON: sorted keys, indented, UTF-8, one final newline."""
    return (json.dumps(value, ensure_ascii=False, sort_keys=True, indent=2) + "\n").encode("utf-8")


def csv_bytes(columns: list[str], rows: Iterable[list[str]]) -> tuple[bytes, int]:
    """A header and rows as the export's CSV bytes, with the number of rows."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    count = 0
    for row in rows:
        writer.writerow(row)
        count += 1
    return buffer.getvalue().encode("utf-8"), count


def records_csv(columns: list[Column], records: Iterable[Any]) -> tuple[bytes, int]:
    """Records (rows or models) as the export's CSV bytes, one cell per column formatted by its kind."""
    return csv_bytes(
        [c.name for c in columns],
        ([format_cell(getattr(r, c.name), c.kind) for c in columns] for r in records),
    )


def json_depth(value: Any) -> int:
    """How deeply lists and objects nest in a parsed JSON value (iterative: no recursion limit)."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            if depth <= MAX_JSON_DEPTH:
                children = item.values() if isinstance(item, dict) else item
                stack.extend((v, depth + 1) for v in children if isinstance(v, dict | list))
    return deepest
