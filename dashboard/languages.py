"""Languages a handout can be asked for: the tag (BCP 47), its English and own name, and direction.

Only some have a translation catalogue (reports/locale/); the plan page says when one is missing and
offers English or the bilingual layout (clinical-reference §14).
"""

from __future__ import annotations

from typing import NamedTuple


class Language(NamedTuple):
    """One language: English name, its own name, and whether it is written right to left."""

    english: str
    native: str
    rtl: bool = False


LANGUAGES: dict[str, Language] = {
    "en": Language("English", "English"),
    "ar": Language("Arabic", "العربية", rtl=True),
    "bn": Language("Bengali", "বাংলা"),
    "es": Language("Spanish", "Español"),
    "pl": Language("Polish", "Polski"),
    "ur": Language("Urdu", "اردو", rtl=True),
    # Common in UK clinics, no catalogue yet: chosen, they print in English or bilingually.
    "pa": Language("Punjabi", "ਪੰਜਾਬੀ"),
    "ro": Language("Romanian", "Română"),
    "so": Language("Somali", "Soomaali"),
}


def base_language(tag: str) -> str:
    """The language subtag of a BCP 47 tag ("pt-BR" -> "pt")."""
    return tag.split("-", 1)[0].lower()


def language_label(tag: str) -> str:
    """A tag as a person reads it, e.g. "Arabic (العربية)"."""
    known = LANGUAGES.get(base_language(tag))
    if known is None:
        return tag
    return known.english if known.english == known.native else f"{known.english} ({known.native})"


def is_rtl(tag: str) -> bool:
    """True for a language written right to left."""
    known = LANGUAGES.get(base_language(tag))
    return bool(known and known.rtl)
