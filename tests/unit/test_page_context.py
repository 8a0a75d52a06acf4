"""The one-line page context: what a page reads from the router's session and the address."""

from __future__ import annotations

import dataclasses
from typing import Any

from dashboard import page_keys as keys
from dashboard.config import load_settings
from dashboard.page_context import chosen_patient_id, page_context, remember_patient
from dashboard.ports import User

CLINICIAN = User(id="u1", username="demo.avery", display_name="Avery", role="clinician")


def routed_session(**extra: Any) -> dict[str, Any]:
    return {keys.STORE: object(), keys.USER: CLINICIAN, keys.SETTINGS: load_settings(), **extra}


def test_a_page_run_before_the_router_gets_no_context() -> None:
    assert page_context({}, {}) is None


def test_a_session_without_a_signed_in_user_gets_no_context() -> None:
    assert page_context(routed_session(**{keys.USER: None}), {}) is None


def test_the_context_carries_what_the_router_set() -> None:
    session = routed_session(**{keys.IS_DEMO: True})
    ctx = page_context(session, {})
    assert ctx is not None
    assert (ctx.store, ctx.user, ctx.settings, ctx.is_demo) == (
        session[keys.STORE],
        CLINICIAN,
        session[keys.SETTINGS],
        True,
    )
    assert ctx.patient_id == ""


def test_the_address_names_the_patient_before_the_session_does() -> None:
    session = routed_session(**{keys.PATIENT_ID: "p-session"})
    assert chosen_patient_id(session, {keys.PATIENT_QUERY: "p-link"}) == "p-link"
    assert chosen_patient_id(session, {}) == "p-session"
    assert chosen_patient_id({}, {keys.PATIENT_QUERY: ""}) == ""


def test_remembering_a_patient_sets_the_session_and_the_address() -> None:
    session: dict[str, Any] = {}
    query: dict[str, str] = {}
    remember_patient(session, query, "p-7")
    assert session[keys.PATIENT_ID] == "p-7" and query[keys.PATIENT_QUERY] == "p-7"


def test_the_context_says_what_the_signed_in_role_may_do() -> None:
    clinician = page_context(routed_session(), {})
    readonly = page_context(
        routed_session(**{keys.USER: dataclasses.replace(CLINICIAN, role="readonly")}), {}
    )
    assert clinician is not None and readonly is not None
    assert clinician.can("write_clinical") and not readonly.can("write_clinical")
    assert not clinician.can("view_outcomes")
