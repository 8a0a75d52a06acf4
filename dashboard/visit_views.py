"""What the Visit page shows beside its widgets: the title, the live previews of the unsaved form
(scores, claudication pattern, change since the first visit), the warnings it raises while the form is
open, the patient's check-in beside the fields it pre-filled or the questions it answered (§12.1), and
saving it. Values in, values (or the service's result) out; the page only draws them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dashboard import page_text, services
from dashboard.catalogue.instruments import INSTRUMENTS
from dashboard.config import Settings
from dashboard.models import WALK_CAP_MIN, Patient, Screening, Visit
from dashboard.outcomes import ODI_BAND_LABELS, score_odi, score_psfs, score_rmdq, score_startback, score_zcq
from dashboard.page_keys import Visit as Keys
from dashboard.patient_reported import NOT_SURE, SYMPTOM_QUESTIONS, PatientReport
from dashboard.plan import Library
from dashboard.ports import InvalidInputError, Revision, Store, User
from dashboard.presenters import FIELD_LABELS, screening_banner
from dashboard.safe_text import md_escape
from dashboard.trends import change_table, protocol_note
from dashboard.visit_form import CHOICES, QUESTIONNAIRE_FIELDS, live_ces_answers
from dashboard.walking import claudication_text


def form_title(correcting: Visit | None, previous: Visit | None) -> str:
    """The form's heading: a correction, a follow-up (something to copy forward) or a first visit."""
    return "Correct a visit" if correcting else ("Follow-up visit" if previous else "First visit")


def saved_toast(screening: Screening) -> str | None:
    """The toast after a save, or None for an EMERGENCY, which waits in a dialog to be acknowledged.

    The page keeps its scroll position after the save (the button is ~4,400 px down), so the result
    goes where the clinician is looking; the banner above the form stays for later.
    """
    if screening.urgency == "EMERGENCY":
        return None
    return f"Saved. Screening: {screening_banner(screening).headline}"


def carried_notice(carried_from: str, items: Sequence[str]) -> str:
    """The note above a follow-up form: what was carried forward from which visit, and what to do."""
    return (
        f"Carried forward **from {carried_from}**: "
        + md_escape(", ".join(items))
        + ". Check them with the patient, then tick *Confirm carried-forward items* before saving."
    )


# The check-in's measurements in the words of the notice above the form.
REPORTED_ITEMS: dict[str, str] = {
    "pain_nrs": "current pain",
    "pain_worst_nrs": "worst pain",
    "walk_protocol": "walking",
    "psfs": "PSFS ratings",
    "odi_sections": "ODI",
    "startback": "STarT Back",
    "rmdq_items": "RMDQ",
    "zcq_items": "ZCQ",
}
# A questionnaire's Visit field -> how many items it has (for its mark: "9 of 10 items answered").
_ITEM_COUNTS: dict[str, int] = {entry.visit_field: entry.item_count for entry in INSTRUMENTS.values()}
CONFIRM_REPORTED_LABEL = "I have reviewed the patient-reported values with the patient"
CONFIRM_REPORTED_MESSAGE = "must be reviewed with the patient: tick the box above the save button first."


def reported_to_confirm(state: Mapping[str, Any]) -> PatientReport | None:
    """The check-in whose measurements pre-filled this new form (to confirm before saving), else None."""
    report: PatientReport | None = state.get(Keys.REPORT)
    return report if report is not None and report.measurements() else None


def reported_on(report: PatientReport) -> str:
    """When the patient sent the check-in, as the form marks it: "patient-reported on 03 Dec 2026"."""
    return f"patient-reported on {_sent_on(report)}"


def _sent_on(report: PatientReport) -> str:
    return page_text.day(report.submitted_at.date())


def reported_notice(report: PatientReport) -> str:
    """The note above a form pre-filled from a check-in: what the patient reported, and what to do."""
    measured = report.measurements()
    items = ", ".join(words for field, words in REPORTED_ITEMS.items() if field in measured)
    beside = "screening answers are shown beside their questions and never fill them in."
    if not items:
        return f"The patient's check-in, **{reported_on(report)}**, has no measurements. Its {beside}"
    return (
        f"Pre-filled from the patient's check-in, **{reported_on(report)}**: {items}. Confirm or change "
        f"each with the patient, then tick *{CONFIRM_REPORTED_LABEL}* before saving. The patient's {beside}"
    )


def reported_caption(report: PatientReport | None, field: str) -> str | None:
    """The mark under a field the check-in pre-filled, with the patient's value; None when it did not."""
    value = report.measurements().get(field) if report else None
    if report is None or value is None:
        return None
    if field in QUESTIONNAIRE_FIELDS:
        items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
        answered = sum(item is not None for item in items)
        return f"Patient-reported on {_sent_on(report)}: {answered} of {_ITEM_COUNTS[field]} items answered"
    words = CHOICES[field].get(value, str(value)) if field in CHOICES else page_text.number(value)  # type: ignore[arg-type]
    return f"Patient-reported on {_sent_on(report)}: {words}"


def reported_psfs_caption(report: PatientReport | None, activity: str) -> str | None:
    """The mark under a PSFS row the patient rated, with their rating; None when they did not."""
    rated: list[dict[str, Any]] = (report.measurements().get("psfs") or []) if report else []  # type: ignore[assignment]
    score = next((item["score"] for item in rated if item["activity"] == activity.strip()), None)
    return None if report is None or score is None else f"Patient-reported on {_sent_on(report)}: {score}"


def _patient_answer(report: PatientReport, field: str) -> str | None:
    answer = report.screening_answers().get(field)
    question = next((q for q in SYMPTOM_QUESTIONS if field in q.fields), None)
    if answer is None or question is None:
        return None
    return "not sure" if answer == NOT_SURE else "yes" if answer == question.yes else "no"


def patient_said(report: PatientReport | None, field: str) -> str | None:
    """What the patient answered to a screening question, shown beside it (never filled in, §12.1)."""
    word = _patient_answer(report, field) if report else None
    if report is None or word is None:
        return None
    return f"Patient said {word} on {_sent_on(report)}"


def ask_now_first(report: PatientReport | None, ask_now: Sequence[str]) -> list[str]:
    """The *ask now* list with the questions the patient answered yes or not sure first (§12.1), then
    the screening's own unanswered questions."""
    if report is None:
        return list(ask_now)
    flagged = {
        FIELD_LABELS.get(field, field): word
        for field in report.screening_answers()
        if (word := _patient_answer(report, field)) in ("yes", "not sure")
    }
    return [
        *(f"{label} (patient: {word})" for label, word in flagged.items()),
        *(label for label in ask_now if label not in flagged),
    ]


def protocol_cap_caption(protocol: str | None) -> str | None:
    """The protocol's time cap in words (e.g. the SPWT stops at 15 min), None when it has none."""
    cap = WALK_CAP_MIN.get(protocol or "")
    return f"This protocol stops at {cap:g} min." if cap else None


def ces_warning(state: Mapping[str, Any]) -> str | None:
    """The emergency warning while the form is still open: a cauda equina answer now 'new' or
    'worsening' (RF_CES fires on any one); None when there is none."""
    active = live_ces_answers(state, Keys.PREFIX)
    if not active:
        return None
    answers = (f"{FIELD_LABELS.get(f, f).lower()}: {state[Keys.PREFIX + f]}" for f in active)
    found = md_escape("; ".join(answers))
    return (
        f"🚨 **EMERGENCY: possible cauda equina syndrome** ({found}). Refer immediately: to be seen "
        "within a few hours, emergency MRI within 4 h of the request. Save the visit and act now; "
        "do not wait for the end of the appointment."
    )


def finding_labels(library: Callable[[], Library] | None) -> tuple[dict[str, str], dict[str, str]]:
    """The posture and footwear findings the library lists (id → label); empty when it cannot be read:
    the lists are optional and the visit can still be saved."""
    try:
        loaded = library() if library else None
        return (loaded.finding_labels("posture"), loaded.finding_labels("footwear")) if loaded else ({}, {})
    except Exception:
        return {}, {}


def finding_options(labels: Mapping[str, str], chosen: Sequence[str]) -> list[str]:
    """A findings list's options: the library's, then any stored finding it no longer lists (never
    dropped, shown as its id)."""
    return [*labels, *(v for v in chosen if v not in labels)]


def preview_visit(values: Mapping[str, Any], patient_id: str | None) -> Visit | None:
    """The unsaved form as a Visit for the previews, None while it is not yet valid."""
    try:
        return Visit.model_validate({**values, "patient_id": patient_id})
    except Exception:
        return None


@dataclass(frozen=True)
class Metric:
    """One tile of the derived values: label, value and a line under it (None: no line)."""

    label: str
    value: str
    delta: str | None = None


def derived_metrics(values: Mapping[str, Any], preview: Visit | None) -> tuple[list[Metric], list[str]]:
    """The scores of the unsaved questionnaires and the claudication pattern (four tiles), with the
    RMDQ total and ZCQ scales as captions; "–" where nothing is entered yet."""
    odi = score_odi(values["odi_sections"]) if values.get("odi_sections") else None
    sb = score_startback(values["startback"]) if values.get("startback") else None
    psfs = score_psfs(values["psfs"]) if values.get("psfs") else None
    rm = score_rmdq(values["rmdq_items"]) if values.get("rmdq_items") else None
    zcq = score_zcq(values["zcq_items"]) if values.get("zcq_items") else None
    metrics = [
        Metric(
            "ODI",
            f"{odi.percent:.1f} %" if odi and odi.percent is not None else "–",
            ODI_BAND_LABELS.get(odi.band, "") if odi and odi.band else None,
        ),
        Metric(
            "STarT Back",
            f"{sb.risk} risk" if sb and sb.scorable else "incomplete" if sb else "–",
            f"total {sb.total}, psychosocial {sb.psychosocial}" if sb and sb.scorable else None,
        ),
        Metric("PSFS mean", f"{psfs.mean:.1f}" if psfs and psfs.mean is not None else "–"),
        Metric("Claudication pattern", claudication_text(preview) if preview else "–"),
    ]
    captions = []
    if rm and rm.scorable:
        captions.append(f"RMDQ total {rm.total}/24")
    if zcq and zcq.symptom_severity is not None:
        captions.append(
            f"ZCQ symptom severity {zcq.symptom_severity:.2f}, physical function "
            f"{zcq.physical_function or 0:.2f}"
        )
    return metrics, captions


def change_preview(
    visits: Sequence[Visit], correcting: Visit | None, preview: Visit, now: dt.datetime
) -> tuple[list[dict[str, str]], str | None]:
    """The change table as it will read once the form is saved (the corrected visit replaced by the
    form), one row per measure, and the note when walking was tested with several protocols."""
    others = [v for v in visits if not correcting or v.id != correcting.id]
    rows = change_table([*others, preview.model_copy(update={"recorded_at": now})])
    table = [
        {
            "Measure": r.label,
            "First": f"{page_text.number(r.first_value)} ({r.first_date:%Y-%m-%d})",
            "Now": page_text.number(r.latest_value),
            "Change since first": "–"
            if r.change_since_first is None
            else page_text.number(r.change_since_first, signed=True),
            # Next to the change it judges, so it stays in view in a narrow window.
            "Judgement": r.judgement_text,
            "Change since previous": "–"
            if r.change_since_previous is None
            else page_text.number(r.change_since_previous, signed=True),
        }
        for r in rows
    ]
    return table, protocol_note([*others, preview])


def revision_line(revision: Revision) -> str:
    """One change in a visit's history: version, when (UTC) and the reason given."""
    when = f"{revision.changed_at:%Y-%m-%d %H:%M} UTC"
    return f"**v{revision.version}** · {when} · {md_escape(revision.reason)}"


def save_visit(
    store: Store,
    user: User,
    settings: Settings,
    patient: Patient,
    correcting: Visit | None,
    values: dict[str, Any],
    state: Mapping[str, Any],
) -> tuple[Visit, Screening]:
    """Save the form: a correction of `correcting` (on the version the form was opened with) or a new
    visit (linked to the patient's check-in it reviewed); InvalidInputError naming the fields when
    refused, as the services raise it."""
    errors: dict[str, str] = {}
    if state.get(Keys.CARRIED_FROM) and not correcting and not state.get(Keys.CONFIRM_CARRIED):
        errors["confirm_carried"] = "confirm the carried-forward items first."
    if not correcting and reported_to_confirm(state) and not state.get(Keys.CONFIRM_REPORTED):
        errors["confirm_reported"] = CONFIRM_REPORTED_MESSAGE
    if errors:
        raise InvalidInputError(errors)
    if correcting:
        return services.correct_visit(
            store,
            user,
            correcting.saved_id,
            values,
            expected_version=state[Keys.BASE_VERSION],
            reason=state.get(Keys.REASON) or "",
            settings=settings,
        )
    # Only a review date the clinician changed is saved: the stored one may already be overdue.
    review = state.get(Keys.NEXT_REVIEW_DATE)
    report: PatientReport | None = state.get(Keys.REPORT)
    return services.record_visit(
        store,
        user,
        patient.saved_id,
        values,
        settings=settings,
        next_review_date=None if review == patient.next_review_date else review,
        reviewed_report_id=report.id if report else None,
    )
