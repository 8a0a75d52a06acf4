"""The plan page with an open escalation (issue 19): the warning names the tier, the rule in words
and the reason, and the preview keeps a right-to-left name from splitting the date."""

from __future__ import annotations

import datetime as dt
from typing import Any

from dashboard import services
from data.store import SqlStore
from tests.app.test_pages import demo_user, logged_in, open_page, texts

ARABIC_GIVEN, ARABIC_FAMILY = "ليلى", "حداد"


def patient_with_visit(store: SqlStore, ref: str, given: str, family: str, **visit: Any) -> str:
    user = demo_user(store)
    patient = services.register_patient(
        store,
        user,
        {
            "patient_ref": ref,
            "given_name": given,
            "family_name": family,
            "birth_date": "1958-03-02",
            "sex": "F",
            "symptom_onset": (dt.date.today() - dt.timedelta(days=20)).isoformat(),
        },
    )
    services.record_visit(
        store,
        user,
        patient.id,
        {
            "visit_date": dt.date.today().isoformat(),
            "walk_protocol": "reported",
            "walk_total_min": 10,
            **visit,
        },
    )
    return patient.id


def test_an_open_emergency_is_shown_on_the_plan_page_with_its_rule_and_reason(clinic: SqlStore) -> None:
    pid = patient_with_visit(clinic, "T-CES", "Sam", "Example", saddle_anaesthesia="new")
    at = open_page(logged_in(clinic), "pages/plan.py", pid)
    errors = texts(at, "error")
    assert "Open EMERGENCY escalation" in errors
    assert "(RF_CES)" in errors  # as shown: the escaped id reads as typed
    assert "Saddle numbness" in errors
    assert "saddle anaesthesia" in errors
    assert "leads with the safety net" in errors
    preview = "\n".join(str(m.value) for m in at.markdown)
    assert "Your physio wants you to be checked today" in preview
    assert "rarely caused by anything serious" not in preview


def test_without_an_open_flag_the_plan_page_shows_no_escalation_warning(clinic: SqlStore) -> None:
    pid = patient_with_visit(clinic, "T-CALM", "Sam", "Calm")
    at = open_page(logged_in(clinic), "pages/plan.py", pid)
    assert "escalation" not in texts(at, "error") + texts(at, "warning")
    preview = "\n".join(str(m.value) for m in at.markdown)
    assert "rarely caused by anything serious" in preview


def test_a_right_to_left_name_is_isolated_in_the_preview_so_the_date_stays_whole(clinic: SqlStore) -> None:
    pid = patient_with_visit(clinic, "T-RTL", ARABIC_GIVEN, ARABIC_FAMILY)
    at = open_page(logged_in(clinic), "pages/plan.py", pid)
    heading = next(str(m.value) for m in at.markdown if str(m.value).startswith("**Plan for"))
    assert f"\u2068{ARABIC_GIVEN} {ARABIC_FAMILY}\u2069" in heading
