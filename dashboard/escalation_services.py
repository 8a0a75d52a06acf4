"""Red-flag screening and escalation services: screening a patient after a save or on demand, one
open escalation per patient and rule, closing one escalation or one event's group, the open
escalations across the caseload and the sidebar's flag summary.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dashboard.config import RuleSettings, Settings
from dashboard.episodes import lookback_episode, lookback_visits
from dashboard.models import (
    CLOSE_ACTIONS,
    CLOSE_ACTIONS_NEEDING_TEXT,
    TIER_ORDER,
    Episode,
    Escalation,
    FlagRecord,
    Patient,
    ReportSource,
    Screening,
    Visit,
)
from dashboard.patient_reported import DiaryEntry
from dashboard.ports import FlagSummary, InvalidInputError, NotFoundError, Store, Tx, User
from dashboard.red_flags import ScreeningResult, screen, to_screening
from dashboard.service_base import (
    _audit,
    _existing_patient,
    _free_text,
    _utcnow,
    authorize,
    current_episode_visits,
)


def _rules(settings: Settings | None) -> RuleSettings:
    return settings.rules if settings else RuleSettings()


def _screen_after_change(
    tx: Tx, actor: User, patient: Patient, visits: list[Visit], saved: Visit, rules: RuleSettings
) -> Screening:
    """Screen the history up to the saved visit, and the current latest visit when that differs."""
    key = (saved.visit_date, saved.recorded_at or _utcnow())
    upto = [v for v in visits if (v.visit_date, v.recorded_at or _utcnow()) <= key]
    screening = _screen_and_escalate(tx, actor, patient, upto or [saved], saved.id, rules)
    if visits and visits[-1].id != saved.id:
        _screen_and_escalate(tx, actor, patient, visits, visits[-1].id, rules)
    return screening


def screen_with_history(
    patient: Patient,
    visits: list[Visit],
    episodes: list[Episode],
    all_visits: Callable[[], list[Visit]],
    diary: Sequence[DiaryEntry],
    rules: RuleSettings,
) -> ScreeningResult:
    """Screen the current episode's `visits` with what else the rules read: the previous episode's last
    visit at a re-referral within 12 weeks (§11.1; only then is `all_visits` called) and the walking
    diary between visits (§12.3; the engine keeps the current episode's entries)."""
    recent = lookback_episode(episodes, visits) is not None
    lookback = lookback_visits(episodes, all_visits()) if recent else []
    return screen(patient, visits, rules, lookback=lookback, diary=diary)


def _screen_and_escalate(
    tx: Tx, actor: User, patient: Patient, visits: list[Visit], visit_id: str | None, rules: RuleSettings
) -> Screening:
    pid = patient.id or ""
    result = screen_with_history(
        patient, visits, tx.episodes(pid), lambda: tx.visits(pid), tx.diary_entries(pid), rules
    )
    screening = tx.insert_screening(
        to_screening(result, patient.id or "", visit_id).model_copy(
            update={"recorded_by": actor.id, "updated_by": actor.id}
        )
    )
    _update_escalations(tx, actor, patient, screening)
    return screening


def _latest_evidence(flag: FlagRecord, screening: Screening, by: str | None) -> dict[str, Any]:
    """What the latest screening says under an escalation's rule (its reason, action and timeframe, the
    screening itself, who ran it): a new escalation opens with it, an open one is refreshed with it."""
    return {
        "reason": flag.reason,
        "action": flag.action,
        "timeframe": flag.timeframe,
        "last_screening_id": screening.id,
        "updated_by": by,
    }


def _update_escalations(
    tx: Tx, actor: User | None, patient: Patient, screening: Screening, *, source: ReportSource = "clinician"
) -> None:
    """One open escalation per patient and rule; reopened only on a higher tier or new evidence.

    `actor` None and `source` "patient": a patient's own check-in answers (clinical-reference §12.2).
    """
    opened, updated = escalation_changes(
        tx.escalations(patient_id=patient.id), patient, screening, actor.id if actor else None, source=source
    )
    for escalation, expected_version in updated:
        tx.update_escalation(escalation, expected_version)
    for escalation in opened:
        _audit_opened(tx, actor, tx.insert_escalation(escalation))


def _audit_opened(tx: Tx, actor: User | None, opened: Escalation) -> None:
    after = {"rule_id": opened.rule_id, "tier": opened.tier}
    _audit(tx, actor, "escalation.open", "escalation", opened.id, opened.patient_id, after=after)


def escalation_changes(
    existing: Sequence[Escalation],
    patient: Patient,
    screening: Screening,
    by: str | None,
    *,
    source: ReportSource = "clinician",
) -> tuple[list[Escalation], list[tuple[Escalation, int]]]:
    """What a screening changes in a patient's escalations (`existing`, oldest first): the escalations to
    open, and the open ones to update with the version they were read at. One open escalation per
    patient and rule; a closed one is reopened only on a higher tier or new evidence."""
    now = _utcnow()
    opened: list[Escalation] = []
    updated: list[tuple[Escalation, int]] = []
    for flag in screening.flags:
        same_rule = [e for e in existing if e.rule_id == flag.rule_id]
        open_one = next((e for e in same_rule if e.status == "open"), None)
        if open_one is not None:
            if (open_one.tier, open_one.reason, open_one.last_screening_id) != (
                flag.tier,
                flag.reason,
                screening.id,
            ):
                tier = flag.tier if TIER_ORDER[flag.tier] > TIER_ORDER[open_one.tier] else open_one.tier
                refreshed = {"tier": tier, **_latest_evidence(flag, screening, by)}
                updated.append((open_one.model_copy(update=refreshed), open_one.version))
            continue
        last_closed = same_rule[-1] if same_rule else None
        if last_closed is not None:
            higher = TIER_ORDER[flag.tier] > TIER_ORDER[last_closed.tier]
            new_evidence = flag.reason != last_closed.reason
            if not (higher or new_evidence):
                continue
        opened.append(
            Escalation(
                patient_id=patient.id or "",
                rule_id=flag.rule_id,
                tier=flag.tier,
                opened_at=now,
                recorded_by=by,
                source=source,
                **_latest_evidence(flag, screening, by),
            )
        )
    return opened, updated


def rescreen_patient(
    store: Store, actor: User, patient_id: str, *, settings: Settings | None = None
) -> Screening:
    """Screen a patient again on demand (for example after the rules or settings changed)."""
    with store.transaction() as tx:
        authorize(tx, actor, "write_clinical")
        patient = _existing_patient(tx, patient_id)
        visits = current_episode_visits(tx, patient_id)
        if not visits:
            raise InvalidInputError({"_": "Record a visit before screening."})
        screening = _screen_and_escalate(tx, actor, patient, visits, visits[-1].id, _rules(settings))
        after = {"urgency": screening.urgency}
        _audit(tx, actor, "patient.rescreen", "screening", screening.id, patient_id, after=after)
    return screening


def _close_problems(action: str, detail: str) -> str:
    """The close action and its text checked; the stripped text, or InvalidInputError."""
    if action not in CLOSE_ACTIONS:
        raise InvalidInputError({"close_action": "Choose the action taken."})
    needs_text = "This action needs a reference, a reason or a description."
    return _free_text(detail, "close_detail", needs_text if action in CLOSE_ACTIONS_NEEDING_TEXT else None)


def _close_one(
    tx: Tx,
    actor: User,
    current: Escalation,
    *,
    action: str,
    detail: str,
    expected_version: int,
    letter_id: str | None = None,
) -> Escalation:
    if current.status == "closed":
        raise InvalidInputError({"_": "This escalation is already closed."})
    closed = tx.update_escalation(
        current.model_copy(
            update={
                "status": "closed",
                "closed_at": _utcnow(),
                "closed_by": actor.id,
                "close_action": action,
                "close_detail": detail,
                "close_letter_id": letter_id,
                "updated_by": actor.id,
            }
        ),
        expected_version,
    )
    after = {"status": "closed", "close_action": action, **({"letter_id": letter_id} if letter_id else {})}
    before = {"status": "open"}
    _audit(
        tx,
        actor,
        "escalation.close",
        "escalation",
        current.id,
        current.patient_id,
        reason=detail,
        before=before,
        after=after,
    )
    return closed


def close_escalation(
    store: Store, actor: User, escalation_id: str, *, action: str, detail: str, expected_version: int
) -> Escalation:
    """Close an escalation with the action taken; it cannot be closed without one."""
    detail = _close_problems(action, detail)
    with store.transaction() as tx:
        authorize(tx, actor, "write_clinical")
        current = next((e for e in tx.escalations() if e.id == escalation_id), None)
        if current is None:
            raise NotFoundError("Escalation not found.")
        return _close_one(tx, actor, current, action=action, detail=detail, expected_version=expected_version)


@dataclass(frozen=True)
class EscalationGroup:
    """The open escalations one screening raised for one patient: one clinical event, closed at once."""

    patient: Patient
    escalations: tuple[Escalation, ...]  # most urgent first, then oldest
    clinician: str = ""  # the display name of the patient's clinician ("" when none is assigned)

    @property
    def lead(self) -> Escalation:
        """The most urgent escalation: its tier is the event's, its id keys the event's widgets."""
        return self.escalations[0]

    @property
    def versions(self) -> dict[str, int]:
        """Each escalation's id and the version shown, for close_escalation_group."""
        return {e.saved_id: e.version for e in self.escalations}


def _event_key(escalation: Escalation) -> tuple[str, str]:
    # Every screening moves the still-firing open escalations to its id, so one id is one event.
    return escalation.patient_id, escalation.last_screening_id or escalation.saved_id


def open_escalation_groups(store: Store, actor: User) -> list[EscalationGroup]:
    """Open escalations grouped by the screening that raised them, most urgent event first, then oldest."""
    grouped: dict[tuple[str, str], list[tuple[Escalation, Patient]]] = {}
    for esc, patient in open_escalations(store, actor):  # already most urgent, then oldest, first
        grouped.setdefault(_event_key(esc), []).append((esc, patient))
    with store.read() as tx:
        names = {u.id: u.display_name for u in tx.users()}
    return [
        EscalationGroup(rows[0][1], tuple(e for e, _ in rows), names.get(rows[0][1].clinician_id or "", ""))
        for rows in grouped.values()
    ]


def one_event(tx: Tx, versions: Mapping[str, int]) -> list[Escalation]:
    """The chosen escalations, in the order given, refused unless they exist and are one event."""
    by_id = {e.id: e for e in tx.escalations()}
    chosen = [by_id.get(escalation_id) for escalation_id in versions]
    if any(e is None for e in chosen):
        raise NotFoundError("Escalation not found.")
    found = [e for e in chosen if e is not None]
    if len({_event_key(e) for e in found}) != 1:
        # Only escalations raised together are closed together; anything else is closed one by one.
        raise InvalidInputError({"_": "These escalations do not belong to one event."})
    return found


def most_urgent_first(escalation: Escalation, now: dt.datetime) -> tuple[int, dt.datetime]:
    """Sort key of escalations: most urgent tier first, then oldest first (unopened ones as `now`)."""
    return -TIER_ORDER[escalation.tier], escalation.opened_at or now


def close_escalation_group(
    store: Store, actor: User, versions: Mapping[str, int], *, action: str, detail: str
) -> list[Escalation]:
    """Close every escalation of one event with the same action and text, all or none (one audit each)."""
    detail = _close_problems(action, detail)
    if not versions:
        raise InvalidInputError({"_": "No escalation was chosen."})
    with store.transaction() as tx:
        authorize(tx, actor, "write_clinical")
        found = one_event(tx, versions)
        return [
            _close_one(tx, actor, e, action=action, detail=detail, expected_version=versions[e.saved_id])
            for e in found
        ]


def open_escalations(store: Store, actor: User) -> list[tuple[Escalation, Patient]]:
    """Open escalations across the caseload, most urgent first, then oldest first."""
    with store.read() as tx:
        authorize(tx, actor, "read")
        escalations = tx.escalations(status="open")
        patients = {pid: tx.get_patient(pid) for pid in {e.patient_id for e in escalations}}
    rows = [(e, p) for e in escalations if (p := patients.get(e.patient_id)) is not None and not p.archived]
    now = _utcnow()
    rows.sort(key=lambda pair: most_urgent_first(pair[0], now))
    return rows


def flag_summary(store: Store, actor: User) -> FlagSummary:
    """Open escalation counts per tier and the EMERGENCY ones to pin (cheap: for every page's sidebar)."""
    with store.read() as tx:
        authorize(tx, actor, "read")
        return tx.open_flag_summary()
