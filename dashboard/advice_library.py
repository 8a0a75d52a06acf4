"""The advice and exercise library's models (clinical-reference §8): advice items and exercise
cards with their selectors, sources and evidence tags, validated as one Library. The library
itself is YAML, loaded by `data.library`; `dashboard.plan` chooses from it.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

EvidenceTag = Literal["C", "S", "U"]
AdviceSection = Literal["core", "walking", "posture", "footwear", "flare_up", "safety_net"]
# Sections of advice text, in the order the handout prints them (exercises come after walking).
ADVICE_SECTIONS: tuple[AdviceSection, ...] = (
    "core",
    "walking",
    "posture",
    "footwear",
    "flare_up",
    "safety_net",
)
# Vector pictograms the handout can draw for an exercise card.
PICTOGRAM_KEYS: tuple[str, ...] = (
    "pelvic_tilt",
    "knee_to_chest",
    "bridge",
    "bird_dog",
    "plank",
    "open_book",
    "cycling",
)
# Placeholders allowed in library text, filled from Settings (emergency services are per deployment).
PLACEHOLDERS: tuple[str, ...] = ("emergency_number", "urgent_advice", "emergency_department")

CLAUDICATION_PATTERNS: tuple[str, ...] = ("neurogenic", "vascular", "indeterminate", "none")
STARTBACK_RISKS: tuple[str, ...] = ("low", "medium", "high")
WALKING_TOLERANCE_BANDS: tuple[str, ...] = ("unknown", "short", "building", "goal_met")
# `selected_by` tokens: "always", or kind:value. posture/footwear values are finding ids checked
# against the library itself.
_TOKEN_VALUES: dict[str, tuple[str, ...] | None] = {
    "posture": None,
    "footwear": None,
    "claudication": CLAUDICATION_PATTERNS,
    "startback": STARTBACK_RISKS,
    "history": ("cancer",),
    "walking_tolerance": WALKING_TOLERANCE_BANDS,
    # The most urgent open escalation of the patient, when it is URGENT or EMERGENCY.
    "escalation": ("urgent", "emergency"),
}
ALWAYS = "always"

ItemId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=60)]
Text = Annotated[str, Field(min_length=1, max_length=2000)]


def _check_token(token: str) -> str:
    if token == ALWAYS:
        return token
    kind, sep, value = token.partition(":")
    if not sep or kind not in _TOKEN_VALUES:
        raise ValueError(
            f"unknown selector {token!r}; expected 'always' or one of {', '.join(_TOKEN_VALUES)}"
        )
    allowed = _TOKEN_VALUES[kind]
    if allowed is None:
        if not re.fullmatch(r"[a-z][a-z0-9_]*", value):
            raise ValueError(f"selector {token!r} needs a finding id after '{kind}:'")
    elif value not in allowed:
        raise ValueError(f"selector {token!r}: '{kind}' takes one of {', '.join(allowed)}")
    return token


def placeholders_in(text: str) -> list[str]:
    """The {name} placeholders used in a library text (ValueError on a stray brace)."""
    return [name for _, name, _, _ in string.Formatter().parse(text) if name is not None]


class _LibraryModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class AdviceItem(_LibraryModel):
    """One piece of advice: a title, a paragraph and/or bullet lines, why it is chosen, and its source."""

    id: ItemId
    title: Text
    # Reassuring sentences printed before `text`, left out while an URGENT or EMERGENCY escalation
    # is open; `title_if_flagged` then replaces a title that reassures.
    reassurance: str = Field(default="", max_length=2000)
    title_if_flagged: str = Field(default="", max_length=300)
    text: str = Field(default="", max_length=2000)
    bullets: tuple[Text, ...] = ()
    selected_by: tuple[str, ...] = Field(min_length=1)
    source: Text
    evidence_tag: EvidenceTag
    # Short clinical label for a finding choice on the visit page (posture and footwear items).
    finding_label: str | None = None

    @field_validator("selected_by")
    @classmethod
    def _tokens(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_check_token(token) for token in value)

    @model_validator(mode="after")
    def _has_words(self) -> AdviceItem:
        if not self.text and not self.bullets and not self.reassurance:
            raise ValueError("give a text, bullets or both")
        return self

    def patient_texts(self) -> list[str]:
        """Every patient-facing string of the item: titles, reassurance, text and bullets."""
        optional = (self.title_if_flagged, self.reassurance, self.text)
        return [self.title, *(text for text in optional if text), *self.bullets]


class Exercise(_LibraryModel):
    """One exercise card: what it is for, how to do it, a default dose and its pictogram."""

    id: ItemId
    name: Text
    purpose: Text
    steps: tuple[Text, ...] = Field(min_length=1, max_length=6)
    dose: Text
    flexion_friendly: bool
    pictogram: str
    selected_by: tuple[str, ...] = Field(min_length=1)
    source: Text
    evidence_tag: EvidenceTag

    @field_validator("selected_by")
    @classmethod
    def _tokens(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_check_token(token) for token in value)

    @field_validator("pictogram")
    @classmethod
    def _known_pictogram(cls, value: str) -> str:
        if value not in PICTOGRAM_KEYS:
            raise ValueError(f"unknown pictogram; expected one of {', '.join(PICTOGRAM_KEYS)}")
        return value

    def patient_texts(self) -> list[str]:
        """Every patient-facing string of the card."""
        return [self.name, self.purpose, *self.steps, self.dose]


class Library(_LibraryModel):
    """The whole advice library, validated: unique ids, known selectors and placeholders."""

    version: str = Field(pattern=r"^[0-9a-f]{12}$")
    core: tuple[AdviceItem, ...] = Field(min_length=1)
    walking: tuple[AdviceItem, ...] = Field(min_length=1)
    posture: tuple[AdviceItem, ...] = Field(min_length=1)
    footwear: tuple[AdviceItem, ...] = Field(min_length=1)
    flare_up: tuple[AdviceItem, ...] = Field(min_length=1)
    safety_net: tuple[AdviceItem, ...] = Field(min_length=1)
    exercises: tuple[Exercise, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> Library:
        seen: set[str] = set()
        for entry in self.entries():
            if entry.id in seen:
                raise ValueError(f"id {entry.id!r} is used twice")
            seen.add(entry.id)
        for kind in ("posture", "footwear"):
            own_ids = {item.id for item in getattr(self, kind)}
            for entry in self.entries():
                for token in entry.selected_by:
                    if token.startswith(f"{kind}:") and token.partition(":")[2] not in own_ids:
                        raise ValueError(f"{entry.id}: selector {token!r} names no {kind} item")
        for entry in self.entries():
            texts = entry.patient_texts()
            for text in texts:
                unknown = set(placeholders_in(text)) - set(PLACEHOLDERS)
                if unknown:
                    raise ValueError(f"{entry.id}: unknown placeholder {sorted(unknown)[0]!r}")
        if not any(ALWAYS in item.selected_by for item in self.safety_net):
            raise ValueError("safety_net: at least one item must be selected 'always'")
        return self

    def entries(self) -> Iterator[AdviceItem | Exercise]:
        """Every advice item and exercise, section by section."""
        for section in ADVICE_SECTIONS:
            yield from getattr(self, section)
        yield from self.exercises

    def items(self, section: AdviceSection) -> tuple[AdviceItem, ...]:
        """The advice items of one section, in library order."""
        items: tuple[AdviceItem, ...] = getattr(self, section)
        return items

    def _finding_ids(self, kind: str) -> list[str]:
        prefix = f"{kind}:"
        found = {token[len(prefix) :] for item in self.entries() for token in item.selected_by}
        return [item.id for item in getattr(self, kind) if item.id in found]

    def posture_ids(self) -> list[str]:
        """Posture finding ids a visit may record (each selects advice), in library order."""
        return self._finding_ids("posture")

    def footwear_ids(self) -> list[str]:
        """Footwear finding ids a visit may record (each selects advice), in library order."""
        return self._finding_ids("footwear")

    def finding_labels(self, kind: Literal["posture", "footwear"]) -> dict[str, str]:
        """Finding id -> short clinical label for the visit page (the title when no label is given)."""
        by_id = {item.id: item for item in self.items(kind)}
        ids = self.posture_ids() if kind == "posture" else self.footwear_ids()
        return {fid: by_id[fid].finding_label or by_id[fid].title for fid in ids}
