"""The Admin page's confirmations, audit filter window, governance lines and import/export plumbing."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path

import pytest

from dashboard import admin_views as view
from dashboard.config import RuleSettings
from dashboard.governance import Decision
from dashboard.page_keys import Admin as keys
from dashboard.ports import PermissionDeniedError, User
from dashboard.safe_text import md_escape

ADA = User(id="u1", username="ada*", display_name="Ada", role="clinician")
DECIDED = Decision(by="u9", by_name="Dr *Bea*", at=dt.datetime(2026, 3, 2, 9, 5), note="Checked `all`")
NOW = dt.datetime(2026, 7, 1, 12, 0, tzinfo=dt.UTC)


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
