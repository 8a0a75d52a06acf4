import datetime as dt
from collections.abc import Callable
from typing import Any

import streamlit as st

from dashboard import caseload_query, caseload_views, page_text, services
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

today = dt.date.today()


def first_page() -> None:
    """A new filter, sort or search starts again at the first page (on_change of every choice)."""
    st.session_state[K.PAGE] = 1


def turn_page(step: int) -> None:
    st.session_state[K.PAGE] = max(1, int(st.session_state.get(K.PAGE, 1)) + step)


try:
    clinicians = caseload_query.caseload_clinicians(store, user)
except StrideError as exc:
    st.error(str(exc))
    st.stop()

# --- filters and sorting -------------------------------------------------------------------------
# Two rows, so no label is cut short in a narrow window (768 px with the sidebar closed).
# The episode view gets the widest column: its longest choice must show whole at 1024 px.
c1, c2, c3 = st.columns([0.9, 0.9, 1.5])
clinician = c1.selectbox(
    "Clinician", caseload_views.clinician_choices(clinicians), key=K.CLINICIAN, on_change=first_page
)
sort = c2.selectbox("Sort by", list(page_text.CASELOAD_SORTS), key=K.SORT, on_change=first_page)
episodes = c3.selectbox(
    "Episode of care",
    list(page_text.CASELOAD_EPISODE_VIEWS),
    key=K.EPISODES,
    help=caseload_views.EPISODE_HELP,
    on_change=first_page,
)
c1, c2, c3 = st.columns(3)
open_flags_only = c1.checkbox("Open flags only", key=K.OPEN_FLAGS, on_change=first_page)
not_improving_only = c2.checkbox("Not improving", key=K.NOT_IMPROVING, on_change=first_page)
overdue_only = c3.checkbox("Overdue for review", key=K.OVERDUE, on_change=first_page)
search = st.text_input(
    "Search by name or reference",
    key=K.SEARCH,
    placeholder="e.g. Chloé or DEMO-00042",
    on_change=first_page,
)
if note := caseload_views.search_note(search):
    st.caption(note)
checks = (open_flags_only, not_improving_only, overdue_only)
filters = caseload_views.filters_of((clinician, episodes, search), clinicians, checks)


def query(page: int, page_size: int = caseload_query.PAGE_SIZE) -> caseload_query.CaseloadQuery:
    return caseload_query.CaseloadQuery(
        today=today, filters=filters, sort=sort, page=page, page_size=page_size
    )


try:
    page = caseload_query.caseload_page(store, user, query(int(st.session_state.get(K.PAGE, 1))))
except StrideError as exc:
    st.error(str(exc))
    st.stop()
st.session_state[K.PAGE] = page.page  # past the last page (patients left meanwhile): the last one

if not page.counts.patients:
    st.info("No patients in the clinic yet. Add a patient to start their record.")
    st.page_link("pages/patients.py", label="Add a patient", icon="🧑")
    st.stop()
st.caption(caseload_views.counts_caption(page))

if not page.rows:
    st.info("No patient matches these filters. Clear a filter to see more patients.")
    st.stop()

shown = caseload_views.page_table(page, today)
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

# --- paging: buttons the keyboard reaches (Tab, then Enter or Space), disabled at either end -------
p1, p2, p3 = st.columns([1, 2.4, 1], vertical_alignment="center")
p1.button(
    "← Previous",
    key=K.PREVIOUS,
    disabled=page.page <= 1,
    on_click=turn_page,
    args=(-1,),
    use_container_width=True,
)
p2.caption(caseload_views.paging_caption(page))
p3.button(
    "Next →",
    key=K.NEXT,
    disabled=page.page >= page.pages,
    on_click=turn_page,
    args=(1,),
    use_container_width=True,
)

patient_ids = shown["patient_id"].tolist()
selected = event.selection.rows if event is not None else []
if selected and selected[0] < len(patient_ids):
    chosen = patient_ids[selected[0]]
    st.session_state[keys.PATIENT_ID] = chosen
    st.switch_page("pages/progress.py", query_params={keys.PATIENT_QUERY: chosen})


def caseload_csv_audited() -> bytes:
    """Every matching patient (all pages) in the page's order, read and audited at the click."""
    services.record_export(store, user, "caseload_csv")  # recorded at the click, when the file is made
    every = caseload_query.caseload_page(store, user, query(1, page_size=max(1, page.matching)))
    return page_text.caseload_csv(caseload_views.page_table(every, today))


st.download_button(
    data=caseload_csv_audited,
    **caseload_views.CSV_DOWNLOAD.button(K.CSV, caseload_views.csv_file_name(today)),
)
