"""The Admin pages' context, form callbacks, confirmations, audit window, governance lines, import/export."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pytest

from dashboard import admin_views as view
from dashboard.config import RuleSettings, Settings
from dashboard.form_errors import GENERAL
from dashboard.governance import Decision
from dashboard.page_context import PageContext
from dashboard.page_keys import Admin as keys
from dashboard.ports import InvalidInputError, PermissionDeniedError, User
from dashboard.safe_text import md_escape

ADA = User(id="u1", username="ada*", display_name="Ada", role="clinician")
DECIDED = Decision(by="u9", by_name="Dr *Bea*", at=dt.datetime(2026, 3, 2, 9, 5), note="Checked `all`")
NOW = dt.datetime(2026, 7, 1, 12, 0, tzinfo=dt.UTC)


def context_of(user: User) -> PageContext:
    return PageContext(
        store=cast(Any, None),
        user=user,
        settings=Settings(),
        patient_id="",
        is_demo=True,
        library_loader=None,
    )


def test_an_admin_page_has_a_context_only_for_an_admin_after_the_router_has_run() -> None:
    admin = context_of(dataclasses.replace(ADA, role="admin"))
    assert view.for_admins(admin) is admin
    assert view.for_admins(context_of(ADA)) is None  # a clinician goes back through the router
    assert view.for_admins(None) is None  # a deep link before the router


def test_the_messages_under_a_box_are_those_of_its_fields_in_order_and_escaped() -> None:
    errors = {"password": "Too *short*", GENERAL: "Refused", "username": "Taken"}
    assert view.field_errors(errors, "password", GENERAL) == ["Too \\*short\\*", "Refused"]
    assert view.field_errors(errors, "role") == []


def test_a_new_account_is_confirmed_and_its_fields_cleared() -> None:
    state: dict[str, Any] = {keys.NEW_USERNAME: "ada*", keys.NEW_DISPLAY_NAME: "Ada", keys.NEW_PASSWORD: "pw"}
    asked: list[dict[str, str]] = []

    def create(**values: str) -> User:
        asked.append(values)
        return ADA

    view.submit_new_account(state, create)
    assert asked == [{"username": "ada*", "display_name": "Ada", "role": "", "password": "pw"}]
    assert state[keys.FLASH] == "Account ada\\* (clinician) created."
    assert state[keys.NEW_USERNAME] == state[keys.NEW_DISPLAY_NAME] == state[keys.NEW_PASSWORD] == ""
    assert keys.CREATE_ERRORS not in state


def test_a_refused_new_account_keeps_its_fields_but_never_the_password() -> None:
    state: dict[str, Any] = {keys.NEW_USERNAME: "ada", keys.NEW_PASSWORD: "short"}

    def create(**values: str) -> User:
        raise InvalidInputError({"password": "At least 10 characters."})

    view.submit_new_account(state, create)
    assert state[keys.CREATE_ERRORS] == {"password": "At least 10 characters."}
    assert state[keys.NEW_USERNAME] == "ada" and state[keys.NEW_PASSWORD] == ""
    assert keys.FLASH not in state


def test_an_unconfirmed_erasure_erases_nothing() -> None:
    state: dict[str, Any] = {keys.ERASE_REASON: "Request granted"}

    def erase(**values: str) -> dict[str, int]:
        raise AssertionError("erased without the confirmation")

    view.submit_erasure(state, erase)
    assert state[keys.ERASE_ERRORS] == view.NOT_CONFIRMED


def test_a_confirmed_erasure_says_what_went_and_clears_the_form() -> None:
    state: dict[str, Any] = {
        keys.ERASE_REF: "DEMO-00003",
        keys.ERASE_REQUEST_REF: "DSR-1",
        keys.ERASE_REASON: "Request granted",
        keys.ERASE_CONFIRM: True,
    }
    asked: list[dict[str, str]] = []

    def erase(**values: str) -> dict[str, int]:
        asked.append(values)
        return {"visits": 2, "audit_redacted": 5}

    view.submit_erasure(state, erase)
    assert asked == [{"reason": "Request granted", "request_reference": "DSR-1"}]
    assert state[keys.ERASE_FLASH].startswith("The patient was erased: 2 visit(s)")
    assert state[keys.ERASE_REF] == state[keys.ERASE_REQUEST_REF] == state[keys.ERASE_REASON] == ""
    assert state[keys.ERASE_CONFIRM] is False


def test_a_refused_erasure_keeps_the_form_and_shows_the_reason() -> None:
    state: dict[str, Any] = {keys.ERASE_REF: "DEMO-00003", keys.ERASE_CONFIRM: True}

    def erase(**values: str) -> dict[str, int]:
        raise PermissionDeniedError("Only an admin may erase a patient.")

    view.submit_erasure(state, erase)
    assert state[keys.ERASE_ERRORS] == {GENERAL: "Only an admin may erase a patient."}
    assert state[keys.ERASE_REF] == "DEMO-00003" and state[keys.ERASE_CONFIRM] is True


def test_an_account_is_named_by_username_name_and_role_and_a_deactivated_one_says_so() -> None:
    assert view.account_label(ADA) == "ada* · Ada · clinician"
    assert view.account_label(dataclasses.replace(ADA, active=False)).endswith(" · deactivated")


def test_the_new_account_form_is_read_with_empty_defaults() -> None:
    state = {keys.NEW_USERNAME: "ada", keys.NEW_ROLE: None, keys.NEW_PASSWORD: "pw"}
    assert view.new_account(state) == {"username": "ada", "display_name": "", "role": "", "password": "pw"}


def test_confirmations_escape_the_username() -> None:
    assert view.created(ADA) == "Account ada\\* (clinician) created."
    assert view.activation_changed("ada*", active=False) == "Account ada\\* deactivated."
    assert view.activation_changed("ada*", active=True) == "Account ada\\* reactivated."
    assert view.role_changed("ada*", "admin") == "Account ada\\* is now admin."
    assert view.password_reset("ada*").startswith("Password of ada\\* reset: their open sessions end")


def test_the_audit_filter_starts_with_the_last_thirty_days() -> None:
    assert view.default_audit_days(dt.date(2026, 3, 31)) == (dt.date(2026, 3, 1), dt.date(2026, 3, 31))


def test_the_audit_window_covers_whole_clinic_days_in_utc() -> None:
    query = view.audit_query(
        None,
        "  p1 ",
        "",
        days=(dt.date(2026, 7, 1), dt.date(2026, 7, 2)),
        tz_name="Europe/London",
        now=NOW,
    )
    assert query is not None
    assert query.filters() == {
        "user_id": None,
        "patient_id": "p1",
        "action": None,
        "since": dt.datetime(2026, 6, 30, 23, 0, tzinfo=dt.UTC),  # midnight in London (BST)
        "until": dt.datetime(2026, 7, 2, 23, 0, tzinfo=dt.UTC),  # the end of the To day
    }


def test_an_empty_patient_filter_means_any_patient() -> None:
    day = dt.date(2026, 7, 1)
    query = view.audit_query("u1", " ", "login", days=(day, day), tz_name="UTC", now=NOW)
    assert query is not None and (query.user_id, query.patient_id, query.action) == ("u1", None, "login")


def test_a_start_after_the_end_gives_no_query() -> None:
    late, early = dt.date(2026, 7, 2), dt.date(2026, 7, 1)
    assert view.audit_query(None, "", None, days=(late, early), tz_name="UTC", now=NOW) is None


def test_the_chain_verdict_says_where_it_broke() -> None:
    assert view.chain_verdict(True, 12, None) == "Audit chain intact: 12 entries checked."
    assert view.chain_verdict(False, 12, 7).startswith("Audit chain broken at entry 7 (12 entries checked).")


def test_rule_settings_are_listed_in_words() -> None:
    rows = view.rule_settings_rows(RuleSettings())
    assert rows and all("_" not in row["Setting"] for row in rows)


def test_governance_lines_escape_names_and_notes() -> None:
    assert (
        view.approval_line(DECIDED)
        == "✅ Approved by Dr \\*Bea\\* on 2026-03-02 09:05 UTC: Checked \\`all\\`"
    )
    assert "recorded by Dr \\*Bea\\* on 2026-03-02 UTC" in view.reviewed_line("Arabic", DECIDED)
    assert view.licence_line("ODI", DECIDED).startswith("✅ **ODI**: Checked \\`all\\` (recorded by")
    assert view.awaiting_review_line("A*") == "⚠️ A\\*: awaiting clinical review"


def test_the_export_file_is_dated_and_its_button_is_a_zip() -> None:
    assert view.export_file_name(dt.date(2026, 3, 2)) == "stride-export-20260302.zip"
    args = view.CLINIC_EXPORT.button(keys.EXPORT_DOWNLOAD, "x.zip")
    assert (args["label"], args["mime"], args["key"]) == (
        "Export and download",
        "application/zip",
        "export_download",
    )


def test_the_export_runs_only_at_the_click_after_the_permission_check() -> None:
    calls: list[str] = []
    at_click = view.export_at_click(lambda: calls.append("check"), lambda: calls.append("export") or b"PK")
    assert calls == []
    assert at_click() == b"PK"
    assert calls == ["check", "export"]


def test_a_failed_export_is_logged_by_kind_only(caplog: pytest.LogCaptureFixture) -> None:
    def refuse() -> None:
        raise PermissionDeniedError("patient Ada Example may not be exported")

    with caplog.at_level(logging.ERROR), pytest.raises(RuntimeError, match="the clinic export failed"):
        view.export_at_click(refuse, lambda: b"")()
    assert "PermissionDeniedError" in caplog.text and "Ada" not in caplog.text


def test_the_sweep_stops_after_its_time() -> None:
    assert not view.sweep_over(100.0, 100.0 + view.EXPORT_SWEEP_FOR_S)
    assert view.sweep_over(100.0, 100.1 + view.EXPORT_SWEEP_FOR_S)


def test_an_uploaded_archive_is_a_file_only_while_it_is_read() -> None:
    with view.uploaded_archive(b"PK\x03\x04") as path:
        assert path.read_bytes() == b"PK\x03\x04"
        kept: Path = path
    assert not kept.exists() and not kept.parent.exists()


def test_progress_is_clamped_for_the_bar() -> None:
    assert [view.progress_fraction(f) for f in (-0.5, 0.25, 1.5)] == [0.0, 0.25, 1.0]


def test_an_import_failure_shows_a_refusal_but_only_the_kind_of_anything_else() -> None:
    assert view.import_failure(PermissionDeniedError("Not *allowed*.")) == md_escape("Not *allowed*.")
    assert view.import_failure(KeyError("secret")) == "The import stopped (KeyError); nothing was written."


@dataclass
class Problem:
    file: str
    row: int | None
    field: str | None
    message: str


def test_the_import_report_is_shown_as_a_caption_and_rows() -> None:
    assert view.signature_caption("", "") is None
    caption = view.signature_caption("valid", "this clinic's key")
    assert caption == md_escape("Signature: valid. Clinic key: this clinic's key.")
    rows = view.import_error_rows([Problem("patients.csv", 3, "sex", "Not one of F, M, X.")])
    assert rows == [{"file": "patients.csv", "row": 3, "field": "sex", "message": "Not one of F, M, X."}]


def test_the_erasure_form_is_read_and_confirmed_in_words() -> None:
    state = {keys.ERASE_REASON: "Request granted"}
    assert view.erasure_request(state) == {"reason": "Request granted", "request_reference": ""}
    assert view.erasure_candidate("Ada *E*", dt.date(1960, 5, 1)).startswith(
        "**Ada \\*E\\***, born 1960-05-01"
    )
    assert "record of Ada \\*E\\* is to be erased" in view.erasure_confirmation("Ada *E*")
    assert view.erased({"visits": 4, "audit_redacted": 9}).startswith("The patient was erased: 4 visit(s)")
    counted = view.erased(
        {"visits": 1, "audit_redacted": 2, "invites": 3, "patient_reports": 1, "diary_entries": 2}
    )
    assert "3 link(s), 1 check-in(s) and 2 diary entries" in counted
