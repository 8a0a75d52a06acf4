"""Letter services (clinical-reference §13): a referral letter that closes a red-flag event, and the
discharge summary of an episode.

Each runs in one transaction that re-checks the actor's stored account: the content is written from
the stored records, printed by the `render` the page passes in (reports.letters.render; the core
never imports fpdf2), kept with its SHA-256 exactly as given, and audited. A referral letter and the
closure it is evidence for are written together or not at all.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping

from dashboard.config import Settings
from dashboard.episodes import current_episode, episode_outcome
from dashboard.escalation_services import _close_one, most_urgent_first, one_event
from dashboard.letters import (
    CLOSE_ACTION_OF_RECIPIENT,
    RECIPIENTS,
    LastPlan,
    LetterContent,
    discharge_summary,
    referral_letter,
    referral_problems,
)
from dashboard.models import Episode, Escalation, control_character_problem
from dashboard.page_text import local_datetime
from dashboard.ports import InvalidInputError, Letter, NotFoundError, Store, Tx, User
from dashboard.service_base import _audit, _existing_patient, _utcnow, authorize, current_episode_visits

Render = Callable[[LetterContent], bytes]
REFERENCE_MAX = 1000  # characters, as the close form's reference
OTHER_PATIENT = "This escalation belongs to another patient: a letter is written only for the patient's own."


def stored_letter(store: Store, actor: User, patient_id: str, letter_id: str) -> Letter:
    """One of the patient's letters exactly as given (for downloading it again)."""
    with store.read() as tx:
        authorize(tx, actor, "read")
        _existing_patient(tx, patient_id)
        letter = next((x for x in tx.letters(patient_id) if x.id == letter_id), None)
    if letter is None:
        raise NotFoundError("Letter not found.")
    return letter


def _give(tx: Tx, actor: User, letter: Letter) -> Letter:
    after = {"kind": letter.kind, "recipient": letter.recipient, "sha256": letter.sha256}
    _audit(tx, actor, "letter.give", "letter", letter.id, letter.patient_id, after=after)
    return letter


def refer_with_letter(
    store: Store,
    actor: User,
    patient_id: str,
    versions: Mapping[str, int],
    *,
    recipient: str | None,
    told: str,
    told_at: dt.datetime | None,
    settings: Settings,
    render: Render,
    reference: str = "",
    now: dt.datetime | None = None,
) -> tuple[Letter, list[Escalation]]:
    """Close one red-flag event of the patient as an urgent referral (to the emergency department: sent
    to ED) with the referral letter as its evidence; field messages and nothing written when refused."""
    now = now or _utcnow()
    errors = referral_problems(recipient, told, told_at, now)
    reference = reference.strip()
    if len(reference) > REFERENCE_MAX:
        errors["reference"] = f"The reference can hold at most {REFERENCE_MAX:,} characters."
    elif problem := control_character_problem(reference, multiline=False):
        errors["reference"] = problem
    if problem := control_character_problem(told, multiline=True):
        errors.setdefault("told", problem)
    if not versions:
        errors["_"] = "No escalation was chosen."
    if errors:
        raise InvalidInputError(errors)
    assert recipient is not None and told_at is not None  # referral_problems refused them otherwise
    with store.transaction() as tx:
        sender = authorize(tx, actor, "write_clinical")
        patient = _existing_patient(tx, patient_id)
        found = one_event(tx, versions)
        if any(e.patient_id != patient_id for e in found):
            raise InvalidInputError({"_": OTHER_PATIENT})
        if any(e.status == "closed" for e in found):
            # Refused before the letter is printed (_close_one would refuse it only after).
            raise InvalidInputError({"_": "This escalation is already closed."})
        found.sort(key=lambda e: most_urgent_first(e, now))
        episode = current_episode(tx.episodes(patient_id))
        content = referral_letter(
            patient,
            found,
            current_episode_visits(tx, patient_id),
            episode=episode,
            recipient=recipient,
            told=told,
            told_at=told_at,
            sender=sender.display_name,
            settings=settings,
            letter_date=local_datetime(now, settings.timezone).date(),
        )
        letter = _give(
            tx,
            actor,
            tx.insert_letter(
                patient_id=patient_id,
                episode_id=episode.saved_id if episode else None,
                kind="referral",
                recipient=recipient,
                recorded_by=actor.id,
                pdf=render(content),
                content=content.as_json(),
                escalation_ids=[e.saved_id for e in found],
            ),
        )
        detail = f"Referral letter to the {RECIPIENTS[recipient]} (SHA-256 {letter.sha256[:12]}…)"
        detail += f"; {reference}" if reference else ""
        closed = [
            _close_one(
                tx,
                actor,
                e,
                action=CLOSE_ACTION_OF_RECIPIENT[recipient],
                detail=detail,
                expected_version=versions[e.saved_id],
                letter_id=letter.id,
            )
            for e in found
        ]
    return letter, closed


def _within(day: dt.date, start: dt.date | None, end: dt.date | None) -> bool:
    return (start is None or day >= start) and (end is None or day <= end)


def _in_episode(escalation: Escalation, start: dt.date | None, end: dt.date | None, tz: str) -> bool:
    if escalation.status == "open":
        return True  # every escalation still open is listed (§11.1)
    opened = escalation.opened_at
    return opened is not None and _within(local_datetime(opened, tz).date(), start, end)


def write_discharge_summary(
    store: Store,
    actor: User,
    patient_id: str,
    episode_id: str,
    *,
    settings: Settings,
    render: Render,
    now: dt.datetime | None = None,
) -> Letter:
    """The discharge summary of a discharged episode to the GP (§13), kept as given and audited."""
    now = now or _utcnow()
    with store.transaction() as tx:
        sender = authorize(tx, actor, "write_clinical")
        patient = _existing_patient(tx, patient_id)
        episode: Episode | None = tx.get_episode(episode_id)
        if episode is None or episode.patient_id != patient_id:
            raise NotFoundError("Episode of care not found.")
        if episode.is_open:
            raise InvalidInputError(
                {"_": "Discharge the episode first: the summary is written at discharge."}
            )
        visits = [v for v in tx.visits(patient_id) if v.episode_id == episode.saved_id]
        start = episode.referral_date or (min(v.visit_date for v in visits) if visits else None)
        tz = settings.timezone
        flags = [
            e
            for e in tx.escalations(patient_id=patient_id)
            if _in_episode(e, start, episode.discharge_date, tz)
        ]
        given = [
            h
            for h in tx.handouts(patient_id)
            if _within(local_datetime(h.recorded_at, tz).date(), start, episode.discharge_date)
        ]
        last_plan = (
            LastPlan(local_datetime(given[-1].recorded_at, tz).date(), given[-1].sha256) if given else None
        )
        content = discharge_summary(
            patient,
            episode,
            visits,
            episode_outcome(patient, episode, visits),
            flags,
            last_plan=last_plan,
            sender=sender.display_name,
            settings=settings,
            letter_date=local_datetime(now, tz).date(),
        )
        return _give(
            tx,
            actor,
            tx.insert_letter(
                patient_id=patient_id,
                episode_id=episode.saved_id,
                kind="discharge_summary",
                recipient="gp",
                recorded_by=actor.id,
                pdf=render(content),
                content=content.as_json(),
            ),
        )
