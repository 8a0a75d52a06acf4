"""Domain models of Stride: a patient (one episode of care) and the visits recorded for them.

Field names, types and defaults follow `shared/data-dictionary.md`; units are in the names.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection, Mapping
from typing import Annotated, Any, Literal, TypeVar, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from dashboard.catalogue import INSTRUMENTS, STOP_REASONS, TIERS
from dashboard.catalogue import WALK_PROTOCOLS as _PROTOCOLS

Sex = Literal["F", "M", "X"]
Change4 = Literal["none", "new", "worsening", "chronic_stable"]
LegWeakness = Literal["none", "new", "stable", "progressive"]
Trauma = Literal["none", "minor", "major"]
WalkProtocol = Literal["spwt", "treadmill_1_2mph", "6mwt", "reported"]
WalkStopReason = Literal["symptoms", "fatigue", "time_cap", "other"]
ReportSource = Literal["clinician", "patient"]  # who gave the answers a screening or escalation rests on
Relief = Literal["sitting_or_flexion", "standing_still", "none"]
SymptomLocation = Literal["buttock_thigh", "calf", "mixed", "none"]
PedalPulses = Literal["normal", "reduced_or_absent", "not_assessed"]
AgreeDisagree = Literal["agree", "disagree"]
Bothersome = Literal["not_at_all", "slightly", "moderately", "very_much", "extremely"]

# The Literal types above spell the catalogue's ids for pydantic and mypy; tests/unit/test_catalogue.py
# checks that they match dashboard.catalogue exactly.
WALK_PROTOCOLS: tuple[str, ...] = tuple(_PROTOCOLS)
WALK_STOP_REASONS: tuple[str, ...] = tuple(STOP_REASONS)
# Protocol caps in minutes (clinical-reference §7.8: SPWT 30 min, treadmill 15 min, 6MWT 6 min).
WALK_CAP_MIN: dict[str, float] = {p.id: p.cap_min for p in _PROTOCOLS.values() if p.cap_min is not None}

# ZCQ item codes (clinical-reference §7.7): q1-q7 symptom severity 1-5 (q7, balance, uses 1/3/5),
# q8-q12 physical function 1-4, q13-q18 satisfaction 1-4 (after treatment only).
ZCQ_ALLOWED: dict[str, frozenset[int]] = {
    code: frozenset(int(v) for v in allowed)  # type: ignore[call-overload]
    for code, allowed in INSTRUMENTS["zcq"].allowed.items()
}
STARTBACK_ITEMS: tuple[str, ...] = INSTRUMENTS["startback"].item_codes
# Each STarT Back item's answers, in the form's order: q9 is bothersomeness, q1-q8 agree/disagree.
_STARTBACK_ANSWERS: dict[str, tuple[str, ...]] = {
    code: get_args(Bothersome) if code == "q9" else get_args(AgreeDisagree) for code in STARTBACK_ITEMS
}


def _check_items(
    answers: Mapping[str, object], allowed: Mapping[str, Collection[object]], expected: str, outside: str
) -> None:
    """Raise the form's message for the first unknown item code (`expected` names the known ones) or
    answer outside its item's allowed set (`outside` may name {key} and {allowed})."""
    for key, answer in answers.items():
        if key not in allowed:
            raise ValueError(f"unknown item {key}; expected {expected}")
        # A bool is an int to Python, but never an answer code.
        if isinstance(answer, bool) or answer not in allowed[key]:
            raise ValueError(outside.format(key=key, allowed=", ".join(map(str, allowed[key]))))


# Control characters (C0, DEL, C1): PostgreSQL refuses NUL in text, and the others are invisible or
# break the layout on a page. Tab is allowed everywhere (browsers keep a pasted tab in a one-line
# field, and it shows as a space); line feed and carriage return only in multi-line text.
_CONTROL_ONE_LINE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")
_CONTROL_MULTILINE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
CONTROL_CHARACTER_MESSAGE = "must not contain control characters or line breaks"
CONTROL_CHARACTER_MESSAGE_MULTILINE = "must not contain control characters (such as a NUL byte)"


def control_character_problem(text: str, *, multiline: bool = False) -> str | None:
    """The field message when `text` holds a control character it may not (None when it is clean)."""
    if multiline:
        return CONTROL_CHARACTER_MESSAGE_MULTILINE if _CONTROL_MULTILINE.search(text) else None
    return CONTROL_CHARACTER_MESSAGE if _CONTROL_ONE_LINE.search(text) else None


def _one_line(value: str) -> str:
    if problem := control_character_problem(value):
        raise ValueError(problem)
    return value


def _multiline(value: str) -> str:
    if problem := control_character_problem(value, multiline=True):
        raise ValueError(problem)
    return value


NOTES_MAX_CHARS = 5000


def _notes_length(value: str) -> str:
    # The count (never the text) tells the clinician how much to shorten; the page keeps what was typed.
    if len(value) > NOTES_MAX_CHARS:
        raise ValueError(f"can hold at most {NOTES_MAX_CHARS:,} characters (you entered {len(value):,})")
    return value


# Free text a user types: one line (names, references, activities) or several (notes).
OneLine = Annotated[str, AfterValidator(_one_line)]
MultiLine = Annotated[str, AfterValidator(_multiline)]

Nrs = Annotated[int, Field(ge=0, le=10)]
NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]

SCREENING_FIELDS: tuple[str, ...] = (
    "saddle_anaesthesia",
    "bladder_dysfunction",
    "bowel_dysfunction",
    "sexual_dysfunction",
    "bilateral_radicular_pain",
    "new_radicular_pain",
    "leg_weakness",
    "difficulty_walking_new",
    "fever",
    "systemically_unwell",
    "recent_infection",
    "unexplained_weight_loss",
    "night_pain",
    "trauma",
    "sudden_severe_pain",
    "pulsatile_abdominal_mass",
    "rest_pain_or_tissue_loss",
)
RISK_FIELDS: tuple[str, ...] = (
    "history_of_cancer",
    "osteoporosis",
    "prolonged_corticosteroids",
    "immunosuppressed",
    "iv_drug_use",
    "smoker",
)
BOOKKEEPING_FIELDS: tuple[str, ...] = (
    "id",
    "version",
    "recorded_at",
    "updated_at",
    "recorded_by",
    "updated_by",
    "archived",
)


class _Record(BaseModel):
    """Shared configuration: strict field checks that never echo a value back in an error."""

    model_config = ConfigDict(
        hide_input_in_errors=True,
        extra="forbid",
        validate_assignment=True,
        str_strip_whitespace=True,
    )

    id: str | None = None
    version: int = Field(default=1, ge=1)
    recorded_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    recorded_by: str | None = None
    updated_by: str | None = None
    archived: bool = False

    @property
    def saved_id(self) -> str:
        """The id of a record read from the store (an unsaved record has none, and asking is a bug)."""
        if self.id is None:
            raise ValueError(f"this {type(self).__name__} has not been saved, so it has no id yet")
        return self.id

    def clinical_dict(self) -> dict[str, Any]:
        """The clinical fields only (no bookkeeping), as JSON-friendly values."""
        return self.model_dump(mode="json", exclude=set(BOOKKEEPING_FIELDS))


# A BCP 47 language tag: a 2-3 letter language, then optional script, region or variant subtags.
_BCP47 = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})*")


class Patient(_Record):
    """One patient and their current episode of walking-provoked low back pain."""

    patient_ref: OneLine = Field(min_length=1, max_length=40)
    given_name: OneLine = Field(min_length=1, max_length=100)
    family_name: OneLine = Field(min_length=1, max_length=100)
    birth_date: dt.date
    sex: Sex
    symptom_onset: dt.date
    clinician_id: str | None = None
    next_review_date: dt.date | None = None
    history_of_cancer: bool = False
    osteoporosis: bool = False
    prolonged_corticosteroids: bool = False
    immunosuppressed: bool = False
    iv_drug_use: bool = False
    smoker: bool = False
    # The handout's language, a BCP 47 tag (clinical-reference §14); "en" when none is chosen.
    language: str = Field(default="en", max_length=35)

    @field_validator("language")
    @classmethod
    def _bcp47(cls, value: str) -> str:
        value = value.strip() or "en"
        if not _BCP47.fullmatch(value):
            raise ValueError("must be a language tag such as en, ar or pt-BR")
        return value

    @field_validator("birth_date", "symptom_onset")
    @classmethod
    def _not_in_future(cls, value: dt.date) -> dt.date:
        if value > dt.date.today():
            raise ValueError("must not be in the future")
        return value

    @model_validator(mode="after")
    def _onset_after_birth(self) -> Patient:
        if self.symptom_onset < self.birth_date:
            raise ValueError("symptom_onset: must not be before birth_date")
        return self

    @property
    def display_name(self) -> str:
        """The patient's name as shown to clinicians."""
        return f"{self.given_name} {self.family_name}"

    def age_years(self, on: dt.date) -> int:
        """Completed years of age on the given date."""
        before_birthday = (on.month, on.day) < (self.birth_date.month, self.birth_date.day)
        return on.year - self.birth_date.year - int(before_birthday)


class PsfsActivity(BaseModel):
    """One Patient-Specific Functional Scale activity and today's rating (None: not rated)."""

    model_config = ConfigDict(hide_input_in_errors=True, extra="forbid", str_strip_whitespace=True)

    activity: OneLine = Field(min_length=1, max_length=200)
    score: int | None = Field(default=None, ge=0, le=10)


class Visit(_Record):
    """One visit: measurements, questionnaires, walking test and red-flag screening answers.

    `None` means not asked or not measured at this visit.
    """

    patient_id: str | None = None
    # The episode of care the visit belongs to (clinical-reference §11.1); None before episodes existed.
    episode_id: str | None = None
    visit_date: dt.date
    pain_nrs: Nrs | None = None
    pain_worst_nrs: Nrs | None = None
    odi_sections: list[Annotated[int, Field(ge=0, le=5)] | None] | None = Field(
        default=None, min_length=10, max_length=10
    )
    rmdq_items: list[bool] | None = Field(default=None, min_length=24, max_length=24)
    zcq_items: dict[str, int] | None = None
    startback: dict[str, str] | None = None
    psfs: list[PsfsActivity] | None = Field(default=None, max_length=5)
    walk_protocol: WalkProtocol | None = None
    walk_onset_min: NonNegative | None = None
    walk_onset_m: NonNegative | None = None
    walk_total_min: NonNegative | None = None
    walk_total_m: NonNegative | None = None
    walk_stop_reason: WalkStopReason | None = None
    leg_pain_on_walking: bool | None = None
    relief: Relief | None = None
    symptom_location: SymptomLocation | None = None
    shopping_cart_sign: bool | None = None
    triggered_by_standing_alone: bool | None = None
    pedal_pulses: PedalPulses = "not_assessed"
    saddle_anaesthesia: Change4 | None = None
    bladder_dysfunction: Change4 | None = None
    bowel_dysfunction: Change4 | None = None
    sexual_dysfunction: Change4 | None = None
    bilateral_radicular_pain: Change4 | None = None
    new_radicular_pain: bool | None = None
    leg_weakness: LegWeakness | None = None
    leg_weakness_mrc: int | None = Field(default=None, ge=0, le=5)
    difficulty_walking_new: bool | None = None
    fever: bool | None = None
    systemically_unwell: bool | None = None
    recent_infection: bool | None = None
    temperature_c: float | None = Field(default=None, ge=30, le=45, allow_inf_nan=False)
    unexplained_weight_loss: bool | None = None
    night_pain: bool | None = None
    trauma: Trauma | None = None
    sudden_severe_pain: bool | None = None
    pulsatile_abdominal_mass: bool | None = None
    rest_pain_or_tissue_loss: bool | None = None
    posture_findings: set[OneLine] = Field(default_factory=set)
    footwear_findings: set[OneLine] = Field(default_factory=set)
    notes: Annotated[MultiLine, AfterValidator(_notes_length)] = ""

    @field_validator("visit_date")
    @classmethod
    def _visit_not_in_future(cls, value: dt.date) -> dt.date:
        if value > dt.date.today():
            raise ValueError("must not be in the future")
        return value

    @field_validator("zcq_items")
    @classmethod
    def _zcq_codes(cls, value: dict[str, int] | None) -> dict[str, int] | None:
        _check_items(value or {}, ZCQ_ALLOWED, "q1 to q18", "item {key} is outside its coded range")
        return value

    @field_validator("startback")
    @classmethod
    def _startback_answers(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        _check_items(value or {}, _STARTBACK_ANSWERS, "q1 to q9", "item {key} must be one of {allowed}")
        return value

    @classmethod
    def from_store(cls, values: dict[str, Any]) -> Visit:
        """A visit exactly as the store wrote it (its JSON payload with the bookkeeping), without validating
        it again: the trusted path for rows read back in bulk, such as a whole-caseload re-screen. The store
        validated every visit on its way in; anything typed or imported goes through `model_validate`.

        `values` is taken over (the JSON types become the model's: the date, the PSFS activities, the
        finding sets). This is what `model_construct` does, without its per-field loop."""
        values["visit_date"] = dt.date.fromisoformat(values["visit_date"])
        if values.get("psfs") is not None:
            values["psfs"] = [_trusted(PsfsActivity, {"score": None, **a}, set(a)) for a in values["psfs"]]
        values["posture_findings"] = set(values.get("posture_findings") or ())
        values["footwear_findings"] = set(values.get("footwear_findings") or ())
        given = set(values)
        if len(given) < len(_VISIT_FIELDS):  # a payload from before a field existed: its default
            values = {**{k: v() for k, v in _VISIT_DEFAULTS.items() if k not in given}, **values}
        return _trusted(cls, values, given)

    @model_validator(mode="after")
    def _walking_consistent(self) -> Visit:
        # Every walking problem at once, one line each ("field: message"; field_errors splits them), so a
        # clinician correcting the test is not refused again for the next one.
        problems: dict[str, str] = {}
        pairs = (("walk_total_min", "walk_onset_min"), ("walk_total_m", "walk_onset_m"))
        for total_name, onset_name in pairs:
            total, onset = getattr(self, total_name), getattr(self, onset_name)
            if total is not None and onset is not None and total < onset:
                problems[total_name] = f"must not be less than {onset_name}"
        cap = WALK_CAP_MIN.get(self.walk_protocol or "")
        if cap is not None:
            for name in ("walk_onset_min", "walk_total_min"):
                minutes = getattr(self, name)
                if minutes is not None and minutes > cap:
                    problems[name] = f"the {self.walk_protocol} protocol stops at {cap:g} min"
        walk_values = (self.walk_onset_min, self.walk_onset_m, self.walk_total_min, self.walk_total_m)
        if self.walk_protocol is None and any(v is not None for v in walk_values):
            problems["walk_protocol"] = "choose the walking protocol for these results"
        if problems:
            raise ValueError("\n".join(f"{name}: {message}" for name, message in problems.items()))
        return self


Trusted = TypeVar("Trusted", bound=BaseModel)


def _trusted(model: type[Trusted], values: dict[str, Any], given: set[str]) -> Trusted:
    """A model holding `values` (every field, already of its type) unchecked: what pydantic's
    `model_construct` builds, without its per-field loop over defaults."""
    record = model.__new__(model)
    object.__setattr__(record, "__dict__", values)
    object.__setattr__(record, "__pydantic_fields_set__", given)
    object.__setattr__(record, "__pydantic_extra__", None)
    object.__setattr__(record, "__pydantic_private__", None)
    return record


# Visit.from_store: every field, and how to make each one's default (a fresh set for the finding sets).
_VISIT_FIELDS = frozenset(Visit.model_fields)
_VISIT_DEFAULTS: dict[str, Any] = {
    name: (info.default_factory or (lambda default=info.default: default))
    for name, info in Visit.model_fields.items()
    if not info.is_required()
}


# Range messages in the words of the form ("must be at most 10"), which read after a field's label.
_BOUND_MESSAGES = {
    "less_than_equal": "must be at most {le}",
    "greater_than_equal": "must be at least {ge}",
    "less_than": "must be less than {lt}",
    "greater_than": "must be more than {gt}",
    "string_too_long": "can hold at most {max_length} characters",
}
# Pydantic's own wording for a missing, unparsable or unlisted value ("Input should be 'F', 'M' or
# 'X'") in the form's words instead; the rejected value itself is never repeated (privacy).
_PLAIN_MESSAGES = {
    "missing": "is required",
    "literal_error": "choose one of the options offered",
    "enum": "choose one of the options offered",
    "date_type": "enter a date (yyyy-mm-dd)",
    "date_parsing": "enter a date (yyyy-mm-dd)",
    "date_from_datetime_parsing": "enter a date (yyyy-mm-dd)",
    "int_parsing": "enter a whole number",
    "int_type": "enter a whole number",
    "int_from_float": "enter a whole number",
    "float_parsing": "enter a number",
    "float_type": "enter a number",
    "bool_parsing": "answer yes or no",
    "string_type": "enter text",
}


def field_errors(error: Exception) -> dict[str, str]:
    """Map a validation error to {field name: message}, never including the rejected value."""
    from pydantic import ValidationError

    if not isinstance(error, ValidationError):
        text = str(error)
        field, sep, message = text.partition(": ")
        return {field: message} if sep and field.isidentifier() else {"_": text}
    out: dict[str, str] = {}
    for item in error.errors(include_input=False, include_url=False):
        loc = [str(part) for part in item["loc"]]
        bound = _BOUND_MESSAGES.get(item["type"])
        ctx = {k: f"{v:,g}" if isinstance(v, int | float) else v for k, v in item.get("ctx", {}).items()}
        plain = _PLAIN_MESSAGES.get(item["type"])
        message = bound.format(**ctx) if bound else plain or str(item["msg"])
        message = message.removeprefix("Value error, ")
        if not loc:  # a model-level check: one "field: message" a line
            for line in message.splitlines():
                field, sep, rest = line.partition(": ")
                out.setdefault(*((field, rest) if sep and field.isidentifier() else ("_", line)))
            continue
        out.setdefault(loc[0], message if len(loc) == 1 else f"{'.'.join(loc[1:])}: {message}")
    return out


Tier = Literal["EMERGENCY", "URGENT", "ROUTINE_REVIEW", "NONE"]
TIER_ORDER: dict[str, int] = {entry.id: entry.rank for entry in TIERS.values()}
CLOSE_ACTIONS: dict[str, str] = {
    "sent_to_ed": "Sent to the emergency department",
    "urgent_referral": "Urgent GP / specialist referral",
    "discussed_on_call": "Discussed with on-call",
    "already_under_care": "Already under care (give a reference)",
    "not_indicated": "Not indicated (give a reason)",
    "other": "Other (describe)",
}
# Close actions whose free text is required (issue 4).
CLOSE_ACTIONS_NEEDING_TEXT: frozenset[str] = frozenset({"already_under_care", "not_indicated", "other"})


class FlagRecord(BaseModel):
    """One fired red-flag rule as stored with a screening."""

    model_config = ConfigDict(hide_input_in_errors=True)

    rule_id: str
    tier: Tier
    reason: str
    action: str
    timeframe: str
    source: str
    evidence_tag: str


class Screening(_Record):
    """A stored red-flag screening of one patient, made when a visit was saved or on demand."""

    patient_id: str
    visit_id: str | None = None
    urgency: Tier
    flags: list[FlagRecord] = Field(default_factory=list)
    not_asked: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    claudication_pattern: str = "none"
    rule_set_version: str
    # "patient": a provisional screening of a patient's own check-in answers (clinical-reference §12.2),
    # never the clinician's; the visit that reviews the answers screens again.
    source: ReportSource = "clinician"


class Escalation(_Record):
    """One open (or closed) escalation of a red-flag rule for a patient, with what was done."""

    patient_id: str
    rule_id: str
    tier: Tier
    status: Literal["open", "closed"] = "open"
    reason: str = ""
    action: str = ""
    timeframe: str = ""
    opened_at: dt.datetime | None = None
    last_screening_id: str | None = None
    closed_at: dt.datetime | None = None
    closed_by: str | None = None
    close_action: str | None = None
    close_detail: str = ""
    # The referral letter given when it was closed as an urgent referral (its evidence, §13).
    close_letter_id: str | None = None
    # "patient": opened by a patient-reported screening (marked so on every clinician's screen, §12.2).
    source: ReportSource = "clinician"


# --- episodes of care (clinical-reference §11.1) -----------------------------------------------

EpisodeStatus = Literal["open", "discharged"]
DischargeReason = Literal["goals_met", "self_discharged", "referred_on", "declined_further_care", "other"]
DISCHARGE_NOTE_MAX = 2000  # data dictionary, Episode.discharge_note


class Episode(_Record):
    """One episode of care of a patient: onset, treating clinician, and discharge when it ends."""

    patient_id: str
    referral_date: dt.date | None = None  # None: the first visit's date
    symptom_onset: dt.date
    clinician_id: str | None = None
    status: EpisodeStatus = "open"
    discharge_date: dt.date | None = None
    discharge_reason: DischargeReason | None = None
    discharge_note: MultiLine = Field(default="", max_length=DISCHARGE_NOTE_MAX)

    @property
    def is_open(self) -> bool:
        """True while the episode takes new visits (at most one per patient, §11.1)."""
        return self.status == "open"
