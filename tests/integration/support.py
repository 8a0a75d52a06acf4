"""Helpers shared by the integration tests: accounts, valid patient and visit values, counting rows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from dashboard import checkin_services as cs
from dashboard import governance, services
from dashboard.config import load_settings
from dashboard.patient_reported import DiaryEntry
from dashboard.ports import User
from tests.factories import placeholder_wording_file

PASSWORD = "long-walk-2026!"

# Every screening question answered "no": a visit that fires no red-flag rule.
CLEAN_SCREEN: dict[str, Any] = {
    "saddle_anaesthesia": "none",
    "bladder_dysfunction": "none",
    "bowel_dysfunction": "none",
    "sexual_dysfunction": "none",
    "bilateral_radicular_pain": "none",
    "new_radicular_pain": False,
    "leg_weakness": "none",
    "difficulty_walking_new": False,
    "fever": False,
    "systemically_unwell": False,
    "recent_infection": False,
    "unexplained_weight_loss": False,
    "night_pain": False,
    "trauma": "none",
    "sudden_severe_pain": False,
    "pulsatile_abdominal_mass": False,
    "rest_pain_or_tissue_loss": False,
}


def make_user(store: Any, username: str, role: str, display_name: str | None = None) -> User:
    """An account created the way the first-admin command line does (`actor` None)."""
    return services.create_user(
        store,
        None,
        username=username,
        display_name=display_name or username.replace(".", " ").title(),
        role=role,
        password=PASSWORD,
    )


@dataclass(frozen=True)
class Team:
    """One account of each role, plus a second clinician for two-session edits."""

    clinician: User
    admin: User
    readonly: User
    colleague: User


def make_team(store: Any) -> Team:
    """Clinician "Carla Clinician", admin, read-only user and a second clinician "Bob Colleague"."""
    return Team(
        clinician=make_user(store, "carla", "clinician", "Carla Clinician"),
        admin=make_user(store, "adam", "admin", "Adam Admin"),
        readonly=make_user(store, "rita", "readonly", "Rita Readonly"),
        colleague=make_user(store, "bob", "clinician", "Bob Colleague"),
    )


def patient_values(**overrides: Any) -> dict[str, Any]:
    """Registration values of a valid adult patient; `overrides` replace the defaults."""
    return {
        "patient_ref": "INT-0001",
        "given_name": "Zoë",
        "family_name": "Łukasz-Müller",
        "birth_date": dt.date(1958, 4, 12),
        "sex": "F",
        "symptom_onset": dt.date(2025, 1, 6),
        **overrides,
    }


def visit_values(day: dt.date = dt.date(2025, 2, 3), **overrides: Any) -> dict[str, Any]:
    """A fully screened visit that fires no rule; `overrides` replace the defaults."""
    return {"visit_date": day, **CLEAN_SCREEN, **overrides}


def license_all_instruments(store: Any, admin: User) -> None:
    """Record a (fictional) licence for every licensed instrument, so ODI, RMDQ, ZCQ and STarT Back are on."""
    from dashboard import governance

    for name in governance.LICENSED_INSTRUMENTS:
        governance.record_licence(store, admin, name, "Clinic licence TEST-0001 (fictional)")


def audit_rows(store: Any) -> list[Any]:
    """Every audit entry, oldest first."""
    with store.read() as tx:
        return list(reversed(tx.audit_entries(limit=1_000_000)))


def counts(store: Any, patient_id: str | None = None) -> dict[str, int]:
    """Row counts that a refused write must leave unchanged."""
    with store.read() as tx:
        out = {
            "patients": tx.count_patients(),
            "audit": len(tx.audit_entries(limit=1_000_000)),
            "users": len(tx.users()),
        }
        if patient_id is not None:
            out["visits"] = len(tx.visits(patient_id, include_archived=True))
            out["screenings"] = len(tx.screenings(patient_id))
            out["escalations"] = len(tx.escalations(patient_id=patient_id))
            out["handouts"] = len(tx.handouts(patient_id))
            out["letters"] = len(tx.letters(patient_id))
    return out


@contextmanager
def as_database_owner(store: Any) -> Iterator[Any]:
    """A write connection with the audit table's append-only triggers out of the way, then back.

    What someone with full database access (but not the clinic key) can do: tampering made here
    must be caught by the keyed chain and its head, not by the triggers.
    """
    with store.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("ALTER TABLE audit DISABLE TRIGGER USER")
            yield conn
            conn.exec_driver_sql("ALTER TABLE audit ENABLE TRIGGER USER")
            return
        triggers = conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit'"
        ).all()
        for name, _sql in triggers:
            conn.exec_driver_sql(f'DROP TRIGGER "{name}"')
        yield conn
        for _name, sql in triggers:
            conn.exec_driver_sql(sql)


@dataclass(frozen=True)
class PatientVoice:
    """What `add_patient_voice` made: the links' tokens (the store keeps only their hashes) and records."""

    tokens: tuple[str, ...]
    report_id: str
    diary_ids: tuple[str, ...]


def add_patient_voice(store: Any, clinician: User, patient_id: str) -> PatientVoice:
    """A check-in sent through its link, two diary walks (one with next-morning pain) and a revoked link,
    the way a patient and their clinician make them (clinical-reference §12)."""
    settings = load_settings()
    checkin = cs.create_invite(store, clinician, patient_id, "checkin")
    answers = {
        "pain_nrs": "4",
        "pain_worst_nrs": "7",
        "walk_onset_min": "3.5",
        "walk_total_min": "12",
        "walk_stop_reason": "symptoms",
        "psfs_0": "5",
        "symptom_saddle": "no",
        "symptom_bladder": "not_sure",
        "symptom_fever": "no",
        "symptom_weakness": "no",
    }
    sent = cs.submit_checkin(store, checkin.token, answers, settings)
    assert isinstance(sent, cs.CheckinSubmitted), sent
    diary = cs.create_invite(store, clinician, patient_id, "diary")
    today = dt.date.today()
    entries = []
    for days_ago, during, onset in ((2, 3, ""), (1, 5, "10")):
        raw = {
            "walked_min": "20",
            "symptom_onset_min": onset,
            "pain_before_nrs": "2",
            "pain_during_nrs": str(during),
        }
        entry = cs.add_diary_entry(store, diary.token, raw, today - dt.timedelta(days=days_ago), settings)
        assert isinstance(entry, DiaryEntry) and entry.id, entry
        entries.append(entry)
    first = entries[0]
    assert first.id is not None
    assert cs.add_next_morning_pain(store, diary.token, first.id, 1, first.version, settings) is None
    revoked = cs.create_invite(store, clinician, patient_id, "checkin")
    cs.revoke_invite(store, clinician, patient_id, revoked.invite.id)
    return PatientVoice(
        (checkin.token, diary.token, revoked.token),
        sent.report.id,
        tuple(e.id or "" for e in entries),
    )


class WordingUpload:
    """An uploaded wording file as the admin page passes it: its size is known before it is read."""

    def __init__(self, data: bytes, size: int | None = None) -> None:
        self.data, self.size, self.read = data, len(data) if size is None else size, False

    def getvalue(self) -> bytes:
        self.read = True
        return self.data


def offer_to_patients(store: Any, admin: User, instrument: str = "odi") -> None:
    """Both §12.1 conditions for a licensed instrument: its licence covers patient-completed use, and the
    clinic's wording (placeholder text) is loaded."""
    governance.record_licence(store, admin, instrument, "Clinic licence 0000 (fictional)")
    governance.record_patient_use(store, admin, instrument, "Clause 4 covers patient tablets (fictional)")
    governance.load_wording(store, admin, instrument, WordingUpload(placeholder_wording_file(instrument)))


def patient_seen_two_weeks_ago(store: Any, clinician: User, **patient: Any) -> str:
    """A patient registered with one visit 14 days ago (pain 6, rating "Walking to the shop"): someone a
    check-in or diary link can be sent to. Returns the patient's id."""
    saved = services.register_patient(store, clinician, patient_values(**patient))
    services.record_visit(
        store,
        clinician,
        saved.saved_id,
        visit_values(
            dt.date.today() - dt.timedelta(days=14),
            pain_nrs=6,
            psfs=[{"activity": "Walking to the shop", "score": 3}],
        ),
    )
    return saved.saved_id
