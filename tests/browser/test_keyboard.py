"""A follow-up visit recorded with the keyboard alone (issue 13).

Setup (log in, open the patient, open Visit) may use the mouse. From then on only Tab, Shift+Tab,
Enter, Space, arrows and typing: pain, walking times, the six "Asked: all negative" buttons, the
carried-forward confirmation and Save. The focus order is recorded on the way and must reach the
pain field before the walking fields, those before the screening buttons, and those before Save.
"""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import assert_no_exception, screenshot, wait_for_app
from tests.browser.test_journey import latest_visit
from tests.browser.test_pages_in_browser import go_to, log_in, open_patient

PATIENT_REF = "DEMO-00008"
MAX_TABS = 200  # all the Tab presses of the whole test, so a lost focus fails instead of looping
SCREENING_GROUPS = 6

# The accessible name of the focused element, as a screen reader would announce it (roughly).
ACTIVE_LABEL_JS = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return "";
  const labelled = el.getAttribute("aria-labelledby");
  const byId = labelled
    ? labelled.split(" ").map(id => document.getElementById(id)?.innerText || "").join(" ")
    : "";
  const byLabel = el.labels && el.labels.length ? el.labels[0].innerText : "";
  const text = el.getAttribute("aria-label") || byId || byLabel || el.innerText || el.title || "";
  return `${el.tagName.toLowerCase()}: ${text.replace(/\\s+/g, " ").trim()}`;
}"""


class Keyboard:
    """Tab through the page, remembering every focused element's label."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.visited: list[str] = []

    def active(self) -> str:
        return str(self.page.evaluate(ACTIVE_LABEL_JS))

    def tab_to(self, pattern: str, *, edited: bool = False) -> str:
        """Press Tab until the focused element's label matches `pattern`; returns that label.

        `edited`: the element we leave holds a typed value, which Streamlit commits on blur (a rerun).
        """
        for _ in range(MAX_TABS - len(self.visited)):
            self.page.keyboard.press("Tab")
            if edited:
                wait_for_app(self.page)
                edited = False
            label = self.active()
            self.visited.append(label)
            if re.search(pattern, label):
                return label
        raise AssertionError(f"Tab never reached {pattern!r}; focus went through: {self.visited}")

    def expect_focus(self, pattern: str) -> None:
        """Wait until the focused element's label matches `pattern` (a rerun may move the focus late)."""
        self.page.wait_for_function(
            f"(source) => new RegExp(source).test(({ACTIVE_LABEL_JS})())", arg=pattern
        )

    def press(self, key: str) -> None:
        self.page.keyboard.press(key)
        wait_for_app(self.page)

    def first_index(self, pattern: str) -> int:
        return next(i for i, label in enumerate(self.visited) if re.search(pattern, label))


def test_a_follow_up_visit_is_recorded_with_the_keyboard_alone(page, app):
    # Setup with the mouse.
    log_in(page, app.url)
    open_patient(page, PATIENT_REF)
    go_to(page, "Visit")
    page.get_by_role("heading", name=re.compile("Follow-up visit")).wait_for()
    # Streamlit loads some widget types' code on first use: wait until the form is complete.
    page.get_by_label("Current pain, NPRS (0–10)").wait_for()
    page.get_by_label("Notes").wait_for()

    keys = Keyboard(page)
    keys.tab_to(r"^input: Current pain, NPRS")
    page.keyboard.type("3")
    keys.tab_to(r"^input: Time to first symptom \(min\)", edited=True)
    page.keyboard.type("7.5")
    keys.tab_to(r"^input: Total time \(min\)", edited=True)
    page.keyboard.type("12")
    for group in range(SCREENING_GROUPS):
        keys.tab_to(r"^button: Asked: all negative", edited=group == 0)
        keys.press("Enter" if group % 2 == 0 else "Space")  # both activate a button
        # The button keeps the focus across the rerun, so the next Tab continues from here.
        keys.expect_focus("Asked: all negative")
    keys.tab_to(r"^input: Confirm carried-forward items")
    keys.press("Space")
    expect(page.get_by_role("checkbox", name=re.compile("Confirm carried-forward items"))).to_be_checked()
    keys.tab_to(r"^button: Save visit")
    # Shift+Tab goes back the same way, to the confirmation, and Tab returns to Save.
    page.keyboard.press("Shift+Tab")
    keys.expect_focus(r"^input: Confirm carried-forward items")
    keys.tab_to(r"^button: Save visit")
    keys.press("Enter")

    page.get_by_text("Visit saved.").wait_for()
    assert_no_exception(page, app)
    expect(page.get_by_text("Ask now:")).to_have_count(0)
    screenshot(page, "keyboard-visit-saved")
    saved = latest_visit(app.database_url, PATIENT_REF)
    assert (saved.pain_nrs, saved.walk_onset_min, saved.walk_total_min) == (3, 7.5, 12.0)
    assert saved.saddle_anaesthesia == "none" and saved.pulsatile_abdominal_mass is False

    # The focus order follows the form: pain, then walking, then the screen, then Save.
    pain = keys.first_index(r"^input: Current pain")
    walking = [keys.first_index(r"^input: Time to first symptom"), keys.first_index(r"^input: Total time")]
    buttons = [i for i, label in enumerate(keys.visited) if label.startswith("button: Asked: all negative")]
    save = keys.first_index(r"^button: Save visit")
    assert len(buttons) == SCREENING_GROUPS, keys.visited
    assert pain < min(walking) and max(walking) < min(buttons) and max(buttons) < save, keys.visited
