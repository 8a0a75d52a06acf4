"""The keyed audit chain and its head: truncation and forgery are detected, on SQLite and PostgreSQL.

The attacker has full database access but not the clinic key (kept outside the database) and not
the head file: `as_database_owner` switches the append-only triggers off, as a database owner can.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.exc import DBAPIError

from dashboard import governance, services
from data import audit, backup
from data import tables as t
from data.audit_head import read_head
from data.migrate import alembic_config, current_revision, head_revision
from data.store import GENESIS_HASH, make_engine, open_store
from tests.integration.support import as_database_owner, audit_rows, make_team, patient_values, visit_values

REASON = "Erasure request granted by the data protection officer"


def _use(store: Any) -> tuple[Any, str]:
    """A little real use: accounts, two patients with a visit and an edit each. Returns (team, patient)."""
    team = make_team(store)
    ids = []
    for ref in ("AC-0001", "AC-0002"):
        patient = services.register_patient(store, team.clinician, patient_values(patient_ref=ref))
        pid = patient.id or ""
        services.record_visit(store, team.clinician, pid, visit_values(dt.date(2026, 3, 2), pain_nrs=5))
        services.update_patient(
            store, team.clinician, pid, {"smoker": True}, expected_version=1, reason="Asked at the visit"
        )
        ids.append(pid)
    return team, ids[0]


def _rows(conn: sa.Connection) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in conn.execute(sa.select(t.audit).order_by(t.audit.c.seq))]


# --- truncation ------------------------------------------------------------------------------------


def test_deleting_the_newest_rows_is_reported_as_truncation(
    store: Any, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _use(store)
    rows = audit_rows(store)
    assert store.verify_audit() == (True, len(rows), None)

    with as_database_owner(store) as conn:
        conn.execute(sa.delete(t.audit).where(t.audit.c.seq >= rows[-2].seq))

    assert store.verify_audit() == (False, len(rows) - 2, rows[-1].seq)
    verdict = store.check_audit()
    assert (verdict.intact, verdict.problem, verdict.broken) == (False, "truncated", rows[-1].seq)
    assert audit.main(["verify", "--database-url", database_url]) == 1
    out = capsys.readouterr().out
    assert "TRUNCATED" in out and f"ends at seq {rows[-3].seq}" in out


def test_truncation_stays_visible_after_new_entries_take_the_removed_places(store: Any) -> None:
    team, pid = _use(store)
    rows = audit_rows(store)
    with as_database_owner(store) as conn:
        conn.execute(sa.delete(t.audit).where(t.audit.c.seq >= rows[-3].seq))

    for _ in range(6):  # the app writes on, past the old head (SQLite even reuses the seq numbers)
        services.open_patient(store, team.clinician, pid)

    assert audit_rows(store)[-1].seq > rows[-1].seq
    assert store.verify_audit()[::2] == (False, rows[-1].seq)
    verdict = store.check_audit()
    assert (verdict.intact, verdict.problem, verdict.broken) == (False, "truncated", rows[-1].seq)


def test_deleting_a_middle_row_is_detected(store: Any) -> None:
    _use(store)
    rows = audit_rows(store)
    with as_database_owner(store) as conn:
        conn.execute(sa.delete(t.audit).where(t.audit.c.seq == rows[4].seq))

    assert store.verify_audit() == (False, 5, rows[5].seq)


def test_a_crash_between_commit_and_head_write_is_not_reported_as_broken(
    store: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    team, pid = _use(store)
    head_before = read_head(store.audit_head_path, store.clinic_key)
    assert head_before is not None and head_before.seq == audit_rows(store)[-1].seq
    monkeypatch.setattr(type(store), "_advance_audit_head", lambda *_args: None)  # the process dies here
    services.open_patient(store, team.clinician, pid)
    services.open_patient(store, team.clinician, pid)

    assert read_head(store.audit_head_path, store.clinic_key) == head_before
    assert store.verify_audit() == (True, len(audit_rows(store)), None)  # the head lags: by design

    monkeypatch.undo()
    services.open_patient(store, team.clinician, pid)
    head = read_head(store.audit_head_path, store.clinic_key)
    assert head is not None and head.seq == audit_rows(store)[-1].seq


def test_a_missing_or_forged_head_is_reported(store: Any) -> None:
    _use(store)
    path: Path = store.audit_head_path
    original = json.loads(path.read_text())

    path.write_text(json.dumps({**original, "seq": original["seq"] - 2}))
    assert store.check_audit().problem == "head not authentic"

    path.unlink()
    verdict = store.check_audit()
    assert (verdict.intact, verdict.problem) == (False, "no head")
    assert store.record_audit_head().seq == original["seq"]
    assert store.verify_audit()[0]


# --- forgery ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("pointer", ["none", "not-an-erasure"])
def test_a_faked_redaction_without_an_erasure_entry_is_detected(store: Any, pointer: str) -> None:
    _team, pid = _use(store)
    rows = audit_rows(store)
    victim = next(r for r in rows if r.patient_id == pid and r.action == "patient.update")
    pointed = {} if pointer == "none" else {"redacted_by": rows[-1].seq}

    with as_database_owner(store) as conn:
        conn.execute(
            sa.update(t.audit)
            .where(t.audit.c.seq == victim.seq)
            .values(reason="", before=sa.null(), after=sa.null(), redacted=True, **pointed)
        )

    intact, _, broken = store.verify_audit()
    assert (intact, broken) == (False, victim.seq)


def _public_sha256(prev_hash: str, row: dict[str, Any]) -> str:
    """The chain formula of revision 0003, public: anyone could recompute it."""
    canonical = {
        "at": row["at"].astimezone(dt.UTC).replace(tzinfo=None).isoformat(timespec="microseconds"),
        **{k: row[k] for k in ("user_id", "action", "entity", "entity_id", "patient_id", "payload_sha256")},
    }
    payload = json.dumps(canonical, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256((prev_hash + payload).encode()).hexdigest()


def _digest(row: dict[str, Any]) -> str:
    canonical = {"reason": row["reason"], "before": row["before"], "after": row["after"]}
    return hashlib.sha256(json.dumps(canonical, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def test_rehashing_the_whole_chain_with_the_public_sha256_formula_is_detected(store: Any) -> None:
    _use(store)
    with as_database_owner(store) as conn:
        rows = _rows(conn)
        rows[3]["reason"] = "rewritten after the fact"
        rows[3]["payload_sha256"] = _digest(rows[3])
        prev = GENESIS_HASH
        for row in rows:
            row["prev_hash"], row["hash"] = prev, _public_sha256(prev, row)
            prev = row["hash"]
            conn.execute(
                sa.update(t.audit)
                .where(t.audit.c.seq == row["seq"])
                .values(
                    reason=row["reason"],
                    payload_sha256=row["payload_sha256"],
                    prev_hash=row["prev_hash"],
                    hash=row["hash"],
                )
            )

    intact, _, broken = store.verify_audit()
    assert (intact, broken) == (False, rows[0]["seq"])


def test_a_correct_erasure_still_verifies_intact(store: Any, database_url: str) -> None:
    team, pid = _use(store)
    about = [r.seq for r in audit_rows(store) if r.patient_id == pid]

    governance.erase_patient(store, team.admin, pid, reason=REASON, request_reference="DSR-1")

    rows = audit_rows(store)
    erasure = rows[-1]
    assert erasure.action == "patient.erase" and not erasure.redacted
    with store.read() as tx:
        redacted = sa.select(t.audit.c.seq, t.audit.c.redacted_by).where(t.audit.c.redacted.is_(True))
        pointers = {r.seq: r.redacted_by for r in tx.conn.execute(redacted)}
    assert pointers == dict.fromkeys(about, erasure.seq)
    assert store.verify_audit() == (True, len(rows), None)
    assert audit.main(["verify", "--database-url", database_url]) == 0


def test_a_redaction_pointing_at_another_patients_erasure_is_detected(store: Any) -> None:
    team, pid = _use(store)
    other = next(r.patient_id for r in audit_rows(store) if r.patient_id not in (None, pid))
    governance.erase_patient(store, team.admin, other, reason=REASON, request_reference="DSR-2")
    erasure = audit_rows(store)[-1].seq
    victim = next(r for r in audit_rows(store) if r.patient_id == pid and r.action == "visit.create")

    with as_database_owner(store) as conn:
        conn.execute(
            sa.update(t.audit)
            .where(t.audit.c.seq == victim.seq)
            .values(reason="", before=sa.null(), after=sa.null(), redacted=True, redacted_by=erasure)
        )

    intact, _, broken = store.verify_audit()
    assert (intact, broken) == (False, victim.seq)


# --- the SQLite triggers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit SET reason = 'nothing to see' WHERE seq = 3",
        "UPDATE audit SET redacted = 1, reason = '', before = NULL, after = NULL WHERE seq = 3",
        "DELETE FROM audit WHERE seq = 3",
        "DELETE FROM audit",
    ],
)
def test_sqlite_refuses_updates_and_deletes_of_the_audit_table(tmp_path: Path, statement: str) -> None:
    store = open_store(f"sqlite:///{tmp_path}/stride.sqlite3")
    try:
        _use(store)
        before = audit_rows(store)
        with pytest.raises(DBAPIError, match="append-only"), store.transaction() as tx:
            tx.conn.execute(sa.text(statement))
        assert audit_rows(store) == before
    finally:
        store.close()


# --- migration 0005 --------------------------------------------------------------------------------

_m0003 = importlib.import_module("data.migrations.versions.0003_audit_redaction")

_AUDIT_0003 = sa.table(
    "audit", *(sa.column(c.name, c.type) for c in t.audit.columns if c.name not in ("redacted_by", "seal"))
)


def rows_0003(*, fake_redaction: bool = False) -> list[dict[str, Any]]:
    """A clinic's audit trail as revision 0003 wrote it: two patients, one of them erased."""
    start = dt.datetime(2026, 5, 4, 8, 15, 0, 250000, tzinfo=dt.UTC)
    admin, clinician = str(uuid.uuid4()), str(uuid.uuid4())
    erased, kept = str(uuid.uuid4()), str(uuid.uuid4())
    plan: list[tuple[str, str | None, str | None, dict[str, Any] | None]] = [
        ("user.create", admin, None, {"username": "admin"}),
        ("login", clinician, None, None),
        ("patient.create", clinician, erased, {"given_name": "Zoë"}),
        ("visit.create", clinician, erased, {"pain_nrs": 6}),
        ("patient.create", clinician, kept, {"given_name": "Harriet"}),
        ("patient.update", clinician, erased, {"smoker": True}),
        ("visit.create", clinician, kept, {"pain_nrs": 3}),
        ("patient.erase", admin, erased, {"request_reference": "DSR-9", "audit_redacted": 3}),
        ("patient.open", clinician, kept, None),
    ]
    rows, prev = [], GENESIS_HASH
    for i, (action, user, patient, after) in enumerate(plan, start=1):
        row: dict[str, Any] = {
            "seq": i,
            "at": start + dt.timedelta(minutes=i),
            "user_id": user,
            "action": action,
            "entity": "patient" if patient else None,
            "entity_id": patient,
            "patient_id": patient,
            "reason": "Asked at the desk" if action == "patient.update" else "",
            "before": None,
            "after": after,
            "redacted": False,
        }
        row["payload_sha256"] = _m0003.payload_sha256_0003(row)
        redact = patient == erased and action != "patient.erase"
        if redact or (fake_redaction and i == 7):
            row.update(reason="", before=None, after=None, redacted=True)
        row["prev_hash"], row["hash"] = prev, _m0003.hash_0003(prev, row)
        prev = row["hash"]
        rows.append(row)
    return rows


def _at_0003(url: str, rows: list[dict[str, Any]]) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0003")
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.insert(_AUDIT_0003), rows)
                conn.exec_driver_sql("SELECT setval(pg_get_serial_sequence('audit', 'seq'), 9)")
            else:
                conn.execute(sa.insert(_AUDIT_0003), rows)
    finally:
        engine.dispose()


def _revision(url: str) -> str | None:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return current_revision(conn)
    finally:
        engine.dispose()


def test_migration_0005_reseals_a_chain_written_at_0003_and_it_verifies_intact(database_url: str) -> None:
    rows = rows_0003()
    _at_0003(database_url, rows)

    store = open_store(database_url)  # migrates to head
    try:
        assert _revision(database_url) == head_revision()
        assert store.verify_audit() == (True, len(rows), None)
        head = read_head(store.audit_head_path, store.clinic_key)
        with store.read() as tx:
            stored = _rows(tx.conn)
        assert head is not None and (head.seq, head.hash) == (9, stored[-1]["hash"])
        assert [r["redacted_by"] for r in stored] == [None, None, 8, 8, None, 8, None, None, None]
        assert all(a["hash"] != b["hash"] and a["seal"] for a, b in zip(stored, rows, strict=True))
        assert [(r["reason"], r["after"]) for r in stored] == [(r["reason"], r["after"]) for r in rows]

        # The clinic works on: entries chain on, the triggers hold on both databases.
        team, pid = _use(store)
        governance.erase_patient(store, team.admin, pid, reason=REASON, request_reference="DSR-10")
        assert store.verify_audit()[0]
        with pytest.raises(DBAPIError, match="append-only"), store.transaction() as tx:
            tx.conn.execute(sa.text("UPDATE audit SET reason = 'x' WHERE seq = 6"))
    finally:
        store.close()


def test_migration_0005_refuses_to_reseal_a_chain_with_a_faked_redaction(database_url: str) -> None:
    _at_0003(database_url, rows_0003(fake_redaction=True))  # verified "intact" by revision 0003

    with pytest.raises(Exception, match="audit chain BROKEN at seq 7"):
        open_store(database_url)

    assert _revision(database_url) == "0003"


# --- restore ---------------------------------------------------------------------------------------


def test_restoring_an_older_backup_says_it_truncates_the_trail_and_moves_the_head(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "clinic" / "stride.sqlite3"
    url = f"sqlite:///{path}"
    store = open_store(url)
    try:
        team, pid = _use(store)
        copy = backup.backup_sqlite(path, tmp_path / "backups")
        services.open_patient(store, team.clinician, pid)
        newest = audit_rows(store)[-1].seq
    finally:
        store.close()

    with pytest.raises(backup.BackupError, match="TRUNCATES"):
        backup.restore_sqlite(copy, tmp_path / "clinic" / "stride.sqlite3")
    assert backup.main(["--database-url", url, "--restore", str(copy), "--force"]) == 0
    out = capsys.readouterr().out
    assert "TRUNCATES the audit trail" in out and f"audit head is at seq {newest}" in out
    assert list(path.parent.glob("stride.sqlite3.audit-head.json.before-restore-*"))
    assert audit.main(["verify", "--database-url", url]) == 0


def test_a_use_cases_entries_take_the_chain_lock_only_to_be_written_at_its_end(store: Any) -> None:
    # On PostgreSQL the chain's advisory lock serialises every audited action of every app process:
    # held from a use case's first entry to its commit, saves at once queued behind each other's
    # screening. The entries are now chained at the end, in their order, and the chain stays intact.
    from data.store.tx_audit import AUDIT_LOCK_KEY

    postgres = store.engine.dialect.name == "postgresql"
    with store.transaction() as tx:
        tx.insert_audit(user_id=None, action="test.first", reason="one")
        tx.insert_audit(user_id=None, action="test.second", reason="two")
        if postgres:
            with store.engine.connect() as other:  # another process's transaction takes the lock at once
                free = other.execute(sa.text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": AUDIT_LOCK_KEY})
                assert free.scalar_one() is True
                other.rollback()
        written = [r.action for r in tx.audit_entries(limit=2)]  # a read in the transaction sees them
    assert written == ["test.second", "test.first"]
    newest = audit_rows(store)[-2:]
    assert [r.action for r in newest] == ["test.first", "test.second"]
    assert newest[1].seq > newest[0].seq  # chained in their order (verify_audit checks the hashes)
    assert store.verify_audit()[0]


def test_an_entry_written_at_once_follows_the_entries_queued_before_it(store: Any) -> None:
    with store.transaction() as tx:
        tx.insert_audit(user_id=None, action="test.queued")
        seq = tx.insert_audit(user_id=None, action="test.now", at_commit=False)
    newest = audit_rows(store)[-2:]
    assert [r.action for r in newest] == ["test.queued", "test.now"] and newest[1].seq == seq
    assert store.verify_audit()[0]
