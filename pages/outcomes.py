import datetime as dt
from functools import partial

import streamlit as st

from dashboard import outcome_charts, outcome_services, outcome_views, page_text, services
from dashboard import page_keys as keys
from dashboard.episodes import AGE_BANDS, DURATION_BANDS, STARTBACK_GROUPS
from dashboard.form_errors import error_messages
from dashboard.outcome_services import OutcomeFilters, OutcomesReport
from dashboard.page_context import page_context
from dashboard.ports import Store, StrideError, User
from dashboard.safe_text import md_escape
from reports import outcomes as outcomes_pdf

K = keys.Outcomes
# A deep link as the very first request after a restart can run this script before the router
# (Streamlit's pages/ fallback); send it through app.py, which holds the login gate.
if (ctx := page_context(st.session_state, st.query_params)) is None:
    st.switch_page("app.py")
    st.stop()
store, user, settings, today = ctx.store, ctx.user, ctx.settings, dt.date.today()
CHART = {"displaylogo": False}


# A year of a large clinic takes seconds to read and judge; every widget on the page reruns the
# script, so the report is kept for a few minutes per account, period and filters. The account's
# rights are still checked on every run (services.require below), before anything cached is shown.
@st.cache_data(ttl=300, max_entries=16, show_spinner="Reading the discharged episodes…")
def cached_report(
    _store: Store,
    _user: User,
    user_id: str,
    first: dt.date | None,
    last: dt.date | None,
    chosen: OutcomeFilters,
) -> OutcomesReport:
    return outcome_services.clinic_report(_store, _user, period_start=first, period_end=last, filters=chosen)


# Choosing another measure redraws only this section, from the report this page run read: nothing is
# written or downloaded here, and the rights are checked again (a fragment's rerun skips the rest).
@st.fragment
def measure_section(report: OutcomesReport, measures: list[str]) -> None:
    """The funnel plot, its table in words and the monthly trend of the chosen measure."""
    try:
        services.require(store, user, "view_outcomes")
    except StrideError:
        st.rerun()  # the whole page, which says why
    names = outcome_views.MEASURE_NAMES
    measure = st.selectbox(
        outcome_views.MEASURE_LABEL, measures, format_func=names.__getitem__, key=K.MEASURE
    )
    st.markdown("#### Each clinician against the clinic's rate")
    if (funnel := outcome_charts.funnel_figure(report, measure)) is not None:
        st.plotly_chart(funnel, key=K.FUNNEL, config=CHART)
    st.dataframe(outcome_views.funnel_frame(report, measure), hide_index=True, key=K.FUNNEL_TABLE)
    st.caption(outcome_views.funnel_caption())
    if (trend := outcome_charts.trend_figure(report.monthly[measure], measure)) is not None:
        st.markdown("#### Trend by month of discharge")
        st.plotly_chart(trend, key=K.TREND, config=CHART)


st.title("Outcomes")
try:  # rights from the stored account, on every run (a role changed since login ends here)
    services.require(store, user, "view_outcomes")
    clinicians = outcome_services.clinician_choices(store, user)
except StrideError as exc:
    st.error(str(exc))
    st.stop()
st.caption(outcome_views.PAGE_CAPTION)

# --- period and filters --------------------------------------------------------------------------
kind = outcome_views.period_kind(
    st.segmented_control(
        "Period", outcome_views.PERIOD_KINDS, default=outcome_views.DEFAULT_PERIOD_KIND, key=K.KIND
    )
)
if kind == "Custom":
    # Any date reaches the server, which refuses a reversed or over-long period by field (a widget's
    # own limits would drop the typed date in the browser without a word).
    first_allowed, last_allowed = page_text.ANY_DATE
    first_day, last_day = outcome_views.custom_period_defaults(today)
    c1, c2 = st.columns(2)
    start = c1.date_input(
        "First day", first_day, first_allowed, last_allowed, key=K.START, format="YYYY-MM-DD"
    )
    end = c2.date_input("Last day", last_day, first_allowed, last_allowed, key=K.END, format="YYYY-MM-DD")
else:
    choices = outcome_views.period_choices(kind, today)
    start, end = choices[st.selectbox(kind, list(choices), key=K.PERIOD.format(kind.lower()))]
with st.expander("Filters", expanded=False):
    everyone = outcome_views.EVERYONE
    f1, f2 = st.columns(2)
    clinician = f1.selectbox("Clinician", [everyone, *clinicians], key=K.CLINICIAN)
    startback = f2.selectbox("STarT Back group at baseline", [everyone, *STARTBACK_GROUPS], key=K.STARTBACK)
    f3, f4 = st.columns(2)
    age = f3.selectbox("Age band", [everyone, *AGE_BANDS], key=K.AGE)
    duration = f4.selectbox("Symptom duration", [everyone, *DURATION_BANDS], key=K.DURATION)
filters = outcome_views.filters_chosen(clinicians, clinician, startback, age, duration)

try:
    report = cached_report(store, user, user.id, start, end, filters)
except StrideError as exc:
    for message in error_messages(exc):  # each field's (a reversed or too long period) or the one
        st.error(message)
    st.stop()
outcomes = report.outcomes
st.subheader(outcome_views.period_heading(outcomes))
for column, (label, value, help_text) in zip(
    st.columns(3), outcome_views.headline_counts(outcomes), strict=True
):
    column.metric(label, value, help=help_text)
if outcomes.n_discharged == 0:
    st.info(outcome_views.NOTHING_DISCHARGED)
    st.stop()

# --- results per measure -------------------------------------------------------------------------
st.markdown("#### Clinically important improvement at discharge")
st.dataframe(outcome_views.measure_frame(outcomes), hide_index=True, key=K.MEASURES)
st.caption(outcome_views.MEASURE_CAPTION)
if with_data := outcome_views.measures_with_data(outcomes):
    measure_section(report, with_data)
else:
    st.info("No discharged episode of this period has a baseline and a later value of any measure.")

# --- case mix, reasons, timeliness ---------------------------------------------------------------
st.markdown("#### Case mix of the discharged episodes")
columns = st.columns(2)
for n, (title, frame) in enumerate(outcome_views.case_mix_frames(outcomes).items()):
    columns[n % 2].markdown(f"**{md_escape(title)}**")
    columns[n % 2].dataframe(frame, hide_index=True, key=K.CASE_MIX.format(n))
st.markdown("**Discharge reasons**")
st.dataframe(outcome_views.discharge_reason_frame(outcomes), hide_index=True, key=K.REASONS)
st.markdown("#### Red flags acted on in time")
if not outcome_views.any_red_flag_raised(report):
    st.info("No red flag was raised in this period.")
else:
    st.dataframe(outcome_views.timeliness_frame(report), hide_index=True, key=K.TIMELINESS)
    st.caption(outcome_views.timeliness_caption())

# --- downloads: each file is made (and audited) at the click ------------------------------------
st.markdown("#### Download")
if st.button("Read the latest data", key=K.REFRESH, help="The report is kept for up to 5 minutes."):
    cached_report.clear()
    st.rerun()
refs_help = "No names are ever included. The download is audited."
with_refs = st.checkbox("Include patient references", key=K.WITH_REFS, help=refs_help)


def report_pdf() -> bytes:
    outcome_services.record_report_export(store, user, report, "pdf")
    return outcomes_pdf.render(report, clinic_name=settings.clinic_name)


csv = partial(outcome_services.episode_rows_csv, store, user, report, include_patient_refs=with_refs)
pdf_name, csv_name = (outcome_views.download_file_name(outcomes, ext) for ext in ("pdf", "csv"))
d1, d2 = st.columns(2)
d1.download_button(data=report_pdf, **outcome_views.PDF_DOWNLOAD.button(K.PDF, pdf_name))
d2.download_button(data=csv, **outcome_views.CSV_DOWNLOAD.button(K.CSV, csv_name))
