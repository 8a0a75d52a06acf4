import datetime as dt

import streamlit as st

from dashboard import outcome_charts, outcome_services, outcome_views, page_text, services
from dashboard import page_keys as keys
from dashboard.episodes import AGE_BANDS, DURATION_BANDS, STARTBACK_GROUPS
from dashboard.page_context import page_context
from dashboard.ports import InvalidInputError, Store, StrideError, User
from dashboard.safe_text import md_escape
from reports import outcomes as outcomes_pdf

K = keys.Outcomes
EVERYONE = outcome_views.EVERYONE
# A deep link as the very first request after a restart can run this script before the router
# (Streamlit's pages/ fallback); send it through app.py, which holds the login gate.
if (ctx := page_context(st.session_state, st.query_params)) is None:
    st.switch_page("app.py")
    st.stop()
store, user, settings = ctx.store, ctx.user, ctx.settings
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
default_kind = outcome_views.DEFAULT_PERIOD_KIND
kind = (
    st.segmented_control("Period", outcome_views.PERIOD_KINDS, default=default_kind, key=K.KIND)
    or default_kind
)
start: dt.date | None
end: dt.date | None
if kind == "Custom":
    c1, c2 = st.columns(2)
    # Any date reaches the server, which refuses a reversed or over-long period by field (a widget's
    # own limits would drop the typed date in the browser without a word).
    first_allowed, last_allowed = page_text.ANY_DATE
    first_day, last_day = outcome_views.custom_period_defaults(today)
    start = c1.date_input(
        "First day", first_day, first_allowed, last_allowed, key=K.START, format="YYYY-MM-DD"
    )
    end = c2.date_input("Last day", last_day, first_allowed, last_allowed, key=K.END, format="YYYY-MM-DD")
else:
    choices = outcome_views.period_choices(kind, today)
    start, end = choices[st.selectbox(kind, list(choices), key=K.PERIOD.format(kind.lower()))]

with st.expander("Filters", expanded=False):
    f1, f2 = st.columns(2)
    clinician = f1.selectbox("Clinician", [EVERYONE, *clinicians], key=K.CLINICIAN)
    startback = f2.selectbox("STarT Back group at baseline", [EVERYONE, *STARTBACK_GROUPS], key=K.STARTBACK)
    f3, f4 = st.columns(2)
    age = f3.selectbox("Age band", [EVERYONE, *AGE_BANDS], key=K.AGE)
    duration = f4.selectbox("Symptom duration", [EVERYONE, *DURATION_BANDS], key=K.DURATION)
filters = outcome_views.filters_chosen(clinicians, clinician, startback, age, duration)


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
st.subheader(outcome_views.period_heading(outcomes))
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
st.dataframe(outcome_views.measure_frame(outcomes), hide_index=True, key=K.MEASURES)
st.caption(outcome_views.MEASURE_CAPTION)

if not (with_data := outcome_views.measures_with_data(outcomes)):
    st.info("No discharged episode of this period has a baseline and a later value of any measure.")
else:
    measure = st.selectbox(
        "Measure for the funnel plot and the trend",
        with_data,
        format_func=outcome_views.MEASURE_NAMES.__getitem__,
        key=K.MEASURE,
    )
    st.markdown("#### Each clinician against the clinic's rate")
    if (funnel := outcome_charts.funnel_figure(report, measure)) is not None:
        st.plotly_chart(funnel, key=K.FUNNEL, config={"displaylogo": False})
    st.dataframe(outcome_views.funnel_frame(report, measure), hide_index=True, key=K.FUNNEL_TABLE)
    st.caption(outcome_views.funnel_caption())
    if (trend := outcome_charts.trend_figure(report.monthly[measure], measure)) is not None:
        st.markdown("#### Trend by month of discharge")
        st.plotly_chart(trend, key=K.TREND, config={"displaylogo": False})

# --- case mix, reasons, timeliness ---------------------------------------------------------------
st.markdown("#### Case mix of the discharged episodes")
columns = st.columns(2)
for n, (title, frame) in enumerate(outcome_views.case_mix_frames(outcomes).items()):
    with columns[n % 2]:
        st.markdown(f"**{md_escape(title)}**")
        st.dataframe(frame, hide_index=True, key=K.CASE_MIX.format(n))
st.markdown("**Discharge reasons**")
st.dataframe(outcome_views.discharge_reason_frame(outcomes), hide_index=True, key=K.REASONS)

st.markdown("#### Red flags acted on in time")
if not outcome_views.any_red_flag_raised(report):
    st.info("No red flag was raised in this period.")
else:
    st.dataframe(outcome_views.timeliness_frame(report), hide_index=True, key=K.TIMELINESS)
    st.caption(outcome_views.timeliness_caption())

# --- downloads -----------------------------------------------------------------------------------
st.markdown("#### Download")
if st.button("Read the latest data", key=K.REFRESH, help="The report is kept for up to 5 minutes."):
    cached_report.clear()
    st.rerun()
with_refs = st.checkbox(
    "Include patient references", key=K.WITH_REFS, help="No names are ever included. The download is audited."
)


def episode_csv() -> bytes:
    # Made at the click, so the audit entry says what left and when.
    return outcome_services.episode_rows_csv(store, user, report, include_patient_refs=with_refs)


def report_pdf() -> bytes:
    outcome_services.record_report_export(store, user, report, "pdf")  # audited at the click
    return outcomes_pdf.render(report, clinic_name=settings.clinic_name)


d1, d2 = st.columns(2)
pdf_name, csv_name = (outcome_views.download_file_name(outcomes, ext) for ext in ("pdf", "csv"))
d1.download_button(data=report_pdf, **outcome_views.PDF_DOWNLOAD.button(K.PDF, pdf_name))
d2.download_button(data=episode_csv, **outcome_views.CSV_DOWNLOAD.button(K.CSV, csv_name))
