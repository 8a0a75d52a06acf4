"""The password policy: length, username, and guessable passwords from our bundled list and rules."""

from __future__ import annotations

import pytest

from dashboard import auth


@pytest.mark.parametrize(
    "weak",
    [
        pytest.param("aaaaaaaaaa", id="one-character-repeated"),
        pytest.param("abcabcabcabc", id="short-unit-repeated"),
        pytest.param("1234567890", id="digit-run"),
        pytest.param("0987654321", id="digit-run-backwards"),
        pytest.param("abcdefghij", id="alphabet-run"),
        pytest.param("qwertyuiop", id="keyboard-row"),
        pytest.param("password12", id="common-word-and-digits"),
        pytest.param("Password2026!", id="common-word-capitalised"),
        pytest.param("letmein!!!!", id="common-word-and-punctuation"),
        pytest.param("Stride2026!", id="product-name"),
    ],
)
def test_guessable_passwords_are_refused_without_repeating_them(weak: str) -> None:
    problems = auth.password_problems("dana", weak)

    assert problems
    assert all(weak.casefold() not in problem.casefold() for problem in problems)


def test_the_clinic_name_is_refused_when_given() -> None:
    assert auth.password_problems("dana", "Riverside2026", avoid=("Riverside Physio",))
    assert not auth.password_problems("dana", "Riverside2026")


@pytest.mark.parametrize(
    "fine", ["long-walk-2026!", "ten-chars!", "a long admin password", "temporary-pass-99", "stride-demo"]
)
def test_ordinary_passphrases_and_the_demo_password_pass(fine: str) -> None:
    assert auth.password_problems("dana", fine) == []


def test_the_bundled_list_is_lower_case_and_has_no_blank_lines() -> None:
    words = auth.common_passwords()
    assert "password" in words and "" not in words
    assert all(word == word.casefold() for word in words)


def test_the_client_address_comes_from_the_proxy_header_only_when_that_is_trusted() -> None:
    header = "198.51.100.7, 203.0.113.5"  # a client-sent entry, then the one our proxy appended
    assert auth.client_address("192.0.2.1", header, trust_forwarded_for=True) == "203.0.113.5"
    assert auth.client_address("192.0.2.1", header, trust_forwarded_for=False) == "192.0.2.1"
    assert auth.client_address(None, None, trust_forwarded_for=True) is None
    assert auth.client_address(object(), object(), trust_forwarded_for=True) is None  # AppTest's mocks


def test_trusting_the_proxy_header_is_a_boolean_setting() -> None:
    from dashboard.config import load_settings

    assert load_settings({"STRIDE_TRUST_FORWARDED_FOR": "true"}).trust_forwarded_for is True
    assert load_settings({"STRIDE_TRUST_FORWARDED_FOR": "0"}).trust_forwarded_for is False
    assert load_settings({}).trust_forwarded_for is False
