"""Clinic export and import (moving a clinic to another server), and the per-patient subject-access export.

    python -m data.transfer export --database-url URL --out FILE.zip [--include-password-hashes]
    python -m data.transfer import --database-url URL FILE.zip [--dry-run] [--from-another-clinic]

Exit codes: 0 done, 1 errors in the file (reported by file, row and field; nothing written), 2 refused
(the target clinic already holds data, the export was made by an incompatible version of Stride, or
the archive is not signed with this clinic's key and --from-another-clinic was not given).

Signing: manifest.sig is the clinic key's HMAC-SHA256 of manifest.json (data/clinic_key.py), so an
archive edited after the export (a users.csv row added, the manifest's checksums fixed up) no longer
imports as this clinic's own. A restore needs the same key on the importing server. An archive from
another clinic (or without a valid signature) imports only when the admin says so: audited as such,
with no password hash (every account needs a new one) and no demo flag.

Hostile archives: member names are checked against the list below before anything is inflated, and
member count and sizes are capped while streaming (data/transfer_archive.py); JSON nested too deeply
or holding numbers Python will not convert is a file error. Text cells go through
dashboard.safe_text.csv_cell (a spreadsheet shows =, +, -, @ at the start as text) and back.

The zip (format version 2) holds UTF-8 CSV and JSON named with the data-dictionary vocabulary:
patients.csv and visits.csv (scalar fields; an empty cell is None), one child table per nested visit
field (psfs.csv, odi_sections.csv, rmdq_items.csv, zcq_items.csv, startback.csv, posture_findings.csv,
footwear_findings.csv), revisions.json, screenings.json, escalations.json, handouts.json with the PDFs
as handouts/<id>.pdf, audit.json (every row with seq, prev_hash, hash, payload_sha256 and redacted;
an erased patient's entries keep their place in the chain without their payload), users.csv (password
hashes only when asked for), meta.json, manifest.json (row counts, schema and format versions,
created_at, the signing key's fingerprint and the SHA-256 of every other file) and manifest.sig.
Bookkeeping fields are kept, rows are sorted and formatted deterministically: export -> import into an
empty database -> export gives the same files apart from the import's own audit entry (and
manifest.json, manifest.sig). An empty list or mapping is written as no child rows
and read back as None (the visit form never stores an empty one).

Row numbers in import errors: in a CSV the header is row 1, so the first record is row 2; in a JSON
list the first object is row 1. Messages name the file, row and field and never echo the value.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import io
import json
import math
import os
import re
import sys
import tempfile
import types
import zipfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import ValidationError
from sqlalchemy import Connection, delete, func, insert, select, text
from sqlalchemy.exc import SQLAlchemyError

from dashboard import auth
from dashboard.models import (
    BOOKKEEPING_FIELDS,
    STARTBACK_ITEMS,
    ZCQ_ALLOWED,
    AgreeDisagree,
    Bothersome,
    Escalation,
    Patient,
    Screening,
    Visit,
    field_errors,
)
from dashboard.ports import NotFoundError, User, iter_chunks
from dashboard.safe_text import csv_cell, csv_uncell
from data import clinic_key
from data import tables as t
from data.migrate import head_revision
from data.store import (
    AUDIT_LOCK_KEY,
    SqlStore,
    bookkeeping_from_row,
    check_audit_chain,
    escalation_from_row,
    patient_from_row,
    screening_from_row,
    search_key,
    visit_columns,
    visit_from_row,
)
from data.transfer_archive import ArchiveError, Limits, read_members

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
# Every data file of the export, in the order they are written and imported.
DATA_FILES: tuple[str, ...] = (
    "meta.json",
    "users.csv",
    "patients.csv",
    "visits.csv",
    "psfs.csv",
    "odi_sections.csv",
    "rmdq_items.csv",
    "zcq_items.csv",
    "startback.csv",
    "posture_findings.csv",
    "footwear_findings.csv",
    "revisions.json",
    "screenings.json",
    "escalations.json",
    "handouts.json",
    "audit.json",
)
HANDOUT_PDF = re.compile(r"handouts/([0-9A-Za-z-]{1,36})\.pdf")
# Stored for accounts imported without their password hash: argon2 rejects it, so nobody can log in
# with it; an admin sets a new password.
UNUSABLE_PASSWORD = "!imported-without-password"
REFUSED_NOT_EMPTY = "importing into a clinic that holds data is refused in this version"
MAX_ERRORS = 1000
# Our JSON is at most 6 levels deep (a revision's before/after of a visit with its PSFS entries):
# anything far deeper is hostile, and would reach Python's recursion limit further on.
MAX_JSON_DEPTH = 32
# A fixed zip timestamp keeps archives of the same data byte-identical.
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)

Progress = Callable[[float], None] | None

# --- values --------------------------------------------------------------------------------------


def _utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def format_timestamp(value: dt.datetime) -> str:
    """UTC ISO 8601 with microseconds and a Z: the one timestamp format of the export."""
    return _utc(value).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z")
_INT = re.compile(r"[-+]?\d{1,18}")
_FLOAT = re.compile(r"[-+]?\d+(\.\d+)?([eE][-+]?\d+)?")


class CellError(ValueError):
    """A value that cannot be read as its field's type (the message never includes the value)."""


def parse_date(raw: str) -> dt.date:
    if not _DATE.fullmatch(raw):
        raise CellError("must be a date in the form YYYY-MM-DD")
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise CellError("is not a valid calendar date") from None


def parse_timestamp(raw: str) -> dt.datetime:
    if not _TIMESTAMP.fullmatch(raw):
        raise CellError("must be a UTC timestamp in the form YYYY-MM-DDTHH:MM:SS.ffffffZ")
    try:
        return dt.datetime.fromisoformat(raw[:-1]).replace(tzinfo=dt.UTC)
    except ValueError:
        raise CellError("is not a valid timestamp") from None


def _parse_cell(raw: str, kind: str) -> Any:
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


def _format_cell(value: Any, kind: str) -> str:
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


def _kind(annotation: Any) -> str:
    """The CSV kind of a model field: str, int, float, bool, date, timestamp, or nested."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _kind(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        inner = [a for a in get_args(annotation) if a is not type(None)]
        return _kind(inner[0]) if len(inner) == 1 else "str"
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


def _nullable(annotation: Any) -> bool:
    return get_origin(annotation) in (Union, types.UnionType) and type(None) in get_args(annotation)


@dataclass(frozen=True)
class Column:
    """One column of an exported table: its kind, whether it may be left out, and how None is read."""

    name: str
    kind: str
    required: bool = False
    nullable: bool = True
    max_len: int | None = None


def _model_columns(model: Any, *, exclude: Iterable[str] = ()) -> list[Column]:
    skip = set(exclude)
    out = []
    for name, info in model.model_fields.items():
        kind = _kind(info.annotation)
        if name in skip or kind == "nested":
            continue
        if name == "id":
            out.append(Column("id", "str", True, False, 36))
            continue
        max_len = 36 if name.endswith(("_id", "_by")) else None
        out.append(Column(name, kind, info.is_required(), _nullable(info.annotation), max_len))
    # Bookkeeping first, in the data dictionary's order, then the record's own fields.
    out.sort(key=lambda c: BOOKKEEPING_FIELDS.index(c.name) if c.name in BOOKKEEPING_FIELDS else 99)
    return out


PATIENT_COLUMNS = _model_columns(Patient)
VISIT_COLUMNS = _model_columns(Visit)
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
# Child tables of the nested visit fields: (file, columns).
CHILD_COLUMNS: dict[str, list[Column]] = {
    "psfs.csv": [
        Column("visit_id", "str", True, False, 36),
        Column("position", "int", True, False),
        Column("activity", "str", True, False),
        Column("score", "int", True),
    ],
    "odi_sections.csv": [
        Column("visit_id", "str", True, False, 36),
        Column("section", "int", True, False),
        Column("score", "int", True),
    ],
    "rmdq_items.csv": [
        Column("visit_id", "str", True, False, 36),
        Column("item", "int", True, False),
        Column("applies", "bool", True, False),
    ],
    "zcq_items.csv": [
        Column("visit_id", "str", True, False, 36),
        Column("item", "str", True, False),
        Column("score", "int", True, False),
    ],
    "startback.csv": [
        Column("visit_id", "str", True, False, 36),
        Column("item", "str", True, False),
        Column("answer", "str", True, False),
    ],
    "posture_findings.csv": [
        Column("visit_id", "str", True, False, 36),
        Column("finding", "str", True, False),
    ],
    "footwear_findings.csv": [
        Column("visit_id", "str", True, False, 36),
        Column("finding", "str", True, False),
    ],
}
CHILD_FIELD = {
    "psfs.csv": "psfs",
    "odi_sections.csv": "odi_sections",
    "rmdq_items.csv": "rmdq_items",
    "zcq_items.csv": "zcq_items",
    "startback.csv": "startback",
    "posture_findings.csv": "posture_findings",
    "footwear_findings.csv": "footwear_findings",
}

# JSON record files: the keys each object holds (kind "json" = object or null, "any" = the model checks it).
_BOOKKEEPING_JSON = [
    Column("id", "str", True, False, 36),
    Column("version", "int", True, False),
    Column("recorded_at", "timestamp", True, False),
    Column("updated_at", "timestamp", True, False),
    Column("recorded_by", "str", True, True, 36),
    Column("updated_by", "str", True, True, 36),
    Column("archived", "bool", True, False),
]
REVISION_KEYS = [
    Column("id", "str", True, False, 36),
    Column("entity", "str", True, False, 24),
    Column("entity_id", "str", True, False, 36),
    Column("patient_id", "str", True, True, 36),
    Column("version", "int", True, False),
    Column("changed_at", "timestamp", True, False),
    Column("changed_by", "str", True, True, 36),
    Column("reason", "str", True, False),
    Column("before", "json", True, True),
    Column("after", "json", True, True),
]
HANDOUT_KEYS = [
    *_BOOKKEEPING_JSON,
    Column("patient_id", "str", True, False, 36),
    Column("sha256", "str", True, False, 64),
    Column("rule_set_version", "str", True, False, 32),
    Column("library_version", "str", True, False, 32),
    Column("plan", "json", True, False),
    Column("pdf", "str", True, False),
]
AUDIT_KEYS = [
    Column("seq", "int", True, False),
    Column("at", "timestamp", True, False),
    Column("user_id", "str", True, True, 36),
    Column("action", "str", True, False, 48),
    Column("entity", "str", True, True, 24),
    Column("entity_id", "str", True, True, 36),
    Column("patient_id", "str", True, True, 36),
    Column("reason", "str", True, False),
    Column("before", "json", True, True),
    Column("after", "json", True, True),
    Column("prev_hash", "str", True, False, 64),
    Column("hash", "str", True, False, 64),
    Column("payload_sha256", "str", True, True, 64),
    Column("redacted", "bool", True, False),
    Column("redacted_by", "int", True, True),
    Column("seal", "str", True, True, 64),
]
# Lengths of the screening and escalation columns the database limits.
_MODEL_MAX_LEN = {"rule_id": 48, "tier": 16, "status": 8, "urgency": 16, "rule_set_version": 32}


# --- rows <-> dicts ----------------------------------------------------------------------------------


def _bookkeeping_json(values: dict[str, Any]) -> dict[str, Any]:
    return {
        **values,
        "recorded_at": format_timestamp(values["recorded_at"]),
        "updated_at": format_timestamp(values["updated_at"]),
    }


def _model_json(record: Any) -> dict[str, Any]:
    """A record as JSON: bookkeeping in the export's timestamp format, then its fields."""
    bookkeeping = {name: getattr(record, name) for name in BOOKKEEPING_FIELDS}
    return {
        **_bookkeeping_json(bookkeeping),
        **record.model_dump(mode="json", exclude=set(BOOKKEEPING_FIELDS)),
    }


def _json_bytes(value: Any) -> bytes:
    return (json.dumps(value, ensure_ascii=False, sort_keys=True, indent=2) + "\n").encode("utf-8")


def _csv_bytes(columns: list[str], rows: Iterable[list[str]]) -> tuple[bytes, int]:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    count = 0
    for row in rows:
        writer.writerow(row)
        count += 1
    return buffer.getvalue().encode("utf-8"), count


def _revision_json(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "entity": row.entity,
        "entity_id": row.entity_id,
        "patient_id": row.patient_id,
        "version": row.version,
        "changed_at": format_timestamp(row.changed_at),
        "changed_by": row.changed_by,
        "reason": row.reason,
        "before": row.before,
        "after": row.after,
    }


def _handout_json(row: Any) -> dict[str, Any]:
    return {
        **_bookkeeping_json(bookkeeping_from_row(row)),
        "patient_id": row.patient_id,
        "sha256": row.sha256,
        "rule_set_version": row.rule_set_version,
        "library_version": row.library_version,
        "plan": row.plan,
        "pdf": f"handouts/{row.id}.pdf",
    }


def _audit_json(row: Any) -> dict[str, Any]:
    return {
        "seq": row.seq,
        "at": format_timestamp(row.at),
        "user_id": row.user_id,
        "action": row.action,
        "entity": row.entity,
        "entity_id": row.entity_id,
        "patient_id": row.patient_id,
        "reason": row.reason,
        "before": row.before,
        "after": row.after,
        "prev_hash": row.prev_hash,
        "hash": row.hash,
        "payload_sha256": row.payload_sha256,
        "redacted": bool(row.redacted),
        "redacted_by": row.redacted_by,
        "seal": row.seal,
    }


def _ts_key(value: dt.datetime | None) -> dt.datetime:
    return _utc(value or dt.datetime.min)


def _zcq_order(item: str) -> tuple[int, str]:
    return (int(item[1:]), item) if item[1:].isdigit() else (999, item)


def _visit_children(visit: Visit) -> dict[str, list[list[str]]]:
    vid = visit.id or ""
    out: dict[str, list[list[str]]] = {name: [] for name in CHILD_COLUMNS}
    for position, item in enumerate(visit.psfs or [], start=1):
        out["psfs.csv"].append([vid, str(position), csv_cell(item.activity), _format_cell(item.score, "int")])
    for section, score in enumerate(visit.odi_sections or [], start=1):
        out["odi_sections.csv"].append([vid, str(section), _format_cell(score, "int")])
    for number, applies in enumerate(visit.rmdq_items or [], start=1):
        out["rmdq_items.csv"].append([vid, str(number), _format_cell(applies, "bool")])
    zcq, startback = visit.zcq_items or {}, visit.startback or {}
    for key in sorted(zcq, key=_zcq_order):
        out["zcq_items.csv"].append([vid, csv_cell(key), str(zcq[key])])
    for key in sorted(startback, key=_zcq_order):
        out["startback.csv"].append([vid, csv_cell(key), csv_cell(startback[key])])
    for finding in sorted(visit.posture_findings):
        out["posture_findings.csv"].append([vid, csv_cell(finding)])
    for finding in sorted(visit.footwear_findings):
        out["footwear_findings.csv"].append([vid, csv_cell(finding)])
    return out


# --- manifest ----------------------------------------------------------------------------------------


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


class _ZipWriter:
    """Writes members with fixed timestamps and records their checksums for the manifest."""

    def __init__(self, archive: zipfile.ZipFile) -> None:
        self.archive = archive
        self.files: dict[str, ManifestFile] = {}

    def add(self, name: str, data: bytes, rows: int | None, *, listed: bool = True) -> None:
        info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o600 << 16
        self.archive.writestr(info, data)
        if listed:
            self.files[name] = ManifestFile(hashlib.sha256(data).hexdigest(), len(data), rows)


@contextmanager
def _atomic_zip(out_path: str | os.PathLike[str]) -> Iterator[_ZipWriter]:
    """A zip written beside `out_path` and renamed over it only when complete (owner-only permissions)."""
    target = Path(out_path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    os.close(fd)
    try:
        with zipfile.ZipFile(tmp_name, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            yield _ZipWriter(archive)
        os.chmod(tmp_name, 0o600)
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


@contextmanager
def _snapshot(store: SqlStore) -> Iterator[Connection]:
    """One consistent read of the whole database (REPEATABLE READ on PostgreSQL, a WAL snapshot on SQLite)."""
    with store.read() as tx:
        if tx.conn.dialect.name == "postgresql":
            tx.conn.execution_options(isolation_level="REPEATABLE READ")
        yield tx.conn


def _audit_export(store: SqlStore, actor: User | None, action: str, **values: Any) -> None:
    with store.transaction() as tx:
        tx.insert_audit(user_id=actor.id if actor else None, action=action, **values)


# --- export ------------------------------------------------------------------------------------------


def store_url(store: SqlStore) -> str:
    """The database URL of a store (to find its clinic key)."""
    return store.engine.url.render_as_string(hide_password=False)


def export_clinic(
    store: SqlStore,
    out_path: str | os.PathLike[str],
    *,
    include_password_hashes: bool = False,
    progress: Progress = None,
    actor: User | None = None,
    key: bytes | None = None,
) -> Manifest:
    """Write the whole clinic to a signed zip at `out_path` and audit the export ("export.clinic").

    `actor` is the admin exporting from the app (checked for the export_clinic permission); the
    command line passes None. The audit entry is written after the snapshot, so an export never
    contains its own entry. manifest.sig is the clinic key's HMAC of manifest.json (`key`, by
    default this database's clinic key, created when it has none yet).
    """
    if actor is not None:
        from dashboard.services import require

        require(store, actor, "export_clinic")
    if key is None:
        key = clinic_key.load_clinic_key(store_url(store))
    report = progress or (lambda _fraction: None)
    created_at = format_timestamp(dt.datetime.now(dt.UTC))
    with _snapshot(store) as conn, _atomic_zip(out_path) as out:
        meta = {row.key: row.value for row in conn.execute(select(t.meta))}
        out.add("meta.json", _json_bytes(dict(sorted(meta.items()))), len(meta))

        user_rows = sorted(conn.execute(select(t.users)), key=lambda r: (r.username, r.id))
        columns = [*USER_COLUMNS, *([PASSWORD_COLUMN] if include_password_hashes else [])]
        out.add(
            "users.csv",
            *_csv_bytes(
                [c.name for c in columns],
                ([_format_cell(getattr(row, c.name), c.kind) for c in columns] for row in user_rows),
            ),
        )
        report(0.05)

        patients = [patient_from_row(row) for row in conn.execute(select(t.patients))]
        patients.sort(key=lambda p: (p.patient_ref, p.id or ""))
        order = {p.id: n for n, p in enumerate(patients)}
        out.add(
            "patients.csv",
            *_csv_bytes(
                [c.name for c in PATIENT_COLUMNS],
                ([_format_cell(getattr(p, c.name), c.kind) for c in PATIENT_COLUMNS] for p in patients),
            ),
        )
        report(0.15)

        visits = [visit_from_row(row) for row in conn.execute(select(t.visits))]
        visits.sort(
            key=lambda v: (
                order.get(v.patient_id, -1),
                v.visit_date,
                _ts_key(v.recorded_at),
                v.id,
            )
        )
        out.add(
            "visits.csv",
            *_csv_bytes(
                [c.name for c in VISIT_COLUMNS],
                ([_format_cell(getattr(v, c.name), c.kind) for c in VISIT_COLUMNS] for v in visits),
            ),
        )
        children: dict[str, list[list[str]]] = {name: [] for name in CHILD_COLUMNS}
        for visit in visits:
            for name, rows in _visit_children(visit).items():
                children[name].extend(rows)
        for name, rows in children.items():
            out.add(name, *_csv_bytes([c.name for c in CHILD_COLUMNS[name]], rows))
        report(0.4)

        revisions = sorted(
            conn.execute(select(t.revisions)),
            key=lambda r: (_utc(r.changed_at), r.entity, r.entity_id, r.version, r.id),
        )
        out.add("revisions.json", _json_bytes([_revision_json(r) for r in revisions]), len(revisions))
        screenings = sorted(
            (screening_from_row(r) for r in conn.execute(select(t.screenings))),
            key=lambda s: (_ts_key(s.recorded_at), s.id),
        )
        out.add("screenings.json", _json_bytes([_model_json(s) for s in screenings]), len(screenings))
        escalations = sorted(
            (escalation_from_row(r) for r in conn.execute(select(t.escalations))),
            key=lambda e: (_ts_key(e.recorded_at), e.id),
        )
        out.add("escalations.json", _json_bytes([_model_json(e) for e in escalations]), len(escalations))
        report(0.5)

        handout_columns = [c for c in t.handouts.c if c.name != "pdf"]
        handouts = sorted(conn.execute(select(*handout_columns)), key=lambda r: (_utc(r.recorded_at), r.id))
        out.add("handouts.json", _json_bytes([_handout_json(h) for h in handouts]), len(handouts))
        for n, handout in enumerate(handouts):
            pdf = conn.execute(select(t.handouts.c.pdf).where(t.handouts.c.id == handout.id)).scalar_one()
            out.add(f"handouts/{handout.id}.pdf", bytes(pdf), None)
            if n % 50 == 0:
                report(0.5 + 0.3 * n / len(handouts))
        report(0.8)

        audit_rows = [_audit_json(r) for r in conn.execute(select(t.audit).order_by(t.audit.c.seq))]
        out.add("audit.json", _json_bytes(audit_rows), len(audit_rows))

        manifest = Manifest(
            schema_version=head_revision() or "",
            created_at=created_at,
            include_password_hashes=include_password_hashes,
            files=dict(out.files),
            key_fingerprint=clinic_key.key_fingerprint(key),
        )
        manifest_bytes = _json_bytes(manifest.to_json())
        out.add(MANIFEST_NAME, manifest_bytes, None, listed=False)
        out.add(
            SIGNATURE_NAME, (clinic_key.sign(key, manifest_bytes) + "\n").encode("ascii"), None, listed=False
        )
    _audit_export(
        store,
        actor,
        "export.clinic",
        after={
            "manifest_sha256": hashlib.sha256(manifest_bytes).hexdigest(),
            "patients": len(patients),
            "visits": len(visits),
            "password_hashes": include_password_hashes,
        },
    )
    report(1.0)
    return manifest


def export_clinic_bytes(
    store: SqlStore, *, include_password_hashes: bool = False, actor: User | None = None
) -> bytes:
    """The clinic export as bytes (for a download generated at the click); the temporary file is removed."""
    with tempfile.TemporaryDirectory(prefix="stride-export-") as tmp:
        out = Path(tmp) / "export.zip"
        export_clinic(store, out, include_password_hashes=include_password_hashes, actor=actor)
        return out.read_bytes()


def export_patient(
    store: SqlStore, patient_id: str, out_path: str | os.PathLike[str], *, actor: User | None = None
) -> Path:
    """Subject-access export: one patient's whole record as patient.json plus their handout PDFs.

    patient.json holds the patient, every visit (archived ones too, nested fields as lists and
    mappings), every revision, screening and escalation, and the list of handouts given; the
    export is audited ("export.patient").
    """
    if actor is not None:
        from dashboard.services import require

        require(store, actor, "export_patient")
    with _snapshot(store) as conn, _atomic_zip(out_path) as out:
        row = conn.execute(select(t.patients).where(t.patients.c.id == patient_id)).first()
        if row is None:
            raise NotFoundError("Patient not found.")
        patient = patient_from_row(row)
        visits = sorted(
            (
                visit_from_row(r)
                for r in conn.execute(select(t.visits).where(t.visits.c.patient_id == patient_id))
            ),
            key=lambda v: (v.visit_date, _ts_key(v.recorded_at), v.id),
        )
        revisions = sorted(
            conn.execute(select(t.revisions).where(t.revisions.c.patient_id == patient_id)),
            key=lambda r: (_utc(r.changed_at), r.entity, r.entity_id, r.version, r.id),
        )
        screenings = sorted(
            (
                screening_from_row(r)
                for r in conn.execute(select(t.screenings).where(t.screenings.c.patient_id == patient_id))
            ),
            key=lambda s: (_ts_key(s.recorded_at), s.id),
        )
        escalations = sorted(
            (
                escalation_from_row(r)
                for r in conn.execute(select(t.escalations).where(t.escalations.c.patient_id == patient_id))
            ),
            key=lambda e: (_ts_key(e.recorded_at), e.id),
        )
        handouts = sorted(
            conn.execute(select(t.handouts).where(t.handouts.c.patient_id == patient_id)),
            key=lambda r: (_utc(r.recorded_at), r.id),
        )
        record = {
            "format": SUBJECT_ACCESS_FORMAT,
            "format_version": SUBJECT_ACCESS_VERSION,
            "created_at": format_timestamp(dt.datetime.now(dt.UTC)),
            "patient": _model_json(patient),
            "visits": [_model_json(v) for v in visits],
            "revisions": [_revision_json(r) for r in revisions],
            "screenings": [_model_json(s) for s in screenings],
            "escalations": [_model_json(e) for e in escalations],
            "handouts": [_handout_json(h) for h in handouts],
        }
        out.add("patient.json", _json_bytes(record), 1)
        for handout in handouts:
            out.add(f"handouts/{handout.id}.pdf", bytes(handout.pdf), None)
    _audit_export(
        store, actor, "export.patient", entity="patient", entity_id=patient_id, patient_id=patient_id
    )
    return Path(out_path)


# --- import: the report ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowError:
    """One problem in the file: where it is and what is wrong (never the value itself)."""

    file: str
    row: int | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = self.file + (f" row {self.row}" if self.row is not None else "")
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


@dataclass
class ImportReport:
    """The outcome of an import or a dry run."""

    dry_run: bool
    errors: list[RowError] = field(default_factory=list)
    refused: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    imported: bool = False
    errors_left_off: int = 0
    # Which clinic key checked the signature (in words, with its fingerprint) and what it found.
    key_used: str = ""
    signature: str = ""
    from_another_clinic: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors and self.refused is None

    @property
    def exit_code(self) -> int:
        """0 done (or the dry run found nothing wrong), 1 errors in the file, 2 refused."""
        if self.refused is not None:
            return 2
        return 1 if self.errors else 0

    def summary(self) -> str:
        if self.refused is not None:
            return f"Refused: {self.refused}."
        if self.errors:
            more = f" (and {self.errors_left_off} more)" if self.errors_left_off else ""
            return f"{len(self.errors)} error(s){more} in the file; nothing was written."
        what = ", ".join(f"{n} {name.split('.')[0]}" for name, n in self.counts.items() if n)
        if self.dry_run:
            return f"Dry run: no errors ({what}). Nothing was written."
        return f"Imported {what}."


class _Refused(Exception):
    pass


# --- import: reading and checking --------------------------------------------------------------------


_SAFE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,39}")


def _column_label(name: str, position: int) -> str:
    """A column's name when it looks like one; otherwise its position (a header might hold patient data)."""
    return name if _SAFE_NAME.fullmatch(name) else f"column {position}"


@dataclass
class _Parsed:
    """Everything read from the archive, checked and ready to insert."""

    meta: dict[str, str] = field(default_factory=dict)
    users: list[dict[str, Any]] = field(default_factory=list)
    patients: list[dict[str, Any]] = field(default_factory=list)
    visits: list[dict[str, Any]] = field(default_factory=list)
    revisions: list[dict[str, Any]] = field(default_factory=list)
    screenings: list[dict[str, Any]] = field(default_factory=list)
    escalations: list[dict[str, Any]] = field(default_factory=list)
    handouts: list[dict[str, Any]] = field(default_factory=list)
    audit: list[dict[str, Any]] = field(default_factory=list)
    passwords_missing: int = 0
    manifest_sha256: str = ""
    source_created_at: str | None = None
    source_key_fingerprint: str = ""


def _json_depth(value: Any) -> int:
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


class _Reader:
    """Reads and checks an export; collects every error before anything is written."""

    def __init__(
        self,
        zip_path: str | os.PathLike[str],
        report: ImportReport,
        progress: Progress,
        limits: Limits | None = None,
    ) -> None:
        self.zip_path = Path(zip_path)
        self.limits = limits
        self.uncell = True  # undo csv_cell on text cells (format version 2 on)
        self.report = report
        self.progress = progress or (lambda _fraction: None)
        self.members: dict[str, bytes] = {}
        self.manifest: Manifest | None = None
        self.out = _Parsed()
        self.now = dt.datetime.now(dt.UTC)
        self.clinic_key = b""  # the importing store's, which checks the audit chain

    def error(self, file: str, row: int | None, field_name: str | None, message: str) -> None:
        if len(self.report.errors) >= MAX_ERRORS:
            self.report.errors_left_off += 1
            return
        self.report.errors.append(RowError(file, row, field_name, message))

    # archive and manifest
    def open_archive(self) -> bool:
        name = self.zip_path.name
        try:
            self.members = read_members(
                self.zip_path,
                allowed=(*DATA_FILES, MANIFEST_NAME, SIGNATURE_NAME),
                pdf_pattern=HANDOUT_PDF,
                limits=self.limits,
            )
        except FileNotFoundError:
            self.error(name, None, None, "the file does not exist")
            return False
        except ArchiveError as exc:
            self.error(exc.member or name, None, None, exc.message)
            return False
        except OSError:
            self.error(name, None, None, "the file cannot be read")
            return False
        return True

    def check_manifest(self) -> None:
        raw = self.members.get(MANIFEST_NAME)
        if raw is None:
            self.error(MANIFEST_NAME, None, None, "missing: this is not a Stride clinic export")
            return
        self.out.manifest_sha256 = hashlib.sha256(raw).hexdigest()
        data = self._json(MANIFEST_NAME, raw)
        if not isinstance(data, dict):
            if data is not None:
                self.error(MANIFEST_NAME, None, None, "must be a JSON object")
            return
        if data.get("format") != FORMAT_NAME:
            self.error(MANIFEST_NAME, None, "format", "not a Stride clinic export")
            return
        version = data.get("format_version")
        if not isinstance(version, int) or isinstance(version, bool):
            self.error(MANIFEST_NAME, None, "format_version", "must be a whole number")
            return
        if version not in READABLE_FORMAT_VERSIONS:
            raise _Refused(
                f"the export uses format version {version}; "
                f"this version of Stride reads version {FORMAT_VERSION}"
            )
        self.uncell = version >= 2
        head = head_revision()
        if data.get("schema_version") != head:
            raise _Refused(
                "the export was made by a Stride with another database schema; "
                "import it with the same version of Stride that exported it"
            )
        files: dict[str, ManifestFile] = {}
        listed = data.get("files")
        if not isinstance(listed, dict):
            self.error(MANIFEST_NAME, None, "files", "must map file names to their checksums")
            listed = {}
        for fname, entry in listed.items():
            sha = entry.get("sha256") if isinstance(entry, dict) else None
            rows = entry.get("rows") if isinstance(entry, dict) else None
            if not isinstance(sha, str) or not (rows is None or isinstance(rows, int)):
                self.error(MANIFEST_NAME, None, "files", f"the entry for {fname} is malformed")
                continue
            files[fname] = ManifestFile(sha, int(entry.get("bytes") or 0), rows)
        created = data.get("created_at")
        self.out.source_created_at = created if isinstance(created, str) else None
        fingerprint = data.get("key_fingerprint")
        self.out.source_key_fingerprint = fingerprint if isinstance(fingerprint, str) else ""

        self.manifest = Manifest(
            schema_version=str(head),
            created_at=str(created),
            include_password_hashes=bool(data.get("include_password_hashes")),
            files=files,
        )
        for fname, entry in sorted(files.items()):
            content = self.members.get(fname)
            if content is None:
                self.error(fname, None, None, "listed in the manifest but missing from the archive")
            elif hashlib.sha256(content).hexdigest() != entry.sha256:
                self.error(fname, None, None, "checksum mismatch: the file differs from the one exported")
        for fname in sorted(self.members):
            if fname not in (MANIFEST_NAME, SIGNATURE_NAME) and fname not in files:
                self.error(fname, None, None, "not listed in the manifest")

    def check_signature(self, key: bytes | None) -> str:
        """Did the clinic key sign manifest.json: valid, unsigned, mismatch, no key ("": no manifest)."""
        manifest, signature = self.members.get(MANIFEST_NAME), self.members.get(SIGNATURE_NAME)
        if manifest is None or self.manifest is None:
            return ""  # no readable manifest, so not an export at all: reported as a file error
        if signature is None:
            return "unsigned"
        if key is None:
            return "no key"
        try:
            text_value = signature.decode("ascii")
        except UnicodeDecodeError:
            return "mismatch"
        return "valid" if clinic_key.signature_matches(key, manifest, text_value) else "mismatch"

    def check_members(self) -> None:
        for fname in DATA_FILES:
            if fname not in self.members:
                self.error(fname, None, None, "missing from the archive")
        for fname in sorted(self.members):
            if fname not in (*DATA_FILES, MANIFEST_NAME, SIGNATURE_NAME) and not HANDOUT_PDF.fullmatch(fname):
                self.error(fname, None, None, "unexpected file in the archive")

    def _check_count(self, fname: str, count: int) -> None:
        expected = self.manifest.rows(fname) if self.manifest else None
        if expected is not None and expected != count:
            self.error(fname, None, None, f"holds {count} rows, the manifest says {expected}")

    # text, CSV and JSON
    def _text(self, fname: str, raw: bytes) -> str | None:
        try:
            text_value = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].count(b"\n") + 1
            self.error(fname, None, None, f"not UTF-8 text (first bad byte on line {line})")
            return None
        return text_value.removeprefix("\ufeff")

    def _json(self, fname: str, raw: bytes) -> Any:
        text_value = self._text(fname, raw)
        if text_value is None:
            return None
        try:
            data = json.loads(text_value)
        except json.JSONDecodeError as exc:
            self.error(fname, None, None, f"not valid JSON (line {exc.lineno}, column {exc.colno})")
            return None
        except RecursionError:
            self.error(fname, None, None, f"not valid here: nested deeper than {MAX_JSON_DEPTH} levels")
            return None
        except ValueError:  # an integer of more digits than Python converts (4300)
            self.error(fname, None, None, "not valid here: a number with far too many digits")
            return None
        if _json_depth(data) > MAX_JSON_DEPTH:
            self.error(fname, None, None, f"not valid here: nested deeper than {MAX_JSON_DEPTH} levels")
            return None
        return data

    def _csv(self, fname: str, columns: list[Column]) -> Iterator[tuple[int, dict[str, Any]]]:
        """Yield (row number, typed values) for every record whose cells all parse."""
        raw = self.members.get(fname)
        if raw is None:
            return
        text_value = self._text(fname, raw)
        if text_value is None:
            return
        reader = csv.reader(io.StringIO(text_value, newline=""), strict=True)
        try:
            header = next(reader, None)
        except csv.Error:
            self.error(fname, 1, None, "not valid CSV")
            return
        if header is None:
            self.error(fname, None, None, "empty: the header row is missing")
            return
        known = {c.name: c for c in columns}
        fatal = False
        for position, name in enumerate(header, start=1):
            if header.count(name) > 1:
                self.error(fname, 1, _column_label(name, position), "column appears more than once")
                fatal = True
            elif name not in known:
                self.error(fname, 1, _column_label(name, position), "unknown column")
                fatal = True
        for column in columns:
            if column.required and column.name not in header:
                self.error(fname, 1, column.name, "missing required column")
                fatal = True
        if fatal:
            return
        count = 0
        row_number = 1
        while True:
            row_number += 1
            try:
                cells = next(reader)
            except StopIteration:
                break
            except csv.Error:
                self.error(fname, row_number, None, "not valid CSV (unbalanced quotes or a stray character)")
                return
            if not cells:
                row_number -= 1
                continue
            count += 1
            if len(cells) != len(header):
                self.error(fname, row_number, None, f"has {len(cells)} cells; the header has {len(header)}")
                continue
            values: dict[str, Any] = {}
            good = True
            for name, cell in zip(header, cells, strict=True):
                column = known[name]
                if column.kind == "str" and self.uncell:
                    cell = csv_uncell(cell)
                if cell == "":
                    if column.nullable:
                        values[name] = None
                    elif column.required:
                        self.error(fname, row_number, name, "required")
                        good = False
                    continue
                try:
                    values[name] = _parse_cell(cell, column.kind)
                except CellError as exc:
                    self.error(fname, row_number, name, str(exc))
                    good = False
                    continue
                if column.max_len is not None and len(cell) > column.max_len:
                    self.error(fname, row_number, name, f"longer than {column.max_len} characters")
                    good = False
            if good:
                yield row_number, values
        self._check_count(fname, count)

    def _json_list(self, fname: str) -> list[Any]:
        raw = self.members.get(fname)
        if raw is None:
            return []
        data = self._json(fname, raw)
        if data is None:
            return []
        if not isinstance(data, list):
            self.error(fname, None, None, "must be a JSON list of objects")
            return []
        self._check_count(fname, len(data))
        return data

    def _json_record(
        self, fname: str, row: int, item: Any, keys: list[Column], *, extra_ok: bool = False
    ) -> dict[str, Any] | None:
        """Check one JSON object against its keys (types, required keys, unknown keys)."""
        if not isinstance(item, dict):
            self.error(fname, row, None, "must be a JSON object")
            return None
        good = True
        known = {c.name for c in keys}
        if not extra_ok:
            for key in sorted(set(item) - known):
                self.error(fname, row, _column_label(str(key), 0), "unknown field")
                good = False
        out: dict[str, Any] = dict(item) if extra_ok else {}
        for column in keys:
            if column.name not in item:
                if column.required:
                    self.error(fname, row, column.name, "missing required field")
                    good = False
                continue
            value = item[column.name]
            if value is None:
                if not column.nullable:
                    self.error(fname, row, column.name, "required")
                    good = False
                out[column.name] = None
                continue
            try:
                out[column.name] = self._json_value(value, column)
            except CellError as exc:
                self.error(fname, row, column.name, str(exc))
                good = False
        return out if good else None

    @staticmethod
    def _json_value(value: Any, column: Column) -> Any:
        kind = column.kind
        if kind == "json":
            if not isinstance(value, dict):
                raise CellError("must be a JSON object or null")
            return value
        if kind in ("str", "timestamp", "date"):
            if not isinstance(value, str):
                raise CellError("must be a string")
            if column.max_len is not None and len(value) > column.max_len:
                raise CellError(f"longer than {column.max_len} characters")
            return _parse_cell(value, kind)
        if kind == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                raise CellError("must be a whole number")
            return value
        if kind == "bool":
            if not isinstance(value, bool):
                raise CellError("must be true or false")
            return value
        raise AssertionError(kind)

    def _duplicates(self, fname: str, rows: list[tuple[int, Any]], field_name: str) -> set[Any]:
        first: dict[Any, int] = {}
        dups = set()
        for row, value in rows:
            if value is None:
                continue
            if value in first:
                self.error(fname, row, field_name, f"duplicate (also in row {first[value]})")
                dups.add(value)
            else:
                first[value] = row
        return dups

    def _model_errors(self, fname: str, row: int, exc: Exception) -> None:
        for name, message in field_errors(exc).items():
            self.error(fname, row, None if name == "_" else name, message)

    # the files
    def read_meta(self) -> None:
        raw = self.members.get("meta.json")
        if raw is None:
            return
        data = self._json("meta.json", raw)
        if data is None:
            return
        if not isinstance(data, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and len(k) <= 64 for k, v in data.items()
        ):
            self.error("meta.json", None, None, "must map setting names (up to 64 characters) to text")
            return
        self._check_count("meta.json", len(data))
        self.out.meta = data

    def read_users(self) -> None:
        rows = list(self._csv("users.csv", [*USER_COLUMNS, PASSWORD_COLUMN]))
        self._duplicates("users.csv", [(n, v["id"]) for n, v in rows], "id")
        self._duplicates("users.csv", [(n, v["username"]) for n, v in rows], "username")
        for row, values in rows:
            if values["role"] not in auth.ROLES:
                self.error("users.csv", row, "role", f"must be one of {', '.join(auth.ROLES)}")
                continue
            if not values["username"].strip() or not values["display_name"].strip():
                self.error(
                    "users.csv",
                    row,
                    "username" if not values["username"].strip() else "display_name",
                    "required",
                )
                continue
            password_hash = values.pop("password_hash", None)
            if not password_hash:
                self.out.passwords_missing += 1
                password_hash = UNUSABLE_PASSWORD
            defaults = {"recorded_by": None, "updated_by": None, "locked_until": None, "active": True}
            user = {**defaults, **self._with_bookkeeping(values), "password_hash": password_hash}
            user.setdefault("failed_logins", 0)
            self.out.users.append(user)

    def read_patients(self) -> dict[str, dict[str, Any]]:
        rows = list(self._csv("patients.csv", PATIENT_COLUMNS))
        self._duplicates("patients.csv", [(n, v.get("id")) for n, v in rows], "id")
        dup_refs = self._duplicates(
            "patients.csv", [(n, v.get("patient_ref")) for n, v in rows], "patient_ref"
        )
        by_id: dict[str, dict[str, Any]] = {}
        for row, values in rows:
            try:
                patient = Patient.model_validate(self._with_bookkeeping(values))
            except (ValidationError, ValueError) as exc:
                self._model_errors("patients.csv", row, exc)
                continue
            if patient.patient_ref in dup_refs or patient.id in by_id:
                continue
            record = {
                **self._bookkeeping_values(patient),
                "patient_ref": patient.patient_ref,
                "search_key": search_key(patient.given_name, patient.family_name, patient.patient_ref),
                "clinician_id": patient.clinician_id,
                "next_review_date": patient.next_review_date,
                "data": patient.clinical_dict(),
            }
            by_id[patient.id or ""] = record
            self.out.patients.append(record)
        return by_id

    def _with_bookkeeping(self, values: dict[str, Any]) -> dict[str, Any]:
        """Defaults for the bookkeeping columns a hand-made file leaves out (or leaves empty)."""
        defaults = {"version": 1, "recorded_at": self.now, "updated_at": self.now, "archived": False}
        return {**defaults, **{k: v for k, v in values.items() if v is not None or k not in defaults}}

    @staticmethod
    def _bookkeeping_values(record: Any) -> dict[str, Any]:
        return {name: getattr(record, name) for name in BOOKKEEPING_FIELDS}

    def read_children(self, visit_ids: dict[str, int]) -> dict[str, dict[str, Any]]:
        """Nested visit fields from the child tables, by visit id (only visits with rows appear)."""
        nested: dict[str, dict[str, Any]] = {}
        startback_allowed = {
            key: set(get_args(Bothersome) if key == "q9" else get_args(AgreeDisagree))
            for key in STARTBACK_ITEMS
        }
        keyed: dict[str, dict[str, dict[Any, tuple[int, Any]]]] = {}
        for fname in CHILD_COLUMNS:
            by_visit: dict[str, dict[Any, tuple[int, Any]]] = {}
            keyed[fname] = by_visit
            for row, values in self._csv(fname, CHILD_COLUMNS[fname]):
                vid = values["visit_id"]
                if vid not in visit_ids:
                    self.error(fname, row, "visit_id", "no visit with this id in visits.csv")
                    continue
                key_name, value_name = {
                    "psfs.csv": ("position", "activity"),
                    "odi_sections.csv": ("section", "score"),
                    "rmdq_items.csv": ("item", "applies"),
                    "zcq_items.csv": ("item", "score"),
                    "startback.csv": ("item", "answer"),
                    "posture_findings.csv": ("finding", "finding"),
                    "footwear_findings.csv": ("finding", "finding"),
                }[fname]
                key, value = values[key_name], values[value_name]
                problem = None
                if fname == "psfs.csv":
                    value = {"activity": values["activity"], "score": values["score"]}
                    if not 1 <= key <= 5:
                        problem = (key_name, "must be 1 to 5")
                    elif values["score"] is not None and not 0 <= values["score"] <= 10:
                        problem = ("score", "must be 0 to 10 or empty")
                elif fname == "odi_sections.csv":
                    if not 1 <= key <= 10:
                        problem = (key_name, "must be 1 to 10")
                    elif value is not None and not 0 <= value <= 5:
                        problem = ("score", "must be 0 to 5 or empty")
                elif fname == "rmdq_items.csv":
                    if not 1 <= key <= 24:
                        problem = (key_name, "must be 1 to 24")
                elif fname == "zcq_items.csv":
                    if key not in ZCQ_ALLOWED:
                        problem = (key_name, "must be q1 to q18")
                    elif value not in ZCQ_ALLOWED[key]:
                        problem = ("score", f"outside the coded range of {key}")
                elif fname == "startback.csv":
                    if key not in startback_allowed:
                        problem = (key_name, "must be q1 to q9")
                    elif value not in startback_allowed[key]:
                        problem = ("answer", f"must be one of {', '.join(sorted(startback_allowed[key]))}")
                if problem:
                    self.error(fname, row, *problem)
                    continue
                entries = by_visit.setdefault(vid, {})
                if key in entries:
                    self.error(
                        fname, row, key_name, f"duplicate for this visit (also in row {entries[key][0]})"
                    )
                    continue
                entries[key] = (row, value)
        for fname, by_visit in keyed.items():
            target = CHILD_FIELD[fname]
            for vid, entries in by_visit.items():
                collected: dict[Any, Any] = {k: v for k, (_row, v) in entries.items()}
                where = f"for the visit in visits.csv row {visit_ids[vid]}"
                if fname == "psfs.csv":
                    if sorted(collected) != list(range(1, len(collected) + 1)):
                        self.error(
                            fname, None, "position", f"positions {where} must run 1, 2, 3, ... without gaps"
                        )
                        continue
                    result: Any = [collected[k] for k in sorted(collected)]
                elif fname == "odi_sections.csv":
                    if sorted(collected) != list(range(1, 11)):
                        self.error(fname, None, "section", f"sections 1 to 10 {where} must all be present")
                        continue
                    result = [collected[k] for k in range(1, 11)]
                elif fname == "rmdq_items.csv":
                    if sorted(collected) != list(range(1, 25)):
                        self.error(fname, None, "item", f"items 1 to 24 {where} must all be present")
                        continue
                    result = [collected[k] for k in range(1, 25)]
                elif fname in ("zcq_items.csv", "startback.csv"):
                    result = {k: collected[k] for k in sorted(collected, key=_zcq_order)}
                else:
                    result = set(collected)
                nested.setdefault(vid, {})[target] = result
        return nested

    def read_visits(self, patients: dict[str, dict[str, Any]]) -> None:
        rows = list(self._csv("visits.csv", VISIT_COLUMNS))
        dup_ids = self._duplicates("visits.csv", [(n, v.get("id")) for n, v in rows], "id")
        visit_rows: dict[str, int] = {}
        for n, values in rows:
            visit_rows.setdefault(values["id"], n)
        nested = self.read_children(visit_rows)
        known_patients = self._all_ids("patients.csv")
        for row, values in rows:
            if values["id"] in dup_ids:
                continue
            if values["patient_id"] not in known_patients:
                self.error("visits.csv", row, "patient_id", "no patient with this id in patients.csv")
                continue
            try:
                visit = Visit.model_validate(
                    {**self._with_bookkeeping(values), **nested.get(values["id"], {})}
                )
            except (ValidationError, ValueError) as exc:
                self._model_errors("visits.csv", row, exc)
                continue
            if visit.patient_id not in patients:
                continue  # the patient row itself had errors, already reported
            self.out.visits.append({**self._bookkeeping_values(visit), **visit_columns(visit)})

    def _all_ids(self, fname: str) -> set[str]:
        """Every id in a CSV file's id column, even on rows with errors (for reference checks)."""
        raw = self.members.get(fname)
        if raw is None:
            return set()
        try:
            reader = csv.DictReader(io.StringIO(raw.decode("utf-8").removeprefix("\ufeff"), newline=""))
            ids = {row.get("id") or "" for row in reader}
        except (UnicodeDecodeError, csv.Error):
            return set()
        return {csv_uncell(i) for i in ids} if self.uncell else ids

    def read_records(
        self,
        fname: str,
        model: Any,
        columns: tuple[str, ...],
        target: list[dict[str, Any]],
        patient_ids: set[str],
        visit_ids: set[str],
    ) -> None:
        """Screenings or escalations: checked with their model; `columns` are the queryable ones."""
        items = self._json_list(fname)
        rows: list[tuple[int, dict[str, Any]]] = []
        for n, item in enumerate(items, start=1):
            checked = self._json_record(fname, n, item, _BOOKKEEPING_JSON, extra_ok=True)
            if checked is not None:
                rows.append((n, checked))
        dups = self._duplicates(fname, [(n, v["id"]) for n, v in rows], "id")
        for n, values in rows:
            try:
                record = model.model_validate(values)
            except (ValidationError, ValueError) as exc:
                self._model_errors(fname, n, exc)
                continue
            bad = False
            for name, limit in _MODEL_MAX_LEN.items():
                value = getattr(record, name, None)
                if isinstance(value, str) and len(value) > limit:
                    self.error(fname, n, name, f"longer than {limit} characters")
                    bad = True
            if record.patient_id not in patient_ids:
                self.error(fname, n, "patient_id", "no patient with this id in patients.csv")
                bad = True
            visit_id = getattr(record, "visit_id", None)
            if visit_id is not None and visit_id not in visit_ids:
                self.error(fname, n, "visit_id", "no visit with this id in visits.csv")
                bad = True
            if bad or record.id in dups:
                continue
            payload = record.model_dump(mode="json", exclude=set(BOOKKEEPING_FIELDS))
            queryable = {name: payload[name] for name in columns}
            target.append({**self._bookkeeping_values(record), **queryable, "data": payload})

    def read_revisions(self, patient_ids: set[str]) -> None:
        rows = []
        for n, item in enumerate(self._json_list("revisions.json"), start=1):
            checked = self._json_record("revisions.json", n, item, REVISION_KEYS)
            if checked is None:
                continue
            if checked["patient_id"] is not None and checked["patient_id"] not in patient_ids:
                self.error("revisions.json", n, "patient_id", "no patient with this id in patients.csv")
                continue
            rows.append((n, checked))
        dups = self._duplicates("revisions.json", [(n, v["id"]) for n, v in rows], "id")
        self.out.revisions = [v for _n, v in rows if v["id"] not in dups]

    def read_handouts(self, patient_ids: set[str]) -> None:
        rows = []
        for n, item in enumerate(self._json_list("handouts.json"), start=1):
            checked = self._json_record("handouts.json", n, item, HANDOUT_KEYS)
            if checked is None:
                continue
            if checked["patient_id"] not in patient_ids:
                self.error("handouts.json", n, "patient_id", "no patient with this id in patients.csv")
                continue
            member = f"handouts/{checked['id']}.pdf"
            if checked["pdf"] != member:
                self.error("handouts.json", n, "pdf", "must name handouts/<id>.pdf")
                continue
            pdf = self.members.get(member)
            if pdf is None:
                self.error("handouts.json", n, "pdf", "the PDF is missing from the archive")
                continue
            if hashlib.sha256(pdf).hexdigest() != checked["sha256"]:
                self.error("handouts.json", n, "sha256", "does not match the PDF")
                continue
            checked["pdf"] = pdf
            rows.append((n, checked))
        dups = self._duplicates("handouts.json", [(n, v["id"]) for n, v in rows], "id")
        self.out.handouts = [v for _n, v in rows if v["id"] not in dups]
        referenced = {f"handouts/{v['id']}.pdf" for _n, v in rows}
        for member in sorted(self.members):
            if HANDOUT_PDF.fullmatch(member) and member not in referenced:
                self.error(member, None, None, "no entry in handouts.json refers to this PDF")

    def read_audit(self) -> None:
        rows = []
        for n, item in enumerate(self._json_list("audit.json"), start=1):
            checked = self._json_record("audit.json", n, item, AUDIT_KEYS)
            if checked is None:
                return  # the chain cannot be checked with a row missing
            rows.append((n, checked))
        prev_seq = 0
        for n, entry in rows:
            if entry["seq"] <= prev_seq:
                self.error("audit.json", n, "seq", "must increase from row to row")
                return
            prev_seq = entry["seq"]
        # The store's own check: payload digests (or the one allowed redaction), then the hashes.
        # Sealed with the clinic key: the target must hold the exporting clinic's key.
        intact, n_checked, broken = check_audit_chain((entry for _n, entry in rows), self.clinic_key)
        if not intact:
            self.error(
                "audit.json", rows[n_checked - 1][0], "hash", f"the audit chain is broken at seq {broken}"
            )
            return
        self.out.audit = [v for _n, v in rows]

    def read_all(self) -> _Parsed:
        self.check_members()
        self.check_manifest()
        self.progress(0.1)
        self.read_meta()
        self.read_users()
        self.progress(0.15)
        patients = self.read_patients()
        self.progress(0.25)
        self.read_visits(patients)
        # References are checked against every id in the files; rows with errors are reported there.
        patient_ids, visit_ids = self._all_ids("patients.csv"), self._all_ids("visits.csv")
        self.progress(0.4)
        self.read_revisions(patient_ids)
        screening_columns = ("patient_id", "visit_id", "urgency", "rule_set_version")
        self.read_records(
            "screenings.json", Screening, screening_columns, self.out.screenings, patient_ids, visit_ids
        )
        escalation_columns = ("patient_id", "rule_id", "tier", "status")
        self.read_records(
            "escalations.json", Escalation, escalation_columns, self.out.escalations, patient_ids, visit_ids
        )
        self.read_handouts(patient_ids)
        self.read_audit()
        self.progress(0.5)
        return self.out


# --- import: writing ---------------------------------------------------------------------------------


def _target_refusal(conn: Connection) -> str | None:
    """Why the target cannot take an import, or None when it is empty (demo accounts aside)."""

    def count(table: Any, *where: Any) -> int:
        return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar() or 0)

    held = {
        "patients": count(t.patients),
        "accounts": count(t.users, t.users.c.username.not_in(list(auth.DEMO_USERS))),
        "audit entries": count(t.audit),
        "records": sum(
            count(table) for table in (t.visits, t.revisions, t.screenings, t.escalations, t.handouts)
        ),
    }
    if any(held.values()):
        what = ", ".join(f"{n} {name}" for name, n in held.items() if n)
        # The imported audit chain must start the table: it is kept as it is, hashes and all.
        return f"{REFUSED_NOT_EMPTY} (the target holds {what}); import into a new, empty database"
    return None


def _write(conn: Connection, parsed: _Parsed, progress: Callable[[float], None]) -> None:
    # Demo accounts of an otherwise empty target make way for the clinic's own (others were refused).
    conn.execute(delete(t.users).where(t.users.c.username.in_(list(auth.DEMO_USERS))))
    conn.execute(delete(t.meta))
    if parsed.meta:
        conn.execute(insert(t.meta), [{"key": k, "value": v} for k, v in sorted(parsed.meta.items())])
    steps = (
        (t.users, parsed.users),
        (t.patients, parsed.patients),
        (t.visits, parsed.visits),
        (t.screenings, parsed.screenings),
        (t.escalations, parsed.escalations),
        (t.handouts, parsed.handouts),
        (t.revisions, parsed.revisions),
        (t.audit, parsed.audit),
    )
    for n, (table, rows) in enumerate(steps):
        for chunk in iter_chunks(rows, 500):
            conn.execute(insert(table), list(chunk))
        progress(0.5 + 0.45 * (n + 1) / len(steps))
    if parsed.audit and conn.dialect.name == "postgresql":
        # Rows went in with their own seq: move the serial past them for the entries that follow.
        conn.execute(
            text("SELECT setval(pg_get_serial_sequence('audit', 'seq'), :m)"),
            {"m": max(row["seq"] for row in parsed.audit)},
        )


def _signature_refusal(report: ImportReport, parsed: _Parsed) -> str:
    """Why an archive that this clinic's key did not sign is refused, and what the admin can do."""
    what = {
        "unsigned": "the archive is not signed (manifest.sig is missing): it was edited, or made elsewhere",
        "mismatch": "the archive's signature does not match this clinic's key: it was edited after the "
        "export, or signed by another clinic's key",
        "no key": "this server has no clinic key to check the archive's signature with",
    }[report.signature]
    signed_by = (
        f" (the archive names key {parsed.source_key_fingerprint})" if parsed.source_key_fingerprint else ""
    )
    return (
        f"{what}; checked with {report.key_used}{signed_by}. To restore this clinic's own export, make "
        "the key it was exported with available here (STRIDE_CLINIC_KEY, STRIDE_CLINIC_KEY_FILE, or "
        "clinic.key beside the SQLite file) and try again. To take in an archive from another clinic, "
        "import it as from another clinic: the import is audited as such, the demo flag is not taken "
        "over, and every account needs a new password"
    )


def _as_another_clinic(parsed: _Parsed) -> int:
    """Apply the rules for an archive from another clinic; returns the number of passwords dropped."""
    parsed.meta = {k: v for k, v in parsed.meta.items() if not k.startswith("demo")}
    dropped = 0
    for user in parsed.users:
        if user["password_hash"] != UNUSABLE_PASSWORD:
            dropped += 1
            user["password_hash"] = UNUSABLE_PASSWORD
    return dropped


def import_clinic(
    store: SqlStore,
    zip_path: str | os.PathLike[str],
    *,
    dry_run: bool = False,
    progress: Progress = None,
    actor: User | None = None,
    from_another_clinic: bool = False,
    key: bytes | None = None,
    limits: Limits | None = None,
) -> ImportReport:
    """Check an export and (unless `dry_run`) load it into this empty clinic in one transaction.

    Everything is checked before anything is written; any error, a refusal or a database error
    leaves the database as it was. The archive must carry this clinic's signature (`key`, by
    default this database's clinic key) unless `from_another_clinic`: then no password hash and
    no demo flag is taken over. The import is audited ("clinic.import"), chained after the
    imported audit rows. `actor` is the admin importing from the app (import_clinic permission).
    """
    if actor is not None:
        from dashboard.services import require

        require(store, actor, "import_clinic")
    report = ImportReport(dry_run=dry_run, from_another_clinic=from_another_clinic)
    url = store_url(store)
    if key is None:
        try:
            key = clinic_key.load_clinic_key(url, create=False)
        except clinic_key.ClinicKeyError as exc:
            report.key_used = str(exc)  # names the key's place
    if key is not None:
        if not report.key_used:
            report.key_used = clinic_key.key_source(url)
        report.key_used += f" (fingerprint {clinic_key.key_fingerprint(key)})"
    tick = progress or (lambda _fraction: None)
    reader = _Reader(zip_path, report, tick, limits)
    reader.clinic_key = store.clinic_key
    try:
        if reader.open_archive():
            parsed = reader.read_all()
            report.signature = reader.check_signature(key)
        else:
            return report
    except _Refused as exc:
        report.refused = str(exc)
        return report
    except (RecursionError, ValueError) as exc:  # a hostile file the checks above did not foresee
        reader.error(Path(zip_path).name, None, None, f"the file cannot be read ({type(exc).__name__})")
        return report
    report.counts = {
        "patients.csv": len(parsed.patients),
        "visits.csv": len(parsed.visits),
        "screenings.json": len(parsed.screenings),
        "escalations.json": len(parsed.escalations),
        "handouts.json": len(parsed.handouts),
        "revisions.json": len(parsed.revisions),
        "users.csv": len(parsed.users),
        "audit.json": len(parsed.audit),
    }
    passwords_dropped = _as_another_clinic(parsed) if from_another_clinic else 0
    if report.signature not in ("valid", "") and not from_another_clinic:
        report.refused = _signature_refusal(report, parsed)
    elif from_another_clinic:
        report.warnings.append(
            "imported as an archive from another clinic: the import is audited as such, the demo flag "
            "is not taken over, and no password hash is kept"
        )
    no_password = parsed.passwords_missing + passwords_dropped
    if no_password:
        report.warnings.append(
            f"{no_password} account(s) have no password after this import: nobody can log in with them "
            "until an admin sets a new password (python -m data.users create-admin makes a first admin)"
        )
    if report.refused is None:
        with store.read() as tx:
            report.refused = _target_refusal(tx.conn)
    if report.refused is not None or report.errors or dry_run:
        tick(1.0)
        return report
    try:
        with store.transaction() as tx:
            if tx.conn.dialect.name == "postgresql":
                tx.conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": AUDIT_LOCK_KEY})
            refusal = _target_refusal(tx.conn)
            if refusal is not None:
                raise _Refused(refusal)
            _write(tx.conn, parsed, tick)
            tx.refresh_summaries()  # derived, so not in the export: recomputed from what was imported
            tx.insert_audit(
                user_id=actor.id if actor else None,
                action="clinic.import",
                reason=(
                    "archive from another clinic, accepted by the admin: signature "
                    f"{report.signature}, password hashes and demo flag not taken over"
                    if from_another_clinic
                    else ""
                ),
                after={
                    "manifest_sha256": parsed.manifest_sha256,
                    "exported_at": parsed.source_created_at,
                    **{name.split(".")[0]: n for name, n in report.counts.items()},
                    "accounts_without_password": no_password,
                    "from_another_clinic": from_another_clinic,
                    "signature": report.signature,
                },
            )
    except _Refused as exc:
        report.refused = str(exc)
        return report
    except SQLAlchemyError as exc:
        # The database's own message may quote values: only its kind is reported.
        report.errors.append(
            RowError(
                Path(zip_path).name,
                None,
                None,
                f"the database refused the import ({type(exc).__name__}); nothing was written",
            )
        )
        return report
    report.imported = True
    tick(1.0)
    return report


# --- command line ------------------------------------------------------------------------------------


def _default_url() -> str:
    from dashboard.config import load_settings

    return load_settings().database_url


def main(argv: list[str] | None = None) -> int:
    """Command line: export or import a clinic (see the module docstring)."""
    from data.store import open_store

    parser = argparse.ArgumentParser(prog="python -m data.transfer", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    export = commands.add_parser("export", help="write the whole clinic to a zip")
    export.add_argument(
        "--database-url", default=None, help="default: STRIDE_DATABASE_URL or var/stride.sqlite3"
    )
    export.add_argument("--out", required=True, help="the zip file to write")
    export.add_argument("--include-password-hashes", action="store_true", help="also export password hashes")
    imp = commands.add_parser("import", help="load an export into an empty clinic")
    imp.add_argument(
        "--database-url", default=None, help="default: STRIDE_DATABASE_URL or var/stride.sqlite3"
    )
    imp.add_argument("file", help="the zip written by `export`")
    imp.add_argument("--dry-run", action="store_true", help="check everything, write nothing")
    imp.add_argument(
        "--from-another-clinic",
        action="store_true",
        help="accept an archive this clinic's key did not sign: audited as such, no password hash "
        "and no demo flag is taken over (every account needs a new password)",
    )
    args = parser.parse_args(argv)
    url = args.database_url or _default_url()
    store = open_store(url)
    try:
        if args.command == "export":
            try:
                manifest = export_clinic(
                    store, args.out, include_password_hashes=args.include_password_hashes
                )
            except clinic_key.ClinicKeyError as exc:
                print(f"Export refused: {exc}; nothing was written.", file=sys.stderr)
                return 2
            counts = ", ".join(
                f"{manifest.rows(name)} {name.split('.')[0]}"
                for name in ("patients.csv", "visits.csv", "audit.json")
            )
            print(f"Exported {counts} to {args.out}")
            print(
                f"Signed with {clinic_key.key_source(url)} (fingerprint {manifest.key_fingerprint}): "
                "a restore of this file needs the same key.",
                file=sys.stderr,
            )
            if args.include_password_hashes:
                print("The file holds password hashes: keep it as safe as the database.", file=sys.stderr)
            return 0
        report = import_clinic(
            store, args.file, dry_run=args.dry_run, from_another_clinic=args.from_another_clinic
        )
        if report.signature:  # only once the archive got as far as its manifest
            print(
                f"Signature {report.signature or 'not checked'}; clinic key: {report.key_used}",
                file=sys.stderr,
            )
        for error in report.errors:
            print(error, file=sys.stderr)
        for warning in report.warnings:
            print(f"warning: {warning}", file=sys.stderr)
        print(report.summary(), file=sys.stderr if report.exit_code else sys.stdout)
        return report.exit_code
    finally:
        store.close()


if __name__ == "__main__":
    raise SystemExit(main())
