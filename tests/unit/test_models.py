"""The visit model refuses questionnaire answers outside their items, in the form's words."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from dashboard.models import field_errors
from tests.factories import make_visit


def message_for(field: str, answers: Any) -> str:
    with pytest.raises(ValidationError) as caught:
        make_visit(**{field: answers})
    return field_errors(caught.value)[field]


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({"q19": 1}, "unknown item q19; expected q1 to q18"),
        ({"q7": 2}, "item q7 is outside its coded range"),  # balance is scored 1, 3 or 5
        ({"q8": 5}, "item q8 is outside its coded range"),
    ],
)
def test_a_zcq_answer_outside_its_item_is_refused_naming_the_item(answers: Any, message: str) -> None:
    assert message_for("zcq_items", answers) == message


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({"q10": "agree"}, "unknown item q10; expected q1 to q9"),
        ({"q1": "very_much"}, "item q1 must be one of agree, disagree"),
        ({"q9": "agree"}, "item q9 must be one of not_at_all, slightly, moderately, very_much, extremely"),
    ],
)
def test_a_startback_answer_outside_its_item_is_refused_with_the_answers_it_allows(
    answers: Any, message: str
) -> None:
    assert message_for("startback", answers) == message


def test_answers_within_their_items_are_kept() -> None:
    visit = make_visit(zcq_items={"q1": 2, "q7": 5, "q18": 4}, startback={"q1": "agree", "q9": "slightly"})
    assert visit.zcq_items == {"q1": 2, "q7": 5, "q18": 4} and visit.startback == {
        "q1": "agree",
        "q9": "slightly",
    }


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("sex", "Q", "choose one of the options offered"),
        ("sex", None, "choose one of the options offered"),
        ("symptom_onset", None, "enter a date (yyyy-mm-dd)"),
        ("symptom_onset", "31/02/1960", "enter a date (yyyy-mm-dd)"),
    ],
)
def test_an_unlisted_or_unparsable_patient_field_is_refused_in_the_forms_words(
    field: str, value: Any, message: str
) -> None:
    from tests.factories import make_patient

    with pytest.raises(ValidationError) as caught:
        make_patient(**{field: value})
    errors = field_errors(caught.value)
    assert errors[field] == message and str(value) not in errors[field]


def test_a_visit_number_that_is_not_a_number_asks_for_one() -> None:
    assert message_for("pain_nrs", "four") == "enter a whole number"


def test_every_walking_problem_is_named_at_once() -> None:
    # "4:30" and "12:00" typed into number fields arrive as 430 and 1,200 minutes.
    with pytest.raises(ValidationError) as caught:
        make_visit(
            walk_protocol="spwt",
            walk_onset_min=430.0,
            walk_total_min=1200.0,
            walk_onset_m=500.0,
            walk_total_m=100.0,
        )
    assert field_errors(caught.value) == {
        "walk_total_m": "must not be less than walk_onset_m",
        "walk_onset_min": "the spwt protocol stops at 30 min",
        "walk_total_min": "the spwt protocol stops at 30 min",
    }
