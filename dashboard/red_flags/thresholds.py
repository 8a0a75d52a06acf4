"""Red-flag thresholds and answer conventions (clinical-reference §3.1, §3.3), each with its source.

The clinic-changeable thresholds live in dashboard.config.RuleSettings; these are fixed by the sources.
"""

from __future__ import annotations

from dashboard.models import SCREENING_FIELDS

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
# Worsening pain (RF_MALIGNANCY_CANCER_HX): NRS up by 2 or more, the NRS MCID (Ostelo 2008) used as a
# trigger [U]. What counts as evidence of (no) improvement lives beside judge_change:
# dashboard.outcomes.improvement.
WORSENING_PAIN_POINTS = 2
