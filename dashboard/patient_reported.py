"""The patient's own voice: invite links, check-in answers and the walking diary (clinical-reference §12).

Plain domain code: an invite's token and its states, the identity check, the check-in's questions
in our own plain words with their mapping onto Visit fields (§12.1), field-level validation of what
a browser sends, and the diary's traffic light with the 24-hour rule (§12.3). Storage, pages and the
red-flag rule that reads the diary live elsewhere.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal

from dashboard.licensed_wording import COMPLETE_ONLY, Wording, answer_value, visit_value

InviteKind = Literal["checkin", "diary", "plan"]
InviteState = Literal["open", "used", "revoked", "expired", "locked"]
Answer = Literal["yes", "no", "not_sure"]
Light = Literal["green", "amber", "red"]

# --- tokens --------------------------------------------------------------------------------------
# 32 random bytes = 256 bits (the issue asks for at least 128); URL-safe base64 without padding.
TOKEN_BYTES: Final = 32
TOKEN_LENGTH: Final = 43  # len(secrets.token_urlsafe(32))
_TOKEN_ALPHABET: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
FINGERPRINT_LENGTH: Final = 10  # hex characters of the token's hash: enough to tell invites apart in a log


def new_token() -> str:
    """A fresh invite token (256 random bits); shown once to the clinician, never stored."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def well_formed_token(token: str | None) -> bool:
    """True when ``token`` has the shape of one of ours; a forged or truncated one fails before any lookup."""
    return token is not None and len(token) == TOKEN_LENGTH and set(token) <= _TOKEN_ALPHABET


def token_hash(token: str) -> str:
    """The SHA-256 (hex) of a token: the only form in which the store keeps it."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()


CHECKIN_PATH: Final = "checkin"  # the patient's page: /checkin?t=<token> (check-in and diary alike)


def invite_link(public_url: str, token: str) -> str:
    """The address a patient opens: the clinic's public address, the patient's page and the token only."""
    return f"{public_url.rstrip('/')}/{CHECKIN_PATH}?t={token}"


def fingerprint(hash_hex: str) -> str:
    """A short, non-secret name for an invite in the audit trail and logs (never the token)."""
    return hash_hex[:FINGERPRINT_LENGTH]


# --- invites -------------------------------------------------------------------------------------
# Defaults from the data dictionary (patient-reported answers); clinics may change them in settings.
DEFAULT_LIFETIME: Final[Mapping[InviteKind, dt.timedelta]] = {
    "checkin": dt.timedelta(hours=72),  # single use, before one appointment
    "diary": dt.timedelta(weeks=6),  # many entries between visits
    "plan": dt.timedelta(weeks=6),  # the web version of a handout
}
SINGLE_USE: Final = frozenset({"checkin"})
IDENTITY_ATTEMPTS_MAX: Final = 5  # wrong dates of birth before the invite locks (issue #21)


@dataclass(frozen=True)
class Invite:
    """A link a clinician gave a patient; only the hash of its token is kept."""

    id: str
    patient_id: str
    episode_id: str | None
    kind: InviteKind
    token_hash: str
    created_at: dt.datetime
    expires_at: dt.datetime
    created_by: str
    used_at: dt.datetime | None = None
    revoked_at: dt.datetime | None = None
    failed_identity_attempts: int = 0

    @property
    def fingerprint(self) -> str:
        """The invite's short name in the audit trail."""
        return fingerprint(self.token_hash)


def invite_state(invite: Invite, now: dt.datetime) -> InviteState:
    """Whether the link still opens a form; revoked, locked and used outrank expiry."""
    if invite.revoked_at is not None:
        return "revoked"
    if invite.failed_identity_attempts >= IDENTITY_ATTEMPTS_MAX:
        return "locked"
    if invite.kind in SINGLE_USE and invite.used_at is not None:
        return "used"
    if now >= invite.expires_at:
        return "expired"
    return "open"


def identity_matches(answer: dt.date | None, date_of_birth: dt.date | None) -> bool:
    """The identity check: the date of birth the patient typed equals the one on record."""
    return answer is not None and date_of_birth is not None and answer == date_of_birth


# --- check-in questions (§12.1), in our own plain words ------------------------------------------
@dataclass(frozen=True)
class SymptomQuestion:
    """One red-flag symptom question and the Visit fields a yes or a no sets (not sure sets none)."""

    id: str
    words: str
    fields: tuple[str, ...]
    yes: str | bool  # the value a "yes" gives each field
    no: str | bool
    ces: bool  # a cauda equina feature: "not sure" shows same-day advice at once (§12.2)


def _change_question(id: str, words: str, *fields: str, ces: bool) -> SymptomQuestion:
    # Change4 fields: yes → "new", no → "none" (§12.1).
    return SymptomQuestion(id, words, fields, "new", "none", ces)


def _yes_no_question(id: str, words: str, *fields: str) -> SymptomQuestion:
    return SymptomQuestion(id, words, fields, True, False, False)


# Every question asks about the last two weeks: something new, or getting worse (§12.1).
SYMPTOM_QUESTION_LEAD: Final = (
    "In the last two weeks, have you had any of these that are new or getting worse?"
)
SYMPTOM_QUESTIONS: Final[tuple[SymptomQuestion, ...]] = (
    _change_question(
        "saddle",
        "Numbness or tingling between your legs or around your bottom (where you sit on a bike saddle)",
        "saddle_anaesthesia",
        ces=True,
    ),
    _change_question(
        "bladder", "Trouble starting to pass urine, or leaking urine", "bladder_dysfunction", ces=True
    ),
    _change_question(
        "bowel",
        "Not being able to control your bowels, or not feeling when you need to go",
        "bowel_dysfunction",
        ces=True,
    ),
    _change_question(
        "sexual", "Less feeling in your genitals, or new problems with sex", "sexual_dysfunction", ces=True
    ),
    _change_question(
        "both_legs",
        "Pain, pins and needles or numbness going down both legs",
        "bilateral_radicular_pain",
        ces=True,
    ),
    SymptomQuestion(
        "weakness",
        "A leg or foot getting weaker (for example tripping, or your foot slapping down)",
        ("leg_weakness",),
        "progressive",
        "none",
        False,
    ),
    _yes_no_question("fever", "A fever (feeling hot and shivery, or a high temperature)", "fever"),
    _yes_no_question("unwell", "Feeling generally unwell", "systemically_unwell"),
    _yes_no_question("weight", "Losing weight without trying", "unexplained_weight_loss"),
    _yes_no_question("night", "Pain at night that does not ease when you change position", "night_pain"),
)
QUESTION_BY_ID: Final = {q.id: q for q in SYMPTOM_QUESTIONS}
ANSWER_WORDS: Final[Mapping[Answer, str]] = {"yes": "Yes", "no": "No", "not_sure": "Not sure"}
STOP_REASON_WORDS: Final[Mapping[str, str]] = {
    "symptoms": "Back or leg pain, or numbness",
    "fatigue": "Feeling tired or out of breath",
    "other": "Something else",
}

# --- limits of what a patient may send ------------------------------------------------------------
PAIN_RANGE: Final = (0, 10)  # NRS 0–10 (§7.1)
WALK_MIN_MAX: Final = 300.0  # minutes; the data dictionary's 0–300 for diary walks
ANSWER_TEXT_MAX: Final = 40  # the longest well-formed value of any single field (a date, a number)


@dataclass(frozen=True)
class CheckinAnswers:
    """A check-in as submitted: measurements, PSFS ratings by activity, and symptom answers."""

    pain_nrs: int | None
    pain_worst_nrs: int | None
    walk_onset_min: float | None
    walk_total_min: float | None
    walk_stop_reason: str | None
    psfs_ratings: tuple[tuple[str, int | None], ...]
    symptoms: Mapping[str, Answer]
    # Licensed questionnaires the patient filled in (§12.1), by Visit field: odi_sections, rmdq_items, ...
    questionnaires: Mapping[str, object] = field(default_factory=dict)

    def visit_values(self) -> dict[str, object]:
        """The Visit fields these answers pre-fill or sit beside (§12.1); "not sure" gives no value."""
        values: dict[str, object] = {"pain_nrs": self.pain_nrs, "pain_worst_nrs": self.pain_worst_nrs}
        if self.walk_total_min is not None or self.walk_onset_min is not None:
            values |= {
                "walk_protocol": "reported",
                "walk_onset_min": self.walk_onset_min,
                "walk_total_min": self.walk_total_min,
                "walk_stop_reason": self.walk_stop_reason,
            }
        for question in SYMPTOM_QUESTIONS:
            answer = self.symptoms.get(question.id)
            for name in question.fields:
                values[name] = {"yes": question.yes, "no": question.no}.get(answer or "")
        values |= self.questionnaires
        return {name: value for name, value in values.items() if value is not None}

    def ask_now(self) -> tuple[SymptomQuestion, ...]:
        """Questions to put first in *ask now*: answered yes or not sure (never read as a no)."""
        return tuple(q for q in SYMPTOM_QUESTIONS if self.symptoms.get(q.id) in ("yes", "not_sure"))

    def report_answers(self) -> dict[str, object]:
        """The stored form (data dictionary, PatientReport.answers): Visit field names, "not_sure" kept."""
        answers = self.visit_values()
        for question in SYMPTOM_QUESTIONS:
            if self.symptoms.get(question.id) == "not_sure":
                answers |= dict.fromkeys(question.fields, NOT_SURE)
        rated = [{"activity": name, "score": score} for name, score in self.psfs_ratings if score is not None]
        if rated:
            answers["psfs"] = rated
        return answers


NOT_SURE: Final = "not_sure"
# What a patient's answers may pre-fill on the clinician's form (marked patient-reported, §12.1);
# screening answers are only ever shown beside their questions.
MEASUREMENT_FIELDS: Final = (
    "pain_nrs",
    "pain_worst_nrs",
    "walk_protocol",
    "walk_onset_min",
    "walk_total_min",
    "walk_stop_reason",
    "psfs",
    # Licensed questionnaires, only where the clinic allows patient-completed use (§12.1).
    "odi_sections",
    "rmdq_items",
    "zcq_items",
    "startback",
)
SCREENING_ANSWER_FIELDS: Final = tuple(name for q in SYMPTOM_QUESTIONS for name in q.fields)


@dataclass(frozen=True)
class PatientReport:
    """A submitted check-in, never edited; the visit that reviewed it is linked, not merged into it."""

    id: str
    invite_id: str
    patient_id: str
    episode_id: str | None
    submitted_at: dt.datetime
    answers: Mapping[str, object]
    urgency: str  # the provisional, patient-reported screening's tier at submission (NONE when none)
    reviewed_visit_id: str | None = None

    def measurements(self) -> dict[str, object]:
        """The values the visit form may pre-fill, marked "patient-reported on <date>"."""
        return {name: self.answers[name] for name in MEASUREMENT_FIELDS if name in self.answers}

    def screening_answers(self) -> dict[str, object]:
        """Screening answers by Visit field ("new", "none", True, False or "not_sure"), shown beside each."""
        return {name: self.answers[name] for name in SCREENING_ANSWER_FIELDS if name in self.answers}


@dataclass
class Problems:
    """Field-level messages, in plain words, keyed by the form's field name."""

    by_field: dict[str, str] = field(default_factory=dict)

    def add(self, name: str, message: str) -> None:
        """Keep the first message for a field (the most basic problem)."""
        self.by_field.setdefault(name, message)

    def __bool__(self) -> bool:
        return bool(self.by_field)


def _text(raw: Mapping[str, object], name: str, problems: Problems) -> str | None:
    value = raw.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    text = str(value).strip()
    if len(text) > ANSWER_TEXT_MAX:
        problems.add(name, "This answer is too long. Please type a short number.")
        return None
    return text


def _pain(raw: Mapping[str, object], name: str, problems: Problems) -> int | None:
    text = _text(raw, name, problems)
    if text is None:
        return None
    low, high = PAIN_RANGE
    if not text.isdigit() or not low <= int(text) <= high:
        problems.add(name, f"Choose a whole number from {low} to {high}.")
        return None
    return int(text)


def _minutes(raw: Mapping[str, object], name: str, problems: Problems) -> float | None:
    text = _text(raw, name, problems)
    if text is None:
        return None
    try:
        minutes = float(text.replace(",", "."))
    except ValueError:
        problems.add(name, "Type the number of minutes, for example 15.")
        return None
    if not math.isfinite(minutes) or not 0 <= minutes <= WALK_MIN_MAX:
        problems.add(name, f"Type a number of minutes from 0 to {WALK_MIN_MAX:g}.")
        return None
    return minutes


def _questionnaire(raw: Mapping[str, object], wording: Wording, problems: Problems) -> object | None:
    """One licensed questionnaire's answers as its Visit field's value; a message per bad item."""
    chosen: dict[str, object] = {}
    for item in wording.items:
        name = wording.field(item)
        answer = _text(raw, name, problems)
        if answer is None:
            continue
        try:
            chosen[item.code] = answer_value(wording, item, answer)
        except KeyError:
            problems.add(name, "Choose one of the answers shown.")
    if chosen and wording.instrument in COMPLETE_ONLY:
        for item in wording.items:
            if item.code not in chosen:
                problems.add(wording.field(item), "Please answer this one too, or leave all of these empty.")
    return visit_value(wording, chosen)


def parse_checkin(
    raw: Mapping[str, object], psfs_activities: Sequence[str], instruments: Sequence[Wording] = ()
) -> CheckinAnswers | Problems:
    """Check what a patient's browser sent; every bad field gets its own message and nothing is kept.

    `instruments`: the licensed questionnaires the patient may fill in (§12.1), each with its items and
    allowed answers; their fields are "<instrument>_<item code>" (e.g. "odi_3").
    """
    problems = Problems()
    pain = _pain(raw, "pain_nrs", problems)
    worst = _pain(raw, "pain_worst_nrs", problems)
    onset = _minutes(raw, "walk_onset_min", problems)
    total = _minutes(raw, "walk_total_min", problems)
    if onset is not None and total is not None and onset > total:
        problems.add("walk_onset_min", "This cannot be longer than the whole walk.")
    stop = _text(raw, "walk_stop_reason", problems)
    if stop is not None and stop not in STOP_REASON_WORDS:
        problems.add("walk_stop_reason", "Choose one of the reasons shown.")
    ratings = tuple((name, _pain(raw, f"psfs_{i}", problems)) for i, name in enumerate(psfs_activities))
    symptoms: dict[str, Answer] = {}
    for question in SYMPTOM_QUESTIONS:
        answer = _text(raw, f"symptom_{question.id}", problems)
        if answer is None:
            continue
        if answer not in ANSWER_WORDS:
            problems.add(f"symptom_{question.id}", "Choose yes, no or not sure.")
            continue
        symptoms[question.id] = answer  # type: ignore[assignment]  # checked against ANSWER_WORDS
    questionnaires = {w.entry.visit_field: _questionnaire(raw, w, problems) for w in instruments}
    if problems:
        return problems
    walked = total is not None or onset is not None
    answered = {name: value for name, value in questionnaires.items() if value is not None}
    return CheckinAnswers(pain, worst, onset, total, stop if walked else None, ratings, symptoms, answered)


# --- the walking diary (§12.3) -------------------------------------------------------------------
@dataclass(frozen=True)
class DiaryThresholds:
    """Pain during the walk (NRS 0–10) up to which a day is green, and up to which amber; above: red.

    The clinic's settings, with their defaults: dashboard.config.RuleSettings.diary_thresholds (§12.3).
    """

    green_max: int
    amber_max: int

    def __post_init__(self) -> None:
        low, high = PAIN_RANGE
        if not low <= self.green_max <= self.amber_max <= high:
            raise ValueError(
                f"diary thresholds: need {low} ≤ green max ≤ amber max ≤ {high}, "
                f"got green max {self.green_max}, amber max {self.amber_max}"
            )


@dataclass(frozen=True)
class DiaryEntry:
    """One day's walk: minutes walked and until symptoms (None: none); pain before, during, next morning."""

    walk_date: dt.date
    walked_min: float
    symptom_onset_min: float | None
    pain_before_nrs: int
    pain_during_nrs: int
    pain_next_morning_nrs: int | None = None  # added the next day to the same entry
    id: str | None = None
    invite_id: str | None = None
    patient_id: str | None = None
    episode_id: str | None = None
    recorded_at: dt.datetime | None = None
    version: int = 1


def worse_next_morning(entry: DiaryEntry) -> bool:
    """The 24-hour rule: next-morning pain (NRS) still above the pain before the walk; red whatever else."""
    return entry.pain_next_morning_nrs is not None and entry.pain_next_morning_nrs > entry.pain_before_nrs


def traffic_light(entry: DiaryEntry, thresholds: DiaryThresholds) -> Light:
    """Green, amber or red by pain during the walk (NRS); worse next morning than before: red (24-h rule)."""
    if worse_next_morning(entry):
        return "red"
    if entry.pain_during_nrs <= thresholds.green_max:
        return "green"
    if entry.pain_during_nrs <= thresholds.amber_max:
        return "amber"
    return "red"


LIGHT_WORDS: Final[Mapping[Light, str]] = {
    "green": "Green: fine, keep going",
    "amber": "Amber: take care, stay at this level",
    "red": "Red: too much, ease back",
}


def by_walk_date(entries: Sequence[DiaryEntry]) -> list[DiaryEntry]:
    """Diary entries oldest walk first, whatever order they were typed in."""
    return sorted(entries, key=lambda e: e.walk_date)


def not_settling(entries: Sequence[DiaryEntry], thresholds: DiaryThresholds) -> bool:
    """Two red entries in a row, the latest two by date: ease back to the last green week (§12.3)."""
    latest = by_walk_date(entries)[-2:]
    return len(latest) == 2 and all(traffic_light(e, thresholds) == "red" for e in latest)


def last_green(entries: Sequence[DiaryEntry], thresholds: DiaryThresholds) -> DiaryEntry | None:
    """The most recent green day: the level to go back to after red days (None: no green day yet)."""
    greens = [e for e in by_walk_date(entries) if traffic_light(e, thresholds) == "green"]
    return greens[-1] if greens else None


def last_comfortable_minutes(entries: Sequence[DiaryEntry], thresholds: DiaryThresholds) -> float | None:
    """Minutes walked on the most recent green day: the level to go back to after red days."""
    green = last_green(entries, thresholds)
    return None if green is None else green.walked_min


def parse_diary_entry(raw: Mapping[str, object], walk_date: dt.date, today: dt.date) -> DiaryEntry | Problems:
    """Check one diary entry from the patient's browser; the date may not be in the future."""
    problems = Problems()
    if walk_date > today:
        problems.add("walk_date", "This date is in the future. Choose today or an earlier day.")
    walked = _minutes(raw, "walked_min", problems)
    if walked is None and "walked_min" not in problems.by_field:
        problems.add("walked_min", "Type how many minutes you walked.")
    onset = _minutes(raw, "symptom_onset_min", problems)
    if walked is not None and onset is not None and onset > walked:
        problems.add("symptom_onset_min", "This cannot be longer than the whole walk.")
    before = _pain(raw, "pain_before_nrs", problems)
    during = _pain(raw, "pain_during_nrs", problems)
    for name, value in (("pain_before_nrs", before), ("pain_during_nrs", during)):
        if value is None and name not in problems.by_field:
            problems.add(name, "Choose a number from 0 to 10.")
    if problems or walked is None or before is None or during is None:
        return problems
    return DiaryEntry(walk_date, walked, onset, before, during)


# --- stored records checked again (an imported archive, clinical-reference §12) ---------------------
_PAIN_ANSWERS: Final = ("pain_nrs", "pain_worst_nrs")
_MINUTE_ANSWERS: Final = ("walk_onset_min", "walk_total_min")
_SYMPTOM_ANSWERS: Final[Mapping[str, tuple[object, ...]]] = {
    name: (q.yes, q.no, NOT_SURE) for q in SYMPTOM_QUESTIONS for name in q.fields
}


def _in_pain_range(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and PAIN_RANGE[0] <= value <= PAIN_RANGE[1]


def _stored_minutes(value: object) -> float | None:
    """A stored number of minutes within 0–300, else None."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value) if 0 <= value <= WALK_MIN_MAX else None


def _psfs_rating(item: object) -> bool:
    return (
        isinstance(item, Mapping)
        and set(item) == {"activity", "score"}
        and isinstance(item["activity"], str)
        and bool(item["activity"].strip())
        and _in_pain_range(item["score"])
    )


def report_answer_problems(answers: Mapping[str, object]) -> Problems:
    """What a stored check-in's answers (PatientReport.answers, keyed by Visit field) hold that no check-in
    gives: pain 0–10, walking minutes 0–300 (onset within the walk), a symptom answer as its question maps
    yes / no / not sure (§12.1), PSFS ratings 0–10 of named activities; keyed by the field."""
    problems = Problems()
    for name, value in answers.items():
        if name in _SYMPTOM_ANSWERS:
            if not any(type(value) is type(a) and value == a for a in _SYMPTOM_ANSWERS[name]):
                problems.add(name, "must be the answer its question gives for yes, no or not sure")
        elif name in _PAIN_ANSWERS:
            if not _in_pain_range(value):
                problems.add(name, f"must be a whole number from {PAIN_RANGE[0]} to {PAIN_RANGE[1]}")
        elif name in _MINUTE_ANSWERS:
            if _stored_minutes(value) is None:
                problems.add(name, f"must be a number of minutes from 0 to {WALK_MIN_MAX:g}")
        elif name == "walk_protocol":
            if value != "reported":
                problems.add(name, 'must be "reported" (the patient\'s own walking answers)')
        elif name == "walk_stop_reason":
            if value not in STOP_REASON_WORDS:
                problems.add(name, f"must be one of {', '.join(STOP_REASON_WORDS)}")
        elif name == "psfs":
            if not isinstance(value, list) or not value or not all(_psfs_rating(i) for i in value):
                problems.add(name, "must list rated activities, each with a score from 0 to 10")
        else:
            problems.add(name, "is not a check-in answer")
    onset, total = (
        _stored_minutes(answers.get("walk_onset_min")),
        _stored_minutes(answers.get("walk_total_min")),
    )
    if onset is not None and total is not None and onset > total:
        problems.add("walk_onset_min", "cannot be longer than the whole walk")
    return problems


def stored_diary_problems(entry: DiaryEntry, recorded_on: dt.date) -> Problems:
    """A stored diary entry checked by the rules of the patient's form (minutes 0–300, onset within the
    walk, pain 0–10, the walk not after the day it was recorded) and the next morning's pain 0–10."""
    raw = {
        "walked_min": entry.walked_min,
        "symptom_onset_min": entry.symptom_onset_min,
        "pain_before_nrs": entry.pain_before_nrs,
        "pain_during_nrs": entry.pain_during_nrs,
    }
    as_sent = {name: None if value is None else str(value) for name, value in raw.items()}
    parsed = parse_diary_entry(as_sent, entry.walk_date, recorded_on)
    problems = parsed if isinstance(parsed, Problems) else Problems()
    if entry.pain_next_morning_nrs is not None and not _in_pain_range(entry.pain_next_morning_nrs):
        low, high = PAIN_RANGE
        problems.add("pain_next_morning_nrs", f"Choose a whole number from {low} to {high}.")
    return problems
