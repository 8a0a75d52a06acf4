"""Facts: everything the red-flag rules look at, derived once from the patient and visits (§3.1, §3.2).

`_facts`, `_order` and `_change_evidence` are shared with the screening engine of this package; their
source text (and `_episode_diary`'s) goes into the rule-set version
(dashboard.red_flags.screening.rule_set_version).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from dashboard.config import RuleSettings
from dashboard.models import Patient, Visit
from dashboard.outcomes import ChangeJudgement, counts_as_evidence, improvement, judge_change, score_odi
from dashboard.patient_reported import DiaryEntry, by_walk_date, last_green, not_settling
from dashboard.red_flags.thresholds import (
    ACTIVE_CHANGE,
    CES_FEATURES,
    DEFAULT_ANSWER,
    FEVER_TEMPERATURE_C,
    WORSENING_PAIN_POINTS,
)
from dashboard.walking import (
    chronological,
    claudication_pattern,
    comparable_walks,
    latest_same_protocol_pair,
    primary_metric,
    visit_metric,
)


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
    # RF_DIARY_NOT_SETTLING: the current episode's walking diary, read with the clinic's thresholds (§12.3).
    diary_latest: tuple[DiaryEntry, ...]  # the latest two entries by walk date (fewer when there are fewer)
    diary_not_settling: bool  # both of them red
    diary_last_green: DiaryEntry | None  # the most recent green day: the level to ease back to

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


def _episode_diary(diary: Iterable[DiaryEntry], latest: Visit) -> list[DiaryEntry]:
    """The latest visit's episode's diary, oldest walk first; an entry of another episode never counts."""
    return by_walk_date(
        [e for e in diary if None in (e.episode_id, latest.episode_id) or e.episode_id == latest.episode_id]
    )


def _facts(
    patient: Patient,
    ordered: Sequence[Visit],
    settings: RuleSettings,
    evidence: tuple[ChangeJudgement, ...] | None = None,
    lookback: Sequence[Visit] = (),
    diary: Sequence[DiaryEntry] = (),
) -> Facts:
    """Facts from visits already in screening order (oldest first).

    `evidence` is the history's change evidence when the caller already has it: the what-if screens
    of `_not_asked` change only a screening answer, which `_change_evidence` never reads.
    `lookback` is the previous episode's last visit at a re-referral within 12 weeks
    (`dashboard.episodes.lookback_visits`): only the trend rules (a drop in MRC grade, worsening pain,
    walking decline) compare with it; everything else reads the current episode (§11.1).
    `diary` is the patient's walking diary (§12.3); only the current episode's entries count.
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
    walks = _episode_diary(diary, latest)
    thresholds = settings.diary_thresholds
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
        diary_latest=tuple(walks[-2:]),
        diary_not_settling=not_settling(walks, thresholds),
        diary_last_green=last_green(walks, thresholds),
    )


def derive_facts(
    patient: Patient,
    visits: Iterable[Visit],
    settings: RuleSettings | None = None,
    *,
    diary: Sequence[DiaryEntry] = (),
) -> Facts:
    """Facts for the latest non-archived visit; visits and diary in any order; ValueError without a visit."""
    return _facts(patient, _order(visits), settings or RuleSettings(), diary=diary)
