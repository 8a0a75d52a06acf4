"""The patient's own page in a real browser at phone width (375 px): check-in and walking diary (issue 21).

The clinician's link is made through the service on the server's own database; the patient then has
nothing but the link. axe-core runs on Stride's own content of each state the patient sees.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from dashboard import checkin_services as cs
from dashboard import checkin_text as text
from dashboard import patient_reported as pr
from dashboard.config import load_settings
from data.store import open_store
from tests.browser.axe import run_axe, serious_violations
from tests.browser.conftest import AppServer, assert_no_exception, screenshot, wait_for_app
from tests.browser.test_accessibility import ALLOWED
from tests.browser.test_pages_in_browser import log_in
from tests.conftest import ROOT

PHONE = {"width": 375, "height": 740}
AXE_REPORT = ROOT / "test-artifacts" / "axe-checkin.json"


@pytest.fixture
def phone(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh phone-sized browser context: no cookie, no login, as a patient's phone would be."""
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        yield page
    finally:
        if getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed:
            screenshot(page, f"failed-{request.node.name}")
        context.close()


def a_link(app: AppServer, kind: str) -> tuple[Any, str]:
    """A demo patient with an open episode and a visit, and a new link for them (the token once)."""
    store = open_store(app.database_url)
    try:
        with store.read() as tx:
            clinician = tx.get_user_by_username("demo.clinician")
            patient = next(
                p
                for p in tx.search_patients("")
                if tx.open_episode(p.id or "") is not None
                and tx.visits(p.id or "")
                and not [e for e in tx.escalations(patient_id=p.id) if e.tier == "EMERGENCY"]
            )
        issued = cs.create_invite(store, clinician, patient.id or "", kind)  # type: ignore[arg-type]
    finally:
        store.close()
    return patient, issued.token


def open_as_patient(page: Any, app: AppServer, token: str) -> None:
    page.goto(f"{app.url}/checkin?t={token}")
    wait_for_app(page)


def prove_identity(page: Any, born: dt.date) -> None:
    page.get_by_role("textbox", name="Your date of birth").fill(born.strftime("%d/%m/%Y"))
    page.get_by_role("button", name="Continue").click()
    wait_for_app(page)


def answer(page: Any, question: str, option: str) -> None:
    """Pick one option of a radio question, as a thumb would: tap its words."""
    page.get_by_role("radiogroup", name=question).get_by_text(option, exact=True).click()
    wait_for_app(page)


def axe_clean(page: Any, state: str) -> None:
    # The same allow-list as every other page (Streamlit's own markup, docs/accessibility.md).
    violations, _ = serious_violations(page, run_axe(page), ALLOWED)
    report = json.loads(AXE_REPORT.read_text()) if AXE_REPORT.exists() else {}
    report[state] = violations
    AXE_REPORT.parent.mkdir(parents=True, exist_ok=True)
    AXE_REPORT.write_text(json.dumps(report, indent=2))
    assert not violations, (state, violations)


def test_a_forged_link_shows_one_calm_message_and_no_form(phone: Any, app: AppServer) -> None:
    open_as_patient(phone, app, "A" * pr.TOKEN_LENGTH)
    expect(phone.get_by_text(cs.LINK_CLOSED)).to_be_visible()
    expect(phone.get_by_role("textbox")).to_have_count(0)
    axe_clean(phone, "closed")


def test_a_check_in_with_saddle_numbness_shows_the_emergency_first_and_pins_it_for_the_clinician(
    phone: Any, page: Any, app: AppServer
) -> None:
    patient, token = a_link(app, "checkin")
    settings = load_settings()
    open_as_patient(phone, app, token)
    expect(phone.get_by_role("heading", name=settings.clinic_name)).to_be_visible()
    expect(phone.get_by_text(patient.family_name)).to_have_count(0)
    axe_clean(phone, "identity")
    screenshot(phone, "checkin-375-identity")

    phone.get_by_role("textbox", name="Your date of birth").fill(
        "31/02/1960"
    )  # a typo: a day that does not exist
    phone.get_by_role("button", name="Continue").click()
    expect(phone.get_by_text("That date does not exist")).to_be_visible()
    prove_identity(phone, patient.birth_date)
    expect(phone.get_by_text(text.TITLE)).to_be_visible()

    answer(phone, "Your back or leg pain right now", "6")
    phone.get_by_role("textbox", name="Minutes you can walk in total").fill("12")
    phone.get_by_role("textbox", name="Minutes you can walk in total").press("Tab")
    wait_for_app(phone)
    answer(phone, pr.QUESTION_BY_ID["saddle"].words, "Yes")
    emergency = phone.get_by_text(re.compile(r"Go to .* or call .* now"))
    expect(emergency.first).to_be_visible()  # before anything is sent
    axe_clean(phone, "checkin-emergency")
    screenshot(phone, "checkin-375-emergency")

    phone.get_by_role("button", name="Send my answers").click()
    expect(phone.get_by_text(text.THANK_YOU)).to_be_visible()
    expect(emergency.first).to_be_visible()
    axe_clean(phone, "checkin-sent")
    screenshot(phone, "checkin-375-sent")
    assert_no_exception(phone, app)
    phone.reload()  # F5 after sending: a new session, the link used
    wait_for_app(phone)
    expect(phone.get_by_text(cs.ALREADY_SENT)).to_be_visible()

    # The clinician's sidebar pins the patient-reported emergency.
    log_in(page, app.url)
    pins = page.locator(".st-key-emergency_pins")
    expect(pins.get_by_text(patient.family_name, exact=False).first).to_be_visible()
    expect(pins.get_by_text("patient-reported", exact=False).first).to_be_visible()


def test_the_diary_takes_a_walk_refuses_a_typo_and_shows_the_light_in_words(
    phone: Any, app: AppServer
) -> None:
    patient, token = a_link(app, "diary")
    open_as_patient(phone, app, token)
    prove_identity(phone, patient.birth_date)
    expect(phone.get_by_text(text.DIARY_TITLE)).to_be_visible()
    expect(phone.get_by_text("Get help now", exact=False).first).to_be_visible()  # the safety-net box
    phone.get_by_role("textbox", name="Minutes you walked").fill("twenty")
    answer(phone, "Pain before the walk", "2")
    answer(phone, "Pain during the walk", "7")
    phone.get_by_role("button", name="Save this walk").click()
    expect(phone.get_by_text("Type the number of minutes", exact=False).first).to_be_visible()
    expect(phone.get_by_role("textbox", name="Minutes you walked")).to_have_value(
        "twenty"
    )  # nothing typed is lost
    phone.get_by_role("textbox", name="Minutes you walked").fill("20")
    phone.get_by_role("button", name="Save this walk").click()
    expect(phone.get_by_text(text.DIARY_SAVED)).to_be_visible()
    expect(phone.get_by_text(pr.LIGHT_WORDS["red"]).first).to_be_visible()
    expect(phone.get_by_role("textbox", name="Minutes you walked")).to_have_value("")  # ready for the next
    axe_clean(phone, "diary")
    screenshot(phone, "diary-375")
    assert_no_exception(phone, app)


def test_a_link_opened_as_the_first_request_after_a_restart_shows_the_page_without_a_not_found_dialog(
    phone: Any, app_server_factory: Any
) -> None:
    fresh = app_server_factory()  # a server no browser has asked anything yet
    patient, token = a_link(fresh, "checkin")
    open_as_patient(phone, fresh, token)
    expect(phone.get_by_role("textbox", name="Your date of birth")).to_be_editable()
    expect(phone.get_by_text("Page not found")).to_have_count(0)
    prove_identity(phone, patient.birth_date)
    expect(phone.get_by_text(text.TITLE)).to_be_visible()
