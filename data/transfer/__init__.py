"""Clinic export and import (moving a clinic to another server), and the per-patient subject-access export.

    python -m data.transfer export --database-url URL --out FILE.zip [--include-password-hashes]
    python -m data.transfer import --database-url URL FILE.zip [--dry-run] [--from-another-clinic]

Signing: manifest.sig is the clinic key's HMAC-SHA256 of manifest.json (data/clinic_key.py), so an
archive edited after the export (a users.csv row added, the manifest's checksums fixed up) no longer
imports as this clinic's own. A restore needs the same key on the importing server. An archive from
another clinic (or without a valid signature) imports only when the admin says so: audited as such,
with no password hash (every account needs a new one) and no demo flag.

The zip (format version 2) holds UTF-8 CSV and JSON named with the data-dictionary vocabulary:
patients.csv and visits.csv (scalar fields; an empty cell is None), one child table per nested visit
field (the instruments' tables as the catalogue lays them out: odi_sections.csv, rmdq_items.csv,
zcq_items.csv, startback.csv, psfs.csv; then posture_findings.csv, footwear_findings.csv),
revisions.json, screenings.json, escalations.json, episodes.json, handouts.json with the PDFs as
handouts/<id>.pdf, letters.json with the PDFs as letters/<id>.pdf (both PDFs exactly as given),
the patient's own voice (invites.json with each link's token hash, never a token; patient_reports.json;
diary_entries.json; checked in data/transfer/patient_reported.py), audit.json, users.csv (password
hashes only when asked for), meta.json, manifest.json (row counts, schema and format versions,
created_at, the signing key's fingerprint and the SHA-256 of every other file) and manifest.sig.
Bookkeeping fields are kept, rows are sorted and formatted deterministically: export -> import
into an empty database -> export gives the same files apart from the import's own audit entry (and
manifest.json, manifest.sig). An empty list or mapping is written as no child rows
and read back as None (the visit form never stores an empty one).

The package, one job per module:
    codec      cell kinds (text, numbers, dates, UTC timestamps) written and read back strictly
    layout     the files, their columns and keys (child tables from dashboard.catalogue), the manifest
    archive    reading the zip without trusting it (names, member count and sizes capped)
    audit      audit.json out and in (the chain check), the export and import audit entries
    export     export_clinic, export_clinic_bytes, export_patient (subject access)
    reader     the archive, manifest, signature, CSV and JSON checks, RowError and ImportReport
    validate   what each file must hold (models, references, the catalogue's allowed answers)
    patient_reported  invites, check-in reports and diary entries: references and the form's rules
    writer     import_clinic: the refusals and the one transaction that writes it all
    cli        `python -m data.transfer` (run as the operator: no account, no permission check)

Permissions are the caller's: the pages check export_clinic / export_patient / import_clinic (the
services layer) before calling here; `actor` only names who is audited.
"""

from __future__ import annotations

from data.transfer.archive import ArchiveError, Limits
from data.transfer.cli import main
from data.transfer.codec import CellError, Column, format_timestamp, parse_date, parse_timestamp
from data.transfer.export import export_clinic, export_clinic_bytes, export_patient, store_url
from data.transfer.layout import (
    CHILD_COLUMNS,
    CHILD_FIELD,
    CHILD_TABLES,
    DATA_FILES,
    FORMAT_NAME,
    FORMAT_VERSION,
    MANIFEST_NAME,
    PATIENT_COLUMNS,
    SIGNATURE_NAME,
    USER_COLUMNS,
    VISIT_COLUMNS,
    ChildTable,
    Manifest,
    ManifestFile,
)
from data.transfer.reader import ImportReport, RowError
from data.transfer.writer import import_clinic

__all__ = [
    "CHILD_COLUMNS",
    "CHILD_FIELD",
    "CHILD_TABLES",
    "DATA_FILES",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "MANIFEST_NAME",
    "PATIENT_COLUMNS",
    "SIGNATURE_NAME",
    "USER_COLUMNS",
    "VISIT_COLUMNS",
    "ArchiveError",
    "CellError",
    "ChildTable",
    "Column",
    "ImportReport",
    "Limits",
    "Manifest",
    "ManifestFile",
    "RowError",
    "export_clinic",
    "export_clinic_bytes",
    "export_patient",
    "format_timestamp",
    "import_clinic",
    "main",
    "parse_date",
    "parse_timestamp",
    "store_url",
]
