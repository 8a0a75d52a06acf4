"""Clinic export / import and the subject-access export (data.transfer), on SQLite and PostgreSQL.

The source clinic is the `store` fixture filled with the demo clinic plus a little real use (a new
account, a corrected and an archived visit, a closed escalation, a handout); the target is a second
fresh database of the same kind.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import uuid
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dashboard import letter_services, services
from dashboard.config import Settings
from dashboard.ports import PermissionDeniedError, User
from data import clinic_key, demo
from data.store import open_store
from data.transfer import RowError, export_clinic, export_patient, import_clinic, main
from reports import letters as letter_pdf
from tests.integration.support import CLEAN_SCREEN, PASSWORD, counts

FAKE_PDF = b"%PDF-1.4\n% a stand-in handout for the transfer tests\n%%EOF\n"
# The clinic key of both databases in these tests (a restore of the same clinic), never a file in var/.
CLINIC_KEY = bytes(range(32))


@pytest.fixture(autouse=True)
def _clinic_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STRIDE_CLINIC_KEY", CLINIC_KEY.hex())


def _user(store: Any, username: str) -> User:
    with store.read() as tx:
        user = tx.get_user_by_username(username)
    assert user is not None
    return user


@pytest.fixture
def clinic(store: Any) -> dict[str, Any]:
    """The demo clinic (15 patients, seed 5) after some real use of the app."""
    demo.generate(store, patients=15, seed=5)
    admin, clinician = _user(store, "demo.admin"), _user(store, "demo.clinician")
    services.create_user(
        store, admin, username="nina.physio", display_name="Nina Physio", role="clinician", password=PASSWORD
    )
    with store.read() as tx:
        patients = sorted(tx.search_patients("", limit=100), key=lambda p: p.patient_ref)
    patient = patients[0]
    visit, _screening = services.record_visit(
        store,
        clinician,
        patient.id,
        {
            **CLEAN_SCREEN,
            "visit_date": dt.date.today(),
            "pain_nrs": 4,
            "odi_sections": [2, 1, None, 3, 2, 1, 0, None, 2, 1],
            "rmdq_items": [i % 3 == 0 for i in range(24)],
            "zcq_items": {"q1": 3, "q7": 5, "q12": 2},
            "startback": {"q1": "agree", "q2": "disagree", "q9": "moderately"},
            "psfs": [
                {"activity": "Walking to the shops", "score": 5},
                {"activity": "Gardening", "score": None},
            ],
            "walk_protocol": "6mwt",
            "walk_total_m": 312.5,
            "temperature_c": 36.8,
            "posture_findings": {"forward_lean", "anterior_pelvic_tilt"},
            "footwear_findings": {"worn_cushioning"},
            "notes": 'Line one, with "quotes";\nline two: Zoë, 李, Ωμέγα.',
        },
    )
    services.correct_visit(
        store, clinician, visit.id, {"pain_nrs": 3}, expected_version=visit.version, reason="Typed 4, said 3"
    )
    other_visit = None
    with store.read() as tx:
        other_visit = tx.visits(patients[1].id)[0]
        open_flags = tx.escalations(status="open")
    services.set_visit_archived(store, clinician, other_visit.id, archived=True, reason="Entered twice")
    flag = open_flags[0]
    services.close_escalation(
        store, clinician, flag.id, action="urgent_referral", detail="", expected_version=flag.version
    )
    # A red-flag event closed with a referral letter: the letter is that closure's evidence.
    group = services.open_escalation_groups(store, clinician)[0]
    letter, _closed = letter_services.refer_with_letter(
        store,
        clinician,
        group.patient.saved_id,
        group.versions,
        recipient="gp",
        told="See your GP this week; if new numbness appears, go to the emergency department.",
        told_at=dt.datetime.now(dt.UTC),
        settings=Settings(),
        render=letter_pdf.render,
    )
    handout = services.record_handout(
        store,
        clinician,
        patient.id,
        pdf=FAKE_PDF,
        plan={"items": ["walking"], "summary": "Walk a little further each week."},
        rule_set_version="test-rules",
        library_version="test-library",
    )
    return {"patient": patient, "other": patients[1], "handout": handout, "letter": letter, "admin": admin}


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _write_zip(
    path: Path, members: dict[str, bytes], *, fix_manifest: bool = True, sign_with: bytes | None = CLINIC_KEY
) -> Path:
    """Write `members` as a zip; unless told otherwise, bring the manifest's checksums up to date and
    sign it again with the clinic key (as only someone holding the key could)."""
    if fix_manifest and "manifest.json" in members:
        manifest = json.loads(members["manifest.json"])
        for name, entry in manifest["files"].items():
            if name in members:
                entry["sha256"] = hashlib.sha256(members[name]).hexdigest()
                entry["bytes"] = len(members[name])
        members = {**members, "manifest.json": json.dumps(manifest).encode()}
        if sign_with is not None:
            signature = clinic_key.sign(sign_with, members["manifest.json"])
            members["manifest.sig"] = signature.encode()
        else:
            members.pop("manifest.sig", None)
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _edit_csv(
    members: dict[str, bytes], name: str, edit: Callable[[list[str], list[list[str]]], None]
) -> None:
    rows = list(csv.reader(io.StringIO(members[name].decode("utf-8"), newline="")))
    header, body = rows[0], rows[1:]
    edit(header, body)
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\n").writerows([header, *body])
    members[name] = out.getvalue().encode("utf-8")


def _set(name: str, row: int, column: str, value: str) -> Callable[[dict[str, bytes]], None]:
    """Set one cell (row 0 is the first record, CSV row 2)."""

    def edit(members: dict[str, bytes]) -> None:
        def change(header: list[str], body: list[list[str]]) -> None:
            body[row][header.index(column)] = value

        _edit_csv(members, name, change)

    return edit


def _copy_cell(name: str, column: str) -> Callable[[dict[str, bytes]], None]:
    """Give the second record the first record's value (a duplicate)."""

    def edit(members: dict[str, bytes]) -> None:
        def change(header: list[str], body: list[list[str]]) -> None:
            body[1][header.index(column)] = body[0][header.index(column)]

        _edit_csv(members, name, change)

    return edit


def _add_column(members: dict[str, bytes]) -> None:
    def change(header: list[str], body: list[list[str]]) -> None:
        header.append("shoe_size")
        for row in body:
            row.append("42")

    _edit_csv(members, "patients.csv", change)


def _drop_column(members: dict[str, bytes]) -> None:
    def change(header: list[str], body: list[list[str]]) -> None:
        index = header.index("birth_date")
        for row in [header, *body]:
            del row[index]

    _edit_csv(members, "patients.csv", change)


def _latin1_byte(members: dict[str, bytes]) -> None:
    members["visits.csv"] = members["visits.csv"].replace(
        b"Fictional demo visit.", b"Fictional visit \xe9.", 1
    )


def _tamper_audit(members: dict[str, bytes]) -> None:
    rows = json.loads(members["audit.json"])
    rows[1]["reason"] = "rewritten later"
    members["audit.json"] = json.dumps(rows).encode()


def _drop_manifest(members: dict[str, bytes]) -> None:
    del members["manifest.json"]


def _without(members: dict[str, bytes], *names: str) -> dict[str, bytes]:
    """An archive as an older Stride wrote it: no <name>.json, no <name>/ PDFs, none in the manifest."""
    gone = {m for m in members for name in names if m == f"{name}.json" or m.startswith(f"{name}/")}
    manifest = json.loads(members["manifest.json"])
    manifest["files"] = {n: f for n, f in manifest["files"].items() if n not in gone}
    kept = {n: data for n, data in members.items() if n not in gone}
    return {**kept, "manifest.json": json.dumps(manifest).encode()}


def _edit_letter(key: str, value: Any) -> Callable[[dict[str, bytes]], None]:
    """Set one field of the first letter in letters.json."""

    def edit(members: dict[str, bytes]) -> None:
        letters = json.loads(members["letters.json"])
        letters[0][key] = value
        members["letters.json"] = json.dumps(letters).encode()

    return edit


def _letter_of_another_patients_escalation(members: dict[str, bytes]) -> None:
    letter = json.loads(members["letters.json"])[0]
    other = next(
        e["id"] for e in json.loads(members["escalations.json"]) if e["patient_id"] != letter["patient_id"]
    )
    _edit_letter("escalation_ids", [other])(members)


def _letter_pdf_changed(members: dict[str, bytes]) -> None:
    (name,) = [m for m in members if m.startswith("letters/")]
    members[name] = members[name] + b"% appended after the letter was given\n"


def _stray_letter_pdf(members: dict[str, bytes]) -> None:
    members[f"letters/{uuid.UUID(int=7)}.pdf"] = FAKE_PDF
    manifest = json.loads(members["manifest.json"])
    manifest["files"][f"letters/{uuid.UUID(int=7)}.pdf"] = {"sha256": "", "bytes": 0, "rows": None}
    members["manifest.json"] = json.dumps(manifest).encode()


# (case, edit of the archive's members or None for a malformed zip, keep the manifest stale,
#  expected errors as (file, row, field, words in the message); file None = the zip's own name)
BAD_FILES = [
    pytest.param(None, False, [(None, None, None, "not a readable zip")], id="malformed-zip"),
    pytest.param(_latin1_byte, False, [("visits.csv", None, None, "not UTF-8")], id="bad-encoding"),
    pytest.param(
        _add_column, False, [("patients.csv", 1, "shoe_size", "unknown column")], id="unknown-column"
    ),
    pytest.param(
        _drop_column,
        False,
        [("patients.csv", 1, "birth_date", "missing required column")],
        id="missing-column",
    ),
    pytest.param(
        _copy_cell("patients.csv", "patient_ref"),
        False,
        [("patients.csv", 3, "patient_ref", "duplicate")],
        id="duplicate-patient-ref",
    ),
    pytest.param(
        _copy_cell("visits.csv", "id"), False, [("visits.csv", 3, "id", "duplicate")], id="duplicate-id"
    ),
    pytest.param(
        _set("patients.csv", 0, "birth_date", "12/04/1958"),
        False,
        [("patients.csv", 2, "birth_date", "YYYY-MM-DD")],
        id="bad-date-format",
    ),
    pytest.param(
        _set("visits.csv", 1, "visit_date", "2026-13-01"),
        False,
        [("visits.csv", 3, "visit_date", "not a valid calendar date")],
        id="impossible-date",
    ),
    pytest.param(
        _set("patients.csv", 2, "sex", "Zebra"), False, [("patients.csv", 4, "sex", "")], id="bad-value"
    ),
    pytest.param(
        _set("visits.csv", 0, "pain_nrs", "11"), False, [("visits.csv", 2, "pain_nrs", "")], id="out-of-range"
    ),
    pytest.param(
        _set("odi_sections.csv", 0, "score", "7"),
        False,
        [("odi_sections.csv", 2, "score", "0 to 5")],
        id="bad-child-row",
    ),
    pytest.param(
        _set("visits.csv", 0, "notes", "changed after the export"),
        True,
        [("visits.csv", None, None, "checksum mismatch")],
        id="checksum-mismatch",
    ),
    pytest.param(
        _set("visits.csv", 0, "patient_id", str(uuid.UUID(int=1))),
        False,
        [("visits.csv", 2, "patient_id", "no patient")],
        id="visit-without-patient",
    ),
    pytest.param(_drop_manifest, False, [("manifest.json", None, None, "missing")], id="missing-manifest"),
    pytest.param(_tamper_audit, False, [("audit.json", 2, "hash", "broken at seq")], id="broken-audit-chain"),
    pytest.param(
        _letter_pdf_changed, False, [("letters.json", 1, "sha256", "does not match")], id="letter-pdf-changed"
    ),
    pytest.param(
        _edit_letter("recipient", "postman"),
        False,
        [("letters.json", 1, "recipient", "must be one of gp")],
        id="letter-unknown-recipient",
    ),
    pytest.param(
        _edit_letter("episode_id", str(uuid.UUID(int=3))),
        False,
        [("letters.json", 1, "episode_id", "no episode of this patient")],
        id="letter-without-its-episode",
    ),
    pytest.param(
        _letter_of_another_patients_escalation,
        False,
        [("letters.json", 1, "escalation_ids", "not this patient's")],
        id="letter-of-another-patients-flag",
    ),
    pytest.param(
        _edit_letter("escalation_ids", "all of them"),
        False,
        [("letters.json", 1, "escalation_ids", "list of ids")],
        id="letter-escalations-not-a-list",
    ),
    pytest.param(
        _stray_letter_pdf,
        False,
        [(f"letters/{uuid.UUID(int=7)}.pdf", None, None, "no entry in letters.json")],
        id="letter-pdf-without-entry",
    ),
]


def _patient_values(members: dict[str, bytes]) -> set[str]:
    """Identifying values of the exported patients (names, references) long enough to search for."""
    rows = csv.DictReader(io.StringIO(members["patients.csv"].decode("utf-8"), newline=""))
    return {
        row[name]
        for row in rows
        for name in ("patient_ref", "given_name", "family_name", "birth_date")
        if len(row[name]) >= 5
    }


def _empty(store: Any) -> dict[str, int]:
    return counts(store)


def test_round_trip_gives_identical_files_and_keeps_the_audit_chain(
    clinic: dict[str, Any], store: Any, target: Any, tmp_path: Path
) -> None:
    first = tmp_path / "first.zip"
    manifest = export_clinic(store, first)
    assert manifest.rows("patients.csv") == 15
    assert manifest.rows("handouts.json") == 1
    assert manifest.rows("letters.json") == 1

    report = import_clinic(target, first)
    assert report.errors == [] and report.refused is None and report.imported, report.errors
    assert report.exit_code == 0
    intact, rows, broken = target.verify_audit()
    source_audit = json.loads(_members(first)["audit.json"])
    assert (intact, rows, broken) == (True, len(source_audit) + 1, None)

    second = tmp_path / "second.zip"
    export_clinic(target, second)
    a, b = _members(first), _members(second)
    assert sorted(a) == sorted(b)
    assert f"handouts/{clinic['handout'].id}.pdf" in a
    assert a[f"letters/{clinic['letter'].id}.pdf"] == clinic["letter"].pdf
    different = sorted(name for name in a if a[name] != b[name])
    assert different == ["audit.json", "manifest.json", "manifest.sig"]

    imported_audit = json.loads(b["audit.json"])
    assert imported_audit[:-1] == source_audit
    entry = imported_audit[-1]
    assert entry["action"] == "clinic.import"
    assert entry["prev_hash"] == source_audit[-1]["hash"]
    assert entry["seq"] == source_audit[-1]["seq"] + 1
    assert entry["after"]["patients"] == 15

    manifest_a, manifest_b = json.loads(a["manifest.json"]), json.loads(b["manifest.json"])
    for name, listed in manifest_a["files"].items():
        if name != "audit.json":
            assert manifest_b["files"][name] == listed, name
    assert manifest_a["schema_version"] == manifest_b["schema_version"]

    # The imported records are the originals: ids, versions and timestamps kept; the clinic works.
    with target.read() as tx:
        patient = tx.get_patient(clinic["patient"].id)
        visits = tx.visits(clinic["patient"].id)
        handouts = tx.handouts(clinic["patient"].id)
    assert patient == clinic["patient"]
    corrected = [v for v in visits if v.version == 2]
    assert len(corrected) == 1 and corrected[0].pain_nrs == 3
    assert corrected[0].posture_findings == {"forward_lean", "anterior_pelvic_tilt"}
    assert handouts[0].pdf == FAKE_PDF
    letter = clinic["letter"]
    with target.read() as tx:
        (imported,) = tx.letters(letter.patient_id)
        evidence = [e for e in tx.escalations(patient_id=letter.patient_id) if e.id in letter.escalation_ids]
    assert imported == letter  # the PDF exactly as given, its hash, content and closed escalations
    assert hashlib.sha256(imported.pdf).hexdigest() == letter.sha256
    assert evidence and {e.close_letter_id for e in evidence} == {letter.id}
    reader = _user(target, "demo.clinician")
    services.record_visit(target, reader, clinic["other"].id, {**CLEAN_SCREEN, "visit_date": dt.date.today()})
    assert target.verify_audit()[0]


@pytest.mark.parametrize(("edit", "stale_manifest", "expected"), BAD_FILES)
def test_import_reports_every_bad_file_by_row_and_writes_nothing(
    clinic: dict[str, Any],
    store: Any,
    target: Any,
    tmp_path: Path,
    edit: Callable[[dict[str, bytes]], None] | None,
    stale_manifest: bool,
    expected: list[tuple[str | None, int | None, str | None, str]],
) -> None:
    good = tmp_path / "good.zip"
    export_clinic(store, good)
    members = _members(good)
    bad = tmp_path / "bad.zip"
    if edit is None:
        bad.write_bytes(b"PK\x03\x04 this is not really a zip archive")
    else:
        edit(members)
        _write_zip(bad, members, fix_manifest=not stale_manifest)
    before = _empty(target)

    for dry_run in (True, False):
        report = import_clinic(target, bad, dry_run=dry_run)
        assert report.refused is None
        assert report.exit_code == 1 and not report.imported
        for file, row, field, words in expected:
            assert any(
                e.file == (file or bad.name) and e.row == row and e.field == field and words in e.message
                for e in report.errors
            ), (expected, report.errors)
        if not stale_manifest:
            assert not any("checksum" in e.message for e in report.errors), report.errors
        # Messages never echo what was in the file.
        secrets = _patient_values(_members(good)) | {"Zebra", "12/04/1958", "2026-13-01", "rewritten later"}
        for error in report.errors:
            assert not any(secret in str(error) for secret in secrets), error
        assert _empty(target) == before


def test_import_refuses_an_archive_from_another_version(store: Any, target: Any, tmp_path: Path) -> None:
    demo.generate(store, patients=2, seed=5)
    good = tmp_path / "good.zip"
    export_clinic(store, good)
    members = _members(good)
    manifest = json.loads(members["manifest.json"])
    manifest["format_version"] = 99
    members["manifest.json"] = json.dumps(manifest).encode()
    report = import_clinic(
        target, _write_zip(tmp_path / "newer.zip", members, fix_manifest=False), dry_run=True
    )
    assert report.exit_code == 2 and "format version 99" in (report.refused or "")


def test_import_into_a_clinic_that_holds_data_is_refused(
    clinic: dict[str, Any], store: Any, target: Any, tmp_path: Path
) -> None:
    export = tmp_path / "clinic.zip"
    export_clinic(store, export)
    before = counts(store)
    for dry_run in (True, False):
        report = import_clinic(store, export, dry_run=dry_run)
        assert report.exit_code == 2
        assert "importing into a clinic that holds data is refused in this version" in (report.refused or "")
    assert counts(store) == before

    # A single real account is data too.
    services.create_user(
        target, None, username="first.admin", display_name="First Admin", role="admin", password=PASSWORD
    )
    report = import_clinic(target, export)
    assert report.exit_code == 2 and not report.imported
    assert counts(target)["patients"] == 0


def test_password_hashes_are_left_out_unless_asked_for(
    clinic: dict[str, Any], store: Any, target: Any, target_url: str, tmp_path: Path
) -> None:
    plain = tmp_path / "plain.zip"
    export_clinic(store, plain)
    members = _members(plain)
    header = members["users.csv"].decode().splitlines()[0].split(",")
    assert "password_hash" not in header
    assert not any(b"$argon2" in data for data in members.values())
    assert json.loads(members["manifest.json"])["include_password_hashes"] is False

    report = import_clinic(target, plain)
    assert report.imported and report.warnings  # the accounts need new passwords
    with pytest.raises(PermissionDeniedError):
        services.authenticate(target, "nina.physio", PASSWORD)

    with_hashes = tmp_path / "hashes.zip"
    export_clinic(store, with_hashes, include_password_hashes=True)
    users = _members(with_hashes)["users.csv"].decode()
    assert users.splitlines()[0].endswith(",password_hash") and "$argon2id$" in users

    if target_url.startswith("sqlite"):
        fresh = open_store(f"sqlite:///{tmp_path}/fresh.sqlite3")
        try:
            assert import_clinic(fresh, with_hashes).imported
            assert services.authenticate(fresh, "nina.physio", PASSWORD).username == "nina.physio"
        finally:
            fresh.close()


def test_subject_access_export_holds_only_that_patient(
    clinic: dict[str, Any], store: Any, tmp_path: Path
) -> None:
    patient, handout = clinic["patient"], clinic["handout"]
    out = export_patient(store, patient.id, tmp_path / "sar.zip")
    members = _members(out)
    assert sorted(members) == sorted(["patient.json", f"handouts/{handout.id}.pdf"])
    assert members[f"handouts/{handout.id}.pdf"] == FAKE_PDF
    record = json.loads(members["patient.json"])
    assert record["patient"]["id"] == patient.id
    assert record["patient"]["patient_ref"] == patient.patient_ref
    assert record["visits"] and all(v["patient_id"] == patient.id for v in record["visits"])
    assert any(v["rmdq_items"] for v in record["visits"])
    assert record["revisions"] and all(r["patient_id"] == patient.id for r in record["revisions"])
    assert all(s["patient_id"] == patient.id for s in record["screenings"])
    assert [h["id"] for h in record["handouts"]] == [handout.id]

    with store.read() as tx:
        others = [p for p in tx.search_patients("", include_archived=True, limit=100) if p.id != patient.id]
        entries = tx.audit_entries(action="export.patient")
    text = members["patient.json"].decode()
    for other in others:
        assert other.id not in text and other.patient_ref not in text
    assert [e.patient_id for e in entries] == [patient.id]


def test_subject_access_export_holds_the_letters_exactly_as_given(
    clinic: dict[str, Any], store: Any, tmp_path: Path
) -> None:
    letter = clinic["letter"]
    members = _members(export_patient(store, letter.patient_id, tmp_path / "sar.zip"))
    assert members[f"letters/{letter.id}.pdf"] == letter.pdf
    (listed,) = json.loads(members["patient.json"])["letters"]
    assert (listed["sha256"], listed["kind"], listed["recipient"]) == (letter.sha256, "referral", "gp")
    assert listed["escalation_ids"] == list(letter.escalation_ids)
    assert listed["content"]["title"] == letter.content["title"]


def test_export_and_import_from_the_command_line(
    clinic: dict[str, Any],
    database_url: str,
    target_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "cli.zip"
    assert main(["export", "--database-url", database_url, "--out", str(out)]) == 0
    assert main(["import", "--database-url", target_url, str(out), "--dry-run"]) == 0
    assert "Nothing was written" in capsys.readouterr().out
    members = _members(out)
    _set("patients.csv", 0, "birth_date", "12/04/1958")(members)
    bad = _write_zip(tmp_path / "bad.zip", members)
    assert main(["import", "--database-url", target_url, str(bad)]) == 1
    assert "patients.csv row 2: birth_date: must be a date in the form YYYY-MM-DD" in capsys.readouterr().err
    assert main(["import", "--database-url", target_url, str(out)]) == 0
    assert main(["import", "--database-url", target_url, str(out)]) == 2
    assert "refused" in capsys.readouterr().err


def test_progress_runs_from_zero_to_one(
    clinic: dict[str, Any], store: Any, target: Any, tmp_path: Path
) -> None:
    seen: list[float] = []
    out = tmp_path / "p.zip"
    export_clinic(store, out, progress=seen.append)
    assert seen == sorted(seen) and seen[-1] == 1.0 and all(0 <= f <= 1 for f in seen)
    seen.clear()
    import_clinic(target, out, progress=seen.append)
    assert seen == sorted(seen) and seen[-1] == 1.0 and all(0 <= f <= 1 for f in seen)


def test_row_errors_read_like_a_sentence() -> None:
    assert (
        str(RowError("patients.csv", 4, "sex", "must be F, M or X"))
        == "patients.csv row 4: sex: must be F, M or X"
    )
    assert (
        str(RowError("x.zip", None, None, "not a readable zip archive"))
        == "x.zip: not a readable zip archive"
    )


def test_every_field_of_the_data_dictionary_has_a_place_in_the_export() -> None:
    from dashboard.models import Patient, Visit
    from data.transfer import CHILD_FIELD, PATIENT_COLUMNS, VISIT_COLUMNS

    assert [c.name for c in PATIENT_COLUMNS] == list(Patient.model_fields)
    visit_places = {c.name for c in VISIT_COLUMNS} | set(CHILD_FIELD.values())
    assert visit_places == set(Visit.model_fields)  # a new nested field needs its child table


def test_a_discharge_survives_export_and_import(
    clinic: dict[str, Any], store: Any, target: Any, tmp_path: Path
) -> None:
    from dashboard import episode_services

    clinician = _user(store, "demo.clinician")
    patient = clinic["other"]
    with store.read() as tx:
        last = max(v.visit_date for v in tx.visits(patient.id))
    episode_services.discharge(
        store, clinician, patient.id, discharge_date=last, reason="referred_on", note="Pain clinic"
    )
    export = tmp_path / "clinic.zip"
    export_clinic(store, export)
    assert json.loads(_members(export)["episodes.json"])
    report = import_clinic(target, export)
    assert report.imported and report.errors == [], report.errors
    with target.read() as tx:
        (episode,) = tx.episodes(patient.id)
        visits = tx.visits(patient.id)
    assert (episode.status, episode.discharge_reason, episode.discharge_note) == (
        "discharged",
        "referred_on",
        "Pain clinic",
    )
    assert {v.episode_id for v in visits} == {episode.id}


def test_an_archive_from_before_episodes_imports_with_one_open_episode_per_patient(
    clinic: dict[str, Any], store: Any, target: Any, tmp_path: Path
) -> None:
    export = tmp_path / "clinic.zip"
    export_clinic(store, export)
    old = _write_zip(tmp_path / "old.zip", _without(_members(export), "episodes", "letters"))
    report = import_clinic(target, old)
    assert report.imported and report.errors == [], report.errors
    with target.read() as tx:
        for found in tx.search_patients("", limit=100):
            (episode,) = tx.episodes(found.id or "")
            assert episode.is_open and episode.symptom_onset == found.symptom_onset
            assert {v.episode_id for v in tx.visits(found.id or "", include_archived=True)} <= {episode.id}
        assert tx.open_episode(clinic["patient"].id) is not None  # a visit can be recorded at once


def test_an_archive_from_before_letters_imports_with_its_escalations_and_no_letters(
    clinic: dict[str, Any], store: Any, target: Any, tmp_path: Path
) -> None:
    export = tmp_path / "clinic.zip"
    export_clinic(store, export)
    old = _write_zip(tmp_path / "old.zip", _without(_members(export), "letters"))
    report = import_clinic(target, old)
    assert report.imported and report.errors == [], report.errors
    letter = clinic["letter"]
    with target.read() as tx:
        assert tx.letters(letter.patient_id) == []
        closed = [e for e in tx.escalations(patient_id=letter.patient_id) if e.id in letter.escalation_ids]
    assert closed and all(e.status == "closed" for e in closed)
