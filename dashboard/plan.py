"""The patient's plan: advice-library models, the findings -> Plan selection, and the never-recommend
check (clinical-reference §6 and §8). The library itself is YAML, loaded by `data.library`.
"""

from __future__ import annotations

import datetime as dt
import re
import string
from collections.abc import Iterable, Iterator, Sequence
from typing import Annotated, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from dashboard.config import Settings
from dashboard.models import TIER_ORDER, Escalation, Patient, Visit
from dashboard.outcomes import score_startback
from dashboard.red_flags import RULES
from dashboard.walking import (
    WALKING_SYMPTOM_WORDS,
    chronological,
    claudication_pattern,
    latest_walking_symptoms,
    starting_bout_min,
    walking_programme,
    walking_symptom_changes,
)

EvidenceTag = Literal["C", "S", "U"]
AdviceSection = Literal["core", "walking", "posture", "footwear", "flare_up", "safety_net"]
# Sections of advice text, in the order the handout prints them (exercises come after walking).
ADVICE_SECTIONS: tuple[AdviceSection, ...] = (
    "core",
    "walking",
    "posture",
    "footwear",
    "flare_up",
    "safety_net",
)
# Patient-facing headings, in print order; the handout and its tests use these.
SECTION_HEADINGS: dict[str, str] = {
    "goals": "Your goals",
    "core": "About your back",
    "walking": "Your walking plan",
    "exercises": "Your exercises",
    "posture": "Moving, sitting and standing",
    "footwear": "Shoes for walking",
    "flare_up": "If you have a flare-up",
    "personal_note": "A note from your physio",
    "safety_net": "When to get help",
}
# Vector pictograms the handout can draw for an exercise card.
PICTOGRAM_KEYS: tuple[str, ...] = (
    "pelvic_tilt",
    "knee_to_chest",
    "bridge",
    "bird_dog",
    "plank",
    "open_book",
    "cycling",
)
# Placeholders allowed in library text, filled from Settings (emergency services are per deployment).
PLACEHOLDERS: tuple[str, ...] = ("emergency_number", "urgent_advice", "emergency_department")

# Walking-tolerance bands that select walking advice [U: project convention, editable]:
# a first walk shorter than 5 min is "short"; a first week already at the goal is "goal_met".
SHORT_START_BOUT_MIN = 5.0

# Open escalations at these tiers put the safety net first and leave reassurance out (issue 19):
# "rarely serious" must never sit beside an open emergency.
SAFETY_FIRST_TIERS: tuple[str, ...] = ("EMERGENCY", "URGENT")

CLAUDICATION_PATTERNS: tuple[str, ...] = ("neurogenic", "vascular", "indeterminate", "none")
STARTBACK_RISKS: tuple[str, ...] = ("low", "medium", "high")
WALKING_TOLERANCE_BANDS: tuple[str, ...] = ("unknown", "short", "building", "goal_met")
# `selected_by` tokens: "always", or kind:value. posture/footwear values are finding ids checked
# against the library itself.
_TOKEN_VALUES: dict[str, tuple[str, ...] | None] = {
    "posture": None,
    "footwear": None,
    "claudication": CLAUDICATION_PATTERNS,
    "startback": STARTBACK_RISKS,
    "history": ("cancer",),
    "walking_tolerance": WALKING_TOLERANCE_BANDS,
    # The most urgent open escalation of the patient, when it is URGENT or EMERGENCY.
    "escalation": ("urgent", "emergency"),
}
ALWAYS = "always"

ItemId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=60)]
Text = Annotated[str, Field(min_length=1, max_length=2000)]


def _check_token(token: str) -> str:
    if token == ALWAYS:
        return token
    kind, sep, value = token.partition(":")
    if not sep or kind not in _TOKEN_VALUES:
        raise ValueError(
            f"unknown selector {token!r}; expected 'always' or one of {', '.join(_TOKEN_VALUES)}"
        )
    allowed = _TOKEN_VALUES[kind]
    if allowed is None:
        if not re.fullmatch(r"[a-z][a-z0-9_]*", value):
            raise ValueError(f"selector {token!r} needs a finding id after '{kind}:'")
    elif value not in allowed:
        raise ValueError(f"selector {token!r}: '{kind}' takes one of {', '.join(allowed)}")
    return token


def placeholders_in(text: str) -> list[str]:
    """The {name} placeholders used in a library text (ValueError on a stray brace)."""
    return [name for _, name, _, _ in string.Formatter().parse(text) if name is not None]


class _LibraryModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class AdviceItem(_LibraryModel):
    """One piece of advice: a title, a paragraph and/or bullet lines, why it is chosen, and its source."""

    id: ItemId
    title: Text
    # Reassuring sentences printed before `text`, left out while an URGENT or EMERGENCY escalation
    # is open; `title_if_flagged` then replaces a title that reassures.
    reassurance: str = Field(default="", max_length=2000)
    title_if_flagged: str = Field(default="", max_length=300)
    text: str = Field(default="", max_length=2000)
    bullets: tuple[Text, ...] = ()
    selected_by: tuple[str, ...] = Field(min_length=1)
    source: Text
    evidence_tag: EvidenceTag
    # Short clinical label for a finding choice on the visit page (posture and footwear items).
    finding_label: str | None = None

    @field_validator("selected_by")
    @classmethod
    def _tokens(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_check_token(token) for token in value)

    @model_validator(mode="after")
    def _has_words(self) -> AdviceItem:
        if not self.text and not self.bullets and not self.reassurance:
            raise ValueError("give a text, bullets or both")
        return self

    def patient_texts(self) -> list[str]:
        """Every patient-facing string of the item: titles, reassurance, text and bullets."""
        optional = (self.title_if_flagged, self.reassurance, self.text)
        return [self.title, *(text for text in optional if text), *self.bullets]


class Exercise(_LibraryModel):
    """One exercise card: what it is for, how to do it, a default dose and its pictogram."""

    id: ItemId
    name: Text
    purpose: Text
    steps: tuple[Text, ...] = Field(min_length=1, max_length=6)
    dose: Text
    flexion_friendly: bool
    pictogram: str
    selected_by: tuple[str, ...] = Field(min_length=1)
    source: Text
    evidence_tag: EvidenceTag

    @field_validator("selected_by")
    @classmethod
    def _tokens(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_check_token(token) for token in value)

    @field_validator("pictogram")
    @classmethod
    def _known_pictogram(cls, value: str) -> str:
        if value not in PICTOGRAM_KEYS:
            raise ValueError(f"unknown pictogram; expected one of {', '.join(PICTOGRAM_KEYS)}")
        return value

    def patient_texts(self) -> list[str]:
        """Every patient-facing string of the card."""
        return [self.name, self.purpose, *self.steps, self.dose]


class Library(_LibraryModel):
    """The whole advice library, validated: unique ids, known selectors and placeholders."""

    version: str = Field(pattern=r"^[0-9a-f]{12}$")
    core: tuple[AdviceItem, ...] = Field(min_length=1)
    walking: tuple[AdviceItem, ...] = Field(min_length=1)
    posture: tuple[AdviceItem, ...] = Field(min_length=1)
    footwear: tuple[AdviceItem, ...] = Field(min_length=1)
    flare_up: tuple[AdviceItem, ...] = Field(min_length=1)
    safety_net: tuple[AdviceItem, ...] = Field(min_length=1)
    exercises: tuple[Exercise, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> Library:
        seen: set[str] = set()
        for entry in self.entries():
            if entry.id in seen:
                raise ValueError(f"id {entry.id!r} is used twice")
            seen.add(entry.id)
        for kind in ("posture", "footwear"):
            own_ids = {item.id for item in getattr(self, kind)}
            for entry in self.entries():
                for token in entry.selected_by:
                    if token.startswith(f"{kind}:") and token.partition(":")[2] not in own_ids:
                        raise ValueError(f"{entry.id}: selector {token!r} names no {kind} item")
        for entry in self.entries():
            texts = entry.patient_texts()
            for text in texts:
                unknown = set(placeholders_in(text)) - set(PLACEHOLDERS)
                if unknown:
                    raise ValueError(f"{entry.id}: unknown placeholder {sorted(unknown)[0]!r}")
        if not any(ALWAYS in item.selected_by for item in self.safety_net):
            raise ValueError("safety_net: at least one item must be selected 'always'")
        return self

    def entries(self) -> Iterator[AdviceItem | Exercise]:
        """Every advice item and exercise, section by section."""
        for section in ADVICE_SECTIONS:
            yield from getattr(self, section)
        yield from self.exercises

    def items(self, section: AdviceSection) -> tuple[AdviceItem, ...]:
        """The advice items of one section, in library order."""
        items: tuple[AdviceItem, ...] = getattr(self, section)
        return items

    def _finding_ids(self, kind: str) -> list[str]:
        prefix = f"{kind}:"
        found = {token[len(prefix) :] for item in self.entries() for token in item.selected_by}
        return [item.id for item in getattr(self, kind) if item.id in found]

    def posture_ids(self) -> list[str]:
        """Posture finding ids a visit may record (each selects advice), in library order."""
        return self._finding_ids("posture")

    def footwear_ids(self) -> list[str]:
        """Footwear finding ids a visit may record (each selects advice), in library order."""
        return self._finding_ids("footwear")

    def finding_labels(self, kind: Literal["posture", "footwear"]) -> dict[str, str]:
        """Finding id -> short clinical label for the visit page (the title when no label is given)."""
        by_id = {item.id: item for item in self.items(kind)}
        ids = self.posture_ids() if kind == "posture" else self.footwear_ids()
        return {fid: by_id[fid].finding_label or by_id[fid].title for fid in ids}


# --- The plan ------------------------------------------------------------------------------------


class _PlanModel(BaseModel):
    model_config = ConfigDict(
        extra="forbid", validate_assignment=True, hide_input_in_errors=True, str_strip_whitespace=True
    )


class PlanItem(_PlanModel):
    """One advice item as printed: the clinician may edit the words before export."""

    id: str
    title: str = Field(max_length=300)
    text: str = Field(default="", max_length=3000)
    bullets: list[str] = Field(default_factory=list)


class PlanExercise(_PlanModel):
    """One exercise as printed, with the dose the clinician chose."""

    id: str
    name: str = Field(min_length=1, max_length=200)
    purpose: str = Field(default="", max_length=1000)
    steps: list[str] = Field(default_factory=list)
    dose: str = Field(default="", max_length=300)
    flexion_friendly: bool = False
    pictogram: str = ""


class ProgrammeWeek(_PlanModel):
    """One week of the walking programme (minutes)."""

    week: int = Field(ge=1, le=104)
    bout_min: float = Field(gt=0, le=180)
    bouts_per_day: int = Field(ge=1, le=10)
    days_per_week: int = Field(ge=1, le=7)

    @property
    def weekly_total_min(self) -> float:
        """Minutes of walking in this week."""
        return self.bout_min * self.bouts_per_day * self.days_per_week


class Plan(_PlanModel):
    """A patient's plan as reviewed, edited and exported: what was given to whom, and from which library."""

    patient_display_name: str = Field(min_length=1, max_length=201)
    patient_ref: str = Field(min_length=1, max_length=40)
    plan_date: dt.date
    clinician_name: str = Field(default="", max_length=200)
    clinic_name: str = Field(default="", max_length=200)
    clinic_address: str = Field(default="", max_length=400)
    clinic_phone: str = Field(default="", max_length=60)
    next_appointment: dt.date | None = None
    # The patient's own goals: the activities they named on the PSFS (clinical-reference §7.5).
    goals: list[str] = Field(default_factory=list, max_length=5)
    # An URGENT or EMERGENCY escalation was open: the safety net leads, reassurance is left out.
    safety_first: bool = False
    sections: dict[AdviceSection, list[PlanItem]] = Field(default_factory=dict)
    exercises: list[PlanExercise] = Field(default_factory=list)
    start_bout_min: float | None = Field(default=None, gt=0, le=180)
    walking_programme: list[ProgrammeWeek] = Field(default_factory=list)
    needs_start_bout: bool = False
    personal_note: str = Field(default="", max_length=2000)
    summary: list[str] = Field(default_factory=list)
    claudication_pattern: str = "none"
    startback_risk: str | None = None
    library_version: str = ""

    def section(self, key: AdviceSection) -> list[PlanItem]:
        """The items of one section (an empty list when none were selected)."""
        return self.sections.get(key, [])

    @property
    def safety_net(self) -> list[PlanItem]:
        """The safety-net items, always printed in a bordered box."""
        return self.section("safety_net")

    def item_ids(self) -> list[str]:
        """Ids of every library item and exercise used, in print order."""
        return [item.id for key in ADVICE_SECTIONS for item in self.section(key)] + [
            exercise.id for exercise in self.exercises
        ]

    def patient_texts(self) -> list[str]:
        """Every patient-facing string in the plan (for the never-recommend check before export)."""
        texts: list[str] = []
        for key in ADVICE_SECTIONS:
            for item in self.section(key):
                texts += [item.title, item.text, *item.bullets]
        for exercise in self.exercises:
            texts += [exercise.name, exercise.purpose, *exercise.steps, exercise.dose]
        texts.append(self.personal_note)
        return [text for text in texts if text]

    def to_json(self) -> str:
        """The plan as JSON, stored with the exported PDF."""
        return self.model_dump_json()

    @classmethod
    def from_json(cls, text: str) -> Plan:
        """Read a plan back from `to_json` output."""
        return cls.model_validate_json(text)


# --- Selection -----------------------------------------------------------------------------------


def _walking_band(start_bout: float | None, first_week_at_goal: bool) -> str:
    if start_bout is None:
        return "unknown"
    if first_week_at_goal:
        return "goal_met"
    return "short" if start_bout < SHORT_START_BOUT_MIN else "building"


def _latest_startback_risk(visits: Sequence[Visit]) -> tuple[str | None, dt.date | None]:
    for visit in reversed(visits):
        if visit.startback:
            result = score_startback(visit.startback)
            if result.scorable and result.risk is not None:
                return result.risk, visit.visit_date
    return None, None


def _fill(text: str, values: dict[str, str]) -> str:
    return text.format_map(values) if "{" in text else text


def _plan_item(item: AdviceItem, values: dict[str, str], safety_first: bool) -> PlanItem | None:
    """The item as printed; None when nothing is left of it (all reassurance, with a flag open)."""
    if safety_first:
        title, text = item.title_if_flagged or item.title, item.text
    else:
        title, text = item.title, " ".join(part for part in (item.reassurance, item.text) if part)
    if not text and not item.bullets:
        return None
    return PlanItem(
        id=item.id,
        title=_fill(title, values),
        text=_fill(text, values),
        bullets=[_fill(line, values) for line in item.bullets],
    )


def open_urgent_escalations(escalations: Iterable[Escalation]) -> list[Escalation]:
    """Open URGENT or EMERGENCY escalations, most urgent and oldest first."""
    chosen = [esc for esc in escalations if esc.status == "open" and esc.tier in SAFETY_FIRST_TIERS]
    return sorted(
        chosen,
        key=lambda esc: (-TIER_ORDER[esc.tier], esc.opened_at or dt.datetime.max.replace(tzinfo=dt.UTC)),
    )


class EscalationWarning(NamedTuple):
    """What the plan page says about one open escalation: tier, the rule in words, the reason."""

    tier: str
    rule_id: str
    rule_words: str
    reason: str


_RULE_WORDS = {rule.rule_id: rule for rule in RULES}


def escalation_warnings(
    escalations: Iterable[Escalation], settings: Settings | None = None
) -> list[EscalationWarning]:
    """Every open escalation as a plan-page warning, most urgent and oldest first (plain text)."""
    rules = (settings or Settings()).rules
    opened = [esc for esc in escalations if esc.status == "open"]
    opened.sort(
        key=lambda esc: (-TIER_ORDER[esc.tier], esc.opened_at or dt.datetime.max.replace(tzinfo=dt.UTC))
    )
    warnings = []
    for esc in opened:
        rule = _RULE_WORDS.get(esc.rule_id)
        words = rule.trigger_for(rules) if rule is not None else "a rule of an earlier rule set"
        warnings.append(EscalationWarning(esc.tier, esc.rule_id, words, esc.reason))
    return warnings


def _goals(visits: Sequence[Visit]) -> list[str]:
    # The latest visit with PSFS activities names the goals (the UI copies them forward, §7.5).
    for visit in reversed(visits):
        if visit.psfs:
            return [entry.activity for entry in visit.psfs]
    return []


def _minutes(value: float) -> str:
    return f"{value:g}"


def build_plan(
    patient: Patient,
    visits: Iterable[Visit],
    library: Library,
    *,
    settings: Settings | None = None,
    clinician_name: str = "",
    start_bout_min: float | None = None,
    plan_date: dt.date | None = None,
    escalations: Iterable[Escalation] = (),
) -> Plan:
    """Choose advice, exercises, the walking programme and safety-net lines from the latest findings.

    `start_bout_min` overrides the first walk length derived from the walking tests; when neither
    exists the programme is left empty and `needs_start_bout` is set. With an open URGENT or
    EMERGENCY escalation among `escalations` the plan is `safety_first`: its safety net leads the
    handout, says to follow the advice given, and reassuring sentences are left out.
    """
    settings = settings or Settings()
    ordered = chronological(visits)
    if not ordered:
        raise ValueError("visits: a plan needs at least one visit")
    if start_bout_min is not None and not 0 < start_bout_min <= 180:
        raise ValueError("start_bout_min: must be more than 0 and at most 180 minutes")
    latest = ordered[-1]
    summary: list[str] = []

    derived_bout = starting_bout_min(ordered)
    start_bout = start_bout_min if start_bout_min is not None else derived_bout
    weeks = walking_programme(start_bout) if start_bout is not None else []
    programme = [
        ProgrammeWeek(
            week=week.week,
            # Whole minutes are easier to follow on a walk; never below 1 min (§8.2 [U]).
            bout_min=max(1.0, float(round(week.bout_min))),
            bouts_per_day=week.bouts_per_day,
            days_per_week=week.days_per_week,
        )
        for week in weeks
    ]
    if start_bout is None:
        summary.append(
            "No walking test or reported walking time: enter a first walk length for the programme."
        )
    else:
        origin = (
            "set by the clinician"
            if start_bout_min is not None
            else "about 80% of the latest symptom-free walk"
        )
        summary.append(
            f"Walking programme starts at {_minutes(programme[0].bout_min)} min a walk ({origin})."
        )

    # A follow-up that did not re-ask the walking symptoms keeps the latest answers given, so the
    # stenosis tailoring stays as it was unless a finding changed (issue 19); the summary says which.
    symptoms_visit = latest_walking_symptoms(ordered)
    pattern = claudication_pattern(symptoms_visit) if symptoms_visit else "none"
    if symptoms_visit is None:
        summary.append("Walking symptoms not assessed yet: no claudication-based advice.")
    elif symptoms_visit is not latest:
        summary.append(
            f"Walking symptoms as assessed on {symptoms_visit.visit_date.isoformat()} "
            "(not re-assessed since)."
        )
    if changed := walking_symptom_changes(ordered):
        summary.append(
            "Walking symptoms changed since the previous assessment: "
            + ", ".join(WALKING_SYMPTOM_WORDS[name].lower() for name in changed)
            + "."
        )
    risk, risk_date = _latest_startback_risk(ordered)
    # Judged on the first walk as printed (whole minutes), so the words match the table.
    band = _walking_band(programme[0].bout_min if programme else None, bool(weeks) and weeks[0].at_goal)
    tokens = {
        ALWAYS,
        f"claudication:{pattern}",
        f"walking_tolerance:{band}",
        *(f"posture:{finding}" for finding in latest.posture_findings),
        *(f"footwear:{finding}" for finding in latest.footwear_findings),
    }
    urgent = open_urgent_escalations(escalations)
    safety_first = bool(urgent)
    if urgent:
        tokens.add(f"escalation:{urgent[0].tier.lower()}")
        summary.append(
            f"Open {urgent[0].tier} escalation ({', '.join(sorted({esc.rule_id for esc in urgent}))}): "
            "the safety net leads the handout and reassurance is left out."
        )
    if risk is not None:
        tokens.add(f"startback:{risk}")
        summary.append(f"STarT Back: {risk} risk (visit of {risk_date}).")
    else:
        summary.append("STarT Back: no complete questionnaire, so no risk-group advice.")
    if patient.history_of_cancer:
        tokens.add("history:cancer")
        summary.append("History of cancer: the cancer safety-net lines are included.")
    if pattern == "neurogenic":
        summary.append("Neurogenic pattern: flexion-friendly exercises, interval walking with sitting rests.")
    elif pattern in ("vascular", "indeterminate"):
        summary.append(
            f"Claudication pattern {pattern}: GP review with ABPI is advised (RF_VASCULAR_CLAUDICATION)."
        )
    for kind, findings, known in (
        ("posture", latest.posture_findings, library.posture_ids()),
        ("footwear", latest.footwear_findings, library.footwear_ids()),
    ):
        unknown = sorted(set(findings) - set(known))
        if unknown:
            summary.append(f"No {kind} advice in this library for: {', '.join(unknown)}.")

    values = {name: getattr(settings, name) for name in PLACEHOLDERS}
    sections: dict[AdviceSection, list[PlanItem]] = {
        section: [
            printed
            for item in library.items(section)
            if tokens & set(item.selected_by)
            and (printed := _plan_item(item, values, safety_first)) is not None
        ]
        for section in ADVICE_SECTIONS
    }
    exercises = [
        PlanExercise(
            id=exercise.id,
            name=exercise.name,
            purpose=exercise.purpose,
            steps=list(exercise.steps),
            dose=exercise.dose,
            flexion_friendly=exercise.flexion_friendly,
            pictogram=exercise.pictogram,
        )
        for exercise in library.exercises
        if tokens & set(exercise.selected_by)
        # In a neurogenic pattern bending forward eases symptoms: flexion-friendly exercises only
        # (Matsuwaka & Liem 2018 [C]; clinical-reference §8.5).
        and (pattern != "neurogenic" or exercise.flexion_friendly)
    ]
    return Plan(
        patient_display_name=patient.display_name,
        patient_ref=patient.patient_ref,
        plan_date=plan_date or dt.date.today(),
        clinician_name=clinician_name,
        clinic_name=settings.clinic_name,
        clinic_address=settings.clinic_address,
        clinic_phone=settings.clinic_phone,
        next_appointment=patient.next_review_date,
        goals=_goals(ordered),
        safety_first=safety_first,
        sections=sections,
        exercises=exercises,
        start_bout_min=start_bout,
        walking_programme=programme,
        needs_start_bout=start_bout is None,
        summary=summary,
        claudication_pattern=pattern,
        startback_risk=risk,
        library_version=library.version,
    )


# --- Never recommend (clinical-reference §8.7) ---------------------------------------------------


class NeverTerm(NamedTuple):
    """A term the plan must never recommend, the pattern that finds it, and why."""

    label: str
    pattern: str
    reason: str


_NG59 = "NICE NG59 do-not-offer list [S]"
NEVER_RECOMMEND: tuple[NeverTerm, ...] = (
    NeverTerm("belt or corset", r"\b(corsets?|(back|support|lumbar) belts?|back braces?)\b", _NG59),
    NeverTerm("orthotics or insoles", r"\b(orthotics?|orthoses|insoles?|arch supports?)\b", _NG59),
    NeverTerm("rocker-sole shoes", r"\brocker\b", _NG59),
    NeverTerm("traction", r"\btraction\b", _NG59),
    NeverTerm("acupuncture", r"\b(acupuncture|dry needling)\b", _NG59),
    NeverTerm("ultrasound", r"\bultrasound\b", _NG59),
    # Upper case only: "tens" and "pens" are ordinary words.
    NeverTerm("TENS or PENS", r"(?-i:\b(TENS|PENS)\b)|\bnerve stimulation\b", _NG59),
    NeverTerm("paracetamol", r"\b(paracetamol|acetaminophen)\b", _NG59),
    NeverTerm(
        "drug advice",
        r"\b(ibuprofen|naproxen|diclofenac|nsaids?|codeine|opioids?|tramadol|morphine|gabapentin|"
        r"pregabalin|amitriptyline|duloxetine|pain ?killers?|medication|medicines?|tablets?|pills?|drugs?)\b",
        "Drug advice belongs with the prescriber (clinical-reference §8.6, §8.7)",
    ),
    NeverTerm(
        "imaging",
        r"\b(x-?rays?|(?-i:MRI)|ct scans?|scans?|imaging)\b",
        "No routine imaging (NICE NG59 1.1.4 [C])",
    ),
    NeverTerm(
        "bed rest",
        r"\b(bed ?rest|(rest|stay|lie|lying|resting|staying) in bed)\b",
        "Avoid bed rest (NG59 [C])",
    ),
    NeverTerm(
        "walking stick",
        r"\b(walking (sticks?|canes?)|canes?)\b",
        "A stick did not improve walking tolerance (Comer 2010 [C])",
    ),
    NeverTerm(
        "one correct posture",
        r"\b(bad|poor|wrong|incorrect|correct|proper|perfect|good|right) (posture|way to (sit|stand))\b",
        "No posture is the one right one (Slater 2019 [C])",
    ),
    NeverTerm(
        "posture or footwear causes pain",
        r"\b(posture|footwear|shoes?|heels?)\b[^.]{0,40}\b(causes?|caused|causing|to blame)\b",
        "Never say posture or footwear causes the pain (clinical-reference §8)",
    ),
)
_NEVER_PATTERNS = tuple((term.label, re.compile(term.pattern, re.IGNORECASE)) for term in NEVER_RECOMMEND)


def never_recommend_hits(text: str) -> list[str]:
    """Labels of the never-recommend terms found in a text, in NEVER_RECOMMEND order."""
    return [label for label, pattern in _NEVER_PATTERNS if pattern.search(text)]
