"""The layout of the clinic export: its files, their columns and keys, and the manifest.

Scalar fields come from the models (patients.csv, visits.csv). Each nested visit field has a child
table: the instruments' layout (file, item and answer columns, allowed answers) is read from the
catalogue (dashboard.catalogue.INSTRUMENTS[...].export), the findings sets are one column each.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, get_args

from pydantic import BaseModel
from sqlalchemy import JSON, Boolean, Date, DateTime, Float, Integer, LargeBinary, String, Table

from dashboard.catalogue import INSTRUMENTS, Instrument
from dashboard.models import BOOKKEEPING_FIELDS, Patient, Visit
from data import tables
from data.transfer.codec import Column, field_kind, is_nullable, model_columns

FORMAT_NAME = "stride-clinic-export"
# Version 2: text cells go through dashboard.safe_text.csv_cell (a leading =, +, -, @, tab, CR or '
# gets an apostrophe) and manifest.sig signs the manifest. Version 1 files are still read (cells as
# they are); being unsigned, they import only as from another clinic.
FORMAT_VERSION = 2
READABLE_FORMAT_VERSIONS = (1, 2)
SUBJECT_ACCESS_VERSION = 1
SUBJECT_ACCESS_FORMAT = "stride-subject-access"
MANIFEST_NAME = "manifest.json"
# The clinic key's HMAC of manifest.json (which holds every other file's SHA-256).
SIGNATURE_NAME = "manifest.sig"
HANDOUT_PDF = re.compile(r"handouts/([0-9A-Za-z-]{1,36})\.pdf")
LETTER_PDF = re.compile(r"letters/([0-9A-Za-z-]{1,36})\.pdf")
# Any PDF member of an export: a handout or a letter, each named by its row's id.
PDF_MEMBER = re.compile(r"(?:handouts|letters)/([0-9A-Za-z-]{1,36})\.pdf")
# Stored for accounts imported without their password hash: argon2 rejects it, so nobody can log in
# with it; an admin sets a new password.
UNUSABLE_PASSWORD = "!imported-without-password"
REFUSED_NOT_EMPTY = "importing into a clinic that holds data is refused in this version"
MAX_ERRORS = 1000
# A fixed zip timestamp keeps archives of the same data byte-identical.
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)

Progress = Callable[[float], None] | None

PATIENT_COLUMNS = model_columns(Patient)
VISIT_COLUMNS = model_columns(Visit)
VISIT_COLUMNS = [
    c if c.name != "patient_id" else Column("patient_id", "str", True, False, 36) for c in VISIT_COLUMNS
]
USER_COLUMNS = [
    Column("id", "str", True, False, 36),
    Column("version", "int", nullable=False),
    Column("recorded_at", "timestamp", nullable=False),
    Column("updated_at", "timestamp", nullable=False),
    Column("recorded_by", "str", max_len=36),
    Column("updated_by", "str", max_len=36),
    Column("archived", "bool", nullable=False),
    Column("username", "str", True, False, 64),
    Column("display_name", "str", True, False, 200),
    Column("role", "str", True, False, 16),
    Column("active", "bool", nullable=False),
    Column("failed_logins", "int", nullable=False),
    Column("locked_until", "timestamp"),
]
PASSWORD_COLUMN = Column("password_hash", "str")
_VISIT_ID = Column("visit_id", "str", True, False, 36)


@dataclass(frozen=True)
class ChildTable:
    """One child table of a nested visit field: file, Visit field, columns, and how its items are keyed."""

    file: str
    visit_field: str
    columns: list[Column]  # visit_id, the item, any further item fields, the answer
    item_column: str
    answer_column: str  # the item column itself for a findings set
    extra_columns: tuple[str, ...] = ()  # further fields of an item object (PSFS: activity)
    instrument: Instrument | None = None  # None: a findings set (no answers to check)
    positional: bool = False  # items are 1-based positions of a list (else codes or set members)
    complete: bool = False  # every position 1..item_count must be present (else 1..n without gaps)


def _item_type(visit_field: str) -> Any:
    """The type of one item of a nested Visit field (list[X] | None or dict[str, X] | None)."""
    annotation = Visit.model_fields[visit_field].annotation
    inner = next(a for a in get_args(annotation) if a is not type(None))
    return get_args(inner)[-1]


def _instrument_table(entry: Instrument) -> ChildTable:
    layout = entry.export
    assert layout is not None
    item = answer = _item_type(entry.visit_field)
    extras: list[Column] = []
    if isinstance(item, type) and issubclass(item, BaseModel):  # an object per item (PSFS)
        answer = item.model_fields[layout.answer_column].annotation
        extras = [
            Column(name, field_kind(info.annotation), True, is_nullable(info.annotation))
            for name, info in item.model_fields.items()
            if name != layout.answer_column
        ]
    positional = layout.item_kind == "int"
    lengths = Visit.model_fields[entry.visit_field].metadata
    return ChildTable(
        file=layout.file,
        visit_field=entry.visit_field,
        columns=[
            _VISIT_ID,
            Column(layout.item_column, layout.item_kind, True, False),
            *extras,
            Column(layout.answer_column, layout.answer_kind, True, is_nullable(answer)),
        ],
        item_column=layout.item_column,
        answer_column=layout.answer_column,
        extra_columns=tuple(c.name for c in extras),
        instrument=entry,
        positional=positional,
        complete=positional and any(getattr(m, "min_length", None) == entry.item_count for m in lengths),
    )


def _findings_table(visit_field: str) -> ChildTable:
    return ChildTable(
        file=f"{visit_field}.csv",
        visit_field=visit_field,
        columns=[_VISIT_ID, Column("finding", "str", True, False)],
        item_column="finding",
        answer_column="finding",
    )


# Child tables of the nested visit fields, by file: the catalogue's instruments, then the findings.
CHILD_TABLES: dict[str, ChildTable] = {
    table.file: table
    for table in (
        *(_instrument_table(entry) for entry in INSTRUMENTS.values() if entry.export is not None),
        _findings_table("posture_findings"),
        _findings_table("footwear_findings"),
    )
}
CHILD_COLUMNS: dict[str, list[Column]] = {name: table.columns for name, table in CHILD_TABLES.items()}
CHILD_FIELD: dict[str, str] = {name: table.visit_field for name, table in CHILD_TABLES.items()}

# Every data file of the export, in the order they are written and imported.
DATA_FILES: tuple[str, ...] = (
    "meta.json",
    "users.csv",
    "patients.csv",
    "visits.csv",
    *CHILD_TABLES,
    "revisions.json",
    "screenings.json",
    "escalations.json",
    "handouts.json",
    "audit.json",
)

# Files an archive may hold: episodes.json came with episodes of care (migration 0009); an older archive
# without it imports with one open episode per patient, as the migration made them. letters.json (with
# the PDFs as letters/<id>.pdf) came with letters (migration 0010); an older archive has none. The
# patient's own voice (invites.json, patient_reports.json, diary_entries.json) came with migration 0012.
# Each with its table and the time its rows are ordered by (after the patient's place in patients.csv).
PATIENT_REPORTED_TABLES: dict[str, tuple[Table, str]] = {
    "invites.json": (tables.invites, "created_at"),
    "patient_reports.json": (tables.patient_reports, "submitted_at"),
    "diary_entries.json": (tables.diary_entries, "recorded_at"),
}
PATIENT_REPORTED_FILES: tuple[str, ...] = tuple(PATIENT_REPORTED_TABLES)
OPTIONAL_DATA_FILES: tuple[str, ...] = ("episodes.json", "letters.json", *PATIENT_REPORTED_FILES)

# A stored column's kind in a JSON record (kind "json" = object or null); a PDF is named by its member.
_JSON_KINDS = (
    (Boolean, "bool"),
    (Integer, "int"),
    (DateTime, "timestamp"),
    (Date, "date"),
    (Float, "float"),
    (JSON, "json"),
    (String, "str"),  # Text too: it is a String without a length
    (LargeBinary, "str"),
)


def table_keys(table: Table, *, leave_out: tuple[str, ...] = ()) -> list[Column]:
    """The keys of a JSON record file as the store's table has them: every one present, None only where
    the column takes NULL, text no longer than the column (data.tables is the one description)."""
    return [
        Column(
            c.name,
            next(kind for sql_type, kind in _JSON_KINDS if isinstance(c.type, sql_type)),
            True,
            bool(c.nullable),
            getattr(c.type, "length", None),
        )
        for c in table.columns
        if c.name not in leave_out
    ]


# JSON record files: the keys each object holds (kind "json" = object or null, "any" = the model checks it).
BOOKKEEPING_KEYS = [c for c in table_keys(tables.handouts) if c.name in BOOKKEEPING_FIELDS]
REVISION_KEYS = table_keys(tables.revisions)
HANDOUT_KEYS = table_keys(tables.handouts)
# A letter as given (clinical-reference §13): kind and recipient are checked against dashboard.letters;
# the stored payload (`data`) is the letter's content and the escalations it closed.
LETTER_KEYS = [
    *table_keys(tables.letters, leave_out=("data",)),
    Column("content", "json", True, False),
    Column("escalation_ids", "ids", True, False),
]
# The patient's own voice, as stored (clinical-reference §12): an invite keeps only its token's SHA-256
# (there is no token to export); a report's answers and a diary entry's values are checked by
# dashboard.patient_reported.
INVITE_KEYS = table_keys(tables.invites)
PATIENT_REPORT_KEYS = table_keys(tables.patient_reports)
DIARY_ENTRY_KEYS = table_keys(tables.diary_entries)
# Lengths of the screening and escalation columns the database limits.
# Column widths of the queryable columns; `status` is an escalation's (8) or an episode's (12): each
# model's own Literal admits only its values, so the wider bound lets nothing longer through.
MODEL_MAX_LEN = {"rule_id": 48, "tier": 16, "status": 12, "urgency": 16, "rule_set_version": 32}


@dataclass(frozen=True)
class ManifestFile:
    """One file of an export: its SHA-256, size in bytes and number of rows (None for a PDF)."""

    sha256: str
    bytes: int
    rows: int | None


@dataclass(frozen=True)
class Manifest:
    """What an export holds (manifest.json)."""

    schema_version: str
    created_at: str
    include_password_hashes: bool
    files: dict[str, ManifestFile]
    format: str = FORMAT_NAME
    format_version: int = FORMAT_VERSION
    key_fingerprint: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "format_version": self.format_version,
            "schema_version": self.schema_version,
            "created_at": self.created_at,
            "include_password_hashes": self.include_password_hashes,
            "key_fingerprint": self.key_fingerprint,
            "files": {
                name: {"sha256": f.sha256, "bytes": f.bytes, "rows": f.rows}
                for name, f in sorted(self.files.items())
            },
        }

    def rows(self, name: str) -> int | None:
        entry = self.files.get(name)
        return entry.rows if entry else None
