"""Writing the clinic export and the per-patient subject-access export.

Rows are sorted and formatted deterministically (data/transfer/codec.py), members get a fixed
timestamp, and the zip is written beside its target and renamed over it only when complete. Who
may export is the caller's question (the pages check the permission first; the command line runs
as the operator): `actor` here only names who is audited.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import tempfile
import zipfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select

from dashboard.models import BOOKKEEPING_FIELDS, Visit
from dashboard.ports import NotFoundError, User
from data import clinic_key
from data import tables as t
from data.migrate import head_revision
from data.store import (
    SqlStore,
    bookkeeping_from_row,
    episode_from_row,
    escalation_from_row,
    patient_from_row,
    screening_from_row,
    visit_from_row,
)
from data.transfer.audit import audit_export, audit_json
from data.transfer.codec import (
    csv_bytes,
    format_cell,
    format_timestamp,
    item_order,
    json_bytes,
    records_csv,
    ts_key,
    utc,
)
from data.transfer.layout import (
    CHILD_TABLES,
    MANIFEST_NAME,
    PASSWORD_COLUMN,
    PATIENT_COLUMNS,
    PATIENT_REPORTED_TABLES,
    SIGNATURE_NAME,
    SUBJECT_ACCESS_FORMAT,
    SUBJECT_ACCESS_VERSION,
    USER_COLUMNS,
    VISIT_COLUMNS,
    ZIP_EPOCH,
    ChildTable,
    Manifest,
    ManifestFile,
    Progress,
)


def bookkeeping_json(values: dict[str, Any]) -> dict[str, Any]:
    """Bookkeeping values with their timestamps in the export's format."""
    return {
        **values,
        "recorded_at": format_timestamp(values["recorded_at"]),
        "updated_at": format_timestamp(values["updated_at"]),
    }


def model_json(record: Any) -> dict[str, Any]:
    """A record as JSON: bookkeeping in the export's timestamp format, then its fields."""
    bookkeeping = {name: getattr(record, name) for name in BOOKKEEPING_FIELDS}
    return {
        **bookkeeping_json(bookkeeping),
        **record.model_dump(mode="json", exclude=set(BOOKKEEPING_FIELDS)),
    }


def revision_json(row: Any) -> dict[str, Any]:
    """One revision row (every column of the revisions table) as an object of revisions.json."""
    return {**row._asdict(), "changed_at": format_timestamp(row.changed_at)}


def handout_json(row: Any) -> dict[str, Any]:
    """One handout row (every column of the handouts table, the PDF named by its member) as an object
    of handouts.json."""
    return {**row._asdict(), **bookkeeping_json(bookkeeping_from_row(row)), "pdf": f"handouts/{row.id}.pdf"}


def letter_json(row: Any) -> dict[str, Any]:
    """One letter row (without its PDF) as an object of letters.json: the content as printed, the
    escalations it closed (a referral letter is their evidence) and the SHA-256 of the PDF as given."""
    columns = {name: value for name, value in row._asdict().items() if name != "data"}
    return {
        **columns,
        **bookkeeping_json(bookkeeping_from_row(row)),
        "content": row.data.get("content", {}),
        "escalation_ids": list(row.data.get("escalation_ids", ())),
        "pdf": f"letters/{row.id}.pdf",
    }


def stored_json(row: Any) -> dict[str, Any]:
    """A stored row as a JSON object, every column: timestamps in the export's format, dates YYYY-MM-DD."""
    return {
        name: format_timestamp(value)
        if isinstance(value, dt.datetime)
        else value.isoformat()
        if isinstance(value, dt.date)
        else value
        for name, value in row._asdict().items()
    }


def patient_reported_json(
    conn: Connection, order: Mapping[str | None, int], patient_id: str | None = None
) -> dict[str, list[dict[str, Any]]]:
    """Invites (their token's hash only), check-in reports and diary entries as JSON objects by file,
    in the patients' order and then by time; one patient's only with `patient_id`."""
    out = {}
    for fname, (table, when) in PATIENT_REPORTED_TABLES.items():
        stmt = select(table)
        if patient_id is not None:
            stmt = stmt.where(table.c.patient_id == patient_id)
        rows = [
            (order.get(row.patient_id, -1), utc(getattr(row, when)), row.id, row)
            for row in conn.execute(stmt)
        ]
        out[fname] = [stored_json(row) for *_key, row in sorted(rows, key=lambda r: r[:3])]
    return out


def _child_rows(table: ChildTable, vid: str, value: Any) -> Iterator[list[str]]:
    """The rows of one nested visit field in its child table (None or empty: no rows)."""
    if table.instrument is None:  # a findings set, sorted
        for finding in sorted(value or ()):
            yield [vid, format_cell(finding, "str")]
        return
    answer_kind = next(c.kind for c in table.columns if c.name == table.answer_column)
    if table.positional:
        for position, item in enumerate(value or [], start=1):
            if table.extra_columns:  # an object per item (PSFS): its fields, then the answer
                extras = [format_cell(getattr(item, name), "str") for name in table.extra_columns]
                yield [
                    vid,
                    str(position),
                    *extras,
                    format_cell(getattr(item, table.answer_column), answer_kind),
                ]
            else:
                yield [vid, str(position), format_cell(item, answer_kind)]
        return
    mapping = value or {}
    for key in sorted(mapping, key=item_order):
        yield [vid, format_cell(key, "str"), format_cell(mapping[key], answer_kind)]


def visit_children(visit: Visit) -> dict[str, list[list[str]]]:
    """The child-table rows of one visit, by file."""
    vid = visit.id or ""
    return {
        name: list(_child_rows(table, vid, getattr(visit, table.visit_field)))
        for name, table in CHILD_TABLES.items()
    }


class ZipWriter:
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
def atomic_zip(out_path: str | os.PathLike[str]) -> Iterator[ZipWriter]:
    """A zip written beside `out_path` and renamed over it only when complete (owner-only permissions)."""
    target = Path(out_path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    os.close(fd)
    try:
        with zipfile.ZipFile(tmp_name, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            yield ZipWriter(archive)
        os.chmod(tmp_name, 0o600)
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


@contextmanager
def snapshot(store: SqlStore) -> Iterator[Connection]:
    """One consistent read of the whole database (REPEATABLE READ on PostgreSQL, a WAL snapshot on SQLite)."""
    with store.read() as tx:
        if tx.conn.dialect.name == "postgresql":
            tx.conn.execution_options(isolation_level="REPEATABLE READ")
        yield tx.conn


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

    `actor` is the admin exporting from the app (the caller checks the export_clinic permission
    first); the command line passes None. The audit entry is written after the snapshot, so an export never
    contains its own entry. manifest.sig is the clinic key's HMAC of manifest.json (`key`, by
    default this database's clinic key, created when it has none yet).
    """
    if key is None:
        key = clinic_key.load_clinic_key(store_url(store))
    report = progress or (lambda _fraction: None)
    created_at = format_timestamp(dt.datetime.now(dt.UTC))
    with snapshot(store) as conn, atomic_zip(out_path) as out:
        meta = {row.key: row.value for row in conn.execute(select(t.meta))}
        out.add("meta.json", json_bytes(dict(sorted(meta.items()))), len(meta))

        user_rows = sorted(conn.execute(select(t.users)), key=lambda r: (r.username, r.id))
        columns = [*USER_COLUMNS, *([PASSWORD_COLUMN] if include_password_hashes else [])]
        out.add("users.csv", *records_csv(columns, user_rows))
        report(0.05)

        patients = [patient_from_row(row) for row in conn.execute(select(t.patients))]
        patients.sort(key=lambda p: (p.patient_ref, p.id or ""))
        order = {p.id: n for n, p in enumerate(patients)}
        out.add("patients.csv", *records_csv(PATIENT_COLUMNS, patients))
        report(0.15)

        visits = [visit_from_row(row) for row in conn.execute(select(t.visits))]
        visits.sort(
            key=lambda v: (
                order.get(v.patient_id, -1),
                v.visit_date,
                ts_key(v.recorded_at),
                v.id,
            )
        )
        out.add("visits.csv", *records_csv(VISIT_COLUMNS, visits))
        children: dict[str, list[list[str]]] = {name: [] for name in CHILD_TABLES}
        for visit in visits:
            for name, rows in visit_children(visit).items():
                children[name].extend(rows)
        for name, rows in children.items():
            out.add(name, *csv_bytes([c.name for c in CHILD_TABLES[name].columns], rows))
        report(0.4)

        revisions = sorted(
            conn.execute(select(t.revisions)),
            key=lambda r: (utc(r.changed_at), r.entity, r.entity_id, r.version, r.id),
        )
        out.add("revisions.json", json_bytes([revision_json(r) for r in revisions]), len(revisions))
        screenings = sorted(
            (screening_from_row(r) for r in conn.execute(select(t.screenings))),
            key=lambda s: (ts_key(s.recorded_at), s.id),
        )
        out.add("screenings.json", json_bytes([model_json(s) for s in screenings]), len(screenings))
        escalations = sorted(
            (escalation_from_row(r) for r in conn.execute(select(t.escalations))),
            key=lambda e: (ts_key(e.recorded_at), e.id),
        )
        out.add("escalations.json", json_bytes([model_json(e) for e in escalations]), len(escalations))
        episodes = sorted(
            (episode_from_row(r) for r in conn.execute(select(t.episodes))),
            key=lambda e: (order.get(e.patient_id, -1), ts_key(e.recorded_at), e.id),
        )
        out.add("episodes.json", json_bytes([model_json(e) for e in episodes]), len(episodes))
        for name, objects in patient_reported_json(conn, order).items():
            out.add(name, json_bytes(objects), len(objects))
        report(0.5)

        # The PDFs are fetched one at a time: a clinic's handouts and letters do not fit in memory at once.
        for table, name, as_json, start, share in (
            (t.handouts, "handouts", handout_json, 0.5, 0.2),
            (t.letters, "letters", letter_json, 0.7, 0.1),
        ):
            without_pdf = [c for c in table.c if c.name != "pdf"]
            records = sorted(conn.execute(select(*without_pdf)), key=lambda r: (utc(r.recorded_at), r.id))
            out.add(f"{name}.json", json_bytes([as_json(r) for r in records]), len(records))
            for n, row in enumerate(records):
                pdf = conn.execute(select(table.c.pdf).where(table.c.id == row.id)).scalar_one()
                out.add(f"{name}/{row.id}.pdf", bytes(pdf), None)
                if n % 50 == 0:
                    report(start + share * n / len(records))
        report(0.8)

        audit_rows = [audit_json(r) for r in conn.execute(select(t.audit).order_by(t.audit.c.seq))]
        out.add("audit.json", json_bytes(audit_rows), len(audit_rows))

        manifest = Manifest(
            schema_version=head_revision() or "",
            created_at=created_at,
            include_password_hashes=include_password_hashes,
            files=dict(out.files),
            key_fingerprint=clinic_key.key_fingerprint(key),
        )
        manifest_bytes = json_bytes(manifest.to_json())
        out.add(MANIFEST_NAME, manifest_bytes, None, listed=False)
        out.add(
            SIGNATURE_NAME, (clinic_key.sign(key, manifest_bytes) + "\n").encode("ascii"), None, listed=False
        )
    audit_export(
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
    """Subject-access export: one patient's whole record as patient.json plus their handout and letter PDFs.

    patient.json holds the patient, every visit (archived ones too, nested fields as lists and
    mappings), every revision, screening, escalation and episode, the lists of handouts and letters
    given (each PDF as given, with its SHA-256), and the patient's own voice: their links (without
    the token's hash), check-in answers and diary entries; the export is audited ("export.patient").
    """
    with snapshot(store) as conn, atomic_zip(out_path) as out:
        row = conn.execute(select(t.patients).where(t.patients.c.id == patient_id)).first()
        if row is None:
            raise NotFoundError("Patient not found.")
        patient = patient_from_row(row)
        visits = sorted(
            (
                visit_from_row(r)
                for r in conn.execute(select(t.visits).where(t.visits.c.patient_id == patient_id))
            ),
            key=lambda v: (v.visit_date, ts_key(v.recorded_at), v.id),
        )
        revisions = sorted(
            conn.execute(select(t.revisions).where(t.revisions.c.patient_id == patient_id)),
            key=lambda r: (utc(r.changed_at), r.entity, r.entity_id, r.version, r.id),
        )
        screenings = sorted(
            (
                screening_from_row(r)
                for r in conn.execute(select(t.screenings).where(t.screenings.c.patient_id == patient_id))
            ),
            key=lambda s: (ts_key(s.recorded_at), s.id),
        )
        escalations = sorted(
            (
                escalation_from_row(r)
                for r in conn.execute(select(t.escalations).where(t.escalations.c.patient_id == patient_id))
            ),
            key=lambda e: (ts_key(e.recorded_at), e.id),
        )
        episodes = sorted(
            (
                episode_from_row(r)
                for r in conn.execute(select(t.episodes).where(t.episodes.c.patient_id == patient_id))
            ),
            key=lambda e: (ts_key(e.recorded_at), e.id),
        )
        handouts = sorted(
            conn.execute(select(t.handouts).where(t.handouts.c.patient_id == patient_id)),
            key=lambda r: (utc(r.recorded_at), r.id),
        )
        letters = sorted(
            conn.execute(select(t.letters).where(t.letters.c.patient_id == patient_id)),
            key=lambda r: (utc(r.recorded_at), r.id),
        )
        voice = patient_reported_json(conn, {}, patient_id)
        record = {
            "format": SUBJECT_ACCESS_FORMAT,
            "format_version": SUBJECT_ACCESS_VERSION,
            "created_at": format_timestamp(dt.datetime.now(dt.UTC)),
            "patient": model_json(patient),
            "visits": [model_json(v) for v in visits],
            "revisions": [revision_json(r) for r in revisions],
            "screenings": [model_json(s) for s in screenings],
            "escalations": [model_json(e) for e in escalations],
            "episodes": [model_json(e) for e in episodes],
            "handouts": [handout_json(h) for h in handouts],
            "letters": [letter_json(letter) for letter in letters],
            # The patient's links (what kind, when made, until when, used or revoked; no token hash),
            # their check-in answers and their walking diary (clinical-reference §12).
            "invites": [
                {k: v for k, v in invite.items() if k != "token_hash"} for invite in voice["invites.json"]
            ],
            "patient_reports": voice["patient_reports.json"],
            "diary_entries": voice["diary_entries.json"],
        }
        out.add("patient.json", json_bytes(record), 1)
        for handout in handouts:
            out.add(f"handouts/{handout.id}.pdf", bytes(handout.pdf), None)
        for letter in letters:
            out.add(f"letters/{letter.id}.pdf", bytes(letter.pdf), None)
    audit_export(
        store, actor, "export.patient", entity="patient", entity_id=patient_id, patient_id=patient_id
    )
    return Path(out_path)
