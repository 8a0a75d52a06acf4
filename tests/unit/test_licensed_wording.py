"""The clinic's licensed item wording: a file is checked against the catalogue, item by item and answer by
answer, and turned into the patient's questionnaire (clinical-reference §12.1, §7.10).

Every wording here is an obvious placeholder ("Item 1 placeholder"): Stride ships no instrument text.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from dashboard import licensed_wording as lw
from dashboard.catalogue.instruments import licensed
from tests.factories import placeholder_wording, placeholder_wording_file


def encoded(wording: dict[str, Any]) -> bytes:
    return json.dumps(wording).encode("utf-8")


def changed(change: Any, instrument: str = "odi") -> bytes:
    """The placeholder file of an instrument after `change` edits its parsed form in place."""
    wording = copy.deepcopy(placeholder_wording(instrument))
    change(wording)
    return encoded(wording)


@pytest.mark.parametrize("instrument", sorted(licensed()))
def test_a_complete_placeholder_file_of_every_licensed_instrument_is_accepted(instrument: str) -> None:
    wording = lw.check_wording(instrument, placeholder_wording_file(instrument))
    assert isinstance(wording, lw.Wording)
    assert [item.code for item in wording.items] == list(licensed()[instrument].item_codes)
    assert wording.items[0].text == f"Item {wording.items[0].code} placeholder"


def test_the_rmdq_answers_are_written_yes_and_no_and_read_back_as_true_and_false() -> None:
    wording = lw.check_wording("rmdq", placeholder_wording_file("rmdq"))
    assert isinstance(wording, lw.Wording)
    first = wording.items[0]
    assert dict(first.answers) == {"no": "Answer no placeholder", "yes": "Answer yes placeholder"}
    assert lw.answer_value(wording, first, "yes") is True and lw.answer_value(wording, first, "no") is False


def test_the_stored_form_reads_back_as_the_same_wording_in_the_files_answer_order() -> None:
    file = placeholder_wording("startback")
    file["items"]["q1"]["answers"] = {"disagree": "Answer B placeholder", "agree": "Answer A placeholder"}
    wording = lw.check_wording("startback", encoded(file))
    assert isinstance(wording, lw.Wording)
    again = lw.check_wording("startback", wording.to_json().encode("utf-8"))
    assert again == wording and [code for code, _ in wording.items[0].answers] == ["disagree", "agree"]


def _drop_item(w: dict[str, Any]) -> None:
    del w["items"]["3"]


def _drop_answer(w: dict[str, Any]) -> None:
    del w["items"]["3"]["answers"]["5"]


def _extra_answer(w: dict[str, Any]) -> None:
    w["items"]["3"]["answers"]["6"] = "Answer 6 placeholder"


def _extra_item(w: dict[str, Any]) -> None:
    w["items"]["11"] = w["items"]["1"]


def _two_lines(w: dict[str, Any]) -> None:
    w["items"]["2"]["text"] = "Item 2 placeholder\nsecond line"


def _control(w: dict[str, Any]) -> None:
    w["items"]["4"]["answers"]["0"] = "Answer\u202e placeholder"


def _long_item(w: dict[str, Any]) -> None:
    w["items"]["1"]["text"] = "x" * (lw.ITEM_TEXT_MAX + 1)


def _long_answer(w: dict[str, Any]) -> None:
    w["items"]["1"]["answers"]["2"] = "x" * (lw.ANSWER_TEXT_MAX + 1)


def _empty_text(w: dict[str, Any]) -> None:
    w["items"]["7"]["text"] = "   "


def _number_text(w: dict[str, Any]) -> None:
    w["items"]["7"]["answers"]["1"] = 1


def _other_instrument(w: dict[str, Any]) -> None:
    w["instrument"] = "rmdq"


def _extra_top_level(w: dict[str, Any]) -> None:
    w["licence"] = "ours"


def _item_without_answers(w: dict[str, Any]) -> None:
    del w["items"]["9"]["answers"]


def _answers_as_list(w: dict[str, Any]) -> None:
    w["items"]["9"]["answers"] = ["a", "b"]


BAD_FILES = [
    # (what is wrong, the file, the field named, words of its message)
    ("an item is missing", changed(_drop_item), "items.3", "Item 3 is missing"),
    ("an answer is missing", changed(_drop_answer), "items.3.answers.5", "Item 3, answer 5"),
    ("an answer not allowed", changed(_extra_answer), "items.3.answers.6", "not one of its answers"),
    ("an item the instrument lacks", changed(_extra_item), "items.11", "not an item of"),
    ("a text of two lines", changed(_two_lines), "items.2.text", "one line"),
    ("a control character", changed(_control), "items.4.answers.0", "no control characters"),
    ("an item text too long", changed(_long_item), "items.1.text", f"longer than {lw.ITEM_TEXT_MAX}"),
    ("an answer too long", changed(_long_answer), "items.1.answers.2", "longer than"),
    ("an empty text", changed(_empty_text), "items.7.text", "is empty"),
    ("an answer that is a number", changed(_number_text), "items.7.answers.1", "must be text"),
    ("the file of another instrument", changed(_other_instrument), "instrument", "'rmdq', not 'odi'"),
    ("something beside the items", changed(_extra_top_level), "file", "exactly"),
    ("an item without answers", changed(_item_without_answers), "items.9", "exactly"),
    ("answers as a list", changed(_answers_as_list), "items.9.answers", "code and text pairs"),
    ("not JSON", b'{"instrument": "odi", ', "file", "not valid JSON"),
    ("not UTF-8", b"\xff\xfe{}", "file", "not UTF-8"),
    ("a list, not a file of items", b"[1, 2]", "file", "exactly"),
    ("nested too deeply", b"[" * 100_000 + b"]" * 100_000, "file", ""),
    ("too large", b" " * (lw.MAX_FILE_BYTES + 1), "file", "larger than 200 KB"),
]


@pytest.mark.parametrize(("case", "data", "field", "words"), BAD_FILES, ids=[row[0] for row in BAD_FILES])
def test_a_bad_wording_file_gets_a_message_naming_its_item_and_answer(
    case: str, data: bytes, field: str, words: str
) -> None:
    problems = lw.check_wording("odi", data)
    assert isinstance(problems, dict), case
    assert words in problems[field]


def test_every_problem_of_a_file_is_reported_at_once() -> None:
    def two_problems(w: dict[str, Any]) -> None:
        _drop_item(w)
        _two_lines(w)

    assert set(lw.check_wording("odi", changed(two_problems))) == {"items.3", "items.2.text"}


def test_an_unexpected_code_is_quoted_short_in_the_message() -> None:
    problems = lw.check_wording("odi", changed(lambda w: w["items"].update({"9" * 500: {}})))
    assert isinstance(problems, dict)
    assert max(len(key) for key in problems) < 40 and all(len(m) < 120 for m in problems.values())


def test_an_upload_over_the_bound_is_refused_by_its_size_alone() -> None:
    assert lw.too_large(lw.MAX_FILE_BYTES) is None
    assert lw.too_large(lw.MAX_FILE_BYTES + 1) is not None


def meta_with(*keys: str, wording: str = "odi") -> dict[str, str]:
    stored = lw.check_wording(wording, placeholder_wording_file(wording))
    assert isinstance(stored, lw.Wording)
    values = {"licence": lw.licence_key, "patient_use": lw.patient_use_key, "wording": lw.wording_key}
    return {values[k](wording): stored.to_json() if k == "wording" else '{"note": "x"}' for k in keys}


@pytest.mark.parametrize(
    ("recorded", "offered"),
    [
        (("licence", "patient_use", "wording"), ["odi"]),
        (("licence", "patient_use"), []),  # no wording loaded
        (("licence", "wording"), []),  # the licence does not cover patient-completed use
        (("patient_use", "wording"), []),  # the licence was withdrawn
    ],
)
def test_a_patient_is_offered_an_instrument_only_when_all_three_are_recorded(
    recorded: tuple[str, ...], offered: list[str]
) -> None:
    meta = meta_with(*recorded)
    assert [w.instrument for w in lw.patient_wordings(meta.get)] == offered


def test_a_stored_wording_the_catalogue_no_longer_matches_is_left_out() -> None:
    meta = meta_with("licence", "patient_use", "wording")
    meta[lw.wording_key("odi")] = '{"instrument": "odi", "items": {}}'
    assert lw.patient_wordings(meta.get) == ()


def test_the_odi_answers_become_ten_sections_with_blanks_and_the_zcq_answers_a_map() -> None:
    odi = lw.check_wording("odi", placeholder_wording_file("odi"))
    zcq = lw.check_wording("zcq", placeholder_wording_file("zcq"))
    assert isinstance(odi, lw.Wording) and isinstance(zcq, lw.Wording)
    assert lw.visit_value(odi, {"1": 3, "10": 0}) == [3, None, None, None, None, None, None, None, None, 0]
    assert lw.visit_value(zcq, {"q7": 5, "q1": 2}) == {"q1": 2, "q7": 5}
    assert lw.visit_value(odi, {}) is None
