import datetime as dt

import streamlit as st

from dashboard import outcome_charts, outcome_services, outcome_views, page_text, services
from dashboard.clinic_outcomes import FUNNEL_STATUSES
from dashboard.config import Settings
from dashboard.episodes import AGE_BANDS, DURATION_BANDS, OUTCOME_MEASURES, STARTBACK_GROUPS
from dashboard.ports import InvalidInputError, Store, StrideError, User
from dashboard.presenters import DECISION_SUPPORT
from dashboard.safe_text import md_escape
from reports import outcomes as outcomes_pdf

# A deep link as the very first request after a restart can run this script before the router
# (Streamlit's pages/ fallback); send it through app.py, which holds the login gate.
if "store" not in st.session_state:
    st.switch_page("app.py")

store: Store = st.session_state["store"]
user: User = st.session_state["user"]
settings: Settings = st.session_state["settings"]
today = dt.date.today()

st.title("Outcomes")
try:  # rights from the stored account, on every run (a role changed since login ends here)
    services.require(store, user, "view_outcomes")
    clinicians = outcome_services.clinician_choices(store, user)
except StrideError as exc:
    st.error(str(exc))
    st.stop()
st.caption(
    "Results at discharge for the clinic lead: the share of discharged episodes with a clinically "
    "important improvement, how complete the data is, each clinician against the clinic's rate, and "
    f"whether red flags were acted on in time. {outcome_views.CASE_MIX_NOTE}"
)

# --- period and filters --------------------------------------------------------------------------
kind = st.segmented_control("Period", outcome_views.PERIOD_KINDS, default="Quarter", key="outcomes_kind")
start: dt.date | None
end: dt.date | None
if kind == "Custom":
    c1, c2 = st.columns(2)
    # Any date reaches the server, which refuses a reversed or over-long period by field (a widget's
    # own limits would drop the typed date in the browser without a word).
    first_allowed, last_allowed = page_text.ANY_DATE
    start = c1.date_input(
        "First day",
        today.replace(day=1),
        first_allowed,
        last_allowed,
        key="outcomes_start",
        format="YYYY-MM-DD",
    )
    end = c2.date_input(
        "Last day", today, first_allowed, last_allowed, key="outcomes_end", format="YYYY-MM-DD"
    )
else:
    choices = outcome_views.period_choices(kind or "Quarter", today)
    chosen = st.selectbox(kind or "Quarter", list(choices), key=f"outcomes_{(kind or 'Quarter').lower()}")
    start, end = choices[chosen]

ALL = "Everyone"
with st.expander("Filters", expanded=False):
    f1, f2 = st.columns(2)
    clinician = f1.selectbox("Clinician", [ALL, *clinicians], key="outcomes_clinician")
    startback = f2.selectbox(
        "STarT Back group at baseline", [ALL, *STARTBACK_GROUPS], key="outcomes_startback"
    )
    f3, f4 = st.columns(2)
    age = f3.selectbox("Age band", [ALL, *AGE_BANDS], key="outcomes_age")
    duration = f4.selectbox("Symptom duration", [ALL, *DURATION_BANDS], key="outcomes_duration")
filters = outcome_services.OutcomeFilters(
    clinician_id=None if clinician == ALL else clinicians[clinician],
    startback_risk=None if startback == ALL else startback,
    age_band=None if age == ALL else age,
    duration_band=None if duration == ALL else duration,
)


# A year of a large clinic takes seconds to read and judge; every widget on the page reruns the
# script, so the report is kept for a few minutes per account, period and filters. The account's
# rights are still checked on every run (services.require above), before anything cached is shown.
@st.cache_data(ttl=300, max_entries=16, show_spinner="Reading the discharged episodes…")
def cached_report(
    _store: Store,
    _user: User,
    user_id: str,
    first: dt.date | None,
    last: dt.date | None,
    chosen: outcome_services.OutcomeFilters,
) -> outcome_services.OutcomesReport:
    return outcome_services.clinic_report(_store, _user, period_start=first, period_end=last, filters=chosen)


try:
    report = cached_report(store, user, user.id, start, end, filters)
except InvalidInputError as exc:
    for message in exc.errors.values():
        st.error(message)
    st.stop()
except StrideError as exc:
    st.error(str(exc))
    st.stop()

outcomes = report.outcomes
st.subheader(f"{outcomes.period_start:%-d %b %Y} to {outcomes.period_end:%-d %b %Y}")
m1, m2, m3 = st.columns(3)
m1.metric("Discharged in the period", outcomes.n_discharged)
m2.metric("With a complete measure", outcomes.n_complete_any)
m3.metric(
    "Episodes in progress (open)", outcomes.in_progress, help="Open episodes never enter a denominator."
)
if outcomes.n_discharged == 0:
    st.info(
        "No episode was discharged in this period with these filters, so there is nothing to report yet. "
        "Choose a longer period or clear a filter."
    )
    st.stop()

# --- results per measure -------------------------------------------------------------------------
st.markdown("#### Clinically important improvement at discharge")
st.dataframe(outcome_views.measure_frame(outcomes), hide_index=True, key="outcomes_measures")
st.caption(
    "Complete: a baseline and a later final value of that measure. % improved is of the complete "
    "episodes, with a Wilson 95% interval; completeness is complete ÷ with a baseline. "
    f"{DECISION_SUPPORT}"
)

with_data = [m for m in OUTCOME_MEASURES if outcomes.by_measure[m].n_complete]
if not with_data:
    st.info("No discharged episode of this period has a baseline and a later value of any measure.")
else:
    measure = st.selectbox(
        "Measure for the funnel plot and the trend",
        with_data,
        format_func=outcome_views.MEASURE_NAMES.__getitem__,
        key="outcomes_measure",
    )
    st.markdown("#### Each clinician against the clinic's rate")
    funnel = outcome_charts.funnel_figure(report, measure)
    if funnel is not None:
        st.plotly_chart(funnel, key="outcomes_funnel", config={"displaylogo": False})
    st.dataframe(outcome_views.funnel_frame(report, measure), hide_index=True, key="outcomes_funnel_table")
    st.caption(
        "Limits at 95% (dashed) and 99.8% (dotted) around the clinic's rate, for each number of complete "
        f"episodes (Spiegelhalter 2005). Statuses: {', '.join(FUNNEL_STATUSES.values())}. "
        "Clinicians with no complete episode are not plotted."
    )
    trend = outcome_charts.trend_figure(report.monthly[measure], measure)
    if trend is not None:
        st.markdown("#### Trend by month of discharge")
        st.plotly_chart(trend, key="outcomes_trend", config={"displaylogo": False})

# --- case mix, reasons, timeliness ---------------------------------------------------------------
st.markdown("#### Case mix of the discharged episodes")
frames = outcome_views.case_mix_frames(outcomes)
columns = st.columns(2)
for n, (title, frame) in enumerate(frames.items()):
    with columns[n % 2]:
        st.markdown(f"**{md_escape(title)}**")
        st.dataframe(frame, hide_index=True, key=f"outcomes_mix_{n}")
st.markdown("**Discharge reasons**")
st.dataframe(outcome_views.discharge_reason_frame(outcomes), hide_index=True, key="outcomes_reasons")

st.markdown("#### Red flags acted on in time")
timeliness = outcome_views.timeliness_frame(report)
if sum(t.n_events for t in report.timeliness.values()) == 0:
    st.info("No red flag was raised in this period.")
else:
    st.dataframe(timeliness, hide_index=True, key="outcomes_timeliness")
    st.caption(
        "Events raised in the period; the rules one screening raised together count once, at the most "
        f"urgent rule's target. Still open past the target counts as late. {outcome_views.rule_target_note()}"
    )

# --- downloads -----------------------------------------------------------------------------------
st.markdown("#### Download")
if st.button("Read the latest data", key="outcomes_refresh", help="The report is kept for up to 5 minutes."):
    cached_report.clear()
    st.rerun()
with_refs = st.checkbox(
    "Include patient references",
    key="outcomes_refs",
    help="No names are ever included. The download is audited.",
)


def episode_csv() -> bytes:
    # Made at the click, so the audit entry says what left and when.
    return outcome_services.episode_rows_csv(store, user, report, include_patient_refs=with_refs)


def report_pdf() -> bytes:
    outcome_services.record_report_export(store, user, report, "pdf")  # audited at the click
    return outcomes_pdf.render(report, clinic_name=settings.clinic_name)


d1, d2 = st.columns(2)
d1.download_button(
    "Download this report (PDF)",
    data=report_pdf,
    file_name=f"stride-outcomes-{outcomes.period_start:%Y-%m-%d}-{outcomes.period_end:%Y-%m-%d}.pdf",
    mime="application/pdf",
    on_click="ignore",
    icon="📄",
    type="primary",
    key="outcomes_pdf",
)
d2.download_button(
    "Download the episode rows (CSV)",
    data=episode_csv,
    file_name=f"stride-outcomes-{outcomes.period_start:%Y-%m-%d}-{outcomes.period_end:%Y-%m-%d}.csv",
    mime="text/csv",
    on_click="ignore",
    icon="⬇️",
    key="outcomes_csv",
)
