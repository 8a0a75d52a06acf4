"""The patient's plan: the findings -> Plan selection from the advice library, and what the plan
page says about open escalations (clinical-reference §6 and §8).

The library's models live in `dashboard.advice_library` and the never-recommend check in
`dashboard.never_recommend`; both are re-exported here, where callers have always found them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from pydantic import BaseModel, ConfigDict, Field

from dashboard.advice_library import (
    ADVICE_SECTIONS,
    ALWAYS,
    PICTOGRAM_KEYS,
    PLACEHOLDERS,
    AdviceItem,
    AdviceSection,
    EvidenceTag,
    Exercise,
    Library,
    placeholders_in,
)
from dashboard.config import Settings
from dashboard.models import TIER_ORDER, Escalation, Patient, Visit
from dashboard.never_recommend import NEVER_RECOMMEND, NeverTerm, never_recommend_hits
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

# Names callers import from here; they live in the library and never-recommend modules.
__all__ = [
    "ADVICE_SECTIONS",
    "NEVER_RECOMMEND",
    "PICTOGRAM_KEYS",
    "PLACEHOLDERS",
    "SAFETY_FIRST_TIERS",
    "SECTION_HEADINGS",
    "AdviceItem",
    "AdviceSection",
    "EscalationWarning",
    "EvidenceTag",
    "Exercise",
    "Library",
    "NeverTerm",
    "Plan",
    "PlanExercise",
    "PlanItem",
    "ProgrammeWeek",
    "build_plan",
    "escalation_warnings",
    "never_recommend_hits",
    "open_urgent_escalations",
    "placeholder_values",
    "placeholders_in",
]

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
# Walking-tolerance bands that select walking advice [U: project convention, editable]:
# a first walk shorter than 5 min is "short"; a first week already at the goal is "goal_met".
SHORT_START_BOUT_MIN = 5.0

# Open escalations at these tiers put the safety net first and leave reassurance out (issue 19):
# "rarely serious" must never sit beside an open emergency.
SAFETY_FIRST_TIERS: tuple[str, ...] = ("EMERGENCY", "URGENT")


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


def _most_urgent_first(esc: Escalation) -> tuple[int, dt.datetime]:
    # Most urgent tier first, then the oldest; an escalation without an opening time goes last.
    return -TIER_ORDER[esc.tier], esc.opened_at or dt.datetime.max.replace(tzinfo=dt.UTC)


def open_urgent_escalations(escalations: Iterable[Escalation]) -> list[Escalation]:
    """Open URGENT or EMERGENCY escalations, most urgent and oldest first."""
    chosen = [esc for esc in escalations if esc.status == "open" and esc.tier in SAFETY_FIRST_TIERS]
    return sorted(chosen, key=_most_urgent_first)


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
    opened = sorted((esc for esc in escalations if esc.status == "open"), key=_most_urgent_first)
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


def placeholder_values(settings: Settings) -> dict[str, str]:
    """The deployment's emergency number and services, for the {placeholders} of library text."""
    return {name: getattr(settings, name) for name in PLACEHOLDERS}


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

    values = placeholder_values(settings)
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
        # The card as printed keeps the library's fields of the same names (the dose may be edited).
        PlanExercise.model_validate(exercise.model_dump(include=set(PlanExercise.model_fields)))
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
