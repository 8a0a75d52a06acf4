"""Hostile Markdown in every free-text field is shown as plain text on every page, in a real browser.

A patient, two accounts, a visit, a correction, a handout, an approval and a licence note are seeded
with values full of Markdown, HTML and Streamlit directives (an image and links to 127.0.0.1:9,
bold, italics, a heading, LaTeX, :red[...], :streamlit:, bare www. and e-mail addresses). The test
walks every page, opening the expanders and forms where the values appear, and checks the rendered
DOM: no image or link to that
host, no emphasis or heading made of the hostile words, no KaTeX, no coloured span, and no request
to 127.0.0.1:9 at all.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

import pytest

from dashboard import governance, red_flags, services
from dashboard.config import load_settings
from data.store import open_store
from tests.browser.conftest import (
    AppServer,
    assert_no_exception,
    screenshot,
    wait_for_app,
    wait_for_login_cookie,
)
from tests.browser.test_pages_in_browser import choose, go_to
from tests.integration.support import CLEAN_SCREEN, PASSWORD

TRAP = "http://127.0.0.1:9/"  # nothing listens on port 9 (discard): any request to it is a leak
# Words that must never end up alone inside an emphasis, heading or link element.
WORDS = ("BOLDX", "itx", "hx", "HX", "redx", "linkx", "strikex")
GIVEN = f"![p]({TRAP}g) **BOLDX** _itx_ :red[redx] $x^2$"
FAMILY = f"<b>hx</b> [linkx]({TRAP}f) :streamlit: ~~strikex~~ # HX"
HOSTILE = (
    f"![p]({TRAP}x) **BOLDX** _itx_ <b>hx</b> [linkx]({TRAP}) :red[redx] $x^2$ :streamlit: "
    "www.example.org x@example.org"
)
MULTILINE = f"{HOSTILE}\n# HX\n> quote\n1. {HOSTILE}"
REF = f"![r]({TRAP}r)**BOLDX**"  # a reference is at most 40 characters
USERNAME = f"u` ![u]({TRAP}u) **BOLDX**"  # a backtick first: it would close a code span
ADMIN = f"a` ![a]({TRAP}a) **BOLDX**"  # the account the test logs in with

# Everything the page must not contain, read from the DOM in one go.
FIND_INJECTED = """
(words) => {
  const found = [];
  const host = "127.0.0.1:9/";
  for (const el of document.querySelectorAll(
      "strong, em, b, i, del, s, h1, h2, h3, h4, h5, h6, a, blockquote, code")) {
    const text = el.textContent.trim();
    if (words.includes(text)) found.push(`<${el.tagName.toLowerCase()}>${text}`);
  }
  for (const img of document.querySelectorAll("img")) {
    const src = img.getAttribute("src") || "";
    if (src.includes(host) || ["p", "r", "u", "a"].includes(img.alt)
        || img.alt === "Streamlit logo") found.push(`<img src=${src.slice(0, 60)} alt=${img.alt}>`);
  }
  for (const a of document.querySelectorAll("a")) {
    const href = a.getAttribute("href") || "";
    if (href.includes(host) || href.includes("example.org")) found.push(`<a href=${href}>`);
  }
  if (document.querySelector(".katex, .katex-display, math")) found.push("KaTeX");
  for (const el of document.querySelectorAll(
      ".stMarkdownColoredText, .stMarkdownColoredBackground, .stMarkdownBadge")) {
    found.push(`coloured span: ${el.textContent.trim()}`);
  }
  return found;
}
"""


def seed_hostile_clinic(database_url: str) -> None:
    """Accounts, a patient with an EMERGENCY and an URGENT flag, history, a handout, governance notes."""
    store = open_store(database_url)
    try:
        admin = services.create_user(
            store, None, username=ADMIN, display_name=HOSTILE, role="admin", password=PASSWORD
        )
        services.create_user(
            store, None, username=USERNAME, display_name=HOSTILE, role="clinician", password=PASSWORD
        )
        settings = load_settings()
        governance.approve_rule_set(store, admin, red_flags.rule_set_version(settings.rules), HOSTILE)
        governance.record_licence(store, admin, next(iter(governance.LICENSED_INSTRUMENTS)), HOSTILE)
        patient = services.register_patient(
            store,
            admin,
            {
                "patient_ref": REF,
                "given_name": GIVEN,
                "family_name": FAMILY,
                "birth_date": dt.date(1958, 4, 12),
                "sex": "F",
                "symptom_onset": dt.date(2025, 1, 6),
            },
        )
        pid = patient.id or ""
        patient = services.update_patient(
            store,
            admin,
            pid,
            {"next_review_date": dt.date.today()},
            expected_version=patient.version,
            reason=HOSTILE,
        )
        visit, _ = services.record_visit(
            store,
            admin,
            pid,
            {
                **CLEAN_SCREEN,
                "visit_date": dt.date.today() - dt.timedelta(days=1),
                "pain_nrs": 6,
                "psfs": [{"activity": HOSTILE, "score": 3}, {"activity": GIVEN, "score": 5}],
                "notes": MULTILINE,
                # New saddle numbness: EMERGENCY (pinned in the sidebar); weight loss and night
                # pain: an URGENT flag the test closes with a hostile note.
                "saddle_anaesthesia": "new",
                "unexplained_weight_loss": True,
                "night_pain": True,
            },
        )
        services.correct_visit(
            store,
            admin,
            visit.id or "",
            {**visit.clinical_dict(), "pain_nrs": 7},
            expected_version=visit.version,
            reason=HOSTILE,
        )
        services.record_handout(
            store,
            admin,
            pid,
            pdf=b"%PDF-1.4 not a real handout",
            plan={"clinician_name": HOSTILE, "personal_note": MULTILINE},
            rule_set_version="test",
            library_version="test",
        )
    finally:
        store.close()


@pytest.fixture(scope="module")
def hostile_app(
    app_server_factory: Callable[..., AppServer], tmp_path_factory: pytest.TempPathFactory
) -> AppServer:
    url = f"sqlite:///{tmp_path_factory.mktemp('hostile')}/stride.sqlite3"
    seed_hostile_clinic(url)
    return app_server_factory(url, seed=False)


def assert_shown_as_text(page: Any, where: str, leaks: list[str]) -> None:
    """The page holds no element made from the hostile Markdown, and nothing asked for 127.0.0.1:9."""
    wait_for_app(page)
    injected = page.evaluate(FIND_INJECTED, list(WORDS))
    assert not injected, f"{where}: Markdown from user text was rendered: {injected}"
    assert not leaks, f"{where}: the browser asked for {leaks}"


# One event's card closes all its escalations at once.
CLOSE_BUTTON = re.compile(r"^Close (escalation|all \d+ escalations)$")


def expand(page: Any, label: str) -> None:
    page.locator('[data-testid="stExpander"] summary', has_text=label).first.click()
    wait_for_app(page)


def test_hostile_markdown_in_every_field_is_shown_as_plain_text_on_every_page(page, hostile_app):
    leaks: list[str] = []
    page.on("request", lambda request: leaks.append(request.url) if TRAP in request.url else None)
    page.goto(hostile_app.url)
    wait_for_app(page)
    page.get_by_role("textbox", name="Username").fill(ADMIN)
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    wait_for_login_cookie(page)
    sidebar = page.locator('[data-testid="stSidebar"]')
    pin = sidebar.locator('.st-key-emergency_pins [data-testid="stPageLink"]')
    pin.first.wait_for()
    assert_shown_as_text(page, "sidebar", leaks)
    # The hostile text is there, shown literally (so the checks look at real output).
    assert "**BOLDX**" in pin.first.inner_text()
    assert "**BOLDX**" in sidebar.inner_text()  # the display name above the pin

    # Patients: search results, the patient's heading, the history of changes.
    go_to(page, "Patients")
    search = page.get_by_label("Find by name or reference")
    search.fill("BOLDX")
    search.press("Enter")
    wait_for_app(page)
    page.get_by_role("button", name="Open").first.click()
    wait_for_app(page)
    expand(page, "History of changes")
    assert (
        "reason: ![p]("
        in page.locator('[data-testid="stExpander"]', has_text="History of changes").inner_text()
    )
    assert_shown_as_text(page, "patients", leaks)
    screenshot(page, "injection-patients")

    # Visit (the title) and the correction's history.
    page.get_by_role("button", name="Correct").first.click()
    wait_for_app(page)
    expand(page, "History of this visit")
    assert_shown_as_text(page, "visit correction", leaks)
    go_to(page, "Visit")
    assert_shown_as_text(page, "visit", leaks)

    go_to(page, "Progress")
    assert_no_exception(page, hostile_app)
    assert_shown_as_text(page, "progress", leaks)

    # Plan: heading, the handout given (clinician name), the preview with a hostile personal note.
    go_to(page, "Plan & handout")
    note = page.get_by_label("A personal note for the patient (optional)")
    note.fill(MULTILINE)
    note.press("Control+Enter")
    wait_for_app(page)
    assert "**BOLDX**" in page.locator(".st-key-plan_preview").inner_text()
    assert_shown_as_text(page, "plan", leaks)
    screenshot(page, "injection-plan")

    go_to(page, "Caseload")
    assert_shown_as_text(page, "caseload", leaks)

    # Red flags: the cards, then close the event (its EMERGENCY and URGENT flags, raised by one
    # screening) with a hostile note (the flash names the patient).
    go_to(page, "Red flags")
    assert_shown_as_text(page, "red flags", leaks)
    card = page.locator('[data-testid="stVerticalBlock"]', has_text="URGENT").filter(
        has=page.get_by_role("button", name=CLOSE_BUTTON)
    )
    card = card.last
    choose(page, "Action taken", "Other (describe)", within=card)
    card.get_by_role("textbox", name="Reference, reason or description").fill(HOSTILE)
    card.get_by_role("button", name=CLOSE_BUTTON).click()
    wait_for_app(page)
    page.get_by_text("Closed RF_").wait_for()
    assert_shown_as_text(page, "red flags after closing", leaks)

    go_to(page, "My account")
    assert "username a` ![a](" in page.locator('[data-testid="stMain"]').inner_text()
    assert_shown_as_text(page, "my account", leaks)

    # Admin: accounts (the reset form names the hostile username), approval and licence notes, erasure.
    go_to(page, "Users")
    choose(page, "Account", f"{USERNAME} · {HOSTILE} · clinician")
    page.get_by_text("Reset the password of").wait_for()
    assert_shown_as_text(page, "admin users", leaks)
    go_to(page, "Rules and licences")
    page.get_by_text("Approved by").wait_for()
    assert_shown_as_text(page, "admin rules", leaks)
    go_to(page, "Erasure")
    erase_ref = page.get_by_label("Patient reference (exactly as recorded)")
    erase_ref.fill(REF)
    erase_ref.press("Enter")
    wait_for_app(page)
    page.get_by_text("check this is the person who asked").wait_for()
    assert_shown_as_text(page, "admin erasure", leaks)
    screenshot(page, "injection-admin-erasure")
    assert_no_exception(page, hostile_app)
