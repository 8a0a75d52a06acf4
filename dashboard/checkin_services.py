"""Use cases of the patient's own voice (clinical-reference §12; issue 21): invites made by a clinician,
and what a patient does with the link (identity check, check-in, walking diary).

A clinician's use cases take the acting user and re-check their rights in the transaction, like every
service. A patient's use cases take the link's token instead: the token is hashed at once, only its
hash is looked up, and the audit trail names the invite by a short fingerprint, never the token.
Every refusal a patient can see is one calm message that says nothing about the record.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from dashboard import checkin_text
from dashboard import patient_reported as pr
from dashboard.account_services import _current, _digest, _failed, _wait_s
from dashboard.config import RuleSettings, Settings
from dashboard.episodes import current_episode
from dashboard.escalation_services import _update_escalations
from dashboard.licensed_wording import Wording, patient_wordings
from dashboard.models import TIER_ORDER, Patient, Screening, Visit
from dashboard.patient_reported import DiaryEntry, Invite, InviteKind, PatientReport, Problems
from dashboard.ports import InvalidInputError, NotFoundError, StaleRecordError, Store, Tx, User
from dashboard.red_flags import screen, to_screening
from dashboard.service_base import _audit, _existing_patient, _utcnow, authorize, current_episode_visits

# The one message for every link that cannot open a form: forged, truncated, used, revoked, expired
# or locked look the same to whoever holds it (issue 21: "one calm message ... and no form").
LINK_CLOSED = "This link no longer works. Please ask your clinic for a new link."
IDENTITY_WRONG = "That date of birth does not match our record. Please check it and try again."
TOO_MANY_TRIES = "Too many tries from this device. Please wait a minute and try again."
ALREADY_SENT = "Your answers were already sent. Thank you: there is nothing more to do."
# A plan link shows the handout as given (issue 23): there must be one to show.
NO_HANDOUT_YET = "Give the handout first: the plan link shows the handout as it was given."

# Per client (browser address): failures before the short delays start, and the longest delay.
CLIENT_FREE_TRIES = 10
CLIENT_DELAY_MAX_S = 60.0
CLIENT_FORGET = dt.timedelta(hours=1)


@dataclass(frozen=True)
class IssuedInvite:
    """A new invite and its token: the token goes to the patient once and is never stored."""

    invite: Invite
    token: str


@dataclass(frozen=True)
class LinkView:
    """What the patient's page may show before the identity check: the invite and the clinic's name."""

    invite: Invite
    clinic_name: str


@dataclass(frozen=True)
class LinkDetails:
    """What the page shows after the identity check: the clinician's PSFS activities, or the diary."""

    invite: Invite
    psfs_activities: tuple[str, ...]
    diary: tuple[DiaryEntry, ...]
    thresholds: pr.DiaryThresholds
    ease_back: str | None  # "go back to your last comfortable week" after two red entries (§12.3)
    # Licensed questionnaires the clinic lets a patient fill in, with its licensed wording (§12.1).
    instruments: tuple[Wording, ...] = ()


# The check-in's fields as the page sends them (PSFS ratings are psfs_0, psfs_1, ... beside these).
CHECKIN_FIELDS: list[str] = [
    "pain_nrs",
    "pain_worst_nrs",
    "walk_onset_min",
    "walk_total_min",
    "walk_stop_reason",
    *(f"symptom_{q.id}" for q in pr.SYMPTOM_QUESTIONS),
]


Outcome = Literal["ok", "wrong", "locked", "throttled", "closed"]


@dataclass(frozen=True)
class IdentityResult:
    """The identity check's outcome, with the message for the patient."""

    outcome: Outcome
    message: str = ""
    tries_left: int = 0


@dataclass(frozen=True)
class CheckinSubmitted:
    """A stored check-in and its provisional, patient-reported screening."""

    report: PatientReport
    urgency: str  # the screening's tier: EMERGENCY, URGENT, ... or NONE
    screening: Screening


def _lifetime(settings: Settings | None, kind: InviteKind) -> dt.timedelta:
    # The clinic's settings for check-in and diary links; the web plan keeps the default (§12, issue 23).
    if settings is None or kind == "plan":
        return pr.DEFAULT_LIFETIME[kind]
    if kind == "checkin":
        return dt.timedelta(hours=settings.checkin_link_hours)
    return dt.timedelta(days=settings.diary_link_days)


def create_invite(
    store: Store,
    actor: User,
    patient_id: str,
    kind: InviteKind,
    *,
    settings: Settings | None = None,
    now: dt.datetime | None = None,
) -> IssuedInvite:
    """A new check-in, diary or plan link for a patient's current episode; the token is returned once
    (a plan link only once a handout is recorded: it shows the latest one given before it)."""
    if kind not in pr.DEFAULT_LIFETIME:
        raise InvalidInputError({"kind": "Choose a check-in or a diary link."})
    now = now or _utcnow()
    token = pr.new_token()
    with store.transaction() as tx:
        authorize(tx, actor, "write_clinical")
        patient = _existing_patient(tx, patient_id)
        if patient.archived:
            raise InvalidInputError(
                {"patient": "This patient is archived: restore them before sending a link."}
            )
        if kind == "plan" and not tx.handouts(patient_id):
            raise InvalidInputError({"handout": NO_HANDOUT_YET})
        episode = current_episode(tx.episodes(patient_id))
        if episode is None or not episode.is_open:
            raise InvalidInputError(
                {"patient": "This patient has no open episode of care: re-refer them first."}
            )
        invite = tx.insert_invite(
            Invite(
                id="",
                patient_id=patient_id,
                episode_id=episode.id,
                kind=kind,
                token_hash=pr.token_hash(token),
                created_at=now,
                expires_at=now + _lifetime(settings, kind),
                created_by=actor.id,
            )
        )
        _audit(
            tx,
            actor,
            "invite.create",
            "invite",
            invite.id,
            patient_id,
            after={
                "kind": kind,
                "fingerprint": invite.fingerprint,
                "expires_at": invite.expires_at.isoformat(),
            },
        )
    return IssuedInvite(invite, token)


def revoke_invite(store: Store, actor: User, patient_id: str, invite_id: str) -> Invite:
    """End a link before it expires (for example, given to the wrong person); audited."""
    with store.transaction() as tx:
        authorize(tx, actor, "write_clinical")
        invite = tx.get_invite(invite_id)
        if invite is None or invite.patient_id != patient_id:
            raise NotFoundError("Link not found.")
        now = _utcnow()
        if tx.revoke_invite(invite_id, now):
            _audit(
                tx,
                actor,
                "invite.revoke",
                "invite",
                invite_id,
                patient_id,
                after={"fingerprint": invite.fingerprint},
            )
        found = tx.get_invite(invite_id)
        assert found is not None
        return found


def patient_invites(store: Store, actor: User, patient_id: str) -> list[Invite]:
    """A patient's links, oldest first (states from dashboard.patient_reported.invite_state)."""
    with store.read() as tx:
        authorize(tx, actor, "read")
        _existing_patient(tx, patient_id)
        return tx.invites(patient_id)


# --- the patient's side --------------------------------------------------------------------------
def _open_invite(tx: Tx, token: str | None, now: dt.datetime) -> Invite | None:
    if not pr.well_formed_token(token):
        return None
    assert token is not None
    invite = tx.invite_by_hash(pr.token_hash(token))
    if invite is None or pr.invite_state(invite, now) != "open":
        return None
    patient = tx.get_patient(invite.patient_id)
    if patient is None or patient.archived or patient.patient_ref.startswith("ERASED-"):
        return None
    return invite


@dataclass(frozen=True)
class _Link:
    """An open link's invite, its patient and the current episode's visits, read in one transaction."""

    invite: Invite
    patient: Patient
    visits: list[Visit]


def _linked(tx: Tx, token: str | None, now: dt.datetime, kind: InviteKind | None = None) -> _Link | None:
    """The open link behind a token (of `kind` when given), or None for any link that cannot be used."""
    invite = _open_invite(tx, token, now)
    if invite is None or (kind is not None and invite.kind != kind):
        return None
    patient = tx.get_patient(invite.patient_id)
    assert patient is not None  # _open_invite checked it
    return _Link(invite, patient, current_episode_visits(tx, invite.patient_id))


def _psfs_activities(visits: list[Visit]) -> tuple[str, ...]:
    # The activities the clinician named at the latest visit that rated any (ratings only, §12.1).
    for visit in reversed(visits):
        if visit.psfs:
            return tuple(a.activity for a in visit.psfs)
    return ()


def open_link(
    store: Store, token: str | None, settings: Settings, *, now: dt.datetime | None = None
) -> LinkView | None:
    """The invite behind a link if it still opens a form, else None (the page shows LINK_CLOSED)."""
    now = now or _utcnow()
    with store.read() as tx:
        invite = _open_invite(tx, token, now)
    return None if invite is None else LinkView(invite, settings.clinic_name)


def closed_message(store: Store, token: str | None, *, now: dt.datetime | None = None) -> str:
    """What a link that opens no form says: "already sent" for a check-in sent from it (F5 after
    sending, the link opened again), the one calm LINK_CLOSED for every other case."""
    if pr.well_formed_token(token):
        assert token is not None
        with store.read() as tx:
            invite = tx.invite_by_hash(pr.token_hash(token))
        if invite is not None and pr.invite_state(invite, now or _utcnow()) == "used":
            return ALREADY_SENT
    return LINK_CLOSED


def _client_key(client: str | None) -> str:
    return _digest("checkin-client", client or "-")


def check_identity(
    store: Store,
    token: str | None,
    date_of_birth: dt.date | None,
    *,
    client: str | None = None,
    now: dt.datetime | None = None,
) -> IdentityResult:
    """The identity check: five wrong dates of birth lock the invite; a busy client is slowed down."""
    now = now or _utcnow()
    with store.transaction() as tx:
        invite = _open_invite(tx, token, now)
        if invite is None:
            return IdentityResult("closed", LINK_CLOSED)
        key = _client_key(client)
        throttle = _current(tx.get_throttle(key), now, CLIENT_FORGET)
        if _wait_s(throttle, now) > 0:
            return IdentityResult("throttled", TOO_MANY_TRIES)
        patient = tx.get_patient(invite.patient_id)
        assert patient is not None  # _open_invite checked it
        if pr.identity_matches(date_of_birth, patient.birth_date):
            _audit(
                tx,
                None,
                "invite.identity_ok",
                "invite",
                invite.id,
                invite.patient_id,
                after={"fingerprint": invite.fingerprint},
            )
            return IdentityResult("ok")
        failures = tx.record_identity_failure(invite.id)
        tx.put_throttle(_failed(throttle, key, "checkin", now, CLIENT_FREE_TRIES, CLIENT_DELAY_MAX_S))
        locked = failures >= pr.IDENTITY_ATTEMPTS_MAX
        _audit(
            tx,
            None,
            "invite.locked" if locked else "invite.identity_failed",
            "invite",
            invite.id,
            invite.patient_id,
            after={"fingerprint": invite.fingerprint, "failures": failures},
        )
    if locked:
        return IdentityResult("locked", LINK_CLOSED)
    return IdentityResult("wrong", IDENTITY_WRONG, pr.IDENTITY_ATTEMPTS_MAX - failures)


def _provisional_visit(visits: list[Visit], answers: Mapping[str, object], day: dt.date) -> Visit:
    # The patient's answers as a visit of today in the current episode ("not_sure" gives no value);
    # the patient's risk fields (a cancer history) are the record's own.
    values = {k: v for k, v in answers.items() if v != pr.NOT_SURE}
    episode_id = visits[-1].episode_id if visits else None
    return Visit.model_validate({**values, "visit_date": day, "episode_id": episode_id})


def _screen_as_patient(tx: Tx, patient: Patient, screened: list[Visit], rules: RuleSettings) -> Screening:
    """A provisional, patient-reported screening (its escalations marked so), with the diary (§12.2)."""
    result = screen(patient, screened, rules, diary=tx.diary_entries(patient.id or ""))
    screening = tx.insert_screening(
        to_screening(result, patient.id or "", None).model_copy(update={"source": "patient"})
    )
    _update_escalations(tx, None, patient, screening, source="patient")
    return screening


def _with_answers(link: _Link, answers: Mapping[str, object], day: dt.date) -> list[Visit]:
    """The current episode's visits and, as the latest, a provisional visit of the patient's answers."""
    return [*link.visits, _provisional_visit(link.visits, answers, day)]


def _screen_diary(tx: Tx, patient_id: str, rules: RuleSettings) -> None:
    # A new diary entry can raise RF_DIARY_NOT_SETTLING (§12.3); with no visit yet there is nothing to screen.
    patient = tx.get_patient(patient_id)
    visits = current_episode_visits(tx, patient_id)
    if patient is not None and visits:
        _screen_as_patient(tx, patient, visits, rules)


def provisional_urgency(
    store: Store,
    token: str | None,
    raw: Mapping[str, object],
    settings: Settings,
    *,
    record: bool = False,
    now: dt.datetime | None = None,
) -> str | None:
    """The tier the answers given so far would raise (shown before sending, §12.2); None: link closed.

    With `record`, the screening is also stored now, as patient-reported, with its escalations: an
    emergency answer is recorded the moment it is given, even if the patient then leaves the form.
    """
    now = now or _utcnow()
    parsed = pr.parse_checkin(raw, ())
    if isinstance(parsed, Problems):
        return "NONE"
    with store.transaction() if record else store.read() as tx:
        link = _linked(tx, token, now, "checkin")
        if link is None:
            return None
        screened = _with_answers(link, parsed.report_answers(), now.date())
        if not record:
            return screen(link.patient, screened, settings.rules).urgency
        screening = _screen_as_patient(tx, link.patient, screened, settings.rules)
        after = {"fingerprint": link.invite.fingerprint, "urgency": screening.urgency}
        _audit(tx, None, "checkin.early_answer", "invite", link.invite.id, link.patient.id, after=after)
    return screening.urgency


@dataclass(frozen=True)
class AnswersSoFar:
    """What the answers given so far would raise, before anything is sent (§12.2)."""

    urgency: str | None  # the tier of all the answers together; None: the link is closed
    by_question: dict[str, str]  # symptom question answered yes or not sure -> the tier of that answer alone


def answers_so_far(
    store: Store,
    token: str | None,
    raw: Mapping[str, object],
    settings: Settings,
    *,
    now: dt.datetime | None = None,
) -> AnswersSoFar:
    """The provisional tier of the answers so far and of each worrying answer alone, in one read.

    The page shows the emergency instructions (EMERGENCY) or same-day advice (URGENT) right under the
    answer that needs them; for each answer alone the other measurements stay in, the other symptom
    answers are left out.
    """
    now = now or _utcnow()
    with store.read() as tx:
        link = _linked(tx, token, now, "checkin")
    if link is None:
        return AnswersSoFar(None, {})

    def tier(answers: Mapping[str, object]) -> str | None:
        parsed = pr.parse_checkin(answers, ())
        if isinstance(parsed, Problems):
            return None
        screened = _with_answers(link, parsed.report_answers(), now.date())
        return screen(link.patient, screened, settings.rules).urgency.value

    asked = {q.id: raw.get(f"symptom_{q.id}") for q in pr.SYMPTOM_QUESTIONS}
    others = {k: v for k, v in raw.items() if not k.startswith("symptom_")}
    by_question: dict[str, str] = {}
    for qid, value in asked.items():
        if value not in ("yes", "not_sure"):
            continue
        # With a typo elsewhere in the form, this answer alone.
        alone = tier({**others, f"symptom_{qid}": value}) or tier({f"symptom_{qid}": value})
        if alone is not None:
            by_question[qid] = alone
    return AnswersSoFar(tier(raw) or "NONE", by_question)


def submit_checkin(
    store: Store,
    token: str | None,
    raw: Mapping[str, object],
    settings: Settings,
    *,
    now: dt.datetime | None = None,
) -> CheckinSubmitted | Problems | str:
    """Store a check-in once and screen it as provisional and patient-reported; a message when refused."""
    now = now or _utcnow()
    with store.transaction() as tx:
        if not pr.well_formed_token(token):
            return LINK_CLOSED
        assert token is not None
        invite = tx.invite_by_hash(pr.token_hash(token))
        if invite is not None and invite.kind == "checkin" and invite.used_at is not None:
            return ALREADY_SENT
        link = _linked(tx, token, now, "checkin")
        if link is None:
            return LINK_CLOSED
        invite, patient = link.invite, link.patient
        parsed = pr.parse_checkin(raw, _psfs_activities(link.visits), patient_wordings(tx.get_meta))
        if isinstance(parsed, Problems):
            return parsed
        if not tx.use_invite(invite.id, now):  # a second submit in another tab lost the race
            return ALREADY_SENT
        answers = parsed.report_answers()
        screening = _screen_as_patient(tx, patient, _with_answers(link, answers, now.date()), settings.rules)
        report = tx.insert_patient_report(
            PatientReport("", invite.id, patient.id or "", invite.episode_id, now, answers, screening.urgency)
        )
        _audit(
            tx,
            None,
            "checkin.submit",
            "patient_report",
            report.id,
            patient.id,
            after={"fingerprint": invite.fingerprint, "urgency": screening.urgency},
        )
    return CheckinSubmitted(report, screening.urgency, screening)


def is_emergency(urgency: str | None) -> bool:
    """True for the tier that shows the emergency instructions on the patient's screen (§12.2)."""
    return urgency is not None and TIER_ORDER.get(urgency, 0) >= TIER_ORDER["EMERGENCY"]


def add_diary_entry(
    store: Store,
    token: str | None,
    raw: Mapping[str, object],
    walk_date: dt.date,
    settings: Settings,
    *,
    now: dt.datetime | None = None,
) -> DiaryEntry | Problems | str:
    """One diary entry through a diary link; a message when the link no longer works."""
    now = now or _utcnow()
    with store.transaction() as tx:
        invite = _open_invite(tx, token, now)
        if invite is None or invite.kind != "diary":
            return LINK_CLOSED
        parsed = pr.parse_diary_entry(raw, walk_date, now.date())
        if isinstance(parsed, Problems):
            return parsed
        entry = tx.insert_diary_entry(
            DiaryEntry(
                parsed.walk_date,
                parsed.walked_min,
                parsed.symptom_onset_min,
                parsed.pain_before_nrs,
                parsed.pain_during_nrs,
                invite_id=invite.id,
                patient_id=invite.patient_id,
                episode_id=invite.episode_id,
            )
        )
        _audit(
            tx,
            None,
            "diary.add",
            "diary_entry",
            entry.id,
            invite.patient_id,
            after={"fingerprint": invite.fingerprint, "walk_date": entry.walk_date.isoformat()},
        )
        _screen_diary(tx, invite.patient_id, settings.rules)
    return entry


def link_details(
    store: Store, token: str | None, settings: Settings, *, now: dt.datetime | None = None
) -> LinkDetails | None:
    """After the identity check: the activities to rate, or the diary so far; None once the link closed."""
    now = now or _utcnow()
    with store.read() as tx:
        if (link := _linked(tx, token, now)) is None:
            return None
        invite = link.invite
        diary = (
            tuple(tx.diary_entries(invite.patient_id, invite.episode_id)) if invite.kind == "diary" else ()
        )
        instruments = patient_wordings(tx.get_meta) if invite.kind == "checkin" else ()
    thresholds = settings.rules.diary_thresholds
    ease_back = None
    if pr.not_settling(diary, thresholds):
        minutes = pr.last_comfortable_minutes(diary, thresholds)
        ease_back = (
            checkin_text.EASE_BACK.format(minutes=checkin_text.minutes_words(minutes))
            if minutes is not None
            else checkin_text.EASE_BACK_NO_GREEN
        )
    return LinkDetails(invite, _psfs_activities(link.visits), diary, thresholds, ease_back, instruments)


def answers_key(raw: Mapping[str, object]) -> str:
    """A stable digest of the answers given so far (so one emergency answer is recorded once)."""
    return _digest(*(f"{k}={raw[k]}" for k in sorted(raw)))


def add_next_morning_pain(
    store: Store,
    token: str | None,
    entry_id: str,
    pain_nrs: object,
    version: int,
    settings: Settings,
    *,
    now: dt.datetime | None = None,
) -> str | None:
    """Add the next morning's pain to a diary entry; None when saved, else the message for the patient."""
    now = now or _utcnow()
    if not isinstance(pain_nrs, int) or not pr.PAIN_RANGE[0] <= pain_nrs <= pr.PAIN_RANGE[1]:
        return "Choose a number from 0 to 10."
    with store.transaction() as tx:
        invite = _open_invite(tx, token, now)
        if invite is None or invite.kind != "diary":
            return LINK_CLOSED
        entry = next((e for e in tx.diary_entries(invite.patient_id) if e.id == entry_id), None)
        if entry is None or entry.invite_id != invite.id:
            return LINK_CLOSED
        if entry.pain_next_morning_nrs is not None:
            return "This walk already has its next-morning pain."
        try:
            tx.add_next_morning_pain(entry_id, pain_nrs, version)
        except StaleRecordError:
            return "This walk already has its next-morning pain."
        _audit(
            tx,
            None,
            "diary.next_morning",
            "diary_entry",
            entry_id,
            invite.patient_id,
            before={"pain_next_morning_nrs": None},
            after={"fingerprint": invite.fingerprint, "pain_next_morning_nrs": pain_nrs},
        )
        _screen_diary(tx, invite.patient_id, settings.rules)  # the 24-hour rule can turn it red
    return None
