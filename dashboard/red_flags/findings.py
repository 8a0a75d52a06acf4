"""Red-flag findings: the predicates the rules test and the wording of their reasons (§3.2, §3.3).

The rule table (dashboard.red_flags.rules) names these helpers in its tests and reasons, whose source
text goes into the rule-set version, so the private ones keep their names.
"""

from __future__ import annotations

from collections.abc import Iterable

from dashboard.outcomes import MEASURES
from dashboard.patient_reported import DiaryEntry, worse_next_morning
from dashboard.red_flags.facts import Facts
from dashboard.red_flags.thresholds import (
    ACTIVE_CHANGE,
    CES_FEATURES,
    EMERGENCY_NEW_WEAKNESS_MAX_MRC,
    FEVER_TEMPERATURE_C,
)


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


def _why_red(entry: DiaryEntry, red_from: int) -> str:
    """What made one diary day red: pain during the walk, the 24-hour rule, or both."""
    found = []
    if entry.pain_during_nrs >= red_from:
        found.append(f"pain {entry.pain_during_nrs}/10 during the walk (red from {red_from})")
    if worse_next_morning(entry):
        found.append(
            f"pain {entry.pain_next_morning_nrs}/10 the next morning, above {entry.pain_before_nrs}/10 "
            "before the walk (24-hour rule)"
        )
    return " and ".join(found)


def _diary_reason(f: Facts) -> str:
    red_from = f.settings.diary_amber_max + 1
    dates = ", ".join(f"{e.walk_date:%d %b %Y}" for e in f.diary_latest)
    green = f.diary_last_green
    last_green = (
        f"last green day: {green.walked_min:g} min walked on {green.walk_date:%d %b %Y}"
        if green
        else "no green day in this episode's diary yet"
    )
    return (
        f"two red walking-diary entries in a row ({dates}): "
        + _joined(_why_red(e, red_from) for e in f.diary_latest)
        + f"; {last_green}"
    )


PAIN_FEATURES_NO_FIELD = "thoracic or cervical pain, pain worse on straining, localised spinal tenderness"
NG234_PAIN_TIMEFRAME = (
    "discuss with the acute oncology / MSCC service within 24 h and arrange whole-spine MRI within 1 week"
)


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
