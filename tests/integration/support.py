"""Helpers shared by the integration tests: accounts, valid patient and visit values, counting rows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from dashboard import governance, services
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
