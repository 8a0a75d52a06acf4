"""A patient opens a plan link on a 375 px phone (issue 23): the date-of-birth check, then the web
version of the handout as given, with real headings, the drawings visible and the safety-net box,
clean under axe-core; in Arabic right to left. The standalone HTML download passes axe too.

The pages are kept as test-artifacts/screenshots/plan-link-375-en.png and -ar.png, to look at;
STRIDE_UPDATE_DOCS_SCREENSHOTS=1 also copies the Arabic one to docs/screenshots/ for the README.
"""

from __future__ import annotations

import os
import shutil
from typing import Any

from playwright.sync_api import expect

from dashboard import checkin_services as cs
from dashboard import plan_link, plan_page, services
from dashboard.config import load_settings
from dashboard.handout_language import choose_handout
from dashboard.plan import placeholder_values
from data.library import load_library
from data.store import open_store
from reports import handout, handout_web, i18n
from tests.browser import test_checkin
from tests.browser.conftest import AppServer, assert_no_exception, screenshot, wait_for_layout
from tests.browser.test_checkin import axe_clean, open_as_patient, prove_identity
from tests.conftest import ROOT

phone = test_checkin.phone  # the same fresh phone-sized context: no cookie, no login
DOCS_SCREENSHOT = ROOT / "docs" / "screenshots" / "web-plan-375-ar.png"


def a_plan_link(app: AppServer, language: str) -> tuple[Any, str, str]:
    """A demo patient in `language` given a handout, and a plan link for it: (patient, token, page)."""
    store = open_store(app.database_url)
    try:
        with store.read() as tx:
            user = tx.get_user_by_username("demo.clinician")
            patient = next(
                p
                for p in tx.search_patients("")
                if tx.open_episode(p.id or "") is not None
                and tx.visits(p.id or "")
                and not tx.escalations(patient_id=p.id)
                and p.language == "en"
            )
        pid = patient.id or ""
        if language != "en":
            services.update_patient(
                store, user, pid, {"language": language}, expected_version=patient.version, reason="language"
            )
        settings, library = load_settings(), load_library()
        record = services.open_patient(store, user, pid, audit=False)
        english = plan_page.plan_for(record, library, settings, user.display_name)
        translation = None
        if language != "en":
            translation = i18n.translate_plan(english, library, language, placeholder_values(settings))
        choice = choose_handout(english, translation, None, chosen=language)
        plan_page.give_handout(
            store,
            user,
            pid,
            choice,
            handout.render,
            large_print=False,
            rule_set_version="r",
            library_version="l",
        )
        issued = cs.create_invite(store, user, pid, "plan")
        page = handout_web.render_html(choice.plan, **choice.render_options(large_print=False))
    finally:
        store.close()
    return patient, issued.token, page


def see_the_plan(phone: Any, app: AppServer, language: str) -> Any:
    patient, token, _ = a_plan_link(app, language)
    open_as_patient(phone, app, token)
    expect(phone.get_by_role("heading", name=plan_link.PLAN_TITLE)).to_be_visible()
    expect(phone.locator(".stride-plan")).to_have_count(0)  # nothing of the plan before the check
    prove_identity(phone, patient.birth_date)
    plan = phone.locator("article.stride-plan")
    expect(plan).to_be_visible()
    expect(plan.get_by_role("heading", level=1)).to_be_visible()
    expect(plan.get_by_role("heading", level=2).first).to_be_visible()
    pictures = plan.locator("figure.drawing img")
    expect(pictures.first).to_be_visible()
    assert pictures.count() >= 1
    for index in range(pictures.count()):
        picture = pictures.nth(index)
        picture.scroll_into_view_if_needed()
        assert picture.get_attribute("alt")
        assert picture.evaluate("img => img.complete && img.naturalWidth > 0")  # the SVG really drew
        box = picture.bounding_box()
        assert box is not None and 0 < box["width"] <= 375
    assert_no_exception(phone, app)
    return plan


def test_a_patient_opens_the_plan_link_on_a_phone_and_reads_the_plan(phone: Any, app: AppServer) -> None:
    plan = see_the_plan(phone, app, "en")
    assert plan.get_attribute("lang") == "en" and plan.get_attribute("dir") == "ltr"
    net = plan.get_by_role("complementary", name="When to get help")
    expect(net).to_be_visible()
    expect(net.get_by_role("heading", name="When to get help")).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375  # no sideways scrolling
    axe_clean(phone, "plan-link-en")
    plan.get_by_role("heading", level=1).scroll_into_view_if_needed()
    wait_for_layout(phone)
    screenshot(phone, "plan-link-375-en")


def test_an_arabic_patient_reads_the_plan_right_to_left_with_the_translated_safety_net(
    phone: Any, app: AppServer
) -> None:
    plan = see_the_plan(phone, app, "ar")
    assert plan.get_attribute("lang") == "ar" and plan.get_attribute("dir") == "rtl"
    catalogue = i18n.catalogue("ar")
    assert catalogue is not None
    heading = str(catalogue.get("When to get help"))
    expect(plan.get_by_role("complementary", name=heading)).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    axe_clean(phone, "plan-link-ar")
    plan.get_by_role("heading", level=1).scroll_into_view_if_needed()  # the page as the patient opens it
    wait_for_layout(phone)
    shot = screenshot(phone, "plan-link-375-ar")
    if os.environ.get("STRIDE_UPDATE_DOCS_SCREENSHOTS") == "1":
        shutil.copyfile(shot, DOCS_SCREENSHOT)


def test_the_downloaded_web_version_shows_its_inline_drawings_and_passes_axe(
    browser: Any, app: AppServer
) -> None:
    _, _, page = a_plan_link(app, "en")
    # The page's own policy forbids every script, axe's too: the context lets the test inject it.
    context = browser.new_context(viewport=test_checkin.PHONE, bypass_csp=True)
    try:
        phone = context.new_page()
        phone.set_content(page)
        drawings = phone.locator("figure.drawing svg")
        expect(drawings.first).to_be_visible()
        for index in range(drawings.count()):
            assert drawings.nth(index).get_attribute("aria-label")
            box = drawings.nth(index).bounding_box()
            assert box is not None and box["width"] > 100 and box["height"] > 20
        expect(phone.get_by_role("complementary", name="When to get help")).to_be_visible()
        expect(phone.locator(".provenance")).to_contain_text("Stride plan of")
        assert phone.evaluate("document.documentElement.scrollWidth") <= 375
        axe_clean(phone, "plan-web-download")
        screenshot(phone, "plan-web-download-375-en")
    finally:
        context.close()
