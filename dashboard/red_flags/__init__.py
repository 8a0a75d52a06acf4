"""Red-flag escalation engine: the rule table of clinical-reference §3 and `screen(patient, visits)`.

Decision support for a registered clinician, never a diagnosis: "no rule fired" never means "safe".
The package by job: `thresholds` (fixed cut-offs with their sources), `facts` (what the rules look
at), `findings` (predicates and reason wording), `rules` (the declarative RULES table), `screening`
(screen(), the look-back, results and the rule-set version). This module is the public face.
"""

from dashboard.red_flags.facts import Facts, derive_facts
from dashboard.red_flags.findings import (
    NG234_PAIN_TIMEFRAME,
    PAIN_FEATURES_NO_FIELD,
    cancer_pain_features,
    ces_findings,
    malignancy_features,
    mscc_findings,
    progressive_neuro,
)
from dashboard.red_flags.rules import RULES, WITHIN_DAYS, Rule, TierSpec, Urgency, rules_markdown
from dashboard.red_flags.screening import (
    DISCLAIMER,
    Flag,
    ScreeningResult,
    rule_set_version,
    screen,
    to_screening,
)
from dashboard.red_flags.thresholds import (
    ACTIVE_CHANGE,
    CES_CORE_QUESTIONS,
    CES_FEATURES,
    DEFAULT_ANSWER,
    EMERGENCY_NEW_WEAKNESS_MAX_MRC,
    FEVER_TEMPERATURE_C,
    MALIGNANCY_MIN_FEATURES,
    SEVERE_STABLE_WEAKNESS_MAX_MRC,
    WORSENING_PAIN_POINTS,
    WORST_ANSWER,
)

__all__ = [
    "ACTIVE_CHANGE",
    "CES_CORE_QUESTIONS",
    "CES_FEATURES",
    "DEFAULT_ANSWER",
    "DISCLAIMER",
    "EMERGENCY_NEW_WEAKNESS_MAX_MRC",
    "FEVER_TEMPERATURE_C",
    "MALIGNANCY_MIN_FEATURES",
    "NG234_PAIN_TIMEFRAME",
    "PAIN_FEATURES_NO_FIELD",
    "RULES",
    "SEVERE_STABLE_WEAKNESS_MAX_MRC",
    "WITHIN_DAYS",
    "WORSENING_PAIN_POINTS",
    "WORST_ANSWER",
    "Facts",
    "Flag",
    "Rule",
    "ScreeningResult",
    "TierSpec",
    "Urgency",
    "cancer_pain_features",
    "ces_findings",
    "derive_facts",
    "malignancy_features",
    "mscc_findings",
    "progressive_neuro",
    "rule_set_version",
    "rules_markdown",
    "screen",
    "to_screening",
]
