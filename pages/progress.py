import datetime as dt
from collections.abc import Callable
from functools import partial
from typing import Any, cast

import streamlit as st

from dashboard import auth, charts, episode_services, letter_services, letters, page_text, services, trends
from dashboard import diary_views as diary_words
from dashboard import progress_views as views
from dashboard.choice_box import coded_choice
from dashboard.diary_services import patient_diary
from dashboard.episodes import DISCHARGE_REASONS
from dashboard.models import Episode, Visit
from dashboard.page_context import page_context, remember_patient
from dashboard.page_keys import Progress as Keys
from dashboard.ports import StrideError
from dashboard.presenters import DECISION_SUPPORT, screening_banner
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
can_write = auth.can(user.role, "write_clinical")

st.title("Progress")
if not patient_id:
    st.info("No patient is chosen yet. Choose a patient to see their progress over time.")
    st.page_link("pages/patients.py", label="Choose a patient", icon="🧑")
    st.stop()
# Opening a record is audited once per patient per session, not on every rerun of the page.
try:
    record = services.open_patient(
        store, user, patient_id, audit=st.session_state.get(Keys.AUDITED) != patient_id
    )
except StrideError as exc:
    st.error(md_escape(str(exc)))
    st.page_link("pages/patients.py", label="Choose a patient", icon="🧑")
    st.stop()
st.session_state[Keys.AUDITED] = patient_id
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
    done, refusal = views.attempt(act, flash, views.EPISODE_LABELS)
    for line in refusal:
        st.error(md_escape(line))
    if done is not None:
        st.session_state[Keys.FLASH] = done
        st.rerun()


# --- red-flag banner -----------------------------------------------------------------------------
if record.latest_screening is not None:
    banner = screening_banner(record.latest_screening)
    getattr(st, banner.level)(views.banner_headline(banner, record.latest_screening), icon=None)
    if record.latest_screening.source == "patient":
        st.caption(views.PROVISIONAL_CAPTION)
    for line in banner.lines:
        st.markdown(f"- {line}")
    if banner.ask_now:
        asks = "\n".join(f"- {md_escape(q)}" for q in banner.ask_now)
        st.warning(f"**Ask now** (not asked at the latest visit):\n{asks}")
    for note in banner.notes:
        st.caption(md_escape(note))
    st.caption(f"{DECISION_SUPPORT} Rule set {md_escape(banner.rule_set_version)}.")
elif record.visits:
    st.info("No red-flag screening is stored for this patient yet. Re-screen to run the rules.")
    st.caption(DECISION_SUPPORT)
if record.visits and can_write and st.button("Re-screen now", key=Keys.RESCREEN, help=views.RESCREEN_HELP):
    run(lambda: services.rescreen_patient(store, user, patient_id, settings=settings), views.rescreen_flash)


# --- episode of care: discharge, re-referral, earlier episodes (§11.1) ----------------------------
def outcome_list(of: Episode, visits: list[Visit]) -> None:
    for line in views.outcome_lines(patient, of, visits):
        st.markdown(f"- {md_escape(line)}")


def letter_list(of: Episode) -> None:
    """The episode's letters, each downloadable exactly as given (audited); a discharged episode's
    summary can be written."""
    for letter in [x for x in record.letters if x.episode_id == of.id]:
        c1, c2 = st.columns([3, 1], vertical_alignment="center")
        c1.markdown(f"✉️ {md_escape(letters.letter_line(letter, settings.timezone))}")
        if auth.can(user.role, "export_patient"):
            c2.download_button(
                data=partial(views.letter_copy, store, user, patient_id, letter.pdf),
                **views.LETTER_COPY.button(
                    f"{Keys.LETTER}{letter.id}", letters.letter_file_name(letter, settings.timezone)
                ),
            )
    if (
        not of.is_open
        and can_write
        and st.button("Write the discharge summary", key=f"{Keys.SUMMARY}{of.id}")
    ):
        write = partial(letter_services.write_discharge_summary, store, user, patient_id, of.saved_id)
        run(lambda: write(settings=settings, render=letter_pdf.render), views.SUMMARY_WRITTEN)


labels = views.EPISODE_LABELS


def day_input(field: str, default: dt.date | None, key: str) -> dt.date | None:
    return st.date_input(labels[field], default, *page_text.ANY_DATE, key=key, format="YYYY-MM-DD")


if episode is not None:
    st.caption(md_escape(page_text.episode_heading(episode)))
    if episode.is_open and can_write and record.visits:
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
    elif not episode.is_open and can_write:
        st.info("This episode is discharged: it takes no new visits. A re-referral opens a new episode.")
        with st.expander("Re-referral: open a new episode"), st.form(Keys.REREFER_FORM, border=False):
            onset = day_input("symptom_onset", None, Keys.REREFER_ONSET)
            referred = day_input("referral_date", today, Keys.REREFER_ON)
            if st.form_submit_button("Open a new episode"):
                re_refer = partial(episode_services.re_refer, store, user, patient_id)
                run(lambda: re_refer(symptom_onset=onset, referral_date=referred), views.RE_REFERRED)
for earlier in [e for e in record.episodes if e is not episode]:
    with st.expander(page_text.episode_heading(earlier)):
        outcome_list(earlier, record.visits_of(earlier))
        letter_list(earlier)
if episode is not None and not episode.is_open:
    st.markdown("**Outcome of this episode**")
    outcome_list(episode, record.visits)
if episode is not None:
    letter_list(episode)


# --- the walking diary the patient keeps between visits (§12.3) ----------------------------------
def diary_panel() -> None:
    diary = patient_diary(store, user, patient_id, settings=settings)
    if not diary.days:
        return
    st.subheader(diary_words.PANEL_TITLE)
    st.caption(diary_words.caption(diary.thresholds))
    if line := diary_words.not_settling_line(diary):
        st.warning(line, icon="🚦")
    fig = charts.diary_chart(diary.days, diary.thresholds)
    alt = "Walking diary: minutes walked per day and pain during the walk, with each walk's traffic light"
    st.plotly_chart(fig, key=Keys.CHART + "diary", config={"displaylogo": False}, alt=alt)
    st.dataframe(diary_words.diary_rows(diary.days, diary.thresholds), hide_index=True, key=Keys.DIARY_TABLE)


# --- empty and sparse states ---------------------------------------------------------------------
if not record.visits:
    st.info("No visits are recorded for this patient yet, so there is nothing to chart.")
    st.page_link("pages/visit.py", label="Record the first visit", icon="📝")
    diary_panel()
    st.stop()
frame = trends.visit_frame(record.visits)
events = page_text.chart_events(record.escalations, record.handouts, settings.timezone)
if len(frame) == 1:
    st.info(views.ONE_VISIT)
if walk_note := trends.protocol_note(record.visits):
    st.info(walk_note, icon="🚶")

# --- charts --------------------------------------------------------------------------------------
st.subheader("Trends")
st.caption(views.TRENDS_CAPTION)
if (walking := charts.walking_chart(frame, events)) is None:
    st.info(views.NO_WALKING_TEST)
figures = [
    ("pain", charts.pain_chart(frame, events), "Pain scores over time"),
    ("walking", walking, "Walking tolerance over time, one panel per protocol"),
    ("odi", charts.odi_chart(frame, events), "Oswestry Disability Index over time"),
    ("disability", charts.disability_chart(frame, events), "RMDQ and ZCQ scores over time"),
    ("psfs", charts.psfs_chart(frame, events), "Patient-Specific Functional Scale over time"),
    ("startback", charts.startback_strip(frame, events), "STarT Back risk group per visit"),
]
# One chart per row: at 1024 px two side by side cut their titles, band labels and legends.
for name, fig, alt in figures:
    if fig is not None:
        st.plotly_chart(fig, key=Keys.CHART + name, config={"displaylogo": False}, alt=alt)
if notes := views.visit_notes(record.visits):
    # The notes are on each point's hover too; here they can be read with the keyboard and in full.
    with st.expander(f"Visit notes ({len(notes)})"):
        for note_markdown in notes:
            st.markdown(note_markdown)

diary_panel()

# --- change table --------------------------------------------------------------------------------
st.subheader("Change: first, previous and latest values")
if rows := trends.change_table(record.visits):
    # A narrower measure column keeps the judgement in view without scrolling sideways at 1280 px.
    widths = {"Measure": 220, "Judgement (first → latest)": 260}
    columns = {name: st.column_config.TextColumn(width=w) for name, w in widths.items()}
    st.dataframe(
        page_text.change_table_frame(rows), hide_index=True, key=Keys.CHANGE_TABLE, column_config=columns
    )
    st.caption(f"{views.CHANGE_CAPTION} {DECISION_SUPPORT}")
else:
    st.info("No outcome measure has been recorded yet.")

# --- export --------------------------------------------------------------------------------------
if auth.can(user.role, "export_patient"):
    st.subheader("Export")
    # Each runs at the click: the export is audited before any data leaves.
    fhir = partial(views.fhir_bundle_json, store, user, patient_id, settings)
    st.download_button(data=fhir, **views.FHIR_BUNDLE.button(Keys.FHIR, f"stride-fhir-{patient_id[:8]}.json"))
    # The router opens a SqlStore; the subject-access export reads its tables directly.
    export = partial(transfer.export_patient, cast(SqlStore, store), patient_id, actor=user)
    sar = partial(views.subject_access_zip, store, user, export)
    st.download_button(
        data=sar, **views.SUBJECT_ACCESS.button(Keys.SUBJECT_ACCESS, f"stride-record-{patient_id[:8]}.zip")
    )
