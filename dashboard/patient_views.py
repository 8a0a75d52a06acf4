"""What the Patients page offers and says: the form's choices (sex, handout language, risk history),
the lines about a found patient, their visits and the history of changes to their record, and the
words of a refused service call.

Every text a clinician or an import typed is escaped for markdown here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, Final

from dashboard.choice_box import coded_choice
from dashboard.form_errors import error_messages
from dashboard.languages import LANGUAGES, language_label
from dashboard.models import RISK_FIELDS, Patient, Visit
from dashboard.ports import InvalidInputError, Revision, StrideError
from dashboard.safe_text import md_escape
from dashboard.trends import PROTOCOL_NAMES
from dashboard.visit_form import PATIENT_LABELS, error_message

RISK_LABELS: Final[dict[str, str]] = {
    "history_of_cancer": "History of cancer (current or previous)",
    "osteoporosis": "Osteoporosis",
    "prolonged_corticosteroids": "Oral corticosteroids for 3 months or more",
    "immunosuppressed": "Immunosuppressed",
    "iv_drug_use": "Intravenous drug use",
    "smoker": "Smoker",
}
assert set(RISK_LABELS) == set(RISK_FIELDS)
SEX: Final[dict[str, str]] = {"F": "Female", "M": "Male", "X": "Other / not stated"}
NAME_FIELDS: Final = ("patient_ref", "given_name", "family_name")  # the form's first row
# The risk checkboxes two a row, filled row by row: three a row cut the longer labels short, and the
# focus order follows the reading order.
RISK_ROWS: Final[tuple[tuple[tuple[str, str], ...], ...]] = tuple(
    tuple((name, RISK_LABELS[name]) for name in RISK_FIELDS[start : start + 2])
    for start in range(0, len(RISK_FIELDS), 2)
)


def sex_index(current: Mapping[str, Any]) -> int | None:
    """The sex choice shown first: the record's, or none (the clinician chooses) for a new patient."""
    return list(SEX).index(current["sex"]) if current.get("sex") else None


def language_choices(current: Mapping[str, Any]) -> tuple[list[str], int]:
    """The handout language tags offered and the place of the record's (English for a new patient); a
    tag stored by an import stays selectable."""
    tags = list(LANGUAGES)
    language = current.get("language") or "en"
    if language not in tags:
        tags.append(language)
    return tags, tags.index(language)


def sex_choice(current: Mapping[str, Any]) -> dict[str, Any]:
    """Keyword arguments for the form's sex select box: the codes shown in words, the record's chosen
    (none for a new patient, so the clinician chooses)."""
    return {**coded_choice(SEX, "Choose"), "index": sex_index(current)}


def language_choice(current: Mapping[str, Any]) -> dict[str, Any]:
    """Keyword arguments for the form's handout-language select box: the tags by name, the record's chosen."""
    tags, index = language_choices(current)
    return {"options": tags, "index": index, "format_func": language_label}


def field_errors(errors: Mapping[str, str]) -> list[str]:
    """The service's field messages, each named by the form's label, escaped for markdown."""
    return [md_escape(error_message(field, message, PATIENT_LABELS)) for field, message in errors.items()]


def refusal_messages(exc: StrideError, *, by_label: bool = False) -> list[str]:
    """A refused service call's messages for the page, escaped for markdown: one per field, each named
    by the patient form's label, when `by_label` (the form's own fields); else one sentence of them all."""
    if by_label and isinstance(exc, InvalidInputError):
        return field_errors(exc.errors)
    return [md_escape(" ".join(error_messages(exc)))]


def add_form_expanded(query: str, chosen_patient_id: str) -> bool:
    """The add form starts open only on an empty page: nothing searched and no patient chosen."""
    return not query and not chosen_patient_id


def found_line(patient: Patient) -> str:
    """'**Name** · REF' for a search result, marked when archived."""
    archived = " · archived" if patient.archived else ""
    return f"**{md_escape(patient.display_name)}** · {md_escape(patient.patient_ref)}{archived}"


def born_caption(patient: Patient) -> str:
    """'born 1961-03-09' beside a search result."""
    return f"born {patient.birth_date:%Y-%m-%d}"


def heading(patient: Patient) -> str:
    """The open patient's heading: name and clinic reference."""
    return md_escape(f"{patient.display_name} · {patient.patient_ref}")


def summary_caption(patient: Patient, today: dt.date) -> str:
    """'Age 64 · Female · symptom onset 2025-01-06', marked when archived."""
    onset = f"symptom onset {patient.symptom_onset:%Y-%m-%d}"
    archived = " · **archived**" if patient.archived else ""
    return f"Age {patient.age_years(today)} · {SEX[patient.sex]} · {onset}{archived}"


def risk_history(patient: Patient) -> str:
    """The risk factors recorded for the red-flag rules, in the form's order, or 'none recorded'."""
    risk = [RISK_LABELS[name] for name in RISK_FIELDS if getattr(patient, name)]
    return "**Risk history:** " + (", ".join(risk) if risk else "none recorded")


def visit_cells(visit: Visit) -> tuple[str, str, str]:
    """A listed visit's date (with its version once corrected), pain and walking test."""
    when = f"**{visit.visit_date:%Y-%m-%d}**" + (f" · v{visit.version}" if visit.version > 1 else "")
    pain = f"Pain {visit.pain_nrs if visit.pain_nrs is not None else '–'}/10"
    protocol = PROTOCOL_NAMES.get(visit.walk_protocol or "", visit.walk_protocol or "no test")
    return when, pain, f"Walking: {protocol}"


def visit_rows(visits: Sequence[Visit]) -> list[tuple[str, str, str, str]]:
    """The patient's visits as listed, newest first: the visit's id, then its date, pain and walking."""
    return [(str(visit.id), *visit_cells(visit)) for visit in reversed(visits)]


def archive_label(patient: Patient) -> str:
    """The archive button's words for this record."""
    return "Restore patient" if patient.archived else "Archive patient"


def revision_line(rev: Revision) -> str:
    """'**v2** · 2026-12-04 09:14 UTC · reason: …' for one change to the record."""
    return f"**v{rev.version}** · {rev.changed_at:%Y-%m-%d %H:%M} UTC · reason: {md_escape(rev.reason)}"


def history_label(history: Sequence[Revision]) -> str:
    """The history section's title with the number of changes: '🕘 History of changes (3)'."""
    return f"🕘 History of changes ({len(history)})"


def history_entries(history: Sequence[Revision]) -> list[tuple[str, dict[str, Any]]]:
    """Each change to the record, newest first: its line and the values before and after it."""
    return [(revision_line(rev), {"before": rev.before, "after": rev.after}) for rev in reversed(history)]
