"""Red-flag escalation engine: the rule table of clinical-reference §3 and `screen(patient, visits)`.

Decision support for a registered clinician, never a diagnosis: "no rule fired" never means "safe".
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import inspect
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from dashboard.config import RuleSettings
from dashboard.models import SCREENING_FIELDS, TIER_ORDER, FlagRecord, Patient, Screening, Visit
from dashboard.outcomes import (
    MEASURES,
    ChangeJudgement,
    counts_as_evidence,
    improvement,
    judge_change,
    score_odi,
)
from dashboard.walking import (
    chronological,
    claudication_pattern,
    comparable_walks,
    latest_same_protocol_pair,
    primary_metric,
    visit_metric,
)

DISCLAIMER = (
    "Decision support for a registered clinician, not a diagnosis. The rules raise or lower the "
    "likelihood of serious pathology; examination and clinical reasoning decide. If no rule fired, "
    'serious pathology is not excluded: the screening reads "no rule fired", never "safe".'
)

# --- Thresholds (clinical-reference §3.1, §3.3); clinic-changeable ones live in RuleSettings ---------

# fever counts when answered True or temperature_c ≥ 38.0 (§3.1 [U]; data dictionary).
FEVER_TEMPERATURE_C = 38.0
# New weakness with MRC ≤ 3 is an emergency (NHS Lothian [C]; CKS / G-care [C]).
EMERGENCY_NEW_WEAKNESS_MAX_MRC = 3
# Stable major motor loss, power < 3/5: priority spinal referral (UK community red flags 2023 [S]).
SEVERE_STABLE_WEAKNESS_MAX_MRC = 2
# RF_MALIGNANCY_SUSPECTED needs 2 or more features: a convention [U].
MALIGNANCY_MIN_FEATURES = 2

# The CES core questions, listed under not_asked whenever unanswered (§3.1).
CES_CORE_QUESTIONS: tuple[str, ...] = (
    "saddle_anaesthesia",
    "bladder_dysfunction",
    "bowel_dysfunction",
    "bilateral_radicular_pain",
    "leg_weakness",
)
# The four features behind the ces_core helper (§3.2); leg weakness is covered by the neuro rules.
CES_FEATURES: tuple[str, ...] = CES_CORE_QUESTIONS[:4]
ACTIVE_CHANGE = frozenset({"new", "worsening"})

# The most alarming answer of each screening question: what "answered positively" means (§3.1).
WORST_ANSWER: dict[str, str | bool] = {
    **{field: True for field in SCREENING_FIELDS},
    **{field: "new" for field in (*CES_FEATURES, "sexual_dysfunction")},
    "leg_weakness": "progressive",
    "trauma": "major",
}
# The answer an unanswered question is evaluated as (§3.1: None counts as False / "none").
DEFAULT_ANSWER: dict[str, str | bool] = {
    field: "none" if isinstance(worst, str) else False for field, worst in WORST_ANSWER.items()
}
# What counts as evidence of (no) improvement lives beside judge_change: dashboard.outcomes.improvement.


class Urgency(StrEnum):
    """A tier, ordered EMERGENCY > URGENT > ROUTINE_REVIEW > NONE (clinical-reference §2)."""

    EMERGENCY = "EMERGENCY"
    URGENT = "URGENT"
    ROUTINE_REVIEW = "ROUTINE_REVIEW"
    NONE = "NONE"

    @property
    def rank(self) -> int:
        """Position in TIER_ORDER (0 = NONE, 3 = EMERGENCY)."""
        return TIER_ORDER[self.value]

    def _other_rank(self, other: object) -> int | None:
        return TIER_ORDER.get(other) if isinstance(other, str) else None

    def __lt__(self, other: object) -> bool:
        rank = self._other_rank(other)
        return NotImplemented if rank is None else self.rank < rank

    def __le__(self, other: object) -> bool:
        rank = self._other_rank(other)
        return NotImplemented if rank is None else self.rank <= rank

    def __gt__(self, other: object) -> bool:
        rank = self._other_rank(other)
        return NotImplemented if rank is None else self.rank > rank

    def __ge__(self, other: object) -> bool:
        rank = self._other_rank(other)
        return NotImplemented if rank is None else self.rank >= rank


# --- Facts: everything the rules look at, derived once (§3.1, §3.2) --------------------------------


@dataclass(frozen=True)
class Facts:
    """The latest visit's findings, patient risk fields and trend helpers, ready for the rules.

    Screening answers are already read with None as the default; measurements keep None.
    """

    settings: RuleSettings
    visit_count: int
    age: int
    days_since_onset: int
    care_days: int
    # Patient risk fields.
    history_of_cancer: bool
    osteoporosis: bool
    prolonged_corticosteroids: bool
    immunosuppressed: bool
    iv_drug_use: bool
    # Latest visit's screening answers (None read as "none" / False).
    saddle_anaesthesia: str
    bladder_dysfunction: str
    bowel_dysfunction: str
    sexual_dysfunction: str
    bilateral_radicular_pain: str
    new_radicular_pain: bool
    leg_weakness: str
    difficulty_walking_new: bool
    fever_answer: bool
    systemically_unwell: bool
    recent_infection: bool
    unexplained_weight_loss: bool
    night_pain: bool
    trauma: str
    sudden_severe_pain: bool
    pulsatile_abdominal_mass: bool
    rest_pain_or_tissue_loss: bool
    # Latest visit's measurements (None: not measured).
    leg_weakness_mrc: int | None
    temperature_c: float | None
    # Derived helpers (§3.2).
    previous_mrc: int | None
    ces_core: bool
    mrc_drop: bool
    fever: bool
    infection_risk_factor: bool
    nrs_baseline: int | None
    nrs_current: int | None
    nrs_gain: int | None
    worsening_pain: str | None  # RF_MALIGNANCY_CANCER_HX's text when NRS rose by 2 or more
    pain_change_known: bool  # an NRS at the latest visit and at an earlier one
    change_evidence: tuple[ChangeJudgement, ...]
    improved: bool
    not_improved: bool
    failure_to_improve: bool
    claudication_pattern: str
    # RF_WALKING_DECLINE: latest walking record against the latest earlier one of its protocol.
    walk_protocol: str | None
    walk_previous: float | None
    walk_latest: float | None
    walk_previous_date: dt.date | None
    walk_unit: str | None  # "m" or "min": the metric both compared walks were recorded on (§7.8)

    @property
    def walk_decline(self) -> float | None:
        """Fraction by which the primary walking metric fell, (previous − latest) / previous."""
        if self.walk_previous is None or self.walk_latest is None or self.walk_previous <= 0:
            return None
        return (self.walk_previous - self.walk_latest) / self.walk_previous


def _answer(visit: Visit, field: str) -> str | bool:
    value: str | bool | None = getattr(visit, field)
    return DEFAULT_ANSWER[field] if value is None else value


def _order(visits: Iterable[Visit]) -> list[Visit]:
    """Non-archived visits by (visit_date, recorded_at), as dashboard.walking orders them (§3.1)."""
    # Pre-sorting by id makes same-day visits with equal timestamps come out in one fixed order.
    ordered = chronological(sorted(visits, key=lambda visit: visit.id or ""))
    if not ordered:
        raise ValueError("visits: at least one non-archived visit is needed to screen")
    return ordered


def _previous_mrc(earlier: Sequence[Visit]) -> int | None:
    return next((v.leg_weakness_mrc for v in reversed(earlier) if v.leg_weakness_mrc is not None), None)


def _odi_percent(visit: Visit) -> float | None:
    return None if visit.odi_sections is None else score_odi(visit.odi_sections).percent


def _change_evidence(ordered: Sequence[Visit]) -> tuple[ChangeJudgement, ...]:
    """Judgements of NRS, ODI and the primary walking metric from an earlier baseline (§3.2)."""
    latest, earlier = ordered[-1], ordered[:-1]
    pairs: list[tuple[str, float, float]] = []
    nrs_baseline = next((v.pain_nrs for v in earlier if v.pain_nrs is not None), None)
    if nrs_baseline is not None and latest.pain_nrs is not None:
        pairs.append(("pain_nrs", nrs_baseline, latest.pain_nrs))
    odi_baseline = next((p for p in map(_odi_percent, earlier) if p is not None), None)
    odi_latest = _odi_percent(latest)
    if odi_baseline is not None and odi_latest is not None:
        pairs.append(("odi_percent", odi_baseline, odi_latest))
    # The latest visit supplies the current findings (§3.1): its walk must be the latest that counts.
    walks = comparable_walks(ordered)
    if walks is not None and walks.records[-1] is latest and len(walks.values) > 1:
        walk_baseline, walk_latest = walks.values[0], walks.values[-1]
        # A relative change cannot be judged from a baseline of 0.
        if walk_baseline:
            pairs.append((walks.change_measure, walk_baseline, walk_latest))
    judged = (judge_change(measure, first, last) for measure, first, last in pairs)
    # A pain baseline of 2 or less leaves no room to improve: no evidence either way [U].
    return tuple(j for j in judged if counts_as_evidence(j))


def _facts(
    patient: Patient,
    ordered: Sequence[Visit],
    settings: RuleSettings,
    evidence: tuple[ChangeJudgement, ...] | None = None,
    lookback: Sequence[Visit] = (),
) -> Facts:
    """Facts from visits already in screening order (oldest first).

    `evidence` is the history's change evidence when the caller already has it: the what-if screens
    of `_not_asked` change only a screening answer, which `_change_evidence` never reads.
    `lookback` is the previous episode's last visit at a re-referral within 12 weeks
    (`dashboard.episodes.lookback_visits`): only the trend rules (a drop in MRC grade, worsening pain,
    walking decline) compare with it; everything else reads the current episode (§11.1).
    """
    first, latest, earlier = ordered[0], ordered[-1], ordered[:-1]
    trend_history = [*lookback, *ordered]
    care_days = (latest.visit_date - first.visit_date).days
    ces_core = any(_answer(latest, field) in ACTIVE_CHANGE for field in CES_FEATURES)
    previous_mrc = _previous_mrc(trend_history[:-1])
    mrc = latest.leg_weakness_mrc
    mrc_drop = mrc is not None and previous_mrc is not None and previous_mrc - mrc >= 1
    temperature = latest.temperature_c
    fever = bool(latest.fever) or (temperature is not None and temperature >= FEVER_TEMPERATURE_C)
    nrs_baseline = next((v.pain_nrs for v in ordered if v.pain_nrs is not None), None)
    earlier_nrs = next((v.pain_nrs for v in earlier if v.pain_nrs is not None), None)
    nrs_gain = None if earlier_nrs is None or latest.pain_nrs is None else earlier_nrs - latest.pain_nrs
    if evidence is None:
        evidence = _change_evidence(ordered)
    improved, not_improved = improvement(evidence)
    pair = latest_same_protocol_pair(trend_history)
    return Facts(
        settings=settings,
        visit_count=len(ordered),
        age=patient.age_years(latest.visit_date),
        days_since_onset=(latest.visit_date - patient.symptom_onset).days,
        care_days=care_days,
        history_of_cancer=patient.history_of_cancer,
        osteoporosis=patient.osteoporosis,
        prolonged_corticosteroids=patient.prolonged_corticosteroids,
        immunosuppressed=patient.immunosuppressed,
        iv_drug_use=patient.iv_drug_use,
        saddle_anaesthesia=str(_answer(latest, "saddle_anaesthesia")),
        bladder_dysfunction=str(_answer(latest, "bladder_dysfunction")),
        bowel_dysfunction=str(_answer(latest, "bowel_dysfunction")),
        sexual_dysfunction=str(_answer(latest, "sexual_dysfunction")),
        bilateral_radicular_pain=str(_answer(latest, "bilateral_radicular_pain")),
        new_radicular_pain=bool(latest.new_radicular_pain),
        leg_weakness=str(_answer(latest, "leg_weakness")),
        difficulty_walking_new=bool(latest.difficulty_walking_new),
        fever_answer=bool(latest.fever),
        systemically_unwell=bool(latest.systemically_unwell),
        recent_infection=bool(latest.recent_infection),
        unexplained_weight_loss=bool(latest.unexplained_weight_loss),
        night_pain=bool(latest.night_pain),
        trauma=str(_answer(latest, "trauma")),
        sudden_severe_pain=bool(latest.sudden_severe_pain),
        pulsatile_abdominal_mass=bool(latest.pulsatile_abdominal_mass),
        rest_pain_or_tissue_loss=bool(latest.rest_pain_or_tissue_loss),
        leg_weakness_mrc=mrc,
        temperature_c=temperature,
        previous_mrc=previous_mrc,
        ces_core=ces_core,
        mrc_drop=mrc_drop,
        fever=fever,
        infection_risk_factor=bool(
            patient.iv_drug_use or patient.immunosuppressed or latest.recent_infection
        ),
        nrs_baseline=nrs_baseline,
        nrs_current=latest.pain_nrs,
        nrs_gain=nrs_gain,
        worsening_pain=_worsening_pain(trend_history),
        pain_change_known=earlier_nrs is not None and latest.pain_nrs is not None,
        change_evidence=evidence,
        improved=improved,
        not_improved=not_improved,
        # A single visit can never show a failure to improve (§3.2 [U]).
        failure_to_improve=care_days >= settings.failure_to_improve_days and not_improved,
        claudication_pattern=claudication_pattern(latest),
        walk_protocol=pair[1].walk_protocol if pair else None,
        walk_previous=primary_metric(pair[0]) if pair else None,
        walk_latest=primary_metric(pair[1]) if pair else None,
        walk_previous_date=pair[0].visit_date if pair else None,
        walk_unit=metric.unit if pair and (metric := visit_metric(pair[1])) else None,
    )


def derive_facts(patient: Patient, visits: Iterable[Visit], settings: RuleSettings | None = None) -> Facts:
    """Facts for the latest non-archived visit; visits in any order; ValueError when there are none."""
    return _facts(patient, _order(visits), settings or RuleSettings())


# --- Helper predicates and wording shared by tests and reasons ------------------------------------


def _words(field: str) -> str:
    return field.replace("_", " ")


def _mrc(grade: int | None) -> str:
    return "not recorded" if grade is None else str(grade)


def ces_findings(f: Facts) -> list[str]:
    """The CES features present, e.g. ["saddle anaesthesia: new"]."""
    return [
        f"{_words(field)}: {getattr(f, field)}"
        for field in CES_FEATURES
        if getattr(f, field) in ACTIVE_CHANGE
    ]


def progressive_neuro(f: Facts) -> bool:
    """RF_PROGRESSIVE_NEURO's condition: progressive weakness, an MRC drop, or new weakness MRC ≤ 3."""
    new_and_weak = f.leg_weakness == "new" and (
        f.leg_weakness_mrc is not None and f.leg_weakness_mrc <= EMERGENCY_NEW_WEAKNESS_MAX_MRC
    )
    return f.leg_weakness == "progressive" or f.mrc_drop or new_and_weak


def _neuro_findings(f: Facts) -> list[str]:
    found = []
    if f.leg_weakness in ("new", "progressive"):
        found.append(f"leg weakness: {f.leg_weakness} (MRC grade {_mrc(f.leg_weakness_mrc)})")
    if f.mrc_drop:
        found.append(f"MRC grade fell from {f.previous_mrc} to {f.leg_weakness_mrc}")
    return found


def mscc_findings(f: Facts) -> list[str]:
    """The neurological or CES features that make a cancer history an RF_MSCC emergency."""
    found = _neuro_findings(f)
    if f.difficulty_walking_new:
        found.append("new difficulty walking")
    if f.new_radicular_pain:
        found.append("new radicular pain")
    return found + ces_findings(f)


def malignancy_features(f: Facts) -> list[str]:
    """RF_MALIGNANCY_SUSPECTED's features present: age over the cut-off, weight loss, night pain, ..."""
    cut_off = f.settings.malignancy_age_over_years
    checks = (
        (f.age > cut_off, f"age {f.age} (over {cut_off})"),
        (f.unexplained_weight_loss, "unexplained weight loss"),
        (f.night_pain, "night pain"),
        (f.failure_to_improve, f"no meaningful improvement after {f.care_days} days of care"),
    )
    return [text for present, text in checks if present]


def _systemic(f: Facts) -> list[str]:
    found = []
    if f.fever_answer:
        found.append("fever")
    if f.temperature_c is not None and f.temperature_c >= FEVER_TEMPERATURE_C:
        found.append(f"temperature {f.temperature_c:g} °C")
    if f.systemically_unwell:
        found.append("systemically unwell")
    return found


def _risk_factors(f: Facts) -> list[str]:
    checks = (
        (f.iv_drug_use, "IV drug use"),
        (f.immunosuppressed, "immunosuppressed"),
        (f.recent_infection, "recent infection"),
    )
    return [text for present, text in checks if present]


def _fracture_findings(f: Facts) -> list[str]:
    found = []
    if f.trauma == "minor":
        cut_off = f.settings.fracture_age_over_years
        checks = (
            (f.osteoporosis, "osteoporosis"),
            (f.prolonged_corticosteroids, "prolonged corticosteroids"),
            (f.age > cut_off, f"age {f.age} (over {cut_off})"),
        )
        found += [f"minor trauma with {text}" for present, text in checks if present]
    if f.osteoporosis and f.sudden_severe_pain:
        found.append("osteoporosis with sudden severe pain")
    return found


def _evidence_text(f: Facts) -> str:
    parts = [
        f"{MEASURES[j.measure].label} {j.baseline:g} → {j.latest:g} ({_words(j.label)})"
        for j in f.change_evidence
    ]
    return "; ".join(parts)


def _walking_decline_text(f: Facts) -> str:
    unit = f.walk_unit or ""
    decline = f.walk_decline or 0.0
    return (
        f"{f.walk_protocol} result fell by {decline:.0%}: {f.walk_previous:g} {unit} on "
        f"{f.walk_previous_date} → {f.walk_latest:g} {unit} now"
    )


PAIN_FEATURES_NO_FIELD = "thoracic or cervical pain, pain worse on straining, localised spinal tenderness"
NG234_PAIN_TIMEFRAME = (
    "discuss with the acute oncology / MSCC service within 24 h and arrange whole-spine MRI within 1 week"
)
WORSENING_PAIN_POINTS = 2  # the NRS MCID (Ostelo 2008) used as a trigger [U]


def _worsening_pain(ordered: Sequence[Visit]) -> str | None:
    """'worsening pain (NRS a → b since ...)' when NRS rose by 2 or more; None otherwise."""
    latest, earlier = ordered[-1].pain_nrs, ordered[:-1]
    previous = next((v.pain_nrs for v in reversed(earlier) if v.pain_nrs is not None), None)
    baseline = next((v.pain_nrs for v in earlier if v.pain_nrs is not None), None)
    if latest is None or previous is None or baseline is None:
        return None
    if latest - previous >= WORSENING_PAIN_POINTS:
        return f"worsening pain (NRS {previous:g} → {latest:g} since the previous visit)"
    if latest - baseline >= WORSENING_PAIN_POINTS:
        return f"worsening pain (NRS {baseline:g} → {latest:g} since the baseline)"
    return None


def cancer_pain_features(f: Facts) -> list[str]:
    """The spinal-metastasis pain features present (NG234): worsening pain, night pain, sudden severe pain."""
    found = [f.worsening_pain] if f.worsening_pain else []
    if f.night_pain:
        found.append("night pain")
    if f.sudden_severe_pain:
        found.append("sudden severe pain")
    return found


def _cancer_history_reason(f: Facts) -> str:
    features = cancer_pain_features(f)
    if features:
        text = (
            "history of cancer with spinal-metastasis pain features: "
            + _joined(features)
            + f". NICE NG234: {NG234_PAIN_TIMEFRAME}"
        )
    else:
        text = (
            "history of cancer with spinal pain, no spinal-metastasis pain feature recorded (worsening "
            "pain, night pain, sudden severe pain): urgent review within 2 weeks"
        )
    if f.visit_count == 1:
        text += "; worsening pain cannot be judged at a first visit"
    elif not f.pain_change_known:
        text += "; worsening pain cannot be judged: no pain score at this and an earlier visit"
    return (
        f"{text}. Also ask about {PAIN_FEATURES_NO_FIELD}: with any of them, {NG234_PAIN_TIMEFRAME}"
        if not features
        else f"{text}. Also ask about {PAIN_FEATURES_NO_FIELD}"
    )


def _new_deficit_reason(f: Facts) -> str:
    if f.leg_weakness_mrc is None:
        return (
            "leg weakness: new, MRC grade not recorded: grade the weakest key muscle (MRC 0-5) now; "
            f"a grade of {EMERGENCY_NEW_WEAKNESS_MAX_MRC} or less makes this an emergency"
        )
    return f"leg weakness: new, MRC grade {f.leg_weakness_mrc}; re-grade at every visit"


def _claudication_reason(f: Facts) -> str:
    if f.claudication_pattern == "vascular":
        return "claudication pattern: vascular (calf symptoms or reduced pulses, eased by standing still)"
    return "claudication pattern: indeterminate; complete relief, location and pedal pulses"


def _joined(items: Iterable[str]) -> str:
    return "; ".join(items)


# --- The rule table (clinical-reference §3.3, catalogue order) ------------------------------------

TierSpec = Urgency | Callable[[RuleSettings], Urgency]


@dataclass(frozen=True)
class Rule:
    """One red-flag rule: when it fires, how urgent it is, what to say and do, and its source."""

    rule_id: str
    tier: TierSpec
    trigger: str  # plain language; may name settings as {placeholders}
    test: Callable[[Facts], bool]
    reason: Callable[[Facts], str]
    action: str
    timeframe: str
    source: str
    evidence_tag: str

    def tier_for(self, settings: RuleSettings) -> Urgency:
        """The rule's tier under the clinic's settings."""
        return self.tier if isinstance(self.tier, Urgency) else self.tier(settings)

    def trigger_for(self, settings: RuleSettings) -> str:
        """The plain-language trigger with the clinic's settings filled in."""
        return self.trigger.format(**dataclasses.asdict(settings))


E, U, R = Urgency.EMERGENCY, Urgency.URGENT, Urgency.ROUTINE_REVIEW
WITHIN_DAYS = "Within days, no later than 2 weeks"

RULES: tuple[Rule, ...] = (
    Rule(
        rule_id="RF_CES",
        tier=E,
        trigger="Saddle numbness, bladder or bowel change, or pain in both legs that is new or worsening",
        test=lambda f: f.ces_core,
        reason=lambda f: "possible cauda equina syndrome: " + _joined(ces_findings(f)),
        action="Refer at once to the emergency department or on-call spinal team as suspected CES",
        timeframe="Seen within a few hours; emergency MRI within 4 h of the request",
        source="GIRFT CES pathway 2023; BMJ Best Practice; CKS [C]",
        evidence_tag="[C]",
    ),
    Rule(
        rule_id="RF_CES_POSSIBLE",
        tier=lambda s: Urgency(s.ces_possible_tier),
        trigger="New or worsening sexual dysfunction with no other CES feature",
        test=lambda f: f.sexual_dysfunction in ACTIVE_CHANGE and not f.ces_core,
        reason=lambda f: (
            f"sexual dysfunction: {f.sexual_dysfunction}, with no other CES feature recorded; ask "
            "again about saddle sensation, bladder and bowel"
        ),
        action="Ask about every other CES feature now; discuss with the GP or spinal team",
        timeframe=WITHIN_DAYS,
        source="GIRFT: isolated sexual dysfunction alongside back pain rarely indicates CES [C]; tier [U]",
        evidence_tag="[C]; tier [U]",
    ),
    Rule(
        rule_id="RF_PROGRESSIVE_NEURO",
        tier=E,
        trigger=(
            "Leg weakness getting worse, a lower MRC grade than last graded, or new weakness graded MRC "
            f"{EMERGENCY_NEW_WEAKNESS_MAX_MRC} or less"
        ),
        test=progressive_neuro,
        reason=lambda f: "progressive or severe neurological deficit: " + _joined(_neuro_findings(f)),
        action="Discuss with the on-call spinal or neurosurgical team today",
        timeframe="Same day",
        source=(
            "CKS / G-care (severe or progressive deficit) [C]; NHS Lothian (acute foot drop, or worsening "
            "radiculopathy with motor grade ≤ 3: discuss with on-call neurosurgery) [C]; regional pathway "
            "(same day) [S]"
        ),
        evidence_tag="[C]; same-day timeframe [S]",
    ),
    Rule(
        rule_id="RF_NEW_NEURO_DEFICIT",
        tier=U,
        trigger=f"New leg weakness graded MRC {EMERGENCY_NEW_WEAKNESS_MAX_MRC + 1} or more, or ungraded",
        test=lambda f: f.leg_weakness == "new" and not progressive_neuro(f),
        reason=_new_deficit_reason,
        action="Urgent GP or spinal review; re-grade the weakness at every visit",
        timeframe=WITHIN_DAYS,
        source=(
            "Regional pathway lists new deficit as same-day [S]; mild new myotomal weakness usually follows "
            "a radiculopathy, so the tier is a convention [U]"
        ),
        evidence_tag="[S]; tier [U]",
    ),
    Rule(
        rule_id="RF_SEVERE_MOTOR_STABLE",
        tier=U,
        trigger=f"Stable leg weakness graded MRC {SEVERE_STABLE_WEAKNESS_MAX_MRC} or less",
        test=lambda f: (
            f.leg_weakness == "stable"
            and f.leg_weakness_mrc is not None
            and f.leg_weakness_mrc <= SEVERE_STABLE_WEAKNESS_MAX_MRC
        ),
        reason=lambda f: f"leg weakness: stable, MRC grade {f.leg_weakness_mrc}",
        action="Priority spinal referral",
        timeframe="Within 2 weeks",
        source=(
            "UK community red flags 2023 (major motor loss, power < 3/5: priority spinal referral within "
            "2 weeks) [S]"
        ),
        evidence_tag="[S]",
    ),
    Rule(
        rule_id="RF_MSCC",
        tier=E,
        trigger=(
            "Cancer history with new or progressive leg weakness, a lower MRC grade, new difficulty walking, "
            "new radicular pain or a CES feature"
        ),
        test=lambda f: f.history_of_cancer and bool(mscc_findings(f)),
        reason=lambda f: "history of cancer with neurological features: " + _joined(mscc_findings(f)),
        action="Contact the MSCC service now; treat as suspected spinal cord compression",
        timeframe="Immediately; whole-spine MRI as soon as possible, within 24 h",
        source=(
            "NICE NG234 (2023, which replaced CG75): cancer with neurological symptoms or signs "
            "suggesting MSCC is an oncological emergency; contact the MSCC service at once; whole-spine "
            "MRI within 24 h [S]. CG75 (2008) said the same [C]"
        ),
        evidence_tag="[S]; CG75 [C]",
    ),
    Rule(
        rule_id="RF_MALIGNANCY_CANCER_HX",
        tier=U,
        trigger="Any history of cancer, current or past",
        test=lambda f: f.history_of_cancer,
        reason=_cancer_history_reason,
        action=(
            "With worsening pain, night pain or sudden severe pain (or thoracic or cervical pain, pain "
            "worse on straining, localised tenderness): discuss with the acute oncology / MSCC service "
            "and arrange whole-spine MRI; otherwise ask for an urgent review"
        ),
        timeframe=(
            "Within 24 h, whole-spine MRI within 1 week, when a pain feature is present; otherwise "
            "within 2 weeks"
        ),
        source=(
            "NICE NG234 (2023; pain features of spinal metastases, MRI within 1 week) [S]; CG75 [C]; "
            "Downie 2013; Henschke 2013 [C]; worsening = NRS up by 2 or more (Ostelo 2008 MCID) [U]"
        ),
        evidence_tag="[S]; [C]; worsening trigger [U]",
    ),
    Rule(
        rule_id="RF_MALIGNANCY_SUSPECTED",
        tier=U,
        trigger=(
            "No cancer history, but 2 or more of: age over {malignancy_age_over_years}, unexplained weight "
            "loss, night pain, no improvement after {failure_to_improve_days} days of care"
        ),
        test=lambda f: not f.history_of_cancer and len(malignancy_features(f)) >= MALIGNANCY_MIN_FEATURES,
        reason=lambda f: (
            f"{len(malignancy_features(f))} of 4 malignancy features: " + _joined(malignancy_features(f))
        ),
        action="Urgent GP review for imaging, then the 2-week-wait cancer pathway if it is suggested",
        timeframe=WITHIN_DAYS,
        source=(
            "Features: Henschke 2013, G-care / CKS [C]. The threshold of 2 or more is a convention [U]. "
            "Urgent imaging, then the 2-week-wait pathway: regional pathways [S]"
        ),
        evidence_tag="[C] features; [U] threshold",
    ),
    Rule(
        rule_id="RF_INFECTION",
        tier=E,
        trigger=(
            "Fever (answered yes, or 38.0 °C or more) or feeling systemically unwell, with an infection risk "
            "factor"
        ),
        test=lambda f: (f.fever or f.systemically_unwell) and f.infection_risk_factor,
        reason=lambda f: (
            f"possible spinal infection: {_joined(_systemic(f))}, with risk factor: "
            + _joined(_risk_factors(f))
        ),
        action="Same-day medical assessment for possible spinal infection",
        timeframe="Same day",
        source=(
            "Regional pathways (same day) [S]; UK community red flags 2023 (emergency spinal referral) [S]; "
            "feature list G-care [C]"
        ),
        evidence_tag="[S]",
    ),
    Rule(
        rule_id="RF_SYSTEMIC_FEATURES",
        tier=U,
        trigger="Fever or feeling systemically unwell, with no infection risk factor",
        test=lambda f: (f.fever or f.systemically_unwell) and not f.infection_risk_factor,
        reason=lambda f: f"{_joined(_systemic(f))}, with no infection risk factor recorded",
        action="Urgent GP review of the systemic symptoms",
        timeframe=WITHIN_DAYS,
        source="UK community red flags 2023 [S]",
        evidence_tag="[S]",
    ),
    Rule(
        rule_id="RF_INFECTION_RISK",
        tier=U,
        trigger="IV drug use or immunosuppression, without fever",
        test=lambda f: (f.iv_drug_use or f.immunosuppressed) and not f.fever,
        reason=lambda f: (
            _joined(t for t in _risk_factors(f) if t != "recent infection") + ", no fever at this visit"
        ),
        action="Urgent GP review; check temperature and ask about systemic symptoms at every visit",
        timeframe=WITHIN_DAYS,
        source="UK community red flags 2023 (possible immunosuppression with new spinal pain, afebrile) [S]",
        evidence_tag="[S]",
    ),
    Rule(
        rule_id="RF_FRACTURE",
        tier=U,
        trigger=(
            "Minor trauma with osteoporosis, long-term steroids or age over {fracture_age_over_years}; or "
            "osteoporosis with sudden severe pain"
        ),
        test=lambda f: bool(_fracture_findings(f)),
        reason=lambda f: "possible fragility fracture: " + _joined(_fracture_findings(f)),
        action="Urgent GP review for imaging and the fragility-fracture pathway",
        timeframe="Within 2 weeks",
        source="Downie 2013 [C]; G-care [C]; UK community red flags 2023 [S]",
        evidence_tag="[C]; timeframe [S]",
    ),
    Rule(
        rule_id="RF_FRACTURE_MAJOR_TRAUMA",
        tier=E,
        trigger="Major trauma",
        test=lambda f: f.trauma == "major",
        reason=lambda f: "trauma: major",
        action="Send to the emergency department for assessment",
        timeframe="Same day",
        source="Convention [U]: sources list serious injury as a red flag but give no timeframe",
        evidence_tag="[U]",
    ),
    Rule(
        rule_id="RF_AAA",
        tier=E,
        trigger="Pulsatile abdominal mass",
        test=lambda f: f.pulsatile_abdominal_mass,
        reason=lambda f: "pulsatile abdominal mass: possible symptomatic abdominal aortic aneurysm",
        action=(
            "Call an emergency ambulance if the patient is faint, hypotensive or has collapsed; otherwise "
            "call the on-call vascular team now"
        ),
        timeframe="Immediately",
        source="NICE NG156; BNSSG AAA pathway [C]",
        evidence_tag="[C]",
    ),
    Rule(
        rule_id="RF_VASCULAR_CLAUDICATION",
        tier=R,
        trigger="Walking leg pain with a vascular or indeterminate pattern",
        test=lambda f: f.claudication_pattern in ("vascular", "indeterminate"),
        reason=_claudication_reason,
        action="Ask the GP to review for peripheral arterial disease, including ABPI",
        timeframe="At or before the next visit",
        source="Nadeau 2013; NICE CG147 [C]",
        evidence_tag="[C]",
    ),
    Rule(
        rule_id="RF_CRITICAL_LIMB_ISCHAEMIA",
        tier=U,
        trigger="Ischaemic rest pain, ulceration or gangrene",
        test=lambda f: f.rest_pain_or_tissue_loss,
        reason=lambda f: "ischaemic rest pain or tissue loss recorded",
        action="Vascular referral",
        timeframe="Within days (timeframe to confirm against CG147)",
        source="[U]: CG147 timeframe to confirm",
        evidence_tag="[U]",
    ),
    Rule(
        rule_id="RF_PERSISTENT_NO_IMPROVEMENT",
        tier=R,
        trigger=(
            "More than {persistent_no_improvement_days} days of care with no meaningful improvement in "
            "pain, ODI or walking"
        ),
        test=lambda f: f.care_days > f.settings.persistent_no_improvement_days and f.not_improved,
        reason=lambda f: f"{f.care_days} days of care without meaningful improvement: {_evidence_text(f)}",
        action="Reassess the diagnosis and the plan; consider a GP review",
        timeframe="At or before the next visit",
        source=(
            "Project convention [U], built from NG59 1.1.1 (reconsider the diagnosis when symptoms change) "
            "and the NRS MCID (Ostelo 2008) [C for the parts]"
        ),
        evidence_tag="[U]",
    ),
    Rule(
        rule_id="RF_WALKING_DECLINE",
        tier=R,
        trigger=(
            "Walking result fell by more than {walking_decline_fraction:.0%} since the last test of the same "
            "protocol"
        ),
        test=lambda f: f.walk_decline is not None and f.walk_decline > f.settings.walking_decline_fraction,
        reason=_walking_decline_text,
        action="Reassess: repeat the walking test, re-examine the neurology and look for the cause",
        timeframe="At or before the next visit",
        source="Project convention [U]. For comparison, the SPWT MCID is a 30% change (Ammendolia 2018) [C]",
        evidence_tag="[U]",
    ),
)


# --- Screening -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Flag:
    """One fired rule, as shown in the banner and stored with the screening."""

    rule_id: str
    tier: Urgency
    reason: str
    action: str
    timeframe: str
    source: str
    evidence_tag: str


@dataclass(frozen=True)
class ScreeningResult:
    """Overall urgency, every fired flag (most urgent first), and what still needs asking or measuring."""

    urgency: Urgency
    flags: list[Flag]
    claudication_pattern: str
    not_asked: list[str]
    notes: list[str]
    rule_set_version: str

    @property
    def headline(self) -> str:
        """Banner text: the tier and how many rules fired, or "no rule fired" (never "safe")."""
        if not self.flags:
            return "No rule fired: serious pathology is not excluded"
        count = len(self.flags)
        return f"{self.urgency.value}: {count} rule{'s' if count > 1 else ''} fired"


def _fired(facts: Facts) -> list[Flag]:
    flags = [
        Flag(
            rule_id=rule.rule_id,
            tier=rule.tier_for(facts.settings),
            reason=rule.reason(facts),
            action=rule.action,
            timeframe=rule.timeframe,
            source=rule.source,
            evidence_tag=rule.evidence_tag,
        )
        for rule in RULES
        if rule.test(facts)
    ]
    # Stable sort: within a tier, flags keep catalogue order.
    return sorted(flags, key=lambda flag: -flag.tier.rank)


def _tier_for(
    patient: Patient,
    ordered: Sequence[Visit],
    settings: RuleSettings,
    evidence: tuple[ChangeJudgement, ...] | None = None,
    lookback: Sequence[Visit] = (),
) -> Urgency:
    facts = _facts(patient, ordered, settings, evidence, lookback)
    return max((flag.tier for flag in _fired(facts)), default=Urgency.NONE)


def _not_asked(
    patient: Patient,
    ordered: Sequence[Visit],
    settings: RuleSettings,
    urgency: Urgency,
    evidence: tuple[ChangeJudgement, ...] | None = None,
    lookback: Sequence[Visit] = (),
) -> list[str]:
    """Unanswered questions to ask now, most urgent first (§3.1): CES core always, others if they
    could raise the overall tier when answered positively."""
    latest = ordered[-1]
    reached: list[tuple[int, bool, int, str]] = []
    for index, field in enumerate(SCREENING_FIELDS):
        if getattr(latest, field) is not None:
            continue
        answered = latest.model_copy(update={field: WORST_ANSWER[field]})
        tier = _tier_for(patient, [*ordered[:-1], answered], settings, evidence, lookback)
        is_core = field in CES_CORE_QUESTIONS
        if is_core or tier > urgency:
            # Most urgent first; CES core before other questions of the same tier; then form order.
            reached.append((-tier.rank, not is_core, index, field))
    return [entry[-1] for entry in sorted(reached)]


def _notes(f: Facts, latest: Visit, ordered: Sequence[Visit]) -> list[str]:
    """Data-quality notes: measurements the rules needed but did not have (§3.1)."""
    notes = []
    if f.leg_weakness != "none" and f.leg_weakness_mrc is None:
        notes.append(
            f"leg_weakness_mrc not recorded with leg weakness '{f.leg_weakness}': grade the weakest key "
            "muscle (MRC 0-5); the neurological rules need it"
        )
    if f.infection_risk_factor and not f.fever and f.temperature_c is None:
        notes.append(
            "temperature_c not measured: with an infection risk factor, 38.0 °C or more would make "
            "this an emergency"
        )
    if latest.walk_protocol is not None and primary_metric(latest) is None:
        notes.append(
            f"primary result of the {latest.walk_protocol} walking test not recorded: walking decline "
            "cannot be judged"
        )
    if latest.leg_pain_on_walking and latest.pedal_pulses == "not_assessed":
        notes.append("pedal_pulses not assessed: the claudication pattern needs them")
    if f.care_days >= f.settings.failure_to_improve_days:
        earlier_pain = any(v.pain_nrs is not None for v in ordered[:-1])
        if earlier_pain and latest.pain_nrs is None:
            notes.append("pain_nrs not recorded at this visit: improvement in pain cannot be judged")
        if not f.change_evidence:
            notes.append(
                "no pain, ODI or walking result can be compared with an earlier visit: improvement "
                "cannot be judged"
            )
    return notes


def screen(
    patient: Patient,
    visits: Iterable[Visit],
    settings: RuleSettings | None = None,
    *,
    lookback: Sequence[Visit] = (),
) -> ScreeningResult:
    """Screen the latest non-archived visit of the current episode against every rule; ValueError when
    there is no visit. `lookback`: the previous episode's last visit, for the trend rules only (§11.1)."""
    settings = settings or RuleSettings()
    ordered = _order(visits)
    lookback = chronological(lookback)
    facts = _facts(patient, ordered, settings, lookback=lookback)
    flags = _fired(facts)
    urgency = max((flag.tier for flag in flags), default=Urgency.NONE)
    notes = _notes(facts, ordered[-1], ordered)
    if lookback:
        notes.append(
            f"re-referral within 12 weeks of a discharge: the trend rules also compared this visit with "
            f"the previous episode's last visit ({lookback[-1].visit_date:%d %b %Y})"
        )
    return ScreeningResult(
        urgency=urgency,
        flags=flags,
        claudication_pattern=facts.claudication_pattern,
        not_asked=_not_asked(patient, ordered, settings, urgency, facts.change_evidence, lookback),
        notes=notes,
        rule_set_version=rule_set_version(settings),
    )


def to_screening(result: ScreeningResult, patient_id: str, visit_id: str | None) -> Screening:
    """The stored form of a screening result (dashboard.models.Screening)."""
    return Screening(
        patient_id=patient_id,
        visit_id=visit_id,
        urgency=result.urgency.value,
        flags=[
            FlagRecord(
                rule_id=flag.rule_id,
                tier=flag.tier.value,
                reason=flag.reason,
                action=flag.action,
                timeframe=flag.timeframe,
                source=flag.source,
                evidence_tag=flag.evidence_tag,
            )
            for flag in result.flags
        ],
        not_asked=list(result.not_asked),
        notes=list(result.notes),
        claudication_pattern=result.claudication_pattern,
        rule_set_version=result.rule_set_version,
    )


# --- Versioning and documentation ----------------------------------------------------------------


def _code_text(function: Callable[..., object]) -> str:
    try:
        return inspect.getsource(function)
    except (OSError, TypeError):  # no source shipped: fall back to the compiled code
        return function.__code__.co_code.hex()


@functools.lru_cache(maxsize=32)
def rule_set_version(settings: RuleSettings | None = None) -> str:
    """Short hash (12 hex digits) of the rule table, the facts derivation and the effective settings."""
    settings = settings or RuleSettings()
    table = [
        {
            "rule_id": rule.rule_id,
            "tier": rule.tier_for(settings).value,
            "trigger": rule.trigger,
            "test": _code_text(rule.test),
            "reason": _code_text(rule.reason),
            "action": rule.action,
            "timeframe": rule.timeframe,
            "source": rule.source,
            "evidence_tag": rule.evidence_tag,
        }
        for rule in RULES
    ]
    payload = {
        "rules": table,
        "facts": _code_text(_facts) + _code_text(_change_evidence),
        "settings": dataclasses.asdict(settings),
    }
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def rules_markdown(settings: RuleSettings | None = None) -> str:
    """The rule table as Markdown (id, tier, trigger, timeframe, source) for the README."""
    settings = settings or RuleSettings()
    lines = [
        "| Rule id | Tier | Fires when | Timeframe | Source |",
        "|---|---|---|---|---|",
    ]
    for rule in RULES:
        tier = rule.tier_for(settings).value
        if not isinstance(rule.tier, Urgency):
            tier += " (configurable)"
        cells = (f"`{rule.rule_id}`", tier, rule.trigger_for(settings), rule.timeframe, rule.source)
        lines.append("| " + " | ".join(_cell(cell) for cell in cells) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # `python -m dashboard.red_flags --markdown` prints the README's rule table
    import sys

    if "--markdown" in sys.argv:
        print(rules_markdown(), end="")
    else:
        print(rule_set_version())
