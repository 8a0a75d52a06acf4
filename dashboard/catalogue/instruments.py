"""Instruments (clinical-reference §7.2-§7.7, §7.10, §9): items, codes, neutral labels, licence, export.

Only item numbers and short neutral labels written by us are held here: the instruments' own
wording, response text and layout are never shipped (§7.10).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from dashboard.catalogue.table import by_id, lookup


@dataclass(frozen=True)
class ChildTable:
    """How an instrument's item answers are laid out in the clinic export: file, item and answer columns."""

    file: str
    item_column: str
    item_kind: str  # "int" (1-based position) or "str" (item code such as "q3")
    answer_column: str
    answer_kind: str  # "int", "bool" or "str"


@dataclass(frozen=True)
class Instrument:
    """One instrument: its Visit field, item codes with allowed answers, labels, licence and measures."""

    id: str
    name: str
    visit_field: str
    # Item code -> allowed answers (codes or words), in item order; the codes are the FHIR linkId
    # suffixes and export item keys.
    allowed: dict[str, frozenset[object]]
    labels: tuple[str, ...]  # neutral labels, one per item, written by us
    licence_key: str | None  # None: always on (NPRS, PSFS)
    export: ChildTable | None  # None: a scalar field of the visit row (NPRS)
    derived_measures: tuple[str, ...]  # judge_change / FHIR score measures derived from the items
    questionnaire_slug: str | None  # FHIR Questionnaire canonical slug; linkIds "<slug>-<n>"
    source: str

    @property
    def item_codes(self) -> tuple[str, ...]:
        """The item codes, in order."""
        return tuple(self.allowed)

    @property
    def item_count(self) -> int:
        """How many items the instrument has (PSFS: up to 5 activities, §7.5)."""
        return len(self.allowed)


def _numbered(
    count: int, answers: Iterable[object], prefix: str = "", start: int = 1
) -> dict[str, frozenset[object]]:
    """Items `prefix` + start … start + count - 1, each allowing the same answers."""
    allowed = frozenset(answers)
    return {f"{prefix}{i}": allowed for i in range(start, start + count)}


# ZCQ q7 (balance) is scored 1, 3 or 5 (§7.7).
_ZCQ_BALANCE: frozenset[object] = frozenset({1, 3, 5})
STARTBACK_AGREE = ("agree", "disagree")
STARTBACK_BOTHERSOME = ("not_at_all", "slightly", "moderately", "very_much", "extremely")

INSTRUMENTS: dict[str, Instrument] = by_id(
    Instrument(
        id="nprs",
        name="Numeric Pain Rating Scale (NPRS)",
        visit_field="pain_nrs",
        allowed={"pain_nrs": frozenset(range(0, 11))},
        labels=("Pain now",),
        licence_key=None,
        export=None,
        derived_measures=("pain_nrs", "pain_worst_nrs"),
        questionnaire_slug=None,
        source="Ostelo 2008 (MCID) [C]; LOINC 72514-3 [C]",
    ),
    Instrument(
        id="odi",
        name="Oswestry Disability Index (ODI v2.1a)",
        visit_field="odi_sections",
        allowed=_numbered(10, range(0, 6)),
        labels=(
            "Pain intensity",
            "Personal care",
            "Lifting",
            "Walking",
            "Sitting",
            "Standing",
            "Sleeping",
            "Sex life",
            "Social life",
            "Travelling",
        ),
        licence_key="odi",
        export=ChildTable("odi_sections.csv", "section", "int", "score", "int"),
        derived_measures=("odi_percent",),
        questionnaire_slug="odi",
        source="Fairbank & Pynsent 2000 [C]; AO Foundation ODI v2.1a algorithm [C]; Mapi licence [S]",
    ),
    Instrument(
        id="rmdq",
        name="Roland-Morris Disability Questionnaire (RMDQ-24)",
        visit_field="rmdq_items",
        allowed=_numbered(24, (True, False)),
        labels=tuple(f"Item {i}" for i in range(1, 25)),
        licence_key="rmdq",
        export=ChildTable("rmdq_items.csv", "item", "int", "applies", "bool"),
        derived_measures=("rmdq_total",),
        questionnaire_slug="rmdq",
        source="Roland & Morris 1983 [C]; Roland & Fairbank 2000 [C]",
    ),
    Instrument(
        id="zcq",
        name="Zurich Claudication Questionnaire (ZCQ)",
        visit_field="zcq_items",
        allowed={**_numbered(6, range(1, 6), "q"), "q7": _ZCQ_BALANCE, **_numbered(11, range(1, 5), "q", 8)},
        labels=(*("SS",) * 6, "SS (balance)", *("PF",) * 5, *("SAT",) * 6),
        licence_key="zcq",
        export=ChildTable("zcq_items.csv", "item", "str", "score", "int"),
        derived_measures=("zcq_ss", "zcq_pf", "zcq_sat"),
        questionnaire_slug="zcq",
        source="Stucki et al. 1996 [C]; AO Foundation ZCQ algorithm [C]",
    ),
    Instrument(
        id="startback",
        name="Keele STarT Back Screening Tool",
        visit_field="startback",
        allowed={**_numbered(8, STARTBACK_AGREE, "q"), "q9": frozenset(STARTBACK_BOTHERSOME)},
        labels=(
            "Leg pain",
            "Shoulder or neck pain",
            "Walking",
            "Dressing",
            "Fear of activity",
            "Worry",
            "Catastrophising",
            "Mood",
            "Bothersomeness",
        ),
        licence_key="startback",
        export=ChildTable("startback.csv", "item", "str", "answer", "str"),
        derived_measures=("startback_total", "startback_psychosocial", "startback_risk"),
        questionnaire_slug="startback",
        source="Hill et al. 2008; Keele scoring guidance [C]",
    ),
    Instrument(
        id="psfs",
        name="Patient-Specific Functional Scale (PSFS)",
        visit_field="psfs",
        allowed=_numbered(5, range(0, 11)),
        labels=tuple(f"Activity {i}" for i in range(1, 6)),
        licence_key=None,
        export=ChildTable("psfs.csv", "position", "int", "score", "int"),
        derived_measures=("psfs_mean",),
        questionnaire_slug="psfs",
        source="Stratford, Gill, Westaway & Binkley 1995 [C]",
    ),
)


def instrument(instrument_id: str) -> Instrument:
    """The catalogue entry of an instrument; ValueError when unknown."""
    return lookup(INSTRUMENTS, instrument_id, "instrument")


def licensed() -> dict[str, Instrument]:
    """The instruments whose use needs a recorded licence (§7.10), by licence key."""
    return {entry.licence_key: entry for entry in INSTRUMENTS.values() if entry.licence_key}
