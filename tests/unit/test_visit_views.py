"""The Visit page's previews, warnings and words are computed from the unsaved form's values."""

from __future__ import annotations

import datetime as dt
from typing import Any

from dashboard.config import load_settings
from dashboard.models import Screening
from dashboard.page_keys import LAST_SEEN
from dashboard.page_keys import Visit as Keys
from dashboard.ports import Revision, User
from dashboard.visit_form import values_from_form_state
from dashboard.visit_views import (
    carried_notice,
    ces_warning,
    change_preview,
    derived_metrics,
    finding_labels,
    finding_options,
    form_title,
    preview_visit,
    protocol_cap_caption,
    revision_line,
    saved_toast,
    section_run,
    take_saved_result,
)
from tests.factories import make_visit

NOW = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)


def screening(urgency: str) -> Screening:
    return Screening(patient_id="p-1", urgency=urgency, rule_set_version="2025.1")  # type: ignore[arg-type]


def test_the_title_says_whether_the_form_corrects_follows_up_or_starts_the_record() -> None:
    assert form_title(make_visit(), None) == "Correct a visit"
    assert form_title(None, make_visit()) == "Follow-up visit"
    assert form_title(None, None) == "First visit"


def test_a_saved_emergency_waits_for_its_dialog_and_anything_else_is_a_toast() -> None:
    assert saved_toast(screening("EMERGENCY")) is None
    toast = saved_toast(screening("ROUTINE_REVIEW"))
    assert toast is not None and toast.startswith("Saved. Screening: ")


def test_the_carried_forward_notice_names_the_visit_and_escapes_the_items() -> None:
    notice = carried_notice("2025-02-03", ["walking protocol", "PSFS *activities*"])
    assert notice.startswith("Carried forward **from 2025-02-03**: walking protocol")
    assert "PSFS \\*activities\\*." in notice
    assert "tick *Confirm carried-forward items*" in notice


def test_a_protocol_says_where_it_stops_and_no_protocol_says_nothing() -> None:
    assert protocol_cap_caption("spwt") == "This protocol stops at 30 min."
    assert protocol_cap_caption("6mwt") == "This protocol stops at 6 min."
    assert protocol_cap_caption(None) is None


def test_a_new_or_worsening_cauda_equina_answer_warns_of_an_emergency_before_saving() -> None:
    warning = ces_warning({"v_saddle_anaesthesia": "new", "v_bladder_dysfunction": "chronic_stable"})
    assert warning is not None and warning.startswith("🚨 **EMERGENCY: possible cauda equina syndrome**")
    assert "saddle" in warning and "bladder" not in warning
    assert ces_warning({"v_saddle_anaesthesia": "chronic_stable"}) is None


def test_the_findings_lists_are_empty_when_the_library_cannot_be_read() -> None:
    def broken() -> object:
        raise OSError("library missing")

    assert finding_labels(None) == ({}, {})
    assert finding_labels(broken) == ({}, {})  # type: ignore[arg-type]


def test_a_stored_finding_the_library_no_longer_lists_stays_an_option() -> None:
    options = finding_options({"flat_feet": "Flat feet"}, ["flat_feet", "retired_id"])
    assert options == ["flat_feet", "retired_id"]


def test_an_empty_form_previews_dashes_and_no_captions() -> None:
    values = values_from_form_state({}, "v_")
    metrics, captions = derived_metrics(values, None)
    assert [(m.label, m.value) for m in metrics] == [
        ("ODI", "–"),
        ("STarT Back", "–"),
        ("PSFS mean", "–"),
        ("Claudication pattern", "–"),
    ]
    assert captions == []


def test_entered_questionnaires_preview_their_scores() -> None:
    state = {f"v_odi_{i}": 1 for i in range(10)} | {"v_rmdq_done": True, "v_rmdq_0": True}
    state |= {"v_psfs_activity_0": "stairs", "v_psfs_score_0": 4, "v_sb_q1": "agree"}
    values = values_from_form_state(state, "v_")
    metrics, captions = derived_metrics(values, None)
    odi, startback, psfs, _ = metrics
    assert odi.value == "20.0 %" and odi.delta
    assert startback.value == "incomplete" and startback.delta is None
    assert psfs.value == "4.0"
    assert captions == ["RMDQ total 1/24"]


def test_an_invalid_form_has_no_preview_visit() -> None:
    assert preview_visit({"visit_date": None}, "p-1") is None
    assert preview_visit({"visit_date": dt.date(2025, 3, 1), "pain_nrs": 4}, "p-1") is not None


def test_the_change_preview_replaces_the_corrected_visit_with_the_form() -> None:
    first = make_visit(0, id="v1", pain_nrs=8)
    corrected = make_visit(14, id="v2", pain_nrs=7)
    preview = make_visit(14, pain_nrs=2)
    table, note = change_preview([first, corrected], corrected, preview, NOW)
    (pain, *_) = table
    assert pain["First"].startswith("8") and pain["Now"] == "2"
    assert note is None


def test_a_revision_reads_as_its_version_time_and_escaped_reason() -> None:
    revision = Revision("visit", "v1", 2, dt.datetime(2025, 3, 1, 9, 5), "u1", "typo *fixed*", None, None)
    assert revision_line(revision) == "**v2** · 2025-03-01 09:05 UTC · typo \\*fixed\\*"


class _AwayStore:
    """A store whose database cannot be reached (every read fails)."""

    def read(self) -> Any:
        raise OSError("connection refused")


def _clinician() -> User:
    return User(id="u-1", username="demo.clinician", display_name="Demo Clinician", role="clinician")


def test_a_section_rerun_keeps_the_forms_copy_and_counts_as_activity() -> None:
    state: dict[str, Any] = {Keys.PREFIX + "pain_nrs": 4, LAST_SEEN: NOW - dt.timedelta(minutes=3)}
    assert section_run(state, _AwayStore(), _clinician(), load_settings(), NOW)  # type: ignore[arg-type]
    assert state[LAST_SEEN] == NOW
    assert state[Keys.KEPT][Keys.PREFIX + "pain_nrs"] == 4


def test_a_section_rerun_after_the_idle_timeout_asks_for_the_full_run_that_logs_out() -> None:
    state: dict[str, Any] = {LAST_SEEN: NOW - dt.timedelta(minutes=16)}
    assert not section_run(state, _AwayStore(), _clinician(), load_settings(), NOW)  # type: ignore[arg-type]
    assert state[LAST_SEEN] == NOW - dt.timedelta(minutes=16)  # not counted as activity


def test_the_saved_result_is_taken_once_and_an_emergency_waits_for_its_dialog() -> None:
    state: dict[str, Any] = {Keys.SAVED_SCREENING: screening("ROUTINE_REVIEW")}
    saved, toast = take_saved_result(state)
    assert saved is not None and toast is not None and toast.startswith("Saved. Screening:")
    assert take_saved_result(state) == (None, None)
    state[Keys.SAVED_SCREENING] = screening("EMERGENCY")
    saved, toast = take_saved_result(state)
    assert toast is None and state[Keys.RESULT_TO_ACK] is saved
