"""The red-flag rule table (clinical-reference §3.3, catalogue order): one declarative entry per rule.

Each rule says when it fires, how urgent it is, what to say and do, and its source beside it;
`rules_markdown` prints the table for the README.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from dashboard.config import RuleSettings
from dashboard.models import TIER_ORDER
from dashboard.red_flags.facts import Facts
from dashboard.red_flags.findings import (
    _cancer_history_reason,
    _claudication_reason,
    _diary_reason,
    _evidence_text,
    _fracture_findings,
    _joined,
    _neuro_findings,
    _new_deficit_reason,
    _risk_factors,
    _systemic,
    _walking_decline_text,
    ces_findings,
    malignancy_features,
    mscc_findings,
    progressive_neuro,
)
from dashboard.red_flags.thresholds import (
    ACTIVE_CHANGE,
    EMERGENCY_NEW_WEAKNESS_MAX_MRC,
    MALIGNANCY_MIN_FEATURES,
    SEVERE_STABLE_WEAKNESS_MAX_MRC,
)


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
    # From the patient's walking diary between visits (§12.3); never URGENT or EMERGENCY by itself.
    Rule(
        rule_id="RF_DIARY_NOT_SETTLING",
        tier=R,
        trigger=(
            "The latest two walking-diary entries of the episode are both red: pain during the walk above "
            "{diary_amber_max} (green up to {diary_green_max}), or pain the next morning still above the "
            "pain before the walk"
        ),
        test=lambda f: f.diary_not_settling,
        reason=_diary_reason,
        action=(
            "Review the walking programme: ease back to the last green week and build up more slowly; "
            "reassess if the symptoms do not settle"
        ),
        timeframe="At or before the next visit",
        source="clinical-reference §12.3; project convention [U]",
        evidence_tag="[U]",
    ),
)


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
