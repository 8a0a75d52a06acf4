"""Hostile and edited clinic exports (data.transfer): zip bombs, odd member names, deep JSON, huge
numbers, archives edited by hand or signed by another clinic, and spreadsheet formulas in names.

Archive-level cases build small hostile zips in the test and run on SQLite only (nothing about them
depends on the database); the signature and round-trip cases run on SQLite and PostgreSQL.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import tracemalloc
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dashboard import services
from dashboard.ports import PermissionDeniedError
from data import clinic_key, demo
from data.store import open_store, reseal_audit_chain
from data.transfer import export_clinic, import_clinic, main
from data.transfer.archive import Limits
from tests.integration.support import PASSWORD, counts

CLINIC_KEY = bytes(range(32))
OTHER_CLINIC_KEY = bytes(range(100, 132))
MIB = 1 << 20


@pytest.fixture(autouse=True)
def _clinic_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STRIDE_CLINIC_KEY", CLINIC_KEY.hex())


@pytest.fixture
def sqlite_target(tmp_path: Path) -> Iterator[Any]:
    """An empty SQLite clinic to import into (for the cases that never get past the archive)."""
    s = open_store(f"sqlite:///{tmp_path}/target.sqlite3")
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def small_export(tmp_path: Path) -> dict[str, bytes]:
    """The members of a signed export of a 2-patient demo clinic (SQLite)."""
    source = open_store(f"sqlite:///{tmp_path}/source.sqlite3")
    try:
        demo.generate(source, patients=2, seed=5)
        export_clinic(source, tmp_path / "small.zip")
    finally:
        source.close()
    return _members(tmp_path / "small.zip")


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _resigned(members: dict[str, bytes], key: bytes | None = CLINIC_KEY) -> dict[str, bytes]:
    """Checksums brought up to date and (with a key) signed again, as the key's holder could."""
    manifest = json.loads(members["manifest.json"])
    for name, entry in manifest["files"].items():
        if name in members:
            entry["sha256"] = hashlib.sha256(members[name]).hexdigest()
            entry["bytes"] = len(members[name])
    out = {**members, "manifest.json": json.dumps(manifest).encode()}
    out.pop("manifest.sig", None)
    if key is not None:
        out["manifest.sig"] = clinic_key.sign(key, out["manifest.json"]).encode()
    return out


def _zip(path: Path, members: dict[str, bytes] | list[tuple[str, bytes]]) -> Path:
    items = members.items() if isinstance(members, dict) else members
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in items:
            archive.writestr(name, data)
    return path


def _zeros_member(path: Path, name: str, megabytes: int, extra: dict[str, bytes] | None = None) -> Path:
    """A zip whose member `name` is `megabytes` MB of zeros (deflates about 1000:1), written in chunks."""
    chunk = bytes(MIB)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for other, data in (extra or {}).items():
            archive.writestr(other, data)
        with archive.open(name, "w") as out:
            for _ in range(megabytes):
                out.write(chunk)
    return path


def _peak_during(action: Any) -> tuple[Any, int]:
    tracemalloc.start()
    try:
        result = action()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


# --- 1. zip bombs, member names and counts -----------------------------------------------------------


def test_fifty_megabytes_of_zeros_are_refused_without_being_inflated(
    sqlite_target: Any, small_export: dict[str, bytes], tmp_path: Path
) -> None:
    bomb = _zeros_member(tmp_path / "bomb.zip", "audit.json", 50, {"manifest.json": b"{}"})
    assert bomb.stat().st_size < 200 * 1024  # about 50 KB on disk
    report, peak = _peak_during(lambda: import_clinic(sqlite_target, bomb, dry_run=True))
    assert report.exit_code == 1 and not report.imported
    assert [(e.file, e.message) for e in report.errors] == [
        ("audit.json", "inflates to more than an export file can be")
    ]
    assert peak < 8 * MIB, f"peak {peak / MIB:.1f} MiB while refusing a 50 MB member"
    assert counts(sqlite_target)["patients"] == 0


def test_a_member_that_inflates_past_the_cap_is_refused_as_it_streams(
    sqlite_target: Any, small_export: dict[str, bytes], tmp_path: Path
) -> None:
    low = Limits(member_bytes=64 * 1024, total_bytes=256 * 1024)
    big = dict(small_export)
    big["patients.csv"] = big["patients.csv"] + b"x" * (200 * 1024)
    report = import_clinic(sqlite_target, _zip(tmp_path / "big.zip", _resigned(big)), limits=low)
    assert [(e.file, e.message) for e in report.errors] == [
        ("patients.csv", "inflates to more than an export file can be")
    ]
    # A header that understates the size is no way round it: the bytes that come out are counted.
    lying = tmp_path / "lying.zip"
    _zip(lying, _resigned(big))
    raw = bytearray(lying.read_bytes())
    real = len(big["patients.csv"]).to_bytes(4, "little")
    raw = raw.replace(real, (1000).to_bytes(4, "little"))  # local and central headers
    lying.write_bytes(bytes(raw))
    report = import_clinic(sqlite_target, lying, limits=low)
    assert report.exit_code == 1 and not report.imported
    assert any("not a readable zip" in e.message or "inflates" in e.message for e in report.errors)
    # The whole archive counts as well as each member.
    report = import_clinic(
        sqlite_target,
        _zip(tmp_path / "total.zip", small_export),
        limits=Limits(total_bytes=len(small_export["visits.csv"])),
    )
    assert any("the archive inflates to more than" in e.message for e in report.errors), report.errors
    assert counts(sqlite_target)["patients"] == 0


@pytest.mark.parametrize(
    ("name", "words"),
    [
        pytest.param("notes.txt", "unexpected file", id="unknown"),
        pytest.param("../../etc/cron.d/x", "leaves the archive", id="dot-dot"),
        pytest.param("handouts/../../x.pdf", "leaves the archive", id="dot-dot-in-handouts"),
        pytest.param("/etc/passwd", "absolute or unsafe path", id="absolute"),
        pytest.param("C:\\windows\\x", "absolute or unsafe path", id="windows-absolute"),
        pytest.param("deeper/dir/patients.csv", "unexpected file", id="subdirectory"),
    ],
)
def test_a_member_with_an_unexpected_name_is_refused_before_anything_is_inflated(
    sqlite_target: Any, small_export: dict[str, bytes], tmp_path: Path, name: str, words: str
) -> None:
    # The odd member is 30 MB of zeros: refusing it by name means never inflating it.
    archive = _zeros_member(tmp_path / "odd.zip", name, 30, small_export)
    report, peak = _peak_during(lambda: import_clinic(sqlite_target, archive, dry_run=True))
    assert report.exit_code == 1
    assert any(words in e.message for e in report.errors), report.errors
    assert peak < 8 * MIB, f"peak {peak / MIB:.1f} MiB"


def test_a_member_that_appears_twice_is_refused_before_either_copy_is_inflated(
    sqlite_target: Any, small_export: dict[str, bytes], tmp_path: Path
) -> None:
    # The second users.csv is 30 MB of zeros: a duplicate name refuses the archive unread.
    with pytest.warns(UserWarning, match="Duplicate name"):
        archive = _zeros_member(tmp_path / "twice.zip", "users.csv", 30, small_export)
    report, peak = _peak_during(lambda: import_clinic(sqlite_target, archive, dry_run=True))
    assert [(e.file, e.message) for e in report.errors] == [
        ("users.csv", "appears more than once in the archive")
    ]
    assert peak < 8 * MIB, f"peak {peak / MIB:.1f} MiB"


def test_an_archive_with_more_members_than_the_cap_is_refused_from_its_end_record(
    sqlite_target: Any, tmp_path: Path
) -> None:
    many = [(f"handouts/{n:08d}.pdf", b"%PDF-1.4\n") for n in range(40)]
    archive = _zip(tmp_path / "many.zip", many)
    report = import_clinic(sqlite_target, archive, dry_run=True, limits=Limits(members=30))
    assert [e.message for e in report.errors] == ["holds more than 30 files: more than a clinic export can"]


# --- 1. hostile JSON: deep nesting and huge numbers --------------------------------------------------

HOSTILE_JSON = [
    pytest.param("audit.json", b"[" * 100_000 + b"]" * 100_000, "nested deeper than 32", id="deep-audit"),
    pytest.param("manifest.json", b"[" * 100_000, "nested deeper than 32", id="deep-manifest"),
    pytest.param(
        "revisions.json",
        b'[{"version": ' + b"9" * 100_000 + b"}]",
        "a number with far too many digits",
        id="huge-integer",
    ),
    pytest.param(
        "escalations.json",
        json.dumps([{"a": json.loads("[" * 40 + "]" * 40)}]).encode(),
        "nested deeper than 32",
        id="moderately-deep",
    ),
]


@pytest.mark.parametrize(("member", "content", "words"), HOSTILE_JSON)
def test_deep_json_and_huge_numbers_are_reported_as_file_errors_never_tracebacks(
    sqlite_target: Any,
    small_export: dict[str, bytes],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    member: str,
    content: bytes,
    words: str,
) -> None:
    members = {**small_export, member: content}
    archive = _zip(tmp_path / "hostile.zip", members if member == "manifest.json" else _resigned(members))
    report = import_clinic(sqlite_target, archive, dry_run=True)
    assert report.exit_code == 1
    assert any(e.file == member and words in e.message for e in report.errors), report.errors

    url = sqlite_target.engine.url.render_as_string(hide_password=False)
    assert main(["import", "--database-url", url, str(archive), "--dry-run"]) == 1
    err = capsys.readouterr().err
    assert f"{member}: not valid here: {words}" in err and "Traceback" not in err


# --- 2. signatures --------------------------------------------------------------------------------------


@pytest.fixture
def source(store: Any) -> Any:
    """A 3-patient demo clinic with one real account (SQLite and PostgreSQL)."""
    demo.generate(store, patients=3, seed=5)
    with store.read() as tx:
        admin = tx.get_user_by_username("demo.admin")
    services.create_user(
        store, admin, username="nina.physio", display_name="Nina Physio", role="clinician", password=PASSWORD
    )
    return store


def _add_admin_row(members: dict[str, bytes]) -> dict[str, bytes]:
    rows = list(csv.reader(io.StringIO(members["users.csv"].decode(), newline="")))
    header, first = rows[0], rows[1]
    extra = dict(zip(header, first, strict=True))
    extra.update(
        id="00000000-0000-4000-8000-00000000beef", username="mallory", display_name="Mallory", role="admin"
    )
    rows.append([extra[name] for name in header])
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\n").writerows(rows)
    manifest = json.loads(members["manifest.json"])
    manifest["files"]["users.csv"]["rows"] += 1
    return {**members, "users.csv": out.getvalue().encode(), "manifest.json": json.dumps(manifest).encode()}


def test_a_users_row_added_by_hand_is_refused_and_nothing_is_written(
    source: Any, target: Any, tmp_path: Path
) -> None:
    export_clinic(source, tmp_path / "good.zip", include_password_hashes=True)
    edited = _add_admin_row(_members(tmp_path / "good.zip"))
    before = counts(target)
    for signature_kept in (True, False):  # the old signature kept, or the signature removed
        members = _resigned(edited, key=None)
        if signature_kept:
            members["manifest.sig"] = _members(tmp_path / "good.zip")["manifest.sig"]
        archive = _zip(tmp_path / "edited.zip", members)
        for dry_run in (True, False):
            report = import_clinic(target, archive, dry_run=dry_run)
            assert report.exit_code == 2 and not report.imported
            assert report.signature == ("mismatch" if signature_kept else "unsigned")
            assert "STRIDE_CLINIC_KEY environment variable" in (report.refused or "")
            assert "from another clinic" in (report.refused or "")
        assert counts(target) == before
    with pytest.raises(PermissionDeniedError):
        services.authenticate(target, "mallory", PASSWORD)


def test_a_correctly_signed_archive_round_trips_and_names_its_key(
    source: Any, target: Any, tmp_path: Path
) -> None:
    manifest = export_clinic(source, tmp_path / "first.zip", include_password_hashes=True)
    assert manifest.key_fingerprint == clinic_key.key_fingerprint(CLINIC_KEY)
    report = import_clinic(target, tmp_path / "first.zip")
    assert report.imported and report.signature == "valid", (report.refused, report.errors)
    assert clinic_key.key_fingerprint(CLINIC_KEY) in report.key_used
    assert target.is_demo  # a restore of the same (demo) clinic stays what it was
    assert services.authenticate(target, "nina.physio", PASSWORD).username == "nina.physio"
    export_clinic(target, tmp_path / "second.zip")
    a, b = _members(tmp_path / "first.zip"), _members(tmp_path / "second.zip")
    assert sorted(n for n in a if a[n] != b[n] and n != "users.csv") == [
        "audit.json",
        "manifest.json",
        "manifest.sig",
    ]


def test_an_archive_signed_by_another_key_is_refused_with_the_key_used_and_what_to_do(
    source: Any, target: Any, tmp_path: Path, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    export_clinic(source, tmp_path / "other.zip", key=OTHER_CLINIC_KEY)
    report = import_clinic(target, tmp_path / "other.zip", dry_run=True)
    assert report.exit_code == 2 and report.signature == "mismatch"
    refused = report.refused or ""
    assert clinic_key.key_fingerprint(CLINIC_KEY) in refused  # the key that checked
    assert clinic_key.key_fingerprint(OTHER_CLINIC_KEY) in refused  # the key the archive names
    assert "STRIDE_CLINIC_KEY_FILE" in refused and "from another clinic" in refused

    target_url = target.engine.url.render_as_string(hide_password=False)
    assert main(["import", "--database-url", target_url, str(tmp_path / "other.zip")]) == 2
    err = capsys.readouterr().err
    assert "Signature mismatch; clinic key: the STRIDE_CLINIC_KEY environment variable" in err
    assert counts(target)["patients"] == 0


def test_a_demo_archive_from_another_clinic_imports_audited_not_demo_and_without_old_passwords(
    source: Any, target: Any, tmp_path: Path
) -> None:
    export_clinic(source, tmp_path / "theirs.zip", include_password_hashes=True, key=OTHER_CLINIC_KEY)
    # Their export, with an admin row added by hand and the manifest signed again with their key.
    members = _resigned(_add_admin_row(_members(tmp_path / "theirs.zip")), key=OTHER_CLINIC_KEY)
    edited = _zip(tmp_path / "theirs-edited.zip", members)
    report = import_clinic(target, edited, from_another_clinic=True)
    assert report.imported, (report.refused, report.errors)
    assert any("no password hash is kept" in w for w in report.warnings)
    assert not target.is_demo
    for username in ("nina.physio", "mallory"):
        with pytest.raises(PermissionDeniedError):
            services.authenticate(target, username, PASSWORD)
    with pytest.raises(PermissionDeniedError):
        services.authenticate(target, "demo.admin", "stride-demo")
    with target.read() as tx:
        entry = tx.audit_entries(action="clinic.import")[0]
        assert tx.get_meta("demo") is None and tx.get_meta("demo_seed") is None
    assert entry.after is not None and entry.after["from_another_clinic"] is True
    assert entry.after["signature"] == "mismatch"
    assert "another clinic" in entry.reason
    assert target.verify_audit()[0]


def test_another_clinics_audit_history_under_its_own_key_is_resealed_here_and_verifies(
    source: Any, target: Any, tmp_path: Path
) -> None:
    export_clinic(source, tmp_path / "theirs.zip", key=OTHER_CLINIC_KEY)
    members = _members(tmp_path / "theirs.zip")
    # Their audit trail, as their own server seals it: under their clinic key, not ours.
    rows = json.loads(members["audit.json"])
    parsed = [{**row, "at": dt.datetime.fromisoformat(row["at"])} for row in rows]
    for row, theirs in zip(rows, reseal_audit_chain(parsed, OTHER_CLINIC_KEY), strict=True):
        row.update(prev_hash=theirs["prev_hash"], hash=theirs["hash"], seal=theirs["seal"])
    members["audit.json"] = json.dumps(rows).encode()
    archive = _zip(tmp_path / "theirs-own-key.zip", _resigned(members, key=OTHER_CLINIC_KEY))
    report = import_clinic(target, archive, from_another_clinic=True)
    assert report.imported, (report.refused, report.errors)
    assert target.verify_audit()[0]  # re-sealed under this clinic's key
    with target.read() as tx:
        entry = tx.audit_entries(action="clinic.import")[0]
    assert "re-sealed" in entry.reason


def test_the_command_line_imports_from_another_clinic_only_when_told(
    source: Any, target: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export_clinic(source, tmp_path / "theirs.zip", key=OTHER_CLINIC_KEY)
    url = target.engine.url.render_as_string(hide_password=False)
    assert main(["import", "--database-url", url, str(tmp_path / "theirs.zip")]) == 2
    assert main(["import", "--database-url", url, str(tmp_path / "theirs.zip"), "--from-another-clinic"]) == 0
    out = capsys.readouterr()
    assert "Imported" in out.out and "from another clinic" in out.err
    assert not target.is_demo


# --- 3. spreadsheet formulas ------------------------------------------------------------------------

FORMULA_NAMES = ['=HYPERLINK("http://x")', "+1", "-2", "@SUM(A1)", "'quoted", "=1+2"]


def test_formula_like_text_is_neutralised_in_the_csv_and_round_trips_exactly(
    store: Any, target: Any, tmp_path: Path
) -> None:
    demo.generate(store, patients=1, seed=5)
    with store.read() as tx:
        admin = tx.get_user_by_username("demo.clinician")
    assert admin is not None
    for n, name in enumerate(FORMULA_NAMES):
        services.register_patient(
            store,
            admin,
            {
                "patient_ref": f"F-{n:03d}",
                "given_name": name,
                "family_name": "-Minus" if n % 2 else "Plain",
                "birth_date": dt.date(1970, 1, 1 + n),
                "sex": "F",
                "symptom_onset": dt.date(2025, 1, 6),
            },
        )
    export_clinic(store, tmp_path / "first.zip")
    first = _members(tmp_path / "first.zip")
    rows = list(csv.DictReader(io.StringIO(first["patients.csv"].decode(), newline="")))
    given = {row["given_name"] for row in rows}
    for name in FORMULA_NAMES:
        assert "'" + name in given, name  # a spreadsheet shows it as text
    assert not any(cell.startswith(("=", "+", "-", "@", "\t")) for row in rows for cell in row.values())
    assert any(row["birth_date"].startswith("197") for row in rows)  # dates and numbers unchanged

    report = import_clinic(target, tmp_path / "first.zip")
    assert report.imported, (report.refused, report.errors)
    with target.read() as tx:
        imported = {p.given_name for p in tx.search_patients("", limit=100)}
    assert set(FORMULA_NAMES) <= imported
    export_clinic(target, tmp_path / "second.zip")
    second = _members(tmp_path / "second.zip")
    assert sorted(n for n in first if first[n] != second[n]) == [
        "audit.json",
        "manifest.json",
        "manifest.sig",
    ]
