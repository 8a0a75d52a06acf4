"""Progress: one patient's timeline. Widgets only; what they show is dashboard.progress_views.

Sections: the red-flag banner, the episode of care, the trend charts, the walking diary, the change
table and the exports. No section is a fragment: every action here (re-screen, discharge, re-referral,
a letter written) changes what the whole page shows, and the downloads skip the rerun of a click.
"""

import datetime as dt
from collections.abc import Callable
from functools import partial
from typing import Any, cast

import streamlit as st

from dashboard import auth, episode_services, letter_services, letters, page_text, services
from dashboard import progress_views as views
from dashboard.choice_box import coded_choice
from dashboard.diary_views import PANEL_TITLE
from dashboard.episodes import DISCHARGE_REASONS
from dashboard.models import Episode, Visit
from dashboard.page_context import page_context, remember_patient
from dashboard.page_keys import Progress as Keys
from dashboard.ports import StrideError
from dashboard.presenters import DECISION_SUPPORT
from dashboard.safe_text import md_escape
from data import transfer
from data.store import SqlStore
from reports import letters as letter_pdf

# A deep link as the very first request after a restart can run this script before the router
# (Streamlit's pages/ fallback); send it through app.py, which holds the login gate.
if (ctx := page_context(st.session_state, st.query_params)) is None:
    st.switch_page("app.py")
    st.stop()
store, user, settings, patient_id = ctx.store, ctx.user, ctx.settings, ctx.patient_id
can_write, labels = auth.can(user.role, "write_clinical"), views.EPISODE_LABELS

st.title("Progress")
if not patient_id:
    st.info("No patient is chosen yet. Choose a patient to see their progress over time.")
    st.page_link("pages/patients.py", label="Choose a patient", icon="🧑")
    st.stop()
try:
    record = views.open_record(store, user, patient_id, st.session_state)
except StrideError as exc:
    st.error(md_escape(str(exc)))
    st.page_link("pages/patients.py", label="Choose a patient", icon="🧑")
    st.stop()
remember_patient(st.session_state, st.query_params, patient_id)
patient, episode, today = record.patient, record.current_episode, dt.date.today()
st.subheader(
    md_escape(page_text.patient_header(patient.display_name, patient.patient_ref, patient.age_years(today)))
)
st.caption(views.visits_caption(patient, len(record.visits)))
if flash := st.session_state.pop(Keys.FLASH, None):
    st.success(flash)


def run(act: Callable[[], Any], flash: str | Callable[[Any], str]) -> None:
    """Run a use case: its refusal as errors (a field named by its label), else rerun with the flash."""
    done, refusal = views.attempt(act, flash, labels)
    for line in refusal:
        st.error(md_escape(line))
    if done is not None:
        st.session_state[Keys.FLASH] = done
        st.rerun()


def day_input(field: str, default: dt.date | None, key: str) -> dt.date | None:
    return st.date_input(labels[field], default, *page_text.ANY_DATE, key=key, format="YYYY-MM-DD")


def banner_section() -> None:
    if record.latest_screening is not None:
        banner = views.banner_view(record.latest_screening)
        getattr(st, banner.level)(banner.headline, icon=None)
        if banner.provisional:
            st.caption(views.PROVISIONAL_CAPTION)
        for line in banner.lines:
            st.markdown(f"- {line}")
        if banner.ask_now:
            st.warning(banner.ask_now)
        st.caption("  \n".join(banner.captions))  # the banner's notes, then the rule set
    elif record.visits:
        st.info("No red-flag screening is stored for this patient yet. Re-screen to run the rules.")
        st.caption(DECISION_SUPPORT)
    if (
        record.visits
        and can_write
        and st.button("Re-screen now", key=Keys.RESCREEN, help=views.RESCREEN_HELP)
    ):
        run(
            lambda: services.rescreen_patient(store, user, patient_id, settings=settings),
            views.rescreen_flash,
        )


def outcome_and_letters(of: Episode, visits: list[Visit] | None) -> None:
    """The episode's outcome from its `visits` (None: still open, no outcome) and its letters, each
    downloadable exactly as given (audited); a discharged episode's summary can be written (§11.2, §13)."""
    for line in views.outcome_lines(patient, of, visits) if visits is not None else ():
        st.markdown(f"- {md_escape(line)}")
    for letter in [x for x in record.letters if x.episode_id == of.id]:
        c1, c2 = st.columns([3, 1], vertical_alignment="center")
        c1.markdown(f"✉️ {md_escape(letters.letter_line(letter, settings.timezone))}")
        if auth.can(user.role, "export_patient"):
            name = letters.letter_file_name(letter, settings.timezone)
            copy = partial(views.letter_copy, store, user, patient_id, letter.pdf)
            c2.download_button(data=copy, **views.LETTER_COPY.button(f"{Keys.LETTER}{letter.id}", name))
    if (
        not of.is_open
        and can_write
        and st.button("Write the discharge summary", key=f"{Keys.SUMMARY}{of.id}")
    ):
        write = partial(letter_services.write_discharge_summary, store, user, patient_id, of.saved_id)
        run(lambda: write(settings=settings, render=letter_pdf.render), views.SUMMARY_WRITTEN)


def episode_section() -> None:
    """The episode of care: discharge or re-referral, earlier episodes, outcome and letters (§11.1)."""
    if episode is not None:
        st.caption(md_escape(page_text.episode_heading(episode)))
    if episode is not None and episode.is_open and can_write and record.visits:
        with st.expander("Discharge this episode"), st.form(Keys.DISCHARGE_FORM, border=False):
            when = day_input("discharge_date", today, Keys.DISCHARGE_DATE)
            why = st.selectbox(
                labels["discharge_reason"],
                key=Keys.DISCHARGE_REASON,
                **coded_choice(DISCHARGE_REASONS, "Choose the reason"),
            )
            note = st.text_area("Note (optional; required for 'Other')", key=Keys.DISCHARGE_NOTE)
            override = ""
            if views.discharge_needs_override(record.escalations):
                st.warning("An urgent or emergency escalation is still open. It stays open after discharge.")
                override = st.text_input(labels["override_reason"], key=Keys.DISCHARGE_OVERRIDE)
            if st.form_submit_button("Discharge"):
                discharge = partial(episode_services.discharge, store, user, patient_id, discharge_date=when)
                run(lambda: discharge(reason=why, note=note, override_reason=override), views.DISCHARGED)
    elif episode is not None and not episode.is_open and can_write:
        st.info("This episode is discharged: it takes no new visits. A re-referral opens a new episode.")
        with st.expander("Re-referral: open a new episode"), st.form(Keys.REREFER_FORM, border=False):
            onset = day_input("symptom_onset", None, Keys.REREFER_ONSET)
            referred = day_input("referral_date", today, Keys.REREFER_ON)
            if st.form_submit_button("Open a new episode"):
                re_refer = partial(episode_services.re_refer, store, user, patient_id)
                run(lambda: re_refer(symptom_onset=onset, referral_date=referred), views.RE_REFERRED)
    for earlier in [e for e in record.episodes if e is not episode]:
        with st.expander(page_text.episode_heading(earlier)):
            outcome_and_letters(earlier, record.visits_of(earlier))
    if episode is not None and not episode.is_open:
        st.markdown("**Outcome of this episode**")
    if episode is not None:
        outcome_and_letters(episode, None if episode.is_open else record.visits)


def diary_section() -> None:
    """The walking diary the patient keeps between visits (§12.3); nothing before their first walk."""
    if (panel := views.diary_panel(store, user, patient_id, settings)) is None:
        return
    st.subheader(PANEL_TITLE)
    st.caption(panel.caption)
    if panel.warning:
        st.warning(panel.warning, icon="🚦")
    st.plotly_chart(panel.chart, key=Keys.CHART + "diary", config={"displaylogo": False}, alt=views.DIARY_ALT)
    st.dataframe(panel.rows, hide_index=True, key=Keys.DIARY_TABLE)


def trends_section() -> None:
    shown = views.trend_charts(record, settings.timezone)
    for text, icon in shown.notes:
        st.info(text, icon=icon)
    st.subheader("Trends")
    st.caption(views.TRENDS_CAPTION)
    if not any(name == "walking" for name, _, _ in shown.figures):
        st.info(views.NO_WALKING_TEST)
    # One chart per row: at 1024 px two side by side cut their titles, band labels and legends.
    for name, fig, alt in shown.figures:
        st.plotly_chart(fig, key=Keys.CHART + name, config={"displaylogo": False}, alt=alt)
    if notes := views.visit_notes(record.visits):
        # The notes are on each point's hover too; here they can be read with the keyboard and in full.
        with st.expander(f"Visit notes ({len(notes)})"):
            for note_markdown in notes:
                st.markdown(note_markdown)


def change_section() -> None:
    st.subheader("Change: first, previous and latest values")
    if (frame := views.change_frame(record.visits)) is None:
        st.info("No outcome measure has been recorded yet.")
        return
    columns = {name: st.column_config.TextColumn(width=w) for name, w in views.CHANGE_WIDTHS.items()}
    st.dataframe(frame, hide_index=True, key=Keys.CHANGE_TABLE, column_config=columns)
    st.caption(f"{views.CHANGE_CAPTION} {DECISION_SUPPORT}")


def export_section() -> None:
    # Each runs at the click: the export is audited before any data leaves.
    st.subheader("Export")
    fhir_name, record_name = views.export_names(patient_id)
    fhir = partial(views.fhir_bundle_json, store, user, patient_id, settings)
    st.download_button(data=fhir, **views.FHIR_BUNDLE.button(Keys.FHIR, fhir_name))
    # The router opens a SqlStore; the subject-access export reads its tables directly.
    export = partial(transfer.export_patient, cast(SqlStore, store), patient_id, actor=user)
    sar = partial(views.subject_access_zip, store, user, export)
    st.download_button(data=sar, **views.SUBJECT_ACCESS.button(Keys.SUBJECT_ACCESS, record_name))


banner_section()
episode_section()
if not record.visits:
    st.info("No visits are recorded for this patient yet, so there is nothing to chart.")
    st.page_link("pages/visit.py", label="Record the first visit", icon="📝")
    diary_section()
    st.stop()
trends_section()
diary_section()
change_section()
if auth.can(user.role, "export_patient"):
    export_section()
