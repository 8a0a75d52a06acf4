"""Clinical governance: rule-set sign-off, instrument licences and the retention review list.

Decisions are stored as metadata with who and when, and every one is audited.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from dashboard.licences import LICENSED_INSTRUMENTS, enabled_from_meta
from dashboard.ports import InvalidInputError, Store, User
from dashboard.services import require


@dataclass(frozen=True)
class Decision:
    """A recorded governance decision: what, by whom, when, and on what basis."""

    by: str
    by_name: str
    at: dt.datetime
    note: str


def _decision(raw: str | None) -> Decision | None:
    if not raw:
        return None
    data = json.loads(raw)
    return Decision(data["by"], data.get("by_name", ""), dt.datetime.fromisoformat(data["at"]), data["note"])


def _record(store: Store, actor: User, key: str, note: str, action: str, detail: dict[str, Any]) -> None:
    payload = {
        "by": actor.id,
        "by_name": actor.display_name,
        "at": dt.datetime.now(dt.UTC).isoformat(),
        "note": note,
    }
    with store.transaction() as tx:
        tx.set_meta(key, json.dumps(payload, sort_keys=True))
        tx.insert_audit(user_id=actor.id, action=action, reason=note, after=detail)


def rule_set_approval(store: Store, version: str) -> Decision | None:
    """Who approved this rule-set version (hash) and when; None while it is unapproved."""
    with store.read() as tx:
        return _decision(tx.get_meta(f"rules_approved:{version}"))


def approve_rule_set(store: Store, actor: User, version: str, note: str) -> None:
    """Record that an admin reviewed and approved a rule-set version."""
    require(actor, "approve_rules")
    if not note.strip():
        raise InvalidInputError({"note": "Say what was reviewed (e.g. the rule table and the hazard log)."})
    _record(store, actor, f"rules_approved:{version}", note.strip(), "rules.approve", {"version": version})


def licence(store: Store, instrument: str) -> Decision | None:
    """The recorded licence (or cover) for a licensed instrument; None when it is off."""
    with store.read() as tx:
        return _decision(tx.get_meta(f"licence:{instrument}"))


def enabled_instruments(store: Store) -> set[str]:
    """Licensed instruments that are on: those with a recorded licence, or all of them on a demo database."""
    with store.read() as tx:
        return enabled_from_meta(
            {key: tx.get_meta(key) for key in ("demo", *(f"licence:{n}" for n in LICENSED_INSTRUMENTS))}
        )


def record_licence(store: Store, actor: User, instrument: str, basis: str) -> None:
    """Record that the clinic holds the licence for an instrument (or that its use is covered)."""
    require(actor, "manage_settings")
    if instrument not in LICENSED_INSTRUMENTS:
        raise InvalidInputError({"instrument": "Unknown instrument."})
    if not basis.strip():
        raise InvalidInputError({"basis": "Give the licence reference or why its use is covered."})
    _record(
        store, actor, f"licence:{instrument}", basis.strip(), "licence.record", {"instrument": instrument}
    )


def withdraw_licence(store: Store, actor: User, instrument: str, reason: str) -> None:
    """Turn a licensed instrument off again (recorded values stay readable)."""
    require(actor, "manage_settings")
    with store.transaction() as tx:
        tx.set_meta(f"licence:{instrument}", "")
        tx.insert_audit(
            user_id=actor.id, action="licence.withdraw", reason=reason, after={"instrument": instrument}
        )


def retention_years(store: Store) -> int | None:
    """The retention period set by an admin, in years (None: not set)."""
    with store.read() as tx:
        raw = tx.get_meta("retention_years")
    return int(raw) if raw else None


def set_retention_years(store: Store, actor: User, years: int) -> None:
    """Set the retention period; records past it are listed for review, never deleted automatically."""
    require(actor, "manage_settings")
    if not 1 <= years <= 100:
        raise InvalidInputError({"retention_years": "Choose between 1 and 100 years."})
    with store.transaction() as tx:
        tx.set_meta("retention_years", str(years))
        tx.insert_audit(user_id=actor.id, action="retention.set", after={"years": years})


def past_retention(store: Store, actor: User, today: dt.date) -> list[dict[str, Any]]:
    """Patients whose last visit (or registration) is older than the retention period, for review."""
    require(actor, "manage_settings")
    years = retention_years(store)
    if years is None:
        return []
    cutoff = today.replace(year=today.year - years)
    with store.read() as tx:
        rows = tx.caseload_rows()
    out = []
    for row in rows:
        last = row.get("last_visit_date")
        if last is not None and last < cutoff:
            out.append(
                {"patient_id": row["patient_id"], "patient_ref": row["patient_ref"], "last_visit_date": last}
            )
    return out
