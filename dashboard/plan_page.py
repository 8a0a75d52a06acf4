"""What the Plan & handout page decides, without streamlit: a fresh review per patient, the plan for
the chosen starting walk, the clinician's edits as a validated Plan, the escalation notices, and the
handout given at the click (rendered, stored and audited) or copied from the record (audited).

The page reads its widgets, calls these and renders the results; the handout's language is
`dashboard.handout_language`'s.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from typing import Any, Literal

from pydantic import ValidationError

from dashboard import page_keys, presenters, services
from dashboard.config import Settings
from dashboard.downloads import HTML, PDF, Download
from dashboard.handout_language import HandoutChoice, Translated
from dashboard.models import field_errors
from dashboard.plan import (
    SAFETY_FIRST_TIERS,
    AdviceSection,
    EscalationWarning,
    Library,
    Plan,
    PlanExercise,
    PlanItem,
    build_plan,
    escalation_warnings,
    never_recommend_hits,
    placeholder_values,
)
from dashboard.ports import Handout, Store, StrideError, User
from dashboard.safe_text import md_escape
from dashboard.visit_form import error_message

K = page_keys.Plan
# A first walk the widget accepts (minutes); checked by the page, not the widget (issue 19).
START_BOUT_MIN, START_BOUT_MAX = 0.5, 180.0
PLAN_LABELS = {"personal_note": "A personal note for the patient", "exercises": "Exercise dose"}
# Streamlit keeps a checkbox label to one line: a longer title is repeated in full below it.
LONG_TITLE = 50
# How long the page waits for a handout recorded at the click to be listed (seconds).
RECORDING_WAIT_S, RECORDING_POLL_S = 8.0, 0.25

NO_PATIENT = "No patient is chosen yet. Choose a patient to review their plan and print the handout."
NO_LIBRARY = (
    "The advice library could not be loaded, so no plan can be built. Ask an administrator to check it."
)
NO_START_BOUT = (
    "There is no walking test or reported walking time to start the walking programme from. "
    "Enter the length of the first walks."
)
REVIEW_HINT = (
    "Untick what does not fit this patient; edit exercise doses. The safety-net box is always printed."
)

HANDOUT = Download(
    "Download the handout (PDF)",
    PDF,
    icon="📄",
    help="The PDF, the plan and their hash are stored with this patient's record when you download.",
    primary=True,
    rerun=True,  # the rerun lists the handout just given
)
STORED_HANDOUT = Download("PDF", PDF, help="The stored PDF, exactly as it was given.")
WEB_HANDOUT = Download(
    "Web version (HTML)",
    HTML,
    icon="🌐",
    help="The same plan as one web page: open it in a browser to read it aloud or print it.",
)
# Issue 23: the PDF has no tags (fpdf2 cannot write a tagged PDF), so a screen reader cannot follow it.
WEB_INTRO = (
    "The PDF cannot be tagged for screen readers today. **For screen readers, use the web version**: "
    "the same plan with headings, lists, the drawings described in words and the safety-net box. "
    "Download it, or send it to the patient's phone with a plan link below."
)
PLAN_LINK_HEADING = "Plan link for the patient"
PLAN_LINK_CAPTION = (
    "The patient opens the web version of the handout last given on their phone, after typing their "
    "date of birth. The link works for 6 weeks. Create it with the patient's other links on the "
    "Patients page (Create a web plan link), where it is shown once and can be revoked."
)
PLAN_LINK_LABEL = "Patient links on the Patients page"

Render = Callable[..., bytes]
# The page's widgets described once (keyword arguments; the page adds what varies per run).
START_BOUT_INPUT: dict[str, Any] = {
    "label": "Starting walk length (minutes)",
    "value": None,
    "step": 0.5,
    "placeholder": "e.g. 5",
    "key": K.START_BOUT,
    "help": "A walk the patient can manage with mild symptoms at most; the programme builds up from it.",
}
NOTE_INPUT: dict[str, Any] = {
    "label": "A personal note for the patient (optional)",
    "key": K.NOTE,
    "placeholder": "Plain words, printed under “A note from your physio”.",
}
LANGUAGE_CHOICE: dict[str, Any] = {"label": "Handout language", "horizontal": True, "key": K.LANGUAGE}
# §14: until the translation is reviewed it is printed only beside the English.
BILINGUAL_CHOICE: dict[str, Any] = {
    "label": "Bilingual layout (English above each paragraph)",
    "value": True,
    "key": K.BILINGUAL,
    "help": "Always on while the translation awaits clinical review.",
}
Translate = Callable[[Plan, Library, str, dict[str, str]], Translated | None]
Notice = tuple[Literal["error", "warning", "info"], str, str]  # how loud, the words, the icon


def library_caption(version: str) -> str:
    """The line under "Why these items were chosen": which library, and that it is decision support."""
    return f"Advice library version {version}. Decision support: review every item before printing."


def fresh_review(session: MutableMapping[Any, Any], patient_id: str) -> None:
    """Start a new patient's review: drop the previous patient's ticks, doses and note."""
    for key in [k for k in session if str(k).startswith(K.PREFIX)]:
        del session[key]
    session[K.AUDITED] = patient_id


def open_record(
    store: Store, user: User, session: MutableMapping[Any, Any], patient_id: str | None
) -> services.PatientRecord | tuple[Literal["info", "error"], str]:
    """The patient's record (the first view in this session is audited and starts a fresh review),
    or what the page says instead: no patient chosen, or why the record cannot be opened."""
    if not patient_id:
        return "info", NO_PATIENT
    first_open = is_first_open(session, patient_id)
    try:
        record = services.open_patient(store, user, patient_id, audit=first_open)
    except StrideError as exc:
        return "error", md_escape(str(exc))
    if first_open:
        fresh_review(session, patient_id)
    return record


def load_library(load: Callable[[], Library]) -> Library | None:
    """The advice library, or None (logged by its error's type only) when its files cannot be read."""
    try:
        return load()
    except Exception as exc:  # a broken library file: the page says so plainly, never a traceback
        logging.getLogger("stride").error("advice library could not be loaded: %s", type(exc).__name__)
        return None


def is_first_open(session: Mapping[Any, Any], patient_id: str) -> bool:
    """True on this session's first view of the patient's plan (the opening is audited once)."""
    return session.get(K.AUDITED) != patient_id


def escalation_notice(warning: EscalationWarning) -> tuple[Literal["error", "warning", "info"], str]:
    """How loud one open escalation is on the plan page, and its words (Markdown, escaped)."""
    kind: Literal["error", "warning", "info"] = (
        "error" if warning.tier == "EMERGENCY" else "warning" if warning.tier == "URGENT" else "info"
    )
    text = (
        f"**Open {warning.tier} escalation** ({md_escape(warning.rule_id)}): "
        f"{md_escape(warning.rule_words)}. Reason: {md_escape(warning.reason)}."
    )
    if warning.tier in SAFETY_FIRST_TIERS:
        text += (
            " The handout leads with the safety net and leaves the reassurance out. "
            "Act on the escalation first (Flags page)."
        )
    return kind, text


def escalation_notices(record: services.PatientRecord, settings: Settings) -> list[Notice]:
    """Every open escalation as the page shows it above the plan, loudest first (issue 19)."""
    return [
        (*escalation_notice(warning), presenters.TIER_ICON[warning.tier])
        for warning in escalation_warnings(record.escalations, settings)
    ]


def translation_for(
    language: str, plan: Plan, library: Library, settings: Settings, translate: Translate
) -> Translated | None:
    """The edited plan in the patient's language (None for English or a language without a catalogue)."""
    if language == "en":
        return None
    return translate(plan, library, language, placeholder_values(settings))


def plan_for(
    record: services.PatientRecord,
    library: Library,
    settings: Settings,
    clinician_name: str,
    start_bout_min: float | None = None,
) -> Plan:
    """The patient's plan from their visits and open escalations (ValueError when it cannot be built)."""
    return build_plan(
        record.patient,
        record.visits,
        library,
        settings=settings,
        clinician_name=clinician_name,
        start_bout_min=start_bout_min,
        escalations=record.escalations,
    )


def checked_start_bout(minutes: float | None) -> tuple[float | None, str | None]:
    """The starting walk length typed (minutes), or None with the message when it is out of range."""
    if minutes is not None and not START_BOUT_MIN <= minutes <= START_BOUT_MAX:
        return None, (
            f"Starting walk length (minutes) must be between {START_BOUT_MIN:g} and {START_BOUT_MAX:g}."
        )
    return (float(minutes) if minutes else None), None


def item_caption(item: PlanItem, *, always: bool) -> str:
    """The words under an item's checkbox: a long title in full, "always printed", the text, the bullets."""
    lead = f"**{md_escape(item.title)}**. " if len(item.title) > LONG_TITLE else ""
    lead += "Always printed (clinical-reference §6). " if always else ""
    return "\n".join([lead + item.text, *(f"- {line}" for line in item.bullets)])


def programme_height(weeks: int) -> int:
    """Pixels that show every week of the programme table without an inner scroll bar."""
    return 35 * (weeks + 1) + 3


def edited_plan(
    plan: Plan,
    sections: Mapping[AdviceSection, Sequence[PlanItem]],
    exercises: Sequence[PlanExercise],
    note: str,
) -> tuple[Plan | None, list[str]]:
    """The plan as the clinician left it (items kept, doses, note), or None with a message per field."""
    try:
        edited = Plan.model_validate(
            {
                **plan.model_dump(),
                "sections": {key: [item.model_dump() for item in kept] for key, kept in sections.items()},
                "exercises": [exercise.model_dump() for exercise in exercises],
                "personal_note": note.strip(),
            }
        )
    except ValidationError as exc:
        errors = field_errors(exc)
        return None, [error_message(field, message, PLAN_LABELS) for field, message in errors.items()]
    return edited, []


def note_warning(note: str) -> str | None:
    """The warning for a personal note that names something the plan must never recommend (§8.7)."""
    if not (hits := never_recommend_hits(note)):
        return None
    return (
        "The note mentions something the plan should never recommend: "
        + ", ".join(hits)
        + ". Reword it unless you are advising against it."
    )


def handout_file_name(plan_date: dt.date) -> str:
    """The handout's file name, dated with the plan (clinic date)."""
    return f"stride-plan-{plan_date:%Y-%m-%d}.pdf"


def given_file_name(row: Mapping[str, str]) -> str:
    """A stored handout's file name: the day it was given and the start of its hash."""
    return f"stride-plan-{row['date']}-{row['sha256'][:8]}.pdf"


def give_handout(
    store: Store,
    user: User,
    patient_id: str,
    choice: HandoutChoice,
    render: Render,
    *,
    large_print: bool,
    rule_set_version: str,
    library_version: str,
) -> bytes:
    """The handout PDF, rendered at the click and stored with its plan JSON and provenance (audited)."""
    pdf = render(choice.plan, **choice.render_options(large_print=large_print))
    services.record_handout(
        store,
        user,
        patient_id,
        pdf=pdf,
        plan=choice.stored_plan(),
        rule_set_version=rule_set_version,
        library_version=library_version,
    )
    return pdf


def web_file_name(plan_date: dt.date) -> str:
    """The web version's file name, dated with the plan (clinic date)."""
    return f"stride-plan-{plan_date:%Y-%m-%d}.html"


def web_copy(store: Store, user: User, patient_id: str, page: str) -> bytes:
    """The web version's bytes (UTF-8) at the click; the copy is audited like any export."""
    services.record_export(store, user, "handout_web", patient_id=patient_id)
    return page.encode("utf-8")


def stored_copy(store: Store, user: User, patient_id: str, pdf: bytes) -> bytes:
    """A stored handout's bytes exactly as given; the copy is audited like any export."""
    services.record_export(store, user, "handout_copy", patient_id=patient_id)
    return pdf


def handouts_after_click(
    load: Callable[[], list[Handout]], handouts: list[Handout], shown_before: int, downloaded: bool
) -> tuple[list[Handout], bool]:
    """The handouts to list after this run, and whether the one just given is still being recorded."""
    if downloaded and len(handouts) <= shown_before:
        handouts = wait_for_new_handout(load, handouts, shown_before)
        return handouts, len(handouts) <= shown_before
    return handouts, False


def wait_for_new_handout(
    load: Callable[[], list[Handout]],
    handouts: list[Handout],
    shown_before: int,
    *,
    seconds: float = RECORDING_WAIT_S,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> list[Handout]:
    """The patient's handouts once more than `shown_before` are stored, or after `seconds` as they are.

    The PDF is rendered and recorded on another thread while the page reruns after the click, so the
    page waits briefly for it rather than list the handouts without the one just given.
    """
    deadline = clock() + seconds
    while len(handouts) <= shown_before and clock() < deadline:
        sleep(RECORDING_POLL_S)
        try:
            handouts = load()
        except StrideError:
            break
    return handouts
