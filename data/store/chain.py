"""The audit chain's formula, without SQL: each row's keyed hash and seal, the check of a chain of
rows in seq order, and the re-sealing of another clinic's chain under this clinic's key."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from data.clinic_key import sign
from data.store.rows import _as_utc

GENESIS_HASH = "0" * 64


def _canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def payload_sha256(reason: str, before: dict[str, Any] | None, after: dict[str, Any] | None) -> str:
    """SHA-256 of an audit row's free text and values: the part an erasure may remove.

    The chain hashes this digest rather than the payload itself, so a redacted row (payload gone,
    digest kept) still links to its neighbours.
    """
    canonical = _canonical_json({"reason": reason, "before": before, "after": after})
    return hashlib.sha256(canonical.encode()).hexdigest()


# What the chain authenticates of each row, besides `at` and the previous row's hash; the payload
# (reason, before, after) enters through its digest. Keep in step with migration 0005 (which
# re-sealed the rows written before it).
AUDIT_HASHED = ("seq", "user_id", "action", "entity", "entity_id", "patient_id", "payload_sha256")
# The audit action whose entry authorises the redaction of a patient's earlier entries.
ERASURE_ACTION = "patient.erase"


def _at_text(value: dt.datetime) -> str:
    at = _as_utc(value)
    assert at is not None
    return at.replace(tzinfo=None).isoformat(timespec="microseconds")


def audit_hash(key: bytes, prev_hash: str, row: Mapping[str, Any]) -> str:
    """HMAC-SHA256 (clinic key) linking one audit row to the previous one: only the key can re-link."""
    canonical = {"at": _at_text(row["at"]), **{k: row.get(k) for k in AUDIT_HASHED}}
    return sign(key, f"stride-audit-row:v1\n{prev_hash}\n{_canonical_json(canonical)}".encode())


def audit_seal(key: bytes, row: Mapping[str, Any]) -> str:
    """HMAC-SHA256 of a row's hash with its redaction state: rewritten, by the key holder, on erasure only."""
    state = {
        "hash": row.get("hash"),
        "redacted": bool(row.get("redacted")),
        "redacted_by": row.get("redacted_by"),
    }
    return sign(key, f"stride-audit-seal:v1\n{_canonical_json(state)}".encode())


class AuditChainCheck(NamedTuple):
    """The chain inside the database: (intact, rows checked, first broken seq or None)."""

    intact: bool
    rows: int
    broken: int | None


@dataclass(frozen=True)
class AuditVerdict:
    """The chain checked against the head kept outside the database (data.audit_head)."""

    intact: bool
    rows: int
    broken: int | None  # the first seq found wrong or missing
    problem: str | None = None  # "broken", "truncated", "no head", "head not authentic"
    message: str = ""
    head_seq: int | None = None
    tail_seq: int | None = None

    def as_tuple(self) -> tuple[bool, int, int | None]:
        """(intact, rows, first broken seq): the short form the pages and older callers use."""
        return self.intact, self.rows, self.broken


def _payload_ok(row: Mapping[str, Any]) -> bool:
    """A live row carries its payload's digest; a redacted one lost its payload in exactly one shape."""
    if row.get("redacted"):
        return (
            row.get("reason") == ""
            and row.get("before") is None
            and row.get("after") is None
            and row.get("patient_id") is not None
            and bool(row.get("payload_sha256"))
            and isinstance(row.get("redacted_by"), int)
            and row["redacted_by"] > row["seq"]
        )
    return row.get("redacted_by") is None and row.get("payload_sha256") == payload_sha256(
        row.get("reason") or "", row.get("before"), row.get("after")
    )


def check_audit_chain(
    rows: Iterable[Mapping[str, Any]], key: bytes, *, tails: dict[int, str] | None = None
) -> AuditChainCheck:
    """Recompute a chain of audit rows in seq order under the clinic key.

    Every row must follow the previous one (prev_hash), carry the key's HMAC of its columns and of
    its redaction state, and either its payload's digest or the erasure shape; a redacted row must
    point (redacted_by) to a later "patient.erase" entry about the same patient, and every entry
    about a patient before that patient's erasure must be redacted. `tails`, when given, receives
    seq -> hash of every row checked (the verifier compares the head with it).
    """
    prev_hash = GENESIS_HASH
    count = 0
    live_before: dict[str, int] = {}  # patient id -> seq of the first unredacted entry so far
    pending: dict[int, tuple[int, str | None]] = {}  # erasure seq pointed at -> (first redacted seq, patient)
    for row in rows:
        count += 1
        seq = row["seq"]
        first_wrong = min((first for first, _pid in pending.values()), default=None)
        if first_wrong is not None and seq > min(pending):  # a pointer skipped past its target
            return AuditChainCheck(False, count, first_wrong)
        ok = (
            _payload_ok(row)
            and row.get("prev_hash") == prev_hash
            and hmac.compare_digest(str(row.get("hash")), audit_hash(key, prev_hash, row))
            and hmac.compare_digest(str(row.get("seal")), audit_seal(key, row))
        )
        if not ok:
            return AuditChainCheck(False, count, seq)
        pid = row.get("patient_id")
        if seq in pending:
            first, wanted = pending.pop(seq)
            if row.get("action") != ERASURE_ACTION or row.get("redacted") or pid != wanted:
                return AuditChainCheck(False, count, first)
        if row.get("action") == ERASURE_ACTION and not row.get("redacted") and pid in live_before:
            return AuditChainCheck(False, count, live_before[pid])  # an entry the erasure left in
        if row.get("redacted"):
            target = row["redacted_by"]
            first, wanted = pending.get(target, (seq, pid))
            if wanted != pid:
                return AuditChainCheck(False, count, seq)
            pending[target] = (first, pid)
        elif pid is not None:
            live_before.setdefault(pid, seq)
        if tails is not None:
            tails[seq] = row["hash"]
        prev_hash = row["hash"]
    if pending:  # a redacted row points past the end of the chain
        return AuditChainCheck(False, count, min(first for first, _pid in pending.values()))
    return AuditChainCheck(True, count, None)


def reseal_audit_chain(rows: Iterable[Mapping[str, Any]], key: bytes) -> list[dict[str, Any]]:
    """The rows (in seq order) chained and sealed anew under `key`: for another clinic's history.

    Another clinic's chain is sealed with a key this clinic does not hold, so it cannot be verified
    here; its rows are re-linked under this clinic's key so that later tampering still shows. Payload
    digests and redactions are kept as they came.
    """
    prev_hash = GENESIS_HASH
    out = []
    for row in rows:
        sealed = {**row, "prev_hash": prev_hash}
        sealed["hash"] = audit_hash(key, prev_hash, sealed)
        sealed["seal"] = audit_seal(key, sealed)
        prev_hash = sealed["hash"]
        out.append(sealed)
    return out
