"""Plain-language presentation of domain results for the pages: words and icons, never colour alone."""

from __future__ import annotations

from dataclasses import dataclass

from dashboard.catalogue import TIERS
from dashboard.models import CLOSE_ACTIONS, Screening
from dashboard.safe_text import md_escape

TIER_ICON = {t.id: t.icon for t in TIERS.values()}
TIER_WORDS = {t.id: t.words for t in TIERS.values()}
# Streamlit alert level per tier (the page picks st.error / st.warning / st.info from it).
TIER_LEVEL = {t.id: t.alert_level for t in TIERS.values()}
DECISION_SUPPORT = (
    "Decision support for a registered clinician, not a diagnosis. "
    "When no rule fires, serious pathology is not excluded."
)
FIELD_LABELS = {
    "saddle_anaesthesia": "Saddle sensation changed",
    "bladder_dysfunction": "Bladder function changed",
    "bowel_dysfunction": "Bowel function changed",
    "sexual_dysfunction": "Sexual function changed",
    "bilateral_radicular_pain": "Leg pain in both legs",
    "new_radicular_pain": "New radicular (nerve root) pain",
    "leg_weakness": "Leg weakness",
    "difficulty_walking_new": "New difficulty walking (gait disturbance)",
    "fever": "Fever",
    "systemically_unwell": "Systemically unwell",
    "recent_infection": "Recent bacterial infection",
    "unexplained_weight_loss": "Unexplained weight loss",
    "night_pain": "Unremitting night pain",
    "trauma": "Recent trauma",
    "sudden_severe_pain": "Sudden severe central spinal pain",
    "pulsatile_abdominal_mass": "Pulsatile abdominal mass",
    "rest_pain_or_tissue_loss": "Ischaemic rest pain or tissue loss",
}


@dataclass(frozen=True)
class Banner:
    """What the red-flag banner says: alert level, icon, headline, one line per fired rule, ask-now list."""

    level: str
    icon: str
    headline: str
    lines: list[str]
    ask_now: list[str]
    notes: list[str]
    rule_set_version: str


def screening_banner(screening: Screening) -> Banner:
    """The banner for a stored screening: tier in words with an icon, reasons, action and timeframe.

    `lines` are Markdown with every stored text escaped (a screening may come from an import);
    `ask_now` and `notes` are plain text for the page to escape.
    """
    tier = screening.urgency
    lines = [
        f"**{md_escape(flag.tier.replace('_', ' '))} · {md_escape(flag.rule_id)}**: "
        f"{md_escape(flag.reason)}. "
        f"*Action:* {md_escape(flag.action)} *Timeframe:* {md_escape(flag.timeframe)} "
        # Each rule's source names its evidence grades inline ("CKS [C]"), so the tag is not repeated.
        f"(source: {md_escape(flag.source)})"
        for flag in screening.flags
    ]
    headline = (
        TIER_WORDS[tier] if screening.flags else "No rule fired (this does not mean the patient is safe)"
    )
    return Banner(
        level=TIER_LEVEL[tier],
        icon=TIER_ICON[tier],
        headline=headline,
        lines=lines,
        ask_now=[FIELD_LABELS.get(name, name) for name in screening.not_asked],
        notes=list(screening.notes),
        rule_set_version=screening.rule_set_version,
    )


def close_action_label(action: str | None) -> str:
    """Human words for a stored close action."""
    return CLOSE_ACTIONS.get(action or "", action or "")
