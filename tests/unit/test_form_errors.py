"""A refusal's messages are sorted into the places a form shows them."""

from dashboard.form_errors import GENERAL, error_messages, errors_by_field
from dashboard.ports import InvalidInputError, NotFoundError


def test_a_field_refusal_gives_one_message_per_field_in_order() -> None:
    refusal = InvalidInputError({"new": "Too short.", "current": "Not right."})
    assert error_messages(refusal) == ["Too short.", "Not right."]


def test_any_other_refusal_gives_its_one_message() -> None:
    assert error_messages(NotFoundError("No such patient.")) == ["No such patient."]


def test_without_a_field_list_every_field_keeps_its_name() -> None:
    refusal = InvalidInputError({"username": "Taken.", GENERAL: "Not now."})
    assert errors_by_field(refusal) == {"username": "Taken.", GENERAL: "Not now."}


def test_a_field_the_form_has_no_place_for_goes_under_the_form() -> None:
    refusal = InvalidInputError({"new": "Too short.", "password": "Harder to guess."})
    assert errors_by_field(refusal, {"new"}) == {"new": "Too short.", GENERAL: "Harder to guess."}


def test_a_refusal_without_fields_belongs_to_the_whole_form() -> None:
    assert errors_by_field(NotFoundError("Gone."), {"new"}) == {GENERAL: "Gone."}
