"""Urgency tiers (clinical-reference §2, §9.2): rank, words, icon, alert level and FHIR code."""

from __future__ import annotations

from dataclasses import dataclass

from dashboard.catalogue.table import by_id, lookup


@dataclass(frozen=True)
class Tier:
    """One urgency tier, ordered by rank (NONE 0 … EMERGENCY 3)."""

    id: str
    rank: int
    words: str  # banner headline
    short_words: str  # narrow table columns (shown after the icon)
    icon: str  # words and icons, never colour alone
    alert_level: str  # the page's alert kind: "error", "warning" or "info"
    fhir_code: str  # local Stride CodeSystem
    fhir_display: str
    source: str
    # Red-flag timeliness (clinical-reference §11.3): days from opening to closure that count as on
    # time; 0 = on the day it opened; None = no target (a rule may set a shorter one, RULE_CLOSE_WITHIN).
    close_within_days: int | None = None


TIERS: dict[str, Tier] = by_id(
    Tier(
        "NONE",
        0,
        "No rule fired",
        "",
        "ℹ️",
        "info",
        "urgency-none",
        "No rule fired",
        "clinical-reference §2; never 'safe' (§1.2)",
    ),
    Tier(
        "ROUTINE_REVIEW",
        1,
        "ROUTINE REVIEW: reassess at or before the next visit",
        "Routine review",
        "🔎",
        "info",
        "urgency-routine-review",
        "Routine review at or before the next visit",
        "NICE CG147 [C]; project conventions [U]",
        close_within_days=42,  # §11.3: routine review within 6 weeks
    ),
    Tier(
        "URGENT",
        2,
        "URGENT: referral or specialist contact within days",
        "Urgent",
        "⚠️",
        "warning",
        "urgency-urgent",
        "Urgent: within days, no later than 2 weeks",
        "NICE NG234 (2023, which replaced CG75) [S]; UK community red-flag pathway 2023 [S]",
        close_within_days=14,  # §11.3: urgent, no later than 2 weeks
    ),
    Tier(
        "EMERGENCY",
        3,
        "EMERGENCY: act within this appointment",
        "Emergency",
        "🚨",
        "error",
        "urgency-emergency",
        "Emergency: act within this appointment",
        "GIRFT 2023; NICE NG234 (2023, which replaced CG75); NICE NG156 [C]",
        close_within_days=0,  # §11.3: on the day it opened
    ),
)


def tier(tier_id: str) -> Tier:
    """The catalogue entry of a tier; ValueError when unknown."""
    return lookup(TIERS, tier_id, "tier")
