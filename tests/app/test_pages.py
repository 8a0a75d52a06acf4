"""AppTest checks of the progress, caseload, flags, plan, admin and account pages on a demo clinic.

Each test gets a fresh SQLite file seeded with the fictional demo clinic, logs in by putting a
demo user into session state (the login page itself is the lead's), and drives one page.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from dashboard import page_text, services, trends
from data.demo import generate
from data.store import SqlStore, open_store
from tests.app.conftest import as_shown
from tests.conftest import ROOT
from tests.factories import PATIENT_DEFAULTS
from tests.integration.support import visit_values

APP = str(ROOT / "app.py")


def demo_user(store: SqlStore, username: str = "demo.clinician") -> Any:
    with store.read() as tx:
        return tx.get_user_by_username(username)


def logged_in(store: SqlStore, username: str = "demo.clinician") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    at.session_state["user"] = demo_user(store, username)
    at.run()
    assert not at.exception, at.exception
    return at


def open_page(at: AppTest, page: str, patient_id: str | None = None) -> AppTest:
    if patient_id is not None:
        at.session_state["patient_id"] = patient_id
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def patient_with(store: SqlStore, *, min_visits: int = 2, flagged: bool | None = None) -> str:
    """The id of a demo patient with at least `min_visits` visits (and an open flag, or none)."""
    with store.read() as tx:
        rows = tx.caseload_rows()
    for row in rows:
        has_flag = row["open_tier"] != "NONE"
        if row["n_visits"] >= min_visits and (flagged is None or has_flag == flagged):
            return row["patient_id"]
    raise AssertionError("the demo clinic has no such patient")


def texts(at: AppTest, kind: str) -> str:
    return "\n".join(as_shown(str(element.value)) for element in getattr(at, kind))


def table_with(at: AppTest, column: str) -> Any:
    """The first dataframe on the page that has `column` (st.dataframe without a selection has no key)."""
    return next(frame.value for frame in at.dataframe if column in frame.value.columns)


# --- progress ------------------------------------------------------------------------------------


def test_the_progress_page_without_a_patient_offers_to_choose_one(clinic: SqlStore) -> None:
    at = open_page(logged_in(clinic), "pages/progress.py")
    assert "No patient is chosen" in texts(at, "info")
    assert any(link.proto.label == "Choose a patient" for link in at.get("page_link"))


def test_the_progress_page_shows_the_banner_charts_and_change_table(clinic: SqlStore) -> None:
    pid = patient_with(clinic, min_visits=3, flagged=True)
    at = open_page(logged_in(clinic), "pages/progress.py", pid)
    assert at.title[0].value == "Progress"
    banner = at.error[0].value if at.error else at.warning[0].value
    assert "EMERGENCY" in banner or "URGENT" in banner or "ROUTINE" in banner
    assert "not a diagnosis" in texts(at, "caption")
    charts = at.get("plotly_chart")
    assert len(charts) >= 2
    spec = json.loads(charts[0].proto.spec)
    assert spec["data"], "the first chart has data"
    change = at.dataframe[0].value
    assert "Judgement (first → latest)" in change.columns and len(change) >= 1
    assert at.button(key="progress_rescreen")
    assert any(b.proto.label.startswith("Download FHIR") for b in at.get("download_button"))
    assert at.query_params["patient"] == [pid] or at.query_params["patient"] == pid


def test_the_progress_page_draws_red_flag_events_on_the_time_axis(clinic: SqlStore) -> None:
    pid = patient_with(clinic, min_visits=2, flagged=True)
    at = open_page(logged_in(clinic), "pages/progress.py", pid)
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    annotations = spec["layout"].get("annotations", [])
    assert any("Red flag" in a.get("text", "") for a in annotations)


def test_re_screening_from_the_progress_page_is_audited_and_confirmed(clinic: SqlStore) -> None:
    pid = patient_with(clinic, min_visits=2)
    at = open_page(logged_in(clinic), "pages/progress.py", pid)
    at.button(key="progress_rescreen").click().run()
    assert not at.exception
    assert "Re-screened with the current rules" in texts(at, "success")
    with clinic.read() as tx:
        assert tx.audit_entries(action="patient.rescreen", patient_id=pid)


def test_opening_a_patient_is_audited_once_not_on_every_rerun(clinic: SqlStore) -> None:
    pid = patient_with(clinic, min_visits=2)
    at = open_page(logged_in(clinic), "pages/progress.py", pid)
    at.run()
    at.run()
    with clinic.read() as tx:
        assert len(tx.audit_entries(action="patient.open", patient_id=pid)) == 1


def test_a_patient_with_one_visit_still_gets_charts_and_a_note_about_change(clinic: SqlStore) -> None:
    with clinic.read() as tx:
        rows = tx.caseload_rows()
    pid = next(r["patient_id"] for r in rows if r["n_visits"] == 1)
    at = open_page(logged_in(clinic), "pages/progress.py", pid)
    assert "change over time needs at least two visits" in texts(at, "info").lower()
    assert at.get("plotly_chart")


def test_a_patient_without_visits_gets_a_link_to_record_one(clinic: SqlStore) -> None:
    user = demo_user(clinic)
    patient = services.register_patient(
        clinic,
        user,
        {
            "patient_ref": "T-NOVISIT",
            "given_name": "Noor",
            "family_name": "Example",
            "birth_date": "1960-05-01",
            "sex": "F",
            "symptom_onset": "2025-01-10",
        },
    )
    at = open_page(logged_in(clinic), "pages/progress.py", patient.id)
    assert "No visits are recorded" in texts(at, "info")
    assert any(link.proto.label == "Record the first visit" for link in at.get("page_link"))
    assert not at.get("plotly_chart")


def test_a_timed_spwt_is_charted_and_in_the_change_table(clinic: SqlStore) -> None:
    clinician = demo_user(clinic)
    patient = services.register_patient(clinic, clinician, {**PATIENT_DEFAULTS, "patient_ref": "T-TIMED"})
    today = dt.date.today()
    # Clinicians often time the SPWT rather than measure it: symptoms at 4 min, total 9 min.
    for days_ago, onset, total in ((28, 4.0, 9.0), (7, 6.0, 14.0)):
        values = visit_values(today - dt.timedelta(days=days_ago), walk_protocol="spwt")
        services.record_visit(
            clinic, clinician, patient.saved_id, {**values, "walk_onset_min": onset, "walk_total_min": total}
        )
    at = open_page(logged_in(clinic), "pages/progress.py", patient.saved_id)
    assert "No walking test recorded yet" not in texts(at, "info")
    assert any("total time" in json.dumps(chart.proto.spec) for chart in at.get("plotly_chart"))
    table = table_with(at, "Measure")
    row = table[table["Measure"].str.contains("SPWT")].iloc[0]
    assert "total time (min)" in row["Measure"] and "no confirmed MCID" in " ".join(map(str, row.to_list()))


def test_the_progress_page_lists_the_visit_notes_escaped_with_their_line_breaks(clinic: SqlStore) -> None:
    clinician = demo_user(clinic)
    patient = services.register_patient(clinic, clinician, {**PATIENT_DEFAULTS, "patient_ref": "T-NOTES"})
    values = visit_values(dt.date.today(), pain_nrs=6, notes="Walked here **bold**\nsecond line")
    services.record_visit(clinic, clinician, patient.saved_id, values)
    at = open_page(logged_in(clinic), "pages/progress.py", patient.saved_id)
    (notes,) = [e for e in at.expander if e.label.startswith("Visit notes")]
    assert notes.label == "Visit notes (1)"
    shown = "\n".join(str(m.value) for m in notes.markdown)
    assert r"Walked here \*\*bold\*\*  " in shown and "second line" in shown


def test_the_readonly_role_sees_no_rescreen_or_export_buttons(clinic: SqlStore) -> None:
    pid = patient_with(clinic, min_visits=2)
    at = open_page(logged_in(clinic, "demo.readonly"), "pages/progress.py", pid)
    assert not [b for b in at.button if b.key == "progress_rescreen"]
    assert not at.get("download_button")
    assert at.get("plotly_chart")


# --- caseload ------------------------------------------------------------------------------------


def test_the_caseload_lists_every_demo_patient_without_their_ids(clinic: SqlStore) -> None:
    at = open_page(logged_in(clinic), "pages/caseload.py")
    table = at.dataframe[0].value
    assert len(table) == 8
    assert "patient_id" not in table.columns
    assert {"name", "patient_ref", "flag"} <= set(table.columns)


def test_the_open_flags_filter_keeps_only_flagged_patients(clinic: SqlStore) -> None:
    at = open_page(logged_in(clinic), "pages/caseload.py")
    at.checkbox(key="caseload_open_flags").check().run()
    assert not at.exception
    table = at.dataframe[0].value
    assert 0 < len(table) < 8
    assert not (table["flag"] == "–").any()


def test_selecting_a_caseload_row_opens_that_patients_progress(clinic: SqlStore) -> None:
    at = open_page(logged_in(clinic), "pages/caseload.py")
    first_name = at.dataframe[0].value["name"].iloc[0]
    at.session_state["caseload_table"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    assert not at.exception
    assert at.title[0].value == "Progress"
    assert first_name in texts(at, "subheader")


def test_the_caseload_shows_a_better_walk_on_one_protocol_while_pain_stays_the_same(clinic: SqlStore) -> None:
    clinician = demo_user(clinic)
    patient = services.register_patient(clinic, clinician, {**PATIENT_DEFAULTS, "patient_ref": "T-WALK"})
    today = dt.date.today()
    # 400 m to 430 m in the six-minute walk is a clinically important gain; pain does not change.
    for days_ago, metres in ((28, 400.0), (7, 430.0)):
        values = visit_values(today - dt.timedelta(days=days_ago), pain_nrs=5, walk_protocol="6mwt")
        services.record_visit(clinic, clinician, patient.saved_id, {**values, "walk_total_m": metres})

    at = open_page(logged_in(clinic), "pages/caseload.py")
    table = at.dataframe[0].value
    row = table[table["patient_ref"] == "T-WALK"].iloc[0]
    assert row["walking_trend"] == trends.WALKING_TREND_TEXT["better"]
    assert row["walk_protocol"] == page_text.PROTOCOL_SHORT["6mwt"]
    assert row["nrs_change"] == "0"


def test_the_caseload_shows_flag_name_pain_walking_odi_and_review_before_the_rest(clinic: SqlStore) -> None:
    at = open_page(logged_in(clinic), "pages/caseload.py")
    order = list(at.dataframe[0].proto.column_order)
    assert order[:9] == [
        "flag",
        "name",
        "patient_ref",
        "latest_nrs",
        "nrs_change",
        "walking_trend",
        "latest_odi_percent",
        "review",
        "progress",
    ]
    assert set(order) == set(at.dataframe[0].value.columns)  # nothing hidden


def test_an_empty_clinic_gets_a_friendly_caseload(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path}/empty.sqlite3"
    monkeypatch.setenv("STRIDE_DATABASE_URL", url)
    st.cache_resource.clear()
    store = open_store(url)
    try:
        admin = services.create_user(
            store,
            None,
            username="first.admin",
            display_name="First Admin",
            role="admin",
            password="a-long-passphrase",
        )
        at = AppTest.from_file(APP, default_timeout=30)
        at.session_state["user"] = admin
        at.run()
        open_page(at, "pages/caseload.py")
        assert "No patients in the clinic yet" in texts(at, "info")
        assert not at.dataframe
    finally:
        st.cache_resource.clear()
        store.close()


# --- flags ---------------------------------------------------------------------------------------


def test_the_flag_queue_shows_each_open_event_with_a_close_form(clinic: SqlStore) -> None:
    queue = services.open_escalations(clinic, demo_user(clinic))
    at = open_page(logged_in(clinic), "pages/flags.py")
    for group in services.open_escalation_groups(clinic, demo_user(clinic)):
        assert at.selectbox(key=f"close_action_{group.lead.id}")
        assert at.button(key=f"open_{group.lead.id}")
    assert f"{len(queue)} open" in texts(at, "markdown")


def test_the_flag_queue_filters_by_tier_clinician_and_time_open(clinic: SqlStore) -> None:
    groups = services.open_escalation_groups(clinic, demo_user(clinic))
    at = open_page(logged_in(clinic), "pages/flags.py")
    assert f"Showing {len(groups)} of {len(groups)} events." in texts(at, "caption")
    tier = groups[-1].lead.tier
    at.button_group(key="flags_tiers").set_value([tier]).run()
    kept = [g for g in groups if g.lead.tier == tier]
    assert f"Showing {len(kept)} of {len(groups)} events." in texts(at, "caption")
    shown = {s.key for s in at.selectbox if s.key.startswith("close_action_")}
    assert shown == {f"close_action_{g.lead.id}" for g in kept}
    at.selectbox(key="flags_age").set_value("Open over 30 days").run()  # the demo's flags are new
    assert "No open event matches these filters" in texts(at, "info")
    assert not [s for s in at.selectbox if s.key.startswith("close_action_")]


def _cancer_patient_with_new_weakness(store: SqlStore) -> str:
    user = demo_user(store)
    patient = services.register_patient(
        store, user, PATIENT_DEFAULTS | {"patient_ref": "EVT-0001", "history_of_cancer": True}
    )
    services.record_visit(
        store, user, patient.id or "", visit_values(dt.date.today(), leg_weakness="new", leg_weakness_mrc=4)
    )
    return patient.id or ""


def test_one_screening_that_raises_three_rules_is_one_card_closed_by_one_action(clinic: SqlStore) -> None:
    pid = _cancer_patient_with_new_weakness(clinic)
    user = demo_user(clinic)
    (group,) = [g for g in services.open_escalation_groups(clinic, user) if g.patient.id == pid]
    others = [e.id for e in group.escalations[1:]]
    at = open_page(logged_in(clinic), "pages/flags.py")
    assert group.lead.rule_id == "RF_MSCC"
    assert not [s for s in at.selectbox if s.key in {f"close_action_{i}" for i in others}]
    card = as_shown(
        "\n".join(str(m.value) for m in at.markdown if "RF_MALIGNANCY_CANCER_HX" in as_shown(str(m.value)))
    )
    assert "3 rules from one screening: RF_MSCC, RF_NEW_NEURO_DEFICIT, RF_MALIGNANCY_CANCER_HX" in card

    at.selectbox(key=f"close_action_{group.lead.id}").select("urgent_referral")
    at.text_input(key=f"close_detail_{group.lead.id}").input("Acute oncology, ref AO-7")
    at.button(key=f"close_submit_{group.lead.id}").click().run()

    assert not at.exception
    assert "Closed RF_MSCC, RF_NEW_NEURO_DEFICIT, RF_MALIGNANCY_CANCER_HX" in texts(at, "success")
    still_open = {e.patient_id for e, _ in services.open_escalations(clinic, user)}
    assert pid not in still_open


def test_closing_an_escalation_through_the_form_removes_it_from_the_queue(clinic: SqlStore) -> None:
    user = demo_user(clinic)
    esc, _ = services.open_escalations(clinic, user)[0]
    at = open_page(logged_in(clinic), "pages/flags.py")
    at.selectbox(key=f"close_action_{esc.id}").select("urgent_referral")
    at.text_input(key=f"close_detail_{esc.id}").input("GP letter sent")
    at.button(key=f"close_submit_{esc.id}").click().run()
    assert not at.exception
    assert "Closed" in texts(at, "success")
    assert not [s for s in at.selectbox if s.key == f"close_action_{esc.id}"]
    assert esc.id not in {e.id for e, _ in services.open_escalations(clinic, user)}


def test_a_close_detail_over_1000_characters_is_refused_by_its_label_and_keeps_the_flag(
    clinic: SqlStore,
) -> None:
    user = demo_user(clinic)
    esc, _ = services.open_escalations(clinic, user)[0]
    at = open_page(logged_in(clinic), "pages/flags.py")
    at.selectbox(key=f"close_action_{esc.id}").select("other")
    at.text_input(key=f"close_detail_{esc.id}").input("d" * 1200)
    at.button(key=f"close_submit_{esc.id}").click().run()
    assert not at.exception, at.exception
    assert "Reference, reason or description can hold at most 1,000 characters (you entered 1,200)" in texts(
        at, "error"
    )
    assert esc.id in {e.id for e, _ in services.open_escalations(clinic, user)}


def test_closing_without_an_action_shows_the_field_message_and_keeps_the_flag(clinic: SqlStore) -> None:
    user = demo_user(clinic)
    esc, _ = services.open_escalations(clinic, user)[0]
    at = open_page(logged_in(clinic), "pages/flags.py")
    at.button(key=f"close_submit_{esc.id}").click().run()
    assert "Choose the action taken" in texts(at, "error")
    at.selectbox(key=f"close_action_{esc.id}").select("other")
    at.button(key=f"close_submit_{esc.id}").click().run()
    assert "needs a reference, a reason or a description" in texts(at, "error")
    assert esc.id in {e.id for e, _ in services.open_escalations(clinic, user)}


def test_a_readonly_user_sees_the_queue_but_no_close_form(clinic: SqlStore) -> None:
    at = open_page(logged_in(clinic, "demo.readonly"), "pages/flags.py")
    assert "open" in texts(at, "markdown")
    assert not [s for s in at.selectbox if (s.key or "").startswith("close_action_")]
    assert not at.get("form_submit_button") and not [
        b for b in at.button if (b.key or "").startswith("close_")
    ]


def test_open_patient_from_the_queue_switches_to_progress(clinic: SqlStore) -> None:
    esc, patient = services.open_escalations(clinic, demo_user(clinic))[0]
    at = open_page(logged_in(clinic), "pages/flags.py")
    at.button(key=f"open_{esc.id}").click().run()
    assert not at.exception
    assert at.title[0].value == "Progress"
    assert patient.display_name in texts(at, "subheader")


# --- plan ----------------------------------------------------------------------------------------


def test_the_plan_page_lists_items_to_review_and_a_preview(clinic: SqlStore) -> None:
    pid = patient_with(clinic, min_visits=2)
    at = open_page(logged_in(clinic), "pages/plan.py", pid)
    boxes = [c for c in at.checkbox if (c.key or "").startswith("plan_inc_")]
    assert boxes
    assert any(c.disabled for c in boxes), "safety-net items cannot be unticked"
    assert "When to get help" in texts(at, "markdown")
    assert any(b.proto.label.startswith("Download the handout") for b in at.get("download_button"))


def test_unticking_an_item_removes_it_from_the_preview(clinic: SqlStore) -> None:
    pid = patient_with(clinic, min_visits=2)
    at = open_page(logged_in(clinic), "pages/plan.py", pid)
    box = next(c for c in at.checkbox if (c.key or "").startswith("plan_inc_") and not c.disabled)
    title = box.label
    preview_before = at.markdown
    assert any(title in str(m.value).replace("\\", "") for m in preview_before)
    box.uncheck().run()
    assert not at.exception
    previews = [m for m in at.markdown if str(m.value).startswith("**Plan for")]
    assert previews and title not in previews[0].value.replace("\\", "")


def test_a_never_recommend_term_in_the_note_raises_a_warning(clinic: SqlStore) -> None:
    pid = patient_with(clinic, min_visits=2)
    at = open_page(logged_in(clinic), "pages/plan.py", pid)
    at.text_area(key="plan_note").input("Try a lumbar belt and some paracetamol.").run()
    assert not at.exception
    warning = texts(at, "warning")
    assert "belt or corset" in warning and "paracetamol" in warning


def test_a_readonly_user_sees_the_plan_but_cannot_give_a_handout(clinic: SqlStore) -> None:
    pid = patient_with(clinic, min_visits=2)
    at = open_page(logged_in(clinic, "demo.readonly"), "pages/plan.py", pid)
    assert not at.get("download_button")
    assert "cannot" in texts(at, "caption") or "not give handouts" in texts(at, "caption")


# --- admin ---------------------------------------------------------------------------------------


def test_the_users_page_lists_the_accounts(clinic: SqlStore) -> None:
    at = open_page(logged_in(clinic, "demo.admin"), "pages/admin_users.py")
    users = table_with(at, "Username")
    assert {"demo.clinician", "demo.admin", "demo.readonly"} <= set(users["Username"])


def test_the_audit_trail_page_verifies_the_chain(clinic: SqlStore) -> None:
    at = open_page(logged_in(clinic, "demo.admin"), "pages/admin_audit.py")
    at.button(key="admin_verify_chain").click().run()
    assert not at.exception
    assert "Audit chain intact" in texts(at, "success")


def test_an_admin_creates_an_account_and_sees_field_messages_for_bad_input(clinic: SqlStore) -> None:
    at = open_page(logged_in(clinic, "demo.admin"), "pages/admin_users.py")
    at.text_input(key="admin_new_username").input("new.physio")
    at.text_input(key="admin_new_display_name").input("New Physio")
    at.text_input(key="admin_new_password").input("short")
    at.button(key="admin_create_submit").click().run()
    assert not at.exception
    assert "at least 10 characters" in texts(at, "error")
    at.text_input(key="admin_new_password").input("a-good-long-passphrase")
    at.button(key="admin_create_submit").click().run()
    assert not at.exception
    assert "Account new.physio (clinician) created" in texts(at, "success")
    assert "new.physio" in set(table_with(at, "Username")["Username"])


def test_the_audit_trail_filters_by_action(clinic: SqlStore) -> None:
    at = open_page(logged_in(clinic, "demo.admin"), "pages/admin_audit.py")
    at.selectbox(key="admin_audit_action").select("demo.generate").run()
    assert not at.exception
    trail = table_with(at, "Action")
    assert list(trail["Action"]) == ["demo.generate"]


def test_a_clinician_is_offered_no_admin_page(clinic: SqlStore) -> None:
    at = logged_in(clinic)
    for name in ("admin_users", "admin_audit", "admin_governance", "admin_data", "admin_erasure"):
        with pytest.raises(ValueError, match=f"{name}.py"):
            at.switch_page(f"pages/{name}.py")


def test_an_admin_page_itself_refuses_a_session_that_is_no_longer_an_admins(clinic: SqlStore) -> None:
    # Defence in depth: an admin session whose account became a clinician mid-session is refused too.
    at = open_page(logged_in(clinic, "demo.admin"), "pages/admin_users.py")
    at.session_state["user"] = demo_user(clinic)
    at.run()
    assert not at.exception
    assert not [frame for frame in at.dataframe if "Username" in frame.value.columns]


# --- account -------------------------------------------------------------------------------------


def test_a_wrong_current_password_shows_an_error_and_changes_nothing(clinic: SqlStore) -> None:
    at = open_page(logged_in(clinic), "pages/account.py")
    assert "demo.clinician" in texts(at, "markdown")
    at.text_input(key="account_current").input("not-the-password")
    at.text_input(key="account_new").input("a-brand-new-passphrase")
    at.text_input(key="account_repeat").input("a-brand-new-passphrase")
    at.button(key="account_submit").click().run()
    assert not at.exception
    assert "current password is not right" in texts(at, "error")
    assert services.authenticate(clinic, "demo.clinician", "stride-demo")


def test_a_right_current_password_changes_it(clinic: SqlStore) -> None:
    at = open_page(logged_in(clinic), "pages/account.py")
    at.text_input(key="account_current").input("stride-demo")
    at.text_input(key="account_new").input("a-brand-new-passphrase")
    at.text_input(key="account_repeat").input("a-brand-new-passphrase")
    at.button(key="account_submit").click().run()
    assert not at.exception
    assert "Your password was changed" in texts(at, "success")
    assert services.authenticate(clinic, "demo.clinician", "a-brand-new-passphrase")


def test_mismatched_new_passwords_are_caught_on_the_page(clinic: SqlStore) -> None:
    at = open_page(logged_in(clinic), "pages/account.py")
    at.text_input(key="account_current").input("stride-demo")
    at.text_input(key="account_new").input("a-brand-new-passphrase")
    at.text_input(key="account_repeat").input("another-passphrase")
    at.button(key="account_submit").click().run()
    assert "not the same" in texts(at, "error")


def test_without_a_walking_result_the_plan_asks_for_a_starting_walk_length(clinic: SqlStore) -> None:
    user = demo_user(clinic)
    patient = services.register_patient(
        clinic,
        user,
        {
            "patient_ref": "T-NOWALK",
            "given_name": "Sam",
            "family_name": "Example",
            "birth_date": "1958-03-02",
            "sex": "X",
            "symptom_onset": (dt.date.today() - dt.timedelta(days=20)).isoformat(),
        },
    )
    services.record_visit(
        clinic, user, patient.id, {"visit_date": dt.date.today().isoformat(), "pain_nrs": 5}
    )
    at = open_page(logged_in(clinic), "pages/plan.py", patient.id)
    assert "no walking test" in texts(at, "warning").lower()
    assert not [f for f in at.dataframe if "Minutes a walk" in f.value.columns]
    at.number_input(key="plan_start_bout").set_value(-3.0).run()
    assert not at.exception, at.exception
    assert "Starting walk length (minutes) must be between 0.5 and 180" in texts(at, "error")
    assert not [f for f in at.dataframe if "Minutes a walk" in f.value.columns]
    at.number_input(key="plan_start_bout").set_value(4.0).run()
    assert not at.exception
    programme = table_with(at, "Minutes a walk")
    assert programme["Minutes a walk"].iloc[0] == "4"


def test_the_demo_clinic_comes_with_its_rule_set_approved_by_the_demo_admin(clinic: SqlStore) -> None:
    from dashboard import governance, red_flags

    approval = governance.rule_set_approval(clinic, red_flags.rule_set_version())
    assert approval is not None and approval.by_name == "Demo Admin" and "fictional" in approval.note
    pid = patient_with(clinic)
    at = open_page(logged_in(clinic), "pages/visit.py", pid)
    assert "has not been approved" not in texts(at, "caption")


def test_an_admin_approves_the_rule_set_and_the_visit_banner_notice_goes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dashboard import governance, red_flags

    url = f"sqlite:///{tmp_path}/unapproved.sqlite3"
    monkeypatch.setenv("STRIDE_DATABASE_URL", url)
    st.cache_resource.clear()
    clinic = open_store(url)
    generate(clinic, patients=3, seed=3, approve_rules=False)
    at = open_page(logged_in(clinic, "demo.admin"), "pages/admin_governance.py")
    assert "Not yet approved" in texts(at, "warning")
    at.text_input(key="approve_note").input("Reviewed the rule table and hazard log")
    at.button[[b.label for b in at.button].index("Approve this rule set")].click().run()
    assert not at.exception
    version = red_flags.rule_set_version()
    approval = governance.rule_set_approval(clinic, version)
    assert approval is not None and approval.by_name == "Demo Admin"
    assert "Approved by Demo Admin" in texts(at, "success")


def test_the_clinic_export_is_made_only_at_the_click_never_held_in_the_session(clinic: SqlStore) -> None:
    from data.transfer import export_clinic_bytes

    at = open_page(logged_in(clinic, "demo.admin"), "pages/admin_data.py")
    assert not at.exception
    (button,) = [b for b in at.get("download_button") if b.proto.label == "Export and download"]
    assert "export_zip" not in at.session_state  # no copy of the export waits in the session
    with clinic.read() as tx:
        assert tx.audit_entries(action="export.clinic") == []  # rendering the button exported nothing
    # What the click runs (the real download is in tests/browser/test_export_download.py).
    data = export_clinic_bytes(clinic, actor=demo_user(clinic, "demo.admin"))
    assert data[:2] == b"PK"
    with clinic.read() as tx:
        assert [e.action for e in tx.audit_entries(action="export.clinic")] == ["export.clinic"]


def test_an_admin_erases_a_patient_on_the_erasure_page_after_confirming(clinic: SqlStore) -> None:
    from dashboard import governance

    with clinic.read() as tx:
        patient = tx.find_patient_by_ref("DEMO-00003")
    assert patient is not None
    at = open_page(logged_in(clinic, "demo.admin"), "pages/admin_erasure.py")
    assert at.text_input(key="erase_ref").value == ""  # nothing is listed until a reference is typed

    at.text_input(key="erase_ref").input("DEMO-00003").run()
    assert patient.display_name in texts(at, "markdown")
    at.text_input(key="erase_request_ref").input("DSR-2026-001")
    at.text_input(key="erase_reason").input("Request granted")
    at.button(key="erase_submit").click().run()  # not confirmed yet: nothing happens
    assert not at.exception
    assert "Tick the box" in texts(at, "error")
    assert governance.find_for_erasure(clinic, demo_user(clinic, "demo.admin"), "DEMO-00003") is not None

    at.checkbox(key="erase_confirm").check()
    at.button(key="erase_submit").click().run()
    assert not at.exception
    assert "The patient was erased" in texts(at, "success")
    assert at.text_input(key="erase_ref").value == ""
    with clinic.read() as tx:
        stub = tx.get_patient(patient.id or "")
        (entry,) = tx.audit_entries(action="patient.erase")
    assert stub is not None and stub.patient_ref.startswith("ERASED-")
    assert entry.after is not None and entry.after["request_reference"] == "DSR-2026-001"
    assert clinic.verify_audit()[0]


# --- sidebar pins --------------------------------------------------------------------------------


def _new_emergency(store: SqlStore, ref: str) -> str:
    user = demo_user(store)
    patient = services.register_patient(store, user, PATIENT_DEFAULTS | {"patient_ref": ref})
    services.record_visit(
        store, user, patient.id or "", visit_values(dt.date.today(), saddle_anaesthesia="new")
    )
    return patient.id or ""


def _pins(at: AppTest) -> list[Any]:
    return [link for link in at.sidebar.get("page_link") if link.proto.icon == "🚨"]


def test_emergency_pins_link_to_the_patient_by_opaque_id_newest_first_at_the_top(clinic: SqlStore) -> None:
    older = _new_emergency(clinic, "PIN-0001")
    newer = _new_emergency(clinic, "PIN-0002")

    at = logged_in(clinic)

    pins = _pins(at)
    assert [p.proto.query_string for p in pins[:2]] == [f"patient={newer}", f"patient={older}"]
    assert {p.proto.page for p in pins} == {"progress"}
    assert "(PIN-0002) · RF_CES" in as_shown(pins[0].proto.label)
    assert "PIN-0002" not in pins[0].proto.query_string  # only the opaque id goes into the address
    # The pins come first in the sidebar, above the demo notice and the user's name.
    first = at.sidebar.children[0]
    assert first.get("page_link") and first.get("page_link")[0].proto.icon == "🚨"


# --- episodes of care ------------------------------------------------------------------------------


def test_a_clinician_discharges_from_the_progress_page_and_sees_the_outcome(clinic: SqlStore) -> None:
    clinician = demo_user(clinic)
    patient = services.register_patient(clinic, clinician, {**PATIENT_DEFAULTS, "patient_ref": "T-DISCH"})
    today = dt.date.today()
    for days_ago, pain in ((42, 8), (7, 3)):
        values = visit_values(today - dt.timedelta(days=days_ago), pain_nrs=pain)
        services.record_visit(clinic, clinician, patient.saved_id, values)
    at = open_page(logged_in(clinic), "pages/progress.py", patient.saved_id)
    assert "· open" in texts(at, "caption")
    at.button(key="FormSubmitter:discharge_form-Discharge").click().run()  # no reason chosen yet
    assert "Reason: Choose the reason for discharge." in texts(at, "error")
    at.selectbox(key="discharge_reason").select("goals_met")
    at.button(key="FormSubmitter:discharge_form-Discharge").click().run()
    assert not at.exception, at.exception
    assert "Discharged." in texts(at, "success")
    shown = texts(at, "markdown")
    assert "Pain now (NRS) 8 → 3: ▲ Clinically important improvement" in shown
    assert "This episode is discharged" in texts(at, "info")
    assert at.get("plotly_chart")  # the discharged episode's charts stay readable
    with clinic.read() as tx:
        (episode,) = tx.episodes(patient.saved_id)
    assert (episode.status, episode.discharge_reason) == ("discharged", "goals_met")


def test_a_discharged_patients_visit_page_says_to_re_refer_and_saves_nothing(clinic: SqlStore) -> None:
    from dashboard import episode_services

    clinician = demo_user(clinic)
    patient = services.register_patient(clinic, clinician, {**PATIENT_DEFAULTS, "patient_ref": "T-REREF"})
    day = dt.date.today() - dt.timedelta(days=3)
    services.record_visit(clinic, clinician, patient.saved_id, visit_values(day, pain_nrs=5))
    episode_services.discharge(
        clinic, clinician, patient.saved_id, discharge_date=day, reason="self_discharged"
    )
    at = open_page(logged_in(clinic), "pages/visit.py", patient.saved_id)
    assert "re-refer them on the Progress page" in texts(at, "info")
    assert not [b for b in at.button if b.key == "v_save"]  # no form to fill in vain
    with clinic.read() as tx:
        assert len(tx.visits(patient.saved_id)) == 1


def test_a_discharged_patient_leaves_the_working_caseload_and_stays_one_choice_away(clinic: SqlStore) -> None:
    from dashboard import episode_services

    clinician = demo_user(clinic)
    patient = services.register_patient(clinic, clinician, {**PATIENT_DEFAULTS, "patient_ref": "T-GONE"})
    day = dt.date.today() - dt.timedelta(days=2)
    services.record_visit(clinic, clinician, patient.saved_id, visit_values(day, pain_nrs=2))
    episode_services.discharge(clinic, clinician, patient.saved_id, discharge_date=day, reason="goals_met")
    at = open_page(logged_in(clinic), "pages/caseload.py")
    assert "T-GONE" not in at.dataframe[0].value["patient_ref"].to_list()
    at.selectbox(key="caseload_episodes").select("Discharged").run()
    assert at.dataframe[0].value["patient_ref"].to_list() == ["T-GONE"]


def test_the_caseload_shows_long_open_episodes_without_improvement_and_this_months_discharges(
    clinic: SqlStore,
) -> None:
    from dashboard import episode_services

    clinician = demo_user(clinic)
    today = dt.date.today()
    refs = {}
    for ref, pains in (("T-STUCK", (6, 6)), ("T-BETTER", (7, 2)), ("T-DONE", (5, 2))):
        patient = services.register_patient(clinic, clinician, {**PATIENT_DEFAULTS, "patient_ref": ref})
        for days_ago, pain in zip((100, 1), pains, strict=True):
            day = today - dt.timedelta(days=days_ago)
            services.record_visit(clinic, clinician, patient.saved_id, visit_values(day, pain_nrs=pain))
        refs[ref] = patient.saved_id
    episode_services.discharge(
        clinic, clinician, refs["T-DONE"], discharge_date=today, reason="goals_met", today=today
    )
    at = open_page(logged_in(clinic), "pages/caseload.py")
    at.selectbox(key="caseload_episodes").select("Open > 12 wk, no improvement").run()
    shown = at.dataframe[0].value
    assert "T-STUCK" in shown["patient_ref"].to_list()
    assert not {"T-BETTER", "T-DONE"} & set(shown["patient_ref"])
    assert shown.set_index("patient_ref").loc["T-STUCK", "episode"] == "Open 14 wk"
    at.selectbox(key="caseload_episodes").select("Discharged this month").run()
    shown = at.dataframe[0].value
    assert shown["patient_ref"].to_list() == ["T-DONE"]
    assert shown["episode"].to_list() == [f"Discharged {today:%-d %b %Y}"]


def test_an_admin_turns_on_patient_completed_use_and_loads_placeholder_wording(clinic: SqlStore) -> None:
    from dashboard import governance
    from dashboard.page_keys import Admin as keys
    from tests.factories import placeholder_wording, placeholder_wording_file

    admin = demo_user(clinic, "demo.admin")
    governance.record_licence(clinic, admin, "odi", "Clinic licence 0000 (fictional)")
    at = open_page(logged_in(clinic, "demo.admin"), "pages/admin_governance.py")
    assert "Patient-completed use: **off**; no wording loaded." in texts(at, "markdown")
    assert len(at.get("file_uploader")) == 1  # only the instrument whose licence is recorded
    at.text_input(key=f"{keys.PATIENT_USE_BASIS}odi").input("Clause 4 covers patient tablets (fictional)")
    at.button[[b.label for b in at.button].index("Record patient-completed use")].click().run()
    assert not at.exception, at.exception
    assert governance.patient_use(clinic, "odi") is not None
    assert "not shown until the wording is loaded" in texts(at, "markdown")

    bad = placeholder_wording("odi")
    del bad["items"]["3"]
    at.file_uploader(key=f"{keys.WORDING_FILE}odi").upload("odi.json", json.dumps(bad).encode()).run()
    at.button(key=f"{keys.WORDING_LOAD}odi").click().run()
    assert "Item 3 is missing." in texts(at, "error")
    assert governance.wording_digest(clinic, "odi") is None  # nothing stored on any problem

    at.file_uploader(key=f"{keys.WORDING_FILE}odi").set_value(
        ("odi.json", placeholder_wording_file(), "application/json")
    )
    at.button(key=f"{keys.WORDING_LOAD}odi").click().run()
    assert not at.exception, at.exception
    digest = governance.wording_digest(clinic, "odi")
    assert digest is not None and f"wording loaded (SHA-256 `{digest[:12]}`)" in texts(at, "markdown")
    assert "Patient-completed use: **on** (on the check-in)" in texts(at, "markdown")
