import datetime as dt
from collections.abc import Callable
from typing import Any

import streamlit as st

from dashboard import caseload_views, page_text, services, trends
from dashboard import page_keys as keys
from dashboard.page_context import page_context
from dashboard.ports import StrideError
from dashboard.presenters import DECISION_SUPPORT

K = keys.Caseload
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

today = dt.date.today()
table = trends.caseload_table(rows, today)

# --- filters and sorting -------------------------------------------------------------------------
# Two rows, so no label is cut short in a narrow window (768 px with the sidebar closed).
# The episode view gets the widest column: its longest choice must show whole at 1024 px.
c1, c2, c3 = st.columns([0.9, 0.9, 1.5])
clinician = c1.selectbox("Clinician", caseload_views.clinician_choices(table), key=K.CLINICIAN)
sort = c2.selectbox("Sort by", list(page_text.CASELOAD_SORTS), key=K.SORT)
episodes = c3.selectbox(
    "Episode of care",
    list(page_text.CASELOAD_EPISODE_VIEWS),
    key=K.EPISODES,
    help=caseload_views.EPISODE_HELP,
)
c1, c2, c3 = st.columns(3)
shown = caseload_views.shown_rows(
    table,
    clinician=clinician,
    sort=sort,
    episodes=episodes,
    open_flags_only=c1.checkbox("Open flags only", key=K.OPEN_FLAGS),
    not_improving_only=c2.checkbox("Not improving", key=K.NOT_IMPROVING),
    overdue_only=c3.checkbox("Overdue for review", key=K.OVERDUE),
)
st.caption(caseload_views.counts_caption(shown, table))

if shown.empty:
    st.info("No patient matches these filters. Clear a filter to see more patients.")
    st.stop()

COLUMN_KINDS: dict[str, Callable[..., Any]] = {
    "text": st.column_config.TextColumn,
    "number": st.column_config.NumberColumn,
    "date": st.column_config.DateColumn,
}
event = st.dataframe(
    page_text.caseload_view(shown),
    hide_index=True,
    on_select="rerun",
    selection_mode="single-row",
    key=K.TABLE,
    column_order=list(caseload_views.COLUMNS),
    height=caseload_views.table_height(len(shown)),
    column_config={
        name: COLUMN_KINDS[column.kind](column.label, **column.options)
        for name, column in caseload_views.COLUMNS.items()
    },
)
st.caption(f"Select a row to open that patient's progress. {DECISION_SUPPORT}")

patient_ids = shown["patient_id"].tolist()
selected = event.selection.rows if event is not None else []
if selected and selected[0] < len(patient_ids):
    chosen = patient_ids[selected[0]]
    st.session_state[keys.PATIENT_ID] = chosen
    st.switch_page("pages/progress.py", query_params={keys.PATIENT_QUERY: chosen})


def caseload_csv_audited() -> bytes:
    services.record_export(store, user, "caseload_csv")  # recorded at the click, when the file is made
    return page_text.caseload_csv(shown)


st.download_button(
    data=caseload_csv_audited,
    **caseload_views.CSV_DOWNLOAD.button(K.CSV, caseload_views.csv_file_name(today)),
)
