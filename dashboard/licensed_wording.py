"""The clinic's licensed item wording for patient-completed questionnaires (clinical-reference §12.1, §7.10).

Stride ships no instrument wording. A clinic whose licence covers patient-completed electronic use
loads its own licensed wording as a JSON file, one entry per item code of the catalogue entry:

    {"instrument": "odi",
     "items": {"1": {"text": "...", "answers": {"0": "...", "1": "...", ...}}, ...}}

Answer codes are the catalogue's allowed answers written as text: numbers as digits ("0"), the
RMDQ's yes/no as "yes" and "no", words as they are ("agree"). This module checks a file against
the catalogue (every item and every allowed answer, nothing more; one-line texts of bounded length
with no control characters), gives field-level messages naming the item and answer, and turns a
patient's chosen answers into the Visit field's shape. Pure: storage and pages live elsewhere.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

from dashboard.catalogue.instruments import Instrument, licensed

MAX_FILE_BYTES: Final = 200 * 1024  # a full instrument's wording is a few KB; checked before reading
ITEM_TEXT_MAX: Final = 400  # characters of one item's text
ANSWER_TEXT_MAX: Final = 200  # characters of one answer's text
_CODE_SHOWN_MAX: Final = 20  # characters of an unexpected item or answer code quoted in a message
# Invisible joiners some scripts need inside words; every other control or format character is refused.
_JOINERS: Final = frozenset("\u200c\u200d")
# The Visit keeps the RMDQ as 24 yes/no values with no blank, and no RMDQ is scored with a blank
# item (§7.4): a patient answers all of its items or none.
COMPLETE_ONLY: Final = frozenset({"rmdq"})


def licence_key(instrument: str) -> str:
    """The metadata key of an instrument's recorded licence (governance)."""
    return f"licence:{instrument}"


def patient_use_key(instrument: str) -> str:
    """The metadata key of the decision that the licence covers patient-completed electronic use."""
    return f"patient_use:{instrument}"


def wording_key(instrument: str) -> str:
    """The metadata key of the clinic's loaded item wording for an instrument."""
    return f"wording:{instrument}"


def answer_code(value: object) -> str:
    """An allowed answer as the wording file writes it: "yes"/"no" for True/False, digits, or the word."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


@dataclass(frozen=True)
class ItemWording:
    """One item in the clinic's licensed wording: its code, text and answers (code, text) in file order."""

    code: str
    text: str
    answers: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Wording:
    """An instrument's licensed wording as loaded by an admin, items in catalogue order."""

    instrument: str  # the licence key: "odi", "rmdq", "zcq", "startback"
    items: tuple[ItemWording, ...]

    @property
    def entry(self) -> Instrument:
        """The instrument's catalogue entry (Visit field, allowed answers, name)."""
        return licensed()[self.instrument]

    def field(self, item: ItemWording) -> str:
        """The check-in form's field name of an item, e.g. "odi_3" or "startback_q9"."""
        return f"{self.instrument}_{item.code}"

    @property
    def field_names(self) -> list[str]:
        """Every item's form field name, in order."""
        return [self.field(item) for item in self.items]

    def to_json(self) -> str:
        """The stored form: the file's layout, items in catalogue order, answers in the file's order."""
        items = {item.code: {"text": item.text, "answers": dict(item.answers)} for item in self.items}
        return json.dumps(
            {"instrument": self.instrument, "items": items}, ensure_ascii=False, separators=(",", ":")
        )


def too_large(size: int) -> str | None:
    """The message for an upload over MAX_FILE_BYTES (checked before the file is read), else None."""
    if size > MAX_FILE_BYTES:
        return f"The file is larger than {MAX_FILE_BYTES // 1024} KB; a wording file is a few KB."
    return None


def _shown(code: object) -> str:
    text = str(code)
    return text if len(text) <= _CODE_SHOWN_MAX else text[:_CODE_SHOWN_MAX] + "…"


def _line_problem(value: object, limit: int) -> str | None:
    """What is wrong with one text of the file (None when it is a usable one-line text)."""
    if not isinstance(value, str):
        return "must be text."
    if not value.strip():
        return "is empty."
    if len(value) > limit:
        return f"is longer than {limit} characters."
    if any(unicodedata.category(ch).startswith("C") and ch not in _JOINERS for ch in value):
        return "must be one line with no control characters."
    return None


def _allowed_codes(entry: Instrument, code: str) -> dict[str, object]:
    """An item's allowed answers by answer code, in value order."""
    return {answer_code(value): value for value in sorted(entry.allowed[code])}  # type: ignore[type-var]


def _item(entry: Instrument, code: str, raw: object, problems: dict[str, str]) -> ItemWording | None:
    where, before = f"items.{code}", len(problems)
    if not isinstance(raw, dict) or set(raw) != {"text", "answers"}:
        problems[where] = f'Item {code}: give exactly a "text" and its "answers".'
        return None
    if message := _line_problem(raw["text"], ITEM_TEXT_MAX):
        problems[f"{where}.text"] = f"Item {code}: the text {message}"
    answers = raw["answers"]
    if not isinstance(answers, dict):
        problems[f"{where}.answers"] = f"Item {code}: the answers must be a set of code and text pairs."
        return None
    allowed = _allowed_codes(entry, code)
    for answer in allowed:
        if answer not in answers:
            problems[f"{where}.answers.{answer}"] = f"Item {code}, answer {answer}: the text is missing."
        elif message := _line_problem(answers[answer], ANSWER_TEXT_MAX):
            problems[f"{where}.answers.{answer}"] = f"Item {code}, answer {answer}: the text {message}"
    for extra in (a for a in answers if a not in allowed):
        problems[f"{where}.answers.{_shown(extra)}"] = (
            f"Item {code}, answer {_shown(extra)} is not one of its answers ({', '.join(allowed)})."
        )
    if len(problems) > before:
        return None
    return ItemWording(code, raw["text"].strip(), tuple((a, str(answers[a]).strip()) for a in answers))


def check_wording(instrument: str, data: bytes) -> Wording | dict[str, str]:
    """A wording file checked against the catalogue: the Wording, or field-level messages (item, answer)."""
    entries = licensed()
    if instrument not in entries:
        return {"instrument": "Unknown instrument."}
    if message := too_large(len(data)):
        return {"file": message}
    try:
        parsed = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        return {"file": "The file is not UTF-8 text."}
    except json.JSONDecodeError as exc:
        return {"file": f"The file is not valid JSON (line {exc.lineno}, column {exc.colno})."}
    except RecursionError:
        return {"file": "The file is nested too deeply to be a wording file."}
    entry = entries[instrument]
    if not isinstance(parsed, dict) or set(parsed) != {"instrument", "items"}:
        return {"file": 'The file must hold exactly an "instrument" and its "items".'}
    if parsed["instrument"] != instrument:
        return {"instrument": f"This file is for {_shown(parsed['instrument'])!r}, not {instrument!r}."}
    raw_items = parsed["items"]
    if not isinstance(raw_items, dict):
        return {"items": 'The "items" must be a set of item code and wording pairs.'}
    problems: dict[str, str] = {}
    items = []
    for code in entry.item_codes:
        if code not in raw_items:
            problems[f"items.{code}"] = f"Item {code} is missing."
        elif (item := _item(entry, code, raw_items[code], problems)) is not None:
            items.append(item)
    for extra in (c for c in raw_items if c not in entry.allowed):
        problems[f"items.{_shown(extra)}"] = f"Item {_shown(extra)} is not an item of {entry.name}."
    return problems or Wording(instrument, tuple(items))


def patient_wordings(get_meta: Callable[[str], str | None]) -> tuple[Wording, ...]:
    """The instruments a patient may fill in (§12.1): licence recorded, patient-completed use recorded and
    wording loaded, in catalogue order; a stored wording the catalogue no longer matches is left out."""
    out = []
    for instrument in licensed():
        stored = get_meta(wording_key(instrument))
        if not (get_meta(licence_key(instrument)) and get_meta(patient_use_key(instrument)) and stored):
            continue
        wording = check_wording(instrument, stored.encode("utf-8"))
        if isinstance(wording, Wording):
            out.append(wording)
    return tuple(out)


def answer_value(wording: Wording, item: ItemWording, code: str) -> object:
    """The Visit value of an answer code (e.g. "3" -> 3, "yes" -> True); KeyError when not allowed."""
    return _allowed_codes(wording.entry, item.code)[code]


def visit_value(wording: Wording, chosen: Mapping[str, object]) -> object | None:
    """The Visit field's value from the answers chosen per item code (None when nothing was answered):
    a list in item order for the ODI (None where blank) and the RMDQ, a code -> answer map otherwise."""
    if not chosen:
        return None
    entry = wording.entry
    assert entry.export is not None  # every licensed instrument has item answers
    if entry.export.item_kind == "int":  # items by position
        return [chosen.get(code) for code in entry.item_codes]
    return {code: chosen[code] for code in entry.item_codes if code in chosen}
