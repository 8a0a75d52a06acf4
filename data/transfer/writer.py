"""Importing an export into an empty clinic: the refusals, then one transaction that writes it all.

Everything is checked first (data/transfer/validate.py); an error, a refusal or a database error
leaves the database as it was. The target must be empty (demo accounts aside), and the archive
signed with this clinic's key unless the admin says it comes from another clinic. Who may import is
the caller's question (the admin page checks the permission; the command line runs as the operator).
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from dashboard import auth
from dashboard.models import Episode
from dashboard.ports import User, iter_chunks
from data import clinic_key
from data import tables as t
from data.store import SqlStore
from data.transfer.archive import Limits
from data.transfer.audit import audit_import, continue_audit_sequence, lock_audit_chain
from data.transfer.export import store_url
from data.transfer.layout import REFUSED_NOT_EMPTY, UNUSABLE_PASSWORD, Progress
from data.transfer.reader import ImportReport, Parsed, Refused, RowError
from data.transfer.validate import Validator


def _target_refusal(conn: Connection) -> str | None:
    """Why the target cannot take an import, or None when it is empty (demo accounts aside)."""

    def count(table: Any, *where: Any) -> int:
        return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar() or 0)

    held = {
        "patients": count(t.patients),
        "accounts": count(t.users, t.users.c.username.not_in(list(auth.DEMO_USERS))),
        "audit entries": count(t.audit),
        "records": sum(
            count(table)
            for table in (
                *(t.visits, t.revisions, t.screenings, t.escalations, t.handouts, t.letters),
                *(t.invites, t.patient_reports, t.diary_entries),
            )
        ),
    }
    if any(held.values()):
        what = ", ".join(f"{n} {name}" for name, n in held.items() if n)
        # The imported audit chain must start the table: it is kept as it is, hashes and all.
        return f"{REFUSED_NOT_EMPTY} (the target holds {what}); import into a new, empty database"
    return None


# The tables in the order they are written (parents before children); each one's rows are the Parsed
# field of the same name.
WRITE_ORDER: tuple[str, ...] = (
    *("users", "patients", "episodes", "visits", "screenings", "escalations", "handouts", "letters"),
    *("invites", "patient_reports", "diary_entries", "revisions", "audit"),
)


def _write(conn: Connection, parsed: Parsed, progress: Callable[[float], None]) -> None:
    # Demo accounts of an otherwise empty target make way for the clinic's own (others were refused).
    conn.execute(delete(t.users).where(t.users.c.username.in_(list(auth.DEMO_USERS))))
    conn.execute(delete(t.meta))
    if parsed.meta:
        conn.execute(insert(t.meta), [{"key": k, "value": v} for k, v in sorted(parsed.meta.items())])
    steps = [(getattr(t, name), getattr(parsed, name)) for name in WRITE_ORDER]
    for n, (table, rows) in enumerate(steps):
        for chunk in iter_chunks(rows, 500):
            conn.execute(insert(table), list(chunk))
        progress(0.5 + 0.45 * (n + 1) / len(steps))
    continue_audit_sequence(conn, parsed.audit)  # rows went in with their own seq
    give_every_visit_an_episode(conn, create_missing=not parsed.has_episodes)


def give_every_visit_an_episode(conn: Connection, *, create_missing: bool) -> None:
    """An archive from before episodes: every patient gets one open episode with their onset
    (`create_missing`), and a visit naming no episode of its patient joins the patient's open (else
    latest) episode, as migration 0009 did for a stored clinic. A newer archive's episodes are kept as
    they are (an erased patient has none)."""
    with_episode = select(t.episodes.c.patient_id)
    now = dt.datetime.now(dt.UTC)
    rows = []
    missing = select(t.patients.c.id, t.patients.c.recorded_by, t.patients.c.data).where(
        t.patients.c.id.not_in(with_episode)
    )
    for patient_id, recorded_by, data in conn.execute(missing) if create_missing else ():
        episode = Episode(patient_id=patient_id, symptom_onset=data["symptom_onset"])
        rows.append(
            {
                "id": str(uuid.uuid4()),
                "version": 1,
                "recorded_at": now,
                "updated_at": now,
                "recorded_by": recorded_by,
                "updated_by": recorded_by,
                "archived": False,
                "patient_id": patient_id,
                "status": "open",
                "symptom_onset": episode.symptom_onset,
                "discharge_date": None,
                "data": episode.clinical_dict(),
            }
        )
    for chunk in iter_chunks(rows, 500):
        conn.execute(insert(t.episodes), list(chunk))
    current: dict[str, str] = {}
    for episode_id, patient_id, status in conn.execute(
        select(t.episodes.c.id, t.episodes.c.patient_id, t.episodes.c.status).order_by(
            t.episodes.c.recorded_at
        )
    ):
        if patient_id not in current or status == "open":
            current[patient_id] = episode_id
    episodes_of: dict[str, set[str]] = {}
    for episode_id, patient_id in conn.execute(select(t.episodes.c.id, t.episodes.c.patient_id)):
        episodes_of.setdefault(patient_id, set()).add(episode_id)
    stored = select(t.visits.c.id, t.visits.c.patient_id, t.visits.c.episode_id, t.visits.c.data)
    for visit_id, patient_id, episode_id, data in conn.execute(stored).all():
        if episode_id in episodes_of.get(patient_id, set()):
            continue
        chosen = current.get(patient_id)
        if chosen is None:
            continue  # a patient without episodes in a newer archive keeps their visits as they are
        conn.execute(
            update(t.visits)
            .where(t.visits.c.id == visit_id)
            .values(episode_id=chosen, data={**data, "episode_id": chosen})
        )


def _signature_refusal(report: ImportReport, parsed: Parsed) -> str:
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


def _as_another_clinic(parsed: Parsed) -> int:
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
    imported audit rows. `actor` is the admin importing from the app (the caller checks the
    import_clinic permission first); the command line passes None.
    """
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
    reader = Validator(zip_path, report, tick, limits)
    reader.clinic_key = store.clinic_key
    try:
        if reader.open_archive():
            parsed = reader.read_all()
            report.signature = reader.check_signature(key)
        else:
            return report
    except Refused as exc:
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
        "letters.json": len(parsed.letters),
        "invites.json": len(parsed.invites),
        "patient_reports.json": len(parsed.patient_reports),
        "diary_entries.json": len(parsed.diary_entries),
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
            lock_audit_chain(tx.conn)
            refusal = _target_refusal(tx.conn)
            if refusal is not None:
                raise Refused(refusal)
            _write(tx.conn, parsed, tick)
            tx.refresh_summaries()  # derived, so not in the export: recomputed from what was imported
            audit_import(
                tx, actor, report, parsed, no_password=no_password, from_another_clinic=from_another_clinic
            )
    except Refused as exc:
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
