"""FHIR resources of the questionnaires a visit records (clinical-reference §9): each instrument's
QuestionnaireResponse (linkIds and coded answers, never item text) and the score Observations derived
from it: ODI percent, RMDQ total, STarT Back total and psychosocial subscore, PSFS mean, ZCQ subscales.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

from dashboard import fhir_codes as codes
from dashboard.fhir_bundle import Json, VisitEntries, answer
from dashboard.models import Visit
from dashboard.outcomes import score_odi, score_psfs, score_rmdq, score_startback, score_zcq

# A score Observation derived from a questionnaire: its code and value (None: not scorable).
Score = tuple[codes.Code | codes.LocalCode, Json | None]
T = TypeVar("T")


def add_questionnaires(entries: VisitEntries) -> None:
    """The visit's ODI, RMDQ, STarT Back, PSFS and ZCQ, each only when answered."""
    visit = entries.visit
    _item_by_item(entries, codes.QUESTIONNAIRE_ODI, visit.odi_sections, "valueInteger", _odi_score(visit))
    _item_by_item(entries, codes.QUESTIONNAIRE_RMDQ, visit.rmdq_items, "valueBoolean", _rmdq_score(visit))
    _startback(entries)
    _psfs(entries)
    _zcq(entries)


def _item_by_item(
    entries: VisitEntries, slug: str, answers: Sequence[object] | None, value_type: str, score: Score
) -> None:
    """An instrument answered item by item in order (ODI sections, RMDQ items): its
    QuestionnaireResponse (linkIds "<slug>-<position>") and the score Observation derived from it;
    nothing when no item was answered, no Observation when the answers are not scorable."""
    items = [answer(f"{slug}-{n}", {value_type: a}) for n, a in enumerate(answers or [], 1) if a is not None]
    if not items:
        return
    response = entries.questionnaire_response(slug, items)
    code, value = score
    if value is not None:
        entries.observation(slug, codes.CATEGORY_SURVEY, code, value, [response])


def _odi_score(visit: Visit) -> Score:
    """The ODI score Observation: its code and value, percent disability (0-100 %; None: not scorable)."""
    percent = score_odi(visit.odi_sections).percent if visit.odi_sections is not None else None
    value = None if percent is None else {"valueQuantity": codes.UNIT_PERCENT.quantity(percent)}
    return codes.LOINC_ODI_SCORE, value


def _rmdq_score(visit: Visit) -> Score:
    """The RMDQ score Observation: its code and value, the total 0-24 (None: not scorable)."""
    total = score_rmdq(visit.rmdq_items).total if visit.rmdq_items is not None else None
    return codes.RMDQ_TOTAL, None if total is None else {"valueInteger": total}


def _keyed_response(
    entries: VisitEntries, slug: str, answers: Mapping[str, T | None], value: Callable[[T], Json]
) -> str | None:
    """An instrument answered by item key "q<n>" (STarT Back, ZCQ): its QuestionnaireResponse in item
    order (q2 before q10, linkIds "<slug>-<n>"), unanswered items left out; None when none was answered."""
    ordered = sorted(answers.items(), key=lambda kv: int(kv[0][1:]))
    items = [answer(f"{slug}-{key[1:]}", value(a)) for key, a in ordered if a is not None]
    return entries.questionnaire_response(slug, items) if items else None


def _startback(entries: VisitEntries) -> None:
    """STarT Back: coded answers, then (when scorable) the total and psychosocial subscore, which the
    RiskAssessment later takes as its basis."""
    answers = entries.visit.startback
    if not answers:
        return
    local = entries.bundle.local
    response = _keyed_response(
        entries,
        codes.QUESTIONNAIRE_STARTBACK,
        answers,
        lambda choice: {"valueCoding": local(codes.STARTBACK_ANSWER_CODES[choice])},
    )
    if response is None:
        return
    score = score_startback(answers)
    if not score.scorable or score.total is None or score.psychosocial is None:
        return
    survey = codes.CATEGORY_SURVEY
    total = entries.observation(
        "startback-total", survey, codes.STARTBACK_TOTAL, {"valueInteger": score.total}, [response]
    )
    psychosocial = {"valueInteger": score.psychosocial}
    entries.observation(
        "startback-psychosocial", survey, codes.STARTBACK_PSYCHOSOCIAL, psychosocial, [response]
    )
    entries.bundle.startback[entries.key] = [response, total]


def _psfs(entries: VisitEntries) -> None:
    """PSFS: each activity and (when rated today) its score; the mean of the rated ones."""
    activities = entries.visit.psfs
    if not activities:
        return
    items: list[Json] = []
    for n, activity in enumerate(activities, 1):
        parts = [answer(f"psfs-{n}-activity", {"valueString": activity.activity})]
        if activity.score is not None:
            parts.append(answer(f"psfs-{n}-score", {"valueInteger": activity.score}))
        items.append({"linkId": f"psfs-{n}", "item": parts})
    response = entries.questionnaire_response(codes.QUESTIONNAIRE_PSFS, items)
    mean = score_psfs(activities).mean
    if mean is not None:
        value = {"valueQuantity": codes.UNIT_SCORE.quantity(mean)}
        entries.observation("psfs", codes.CATEGORY_SURVEY, codes.PSFS_MEAN, value, [response])


def _zcq(entries: VisitEntries) -> None:
    """ZCQ: the item codes, then each scorable subscale mean (severity, function, satisfaction)."""
    answers = entries.visit.zcq_items
    if not answers:
        return
    response = _keyed_response(entries, codes.QUESTIONNAIRE_ZCQ, answers, lambda code: {"valueInteger": code})
    if response is None:
        return
    score = score_zcq(answers)
    for slug, code, mean in (
        ("zcq-ss", codes.ZCQ_SYMPTOM_SEVERITY, score.symptom_severity),
        ("zcq-pf", codes.ZCQ_PHYSICAL_FUNCTION, score.physical_function),
        ("zcq-sat", codes.ZCQ_SATISFACTION, score.satisfaction),
    ):
        if mean is not None:
            value = {"valueQuantity": codes.UNIT_SCORE.quantity(mean)}
            entries.observation(slug, codes.CATEGORY_SURVEY, code, value, [response])
