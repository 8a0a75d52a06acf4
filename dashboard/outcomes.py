"""Outcome-measure scoring (ODI, RMDQ, STarT Back, PSFS, ZCQ) and change judgements against MCIDs.

Thresholds, missing-data rules and sources follow clinical-reference §7; every value is unrounded.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from dashboard.catalogue import INSTRUMENTS, WALK_METRICS
from dashboard.models import STARTBACK_ITEMS, ZCQ_ALLOWED, PsfsActivity

# --- ODI (clinical-reference §7.3) -------------------------------------------------------------

ODI_SECTIONS = INSTRUMENTS["odi"].item_count
ODI_MAX_PER_SECTION = 5
# At most 1 missing section (AO Foundation ODI v2.1a algorithm; Awell calculator [C]; project rule).
ODI_MAX_MISSING_SECTIONS = 1
# Bands, upper-inclusive percent (Fairbank [C]; thresholds as in the HL7 PACIO sample).
ODI_BANDS: tuple[tuple[float, str], ...] = (
    (20.0, "minimal"),
    (40.0, "moderate"),
    (60.0, "severe"),
    (80.0, "crippled"),
)
ODI_TOP_BAND = "bed_bound"
# Display labels: the band names, with gentler words for the two harshest; the stored enum never
# changes [U].
_GENTLER_BAND_WORDS = {"crippled": "very severe", "bed_bound": "extreme"}
ODI_BAND_LABELS: dict[str, str] = {
    band: _GENTLER_BAND_WORDS.get(band, band) for band in (*(name for _, name in ODI_BANDS), ODI_TOP_BAND)
}

OdiEntry = int | None | Sequence[int]


@dataclass(frozen=True)
class OdiScore:
    """An ODI result: percent 0-100 (unrounded) and its band, or not scorable."""

    scorable: bool
    percent: float | None
    band: str | None
    answered: int
    # Sum of the answered sections' scores (0-5 each), kept so "16/45" can be shown.
    total: int

    @property
    def possible(self) -> int:
        """Highest raw sum the answered sections allow (5 points a section)."""
        return ODI_MAX_PER_SECTION * self.answered


def _is_whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _odi_statement(value: object, section: int) -> int:
    """A section score 0-5, rejected (never clipped) when out of range or not a whole number."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= ODI_MAX_PER_SECTION:
        return value
    raise ValueError(f"section {section}: must be a whole number from 0 to {ODI_MAX_PER_SECTION}")


def _odi_entry(entry: object, section: int) -> int | None:
    """One section's score; with several statements marked the highest counts [S]; None if blank."""
    if entry is None:
        return None
    if isinstance(entry, (list, tuple, set, frozenset)):
        marked = [_odi_statement(statement, section) for statement in entry]
        return max(marked) if marked else None
    return _odi_statement(entry, section)


def odi_band(percent: float) -> str:
    """The ODI band (minimal … bed_bound) of an unrounded percent, upper-inclusive."""
    for upper, band in ODI_BANDS:
        if percent <= upper:
            return band
    return ODI_TOP_BAND


def score_odi(sections: Sequence[OdiEntry]) -> OdiScore:
    """Oswestry Disability Index percent (0-100, higher is more disabled) from 10 section scores."""
    wrong_shape = isinstance(sections, (str, bytes)) or not isinstance(sections, Sequence)
    if wrong_shape or len(sections) != ODI_SECTIONS:
        raise ValueError(f"odi_sections: expected {ODI_SECTIONS} entries")
    scores = [_odi_entry(entry, number) for number, entry in enumerate(sections, start=1)]
    answered = [score for score in scores if score is not None]
    total = sum(answered)
    if ODI_SECTIONS - len(answered) > ODI_MAX_MISSING_SECTIONS:
        return OdiScore(scorable=False, percent=None, band=None, answered=len(answered), total=total)
    percent = 100.0 * total / (ODI_MAX_PER_SECTION * len(answered))
    return OdiScore(
        scorable=True, percent=percent, band=odi_band(percent), answered=len(answered), total=total
    )


# --- RMDQ (clinical-reference §7.4) ------------------------------------------------------------

RMDQ_ITEMS = INSTRUMENTS["rmdq"].item_count
# yes = 1, no = 0, not_applicable = 0 (Roland & Morris 1983 [C]); None is a blank item.
_RMDQ_WORDS: dict[str, int] = {"yes": 1, "no": 0, "not_applicable": 0}


@dataclass(frozen=True)
class RmdqScore:
    """An RMDQ-24 result: count of statements that apply today (0-24), or not scorable."""

    scorable: bool
    total: int | None
    answered: int


def score_rmdq(items: Sequence[bool | str | None]) -> RmdqScore:
    """Roland-Morris total 0-24 (higher is more disabled); any blank item leaves it unscored [U]."""
    if isinstance(items, (str, bytes)) or not isinstance(items, Sequence) or len(items) != RMDQ_ITEMS:
        raise ValueError(f"rmdq_items: expected {RMDQ_ITEMS} entries")
    points: list[int] = []
    for number, item in enumerate(items, start=1):
        if item is None:
            continue
        if isinstance(item, bool):
            points.append(int(item))
        elif isinstance(item, str) and item in _RMDQ_WORDS:
            points.append(_RMDQ_WORDS[item])
        else:
            raise ValueError(f"item {number}: must be yes, no or not_applicable")
    # No missing-item rule was found [U]: Stride does not score an RMDQ with any blank item.
    if len(points) < RMDQ_ITEMS:
        return RmdqScore(scorable=False, total=None, answered=len(points))
    return RmdqScore(scorable=True, total=sum(points), answered=len(points))


# --- STarT Back (clinical-reference §7.6) ------------------------------------------------------

_AGREE_POINTS: dict[str, int] = {"agree": 1, "disagree": 0}
# q9 scores 1 only for very_much or extremely (Hill et al. 2008; Keele scoring guidance [C]).
_BOTHERSOME_POINTS: dict[str, int] = {
    "not_at_all": 0,
    "slightly": 0,
    "moderately": 0,
    "very_much": 1,
    "extremely": 1,
}
STARTBACK_PSYCHOSOCIAL_ITEMS: tuple[str, ...] = ("q5", "q6", "q7", "q8", "q9")
# total ≤ 3 -> low; otherwise psychosocial ≥ 4 -> high, else medium (Hill 2008; Keele [C]).
STARTBACK_LOW_MAX_TOTAL = 3
STARTBACK_HIGH_MIN_PSYCHOSOCIAL = 4


@dataclass(frozen=True)
class StartBackScore:
    """A STarT Back result: total 0-9, psychosocial subscore 0-5 and risk group, or not scorable."""

    scorable: bool
    total: int | None
    psychosocial: int | None
    risk: Literal["low", "medium", "high"] | None


def score_startback(answers: Mapping[str, str | None] | None) -> StartBackScore:
    """Keele STarT Back total, psychosocial subscore and risk group; any missing item: not scorable."""
    answers = answers or {}
    for key in answers:
        if key not in STARTBACK_ITEMS:
            raise ValueError(f"item {key}: unknown; expected q1 to q9")
    points: dict[str, int] = {}
    for key in STARTBACK_ITEMS:
        answer = answers.get(key)
        if answer is None:
            continue
        scale = _BOTHERSOME_POINTS if key == "q9" else _AGREE_POINTS
        if not isinstance(answer, str) or answer not in scale:
            raise ValueError(f"item {key}: must be one of {', '.join(scale)}")
        points[key] = scale[answer]
    # No missing-item rule was found [U]: Stride does not score the tool with any item missing.
    if len(points) < len(STARTBACK_ITEMS):
        return StartBackScore(scorable=False, total=None, psychosocial=None, risk=None)
    total = sum(points.values())
    psychosocial = sum(points[key] for key in STARTBACK_PSYCHOSOCIAL_ITEMS)
    risk: Literal["low", "medium", "high"]
    if total <= STARTBACK_LOW_MAX_TOTAL:
        risk = "low"
    elif psychosocial >= STARTBACK_HIGH_MIN_PSYCHOSOCIAL:
        risk = "high"
    else:
        risk = "medium"
    return StartBackScore(scorable=True, total=total, psychosocial=psychosocial, risk=risk)


# --- PSFS (clinical-reference §7.5) ------------------------------------------------------------

PSFS_MAX_ACTIVITIES = INSTRUMENTS["psfs"].item_count
PSFS_MAX_RATING = 10


@dataclass(frozen=True)
class PsfsScore:
    """A PSFS result: mean rating 0-10 of the activities rated today (higher is better)."""

    mean: float | None
    rated: int


def _psfs_rating(item: PsfsActivity | Mapping[str, Any], number: int) -> tuple[str, int | None]:
    """(activity text, rating) of one PSFS entry, validated without echoing its value."""
    if isinstance(item, PsfsActivity):
        return item.activity, item.score
    activity = item.get("activity") if isinstance(item, Mapping) else None
    score = item.get("score") if isinstance(item, Mapping) else None
    if not isinstance(activity, str) or not activity.strip():
        raise ValueError(f"activity {number}: the activity needs a name")
    if score is not None and (not _is_whole(score) or not 0 <= score <= PSFS_MAX_RATING):
        raise ValueError(f"activity {number}: score must be a whole number from 0 to {PSFS_MAX_RATING}")
    return activity.strip(), score


def score_psfs(items: Sequence[PsfsActivity | Mapping[str, Any]] | None) -> PsfsScore:
    """PSFS mean 0-10 over the activities rated at this visit [U: unrated ones are left out]."""
    if items is None:
        return PsfsScore(mean=None, rated=0)
    if len(items) > PSFS_MAX_ACTIVITIES:
        raise ValueError(f"psfs: at most {PSFS_MAX_ACTIVITIES} activities")
    ratings = [_psfs_rating(item, number)[1] for number, item in enumerate(items, start=1)]
    rated = [score for score in ratings if score is not None]
    return PsfsScore(mean=sum(rated) / len(rated) if rated else None, rated=len(rated))


def psfs_paired_means(
    baseline: Sequence[PsfsActivity | Mapping[str, Any]],
    latest: Sequence[PsfsActivity | Mapping[str, Any]],
) -> tuple[float, float, int] | None:
    """(baseline mean, latest mean, activities) over activities rated at both visits, matched by name.

    Change uses only activities rated at both visits (clinical-reference §7.5 [U]); None if none are.
    """
    before = dict(_psfs_rating(item, n) for n, item in enumerate(baseline, start=1))
    after = dict(_psfs_rating(item, n) for n, item in enumerate(latest, start=1))
    both = [name for name in before if before[name] is not None and after.get(name) is not None]
    if not both:
        return None
    first = sum(before[name] or 0 for name in both) / len(both)
    last = sum(after[name] or 0 for name in both) / len(both)
    return first, last, len(both)


# --- ZCQ (clinical-reference §7.7) -------------------------------------------------------------

ZCQ_SYMPTOM_ITEMS: tuple[str, ...] = tuple(f"q{i}" for i in range(1, 8))
ZCQ_FUNCTION_ITEMS: tuple[str, ...] = tuple(f"q{i}" for i in range(8, 13))
ZCQ_SATISFACTION_ITEMS: tuple[str, ...] = tuple(f"q{i}" for i in range(13, 19))
# Most items a subscale may miss (AO Foundation ZCQ algorithm [C]): SS 2, PF 1, SAT 1.
ZCQ_MAX_MISSING: dict[str, int] = {"symptom_severity": 2, "physical_function": 1, "satisfaction": 1}


@dataclass(frozen=True)
class ZcqScore:
    """ZCQ subscale means (higher is worse): SS 1-5, PF 1-4, SAT 1-4; None when too many missing."""

    symptom_severity: float | None
    physical_function: float | None
    satisfaction: float | None


def _subscale_mean(codes: Mapping[str, int | None], items: tuple[str, ...], max_missing: int) -> float | None:
    answered = [codes[key] for key in items if codes.get(key) is not None]
    if len(items) - len(answered) > max_missing:
        return None
    return sum(answered) / len(answered)  # type: ignore[arg-type]


def score_zcq(items: Mapping[str, int | None] | None) -> ZcqScore:
    """Zurich Claudication Questionnaire subscale means (raw, unnormalised) from item codes q1-q18."""
    codes = dict(items or {})
    for key, code in codes.items():
        if key not in ZCQ_ALLOWED:
            raise ValueError(f"item {key}: unknown; expected q1 to q18")
        if code is not None and (not _is_whole(code) or code not in ZCQ_ALLOWED[key]):
            raise ValueError(f"item {key}: outside its coded range")
    return ZcqScore(
        symptom_severity=_subscale_mean(codes, ZCQ_SYMPTOM_ITEMS, ZCQ_MAX_MISSING["symptom_severity"]),
        physical_function=_subscale_mean(codes, ZCQ_FUNCTION_ITEMS, ZCQ_MAX_MISSING["physical_function"]),
        # Satisfaction is asked after treatment only; with no q13-q18 at all it is simply absent.
        satisfaction=_subscale_mean(codes, ZCQ_SATISFACTION_ITEMS, ZCQ_MAX_MISSING["satisfaction"]),
    )


# --- Change judgements (clinical-reference §7.1, §7.9) -----------------------------------------

Direction = Literal["lower_is_better", "higher_is_better"]
ThresholdKind = Literal["MCID", "MDC90"]


@dataclass(frozen=True)
class MeasureInfo:
    """A change measure: its unit and which direction is better."""

    measure: str
    label: str
    unit: str
    direction: Direction


MEASURES: dict[str, MeasureInfo] = {
    info.measure: info
    for info in (
        MeasureInfo("pain_nrs", "Pain now (NRS)", "points", "lower_is_better"),
        MeasureInfo("pain_worst_nrs", "Worst pain, 24 h (NRS)", "points", "lower_is_better"),
        MeasureInfo("odi_percent", "ODI", "points", "lower_is_better"),
        MeasureInfo("rmdq_total", "RMDQ", "points", "lower_is_better"),
        MeasureInfo("psfs_mean", "PSFS mean", "points", "higher_is_better"),
        MeasureInfo("zcq_ss", "ZCQ symptom severity", "points", "lower_is_better"),
        MeasureInfo("zcq_pf", "ZCQ physical function", "points", "lower_is_better"),
        # One walking measure per protocol metric, from the catalogue (higher is better, §7.1, §7.8).
        *(
            MeasureInfo(m.change_measure, m.label, m.unit, "higher_is_better")
            for m in sorted(WALK_METRICS.values(), key=lambda m: not m.has_mcid)
        ),
    )
}


@dataclass(frozen=True)
class ChangeThreshold:
    """One row of the MCID / MDC table: an absolute and/or relative threshold with its source."""

    measure: str
    kind: ThresholdKind
    threshold: float | None  # absolute, in the measure's unit
    relative_fraction: float | None  # of a non-zero baseline
    direction: Direction
    source: str
    tag: str
    note: str = ""


# Clinical-reference §7.9. Comparisons are "≥ threshold" [U]; worsening mirrors improvement [U].
MCID_TABLE: tuple[ChangeThreshold, ...] = (
    ChangeThreshold("pain_nrs", "MCID", 2.0, 0.30, "lower_is_better", "Ostelo 2008", "[C]"),
    ChangeThreshold("pain_worst_nrs", "MCID", 2.0, 0.30, "lower_is_better", "Ostelo 2008", "[C]"),
    ChangeThreshold("odi_percent", "MCID", 10.0, 0.30, "lower_is_better", "Ostelo 2008", "[C]"),
    ChangeThreshold(
        "odi_percent", "MDC90", 10.0, None, "lower_is_better", "ODI scoring sheet (5 raw points)", "[S]"
    ),
    ChangeThreshold("rmdq_total", "MCID", 5.0, 0.30, "lower_is_better", "Ostelo 2008", "[C]"),
    ChangeThreshold("psfs_mean", "MDC90", 2.0, None, "higher_is_better", "Stratford 1995", "[C]"),
    ChangeThreshold("walk_spwt_m", "MCID", None, 0.30, "higher_is_better", "Ammendolia 2018", "[C]"),
    ChangeThreshold(
        "walk_6mwt_m",
        "MCID",
        26.0,
        None,
        "higher_is_better",
        "McIlroy 2025 (after LSS surgery)",
        "[C]",
        note="published range 26–35 m",
    ),
    # 0.5 is often quoted from surgical trials [U]; a non-surgical Chinese validation found SS −0.21
    # and PF −0.16 (Sci Rep 2025 [C, population-specific]).
    ChangeThreshold("zcq_ss", "MCID", 0.5, None, "lower_is_better", "often quoted (surgical trials)", "[U]"),
    ChangeThreshold("zcq_pf", "MCID", 0.5, None, "lower_is_better", "often quoted (surgical trials)", "[U]"),
)
# The table's rows of each measure, in table order (thresholds_for reads this, not a scan of the table).
_THRESHOLDS_BY_MEASURE: dict[str, tuple[ChangeThreshold, ...]] = {
    measure: tuple(row for row in MCID_TABLE if row.measure == measure)
    for measure in dict.fromkeys(row.measure for row in MCID_TABLE)
}

ChangeLabel = Literal[
    "important_improvement",
    "no_important_change",
    "important_worsening",
    "within_measurement_error",
    "beyond_measurement_error",
    "no_mcid",
]
# Treadmill and reported walking have no confirmed MCID (clinical-reference §7.8): their change is
# shown without a judgement, under this label.
NO_MCID_LABEL: ChangeLabel = "no_mcid"


@dataclass(frozen=True)
class ChangeJudgement:
    """How a measure changed from baseline to latest, judged against its MCID / MDC row(s)."""

    measure: str
    label: ChangeLabel
    criterion: str
    baseline: float
    latest: float
    change: float  # latest − baseline, in the measure's unit
    improvement: float  # signed so that positive is better, whichever direction is better
    relative_change: float | None  # improvement / baseline; None when the baseline is 0
    direction: Literal["better", "worse", "unchanged"]
    source: str = ""
    tag: str = ""

    @property
    def is_important(self) -> bool:
        """True when an MCID criterion was met, in either direction."""
        return self.label in ("important_improvement", "important_worsening")


_CLOSE = 1e-9


def _at_least(value: float, threshold: float) -> bool:
    """value ≥ threshold, forgiving floating-point noise (e.g. 0.3 × 70 = 20.999…)."""
    return value >= threshold or math.isclose(value, threshold, rel_tol=_CLOSE, abs_tol=_CLOSE)


def _number(text: float) -> str:
    return f"{round(text, 2):g}"


def _amount(value: float, unit: str) -> str:
    if unit == "points" and math.isclose(abs(value), 1.0):
        return f"{_number(abs(value))} point"
    return f"{_number(abs(value))} {unit}"


def _percent(fraction: float) -> str:
    pct = abs(fraction) * 100
    if not math.isfinite(pct) or pct >= 1e6:  # a baseline of almost nothing: no meaningful percentage
        return "over 1,000,000%"
    return f"{pct:.0f}%" if math.isclose(pct, round(pct), abs_tol=0.05) else f"{pct:.1f}%"


def _finite(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name}: must be a finite number")
    return float(value)


def thresholds_for(measure: str) -> tuple[ChangeThreshold, ...]:
    """The MCID / MDC rows of a measure (empty for measures without a confirmed MCID)."""
    if measure not in MEASURES:
        raise ValueError(f"measure: unknown; expected one of {', '.join(MEASURES)}")
    return _THRESHOLDS_BY_MEASURE.get(measure, ())


def _rule_text(row: ChangeThreshold, unit: str) -> str:
    """'the MCID of 2 points or 30% of baseline', as shown beside a judgement."""
    parts = []
    if row.threshold is not None:
        parts.append(_amount(row.threshold, unit))
    if row.relative_fraction is not None:
        parts.append(f"{_percent(row.relative_fraction)} of baseline")
    note = f" ({row.note})" if row.note else ""
    return f"the {row.kind} of {' or '.join(parts)}{note}"


def _mcid_criteria_met(
    row: ChangeThreshold, improvement: float, relative: float | None, unit: str
) -> list[str]:
    """The MCID criteria (absolute, relative) that a change of this size meets, in either direction."""
    met: list[str] = []
    if row.threshold is not None and _at_least(abs(improvement), row.threshold):
        met.append(_amount(row.threshold, unit))
    fraction = row.relative_fraction
    if fraction is not None and relative is not None and _at_least(abs(relative), fraction):
        met.append(f"{_percent(fraction)} of baseline")
    if met and row.note:
        met[-1] += f" ({row.note})"
    return met


def judge_change(measure: str, baseline: float, latest: float) -> ChangeJudgement:
    """Judge latest against baseline: MCID reached (better or worse), measurement error, or neither.

    Precedence (clinical-reference §7.1): an MCID criterion decides "important"; otherwise, when an
    MDC is known and |change| < MDC, the change is within measurement error.
    """
    thresholds_for(measure)  # an unknown measure is refused first
    # + 0.0: a baseline of -0.0 is judged as 0.0 (the two are one key of the cache below).
    return _judged(measure, _finite(baseline, "baseline") + 0.0, _finite(latest, "latest") + 0.0)


@functools.lru_cache(maxsize=4096)
def _judged(measure: str, first: float, last: float) -> ChangeJudgement:
    # Cached: a whole-caseload re-screen judges the same few (measure, baseline, latest) triples for
    # thousands of patients, and a judgement (a frozen dataclass) depends on the MCID table alone.
    rows = thresholds_for(measure)
    info = MEASURES[measure]
    change = last - first
    improvement = change if info.direction == "higher_is_better" else -change
    relative = improvement / first if first != 0 else None
    direction: Literal["better", "worse", "unchanged"] = (
        "better" if improvement > 0 else "worse" if improvement < 0 else "unchanged"
    )
    if change == 0:
        movement = "did not change"
    else:
        movement = f"{'rose' if change > 0 else 'fell'} by {_amount(change, info.unit)}"
        if relative is not None and any(row.relative_fraction is not None for row in rows):
            movement += f" ({_percent(relative)} of baseline)"

    def judged(label: ChangeLabel, criterion: str, row: ChangeThreshold | None) -> ChangeJudgement:
        return ChangeJudgement(
            measure=measure,
            label=label,
            criterion=criterion,
            baseline=first,
            latest=last,
            change=change,
            improvement=improvement,
            relative_change=relative,
            direction=direction,
            source=row.source if row else "",
            tag=row.tag if row else "",
        )

    mcid = next((row for row in rows if row.kind == "MCID"), None)
    mdc = next((row for row in rows if row.kind == "MDC90" and row.threshold is not None), None)
    beyond_mdc = mdc is not None and _at_least(abs(change), mdc.threshold or 0.0)
    if mcid is None:
        if mdc is None:
            return judged(NO_MCID_LABEL, f"{movement}; no confirmed MCID, so no label", None)
        if beyond_mdc:
            return judged(
                "beyond_measurement_error", f"{movement}; reaches {_rule_text(mdc, info.unit)}", mdc
            )
        return judged("within_measurement_error", f"{movement}; less than {_rule_text(mdc, info.unit)}", mdc)

    met = _mcid_criteria_met(mcid, improvement, relative, info.unit) if improvement != 0 else []
    if met:
        label: ChangeLabel = "important_improvement" if improvement > 0 else "important_worsening"
        return judged(label, f"{movement}; meets the MCID of {' and of '.join(met)}", mcid)
    if mdc is not None and not beyond_mdc:
        return judged("within_measurement_error", f"{movement}; less than {_rule_text(mdc, info.unit)}", mdc)
    if relative is None and mcid.threshold is None:
        reason = "a relative change cannot be judged from a baseline of 0"
        return judged("no_important_change", f"{movement}; {reason}", mcid)
    return judged("no_important_change", f"{movement}; below {_rule_text(mcid, info.unit)}", mcid)


# Labels that count as evidence for or against improvement (§3.2, §7.1); "no_mcid" does not.
EVIDENCE_LABELS: frozenset[str] = frozenset(
    {"important_improvement", "no_important_change", "important_worsening", "within_measurement_error"}
)
# An NRS baseline ≤ 2 leaves no room to improve: no evidence either way (§3.2 [U]).
NRS_BASELINE_NO_EVIDENCE_MAX = 2


def counts_as_evidence(judgement: ChangeJudgement) -> bool:
    """True when a judgement is evidence for or against improvement (§3.2): an MCID decided it, and a
    pain baseline had room to improve."""
    if judgement.label not in EVIDENCE_LABELS:
        return False
    return not (judgement.measure == "pain_nrs" and judgement.baseline <= NRS_BASELINE_NO_EVIDENCE_MAX)


def improvement(judgements: Sequence[ChangeJudgement]) -> tuple[bool, bool]:
    """(improved, not_improved) from NRS, ODI and walking judgements (§3.2): the product's only definition.

    improved: any evidence shows an important improvement; not_improved: some evidence, none improved.
    """
    evidence = [j for j in judgements if counts_as_evidence(j)]
    improved = any(j.label == "important_improvement" for j in evidence)
    return improved, bool(evidence) and not improved
