"""Which language a handout is printed in, and what the plan page says about it (clinical-reference §14).

The patient's language picks the handout's. Without a translation catalogue the handout is printed
in English; a translation awaiting clinical review is printed only beside the English (the bilingual
layout). This module decides that, words the page's notes, and assembles the provenance stored with
the handout; the translating itself is `reports.i18n`'s, the drawing `reports.handout`'s.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple, Protocol

from pydantic import ValidationError

from dashboard import governance
from dashboard.governance import Decision
from dashboard.languages import language_label
from dashboard.plan import Plan, PlanItem
from dashboard.ports import Store
from dashboard.safe_text import md_escape

ENGLISH = "en"
# Keys a stored handout's plan JSON holds beside the plan itself: the provenance (§14) and, in the
# bilingual layout, the English plan printed above the translation (for the web version, issue 23).
PROVENANCE_KEY, BILINGUAL_KEY = "handout_language", "bilingual_english"
AWAITING_REVIEW = "awaiting clinical review"
# How a stored handout was printed, as reports.handout_web.render_html takes it.
WEB_OPTIONS = ("language", "review_note", "bilingual_with", "provenance")
# How many untranslated sentences the page quotes, and how much of each.
QUOTED_MISSING, QUOTED_CHARS = 3, 80


class Translated(Protocol):
    """A plan in another language with the English strings that had no translation (reports.i18n)."""

    plan: Plan
    language: str
    catalogue_version: str
    missing: list[str]


class Note(NamedTuple):
    """A message for the page: how loud it is and its words (Markdown, user text escaped)."""

    kind: Literal["warning", "info"]
    text: str


def language_notes(language: str, translation: Translated | None, review: Decision | None) -> list[Note]:
    """What the page says about the patient's language before the choice: no catalogue, sentences left
    untranslated, or a translation still awaiting clinical review."""
    label = md_escape(language_label(language))
    if translation is None:
        if language == ENGLISH:
            return []
        return [
            Note(
                "warning",
                f"There is no {label} translation of the handout yet, so the handout is printed in English.",
            )
        ]
    notes = []
    if translation.missing:
        shown = "; ".join(f"“{text[:QUOTED_CHARS]}”" for text in translation.missing[:QUOTED_MISSING])
        notes.append(
            Note(
                "warning",
                f"{len(translation.missing)} sentence(s) have no {label} translation (edited text stays "
                f"in English): {md_escape(shown)}. Print in English, or check these lines with the patient.",
            )
        )
    if review is None:
        notes.append(
            Note(
                "info",
                f"The {label} translation is awaiting clinical review: every page says so, and the English "
                "safety net is printed in full after it.",
            )
        )
    return notes


def review_of(store: Store, translation: Translated | None) -> Decision | None:
    """Who recorded the clinical review of this translation's catalogue version; None while it awaits one."""
    if translation is None:
        return None
    return governance.translation_review(store, translation.language, translation.catalogue_version)


def language_options(translation: Translated) -> list[str]:
    """The languages the clinician may print in: the patient's, then English."""
    return [translation.language, ENGLISH]


@dataclass(frozen=True)
class HandoutChoice:
    """The handout as it will be printed: the English plan, the translation chosen (None for English),
    its review and whether English stands above each paragraph."""

    english: Plan
    translation: Translated | None = None
    review: Decision | None = None
    bilingual: bool = False

    @property
    def language(self) -> str:
        """The printed language's tag ("en" without a translation)."""
        return self.translation.language if self.translation is not None else ENGLISH

    @property
    def plan(self) -> Plan:
        """The plan as printed: the translation's, or the English one."""
        return self.translation.plan if self.translation is not None else self.english

    @property
    def unreviewed(self) -> bool:
        """True while the printed translation awaits clinical review (each page says so)."""
        return self.translation is not None and self.review is None

    def render_options(self, *, large_print: bool) -> dict[str, Any]:
        """Keyword arguments for `reports.handout.render` of :attr:`plan`."""
        english_safety_net: list[PlanItem] = (
            self.english.safety_net if self.unreviewed and not self.bilingual else []
        )
        return {
            "large_print": large_print,
            "language": self.language,
            "english_safety_net": english_safety_net,
            "review_note": self.unreviewed,
            "bilingual_with": self.english if self.bilingual else None,
        }

    def web_options(self, *, large_print: bool) -> dict[str, Any]:
        """Keyword arguments for `reports.handout_web.render_html` of :attr:`plan` (as printed)."""
        return {**self.render_options(large_print=large_print), "provenance": self.provenance()}

    def provenance(self) -> dict[str, Any]:
        """The language, catalogue version and review state stored with the handout's plan."""
        translation, review = self.translation, self.review
        state = None
        if translation is not None:
            state = (
                AWAITING_REVIEW
                if review is None
                else f"reviewed, recorded by {review.by_name} on {review.at:%Y-%m-%d}"
            )
        return {
            "language": self.language,
            "catalogue_version": translation.catalogue_version if translation else None,
            "translation_review": state,
            "untranslated": list(translation.missing) if translation else [],
            "layout": "bilingual" if self.bilingual and translation else "single language",
        }

    def stored_plan(self) -> dict[str, Any]:
        """The plan JSON stored with the handout: the plan as printed, its provenance and, in the
        bilingual layout, the English plan, so the web version shows the handout as given."""
        stored = {**self.plan.model_dump(mode="json"), PROVENANCE_KEY: self.provenance()}
        if self.bilingual and self.translation is not None:
            stored[BILINGUAL_KEY] = self.english.model_dump(mode="json")
        return stored


@dataclass(frozen=True)
class StoredHandout:
    """A recorded handout read back for its web version: the plan as printed and how it was printed."""

    plan: Plan
    language: str
    review_note: bool
    bilingual_with: Plan | None
    provenance: Mapping[str, Any]

    def render_options(self) -> dict[str, Any]:
        """Keyword arguments for `reports.handout_web.render_html` of :attr:`plan`."""
        return {name: getattr(self, name) for name in WEB_OPTIONS}


def stored_handout(stored: Mapping[str, Any]) -> StoredHandout | None:
    """A recorded handout's plan JSON read back, or None when it cannot be shown as given: not a
    plan, or a bilingual handout recorded before the English plan was kept with it."""
    plan_json = {key: value for key, value in stored.items() if key not in (PROVENANCE_KEY, BILINGUAL_KEY)}
    provenance: Mapping[str, Any] = stored.get(PROVENANCE_KEY) or {"language": ENGLISH}
    try:
        plan = Plan.model_validate(plan_json)
        english = Plan.model_validate(stored[BILINGUAL_KEY]) if stored.get(BILINGUAL_KEY) else None
    except ValidationError:
        return None
    if provenance.get("layout") == "bilingual" and english is None:
        return None  # §14: an unreviewed translation is never shown without the English beside it
    language = str(provenance.get("language") or ENGLISH)
    review_note = provenance.get("translation_review") == AWAITING_REVIEW
    return StoredHandout(plan, language, review_note, english, provenance)


def choose_handout(
    english: Plan,
    translation: Translated | None,
    review: Decision | None,
    *,
    chosen: str = ENGLISH,
    bilingual_ticked: bool = False,
) -> HandoutChoice:
    """The handout for the clinician's choice: English when no translation exists or English is chosen;
    a translation awaiting review is always bilingual (§14)."""
    if translation is None or chosen == ENGLISH:
        return HandoutChoice(english)
    return HandoutChoice(english, translation, review, bilingual=bilingual_ticked or review is None)


def font_note(unprintable: set[str]) -> Note | None:
    """The warning for letters of the name or note that no font on this server can print."""
    if not unprintable:
        return None
    return Note(
        "warning",
        "No font on this server can print these letters of the name or note: "
        + md_escape(" ".join(sorted(unprintable)))
        + ". Check the printed handout, or install the fallback fonts (see README).",
    )
