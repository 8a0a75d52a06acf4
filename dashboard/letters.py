"""The letters of an episode of care (clinical-reference §13), as plain content for reports/letters.py.

A referral letter comes from one red-flag event (the escalations one screening raised) and goes to the
GP, a spinal team or the emergency department; a discharge summary goes to the GP when an episode ends.
Both are written here in plain clinical English from stored records only; outcome judgements are
`judge_change`'s (through `episode_outcome`), never a second opinion of this module.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from dashboard.catalogue import TIERS, WALK_METRICS, WALK_PROTOCOLS
from dashboard.config import Settings
from dashboard.episodes import DISCHARGE_REASONS, EpisodeOutcome, measure_value
from dashboard.models import CLOSE_ACTIONS, RISK_FIELDS, SCREENING_FIELDS, Episode, Escalation, Patient, Visit
from dashboard.outcomes import MEASURES, judge_change
from dashboard.page_text import OUTCOME_UNITS, local_datetime, local_time, number
from dashboard.ports import Letter
from dashboard.presenters import DECISION_SUPPORT, FIELD_LABELS
from dashboard.trends import JUDGEMENT_TEXT
from dashboard.walking import chronological, comparable_walks

LetterKind = Literal["referral", "discharge_summary"]
LETTER_KINDS: dict[str, str] = {"referral": "Referral letter", "discharge_summary": "Discharge summary"}
# Who a referral letter from an escalation may go to (§13).
RECIPIENTS: dict[str, str] = {
    "gp": "GP",
    "spinal_team": "Spinal team",
    "emergency_department": "Emergency department",
}
# The close action a referral letter records: to the emergency department, "sent to ED"; otherwise an
# urgent referral (§13: "urgent referral" with the letter as its evidence).
CLOSE_ACTION_OF_RECIPIENT: dict[str, str] = {
    "gp": "urgent_referral",
    "spinal_team": "urgent_referral",
    "emergency_department": "sent_to_ed",
}
# Rules whose letter states the emergency pathway for suspected cauda equina syndrome (§13).
CES_RULES: frozenset[str] = frozenset({"RF_CES"})
CES_PATHWAY = (
    "Suspected cauda equina syndrome: emergency pathway. Please assess today. The national pathway "
    "asks for an emergency MRI within 4 hours of the request and a same-day spinal opinion "
    "(GIRFT national CES pathway, 2023)."
)
TOLD_MAX = 1000  # characters: what the patient was told, in the letter and the audit trail
RISK_WORDS: dict[str, str] = {
    "history_of_cancer": "History of cancer",
    "osteoporosis": "Osteoporosis",
    "prolonged_corticosteroids": "Prolonged corticosteroid use",
    "immunosuppressed": "Immunosuppressed",
    "iv_drug_use": "Intravenous drug use",
    "smoker": "Smoker",
}
_ANSWER_WORDS: dict[object, str] = {
    True: "yes",
    False: "no",
    "none": "no",
    "new": "new",
    "worsening": "worsening",
    "chronic_stable": "long-standing, unchanged",
    "stable": "stable",
    "progressive": "getting worse",
    "minor": "minor",
    "major": "major",
}
RE_REFERRAL_ADVICE = (
    "Please re-refer if walking tolerance or pain worsens again, or if new leg symptoms appear. "
    "A re-referral within 12 weeks is read against this episode's last visit.",
    "Send the patient to the emergency department at once with new saddle numbness, a new change in "
    "bladder or bowel control, or new weakness in the legs.",
)


@dataclass(frozen=True)
class LetterSection:
    """One headed part of a letter: lines of text, and optionally a small table (first row: headings)."""

    heading: str
    lines: tuple[str, ...] = ()
    table: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True)
class ChartSeries:
    """One measure over the visits of the episode, for the letter's small chart."""

    label: str
    unit: str
    scale_max: float  # the measure's scale runs from 0 to this
    points: tuple[tuple[dt.date, float], ...]


@dataclass(frozen=True)
class LetterContent:
    """Everything a letter prints: letterhead, addressee, patient, sections, chart and sender."""

    kind: LetterKind
    title: str
    recipient: str  # a RECIPIENTS key
    letter_date: dt.date
    clinic_name: str
    clinic_address: str
    clinic_phone: str
    patient_name: str
    patient_ref: str
    birth_date: dt.date
    sender: str
    sections: tuple[LetterSection, ...]
    banner: str = ""  # printed boxed under the title (the CES emergency pathway)
    chart: tuple[ChartSeries, ...] = ()
    footer: str = DECISION_SUPPORT

    def texts(self) -> list[str]:
        """Every text the letter prints (for checking that the fonts can draw it)."""
        texts = [
            self.title,
            self.banner,
            self.clinic_name,
            self.clinic_address,
            self.patient_name,
            self.sender,
        ]
        for section in self.sections:
            texts += [section.heading, *section.lines, *(cell for row in section.table for cell in row)]
        return texts

    def as_json(self) -> dict[str, Any]:
        """The content as stored beside the PDF (dates as ISO text)."""
        return {
            "kind": self.kind,
            "title": self.title,
            "recipient": self.recipient,
            "letter_date": self.letter_date.isoformat(),
            "patient_ref": self.patient_ref,
            "sender": self.sender,
            "banner": self.banner,
            "sections": [
                {"heading": s.heading, "lines": list(s.lines), "table": [list(r) for r in s.table]}
                for s in self.sections
            ],
        }


def day(value: dt.date | None) -> str:
    """'3 Feb 2025' as letters print a date; a dash when missing."""
    return f"{value.day} {value:%b %Y}" if value else "–"


def moment(value: dt.datetime | None, tz_name: str) -> str:
    """'3 Feb 2025, 09:14' in the clinic's time zone; a dash when missing."""
    if value is None:
        return "–"
    local = local_datetime(value, tz_name)
    return f"{day(local.date())}, {local:%H:%M}"


def answer_words(value: object) -> str:
    """A screening answer in words; "not asked" when it was left unanswered."""
    return "not asked" if value is None else _ANSWER_WORDS.get(value, str(value).replace("_", " "))


def judgement_words(label: str) -> str:
    """judge_change's label in the change table's words, without its symbol."""
    return JUDGEMENT_TEXT.get(label, label).split(" ", 1)[-1]


def _header(
    kind: LetterKind, title: str, recipient: str, patient: Patient, settings: Settings
) -> dict[str, Any]:
    return {
        "kind": kind,
        "title": title,
        "recipient": recipient,
        "clinic_name": settings.clinic_name,
        "clinic_address": settings.clinic_address,
        "clinic_phone": settings.clinic_phone,
        "patient_name": patient.display_name,
        "patient_ref": patient.patient_ref,
        "birth_date": patient.birth_date,
    }


def _who(patient: Patient) -> str:
    return f"{patient.display_name} (ref {patient.patient_ref}, born {day(patient.birth_date)})"


def _history(patient: Patient, episode: Episode | None, on: dt.date) -> LetterSection:
    risks = [RISK_WORDS[name] for name in RISK_FIELDS if getattr(patient, name)]
    onset = episode.symptom_onset if episode else patient.symptom_onset
    lines = [
        f"{patient.age_years(on)} years old; symptoms of this episode since {day(onset)}.",
        "Risk factors recorded: " + (", ".join(risks) if risks else "none recorded") + ".",
    ]
    return LetterSection("Relevant history and risk factors", tuple(lines))


def _screening_section(latest: Visit | None) -> LetterSection:
    if latest is None:
        return LetterSection("Latest neurology and screening", ("No visit is recorded in this episode.",))
    rows = [("Question", "Answer")]
    unasked = []
    for name in SCREENING_FIELDS:
        value = getattr(latest, name)
        if value is None:
            unasked.append(FIELD_LABELS.get(name, name))
            continue
        answer = answer_words(value)
        if name == "leg_weakness" and latest.leg_weakness_mrc is not None:
            answer += f" (MRC {latest.leg_weakness_mrc}/5)"
        rows.append((FIELD_LABELS.get(name, name), answer))
    if latest.temperature_c is not None:
        rows.append(("Temperature", f"{number(latest.temperature_c)} °C"))
    lines = (
        f"Recorded at the visit of {day(latest.visit_date)}.",
        # What was not asked is said, never left to look like a "no" (§13).
        "Not asked: " + ("; ".join(unasked) if unasked else "nothing; every question was answered") + ".",
    )
    return LetterSection("Latest neurology and screening", lines, tuple(rows) if len(rows) > 1 else ())


def referral_letter(
    patient: Patient,
    escalations: Sequence[Escalation],
    visits: Sequence[Visit],
    *,
    episode: Episode | None,
    recipient: str,
    told: str,
    told_at: dt.datetime,
    sender: str,
    settings: Settings,
    letter_date: dt.date,
) -> LetterContent:
    """The referral letter for one red-flag event (§13), most urgent rule first; `visits` are the
    current episode's (the latest one gives the neurology and screening answers)."""
    lead = escalations[0]
    ces = any(e.rule_id in CES_RULES for e in escalations)
    what = "suspected cauda equina syndrome" if ces else lead.reason.split(":", 1)[0]
    title = f"{'Emergency' if lead.tier == 'EMERGENCY' else 'Urgent'} referral: {what}"
    reasons = [
        f"{e.rule_id} ({TIERS[e.tier].words}): {e.reason}. Recommended action: {e.action}. "
        f"Timeframe: {e.timeframe}."
        for e in escalations
    ]
    opened = [e.opened_at for e in escalations if e.opened_at is not None]
    if opened:
        reasons.append(f"Raised by Stride's screening on {moment(min(opened), settings.timezone)}.")
    latest = chronological(visits)[-1] if visits else None
    sections = (
        LetterSection(
            f"Dear colleague ({RECIPIENTS[recipient]})",
            (f"I am referring {_who(patient)} for {what}.",),
        ),
        LetterSection("Reason for referral", tuple(reasons)),
        _history(patient, episode, letter_date),
        _screening_section(latest),
        LetterSection(
            "What the patient was told",
            (told.strip(), f"Told on {moment(told_at, settings.timezone)}."),
        ),
        LetterSection("Timeframe", (f"{TIERS[lead.tier].words}: {lead.timeframe}.",)),
        LetterSection("From", (sender, settings.clinic_name, f"Telephone {settings.clinic_phone}")),
    )
    return LetterContent(
        **_header("referral", title, recipient, patient, settings),
        letter_date=letter_date,
        sender=sender,
        sections=sections,
        banner=CES_PATHWAY if ces else "",
    )


def _outcome_table(outcome: EpisodeOutcome) -> tuple[tuple[str, ...], ...]:
    rows: list[tuple[str, ...]] = [("Measure", "Baseline", "Final", "Judgement")]
    for measure, result in outcome.measures.items():
        if result.baseline is None:
            continue
        unit = OUTCOME_UNITS[measure]
        first = f"{number(result.baseline)}{unit} ({day(result.baseline_date)})"
        if not result.complete or result.label is None:
            rows.append((MEASURES[measure].label, first, "no later value", "not judged"))
            continue
        rows.append(
            (
                MEASURES[measure].label,
                first,
                f"{number(result.final)}{unit} ({day(result.final_date)})",
                judgement_words(result.label),
            )
        )
    return tuple(rows) if len(rows) > 1 else ()


def walking_lines(visits: Iterable[Visit]) -> list[str]:
    """Walking tolerance per protocol and metric: first and last counting walk, judged where an MCID
    exists, never mixed across protocols (§7.8)."""
    ordered = chronological(visits)
    lines = []
    for measure, metric in WALK_METRICS.items():
        series = comparable_walks(ordered, measure)
        if series is None:
            continue
        short = WALK_PROTOCOLS[series.protocol].short_name
        name = metric.label if short in metric.label else f"{short}, {metric.label}"
        values, records = series.values, series.records
        first = f"{number(values[0])} {metric.unit} ({day(records[0].visit_date)})"
        if len(values) < 2:
            lines.append(f"{name}: {first}; one walk only.")
            continue
        last = f"{number(values[-1])} {metric.unit} ({day(records[-1].visit_date)})"
        judged = judge_change(measure, values[0], values[-1]) if metric.has_mcid else None
        words = judgement_words(judged.label) if judged else "shown without a judgement (no confirmed MCID)"
        lines.append(f"{name}: {first} → {last}: {words}.")
    return lines or ["No walking test counted in this episode."]


def _flag_lines(escalations: Sequence[Escalation], tz: str) -> list[str]:
    lines = []
    for e in escalations:
        opened = moment(e.opened_at, tz)
        if e.status == "open":
            lines.append(f"STILL OPEN: {e.rule_id} ({TIERS[e.tier].words}), raised {opened}: {e.reason}.")
            continue
        action = CLOSE_ACTIONS.get(e.close_action or "", e.close_action or "")
        detail = f" ({e.close_detail})" if e.close_detail else ""
        lines.append(
            f"{e.rule_id} ({TIERS[e.tier].words}), raised {opened}: {e.reason}. Closed "
            f"{moment(e.closed_at, tz)}: {action}{detail}."
        )
    return lines or ["No red flag was raised in this episode."]


def chart_series(visits: Iterable[Visit]) -> tuple[ChartSeries, ...]:
    """Pain (0–10) and ODI (0–100 %) at each visit of the episode, for the letter's small chart."""
    ordered = chronological(visits)
    series = []
    for measure, scale in (("pain_nrs", 10.0), ("odi_percent", 100.0)):
        points = tuple(
            (v.visit_date, value) for v in ordered if (value := measure_value(measure, v)) is not None
        )
        if points:
            unit = "%" if measure == "odi_percent" else "0–10"
            series.append(ChartSeries(MEASURES[measure].label, unit, scale, points))
    return tuple(series)


@dataclass(frozen=True)
class LastPlan:
    """The last handout given in the episode: when and its hash."""

    given_on: dt.date
    sha256: str


def discharge_summary(
    patient: Patient,
    episode: Episode,
    visits: Sequence[Visit],
    outcome: EpisodeOutcome,
    escalations: Sequence[Escalation],
    *,
    last_plan: LastPlan | None,
    sender: str,
    settings: Settings,
    letter_date: dt.date,
) -> LetterContent:
    """The discharge summary to the GP (§13): dates, reason, outcomes judged as in §11.2, walking per
    protocol, red flags and their closure (every one still open listed), the last plan, re-referral."""
    ordered = chronological(visits)
    first = ordered[0].visit_date if ordered else None
    reason = DISCHARGE_REASONS.get(episode.discharge_reason or "", "").split(" (")[0]
    dates = [
        f"First assessment {day(episode.referral_date or first)}; discharged {day(episode.discharge_date)}; "
        f"{len(ordered)} visit{'s' if len(ordered) != 1 else ''}.",
        f"Reason for discharge: {reason}." + (f" {episode.discharge_note}" if episode.discharge_note else ""),
    ]
    table = _outcome_table(outcome)
    outcome_lines = (
        (
            "Baseline is the first value of the episode; final is the last one from a later visit. "
            "Judgements use the measure's minimal clinically important difference.",
        )
        if table
        else ("No outcome measure was recorded in this episode.",)
    )
    plan = (
        f"Last plan given on {day(last_plan.given_on)} (SHA-256 {last_plan.sha256})."
        if last_plan
        else "No written plan was given in this episode."
    )
    sections = (
        LetterSection(
            "Dear colleague (GP)",
            (
                f"{_who(patient)} has been discharged from physiotherapy for low back pain. "
                "A summary of the episode follows.",
            ),
        ),
        LetterSection("Episode", tuple(dates)),
        LetterSection("Outcome measures", outcome_lines, table),
        LetterSection("Walking tolerance", tuple(walking_lines(ordered))),
        LetterSection("Red flags", tuple(_flag_lines(escalations, settings.timezone))),
        LetterSection("Plan given", (plan,)),
        LetterSection("Re-referral", RE_REFERRAL_ADVICE),
        LetterSection("From", (sender, settings.clinic_name, f"Telephone {settings.clinic_phone}")),
    )
    return LetterContent(
        **_header("discharge_summary", "Discharge summary", "gp", patient, settings),
        letter_date=letter_date,
        sender=sender,
        sections=sections,
        chart=chart_series(ordered),
    )


def referral_problems(
    recipient: str | None, told: str, told_at: dt.datetime | None, now: dt.datetime
) -> dict[str, str]:
    """Field messages for a referral letter's request; empty when it can be written."""
    errors: dict[str, str] = {}
    if recipient not in RECIPIENTS:
        errors["recipient"] = "Choose who the letter goes to."
    if not told.strip():
        errors["told"] = "Say what the patient was told (the safety-netting advice given)."
    elif len(told) > TOLD_MAX:
        errors["told"] = (
            f"What the patient was told can hold at most {TOLD_MAX:,} characters (you entered {len(told):,})."
        )
    if told_at is None:
        errors["told_at"] = "Give the date and time the patient was told."
    elif told_at > now:
        errors["told_at"] = "The time the patient was told must not be in the future."
    return errors


def letter_line(letter: Letter, tz_name: str) -> str:
    """'Discharge summary · GP · 12 Mar 2026, 09:14 · sha256 0a1b2c3d4e5f' (plain text, for a list)."""
    kind = LETTER_KINDS.get(letter.kind, letter.kind)
    to = RECIPIENTS.get(letter.recipient, letter.recipient)
    return f"{kind} · {to} · {local_time(letter.recorded_at, tz_name)} · sha256 {letter.sha256[:12]}"


def letter_file_name(letter: Letter, tz_name: str) -> str:
    """A download name without patient data: the kind, the date given and the start of the hash."""
    given = local_datetime(letter.recorded_at, tz_name)
    return f"stride-{letter.kind.replace('_', '-')}-{given:%Y-%m-%d}-{letter.sha256[:8]}.pdf"
