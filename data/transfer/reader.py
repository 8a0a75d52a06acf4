"""Reading an export without trusting it: the archive, the manifest and its signature, CSV and JSON.

Every problem becomes a RowError naming the file, row and field, never the value (in a CSV the
header is row 1, so the first record is row 2; in a JSON list the first object is row 1). Members are
read through data/transfer/archive.py (names, count and sizes capped before anything is inflated);
JSON nested too deeply or holding numbers Python will not convert is a file error. What each file
must hold is checked in data/transfer/validate.py.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import math
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dashboard.models import field_errors
from dashboard.safe_text import csv_uncell
from data import clinic_key
from data.migrate import head_revision
from data.transfer.archive import ArchiveError, Limits, read_members
from data.transfer.codec import MAX_JSON_DEPTH, CellError, Column, json_depth, parse_cell
from data.transfer.layout import (
    DATA_FILES,
    FORMAT_NAME,
    FORMAT_VERSION,
    MANIFEST_NAME,
    MAX_ERRORS,
    OPTIONAL_DATA_FILES,
    PDF_MEMBER,
    READABLE_FORMAT_VERSIONS,
    SIGNATURE_NAME,
    Manifest,
    ManifestFile,
    Progress,
)

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


class Refused(Exception):
    """The archive or the target cannot take this import at all (exit code 2)."""


# --- import: reading and checking --------------------------------------------------------------------


_SAFE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,39}")


def column_label(name: str, position: int) -> str:
    """A column's name when it looks like one; otherwise its position (a header might hold patient data)."""
    return name if _SAFE_NAME.fullmatch(name) else f"column {position}"


@dataclass
class Parsed:
    """Everything read from the archive, checked and ready to insert."""

    meta: dict[str, str] = field(default_factory=dict)
    users: list[dict[str, Any]] = field(default_factory=list)
    patients: list[dict[str, Any]] = field(default_factory=list)
    visits: list[dict[str, Any]] = field(default_factory=list)
    revisions: list[dict[str, Any]] = field(default_factory=list)
    screenings: list[dict[str, Any]] = field(default_factory=list)
    escalations: list[dict[str, Any]] = field(default_factory=list)
    episodes: list[dict[str, Any]] = field(default_factory=list)
    has_episodes: bool = False  # the archive holds episodes.json (made after migration 0009)
    handouts: list[dict[str, Any]] = field(default_factory=list)
    letters: list[dict[str, Any]] = field(default_factory=list)
    # The patient's own voice (clinical-reference §12): links, check-ins and diary entries.
    invites: list[dict[str, Any]] = field(default_factory=list)
    patient_reports: list[dict[str, Any]] = field(default_factory=list)
    diary_entries: list[dict[str, Any]] = field(default_factory=list)
    audit: list[dict[str, Any]] = field(default_factory=list)
    passwords_missing: int = 0
    manifest_sha256: str = ""
    source_created_at: str | None = None
    source_key_fingerprint: str = ""


class Reader:
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
        self.out = Parsed()
        self.now = dt.datetime.now(dt.UTC)
        self.clinic_key = b""  # the importing store's, which checks (or re-seals) the audit chain

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
                allowed=(*DATA_FILES, *OPTIONAL_DATA_FILES, MANIFEST_NAME, SIGNATURE_NAME),
                pdf_pattern=PDF_MEMBER,
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
        data = self.parse_json(MANIFEST_NAME, raw)
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
            raise Refused(
                f"the export uses format version {version}; "
                f"this version of Stride reads version {FORMAT_VERSION}"
            )
        self.uncell = version >= 2
        head = head_revision()
        if data.get("schema_version") != head:
            raise Refused(
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
            known = (*DATA_FILES, *OPTIONAL_DATA_FILES, MANIFEST_NAME, SIGNATURE_NAME)
            if fname not in known and not PDF_MEMBER.fullmatch(fname):
                self.error(fname, None, None, "unexpected file in the archive")

    def check_count(self, fname: str, count: int) -> None:
        expected = self.manifest.rows(fname) if self.manifest else None
        if expected is not None and expected != count:
            self.error(fname, None, None, f"holds {count} rows, the manifest says {expected}")

    # text, CSV and JSON
    def text_of(self, fname: str, raw: bytes) -> str | None:
        try:
            text_value = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].count(b"\n") + 1
            self.error(fname, None, None, f"not UTF-8 text (first bad byte on line {line})")
            return None
        return text_value.removeprefix("\ufeff")

    def parse_json(self, fname: str, raw: bytes) -> Any:
        text_value = self.text_of(fname, raw)
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
        if json_depth(data) > MAX_JSON_DEPTH:
            self.error(fname, None, None, f"not valid here: nested deeper than {MAX_JSON_DEPTH} levels")
            return None
        return data

    def csv_rows(self, fname: str, columns: list[Column]) -> Iterator[tuple[int, dict[str, Any]]]:
        """Yield (row number, typed values) for every record whose cells all parse."""
        raw = self.members.get(fname)
        if raw is None:
            return
        text_value = self.text_of(fname, raw)
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
                self.error(fname, 1, column_label(name, position), "column appears more than once")
                fatal = True
            elif name not in known:
                self.error(fname, 1, column_label(name, position), "unknown column")
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
                    values[name] = parse_cell(cell, column.kind)
                except CellError as exc:
                    self.error(fname, row_number, name, str(exc))
                    good = False
                    continue
                if column.max_len is not None and len(cell) > column.max_len:
                    self.error(fname, row_number, name, f"longer than {column.max_len} characters")
                    good = False
            if good:
                yield row_number, values
        self.check_count(fname, count)

    def json_list(self, fname: str) -> list[Any]:
        raw = self.members.get(fname)
        if raw is None:
            return []
        data = self.parse_json(fname, raw)
        if data is None:
            return []
        if not isinstance(data, list):
            self.error(fname, None, None, "must be a JSON list of objects")
            return []
        self.check_count(fname, len(data))
        return data

    def json_record(
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
                self.error(fname, row, column_label(str(key), 0), "unknown field")
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
                out[column.name] = self.json_value(value, column)
            except CellError as exc:
                self.error(fname, row, column.name, str(exc))
                good = False
        return out if good else None

    def patient_records(
        self, fname: str, keys: list[Column], patient_ids: set[str]
    ) -> list[tuple[int, dict[str, Any]]]:
        """(row, object) of a JSON list file whose keys check out and whose patient is in patients.csv."""
        rows = []
        for n, item in enumerate(self.json_list(fname), start=1):
            checked = self.json_record(fname, n, item, keys)
            if checked is None:
                continue
            if checked["patient_id"] not in patient_ids:
                self.error(fname, n, "patient_id", "no patient with this id in patients.csv")
                continue
            rows.append((n, checked))
        return rows

    @staticmethod
    def json_value(value: Any, column: Column) -> Any:
        kind = column.kind
        if kind == "json":
            if not isinstance(value, dict):
                raise CellError("must be a JSON object or null")
            return value
        if kind == "ids":  # a list of record ids (a letter's escalations)
            if not isinstance(value, list) or not all(isinstance(v, str) and 0 < len(v) <= 36 for v in value):
                raise CellError("must be a list of ids")
            return value
        if kind in ("str", "timestamp", "date"):
            if not isinstance(value, str):
                raise CellError("must be a string")
            if column.max_len is not None and len(value) > column.max_len:
                raise CellError(f"longer than {column.max_len} characters")
            return parse_cell(value, kind)
        if kind == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                raise CellError("must be a whole number")
            return value
        if kind == "float":
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise CellError("must be a number")
            return float(value)
        if kind == "bool":
            if not isinstance(value, bool):
                raise CellError("must be true or false")
            return value
        raise AssertionError(kind)

    def duplicates(self, fname: str, rows: list[tuple[int, Any]], field_name: str) -> set[Any]:
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

    def model_errors(self, fname: str, row: int, exc: Exception) -> None:
        for name, message in field_errors(exc).items():
            self.error(fname, row, None if name == "_" else name, message)

    # the files
