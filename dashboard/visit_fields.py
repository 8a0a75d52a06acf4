"""The visit form's widgets as data: each field's label, kind (number, choice, one-click item, tick box,
date, text), choices, and the section of the page that draws it, by its widget key after
``page_keys.Visit.PREFIX``; and how each questionnaire is laid out. The Visit page draws every widget
from here, so a label, a key or a section is named once; the form's vocabulary (choices, labels,
screening groups) is dashboard.visit_form's.

Sections are st.fragments named by their keys in ``page_keys.Visit``. A field edit reruns the field's
section, the closing section (confirmations and the live cauda equina warning above the save button)
and, when the field feeds them, the derived values (scores, claudication pattern, change table).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from dataclasses import field as _default
from typing import Any, Literal

from dashboard.page_keys import Visit as Keys
from dashboard.visit_form import (
    CHOICES,
    FORM_LABELS,
    ODI_SECTIONS,
    RMDQ_LABELS,
    SCREENING_GROUPS,
    STARTBACK_LABELS,
    ZCQ_LABELS,
    field_label,
)
from dashboard.walking import WALKING_SYMPTOM_WORDS


@dataclass(frozen=True)
class FormField:
    """One widget of the visit form as the page draws it.

    No limits: a browser-side limit drops what was typed, unseen; the server checks the range and
    names the field by this label (issue 19).
    """

    label: str
    kind: Literal["number", "select", "segmented", "checkbox", "date", "text", "area"]
    options: Mapping[Any, str] = _default(default_factory=dict)  # a select shows None's words as placeholder
    step: float = 1  # numbers: NRS points, minutes, metres, MRC grade, °C, item codes
    placeholder: str | None = None
    collapsed: bool = False  # the label is hidden (a PSFS row, labelled by the scale's heading)
    help: str | None = None
    section: str = ""  # the fragment that draws it (page_keys.Visit)
    # Whether the derived values read it: a screening answer does not (it cannot make the visit invalid).
    derived: bool = True

    def reruns(self) -> list[str]:
        """The sections an edit of this field reruns (see `reruns`)."""
        return reruns(self.section, derived=self.derived)


def reruns(section: str, *, derived: bool) -> list[str]:
    """The sections an edit in `section` reruns, its own first, each once: the closing section always
    (it keeps the form's values and counts the edit as activity), the derived values when they read it."""
    also = (Keys.CLOSING_SECTION, Keys.DERIVED_SECTION) if derived else (Keys.CLOSING_SECTION,)
    return list(dict.fromkeys((section, *also)))


@dataclass(frozen=True)
class Questionnaire:
    """How the page lays out one licensed questionnaire: a folded section of one-click items."""

    instrument: str  # the licence key governance.enabled_instruments names
    visit_field: str  # the Visit field its items make up (its messages and check-in mark)
    title: str
    items: tuple[str, ...]  # widget keys, in the order asked
    per_row: int
    open_at_first_visit: bool = False
    lead: tuple[str, ...] = ()  # drawn before the items, full width
    wide_last: bool = False  # the last item takes the full width (STarT Back's five-point item 9)
    caption: str | None = None

    @property
    def section(self) -> str:
        """Its fragment's key."""
        return Keys.QUESTIONNAIRE_SECTION + self.instrument


def _number(label: str, step: float = 1, **more: Any) -> FormField:
    return FormField(label, "number", step=step, **more)


def _select(name: str, label: str | None = None, *, derived: bool = True) -> FormField:
    return FormField(label or field_label(name), "select", CHOICES[name], derived=derived)


def _in(section: str, fields: Mapping[str, FormField]) -> dict[str, FormField]:
    return {name: replace(spec, section=section) for name, spec in fields.items()}


def _items(labels: tuple[str, ...], key: str, first: int = 1) -> tuple[str, ...]:
    return tuple(f"{key}{i}" for i in range(first, first + len(labels)))


# Each questionnaire's widgets, one per item (see visit_form.questionnaire_state), in the order asked.
ODI_ITEMS = _items(ODI_SECTIONS, "odi_", first=0)
STARTBACK_ITEMS = _items(STARTBACK_LABELS, "sb_q")
RMDQ_ITEMS = _items(RMDQ_LABELS, "rmdq_", first=0)
ZCQ_ITEMS = _items(ZCQ_LABELS, "zcq_q")
PSFS_ROWS = 5
PSFS_SECTION = Keys.QUESTIONNAIRE_SECTION + "psfs"
# One click per item (a segmented control the keyboard can drive), not a dropdown's two (issue 19);
# a first visit opens the ODI and STarT Back, a follow-up keeps them folded.
QUESTIONNAIRES: tuple[Questionnaire, ...] = (
    Questionnaire(
        "odi",
        "odi_sections",
        "Oswestry Disability Index (ODI v2.1a): section scores 0–5",
        ODI_ITEMS,
        per_row=2,
        open_at_first_visit=True,
        caption="Click a chosen score again to leave the section blank.",
    ),
    Questionnaire(
        "startback",
        "startback",
        "STarT Back (9 items)",
        STARTBACK_ITEMS,
        2,
        open_at_first_visit=True,
        wide_last=True,
    ),
    Questionnaire(
        "rmdq",
        "rmdq_items",
        "Roland-Morris (RMDQ-24): items that apply today",
        RMDQ_ITEMS,
        4,
        lead=("rmdq_done",),
    ),
    Questionnaire("zcq", "zcq_items", "Zurich Claudication Questionnaire (item codes)", ZCQ_ITEMS, 6),
)
_ODI_SCORES = {score: str(score) for score in range(6)}
REVIEW_HELP = "Saved on the patient with this visit. Clear a review date on the patient's page."

# The widgets of the form, by their key after Keys.PREFIX (the page draws the findings lists and the
# confirmations itself: their options come from the library, their labels name the visit carried from).
FORM_FIELDS: dict[str, FormField] = {
    **_in(
        Keys.PAIN_SECTION,
        {
            "visit_date": FormField(FORM_LABELS["visit_date"], "date"),
            "pain_nrs": _number(FORM_LABELS["pain_nrs"], placeholder="not measured"),
            "pain_worst_nrs": _number(FORM_LABELS["pain_worst_nrs"], placeholder="not measured"),
        },
    ),
    **_in(
        Keys.WALKING_SECTION,
        {
            "walk_protocol": _select("walk_protocol"),
            "walk_onset_min": _number(FORM_LABELS["walk_onset_min"], 0.5),
            "walk_onset_m": _number(FORM_LABELS["walk_onset_m"], 10.0),
            "walk_total_min": _number(FORM_LABELS["walk_total_min"], 0.5),
            "walk_total_m": _number(FORM_LABELS["walk_total_m"], 10.0),
            "walk_stop_reason": _select("walk_stop_reason"),
        },
    ),
    **_in(
        Keys.SYMPTOMS_SECTION,
        {
            **{name: _select(name, words) for name, words in WALKING_SYMPTOM_WORDS.items()},
            "pedal_pulses": _select("pedal_pulses", "Pedal pulses"),
        },
    ),
    **{
        name: spec
        for group, layout in SCREENING_GROUPS.items()
        for name, spec in _in(
            Keys.SCREENING_SECTION + group,
            {
                **{question: _select(question, derived=False) for question in layout["fields"]},
                # A measurement out of range makes the visit invalid, which the derived values show.
                **{
                    measured: _number(FORM_LABELS[measured], 0.1 if measured == "temperature_c" else 1)
                    for measured in layout.get("measurements", ())
                },
            },
        ).items()
    },
    **_in(
        Keys.QUESTIONNAIRE_SECTION + "odi",
        {
            key: FormField(f"{i}. {label}", "segmented", _ODI_SCORES)
            for i, (key, label) in enumerate(zip(ODI_ITEMS, ODI_SECTIONS, strict=True), start=1)
        },
    ),
    **_in(
        Keys.QUESTIONNAIRE_SECTION + "startback",
        {
            key: FormField(
                f"{i}. {label}", "segmented", CHOICES["startback_q9" if i == 9 else "startback_agree"]
            )
            for i, (key, label) in enumerate(zip(STARTBACK_ITEMS, STARTBACK_LABELS, strict=True), start=1)
        },
    ),
    **_in(
        Keys.QUESTIONNAIRE_SECTION + "rmdq",
        {
            "rmdq_done": FormField("RMDQ completed at this visit", "checkbox"),
            **{
                key: FormField(f"{i}. {label}", "checkbox")
                for i, (key, label) in enumerate(zip(RMDQ_ITEMS, RMDQ_LABELS, strict=True), start=1)
            },
        },
    ),
    **_in(
        Keys.QUESTIONNAIRE_SECTION + "zcq",
        {
            key: _number(f"q{i} {label}")
            for i, (key, label) in enumerate(zip(ZCQ_ITEMS, ZCQ_LABELS, strict=True), start=1)
        },
    ),
    **_in(
        PSFS_SECTION,
        {
            **{
                f"psfs_activity_{i}": FormField(
                    f"Activity {i + 1}", "text", placeholder=f"Activity {i + 1}", collapsed=True
                )
                for i in range(PSFS_ROWS)
            },
            **{
                f"psfs_score_{i}": _number(f"Score {i + 1}", placeholder="not rated", collapsed=True)
                for i in range(PSFS_ROWS)
            },
        },
    ),
    **_in(Keys.FINDINGS_SECTION, {"notes": FormField(FORM_LABELS["notes"], "area")}),
    **_in(
        Keys.CLOSING_SECTION,
        {
            "next_review_date": FormField(
                field_label("next_review_date"), "date", help=REVIEW_HELP, derived=False
            ),
            "reason": FormField(FORM_LABELS["reason"], "text", derived=False),
        },
    ),
}
