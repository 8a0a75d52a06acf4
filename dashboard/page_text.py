"""Words, tables and labels the pages show: pure formatting of domain results (no streamlit, no rules).

Everything here turns already-computed values into display text or display tables, so the page
scripts stay thin (read widgets, call a service, render) and the formatting can be unit-tested.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd

from dashboard.catalogue import TIERS, WALK_METRICS, WALK_PROTOCOLS
from dashboard.episodes import DISCHARGE_REASONS, OUTCOME_MEASURES, EpisodeOutcome
from dashboard.models import Episode, Escalation
from dashboard.outcomes import MEASURES
from dashboard.plan import ADVICE_SECTIONS, SECTION_HEADINGS, Plan
from dashboard.ports import AuditEntry, Handout, User
from dashboard.safe_text import csv_cell, md_escape
from dashboard.trends import JUDGEMENT_TEXT, OPEN_WITHOUT_IMPROVEMENT_WEEKS, ChangeRow

NOT_RECORDED = "—"
# The calendar range of every date input (passed as its min and max). Left unset, Streamlit offers only
# ten years either side of the initial value and drops any other date in the browser; this range lets
# every date reach the server, which refuses a future or implausible one with a field message (issue 19).
ANY_DATE: tuple[dt.date, dt.date] = (dt.date(1000, 1, 1), dt.date(9999, 12, 31))
# Short tier words with an icon (never colour alone).
TIER_SHORT: dict[str, str] = {t.id: f"{t.icon} {t.short_words}" if t.rank else "–" for t in TIERS.values()}
# Short protocol names for narrow table columns.
PROTOCOL_SHORT: dict[str, str] = {p.id: p.short_name for p in WALK_PROTOCOLS.values()}
TIERS_MOST_URGENT_FIRST: tuple[str, ...] = tuple(
    t.id for t in sorted(TIERS.values(), key=lambda t: -t.rank) if t.rank
)


# --- time ----------------------------------------------------------------------------------------


def _zone(tz_name: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_datetime(value: dt.datetime, tz_name: str) -> dt.datetime:
    """A stored UTC timestamp in the clinic's time zone (naive timestamps are taken as UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(_zone(tz_name))


def local_time(value: dt.datetime | None, tz_name: str) -> str:
    """'12 Mar 2026, 09:14' in the clinic's time zone; a dash when missing."""
    if value is None:
        return NOT_RECORDED
    return f"{local_datetime(value, tz_name):%d %b %Y, %H:%M}"


def day(value: dt.date | None) -> str:
    """'12 Mar 2026'; a dash when missing."""
    return f"{value:%d %b %Y}" if value else NOT_RECORDED


def days_ago(value: dt.datetime | None, now: dt.datetime) -> str:
    """'today', '1 day ago', '5 days ago'."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    days = max(0, (now - value).days)
    return "today" if days == 0 else f"{days} day{'s' if days != 1 else ''} ago"


# --- progress ------------------------------------------------------------------------------------


def patient_header(name: str, ref: str, age: int | None) -> str:
    """'Ana Silva · ref R-0001 · 57 years' (markdown-safe: the page renders it as plain text)."""
    parts = [name, f"ref {ref}"]
    if age is not None:
        parts.append(f"{age} years")
    return " · ".join(parts)


def chart_events(
    escalations: Iterable[Escalation], handouts: Iterable[Handout], tz_name: str
) -> list[tuple[dt.date, str, str]]:
    """Events for the charts' time axis: red-flag escalations (opened) and handouts, as clinic dates."""
    events: list[tuple[dt.date, str, str]] = []
    for esc in escalations:
        if esc.opened_at is not None:
            events.append((local_datetime(esc.opened_at, tz_name).date(), "red_flag", esc.rule_id))
    for handout in handouts:
        events.append((local_datetime(handout.recorded_at, tz_name).date(), "handout", ""))
    return sorted(events, key=lambda event: event[0])


def number(value: float | None, *, signed: bool = False) -> str:
    """One decimal place at most ('4', '4.5'); signed adds '+' (and a true minus) for changes."""
    if value is None or pd.isna(value):
        return NOT_RECORDED
    text = f"{round(float(value), 1):g}"
    if text == "-0":
        text = "0"
    if signed:
        if text.startswith("-"):
            return "−" + text[1:]
        return text if text == "0" else "+" + text
    return text


def _value_on(value: float | None, on: dt.date | None) -> str:
    if value is None:
        return NOT_RECORDED
    return f"{number(value)} ({day(on)})"


# Judgement sits next to the change it judges, so it stays in view on narrow screens.
# The judgement comes right after the measure, so it stays in view at 1024 px (issue 19).
CHANGE_COLUMNS: tuple[str, ...] = (
    "Measure",
    "Judgement (first → latest)",
    "First",
    "Latest",
    "Change since first",
    "Previous",
    "Change since previous",
    "Criterion / note",
)


def change_table_frame(rows: Sequence[ChangeRow]) -> pd.DataFrame:
    """The first / previous / latest change table as display text, one row per measure."""
    records = [
        {
            "Measure": row.label,
            "First": _value_on(row.first_value, row.first_date),
            "Previous": _value_on(row.previous_value, row.previous_date),
            "Latest": _value_on(row.latest_value, row.latest_date),
            "Change since first": number(row.change_since_first, signed=True),
            "Change since previous": number(row.change_since_previous, signed=True),
            "Judgement (first → latest)": row.judgement_text,
            "Criterion / note": " ".join(part for part in (row.criterion, row.note) if part),
        }
        for row in rows
    ]
    return pd.DataFrame(records, columns=list(CHANGE_COLUMNS))


# --- caseload ------------------------------------------------------------------------------------

# Sort choices: label -> (columns, ascending). The first is the caseload table's own order.
CASELOAD_SORTS: dict[str, tuple[list[str], list[bool]]] = {
    "Most urgent": (
        ["tier_rank", "overdue_for_review", "not_improving", "last_visit_date"],
        [False, False, False, True],
    ),
    "Name": (["name"], [True]),
    "Patient reference": (["patient_ref"], [True]),
    "Longest since last visit": (["days_since_last_visit"], [False]),
    "Next review date": (["next_review_date"], [True]),
    "Pain change (least improved first)": (["nrs_change"], [False]),
    "Latest ODI (highest first)": (["latest_odi_percent"], [False]),
}

# The caseload's episode views: label -> filter_caseload arguments. Discharged patients leave the
# working caseload and stay one choice away (§11.1); the first is the page's default.
CASELOAD_EPISODE_VIEWS: dict[str, dict[str, Any]] = {
    "Open episodes": {"episode_status": "open"},
    f"Open > {OPEN_WITHOUT_IMPROVEMENT_WEEKS} wk, no improvement": {
        "episode_status": "open",
        "open_long_without_improvement_only": True,
    },
    "Discharged this month": {"episode_status": "discharged", "discharged_this_month_only": True},
    "Discharged": {"episode_status": "discharged"},
    "All patients": {},
}

CASELOAD_DISPLAY: dict[str, str] = {
    "flag": "Open flag",
    "name": "Name",
    "patient_ref": "Ref",
    "clinician": "Clinician",
    "latest_nrs": "Pain now (NRS)",
    "nrs_change": "Pain change (points)",
    "walking_trend": "Walking",
    "walk_protocol": "Walking test",
    "latest_odi_percent": "ODI (%)",
    "last_visit_date": "Last visit",
    "days_since_last_visit": "Days since visit",
    "next_review_date": "Next review",
    "review": "Review",
    "progress": "Progress",
    "episode": "Episode",
}


def sort_caseload(df: pd.DataFrame, choice: str) -> pd.DataFrame:
    """The table in the chosen display order (missing values last), re-indexed from 0."""
    columns, ascending = CASELOAD_SORTS.get(choice, next(iter(CASELOAD_SORTS.values())))
    return df.sort_values(columns, ascending=ascending, kind="stable", na_position="last").reset_index(
        drop=True
    )


def _plain(text: str) -> str:
    """Words without their leading icon ("⏰ Overdue" -> "Overdue"), for a spreadsheet."""
    head, _, rest = text.partition(" ")
    return rest if rest and not any(ch.isalnum() for ch in head) else ("" if text == "–" else text)


def _signed_points(change: float) -> str:
    """A change in points with its sign ("+2", "-3", "0"), or "–" when there is none yet."""
    return "–" if pd.isna(change) else "0" if round(change) == 0 else f"{change:+.0f}"


def caseload_view(df: pd.DataFrame, *, icons: bool = True) -> pd.DataFrame:
    """The caseload table as shown (words and icons) or, with icons=False, as downloaded (words only,
    numbers as numbers): no internal ids or ranks; a change from one value is "–" on screen, empty
    in the file."""
    words = (lambda text: text) if icons else _plain
    out = pd.DataFrame(index=df.index)
    out["flag"] = df["open_tier"].fillna("NONE").map(lambda tier: words(TIER_SHORT.get(str(tier), str(tier))))
    out["name"] = df["name"]
    out["patient_ref"] = df["patient_ref"]
    out["clinician"] = df["clinician"].fillna("")
    out["latest_nrs"] = df["latest_nrs"]
    if icons:
        out["nrs_change"] = df["nrs_change"].map(
            lambda c: "–" if pd.isna(c) else f"{c:+.0f}".replace("+0", "0")
        )
    else:
        out["nrs_change"] = df["nrs_change"]
    out["walking_trend"] = df["walking_trend"].map(words)
    out["walk_protocol"] = df["walk_protocol"].map(
        lambda p: PROTOCOL_SHORT.get(p, p) if isinstance(p, str) else ""
    )
    out["latest_odi_percent"] = df["latest_odi_percent"].round(1)
    out["last_visit_date"] = df["last_visit_date"].dt.date
    out["days_since_last_visit"] = df["days_since_last_visit"]
    out["next_review_date"] = df["next_review_date"].dt.date
    out["review"] = df["overdue_for_review"].map({True: words("⏰ Overdue"), False: ""})
    out["progress"] = df["not_improving"].map({True: words("▽ Not improving"), False: ""})
    out["episode"] = [
        _episode_words(status, weeks, discharged)
        for status, weeks, discharged in zip(
            df["episode_status"], df["episode_weeks"], df["discharge_date"], strict=True
        )
    ]
    return out


def _episode_words(status: str, weeks: Any, discharged: Any) -> str:
    """ "Open 14 wk" or "Discharged 3 Nov 2026" for the caseload's episode column."""
    if status == "discharged":
        return f"Discharged {discharged:%-d %b %Y}" if not pd.isna(discharged) else "Discharged"
    return f"Open {int(weeks)} wk" if not pd.isna(weeks) else "Open"


def caseload_csv(table: pd.DataFrame) -> bytes:
    """The caseload rows (a `caseload_table`, filtered and sorted) as CSV, words without icons (UTF-8
    with BOM so spreadsheet programs read accents).

    Text cells go through `csv_cell`, so a name like `=HYPERLINK(...)` stays text in a spreadsheet;
    numbers and dates are written as they are.
    """
    out = caseload_view(table, icons=False).rename(columns=CASELOAD_DISPLAY)
    for column in out.columns:
        if not pd.api.types.is_numeric_dtype(out[column]):
            out[column] = out[column].map(lambda v: csv_cell(v) if isinstance(v, str) else v)
    return out.to_csv(index=False).encode("utf-8-sig")


# --- flags ---------------------------------------------------------------------------------------


def open_flag_summary(tiers: Iterable[str]) -> str:
    """'3 open: 1 emergency, 2 urgent' (most urgent first)."""
    tiers = list(tiers)
    counts = [(tier, tiers.count(tier)) for tier in TIERS_MOST_URGENT_FIRST]
    parts = [f"{n} {tier.replace('_', ' ').lower()}" for tier, n in counts if n]
    return f"{len(tiers)} open: " + ", ".join(parts)


# --- plan ----------------------------------------------------------------------------------------


def programme_frame(plan: Plan) -> pd.DataFrame:
    """The walking programme, one row per week."""
    return pd.DataFrame(
        [
            {
                "Week": week.week,
                "Minutes a walk": number(week.bout_min),
                "Walks a day": week.bouts_per_day,
                "Days a week": week.days_per_week,
                "Minutes in the week": number(week.weekly_total_min),
            }
            for week in plan.walking_programme
        ],
        columns=["Week", "Minutes a walk", "Walks a day", "Days a week", "Minutes in the week"],
    )


def plan_markdown(plan: Plan) -> str:
    """A preview of the plan as the patient will read it (sections in print order)."""
    # First-strong isolates (U+2068 ... U+2069) keep a right-to-left name from pulling the date into
    # its run, which split the date ("3 March" on one side of the name, "2025" on the other).
    name = f"\u2068{md_escape(plan.patient_display_name)}\u2069"
    lines: list[str] = [f"**Plan for {name}** · {day(plan.plan_date)}"]
    if plan.clinician_name:
        lines.append(f"Physiotherapist: {md_escape(plan.clinician_name)}")
    order = ["core", "walking", "exercises", "posture", "footwear", "flare_up", "personal_note", "safety_net"]
    for key in order:
        block: list[str] = []
        if key == "exercises":
            for exercise in plan.exercises:
                block.append(f"- **{md_escape(exercise.name)}**: {md_escape(exercise.purpose)}")
                if exercise.dose:
                    block.append(f"  *Dose:* {md_escape(exercise.dose)}")
        elif key == "personal_note":
            if plan.personal_note.strip():
                # Line by line (md_escape makes one line), so the note keeps its line breaks.
                block.append("  \n".join(md_escape(line) for line in plan.personal_note.strip().splitlines()))
        elif key in ADVICE_SECTIONS:
            for item in plan.section(key):
                block.append(
                    f"- **{md_escape(item.title)}**" + (f": {md_escape(item.text)}" if item.text else "")
                )
                block.extend(f"  - {md_escape(line)}" for line in item.bullets)
            if key == "walking" and plan.walking_programme:
                first = plan.walking_programme[0]
                block.append(
                    f"- Start with {number(first.bout_min)} minutes a walk, "
                    f"{first.bouts_per_day} times a day, "
                    f"{first.days_per_week} days a week, and build up week by week "
                    f"({len(plan.walking_programme)} weeks planned)."
                )
        if block:
            heading = SECTION_HEADINGS[key]
            if key == "safety_net":
                heading = f"⚠️ {heading} (always printed, in a box)"
            lines.append(f"\n##### {heading}")
            lines.extend(block)
    return "\n".join(lines)


def handout_rows(handouts: Sequence[Handout], tz_name: str) -> list[dict[str, str]]:
    """Earlier handouts, newest first: date, clinician (from the stored plan), short hash."""
    rows = []
    for handout in sorted(handouts, key=lambda h: h.recorded_at, reverse=True):
        plan: Mapping[str, Any] = handout.plan or {}
        rows.append(
            {
                "id": handout.id,
                "given": local_time(handout.recorded_at, tz_name),
                "date": f"{local_datetime(handout.recorded_at, tz_name):%Y-%m-%d}",
                "clinician": str(plan.get("clinician_name") or "not recorded"),
                "sha256": handout.sha256[:12],
            }
        )
    return rows


# --- admin ---------------------------------------------------------------------------------------


def users_frame(users: Sequence[User], tz_name: str) -> pd.DataFrame:
    """Accounts as a table (no password data)."""
    return pd.DataFrame(
        [
            {
                "Username": u.username,
                "Name": u.display_name,
                "Role": u.role,
                "Status": "Active" if u.active else "Deactivated",
                # Login delays live in the throttle table (by client and account), not on the account.
                "New password due": "Yes" if u.must_change_password else "",
            }
            for u in users
        ],
        columns=["Username", "Name", "Role", "Status", "New password due"],
    )


def _compact(value: Mapping[str, Any] | None) -> str:
    if not value:
        return ""
    return ", ".join(f"{k}={v}" for k, v in value.items())


def audit_frame(entries: Sequence[AuditEntry], usernames: Mapping[str, str], tz_name: str) -> pd.DataFrame:
    """Audit entries as a table, newest first as given; user ids shown as usernames."""
    return pd.DataFrame(
        [
            {
                "Seq": e.seq,
                "When": local_time(e.at, tz_name),
                "User": usernames.get(e.user_id or "", e.user_id or "system"),
                "Action": e.action,
                "Entity": " ".join(part for part in (e.entity, (e.entity_id or "")[:8]) if part),
                "Patient id": e.patient_id or "",
                "Reason": "(erased)" if e.redacted else e.reason,
                "Before": _compact(e.before),
                "After": _compact(e.after),
            }
            for e in entries
        ],
        columns=["Seq", "When", "User", "Action", "Entity", "Patient id", "Reason", "Before", "After"],
    )


# Audit actions offered in the admin filter (any other exact action name may be typed).
AUDIT_ACTIONS: tuple[str, ...] = (
    "login",
    "login.failed",
    "logout",
    "patient.create",
    "patient.open",
    "patient.update",
    "patient.archive",
    "patient.restore",
    "patient.erase",
    "patient.rescreen",
    "visit.create",
    "visit.correct",
    "visit.archive",
    "escalation.open",
    "escalation.close",
    "handout.give",
    "letter.give",
    "export.letter_copy",
    "export.fhir",
    "export.handout_copy",
    "export.outcomes_csv",
    "export.outcomes_pdf",
    "user.create",
    "user.update",
    "user.password_change",
    "demo.generate",
)


# --- episodes of care ------------------------------------------------------------------------------

# The unit printed after each §11.2 outcome measure's value (pages and letters).
OUTCOME_UNITS = {
    "pain_nrs": "",
    "odi_percent": " %",
    "rmdq_total": "",
    # The walking measures' units come from their catalogue metrics.
    **{measure: f" {WALK_METRICS[measure].unit}" for measure in OUTCOME_MEASURES if measure in WALK_METRICS},
}


def episode_outcome_lines(outcome: EpisodeOutcome) -> list[str]:
    """One line per complete measure of an episode, e.g. "ODI 42 → 18 %: ▲ Clinically important
    improvement"; the judgement is judge_change's, in the change table's words."""
    lines = []
    for measure, result in outcome.measures.items():
        if result.complete and result.label is not None:
            unit = OUTCOME_UNITS[measure]
            words = JUDGEMENT_TEXT.get(result.label, result.label)
            lines.append(
                f"{MEASURES[measure].label} {number(result.baseline)} → {number(result.final)}{unit}: {words}"
            )
    return lines


def clinic_moment(day_value: dt.date, time_value: dt.time, tz_name: str) -> dt.datetime:
    """A date and time read on the clinic's wall clock, as an aware UTC moment."""
    return dt.datetime.combine(day_value, time_value, tzinfo=_zone(tz_name)).astimezone(dt.UTC)


def episode_heading(episode: Episode) -> str:
    """'Episode from 3 Feb 2025 to 2 Jun 2025 · goals met' (or '· open')."""
    start = day(episode.referral_date) if episode.referral_date else f"onset {day(episode.symptom_onset)}"
    if episode.is_open:
        return f"Episode from {start} · open"
    reason = DISCHARGE_REASONS.get(episode.discharge_reason or "", "").lower()
    return f"Episode from {start} to {day(episode.discharge_date)} · {reason}"
