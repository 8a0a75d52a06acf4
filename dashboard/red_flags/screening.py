"""The red-flag screening engine: `screen(patient, visits)` runs every rule on the latest visit
(and on the walking diary between visits).

Results carry the fired flags (most urgent first), the questions still to ask and the data-quality
notes; `rule_set_version` fingerprints the rules, the facts derivation and the clinic's settings.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import inspect
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from dashboard.config import RuleSettings
from dashboard.models import SCREENING_FIELDS, FlagRecord, Patient, Screening, Visit
from dashboard.patient_reported import DiaryEntry, not_settling, traffic_light, worse_next_morning
from dashboard.red_flags.facts import Facts, _change_evidence, _episode_diary, _facts, _order
from dashboard.red_flags.rules import RULES, Urgency
from dashboard.red_flags.thresholds import CES_CORE_QUESTIONS, WORST_ANSWER
from dashboard.walking import chronological, primary_metric

DISCLAIMER = (
    "Decision support for a registered clinician, not a diagnosis. The rules raise or lower the "
    "likelihood of serious pathology; examination and clinical reasoning decide. If no rule fired, "
    'serious pathology is not excluded: the screening reads "no rule fired", never "safe".'
)


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


def _most_urgent(flags: Iterable[Flag]) -> Urgency:
    return max((flag.tier for flag in flags), default=Urgency.NONE)


def _most_urgent_tier(facts: Facts) -> Urgency:
    # _most_urgent(_fired(facts)) without writing each fired rule's reason: a what-if needs the tier only.
    return max((rule.tier_for(facts.settings) for rule in RULES if rule.test(facts)), default=Urgency.NONE)


def _not_asked(
    patient: Patient,
    ordered: Sequence[Visit],
    facts: Facts,
    urgency: Urgency,
    lookback: Sequence[Visit],
    diary: Sequence[DiaryEntry],
) -> list[str]:
    """Unanswered questions to ask now, most urgent first (§3.1): CES core always, others if they
    could raise the overall tier when answered positively.

    Each what-if screen changes one screening answer only, so it reuses the screened visit's settings
    and change evidence (`facts`)."""
    latest = ordered[-1]
    reached: list[tuple[int, bool, int, str]] = []
    for index, field in enumerate(SCREENING_FIELDS):
        if getattr(latest, field) is not None:
            continue
        answered = latest.model_copy(update={field: WORST_ANSWER[field]})
        what_if = _facts(
            patient, [*ordered[:-1], answered], facts.settings, facts.change_evidence, lookback, diary
        )
        tier = _most_urgent_tier(what_if)
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
    diary: Sequence[DiaryEntry] = (),
) -> ScreeningResult:
    """Screen the latest non-archived visit of the current episode against every rule; ValueError when
    there is no visit. `lookback`: the previous episode's last visit, for the trend rules only (§11.1);
    `diary`: the patient's walking-diary entries, of which the current episode's count (§12.3)."""
    settings = settings or RuleSettings()
    ordered = _order(visits)
    lookback = chronological(lookback)
    facts = _facts(patient, ordered, settings, lookback=lookback, diary=diary)
    flags = _fired(facts)
    urgency = _most_urgent(flags)
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
        not_asked=_not_asked(patient, ordered, facts, urgency, lookback, diary),
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


# --- Versioning ---------------------------------------------------------------------------------


def _code_text(function: Callable[..., object]) -> str:
    try:
        return inspect.getsource(function)
    except (OSError, TypeError):  # no source shipped: fall back to the compiled code
        return function.__code__.co_code.hex()


# The code that derives what the rules look at, the diary's traffic light with it (§12.3).
_FACTS_CODE: tuple[Callable[..., object], ...] = (
    _facts,
    _change_evidence,
    _episode_diary,
    traffic_light,
    worse_next_morning,
    not_settling,
)


@functools.lru_cache(maxsize=32)
def rule_set_version(settings: RuleSettings | None = None) -> str:
    """Short hash (12 hex digits) of the rule table, the facts derivation (the diary's traffic light
    with it) and the effective settings."""
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
        "facts": "".join(_code_text(function) for function in _FACTS_CODE),
        "settings": dataclasses.asdict(settings),
    }
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
