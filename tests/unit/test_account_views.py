"""The My account and Log in pages' checks and wording, without their widgets."""

from collections.abc import Mapping

from dashboard import account_views as view
from dashboard import web_sessions
from dashboard.form_errors import GENERAL
from dashboard.ports import InvalidInputError, User


def test_a_missing_current_password_is_caught_before_the_service() -> None:
    errors = view.check_before_saving({"current": "", "new": "a", "repeat": "b"})
    assert errors == {"current": view.NO_CURRENT}


def test_two_different_new_passwords_are_caught_under_the_repeat_box() -> None:
    assert view.check_before_saving({"current": "x", "new": "a", "repeat": "b"}) == {
        "repeat": view.NOT_THE_SAME
    }
    assert view.check_before_saving({"new": "a", "repeat": "b"}) == {"repeat": view.NOT_THE_SAME}


def test_matching_new_passwords_go_to_the_service() -> None:
    assert view.check_before_saving({"current": "x", "new": "same", "repeat": "same"}) == {}
    assert view.check_before_saving({"new": "same", "repeat": "same"}) == {}


def test_a_refusal_lands_under_the_box_it_names_or_under_the_form() -> None:
    refusal = InvalidInputError({"current": "Not right.", "password": "Harder to guess."})
    assert view.refusal_errors(refusal, view.CHANGE_OWN) == {
        "current": "Not right.",
        GENERAL: "Harder to guess.",
    }
    assert view.refusal_errors(refusal, view.CHOOSE_REQUIRED) == {GENERAL: "Harder to guess."}


def test_both_password_forms_ask_for_the_new_password_twice_with_the_same_advice() -> None:
    for fields in (view.CHANGE_OWN, view.CHOOSE_REQUIRED):
        assert [f.name for f in fields][-2:] == ["new", "repeat"]
        assert fields[-2].help == view.NEW_PASSWORD_HELP
    assert len({f.key for f in (*view.CHANGE_OWN, *view.CHOOSE_REQUIRED)}) == 5


def test_the_account_heading_escapes_markdown_in_names() -> None:
    user = User(id="u1", username="a*b", display_name="`Ada`", role="clinician")
    heading = view.account_heading(user)
    assert "a\\*b" in heading and "\\`Ada\\`" in heading and "role **clinician**" in heading


def test_only_a_logout_with_a_cookie_left_sends_the_browser_to_delete_it() -> None:
    cookies = {web_sessions.COOKIE_NAME: "token"}
    assert web_sessions.LOGOUT_PATH in (view.logout_redirect(True, cookies) or "")
    assert view.logout_redirect(True, {}) is None
    assert view.logout_redirect(False, cookies) is None


def test_the_demo_note_names_every_demo_account() -> None:
    note = view.demo_accounts_note()
    assert "`demo.admin` (admin)" in note and "Fictional demo clinic" in note


def test_a_password_is_saved_only_after_the_page_checks_pass() -> None:
    saved: list[str] = []
    account = User(id="u1", username="ada", display_name="Ada", role="clinician")

    def save(typed: Mapping[str, str]) -> User:
        saved.append(typed["new"])
        return account

    assert view.save_password({"new": "a", "repeat": "b"}, view.CHOOSE_REQUIRED, save) == (
        None,
        {"repeat": view.NOT_THE_SAME},
    )
    assert saved == []
    assert view.save_password({"new": "a", "repeat": "a"}, view.CHOOSE_REQUIRED, save) == (account, {})
    assert saved == ["a"]


def test_a_refused_password_comes_back_as_messages_for_the_form() -> None:
    def refuse(typed: Mapping[str, str]) -> User:
        raise InvalidInputError({"current": "The current password is not right."})

    values = {"current": "x", "new": "n", "repeat": "n"}
    assert view.save_password(values, view.CHANGE_OWN, refuse) == (
        None,
        {"current": "The current password is not right."},
    )


def test_every_password_box_is_masked_and_keeps_its_key() -> None:
    box = view.CHANGE_OWN[0].box()
    assert box == {
        "label": "Current password",
        "type": "password",
        "key": "account_current",
        "autocomplete": "current-password",
        "help": None,
    }
