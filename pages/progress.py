import datetime as dt
import json
import logging
import tempfile
from collections.abc import Callable
from pathlib import Path

import streamlit as st

from dashboard import auth, charts, episode_services, letter_services, letters, page_text, services, trends
from dashboard.config import Settings
from dashboard.episodes import DISCHARGE_NEEDS_REASON_TIERS, DISCHARGE_REASONS, episode_outcome
from dashboard.models import Episode, Visit
from dashboard.ports import InvalidInputError, StrideError, User
from dashboard.presenters import DECISION_SUPPORT, screening_banner
from dashboard.safe_text import md_escape
from data import transfer
from data.store import SqlStore
from reports import letters as letter_pdf

# A deep link as the very first request after a restart can run this script before the router
# (Streamlit's pages/ fallback); send it through app.py, which holds the login gate.
if "store" not in st.session_state:
    st.switch_page("app.py")

log = logging.getLogger("stride")
store: SqlStore = st.session_state["store"]
user: User = st.session_state["user"]
settings: Settings = st.session_state["settings"]

patient_id: str = st.query_params.get("patient") or st.session_state.get("patient_id") or ""
if not patient_id:
    st.title("Progress")
    st.info("No patient is chosen yet. Choose a patient to see their progress over time.")
    st.page_link("pages/patients.py", label="Choose a patient", icon="🧑")
    st.stop()

# Opening a record is audited once per patient per session, not on every rerun of the page.
first_open = st.session_state.get("progress_audited") != patient_id
try:
    record = services.open_patient(store, user, patient_id, audit=first_open)
except StrideError as exc:
    st.title("Progress")
    st.error(md_escape(str(exc)))
    st.page_link("pages/patients.py", label="Choose a patient", icon="🧑")
    st.stop()
st.session_state["progress_audited"] = patient_id
st.session_state["patient_id"] = patient_id
if st.query_params.get("patient") != patient_id:
    st.query_params["patient"] = patient_id

patient = record.patient
today = dt.date.today()
st.title("Progress")
st.subheader(
    md_escape(page_text.patient_header(patient.display_name, patient.patient_ref, patient.age_years(today)))
)
st.caption(
    f"Symptoms since {page_text.day(patient.symptom_onset)} · {len(record.visits)} "
    f"visit{'s' if len(record.visits) != 1 else ''}"
)

flash = st.session_state.pop("progress_flash", None)
if flash:
    st.success(flash)

# --- red-flag banner -----------------------------------------------------------------------------
if record.latest_screening is not None:
    banner = screening_banner(record.latest_screening)
    getattr(st, banner.level)(f"{banner.icon} **{banner.headline}**", icon=None)
    for line in banner.lines:
        st.markdown(f"- {line}")
    if banner.ask_now:
        st.warning(
            "**Ask now** (not asked at the latest visit):\n"
            + "\n".join(f"- {md_escape(q)}" for q in banner.ask_now)
        )
    for note in banner.notes:
        st.caption(md_escape(note))
    st.caption(f"{DECISION_SUPPORT} Rule set {md_escape(banner.rule_set_version)}.")
elif record.visits:
    st.info("No red-flag screening is stored for this patient yet. Re-screen to run the rules.")
    st.caption(DECISION_SUPPORT)

if (
    record.visits
    and auth.can(user.role, "write_clinical")
    and st.button(
        "Re-screen now",
        key="progress_rescreen",
        help="Run the current red-flag rules again on this patient's visits (e.g. after the rules changed).",
    )
):
    try:
        screening = services.rescreen_patient(store, user, patient_id, settings=settings)
    except InvalidInputError as exc:
        for message in exc.errors.values():
            st.error(md_escape(message))
    except StrideError as exc:
        st.error(md_escape(str(exc)))
    else:
        st.session_state["progress_flash"] = (
            f"Re-screened with the current rules: {screening.urgency.replace('_', ' ').lower()}."
        )
        st.rerun()

# --- episode of care: discharge, re-referral, earlier episodes (§11.1) ----------------------------
episode = record.current_episode
can_write = auth.can(user.role, "write_clinical")


def episode_action(act: Callable[[], object], flash: str) -> None:
    """Run a discharge or re-referral; field messages by label on refusal, else rerun with `flash`."""
    try:
        act()
    except InvalidInputError as exc:
        for field, message in exc.errors.items():
            st.error(md_escape(message if field == "_" else f"{EPISODE_LABELS.get(field, field)}: {message}"))
    except StrideError as exc:
        st.error(md_escape(str(exc)))
    else:
        st.session_state["progress_flash"] = flash
        st.rerun()


def outcome_list(of: Episode, visits: list[Visit]) -> None:
    """The episode's outcome, one line per measure judged by judge_change."""
    for line in page_text.episode_outcome_lines(episode_outcome(patient, of, visits)) or [NO_OUTCOME]:
        st.markdown(f"- {md_escape(line)}")


def letter_list(of: Episode) -> None:
    """The episode's letters, each downloadable exactly as given (audited); a discharged episode's
    summary can be written."""
    for letter in [x for x in record.letters if x.episode_id == of.id]:
        c1, c2 = st.columns([3, 1], vertical_alignment="center")
        c1.markdown(f"✉️ {md_escape(letters.letter_line(letter, settings.timezone))}")
        if auth.can(user.role, "export_patient"):

            def stored_pdf(pdf: bytes = letter.pdf) -> bytes:
                services.record_export(store, user, "letter_copy", patient_id=patient_id)
                return pdf

            c2.download_button(
                "PDF",
                icon="⬇️",
                data=stored_pdf,
                file_name=letters.letter_file_name(letter, settings.timezone),
                mime="application/pdf",
                key=f"letter_{letter.id}",
                on_click="ignore",
                help="The stored letter, exactly as it was given.",
            )
    if not of.is_open and can_write and st.button("Write the discharge summary", key=f"summary_{of.id}"):
        episode_action(
            lambda: letter_services.write_discharge_summary(
                store, user, patient_id, of.saved_id, settings=settings, render=letter_pdf.render
            ),
            "Discharge summary written: download it from the episode's letters.",
        )


NO_OUTCOME = "No measure has a baseline and a later value in this episode."
EPISODE_LABELS = {
    "discharge_date": "Discharge date",
    "discharge_reason": "Reason",
    "discharge_note": "Note",
    "override_reason": "Why discharge with the escalation open",
    "symptom_onset": "Onset of the new episode",
    "referral_date": "Referral date",
}
if episode is not None:
    st.caption(md_escape(page_text.episode_heading(episode)))
    if episode.is_open and can_write and record.visits:
        with st.expander("Discharge this episode"), st.form("discharge_form", border=False):
            when = st.date_input(
                "Discharge date", today, *page_text.ANY_DATE, key="discharge_date", format="YYYY-MM-DD"
            )
            why = st.selectbox(
                "Reason",
                list(DISCHARGE_REASONS),
                index=None,
                format_func=DISCHARGE_REASONS.__getitem__,
                placeholder="Choose the reason",
                key="discharge_reason",
            )
            note = st.text_area("Note (optional; required for 'Other')", key="discharge_note")
            needs = DISCHARGE_NEEDS_REASON_TIERS
            serious = [e for e in record.escalations if e.status == "open" and e.tier in needs]
            override = ""
            if serious:
                st.warning("An urgent or emergency escalation is still open. It stays open after discharge.")
                override = st.text_input(EPISODE_LABELS["override_reason"], key="discharge_override")
            if st.form_submit_button("Discharge"):
                episode_action(
                    lambda: episode_services.discharge(
                        store,
                        user,
                        patient_id,
                        discharge_date=when,
                        reason=why,
                        note=note,
                        override_reason=override,
                    ),
                    "Discharged. The episode's outcome is below.",
                )
    elif not episode.is_open and can_write:
        st.info("This episode is discharged: it takes no new visits. A re-referral opens a new episode.")
        with st.expander("Re-referral: open a new episode"), st.form("rerefer_form", border=False):
            onset = st.date_input(
                EPISODE_LABELS["symptom_onset"],
                None,
                *page_text.ANY_DATE,
                key="rerefer_onset",
                format="YYYY-MM-DD",
            )
            referred = st.date_input(
                EPISODE_LABELS["referral_date"],
                today,
                *page_text.ANY_DATE,
                key="rerefer_on",
                format="YYYY-MM-DD",
            )
            if st.form_submit_button("Open a new episode"):
                episode_action(
                    lambda: episode_services.re_refer(
                        store, user, patient_id, symptom_onset=onset, referral_date=referred
                    ),
                    "New episode opened: the next visit is its baseline.",
                )
for earlier in [e for e in record.episodes if e is not episode]:
    with st.expander(page_text.episode_heading(earlier)):
        outcome_list(earlier, record.visits_of(earlier))
        letter_list(earlier)
if episode is not None and not episode.is_open:
    st.markdown("**Outcome of this episode**")
    outcome_list(episode, record.visits)
if episode is not None:
    letter_list(episode)

# --- empty and sparse states ---------------------------------------------------------------------
if not record.visits:
    st.info("No visits are recorded for this patient yet, so there is nothing to chart.")
    st.page_link("pages/visit.py", label="Record the first visit", icon="📝")
    st.stop()

frame = trends.visit_frame(record.visits)
events = page_text.chart_events(record.escalations, record.handouts, settings.timezone)
if len(frame) == 1:
    st.info(
        "Only one visit so far: the charts show it as a single point. "
        "Change over time needs at least two visits."
    )
walk_note = trends.protocol_note(record.visits)
if walk_note:
    st.info(walk_note, icon="🚶")

# --- charts --------------------------------------------------------------------------------------
st.subheader("Trends")
st.caption(
    "Dotted line: the first value (baseline). Shaded band: change smaller than the minimal clinically "
    "important difference. Vertical lines: ⚑ red flag opened, ✎ handout given."
)
walking = charts.walking_chart(frame, events)
if walking is None:
    st.info(
        "No walking test recorded yet. Record a walking test at the next visit to chart walking tolerance."
    )
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
        st.plotly_chart(fig, key=f"progress_chart_{name}", config={"displaylogo": False}, alt=alt)
noted = [(v.visit_date, v.notes) for v in record.visits if v.notes.strip() and not v.archived]
if noted:
    # The notes are on each point's hover too; here they can be read with the keyboard and in full.
    with st.expander(f"Visit notes ({len(noted)})"):
        for day, note in reversed(noted):
            lines = "  \n".join(md_escape(line) for line in note.splitlines())
            st.markdown(f"**{day:%d %b %Y}**  \n{lines}")

# --- change table --------------------------------------------------------------------------------
st.subheader("Change: first, previous and latest values")
rows = trends.change_table(record.visits)
if rows:
    st.dataframe(
        page_text.change_table_frame(rows),
        hide_index=True,
        key="progress_change_table",
        # A narrower measure column keeps the judgement in view without scrolling sideways at 1280 px.
        column_config={
            "Measure": st.column_config.TextColumn(width=220),
            "Judgement (first → latest)": st.column_config.TextColumn(width=260),
        },
    )
    st.caption(
        "Judgements compare the latest value with the first one. Walking results are compared only within "
        f"one protocol. {DECISION_SUPPORT}"
    )
else:
    st.info("No outcome measure has been recorded yet.")

# --- export --------------------------------------------------------------------------------------
if auth.can(user.role, "export_patient"):
    st.subheader("Export")

    def fhir_json() -> str:
        # Runs at the click: the export is audited before any data leaves.
        bundle = episode_services.episode_bundle(
            store, user, patient_id, codesystem_url=settings.fhir_codesystem_url
        )
        return json.dumps(bundle, indent=2, ensure_ascii=False)

    st.download_button(
        "Download FHIR R4 bundle (JSON)",
        data=fhir_json,
        file_name=f"stride-fhir-{patient_id[:8]}.json",
        mime="application/fhir+json",
        key="progress_fhir",
        on_click="ignore",
        icon="⬇️",
        help="A FHIR R4 collection bundle of this episode, without names. The export is audited.",
    )

    def subject_access_zip() -> bytes:
        # The whole record (with names) and the handouts, for a subject-access request; audited.
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "record.zip"
            services.require(store, user, "export_patient")
            transfer.export_patient(store, patient_id, path, actor=user)
            return path.read_bytes()

    st.download_button(
        "Download the patient's whole record (subject-access request)",
        data=subject_access_zip,
        file_name=f"stride-record-{patient_id[:8]}.zip",
        mime="application/zip",
        key="progress_sar",
        on_click="ignore",
        icon="⬇️",
        help="JSON of every visit, revision, screening and escalation, plus the handouts. Contains names.",
    )
