"""What the Progress page shows and offers beside its widgets: the record it opens (audited once per
patient per session), the flash texts after an action, a refusal in sentences, the episode's outcome
and notes in words, the red-flag banner (marked when the screening is the patient's own), the trend
charts, the walking diary panel, the change table and the audited downloads (FHIR bundle,
subject-access record, stored letters). Values in, values out; the page only draws them.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TypeVar

import pandas as pd

from dashboard import charts, diary_views, episode_services, page_text, services, trends
from dashboard.config import Settings
from dashboard.diary_services import patient_diary
from dashboard.downloads import FHIR_JSON, PDF, ZIP, Download
from dashboard.episodes import DISCHARGE_NEEDS_REASON_TIERS, episode_outcome
from dashboard.models import Episode, Escalation, Patient, Screening, Visit
from dashboard.page_keys import Progress as Keys
from dashboard.patient_services import PatientRecord
from dashboard.ports import InvalidInputError, Store, StrideError, User
from dashboard.presenters import DECISION_SUPPORT, Banner, screening_banner
from dashboard.safe_text import md_escape

T = TypeVar("T")

DISCHARGED: Final = "Discharged. The episode's outcome is below."
RE_REFERRED: Final = "New episode opened: the next visit is its baseline."
SUMMARY_WRITTEN: Final = "Discharge summary written: download it from the episode's letters."
NO_OUTCOME: Final = "No measure has a baseline and a later value in this episode."
RESCREEN_HELP: Final = (
    "Run the current red-flag rules again on this patient's visits (e.g. after the rules changed)."
)
ONE_VISIT: Final = (
    "Only one visit so far: the charts show it as a single point. Change over time needs at least two visits."
)
NO_WALKING_TEST: Final = (
    "No walking test recorded yet. Record a walking test at the next visit to chart walking tolerance."
)
TRENDS_CAPTION: Final = (
    "Dotted line: the first value (baseline). Shaded band: change smaller than the minimal clinically "
    "important difference. Vertical lines: ⚑ red flag opened, ✎ handout given."
)
CHANGE_CAPTION: Final = (
    "Judgements compare the latest value with the first one. Walking results are compared only within "
    "one protocol."
)
PATIENT_REPORTED: Final = "patient-reported, provisional"
PROVISIONAL_CAPTION: Final = (
    "This screening ran on the patient's own answers (check-in or walking diary), not at a visit: ask the "
    "questions in person; the next visit screens again."
)
# The episode forms' labels, also naming a refused field in its message.
EPISODE_LABELS: Final[dict[str, str]] = {
    "discharge_date": "Discharge date",
    "discharge_reason": "Reason",
    "discharge_note": "Note",
    "override_reason": "Why discharge with the escalation open",
    "symptom_onset": "Onset of the new episode",
    "referral_date": "Referral date",
}

FHIR_BUNDLE = Download(
    "Download FHIR R4 bundle (JSON)",
    FHIR_JSON,
    help="A FHIR R4 collection bundle of this episode, without names. The export is audited.",
)
SUBJECT_ACCESS = Download(
    "Download the patient's whole record (subject-access request)",
    ZIP,
    help="JSON of every visit, revision, screening and escalation, plus the handouts. Contains names.",
)
LETTER_COPY = Download("PDF", PDF, help="The stored letter, exactly as it was given.")


def attempt(
    act: Callable[[], T], flash: str | Callable[[T], str], labels: Mapping[str, str] | None = None
) -> tuple[str | None, list[str]]:
    """Run a use case: the flash to show after it (`flash` itself, or made from its result) and no
    refusal, or None and the refusal as sentences (unescaped).

    With `labels`, a field's message is prefixed by the field's label ("Reason: choose ..."); without,
    each message stands alone.
    """
    try:
        result = act()
    except InvalidInputError as exc:
        if labels is None:
            return None, list(exc.errors.values())
        return None, [m if f == "_" else f"{labels.get(f, f)}: {m}" for f, m in exc.errors.items()]
    except StrideError as exc:
        return None, [str(exc)]
    return (flash if isinstance(flash, str) else flash(result)), []


def rescreen_flash(screening: Screening) -> str:
    """The confirmation after a re-screen, naming the urgency it found in words."""
    return f"Re-screened with the current rules: {screening.urgency.replace('_', ' ').lower()}."


def banner_headline(banner: Banner, screening: Screening) -> str:
    """The red-flag banner's first line (Markdown): icon and tier in words, and 'patient-reported,
    provisional' when the patient's own answers raised it (clinical-reference §12.2)."""
    headline = f"{banner.icon} **{banner.headline}**"
    return f"{headline} · *{PATIENT_REPORTED}*" if screening.source == "patient" else headline


def visits_caption(patient: Patient, n_visits: int) -> str:
    """'Symptoms since 6 Jan 2025 · 3 visits' under the patient's name."""
    visits = f"{n_visits} visit{'s' if n_visits != 1 else ''}"
    return f"Symptoms since {page_text.day(patient.symptom_onset)} · {visits}"


def discharge_needs_override(escalations: Iterable[Escalation]) -> bool:
    """Whether an urgent or emergency escalation is still open: a discharge then needs a reason (§11.1)."""
    return any(e.status == "open" and e.tier in DISCHARGE_NEEDS_REASON_TIERS for e in escalations)


def outcome_lines(patient: Patient, episode: Episode, visits: list[Visit]) -> list[str]:
    """The episode's outcome, one line per measure judged by judge_change (a sentence when none is)."""
    return page_text.episode_outcome_lines(episode_outcome(patient, episode, visits)) or [NO_OUTCOME]


def visit_notes(visits: Sequence[Visit]) -> list[str]:
    """Each visit's note, newest first, as Markdown: the date in bold, the note escaped, its line breaks
    kept."""
    noted = [(v.visit_date, v.notes) for v in visits if v.notes.strip() and not v.archived]
    return [
        f"**{day:%d %b %Y}**  \n" + "  \n".join(md_escape(line) for line in note.splitlines())
        for day, note in reversed(noted)
    ]


def fhir_bundle_json(store: Store, user: User, patient_id: str, settings: Settings) -> str:
    """The current episode as a FHIR R4 bundle in JSON; audited before any data leaves (run at the click)."""
    bundle = episode_services.episode_bundle(
        store, user, patient_id, codesystem_url=settings.fhir_codesystem_url
    )
    return json.dumps(bundle, indent=2, ensure_ascii=False)


def subject_access_zip(store: Store, user: User, export: Callable[[Path], object]) -> bytes:
    """The whole record (with names) and the handouts as a zip, for a subject-access request; `export`
    writes it to the path given (and audits it) once the user's right to export is checked."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "record.zip"
        services.require(store, user, "export_patient")
        export(path)
        return path.read_bytes()


def letter_copy(store: Store, user: User, patient_id: str, pdf: bytes) -> bytes:
    """A stored letter's PDF exactly as it was given; the copy is audited."""
    services.record_export(store, user, "letter_copy", patient_id=patient_id)
    return pdf


def open_record(store: Store, user: User, patient_id: str, state: MutableMapping[Any, Any]) -> PatientRecord:
    """The patient's record; opening it is audited once per patient per session, not on every rerun."""
    record = services.open_patient(store, user, patient_id, audit=state.get(Keys.AUDITED) != patient_id)
    state[Keys.AUDITED] = patient_id
    return record


@dataclass(frozen=True)
class BannerView:
    """The red-flag banner as the page draws it (Markdown throughout, stored text escaped)."""

    level: str  # st.error, st.warning, st.info or st.success
    headline: str
    provisional: bool  # the patient's own answers raised it: PROVISIONAL_CAPTION under the headline
    lines: list[str]
    ask_now: str | None
    captions: list[str]  # the banner's notes, then the decision-support line with the rule set


def banner_view(screening: Screening) -> BannerView:
    """The latest screening's banner: tier, fired rules, the questions not asked, its notes."""
    banner = screening_banner(screening)
    asks = "\n".join(f"- {md_escape(q)}" for q in banner.ask_now)
    return BannerView(
        banner.level,
        banner_headline(banner, screening),
        screening.source == "patient",
        banner.lines,
        f"**Ask now** (not asked at the latest visit):\n{asks}" if banner.ask_now else None,
        [
            *(md_escape(note) for note in banner.notes),
            f"{DECISION_SUPPORT} Rule set {md_escape(banner.rule_set_version)}.",
        ],
    )


@dataclass(frozen=True)
class Trends:
    """The Trends section: its notes (one visit, several walking protocols, no walking test yet) and
    the charts, one per row, each with its key suffix and the words a screen reader reads."""

    notes: list[tuple[str, str | None]]  # (text, icon)
    figures: list[tuple[str, Any, str]]


def trend_charts(record: PatientRecord, tz_name: str) -> Trends:
    """The current episode's charts, with the escalations and handouts on their time axis."""
    frame = trends.visit_frame(record.visits)
    events = page_text.chart_events(record.escalations, record.handouts, tz_name)
    notes: list[tuple[str, str | None]] = [(ONE_VISIT, None)] if len(frame) == 1 else []
    if walk_note := trends.protocol_note(record.visits):
        notes.append((walk_note, "🚶"))
    walking = charts.walking_chart(frame, events)
    figures = [
        ("pain", charts.pain_chart(frame, events), "Pain scores over time"),
        ("walking", walking, "Walking tolerance over time, one panel per protocol"),
        ("odi", charts.odi_chart(frame, events), "Oswestry Disability Index over time"),
        ("disability", charts.disability_chart(frame, events), "RMDQ and ZCQ scores over time"),
        ("psfs", charts.psfs_chart(frame, events), "Patient-Specific Functional Scale over time"),
        ("startback", charts.startback_strip(frame, events), "STarT Back risk group per visit"),
    ]
    return Trends(notes, [(name, fig, alt) for name, fig, alt in figures if fig is not None])


@dataclass(frozen=True)
class DiaryPanel:
    """The walking diary the patient keeps between visits (§12.3), as the page draws it."""

    caption: str
    warning: str | None  # two red walks in a row
    chart: Any
    rows: list[dict[str, str]]


DIARY_ALT: Final = (
    "Walking diary: minutes walked per day and pain during the walk, with each walk's traffic light"
)


def diary_panel(store: Store, user: User, patient_id: str, settings: Settings) -> DiaryPanel | None:
    """The current episode's diary panel, None when the patient has written no walk yet."""
    diary = patient_diary(store, user, patient_id, settings=settings)
    if not diary.days:
        return None
    return DiaryPanel(
        diary_views.caption(diary.thresholds),
        diary_views.not_settling_line(diary),
        charts.diary_chart(diary.days, diary.thresholds),
        diary_views.diary_rows(diary.days, diary.thresholds),
    )


# A narrower measure column keeps the judgement in view without scrolling sideways at 1280 px.
CHANGE_WIDTHS: Final = {"Measure": 220, "Judgement (first → latest)": 260}


def change_frame(visits: Sequence[Visit]) -> pd.DataFrame | None:
    """The first / previous / latest table of the current episode, None before any outcome measure."""
    rows = trends.change_table(list(visits))
    return page_text.change_table_frame(rows) if rows else None


def export_names(patient_id: str) -> tuple[str, str]:
    """The FHIR bundle's and the subject-access zip's file names: the opaque id's start, never a name."""
    return f"stride-fhir-{patient_id[:8]}.json", f"stride-record-{patient_id[:8]}.zip"
