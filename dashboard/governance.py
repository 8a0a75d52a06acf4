"""Clinical governance: rule-set sign-off, instrument licences (and patient-completed use with the
clinic's licensed wording), the retention review list, erasure.

Decisions are stored as metadata with who and when, and every one is audited.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Protocol

from dashboard import licensed_wording as lw
from dashboard.licences import LICENSED_INSTRUMENTS, enabled_from_meta
from dashboard.models import Patient
from dashboard.ports import InvalidInputError, NotFoundError, Store, User
from dashboard.service_base import ERASED_REF_PREFIX, _audit, is_erased, require


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
        _audit(tx, actor, action, reason=note, after=detail)


def rule_set_approval(store: Store, version: str) -> Decision | None:
    """Who approved this rule-set version (hash) and when; None while it is unapproved."""
    with store.read() as tx:
        return _decision(tx.get_meta(f"rules_approved:{version}"))


def approve_rule_set(store: Store, actor: User, version: str, note: str) -> None:
    """Record that an admin reviewed and approved a rule-set version."""
    require(store, actor, "approve_rules")
    if not note.strip():
        raise InvalidInputError({"note": "Say what was reviewed (e.g. the rule table and the hazard log)."})
    _record(store, actor, f"rules_approved:{version}", note.strip(), "rules.approve", {"version": version})


def translation_review(store: Store, language: str, catalogue_version: str) -> Decision | None:
    """Who reviewed this version (hash) of a handout translation and when; None while it awaits review."""
    with store.read() as tx:
        return _decision(tx.get_meta(f"translation_reviewed:{language}:{catalogue_version}"))


def record_translation_review(
    store: Store, actor: User, language: str, catalogue_version: str, note: str
) -> None:
    """Record that an admin had a handout translation clinically reviewed (clinical-reference §14)."""
    require(store, actor, "approve_rules")
    if not note.strip():
        raise InvalidInputError({"note": "Say who reviewed the translation and how."})
    _record(
        store,
        actor,
        f"translation_reviewed:{language}:{catalogue_version}",
        note.strip(),
        "translation.review",
        {"language": language, "catalogue_version": catalogue_version},
    )


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
    require(store, actor, "manage_settings")
    if instrument not in LICENSED_INSTRUMENTS:
        raise InvalidInputError({"instrument": "Unknown instrument."})
    if not basis.strip():
        raise InvalidInputError({"basis": "Give the licence reference or why its use is covered."})
    _record(
        store, actor, f"licence:{instrument}", basis.strip(), "licence.record", {"instrument": instrument}
    )


def _clear(store: Store, actor: User, key: str, action: str, instrument: str, reason: str) -> None:
    require(store, actor, "manage_settings")
    with store.transaction() as tx:
        tx.set_meta(key, "")
        _audit(tx, actor, action, reason=reason, after={"instrument": instrument})


def withdraw_licence(store: Store, actor: User, instrument: str, reason: str) -> None:
    """Turn a licensed instrument off again (recorded values stay readable)."""
    _clear(store, actor, lw.licence_key(instrument), "licence.withdraw", instrument, reason)


# --- patient-completed use of a licensed instrument (clinical-reference §12.1, §7.10) ---------------


class Upload(Protocol):
    """An uploaded file whose size is known before it is read (Streamlit's UploadedFile is one)."""

    size: int

    def getvalue(self) -> bytes: ...


def _licensed(store: Store, instrument: str, field: str) -> str:
    """The instrument's name; refused when unknown or while its licence is not recorded."""
    if instrument not in LICENSED_INSTRUMENTS:
        raise InvalidInputError({"instrument": "Unknown instrument."})
    name = LICENSED_INSTRUMENTS[instrument]
    if licence(store, instrument) is None:
        raise InvalidInputError({field: f"Record the clinic's licence for {name} first."})
    return name


def patient_use(store: Store, instrument: str) -> Decision | None:
    """The recorded decision that the licence covers patient-completed electronic use; None when off."""
    with store.read() as tx:
        return _decision(tx.get_meta(lw.patient_use_key(instrument)))


def record_patient_use(store: Store, actor: User, instrument: str, basis: str) -> None:
    """Record that the clinic's licence covers patients filling the instrument in electronically."""
    require(store, actor, "manage_settings")
    _licensed(store, instrument, "patient_use")
    if not basis.strip():
        raise InvalidInputError({"basis": "Say where the licence covers patient-completed electronic use."})
    key = lw.patient_use_key(instrument)
    _record(store, actor, key, basis.strip(), "licence.patient_use", {"instrument": instrument})


def withdraw_patient_use(store: Store, actor: User, instrument: str, reason: str) -> None:
    """Stop offering the instrument on the patient's check-in (answers already sent stay)."""
    _clear(store, actor, lw.patient_use_key(instrument), "licence.patient_use_withdraw", instrument, reason)


def wording_digest(store: Store, instrument: str) -> str | None:
    """The SHA-256 (hex) of the clinic's loaded wording for an instrument; None when none is loaded."""
    with store.read() as tx:
        stored = tx.get_meta(lw.wording_key(instrument))
    return hashlib.sha256(stored.encode("utf-8")).hexdigest() if stored else None


def load_wording(store: Store, actor: User, instrument: str, upload: Upload) -> str:
    """Load the clinic's licensed item wording from a JSON file; returns its SHA-256 (hex).

    The file's size is checked before it is read; it is checked against the catalogue (every item and
    answer, nothing more) and nothing is stored on any problem. The audit keeps the hash, never the text.
    """
    require(store, actor, "manage_settings")
    _licensed(store, instrument, "file")
    if message := lw.too_large(upload.size):
        raise InvalidInputError({"file": message})
    wording = lw.check_wording(instrument, upload.getvalue())
    if not isinstance(wording, lw.Wording):
        raise InvalidInputError(wording)
    stored = wording.to_json()
    digest = hashlib.sha256(stored.encode("utf-8")).hexdigest()
    with store.transaction() as tx:
        tx.set_meta(lw.wording_key(instrument), stored)
        _audit(tx, actor, "wording.load", after={"instrument": instrument, "sha256": digest})
    return digest


def patient_instruments(store: Store) -> tuple[lw.Wording, ...]:
    """The licensed questionnaires a patient may fill in: licence, patient-completed use and wording."""
    with store.read() as tx:
        return lw.patient_wordings(tx.get_meta)


def retention_years(store: Store) -> int | None:
    """The retention period set by an admin, in years (None: not set)."""
    with store.read() as tx:
        raw = tx.get_meta("retention_years")
    return int(raw) if raw else None


def set_retention_years(store: Store, actor: User, years: int) -> None:
    """Set the retention period; records past it are listed for review, never deleted automatically."""
    require(store, actor, "manage_settings")
    if not 1 <= years <= 100:
        raise InvalidInputError({"retention_years": "Choose between 1 and 100 years."})
    with store.transaction() as tx:
        tx.set_meta("retention_years", str(years))
        _audit(tx, actor, "retention.set", after={"years": years})


def past_retention(store: Store, actor: User, today: dt.date) -> list[dict[str, Any]]:
    """Patients whose last visit (or registration) is older than the retention period, for review."""
    require(store, actor, "manage_settings")
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


# --- erasure on request ------------------------------------------------------------------------------

ERASED_DATE = dt.date(1900, 1, 1)


def find_for_erasure(store: Store, actor: User, patient_ref: str) -> Patient | None:
    """The patient an admin is about to erase, by exact reference (None: no such patient, or erased)."""
    require(store, actor, "erase_patients")
    with store.read() as tx:
        patient = tx.find_patient_by_ref(patient_ref.strip())
    return None if patient is None or is_erased(patient) else patient


def _words(value: str) -> set[str]:
    plain = unicodedata.normalize("NFKD", value.casefold())
    return set(re.findall(r"\w+", "".join(ch for ch in plain if not unicodedata.combining(ch))))


def _mentions_patient(text: str, patient: Patient) -> bool:
    """True when the text holds the patient's reference, date of birth or a word of their name."""
    words = _words(text)
    name_words = {w for w in _words(f"{patient.given_name} {patient.family_name}") if len(w) > 1}
    folded = text.casefold()
    return (
        bool(words & name_words)
        or patient.patient_ref.casefold() in folded
        or patient.birth_date.isoformat() in folded
    )


def erased_stub(patient: Patient, actor: User) -> Patient:
    """What is left of an erased patient: the id (audit entries point at it) and nothing personal."""
    return Patient(
        id=patient.id,
        version=patient.version,
        recorded_at=patient.recorded_at,
        updated_at=patient.updated_at,
        recorded_by=patient.recorded_by,
        updated_by=actor.id,
        archived=True,
        patient_ref=f"{ERASED_REF_PREFIX}{(patient.id or '')[:8]}",
        given_name="Erased",
        family_name="record",
        birth_date=ERASED_DATE,
        sex="X",
        symptom_onset=ERASED_DATE,
    )


def erase_patient(
    store: Store, actor: User, patient_id: str, *, reason: str, request_reference: str
) -> dict[str, int]:
    """Erase a patient on request, in one transaction; returns the number of rows removed per table.

    Visits, screenings, escalations, handouts, revisions, the caseload summary and the patient's own
    voice (invites, check-in reports, diary entries; clinical-reference §12) are deleted; the
    patient row becomes a stub ("Erased record", ERASED-<id>, archived) so references keep pointing
    at an id; every audit entry about the patient keeps when, who and what but loses its payload
    (the chain still verifies). The erasure is audited ("patient.erase") with the reason and the
    request reference, which must not hold the patient's name, reference or date of birth.
    """
    require(store, actor, "erase_patients")
    reason = (reason or "").strip()
    request_reference = (request_reference or "").strip()
    errors = {}
    if not request_reference:
        errors["request_reference"] = "Give the reference of the erasure request (a ticket or letter number)."
    elif len(request_reference) > 100:
        errors["request_reference"] = "Keep the request reference to 100 characters."
    if not reason:
        errors["reason"] = "Give the basis of the erasure; it is kept in the audit trail."
    if errors:
        raise InvalidInputError(errors)
    with store.transaction() as tx:
        patient = tx.get_patient(patient_id)
        if patient is None or is_erased(patient):
            raise NotFoundError("Patient not found (or already erased).")
        for name, value in (("request_reference", request_reference), ("reason", reason)):
            if _mentions_patient(value, patient):
                errors[name] = (
                    "Leave out the patient's name, reference and date of birth: this text is kept "
                    "after the erasure."
                )
        if errors:
            raise InvalidInputError(errors)
        removed = tx.erase_patient_data(erased_stub(patient, actor), patient.version)
        removed["audit_redacted"] = tx.count_audit_to_redact(patient_id)
        # The erasure entry comes first: every redacted entry points to it, and verification checks that.
        after = {"request_reference": request_reference, **removed}
        erasure_seq = tx.insert_audit(  # written now: the redacted entries point to its seq
            user_id=actor.id,
            action="patient.erase",
            entity="patient",
            entity_id=patient_id,
            patient_id=patient_id,
            reason=reason,
            after=after,
            at_commit=False,
        )
        tx.redact_audit_for_patient(patient_id, erasure_seq)
    return removed
