"""Stride's router: page config, opening the store, the login gate, the shared sidebar, navigation."""

from __future__ import annotations

import datetime as dt
import functools
import html
import logging
import runpy
from pathlib import Path
from typing import NoReturn

import streamlit as st
from streamlit.runtime import Runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

from dashboard import auth, rescreen, services, web_sessions
from dashboard import page_keys as keys
from dashboard.config import Settings, load_settings
from dashboard.models import TIER_ORDER
from dashboard.page_context import chosen_patient_id
from dashboard.plan import Library
from dashboard.ports import FlagSummary, StoreBusy, StoreUnavailable, StrideError
from dashboard.safe_text import md_escape
from dashboard.visit_form import set_aside
from data import rescreen_worker
from data.store import SqlStore, open_store

st.set_page_config(page_title="Stride", page_icon="🚶", layout="wide")
log = logging.getLogger("stride")


@st.cache_resource(show_spinner="Opening the clinic database…")
def get_store(url: str) -> SqlStore:
    store = open_store(url)
    try:  # after a rule-set change, one background job re-screens every patient (one across all processes)
        rescreen.start_rescreen(store, None, get_settings(), functools.partial(rescreen_worker.launch, url))
    except Exception as exc:  # the app still opens; the Rules and licences page can start it again
        log.error("the re-screen after a rule change could not be started: %s", type(exc).__name__)
    return store


@st.cache_resource
def get_settings() -> Settings:
    return load_settings()


@st.cache_resource
def get_library() -> Library:
    from data.library import load_library

    return load_library()


settings = get_settings()
try:
    store = get_store(settings.database_url)
except Exception as exc:  # any driver or migration error: show a readable page, never a traceback
    log.error("database could not be opened: %s", type(exc).__name__)
    error_type = type(exc).__name__

    def database_error_page() -> None:
        st.title("Stride cannot open its database")
        st.error(
            "The clinic database could not be opened or brought up to date. "
            "Check the **STRIDE_DATABASE_URL** setting (unset means the embedded SQLite file in `var/`), "
            "that the database server is running and reachable, and that this account may write to it. "
            "Then reload this page."
        )
        st.caption(f"Error type: {error_type}. Details are in the server log.")

    # Registering the one page keeps Streamlit from listing the page files in a sidebar.
    st.navigation([st.Page(database_error_page, title="Stride", default=True)], position="hidden").run()
    st.stop()

# A store error no page caught: the lock wait ran out, or the database server cannot be reached.
STORE_AWAY = (StoreBusy, StoreUnavailable)


def database_away(message: str, *, before_the_page: bool = True) -> NoReturn:
    """End this run with a readable message and a way to try again in this tab: a reload would start a
    new session and lose what the clinician typed. A run stopped before the page drew its form sets the
    form's values aside for the next run (visit_form.set_aside)."""
    if before_the_page:
        set_aside(st.session_state)
    st.error(message, icon="🔌")
    st.button("Try again", key="database_retry", type="primary")
    st.stop()


st.session_state[keys.STORE] = store
st.session_state[keys.SETTINGS] = settings
st.session_state[keys.LIBRARY_LOADER] = get_library
try:
    is_demo = store.is_demo
except STORE_AWAY as exc:  # the database server went away after the store was opened
    database_away(str(exc))
st.session_state[keys.IS_DEMO] = is_demo

now = dt.datetime.now(dt.UTC)
# The browser's login cookie: restores the user after a refresh or in a new tab, ends a revoked login.
cookie = st.context.cookies.get(web_sessions.COOKIE_NAME)
try:
    claim_url = web_sessions.sync(st.session_state, cookie, store, settings, now=now)
except STORE_AWAY as exc:  # many logins at once on SQLite, or no database: never Streamlit's error page
    database_away(str(exc))
user = st.session_state.get(keys.USER)
timeout = dt.timedelta(minutes=settings.session_timeout_min)
if user is not None and now - st.session_state.get(keys.LAST_SEEN, now) > timeout:
    try:
        services.logout(store, user, reason="inactivity timeout")
        web_sessions.end(st.session_state, store, web_sessions.REASON_TIMEOUT)  # also clears the state
    except STORE_AWAY as exc:  # show nothing of the session; the next run retries the audited logout
        database_away(str(exc))
    st.session_state[keys.EXPIRED] = True
    user = None
    st.rerun()

if user is not None:
    # The session's User is only what was true at login: re-read the account on every rerun, so a
    # deactivation, role change or password reset by an admin ends this session at its next interaction.
    try:
        current = services.session_account(store, user)
    except Exception as exc:  # a database outage: a readable message, never a traceback
        log.error("account check failed: %s", type(exc).__name__)
        database_away(str(exc) if isinstance(exc, STORE_AWAY) else StoreUnavailable.MESSAGE)
    if current is None:
        services.logout(store, user, reason="account changed")
        # The browser's cookie session ends too, or the next rerun would restore the login from it.
        web_sessions.end(st.session_state, store, web_sessions.REASON_ACCOUNT_CHANGED)  # clears the state
        st.session_state[keys.ACCOUNT_ENDED] = True
        st.rerun()
    user = st.session_state[keys.USER] = current

# The patient's page (check-in and walking diary): reached by a link with a token, never listed. Its
# file name differs from its address on purpose, so Streamlit's pages/ fallback (server.py turns it off)
# could never run it without the router.
CHECKIN_PAGE = st.Page(
    "pages/patient_link.py", title="Check in", icon="🚶", url_path="checkin", visibility="hidden"
)
PAGE_PATHS = (
    "patients",
    "visit",
    "progress",
    "plan",
    "caseload",
    "flags",
    "account",
    "admin",
    "admin_audit",
    "admin_governance",
    "admin_data",
    "admin_erasure",
)

if user is None or user.must_change_password:
    # Every page's address shows the login page (no "page not found"), or after an admin's reset the
    # new-password step; after login the same address opens the page that was asked for.
    login_script = str(Path(__file__).with_name("pages") / "login.py")
    login_pages = (
        [st.Page("pages/login.py", title="Log in", icon="🔑", default=True)]
        + [
            st.Page(
                functools.partial(runpy.run_path, login_script, run_name="__main__"),  # type: ignore[arg-type]  # Page ignores the returned globals
                title="Log in",
                url_path=path,
            )
            for path in PAGE_PATHS
        ]
        + [CHECKIN_PAGE]
    )  # the patient's own page needs no account
    try:
        st.navigation(login_pages, position="hidden").run()
    except STORE_AWAY as exc:  # a page that did not catch it itself: still a readable message
        st.error(str(exc), icon="🔌")
    st.stop()

st.session_state[keys.LAST_SEEN] = now
if st.session_state.pop(web_sessions.STATE_RESUMED, False):  # a reload, a new tab, another process
    st.info(web_sessions.RESUMED_NOTICE, icon="🔄")
if claim_url:  # just logged in: the browser fetches its session cookie (server.py) and comes back
    st.markdown(
        f'<meta http-equiv="refresh" content="0;url={html.escape(claim_url)}">', unsafe_allow_html=True
    )
    # The tab comes back in a new Streamlit session; without this, Streamlit would keep this one, the
    # signed-in user in its state, for server.disconnectedSessionTTL (120 s) after the socket closes:
    # an idle copy of every login (tests/load/day.py measures the sessions kept).
    if (run := get_script_run_ctx()) is not None and Runtime.exists():
        Runtime.instance().mark_session_nonresumable(run.session_id)


# Check often enough that an idle tab is logged out soon after the timeout (at most every 30 s).
@st.fragment(run_every=min(30.0, max(1.0, timeout.total_seconds() / 3)))
def _idle_watch() -> None:
    # Runs on a timer even on an idle tab; a full rerun then shows the login page.
    last_seen = st.session_state.get(keys.LAST_SEEN, now)
    if dt.datetime.now(dt.UTC) - last_seen > timeout:
        st.rerun(scope="app")


with st.sidebar:
    try:
        flags = services.flag_summary(store, user)
    except StrideError:
        flags = FlagSummary({}, [])
    # Open emergencies first in the sidebar, newest first; the links are added once the pages exist.
    pins = st.container(border=True, key="emergency_pins") if flags.emergencies else None
    if (more := flags.counts.get("EMERGENCY", 0) - len(flags.emergencies)) > 0:
        st.error(f"**{more} more EMERGENCY** flags on the Red flags page", icon="🚨")
    if is_demo:
        st.warning("**Fictional demo data.** No real patients are stored here.", icon="🧪")
    st.markdown(f"**{md_escape(user.display_name)}**  \n{md_escape(user.role)}")
    st.caption(
        "Open flags: "
        + ", ".join(
            f"{flags.counts[tier]} {tier.replace('_', ' ').lower()}"
            for tier in reversed(TIER_ORDER)
            if flags.counts.get(tier)
        )
        if flags.total
        else "Open flags: none"
    )
    if st.button("Log out", key="logout"):
        try:
            services.logout(store, user)
            web_sessions.end(st.session_state, store, web_sessions.REASON_LOGOUT)  # also clears the state
        except STORE_AWAY as exc:  # still logged in: say so rather than pretend
            st.error(str(exc))
        else:
            st.rerun()
    st.caption("Decision support for registered clinicians. It does not diagnose.")
    _idle_watch()

pages = {
    "Appointment": [
        st.Page("pages/patients.py", title="Patients", icon="🧑", default=True),
        st.Page("pages/visit.py", title="Visit", icon="📝"),
        st.Page("pages/progress.py", title="Progress", icon="📈"),
        st.Page("pages/plan.py", title="Plan & handout", icon="📄"),
    ],
    "Clinic": [
        st.Page("pages/caseload.py", title="Caseload", icon="📋"),
        st.Page("pages/flags.py", title=f"Red flags ({flags.total})", icon="🚩"),
        st.Page("pages/account.py", title="My account", icon="👤"),
    ],
}
if auth.can(user.role, "view_outcomes"):
    pages["Clinic"].insert(2, st.Page("pages/outcomes.py", title="Outcomes", icon="🎯"))
if user.role == "admin":
    # The users page keeps the Admin page's old address, so links and bookmarks to /admin still work.
    pages["Admin"] = [
        st.Page("pages/admin_users.py", title="Users", icon="🛠️", url_path="admin"),
        st.Page("pages/admin_audit.py", title="Audit trail", icon="🔎"),
        st.Page("pages/admin_governance.py", title="Rules and licences", icon="⚖️"),
        st.Page("pages/admin_data.py", title="Export and import", icon="📦"),
        st.Page("pages/admin_erasure.py", title="Erasure", icon="🗑️"),
    ]
pages["Clinic"].append(CHECKIN_PAGE)  # hidden: a patient's link opened in a clinician's browser still works
# Expanded: with the Admin section an admin has more than twelve pages, which Streamlit would fold away
# behind "View more".
navigation = st.navigation(pages, expanded=True)
if pins is not None:
    with pins:
        st.error("**EMERGENCY: open now**", icon="🚨")
        for pinned in flags.emergencies:
            # A link to that patient's progress page; only the opaque id goes into the address.
            st.page_link(
                "pages/progress.py",
                label=(
                    f"**{md_escape(pinned.patient_name)}** ({md_escape(pinned.patient_ref)}) · "
                    f"{md_escape(pinned.rule_id)}"
                    + (" · patient-reported" if pinned.patient_reported else "")
                ),
                icon="🚨",
                query_params={"patient": pinned.patient_id},
            )
try:  # a patient the background re-screen has not reached yet is screened on the spot when opened
    rescreen.screen_on_open(store, user, chosen_patient_id(st.session_state, st.query_params), settings)
except Exception as exc:  # busy, refused or unreachable: the page shows the stored screening and its rule set
    log.warning("on-the-spot re-screen skipped: %s", type(exc).__name__)
try:
    navigation.run()
except STORE_AWAY as exc:  # a page that did not catch it itself: still a readable message
    database_away(str(exc), before_the_page=False)
