"""Admin · Audit trail: who did what and when, filtered, and a check that the chain is unbroken."""

import datetime as dt
from typing import cast

import streamlit as st

from dashboard import admin_views as view
from dashboard import page_text, services
from dashboard.page_context import page_context
from dashboard.page_keys import Admin as keys
from dashboard.ports import StrideError
from dashboard.safe_text import md_escape
from data.store import SqlStore

# A deep link as the very first request after a restart can run this script before the router
# (Streamlit's pages/ fallback); send it through app.py, which holds the login gate. An account that is
# no admin goes there too: the router offers it only its own pages.
if (ctx := view.for_admins(page_context(st.session_state, st.query_params))) is None:
    st.switch_page("app.py")
    st.stop()
# The router opens a SqlStore; the chain check is its own (it reads the key and the head file too).
store, user, settings = cast(SqlStore, ctx.store), ctx.user, ctx.settings

st.title("Audit trail")

try:
    users = services.list_users(store, user)
except StrideError as exc:
    st.error(md_escape(str(exc)))
    st.stop()
usernames = {u.id: u.username for u in users}

first_day, last_day = view.default_audit_days(dt.date.today())
c1, c2, c3 = st.columns(3)
user_filter = c1.selectbox(
    "User",
    list(usernames),
    index=None,
    format_func=lambda uid: usernames[uid],
    placeholder="Any user",
    key=keys.AUDIT_USER,
)
patient_filter = c2.text_input("Patient id", key=keys.AUDIT_PATIENT, placeholder="Any patient (opaque id)")
action_filter = c3.selectbox(
    "Action",
    list(page_text.AUDIT_ACTIONS),
    index=None,
    placeholder="Any action",
    accept_new_options=True,
    key=keys.AUDIT_ACTION,
)
c1, c2, _ = st.columns(3)
since_day = c1.date_input("From", first_day, key=keys.AUDIT_FROM, format="YYYY-MM-DD")
until_day = c2.date_input("To", last_day, key=keys.AUDIT_TO, format="YYYY-MM-DD")
query = view.audit_query(
    user_filter,
    patient_filter,
    action_filter,
    days=(since_day, until_day),
    tz_name=settings.timezone,
    now=dt.datetime.now(dt.UTC),
)
if query is None:
    st.error(view.DATES_REVERSED)
else:
    try:
        entries = services.audit_trail(store, user, **query.filters())
    except StrideError as exc:
        st.error(md_escape(str(exc)))
    else:
        st.dataframe(
            page_text.audit_frame(entries, usernames, settings.timezone),
            hide_index=True,
            key=keys.AUDIT_TABLE,
        )
        st.caption(view.audit_caption(len(entries)))

st.markdown("#### Integrity")
st.caption(view.CHAIN_NOTE)
if st.button("Verify chain", key=keys.VERIFY_CHAIN, icon="🔗"):
    intact, checked, broken = store.verify_audit()
    (st.success if intact else st.error)(view.chain_verdict(intact, checked, broken))
