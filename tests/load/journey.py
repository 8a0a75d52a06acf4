"""One clinician's session, step by step, over the protocol client: what `make load` repeats.

Log in (the login form, then the browser's trip to /_stride/claim for the cookie and the reload),
open a patient from the Patients page, record a visit (realistic values typed field by field, each a
rerun of its section, then Save), open Progress, and download the handout from Plan & handout (a PDF,
checked). Every step keeps its wall time and any error; a save counts as acknowledged only when the
page says "Visit saved.".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from dashboard import page_keys as keys
from tests.load.protocol import ProtocolError, Step, Tab
from tests.load.server import session_digest

USERNAME = "demo.clinician"
PASSWORD = "stride-demo"
SAVED_TEXT = "Visit saved."
# The values a physiotherapist types at a follow-up: pain now and at worst, a short note.
VISIT_VALUES: tuple[tuple[str, str, object], ...] = (
    ("visit: pain now", keys.Visit.PREFIX + "pain_nrs", 4),
    ("visit: worst pain", keys.Visit.PREFIX + "pain_worst_nrs", 6),
    ("visit: notes", keys.Visit.PREFIX + "notes", "Walks to the shop and back; pain settles with sitting."),
)
# Steps reported on their own; the field edits are pooled as one step.
STEPS = ("login", "open patient", "open visit", "visit field", "save visit", "open progress", "handout")


@dataclass
class Outcome:
    """What one session did: its steps, saves the page acknowledged, handouts that were PDFs."""

    steps: list[Step] = field(default_factory=list)
    saves_acknowledged: int = 0
    handouts: int = 0
    failure: str | None = None
    session_ids: list[str] = field(default_factory=list)  # digests of the server's ids, as in its run log

    @property
    def errors(self) -> list[str]:
        return [f"{s.name}: {e}" for s in self.steps for e in s.errors] + (
            [self.failure] if self.failure else []
        )


def _named(step: Step, name: str) -> Step:
    step.name = name
    return step


async def log_in(tab: Tab, out: Outcome, username: str = USERNAME) -> None:
    """Fill the login form, follow the claim redirect for the cookie, reload into the new session."""
    out.steps.append(_named(await tab.open("/"), "start page"))
    tab.set_value(tab.widget(keys.Account.USERNAME), username)
    tab.set_value(tab.widget(keys.Account.PASSWORD), PASSWORD)
    step = await tab.click("login", tab.widget(label="Log in"))
    target = tab.refresh_target()
    if target is None:
        step.errors.append("no claim redirect after the login")
        out.steps.append(step)
        return
    status, headers, _ = await tab.get(target, follow=False)
    if status != 303 or "stride_session" not in tab.cookies:
        step.errors.append(f"claim answered {status} without the session cookie")
    reload = await tab.open(headers.get("location", "/"))
    step.wall_s += reload.wall_s
    step.runs += reload.runs
    step.errors += reload.errors
    step.ended_at = reload.ended_at
    if not tab.has_widget("logout"):
        step.errors.append("not logged in after the claim")
    out.steps.append(step)


async def open_patient(tab: Tab, out: Outcome, patient_ref: str) -> None:
    """Patients page, search by reference, Open."""
    out.steps.append(_named(await tab.go_to("patients"), "open patients"))
    search = await tab.change("search patient", tab.widget(keys.Patients.SEARCH), patient_ref)
    out.steps.append(search)
    step = await tab.click("open patient", tab.widget(prefix=keys.Patients.OPEN.format("")))
    if not tab.shows(patient_ref):
        step.errors.append("the patient's page does not show them")
    out.steps.append(step)


async def record_visit(tab: Tab, out: Outcome) -> None:
    """The Visit page: type the values, confirm what was carried forward, save."""
    out.steps.append(_named(await tab.go_to("visit"), "open visit"))
    for _, key, value in VISIT_VALUES:
        out.steps.append(await tab.change("visit field", tab.widget(key), value))
    if tab.has_widget(keys.Visit.CONFIRM_CARRIED):
        out.steps.append(await tab.change("visit field", tab.widget(keys.Visit.CONFIRM_CARRIED), True))
    if tab.has_widget(keys.Visit.CONFIRM_REPORTED):
        out.steps.append(await tab.change("visit field", tab.widget(keys.Visit.CONFIRM_REPORTED), True))
    step = await tab.click("save visit", tab.widget(keys.Visit.SAVE))
    if tab.shows(SAVED_TEXT):
        out.saves_acknowledged += 1
    else:
        step.errors.append("no 'Visit saved.' after Save")
    out.steps.append(step)


async def open_progress(tab: Tab, out: Outcome) -> None:
    out.steps.append(_named(await tab.go_to("progress"), "open progress"))


async def download_handout(tab: Tab, out: Outcome) -> None:
    """Plan & handout, then the handout's download button: the file must be a PDF."""
    out.steps.append(_named(await tab.go_to("plan"), "open plan"))
    step, body, headers = await tab.download("handout", tab.widget(keys.Plan.DOWNLOAD))
    if not body.startswith(b"%PDF-") or "application/pdf" not in headers.get("content-type", ""):
        step.errors.append(f"the handout is not a PDF ({headers.get('content-type')}, {len(body)} bytes)")
    else:
        out.handouts += 1
    out.steps.append(step)


async def clinician_session(
    base_url: str,
    patient_ref: str,
    *,
    timeout_s: float = 120.0,
    ca_file: Path | None = None,
    cookies: dict[str, str] | None = None,
) -> Outcome:
    """One whole session in a fresh tab (with `cookies` already set, e.g. a proxy's route); a broken step
    ends it, recorded as a failure."""
    tab = Tab(base_url, timeout_s=timeout_s, ca_file=ca_file)
    tab.cookies.update(cookies or {})
    out = Outcome()
    try:
        await log_in(tab, out)
        await open_patient(tab, out, patient_ref)
        await record_visit(tab, out)
        await open_progress(tab, out)
        await download_handout(tab, out)
    except ProtocolError as exc:
        out.failure = str(exc)
    finally:
        await tab.close()
        out.session_ids = [session_digest(s) for s in tab.session_ids]
    return out
