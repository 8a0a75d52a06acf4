import datetime as dt

import streamlit as st

from dashboard import page_text, services, trends
from dashboard.page_context import page_context
from dashboard.ports import StrideError
from dashboard.presenters import DECISION_SUPPORT

# A deep link as the very first request after a restart can run this script before the router
# (Streamlit's pages/ fallback); send it through app.py, which holds the login gate.
if (ctx := page_context(st.session_state, st.query_params)) is None:
    st.switch_page("app.py")
    st.stop()
store, user = ctx.store, ctx.user

st.title("Caseload")
st.caption("Every active patient at a glance: latest values, change since the first visit, open red flags.")

try:
    rows = services.caseload(store, user)
except StrideError as exc:
    st.error(str(exc))
    st.stop()

if not rows:
    st.info("No patients in the clinic yet. Add a patient to start their record.")
    st.page_link("pages/patients.py", label="Add a patient", icon="🧑")
    st.stop()

table = trends.caseload_table(rows, dt.date.today())

# --- filters and sorting -------------------------------------------------------------------------
ALL = "All clinicians"
clinicians = sorted({name for name in table["clinician"].dropna() if name})
# Two rows, so no label is cut short in a narrow window (768 px with the sidebar closed).
# The episode view gets the widest column: its longest choice must show whole at 1024 px.
c1, c2, c3 = st.columns([0.9, 0.9, 1.5])
clinician = c1.selectbox("Clinician", [ALL, *clinicians], key="caseload_clinician")
sort_choice = c2.selectbox("Sort by", list(page_text.CASELOAD_SORTS), key="caseload_sort")
episodes = c3.selectbox(
    "Episode of care",
    list(page_text.CASELOAD_EPISODE_VIEWS),
    key="caseload_episodes",
    help="No improvement: no clinically important improvement in pain, ODI or walking recorded so far.",
)
c1, c2, c3 = st.columns(3)
open_only = c1.checkbox("Open flags only", key="caseload_open_flags")
not_improving = c2.checkbox("Not improving", key="caseload_not_improving")
overdue = c3.checkbox("Overdue for review", key="caseload_overdue")

filtered = trends.filter_caseload(
    table,
    clinician=None if clinician == ALL else clinician,
    open_flags_only=open_only,
    not_improving_only=not_improving,
    overdue_only=overdue,
    **page_text.CASELOAD_EPISODE_VIEWS[episodes],
)
filtered = page_text.sort_caseload(filtered, sort_choice)
view = page_text.caseload_view(filtered)
patient_ids = filtered["patient_id"].tolist()

counts = (
    f"{len(filtered)} of {len(table)} patients · {int(table['has_open_flag'].sum())} with an open red flag · "
    f"{int(table['overdue_for_review'].sum())} overdue for review · "
    f"{int(table['not_improving'].sum())} not improving"
)
st.caption(counts)

if filtered.empty:
    st.info("No patient matches these filters. Clear a filter to see more patients.")
    st.stop()

# What a clinician scans first comes first, in widths that fit 1440 px beside the sidebar (issue 19);
# the walking test, clinician and last-visit date follow for whoever scrolls on.
ORDER = (
    "flag",
    "name",
    "patient_ref",
    "latest_nrs",
    "nrs_change",
    "walking_trend",
    "latest_odi_percent",
    "review",
    "progress",
    "episode",
    "next_review_date",
    "days_since_last_visit",
    "walk_protocol",
    "clinician",
    "last_visit_date",
)
event = st.dataframe(
    view,
    hide_index=True,
    on_select="rerun",
    selection_mode="single-row",
    key="caseload_table",
    column_order=ORDER,
    # Every row without an inner scroll bar up to 20 patients (35 px a row plus the header).
    height=35 * (min(len(view), 20) + 1) + 3,
    column_config={
        "flag": st.column_config.TextColumn(page_text.CASELOAD_DISPLAY["flag"], width=112),
        # A fixed width: one very long name would otherwise push every other column out of view.
        "name": st.column_config.TextColumn("Name", width=160),
        "patient_ref": st.column_config.TextColumn("Ref", width=98),
        "clinician": st.column_config.TextColumn("Clinician"),
        "latest_nrs": st.column_config.NumberColumn(
            "Pain", format="%.0f", help="NRS 0–10, latest visit", width=52
        ),
        "nrs_change": st.column_config.TextColumn(
            "Change",
            help="Pain: latest minus first NRS, in points (negative: less pain); – with one value so far",
            width=64,
        ),
        "walking_trend": st.column_config.TextColumn(
            "Walking",
            help="Latest against first result of the same protocol and measure, judged against its MCID",
            width=86,
        ),
        "walk_protocol": st.column_config.TextColumn("Walking test"),
        "latest_odi_percent": st.column_config.NumberColumn("ODI %", format="%.1f", width=62),
        "last_visit_date": st.column_config.DateColumn("Last visit", format="D MMM YYYY"),
        "days_since_last_visit": st.column_config.NumberColumn("Days since", format="%d", width=80),
        "next_review_date": st.column_config.DateColumn("Next review", format="D MMM YYYY", width=104),
        "review": st.column_config.TextColumn("Review", width=96),
        "progress": st.column_config.TextColumn(
            "Progress",
            help="Two or more values of pain, ODI or walking, and no clinically important improvement",
            width=134,
        ),
        "episode": st.column_config.TextColumn(
            "Episode", help="Weeks since the open episode began, or the date of discharge", width=132
        ),
    },
)
st.caption(f"Select a row to open that patient's progress. {DECISION_SUPPORT}")

selected = event.selection.rows if event is not None else []
if selected and selected[0] < len(patient_ids):
    chosen = patient_ids[selected[0]]
    st.session_state["patient_id"] = chosen
    st.switch_page("pages/progress.py", query_params={"patient": chosen})


def caseload_csv_audited() -> bytes:
    services.record_export(store, user, "caseload_csv")  # recorded at the click, when the file is made
    return page_text.caseload_csv(filtered)


st.download_button(
    "Download this table (CSV)",
    data=caseload_csv_audited,
    file_name=f"stride-caseload-{dt.date.today():%Y-%m-%d}.csv",
    mime="text/csv",
    key="caseload_csv",
    on_click="ignore",
    icon="⬇️",
    help="The filtered table as shown, for the clinic's own use. It holds patient names: store it securely.",
)
