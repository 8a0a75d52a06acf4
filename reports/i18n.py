"""Handout translations: one gettext PO catalogue per language (reports/locale/<lang>/LC_MESSAGES/
handout.po) holding every sentence of the library, the safety net and the page furniture.

The message ids are the English library text with its {placeholders}; a plan is translated by
matching each printed English string against the filled-in library text, so a sentence the
clinician edited has no translation and is reported (the plan page then offers English or the
bilingual layout). `python -m reports.i18n check` lists untranslated strings; `extract` adds new
library strings to every catalogue, keeping the translations already there.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import yaml

from dashboard.plan import PLACEHOLDERS, SECTION_HEADINGS, Library, Plan, PlanExercise, PlanItem

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
LIBRARY_DIR = Path(__file__).resolve().parents[1] / "data" / "library"
DOMAIN = "handout"
CATALOGUE_HEX_CHARS = 12

# Page furniture: every fixed string the handout prints besides the library (reports.handout).
FURNITURE: tuple[str, ...] = (
    "Your walking and back plan",
    "The box at the end says when to get help. Please keep it somewhere easy to find.",
    "Please read the box below first. It says when to get help.",
    "This plan is here to help you with the things you told us matter to you:",
    *SECTION_HEADINGS.values(),
    "For {name}",
    "Date: {date}",
    "From: {clinician}",
    "Your next appointment: {date}",
    "Questions? Call us on {phone}",
    "How much: {dose}",
    "Week",
    "Each walk",
    "Walks a day",
    "Days a week",
    "Minutes a week",
    "{minutes} min",
    "Minutes of walking each week",
    "Goal: {minutes} minutes a week",
    "(continued)",
    "Prepared for you by {who} at {clinic}, with Stride decision support.",
    "Prepared for you by {who}, with Stride decision support.",
    "your physio",
    "Page {page} of {pages}",
    "Translation not yet reviewed by a clinician. The English safety net is printed in full.",
    "When to get help (in English)",
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


def load_library_files(directory: Path = LIBRARY_DIR) -> Library:
    """The library read straight from its YAML files (reports may not import data.library)."""
    merged: dict[str, object] = {}
    for path in sorted(directory.glob("*.yaml")):
        merged.update(yaml.safe_load(path.read_text(encoding="utf-8")))
    return Library.model_validate({**merged, "version": "0" * 12})


def library_messages(library: Library) -> list[str]:
    """Every patient-facing template of the library, in file order, without duplicates."""
    seen: dict[str, None] = {}
    for item in library.entries():
        for text in item.patient_texts():
            seen.setdefault(text, None)
    return list(seen)


def all_messages(library: Library) -> list[str]:
    """The library's sentences and the page furniture: what every catalogue must translate."""
    return list(dict.fromkeys([*library_messages(library), *FURNITURE]))


# --- PO files ------------------------------------------------------------------------------------


def _quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


@dataclass
class Catalogue:
    """One language's PO catalogue: header fields and the translations (msgid -> msgstr)."""

    language: str
    header: dict[str, str] = field(default_factory=dict)
    messages: dict[str, str] = field(default_factory=dict)
    raw: bytes = b""

    @property
    def version(self) -> str:
        """A hash of the catalogue file: a changed translation is a new version to review."""
        return hashlib.sha256(self.raw).hexdigest()[:CATALOGUE_HEX_CHARS]

    def get(self, message: str) -> str | None:
        """The translation, or None when there is none (empty msgstr)."""
        return self.messages.get(message) or None

    def missing(self, messages: Iterable[str]) -> list[str]:
        """The messages this catalogue does not translate."""
        return [message for message in messages if not self.get(message)]


def parse_po(text: str, language: str) -> Catalogue:
    """Read a PO file's entries (msgid/msgstr with continuation lines; comments ignored)."""
    entries: list[tuple[str, str]] = []
    current: dict[str, str] = {}
    key = ""
    for line in [*text.splitlines(), ""]:
        line = line.strip()
        if line.startswith("msgid "):
            if "msgid" in current:
                entries.append((current["msgid"], current.get("msgstr", "")))
            current, key = {"msgid": ast.literal_eval(line[6:])}, "msgid"
        elif line.startswith("msgstr "):
            current["msgstr"], key = ast.literal_eval(line[7:]), "msgstr"
        elif line.startswith('"') and key:
            current[key] += ast.literal_eval(line)
        elif not line or line.startswith("#"):
            key = "" if not line else key
    if "msgid" in current:
        entries.append((current["msgid"], current.get("msgstr", "")))
    catalogue = Catalogue(language, raw=text.encode("utf-8"))
    for msgid, msgstr in entries:
        if msgid == "":
            for header_line in msgstr.splitlines():
                name, _, value = header_line.partition(":")
                if name:
                    catalogue.header[name.strip()] = value.strip()
        else:
            catalogue.messages[msgid] = msgstr
    return catalogue


def write_po(path: Path, catalogue: Catalogue, messages: Iterable[str]) -> None:
    """Write a catalogue with the given message ids, in order (translations kept, new ones empty)."""
    lines = [
        f"# Stride handout, {catalogue.language}. Drafted as the header says; awaiting clinical review",
        "# until an admin records the review on the admin page.",
        'msgid ""',
        'msgstr ""',
        *(_quote(f"{name}: {value}\n") for name, value in catalogue.header.items()),
        "",
    ]
    for message in messages:
        lines += [f"msgid {_quote(message)}", f"msgstr {_quote(catalogue.messages.get(message, ''))}", ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines), encoding="utf-8")


def catalogue_path(language: str) -> Path:
    """Where a language's catalogue lives."""
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def shipped_languages() -> list[str]:
    """Languages with a catalogue, sorted."""
    return sorted(path.parents[1].name for path in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))


@functools.cache
def _load(path: Path, mtime_ns: int, language: str) -> Catalogue:
    return parse_po(path.read_text(encoding="utf-8"), language)


def catalogue(language: str) -> Catalogue | None:
    """The catalogue of a language (its base subtag: "es-MX" uses es), or None when there is none."""
    base = language.split("-", 1)[0].lower()
    path = catalogue_path(base)
    if not path.is_file():
        return None
    return _load(path, path.stat().st_mtime_ns, base)


# --- Translating a plan --------------------------------------------------------------------------


def _fill(text: str, values: dict[str, str]) -> str:
    return text.format_map(values) if "{" in text else text


@dataclass
class Translation:
    """A plan in another language, with the English strings that had no translation."""

    plan: Plan
    language: str
    catalogue_version: str
    missing: list[str]


def _pairs(library: Library, found: Catalogue, values: dict[str, str]) -> dict[str, str]:
    """Every printed English string the library can produce -> its translation (filled in)."""
    pairs: dict[str, str] = {}

    def add(english: str, translated: str | None) -> None:
        if english and translated:
            pairs.setdefault(_fill(english, values), _fill(translated, values))

    for item in library.entries():
        for text in item.patient_texts():
            add(text, found.get(text))
        reassurance, text = getattr(item, "reassurance", ""), getattr(item, "text", "")
        if reassurance and text:
            both = [found.get(reassurance), found.get(text)]
            if all(both):
                add(f"{reassurance} {text}", " ".join(part for part in both if part))
    return pairs


# The translated fields of an advice item and of an exercise card (a string or a list of strings).
Printed = TypeVar("Printed", PlanItem, PlanExercise)
ITEM_FIELDS = ("title", "text", "bullets")
EXERCISE_FIELDS = ("name", "purpose", "steps", "dose")


def translate_plan(plan: Plan, library: Library, language: str, values: dict[str, str]) -> Translation | None:
    """The plan in `language` (None: no catalogue). An English string without a translation stays
    English and is listed in `missing`; the patient's name, dates and numbers are kept as they are."""
    found = catalogue(language)
    if found is None:
        return None
    pairs = _pairs(library, found, {name: values.get(name, "") for name in PLACEHOLDERS})
    missing: list[str] = []

    def tr(text: str) -> str:
        if not text:
            return text
        translated = pairs.get(text) or found.get(text)
        if translated is None:
            missing.append(text)
            return text
        return translated

    def printed(entry: Printed, fields: tuple[str, ...]) -> Printed:
        update: dict[str, object] = {}
        for name in fields:  # in print order, which is the order of `missing`
            value = getattr(entry, name)
            update[name] = [tr(line) for line in value] if isinstance(value, list) else tr(value)
        return entry.model_copy(update=update)

    translated = plan.model_copy(
        update={
            "sections": {
                key: [printed(entry, ITEM_FIELDS) for entry in items] for key, items in plan.sections.items()
            },
            "exercises": [printed(entry, EXERCISE_FIELDS) for entry in plan.exercises],
            "goals": list(plan.goals),  # the patient's own words
        }
    )
    return Translation(translated, found.language, found.version, list(dict.fromkeys(missing)))


def furniture(language: str | None) -> dict[str, str]:
    """The page furniture in a language: English -> translation (English where there is none)."""
    found = catalogue(language) if language else None
    return {text: (found.get(text) if found else None) or text for text in FURNITURE}


# --- Command line --------------------------------------------------------------------------------


def untranslated(library: Library | None = None) -> Iterator[tuple[str, str]]:
    """(language, English message) for every message a shipped catalogue does not translate."""
    messages = all_messages(library or load_library_files())
    for language in shipped_languages():
        found = catalogue(language)
        assert found is not None
        for message in found.missing(messages):
            yield language, message


def main(argv: list[str]) -> int:
    """`check`: list untranslated strings (exit 1 if any); `extract`: add new strings to catalogues."""
    command = argv[0] if argv else "check"
    library = load_library_files()
    if command == "extract":
        messages = all_messages(library)
        for language in argv[1:] or shipped_languages():
            found = catalogue(language) or Catalogue(language, header={"Language": language})
            write_po(catalogue_path(language), found, messages)
        return 0
    if command == "check":
        gaps = list(untranslated(library))
        for language, message in gaps:
            print(f"{language}: {message}")
        counts = {lang: sum(1 for g in gaps if g[0] == lang) for lang in shipped_languages()}
        print(", ".join(f"{lang} {count} untranslated" for lang, count in counts.items()) or "no catalogues")
        return 1 if gaps else 0
    print("usage: python -m reports.i18n [check | extract [LANG...]]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
