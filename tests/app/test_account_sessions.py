"""AppTest: the router re-reads the account on every rerun, and an admin's reset forces a new password."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import account_services, auth, services
from data.store import SqlStore
from tests.app.conftest import as_shown
from tests.conftest import ROOT

APP = str(ROOT / "app.py")


def account(store: SqlStore, username: str) -> Any:
    with store.read() as tx:
        return tx.get_user_by_username(username)


def logged_in(store: SqlStore, username: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    at.session_state["user"] = account(store, username)
    at.run()
    assert not at.exception, at.exception
    return at


def test_after_deactivation_the_next_rerun_shows_the_login_page(clinic: SqlStore) -> None:
    at = logged_in(clinic, "demo.clinician")
    assert at.title[0].value == "Patients"

    services.admin_update_user(
        clinic, account(clinic, "demo.admin"), account(clinic, "demo.clinician").id, active=False
    )
    at.run()

    assert not at.exception, at.exception
    assert "user" not in at.session_state
    assert at.text_input(key="login_username") is not None
    assert any("account was changed" in info.value for info in at.info)
    assert [row.action for row in clinic_audit(clinic)][-1] == "logout"


def test_after_a_role_change_the_sidebar_no_longer_offers_the_admin_page(clinic: SqlStore) -> None:
    at = logged_in(clinic, "demo.admin")
    second = services.create_user(
        clinic,
        account(clinic, "demo.admin"),
        username="ada",
        display_name="Ada",
        role="admin",
        password="a-good-long-passphrase",
    )
    services.admin_update_user(clinic, second, account(clinic, "demo.admin").id, role="clinician")

    at.run()

    assert "user" not in at.session_state  # logged out; a new login gets the clinician's pages


def test_after_an_admin_reset_a_new_password_is_chosen_before_any_page(clinic: SqlStore) -> None:
    admin = account(clinic, "demo.admin")
    services.admin_update_user(
        clinic, admin, account(clinic, "demo.clinician").id, new_password="temp-pass-for-you"
    )
    at = AppTest.from_file(APP, default_timeout=30).run()
    at.text_input(key="login_username").input("demo.clinician")
    at.text_input(key="login_password").input("temp-pass-for-you")
    at.button[0].click().run()
    assert any(sub.value == "Choose a new password" for sub in at.subheader)
    at.run()  # another rerun (any page's address) still shows only this step
    assert any(sub.value == "Choose a new password" for sub in at.subheader)
    assert [t.value for t in at.title] == ["Stride"]

    at.text_input(key="required_new").input("aaaaaaaaaa")
    at.text_input(key="required_repeat").input("aaaaaaaaaa")
    at.button(key="required_submit").click().run()
    assert at.error and "harder to guess" in at.error[0].value

    at.text_input(key="required_new").input("my-own-quiet-phrase")
    at.text_input(key="required_repeat").input("my-own-quiet-phrase")
    at.button(key="required_submit").click().run()

    assert not at.exception, at.exception
    assert at.title[0].value == "Patients"
    assert (
        services.authenticate(clinic, "demo.clinician", "my-own-quiet-phrase").id
        == at.session_state["user"].id
    )


def test_the_login_page_says_when_to_try_again_after_repeated_failures(
    clinic: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The clock stands still: on a loaded machine eight attempts can take longer than the growing
    # delays (1, 2, 4 s), and the last one would then be checked instead of refused.
    frozen = dt.datetime.now(dt.UTC)
    monkeypatch.setattr(account_services, "_utcnow", lambda: frozen)  # the login throttle's clock
    at = AppTest.from_file(APP, default_timeout=30).run()
    for _ in range(8):
        at.text_input(key="login_username").input("demo.admin")
        at.text_input(key="login_password").input("not-" + auth.DEMO_PASSWORD)
        at.button[0].click().run()

    assert "Too many attempts. Try again in about" in as_shown(at.error[0].value)


def clinic_audit(store: SqlStore) -> list[Any]:
    with store.read() as tx:
        return list(reversed(tx.audit_entries(limit=20)))
