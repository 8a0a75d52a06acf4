"""What the Visit page shows beside its widgets: the record it opens the form on, the title, the
screening banner, the live summary of the unsaved form (scores, claudication pattern, change since the
first visit), the warnings it raises while the form is open, the patient's check-in beside the fields it
pre-filled or the questions it answered (§12.1), and saving it. Values in, values (or the service's
result) out; the page only draws them.

The page draws the form in sections, each an ``st.fragment``: a field edit reruns its own section and
the summary at the foot, not the whole form and not the router. `section_run` does for such a rerun what
the router does on every full run (idle timeout, the stored account, the activity time), and keeps the
plain copy of the form's values current (`visit_form.keep`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final

from dashboard import governance, page_text, report_services, services
from dashboard.catalogue.instruments import INSTRUMENTS
from dashboard.config import Settings
from dashboard.models import WALK_CAP_MIN, Episode, Patient, Screening, Visit
from dashboard.outcomes import ODI_BAND_LABELS, score_odi, score_psfs, score_rmdq, score_startback, score_zcq
from dashboard.page_keys import CORRECT_VISIT_ID, LAST_SEEN
from dashboard.page_keys import Visit as Keys
from dashboard.patient_reported import NOT_SURE, SYMPTOM_QUESTIONS, PatientReport
from dashboard.plan import Library
from dashboard.ports import InvalidInputError, Revision, Store, StrideError, User
from dashboard.presenters import DECISION_SUPPORT, FIELD_LABELS, screening_banner
from dashboard.safe_text import md_escape
from dashboard.trends import change_table, protocol_note
from dashboard.visit_form import (
    CHOICES,
    QUESTIONNAIRE_FIELDS,
    live_ces_answers,
    open_form,
    values_from_form_state,
)
from dashboard.visit_form import keep as keep_form
from dashboard.walking import claudication_text


@dataclass(frozen=True)
class VisitPage:
    """What one full run of the Visit page draws the form from."""

    patient: Patient
    visits: list[Visit]  # of the current episode, oldest first
    correcting: Visit | None  # the visit being corrected; None for a new visit
    previous: Visit | None  # the visit a new one follows up (what it carries forward from)
    reported: PatientReport | None  # the patient's check-in a new visit reviews (§12.1)
    carried_from: str | None  # the date carried forward from (ISO), None when nothing was carried
    latest_screening: Screening | None
    enabled: frozenset[str]  # licensed instruments that are on
    discharged: Episode | None = None  # set when the episode is discharged: the page shows no form

    @property
    def title(self) -> str:
        """The form's heading (see form_title)."""
        return form_title(self.correcting, self.previous)


def open_visit(store: Store, user: User, patient_id: str, state: MutableMapping[Any, Any]) -> VisitPage:
    """Open the patient's record (not audited here: the patient's page audits the opening) and get the
    session's form ready for this run (open_form); StrideError as the services raise it.

    A discharged episode takes no new visit (§11.1): `discharged` is set and the form is left alone;
    correcting one of its visits still works.
    """
    record = services.open_patient(store, user, patient_id, audit=False)
    patient, visits, episode = record.patient, record.visits, record.current_episode
    correcting = next((v for v in visits if v.id == state.get(CORRECT_VISIT_ID)), None)
    if episode is not None and not episode.is_open and correcting is None:
        return VisitPage(
            patient, visits, None, None, None, None, record.latest_screening, frozenset(), episode
        )
    enabled = frozenset(governance.enabled_instruments(store))
    previous = visits[-1] if visits and correcting is None else None
    # A new visit reviews the patient's latest check-in of this episode not yet reviewed (§12.1).
    pending = None if correcting else report_services.pending_report(store, user, patient.saved_id)
    open_form(state, patient, correcting, previous, pending)
    return VisitPage(
        patient,
        visits,
        correcting,
        previous,
        None if correcting else state.get(Keys.REPORT),
        None if correcting else state.get(Keys.CARRIED_FROM),
        record.latest_screening,
        enabled,
    )


def section_run(
    state: MutableMapping[Any, Any], store: Store, user: User, settings: Settings, now: dt.datetime
) -> bool:
    """Whether a section's own rerun may go on; False: the page must rerun in full, and the router ends
    the session (idle past its timeout, or the stored account changed, as it checks on every full run).

    The form's values are kept first (visit_form.keep). A run that goes on counts as activity, so a
    clinician typing for longer than the timeout is not logged out mid-form. When the account cannot be
    read (the database is away) the section goes on: it reads and writes nothing stored, and the save
    re-checks the account in its own transaction.
    """
    keep_form(state)
    last_seen = state.get(LAST_SEEN, now)
    if now - last_seen > dt.timedelta(minutes=settings.session_timeout_min):
        return False
    try:
        if services.session_account(store, user) is None:
            return False
    except Exception:
        pass
    state[LAST_SEEN] = now
    return True


def save_clicked(
    store: Store,
    user: User,
    settings: Settings,
    page: VisitPage,
    state: MutableMapping[Any, Any],
    now: dt.datetime,
) -> None:
    """The Save button's callback: the save itself, before the run the click starts.

    A field edit the same click commits (a value typed, then Save clicked at once) asks for a rerun of
    its sections, and Streamlit lets that rerun pre-empt the click's full run: a save further down the
    script would never happen, and nothing would say so. Saved here, with the values just committed;
    SAVE_CLICKED makes a section run meanwhile rerun the page in full, which shows the result. The
    session is checked first, as on a section run (idle timeout, the stored account): when it has ended
    nothing is saved and the full run ends it. A refusal that is no field's waits in SAVE_REFUSAL.
    """
    state.pop(Keys.ERRORS, None)
    state.pop(Keys.SAVE_REFUSAL, None)
    if not section_run(state, store, user, settings, now):
        return
    state[Keys.SAVE_CLICKED] = True
    if refusal := submit(store, user, settings, page, state):
        state[Keys.SAVE_REFUSAL] = refusal


def take_saved_result(state: MutableMapping[Any, Any]) -> tuple[Screening | None, str | None]:
    """The screening of the visit just saved (once, on the run after the save) and its toast; an
    EMERGENCY has no toast and waits in the session (RESULT_TO_ACK) for its dialog to be acknowledged."""
    saved: Screening | None = state.pop(Keys.SAVED_SCREENING, None)
    if saved is None:
        return None, None
    toast = saved_toast(saved)
    if toast is None:
        state[Keys.RESULT_TO_ACK] = saved
    return saved, toast


@dataclass(frozen=True)
class ScreeningBox:
    """A screening as the page shows it: above the form (the visit just saved, else the latest stored
    one) or in the dialog an EMERGENCY result waits in."""

    saved: bool  # the visit was just saved ("Visit saved." above it)
    level: str  # st.error, st.warning, st.info or st.success
    headline: str  # Markdown
    lines: list[str]  # Markdown, one per fired rule
    ask_now: str | None  # Markdown, the questions to ask now; None when there are none
    captions: list[str]  # Markdown: an unapproved rule set, then the decision-support line


def result_box(screening: Screening, ask_now: Sequence[str] | None = None, prefix: str = "") -> ScreeningBox:
    """The screening as the dialog shows the result of the visit just saved (its *ask now* as given)."""
    banner = screening_banner(screening)
    asks = banner.ask_now if ask_now is None else ask_now
    headline = f"{banner.icon} {prefix}**{banner.headline}**"
    return ScreeningBox(True, banner.level, headline, banner.lines, ask_now_text(asks), [DECISION_SUPPORT])


def screening_box(store: Store, page: VisitPage, saved: Screening | None) -> ScreeningBox | None:
    """The box above the form (None before any screening), with the patient's yes / not sure answers
    first in its *ask now* (§12.1) and a warning while the clinic has not approved the rule set."""
    shown = saved or page.latest_screening
    if shown is None:
        return None
    banner = screening_banner(shown)
    prefix = "" if saved is not None else "Latest screening: "
    box = result_box(shown, ask_now_first(page.reported, banner.ask_now), prefix)
    if governance.rule_set_approval(store, banner.rule_set_version) is not None:
        return replace(box, saved=saved is not None)
    unapproved = f"⚠️ Rule set {md_escape(banner.rule_set_version)} has not been approved by this clinic yet."
    return replace(box, saved=saved is not None, captions=[unapproved, *box.captions])


def ask_now_text(ask_now: Sequence[str]) -> str | None:
    """The *ask now* warning (Markdown, the questions escaped), None when nothing is left to ask."""
    return "Ask now: " + md_escape(", ".join(ask_now)) if ask_now else None


def instruments_off(enabled: frozenset[str]) -> str | None:
    """The caption naming the licensed questionnaires that are off until an admin records the licence."""
    off = [name for key, name in governance.LICENSED_INSTRUMENTS.items() if key not in enabled]
    return "Off until an admin records the clinic's licence: " + "; ".join(off) + "." if off else None


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


SCREENING_CAPTION: Final = (
    "Every question starts as *not asked*. Use a group's button only when you asked every question in it."
)
QUESTIONNAIRES_CAPTION: Final = (
    "Enter item scores from the patient's completed form. Stride shows only item numbers and short labels."
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


def field_caption(report: PatientReport | None, field: str) -> str | None:
    """The line under a form field: the value the check-in pre-filled there, else what the patient
    answered to that screening question (in bold: it is shown beside the question, never fills it)."""
    if mark := reported_caption(report, field):
        return mark
    said = patient_said(report, field)
    return f"**{said}**" if said else None


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


@dataclass(frozen=True)
class Summary:
    """The live summary under the form: four tiles, their captions, and the change table as it will
    read once saved (empty while the form is not yet a valid visit), with its protocol note."""

    metrics: list[Metric]
    captions: list[str]
    table: list[dict[str, str]]
    note: str | None


def summary(state: Mapping[str, Any], page: VisitPage, now: dt.datetime) -> Summary:
    """The summary of the unsaved form in the session (widget values under Keys.PREFIX)."""
    values = values_from_form_state(state, Keys.PREFIX)
    preview = preview_visit(values, page.patient.id)
    metrics, captions = derived_metrics(values, preview)
    table: list[dict[str, str]] = []
    note = None
    if preview is not None and (page.visits or page.correcting):
        table, note = change_preview(page.visits, page.correcting, preview, now)
    return Summary(metrics, captions, table, note)


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


def submit(
    store: Store, user: User, settings: Settings, page: VisitPage, state: MutableMapping[Any, Any]
) -> str | None:
    """Save the form in the session (save_visit); None when the page reruns to show the result: saved
    (the screening waits in SAVED_SCREENING, the form starts afresh) or refused field by field (the
    messages in ERRORS, every value kept). Any other refusal is returned as a sentence to show."""
    state[Keys.ERRORS] = {}
    values = values_from_form_state(state, Keys.PREFIX)
    try:
        _, screening = save_visit(store, user, settings, page.patient, page.correcting, values, state)
    except InvalidInputError as exc:
        state[Keys.ERRORS] = exc.errors
        return None
    except StrideError as exc:
        return str(exc)
    state.pop(CORRECT_VISIT_ID, None)
    state[Keys.FORM_ID] = None
    state[Keys.SAVED_SCREENING] = screening
    return None
