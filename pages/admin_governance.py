"""Admin · Rules and licences: rule-set approval, translation reviews, instrument licences (with
patient-completed use and the clinic's licensed wording), retention."""

import datetime as dt
import functools
import logging
from collections.abc import Callable

import streamlit as st

from dashboard import admin_views as view
from dashboard import governance, red_flags, rescreen
from dashboard import licensed_wording as lw
from dashboard import rescreen_jobs as jobs
from dashboard.page_context import page_context
from dashboard.page_keys import Admin as keys
from dashboard.ports import InvalidInputError, StoreUnavailable, StrideError
from dashboard.safe_text import md_escape
from data import rescreen_worker
from reports import i18n

# A deep link as the very first request after a restart can run this script before the router
# (Streamlit's pages/ fallback); send it through app.py, which holds the login gate. An account that is
# no admin goes there too: the router offers it only its own pages.
if (ctx := view.for_admins(page_context(st.session_state, st.query_params))) is None:
    st.switch_page("app.py")
    st.stop()
store, user, settings = ctx.store, ctx.user, ctx.settings
log = logging.getLogger("stride")

st.title("Rules and licences")
version = red_flags.rule_set_version(settings.rules)
try:  # the page's first read: a database that cannot be reached gets one readable line, no traceback
    job, _stale = rescreen.job_status(store, user, settings)
except StrideError as exc:
    st.error(md_escape(str(exc)))
    st.stop()
except Exception as exc:
    log.error("rules page: the database could not be read: %s", type(exc).__name__)
    st.error(StoreUnavailable.MESSAGE)
    st.stop()


def note_form(
    form_key: str, note_label: str, note_key: str, submit: str, record: Callable[[str], None], intro: str = ""
) -> None:
    """A form of one note that records a governance decision with it, then redraws the page."""
    with st.form(form_key):
        if intro:
            st.markdown(intro)
        note = st.text_input(note_label, key=note_key)
        if st.form_submit_button(submit):
            try:
                record(note)
            except StrideError as exc:
                st.error(md_escape(str(exc)))
            else:
                st.rerun()


st.markdown(f"Red-flag rule set version: **`{version}`**")
approval = governance.rule_set_approval(store, version)
if approval is None:
    st.warning(view.NOT_APPROVED)
    note_form(
        keys.APPROVE_FORM,
        "What you reviewed (kept with the approval)",
        keys.APPROVE_NOTE,
        "Approve this rule set",
        functools.partial(governance.approve_rule_set, store, user, version),
    )
else:
    st.success(view.approval_line(approval))
st.caption(view.RULES_NOTE)
st.dataframe(view.rule_settings_rows(settings.rules), hide_index=True, key=keys.RULE_SETTINGS)
with st.expander("The rule table", expanded=False):
    st.markdown(red_flags.rules_markdown(settings.rules))


def launch_worker(job_id: str) -> None:
    rescreen_worker.launch(settings.database_url, job_id)


def rescreen_progress() -> None:
    """The re-screen job's progress bar (read again every few seconds while one runs) and its start."""
    try:
        job, stale = rescreen.job_status(store, user, settings)
    except StrideError as exc:
        st.error(md_escape(str(exc)))
        return
    except Exception as exc:  # the database went away while the page was open
        log.error("re-screen progress could not be read: %s", type(exc).__name__)
        st.error(StoreUnavailable.MESSAGE)
        return
    now = dt.datetime.now(dt.UTC)
    if job is not None:
        st.progress(job.fraction, text=jobs.progress_text(job, now))
        st.caption("  \n".join(jobs.job_lines(job, now)))
        if not job.is_live(now) and live:  # it ended since the page was drawn: stop polling
            st.rerun()
    if stale is None:
        return
    st.markdown(jobs.stale_line(stale, version))
    if stale and st.button("Re-screen every patient now", key=keys.RESCREEN_START):
        try:
            outcome = rescreen.start_rescreen(store, user, settings, launch_worker)
        except StrideError as exc:
            st.error(md_escape(str(exc)))
        except Exception as exc:  # the worker could not be started, or the database went away
            log.error("re-screen could not be started: %s", type(exc).__name__)
            st.error(StoreUnavailable.MESSAGE if not isinstance(exc, OSError) else jobs.WORKER_NOT_STARTED)
        else:
            st.session_state[keys.RESCREEN_FLASH] = jobs.START_OUTCOMES[outcome]
            st.rerun()


st.subheader("Re-screening every patient")
st.caption(jobs.RESCREEN_NOTE)
if flash := st.session_state.pop(keys.RESCREEN_FLASH, None):
    st.info(flash)
live = job is not None and job.is_live(dt.datetime.now(dt.UTC))
st.fragment(rescreen_progress, run_every=jobs.POLL_SECONDS if live else None)()

st.markdown("**Handout translations** (clinical-reference §14)")
st.caption(view.TRANSLATIONS_NOTE)
for tag in i18n.shipped_languages():
    found = i18n.catalogue(tag)
    if found is None:
        continue
    review = governance.translation_review(store, tag, found.version)
    label = view.translation_label(tag, found.version)
    if review is not None:
        st.success(view.reviewed_line(label, review))
        continue
    note_form(
        f"{keys.TRANSLATION_FORM}{tag}",
        "Who reviewed it and how (kept with the record)",
        f"{keys.TRANSLATION_NOTE}{tag}",
        "Record the review",
        functools.partial(governance.record_translation_review, store, user, tag, found.version),
        intro=view.awaiting_review_line(label),
    )


def patient_completed(key: str, name: str) -> None:
    """Patient-completed use of a licensed instrument: on or off, and the clinic's licensed wording."""
    use = governance.patient_use(store, key)
    st.markdown(view.patient_use_line(use, governance.wording_digest(store, key)))
    if use is None:
        note_form(
            f"{keys.PATIENT_USE_FORM}{key}",
            f"{name}: where the licence covers patient-completed electronic use",
            f"{keys.PATIENT_USE_BASIS}{key}",
            "Record patient-completed use",
            functools.partial(governance.record_patient_use, store, user, key),
        )
    else:
        note_form(
            f"{keys.PATIENT_USE_OFF_FORM}{key}",
            f"{name}: why patients stop filling it in (kept in the audit trail)",
            f"{keys.PATIENT_USE_OFF_REASON}{key}",
            "Turn patient-completed use off",
            functools.partial(governance.withdraw_patient_use, store, user, key),
        )
    upload = st.file_uploader(
        f"{name}: the clinic's licensed item wording (JSON, up to {lw.MAX_FILE_BYTES // 1024} KB)",
        type=["json"],
        key=f"{keys.WORDING_FILE}{key}",
    )
    if upload is not None and st.button("Load the wording", key=f"{keys.WORDING_LOAD}{key}"):
        try:
            governance.load_wording(store, user, key, upload)
        except InvalidInputError as exc:  # one message per item and answer
            for message in exc.errors.values():
                st.error(md_escape(message))
        except StrideError as exc:
            st.error(md_escape(str(exc)))
        else:
            st.rerun()


st.subheader("Instrument licences")
st.caption(view.LICENCES_NOTE)
st.caption(view.PATIENT_USE_NOTE)
for key, name in governance.LICENSED_INSTRUMENTS.items():
    held = governance.licence(store, key)
    if held is not None:
        st.markdown(view.licence_line(name, held))
        patient_completed(key, name)
        continue
    note_form(
        f"{keys.LICENCE_FORM}{key}",
        f"{name}: licence reference or why its use is covered",
        f"{keys.LICENCE_BASIS}{key}",
        "Record licence",
        functools.partial(governance.record_licence, store, user, key),
    )
st.subheader("Retention")
years = governance.retention_years(store)
new_years = st.number_input(
    "Retention period (years)",
    1,
    100,
    value=years or view.DEFAULT_RETENTION_YEARS,
    key=keys.RETENTION_YEARS,
)
if st.button("Save retention period", key=keys.RETENTION_SAVE):
    governance.set_retention_years(store, user, int(new_years))
    st.rerun()
if years:
    due = governance.past_retention(store, user, dt.date.today())
    st.caption(view.retention_caption(len(due)))
    if due:
        st.dataframe(due, hide_index=True, key=keys.RETENTION_DUE)
