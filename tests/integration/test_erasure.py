"""Erasure of a patient on request: clinical data gone, a minimal audit stub kept, the chain intact.

Runs on SQLite and PostgreSQL (the `store` fixture). Also: tampering with redacted or live audit rows
is refused by the triggers and, with the triggers out of the way, detected by the keyed chain;
migration 0003 re-hashes a chain written with the old formula (and refuses a tampered one), and an
export with redacted rows round-trips.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
import zipfile
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.exc import DBAPIError

from dashboard import governance, services
from dashboard.ports import InvalidInputError, NotFoundError, PermissionDeniedError
from data import tables as t
from data.migrate import alembic_config, current_revision, head_revision
from data.store import GENESIS_HASH, make_engine, open_store
from data.transfer import export_clinic, import_clinic
from tests.integration.support import (
    Team,
    add_patient_voice,
    as_database_owner,
    audit_rows,
    make_team,
    patient_values,
    visit_values,
)

# Distinctive plain-ASCII words, so a search finds them whatever the encoding (JSON escapes, search keys).
ERASED = {
    "patient_ref": "QX-ERASE-7731",
    "given_name": "Quentinella",
    "family_name": "Vantongerloo",
    "birth_date": dt.date(1947, 11, 29),
}
ERASED_WORDS = ("qx-erase-7731", "quentinella", "vantongerloo", "1947-11-29")
KEPT = {"patient_ref": "QX-KEEP-0001", "given_name": "Harriet", "family_name": "Okonkwo"}
REQUEST_REF = "DSR-2026-014"
REASON = "Erasure request granted by the data protection officer"


def _ids(conn: sa.Connection, table: sa.Table, patient_id: str) -> set[str]:
    return set(conn.execute(sa.select(table.c.id).where(table.c.patient_id == patient_id)).scalars())


def clinical_counts(store: Any, patient_id: str) -> dict[str, int]:
    """Rows of every table that holds a patient's clinical data (revisions also by record id)."""
    with store.read() as tx:
        conn = tx.conn
        records = {patient_id} | _ids(conn, t.visits, patient_id) | _ids(conn, t.escalations, patient_id)
        out = {
            table.name: len(conn.execute(sa.select(table).where(table.c.patient_id == patient_id)).all())
            for table in (
                *(t.visits, t.screenings, t.escalations, t.handouts, t.patient_summaries),
                *(t.invites, t.patient_reports, t.diary_entries),
            )
        }
        out["revisions"] = len(
            conn.execute(
                sa.select(t.revisions).where(
                    (t.revisions.c.patient_id == patient_id) | t.revisions.c.entity_id.in_(records)
                )
            ).all()
        )
    return out


def make_patient(store: Any, team: Team, values: dict[str, Any]) -> str:
    """A patient with every kind of clinical row: visits, a red flag, a correction, an edit, a handout,
    a check-in and a walking diary through their links."""
    name = f"{values['given_name']} {values['family_name']}"
    patient = services.register_patient(store, team.clinician, patient_values(**values))
    pid = patient.id or ""
    clean, _ = services.record_visit(
        store, team.clinician, pid, visit_values(dt.date(2025, 2, 3), pain_nrs=6, notes=f"{name} walks 200 m")
    )
    services.record_visit(
        store, team.clinician, pid, visit_values(dt.date(2025, 2, 10), saddle_anaesthesia="new")
    )
    services.correct_visit(
        store,
        team.clinician,
        clean.id or "",
        {"pain_nrs": 5, "notes": f"{name} walks 250 m"},
        expected_version=clean.version,
        reason=f"{values['given_name']} corrected the distance",
    )
    services.update_patient(
        store,
        team.clinician,
        pid,
        {"next_review_date": dt.date(2025, 3, 3), "smoker": True},
        expected_version=1,
        reason=f"Review booked with {values['family_name']}",
    )
    services.record_handout(
        store,
        team.clinician,
        pid,
        pdf=f"%PDF-1.7 handout for {name}".encode(),
        plan={"patient": name, "items": ["walking"]},
        rule_set_version="r1",
        library_version="l1",
    )
    add_patient_voice(store, team.clinician, pid)
    services.open_patient(store, team.clinician, pid)
    services.record_export(store, team.clinician, "fhir", patient_id=pid)
    return pid


class Clinic:
    def __init__(self, store: Any) -> None:
        self.store = store
        self.team = make_team(store)
        self.erased = make_patient(store, self.team, ERASED)
        self.kept = make_patient(store, self.team, KEPT)

    def erase(self, **overrides: Any) -> dict[str, int]:
        values = {"reason": REASON, "request_reference": REQUEST_REF, **overrides}
        return governance.erase_patient(self.store, self.team.admin, self.erased, **values)


@pytest.fixture
def clinic(store: Any) -> Clinic:
    return Clinic(store)


def dump_database(store: Any) -> str:
    """Every row of every table, read raw (as stored) and through the typed tables, as lower-case text."""
    parts = []
    with store.read() as tx:
        for name in sa.inspect(tx.conn).get_table_names():
            for row in tx.conn.execute(sa.text(f'SELECT * FROM "{name}"')):
                parts.append(repr(tuple(row)))
        for table in t.metadata.sorted_tables:
            for row in tx.conn.execute(sa.select(table)):
                parts.append(repr(row._asdict()))
                parts.extend(v.decode("latin-1") for v in row if isinstance(v, bytes | memoryview))
    return "\n".join(parts).casefold()


# --- what erasure removes and keeps ----------------------------------------------------------------


def test_erasure_removes_every_clinical_row_of_the_patient_and_none_of_another(clinic: Clinic) -> None:
    store = clinic.store
    erased_before = clinical_counts(store, clinic.erased)
    kept_before = clinical_counts(store, clinic.kept)
    kept_audit_before = [r for r in audit_rows(store) if r.patient_id == clinic.kept]
    assert all(n > 0 for name, n in erased_before.items()), erased_before

    removed = clinic.erase()

    assert clinical_counts(store, clinic.erased) == dict.fromkeys(erased_before, 0)
    assert clinical_counts(store, clinic.kept) == kept_before
    assert removed["visits"] == erased_before["visits"] == 2
    assert removed["revisions"] == erased_before["revisions"]
    # The patient's own voice: three links (check-in, diary, a revoked one), one check-in, two walks.
    assert [removed[name] for name in ("invites", "patient_reports", "diary_entries")] == [3, 1, 2]
    assert [r for r in audit_rows(store) if r.patient_id == clinic.kept] == kept_audit_before
    with store.read() as tx:
        stub = tx.get_patient(clinic.erased)
        kept = tx.get_patient(clinic.kept)
    assert stub is not None and kept is not None
    assert stub.patient_ref == f"ERASED-{clinic.erased[:8]}"
    assert (stub.given_name, stub.family_name, stub.sex) == ("Erased", "record", "X")
    assert stub.birth_date == stub.symptom_onset == dt.date(1900, 1, 1)
    assert stub.archived and stub.clinician_id is None and stub.next_review_date is None
    assert not stub.smoker
    assert (kept.given_name, kept.smoker, kept.archived) == ("Harriet", True, False)


def test_the_chain_still_verifies_and_the_erasure_is_audited_once(clinic: Clinic) -> None:
    store = clinic.store
    before = audit_rows(store)
    about_erased = [r.seq for r in before if r.patient_id == clinic.erased]

    removed = clinic.erase()

    rows = audit_rows(store)
    assert store.verify_audit() == (True, len(before) + 1, None)
    assert [r.seq for r in rows[:-1]] == [r.seq for r in before]
    for old, new in zip(before, rows, strict=False):
        assert (new.at, new.user_id, new.action, new.entity_id, new.patient_id) == (
            old.at,
            old.user_id,
            old.action,
            old.entity_id,
            old.patient_id,
        )
        if old.seq in about_erased:
            assert new.redacted and (new.reason, new.before, new.after) == ("", None, None)
        else:
            assert new == old
    erasures = [r for r in rows if r.action == "patient.erase"]
    assert len(erasures) == 1
    (entry,) = erasures
    assert entry is rows[-1] and not entry.redacted
    assert (entry.user_id, entry.patient_id, entry.entity_id) == (
        clinic.team.admin.id,
        clinic.erased,
        clinic.erased,
    )
    assert entry.reason == REASON
    assert entry.after == {"request_reference": REQUEST_REF, **removed}
    assert removed["audit_redacted"] == len(about_erased)


def test_the_erased_patients_name_and_reference_appear_nowhere_in_the_database(clinic: Clinic) -> None:
    text_before = dump_database(clinic.store)
    assert all(word in text_before for word in ERASED_WORDS)

    clinic.erase()

    text = dump_database(clinic.store)
    assert [word for word in ERASED_WORDS if word in text] == []
    assert "harriet" in text and "okonkwo" in text  # the other patient is untouched
    assert REQUEST_REF.casefold() in text


def test_erased_patients_never_show_in_search_or_caseload_and_cannot_come_back(clinic: Clinic) -> None:
    store, team = clinic.store, clinic.team
    clinic.erase()

    for query in ("Quentinella", "erased", "record", "ERASED-", clinic.erased[:8]):
        for archived in (False, True):
            found = services.find_patients(store, team.clinician, query, include_archived=archived)
            assert clinic.erased not in {p.id for p in found}, (query, archived)
    assert {r["patient_id"] for r in services.caseload(store, team.clinician)} == {clinic.kept}
    assert {e.patient_id for e, _p in services.open_escalations(store, team.clinician)} == {clinic.kept}
    assert governance.find_for_erasure(store, team.admin, f"ERASED-{clinic.erased[:8]}") is None
    assert governance.find_for_erasure(store, team.admin, ERASED["patient_ref"]) is None
    assert governance.find_for_erasure(store, team.admin, KEPT["patient_ref"]) is not None

    seen = len(audit_rows(store))
    with pytest.raises(NotFoundError, match="erased"):
        services.open_patient(store, team.clinician, clinic.erased)
    with pytest.raises(NotFoundError, match="erased"):
        services.set_patient_archived(store, team.clinician, clinic.erased, archived=False, reason="Back")
    with pytest.raises(NotFoundError, match="erased"):
        services.update_patient(
            store, team.clinician, clinic.erased, {"given_name": "X"}, expected_version=3, reason="Undo"
        )
    with pytest.raises(NotFoundError):
        services.record_visit(store, team.clinician, clinic.erased, visit_values(dt.date(2025, 4, 1)))
    with pytest.raises(NotFoundError):
        clinic.erase()
    with pytest.raises(InvalidInputError) as reserved:
        services.register_patient(store, team.clinician, patient_values(patient_ref="erased-12345678"))
    assert "patient_ref" in reserved.value.errors
    assert len(audit_rows(store)) == seen


@pytest.mark.parametrize("role", ["clinician", "readonly"])
def test_only_an_admin_may_erase_a_patient(clinic: Clinic, role: str) -> None:
    actor = clinic.team.clinician if role == "clinician" else clinic.team.readonly
    before = clinical_counts(clinic.store, clinic.erased)
    seen = audit_rows(clinic.store)

    with pytest.raises(PermissionDeniedError):
        governance.erase_patient(
            clinic.store, actor, clinic.erased, reason=REASON, request_reference=REQUEST_REF
        )
    with pytest.raises(PermissionDeniedError):
        governance.find_for_erasure(clinic.store, actor, ERASED["patient_ref"])

    assert clinical_counts(clinic.store, clinic.erased) == before
    assert audit_rows(clinic.store) == seen


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        pytest.param({"request_reference": "  "}, "request_reference", id="no-request-reference"),
        pytest.param({"reason": ""}, "reason", id="no-reason"),
        pytest.param({"reason": "Asked by Mrs VANTONGERLOO by letter"}, "reason", id="name-in-reason"),
        pytest.param({"request_reference": "QX-ERASE-7731/1"}, "request_reference", id="ref-in-request"),
        pytest.param({"reason": "Born 1947-11-29, asked in person"}, "reason", id="birth-date-in-reason"),
    ],
)
def test_erasure_needs_a_request_reference_and_a_reason_without_patient_details(
    clinic: Clinic, overrides: dict[str, str], field: str
) -> None:
    before = clinical_counts(clinic.store, clinic.erased)
    seen = audit_rows(clinic.store)

    with pytest.raises(InvalidInputError) as refused:
        clinic.erase(**overrides)

    assert field in refused.value.errors
    assert clinical_counts(clinic.store, clinic.erased) == before
    assert audit_rows(clinic.store) == seen


# --- tampering -------------------------------------------------------------------------------------


def _seq(clinic: Clinic, action: str, patient_id: str) -> int:
    return next(r.seq for r in audit_rows(clinic.store) if r.action == action and r.patient_id == patient_id)


TAMPERING = {
    # A live row's values rewritten.
    "edit-live-after": (
        "UPDATE audit SET after = CAST('{\"pain_nrs\": 1}' AS JSON) WHERE seq = :seq",
        "visit.correct",
        "kept",
    ),
    # A live row "redacted" with its reason left in.
    "redact-keeping-reason": (
        "UPDATE audit SET before = NULL, after = NULL, reason = 'kept', redacted = TRUE WHERE seq = :seq",
        "patient.update",
        "kept",
    ),
    # A live row's payload dropped without saying so.
    "drop-payload-unflagged": (
        "UPDATE audit SET before = NULL, after = NULL, reason = '' WHERE seq = :seq",
        "patient.update",
        "kept",
    ),
    # A redacted row marked live again.
    "unset-redacted": ("UPDATE audit SET redacted = FALSE WHERE seq = :seq", "patient.update", "erased"),
    # A redacted row given a new reason.
    "reason-on-redacted": (
        "UPDATE audit SET reason = 'rewritten' WHERE seq = :seq",
        "patient.open",
        "erased",
    ),
    # A redacted row's action changed.
    "action-on-redacted": (
        "UPDATE audit SET action = 'patient.open' WHERE seq = :seq",
        "export.fhir",
        "erased",
    ),
    # A row that is about no patient redacted.
    "redact-non-patient-row": (
        "UPDATE audit SET before = NULL, after = NULL, reason = '', redacted = TRUE WHERE seq = :seq",
        "user.create",
        None,
    ),
}


@pytest.mark.parametrize("case", list(TAMPERING))
def test_tampering_is_refused_by_the_triggers_and_detected_without_them(clinic: Clinic, case: str) -> None:
    statement, action, whose = TAMPERING[case]
    clinic.erase()
    store = clinic.store
    if whose is None:
        seq = next(r.seq for r in audit_rows(store) if r.action == action)
    else:
        seq = _seq(clinic, action, clinic.kept if whose == "kept" else clinic.erased)
    before = audit_rows(store)
    sqlite = store.engine.dialect.name == "sqlite"
    sql = statement.replace("TRUE", "1").replace("FALSE", "0") if sqlite else statement
    sql = sql.replace("CAST(", "json(").replace(" AS JSON)", ")") if sqlite else sql

    with pytest.raises(DBAPIError, match="append-only"), store.transaction() as tx:
        tx.conn.execute(sa.text(sql), {"seq": seq})
    assert audit_rows(store) == before
    assert store.verify_audit() == (True, len(before), None)

    with as_database_owner(store) as conn:
        conn.execute(sa.text(sql), {"seq": seq})
    intact, _, broken = store.verify_audit()
    assert (intact, broken) == (False, seq)


def test_the_store_redaction_keeps_the_chain_and_the_triggers_refuse_delete_and_other_updates(
    clinic: Clinic,
) -> None:
    store = clinic.store
    seq = _seq(clinic, "patient.update", clinic.kept)
    newest = audit_rows(store)[-1]
    assert newest.action != "patient.erase"
    with pytest.raises(DBAPIError, match="append-only"), store.transaction() as tx:
        tx.redact_audit_for_patient(clinic.kept, newest.seq)  # pointing at an entry that is no erasure
    with store.transaction() as tx:
        erasure = tx.insert_audit(
            user_id=None, action="patient.erase", patient_id=clinic.kept, at_commit=False
        )
        redacted = tx.redact_audit_for_patient(clinic.kept, erasure)
    assert redacted == len([r for r in audit_rows(store) if r.patient_id == clinic.kept and r.redacted])
    assert store.verify_audit()[0]
    with store.transaction() as tx:
        assert tx.redact_audit_for_patient(clinic.kept, erasure) == 0  # already redacted: nothing to do
    statements = [f"DELETE FROM audit WHERE seq = {seq}", "DELETE FROM audit"]
    if store.engine.dialect.name == "postgresql":
        statements.append("TRUNCATE audit")
    for statement in statements:
        with pytest.raises(DBAPIError, match="append-only"), store.transaction() as tx:
            tx.conn.execute(sa.text(statement))
    # A second redaction of a redacted row is not a redaction: refused.
    flag = "TRUE" if store.engine.dialect.name == "postgresql" else "1"
    with pytest.raises(DBAPIError, match="append-only"), store.transaction() as tx:
        tx.conn.execute(sa.text(f"UPDATE audit SET redacted = {flag} WHERE seq = :seq"), {"seq": seq})
    assert store.verify_audit()[0]


# --- migration 0003 --------------------------------------------------------------------------------

_AUDIT_0002 = sa.table(
    "audit",
    *(
        sa.column(c.name, c.type)
        for c in t.audit.columns
        if c.name not in ("seq", "payload_sha256", "redacted", "redacted_by", "seal")
    ),
)


def hash_0002(prev_hash: str, row: dict[str, Any]) -> str:
    """The chain formula of revisions 0001-0002 (data.store.audit_hash before erasure existed)."""
    canonical = {
        "at": row["at"].astimezone(dt.UTC).replace(tzinfo=None).isoformat(timespec="microseconds"),
        **{k: row.get(k) for k in ("user_id", "action", "entity", "entity_id", "patient_id", "reason")},
        "before": row.get("before"),
        "after": row.get("after"),
    }
    payload = json.dumps(canonical, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256((prev_hash + payload).encode()).hexdigest()


def old_rows(n: int) -> list[dict[str, Any]]:
    start = dt.datetime(2026, 1, 5, 9, 30, 0, 123456, tzinfo=dt.UTC)
    patient = str(uuid.uuid4())
    rows, prev = [], GENESIS_HASH
    for i in range(n):
        row = {
            "at": start + dt.timedelta(minutes=i, microseconds=i),
            "user_id": str(uuid.uuid4()) if i % 3 else None,
            "action": ("patient.create", "visit.create", "patient.update", "login")[i % 4],
            "entity": "patient" if i % 4 != 3 else None,
            "entity_id": patient if i % 4 != 3 else None,
            "patient_id": patient if i % 4 != 3 else None,
            "reason": "" if i % 2 else f"Zoë «{i}» said so",
            "before": {"pain_nrs": i, "ratio": 0.1 * i} if i % 4 == 2 else None,
            "after": {"given_name": "Zoë", "n": i, "nested": {"x": [1.5, None]}} if i % 4 != 3 else None,
        }
        row["prev_hash"], row["hash"] = prev, hash_0002(prev, row)
        prev = row["hash"]
        rows.append(row)
    return rows


def _at_0002(url: str, rows: list[dict[str, Any]]) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0002")
        with engine.begin() as conn:
            conn.execute(sa.insert(_AUDIT_0002), rows)
    finally:
        engine.dispose()


def _revision_and_columns(url: str) -> tuple[str | None, set[str]]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            columns = {c["name"] for c in sa.inspect(conn).get_columns("audit")}
            return current_revision(conn), columns
    finally:
        engine.dispose()


def test_migration_0003_rehashes_a_chain_written_with_the_old_formula(database_url: str) -> None:
    rows = old_rows(40)
    _at_0002(database_url, rows)

    store = open_store(database_url)  # migrates to head
    try:
        assert _revision_and_columns(database_url)[0] == head_revision()
        assert store.verify_audit() == (True, 40, None)
        migrated = audit_rows(store)
        assert [(r.reason, r.before, r.after) for r in migrated] == [
            (r["reason"], r["before"], r["after"]) for r in rows
        ]
        with store.read() as tx:
            stored = tx.conn.execute(sa.select(t.audit).order_by(t.audit.c.seq)).all()
        assert all(r.payload_sha256 and not r.redacted for r in stored)
        assert stored[0].prev_hash == GENESIS_HASH
        assert all(a.hash != b["hash"] for a, b in zip(stored, rows, strict=True))  # the new formula

        # The clinic works on: new entries chain on, and an erasure redacts the migrated ones.
        team = make_team(store)
        patient = services.register_patient(store, team.clinician, patient_values())
        governance.erase_patient(
            store, team.admin, patient.id or "", reason=REASON, request_reference=REQUEST_REF
        )
        assert store.verify_audit()[0]
        with pytest.raises(DBAPIError, match="append-only"), store.transaction() as tx:
            tx.conn.execute(sa.text("UPDATE audit SET reason = 'x' WHERE seq = 2"))
    finally:
        store.close()


def test_migration_0003_refuses_to_rehash_a_tampered_chain(database_url: str) -> None:
    rows = old_rows(10)
    rows[6]["reason"] = "rewritten after the fact"  # its hash no longer matches
    _at_0002(database_url, rows)

    with pytest.raises(Exception, match="audit chain BROKEN at seq 7"):
        open_store(database_url)

    revision, columns = _revision_and_columns(database_url)
    assert revision == "0002"
    assert "payload_sha256" not in columns and "redacted" not in columns


def test_migration_0003_downgrades_to_the_old_hashes_and_the_keyed_chain_does_not_downgrade(
    database_url: str,
) -> None:
    rows = old_rows(12)
    _at_0002(database_url, rows)
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0003")
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0002")
        with engine.connect() as conn:
            back = [dict(r._mapping) for r in conn.execute(sa.select(_AUDIT_0002))]
        assert sorted(r["hash"] for r in back) == sorted(r["hash"] for r in rows)  # the old hashes again
    finally:
        engine.dispose()

    store = open_store(database_url)
    try:
        team = make_team(store)
        patient = services.register_patient(store, team.clinician, patient_values())
        governance.erase_patient(
            store, team.admin, patient.id or "", reason=REASON, request_reference=REQUEST_REF
        )
        with store.engine.begin() as conn, pytest.raises(RuntimeError, match="cannot be downgraded"):
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0003")
        assert store.verify_audit()[0]
    finally:
        store.close()
    # Later revisions may step down, but the database never goes below the keyed chain.
    assert _revision_and_columns(database_url)[0] == "0005"


# --- export and import -----------------------------------------------------------------------------


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _rezip(path: Path, members: dict[str, bytes]) -> Path:
    manifest = json.loads(members["manifest.json"])
    for name, entry in manifest["files"].items():
        entry["sha256"] = hashlib.sha256(members[name]).hexdigest()
        entry["bytes"] = len(members[name])
    members["manifest.json"] = json.dumps(manifest).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def test_an_export_with_redacted_rows_round_trips_and_its_chain_verifies(
    clinic: Clinic, target: Any, tmp_path: Path
) -> None:
    clinic.erase()
    first = tmp_path / "first.zip"
    export_clinic(clinic.store, first)
    source_audit = json.loads(_members(first)["audit.json"])
    assert {"payload_sha256", "redacted", "redacted_by", "seal"} <= set(source_audit[0])
    assert any(r["redacted"] for r in source_audit) and not all(r["redacted"] for r in source_audit)

    report = import_clinic(target, first)
    assert report.imported and report.errors == [], report.errors
    assert target.verify_audit() == (True, len(source_audit) + 1, None)

    second = tmp_path / "second.zip"
    export_clinic(target, second)
    a, b = _members(first), _members(second)
    assert sorted(name for name in a if a[name] != b[name]) == ["audit.json", "manifest.json", "manifest.sig"]
    assert json.loads(b["audit.json"])[:-1] == source_audit
    assert [w for w in ERASED_WORDS if w in dump_database(target)] == []


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"reason": "put back"}, id="reason-on-redacted-row"),
        pytest.param({"redacted": False}, id="redacted-flag-removed"),
        pytest.param({"payload_sha256": "0" * 64}, id="digest-replaced"),
    ],
)
def test_an_import_refuses_an_export_whose_redacted_rows_were_changed(
    clinic: Clinic, target: Any, tmp_path: Path, change: dict[str, Any]
) -> None:
    clinic.erase()
    first = tmp_path / "first.zip"
    export_clinic(clinic.store, first)
    members = _members(first)
    rows = json.loads(members["audit.json"])
    n, row = next((n, r) for n, r in enumerate(rows, start=1) if r["redacted"])
    row.update(change)
    members["audit.json"] = json.dumps(rows).encode()

    report = import_clinic(target, _rezip(tmp_path / "changed.zip", members))

    assert not report.imported
    assert [(e.file, e.row, e.field) for e in report.errors] == [("audit.json", n, "hash")]
    assert f"broken at seq {row['seq']}" in report.errors[0].message
